// SPDX-License-Identifier: MIT OR Apache-2.0
//! The only code with `unsafe`: raw memory mappings, volatile accesses, and the system calls
//! std has no safe wrapper for.
//!
//! Two kinds of memory are touched here. The *target page* ([`target_page::TargetCell`]) is
//! the page of a `physdemo target` process that holds the watched 64-bit variable; it is read
//! and written only with volatile accesses, since another agent (a write through /dev/mem)
//! changes it behind the compiler's back. The *physical window* ([`phys_window::PhysWindow`])
//! maps the page(s) of a device file such as /dev/mem for one volatile access (or a range
//! copied in aligned volatile loads), under a [`sigbus::SigbusGuard`] that turns a bus error
//! inside that window into a message. Besides those, the raw
//! system calls: `clock_gettime` ([`clock`]), the PAGEMAP_SCAN ioctl ([`pagemap_scan`]),
//! /dev/physmem's pin ioctls ([`physmem_ioctl`]) and the io_uring registration that holds a
//! target's page in place ([`io_uring`]); and x86 I/O ports: `ioperm` and the `in`/`out`
//! instructions ([`port_io`]).
//! Everything else in the crate is safe code built on the small API below; `lib.rs` denies
//! `unsafe_code` everywhere but here, and every `unsafe` block says why it is sound
//! (`clippy::undocumented_unsafe_blocks` is denied).

#![allow(unsafe_code)]

pub(crate) mod clock;
pub(crate) mod io_uring;
pub(crate) mod pagemap_scan;
pub(crate) mod phys_window;
pub(crate) mod physmem_ioctl;
pub(crate) mod port_io;
pub(crate) mod sigbus;
pub(crate) mod target_page;
