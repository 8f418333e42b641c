// SPDX-License-Identifier: MIT OR Apache-2.0
//! Thin I/O over `/proc` and sysfs: open the file, read it in as few system calls as it
//! takes, hand the bytes to [`crate::kernel`], and turn the kernel's errors into ones a user
//! can act on.
//!
//! Batched word reads ([`words`]) of pagemap ([`pagemap`]) and kpageflags/kpagecount
//! ([`kpage`]); processes and their maps ([`process`]), pinned while a write is checked
//! ([`pin`]); physdemo targets seen from outside ([`target_process`]), the huge page settings
//! ([`huge`]); the physical address
//! map ([`iomem`]) and the I/O port map ([`ioports`]), the lockdown mode ([`lockdown`]), PCI
//! configuration space windows ([`ecam`]) and PCI devices ([`pci`]); and what else decides
//! whether a memory device opens: the kernel's configuration ([`config`]), this process's
//! capabilities ([`capabilities`]), x86 PAT ([`pat`]) and physdemo_mem, the module behind
//! /dev/physmem ([`module`]); which machine runs: its MMU and I/O ports ([`arch`]); the
//! device tree's node at an address ([`devicetree`]); the kernel's symbols ([`kallsyms`]).

pub(crate) mod arch;
pub(crate) mod capabilities;
pub(crate) mod config;
pub(crate) mod devicetree;
pub(crate) mod ecam;
pub(crate) mod huge;
pub(crate) mod iomem;
pub(crate) mod ioports;
pub(crate) mod kallsyms;
pub(crate) mod kpage;
pub(crate) mod lockdown;
pub(crate) mod module;
pub(crate) mod pagemap;
pub(crate) mod pat;
pub(crate) mod pci;
pub(crate) mod pin;
pub(crate) mod process;
pub(crate) mod target_process;
pub(crate) mod words;
pub(crate) mod zoneinfo;
