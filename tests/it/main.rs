// SPDX-License-Identifier: MIT OR Apache-2.0
//! physdemo's integration tests, one binary with a module per area (as ripgrep's tests/
//! are): each spawns the real `physdemo` binary as a user would ([`common`]) and checks
//! what it printed against values read independently of the crate.
//!
//! Host tests (this machine has no /dev/mem: a file stands in for it, crafted copies for
//! /proc/iomem, sysfs and the ACPI MCFG table): [`target_and_inspect`], [`maps_and_owner`]
//! against the real /proc, [`physmem`] (peek, poke, dump, devmem), [`dump`] (byte for byte
//! against `hexdump -C`, `--raw`, `--output`), [`pci`] (`--pci`), [`watch`] (a stand-in written while `watch` polls it),
//! [`port`] (I/O ports, a file standing in for /dev/port), [`symbol`] (`--symbol` on the
//! real /proc/kallsyms and /proc/iomem),
//! [`doctor`] (this host's report), [`dkms`] (the physdemo-dkms package, unpacked), [`explain`] (one address, layer by layer), [`pictures`] (physmap and the SVG pictures, read back
//! off their pixels), [`bad_input`] (every bad command line), and
//! [`architecture`] (the layers ARCHITECTURE.md describes). [`vm`] boots the project's
//! QEMU VM, where /dev/mem really works (`cargo test --test it vm::` runs only those);
//! [`trace`] reads QEMU's device trace there, the device's own account of each access.
//! The forged-target tests are a binary of their own (`tests/alone/`): they need to be the
//! only physdemo targets on the machine, and these tests start targets in parallel.

mod architecture;
mod bad_input;
mod common;
mod dkms;
mod doctor;
mod dump;
mod explain;
mod maps_and_owner;
mod pci;
mod physmem;
mod pictures;
mod port;
mod symbol;
mod target_and_inspect;
mod trace;
mod usage;
mod vm;
mod watch;
