// SPDX-License-Identifier: MIT OR Apache-2.0
//! Reading and writing physical memory through `/dev/mem` or physdemo_mem's `/dev/physmem`,
//! one checked access at a time.
//!
//! Each access opens nothing new: an [`access::PhysMem`] holds the open device (read-only for
//! reads, read-write for writes; `O_SYNC` unless `--cached`), and every read or write maps
//! the page holding the address `MAP_SHARED` at its page-aligned offset, performs exactly one
//! volatile load or store of the requested width (see [`crate::sys::phys_window`]) under a
//! SIGBUS guard, and unmaps. With `--method rw` it uses one `pread`/`pwrite` of the width
//! instead. Accesses must be naturally aligned, so they never cross a page; byte ranges (for
//! `dump`) map every page they touch.
//!
//! The pure checks ([`width`]: width parsing, alignment, value fits; [`reach`]: the CPU's
//! physical address bits; [`policy`]: where a write may go) and the translation of kernel
//! errors into sentences a user can act on ([`explain`]) are separate functions with no
//! I/O. [`device`] says which file stands for physical memory and how it is opened: /dev/mem,
//! /dev/physmem, or (`--device`, `PHYSDEMO_DEVICE`) a regular file standing in for /dev/mem
//! in tests. Without `--device`, [`access`] goes through /dev/physmem where /dev/mem refuses,
//! and never passes off the zeros or dropped writes STRICT_DEVMEM gives read() and write()
//! below 1 MiB; [`probe`] reads a page of physdemo's own to find out what a device allows;
//! [`doors`] says which of them reads and which writes one address, asking the kernel by
//! opening and mapping without an access (`physdemo explain`).
//!
//! x86 I/O ports are the other address space a device answers in: [`port`] reaches them
//! (/dev/port for bytes, `ioperm` and one `in`/`out` for 16 and 32 bits), one access each,
//! and explains the kernel's refusals; their write policy is [`policy`]'s too.

pub(crate) mod access;
pub(crate) mod device;
pub(crate) mod doors;
pub(crate) mod explain;
pub(crate) mod frame_pin;
pub(crate) mod kcore;
pub mod policy;
pub(crate) mod port;
pub(crate) mod probe;
pub(crate) mod reach;
pub mod width;
