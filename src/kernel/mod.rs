// SPDX-License-Identifier: MIT OR Apache-2.0
//! Pure decoders of what the kernel exports: bytes or a `u64` in, typed values out, no I/O.
//!
//! Each module cites the kernel document or source its layout comes from and is tested on
//! literals (and fuzzed, see `fuzz/`): addresses and page geometry ([`addr`]), pagemap
//! entries ([`pagemap`]), kpageflags ([`kpageflags`]) and the class of a frame it gives
//! ([`frame_class`]), `/proc/<pid>/maps` ([`maps`]),
//! `/proc/iomem` ([`iomem`]), /proc/kcore's ELF headers ([`kcore`]), `/proc/ioports` ([`ioports`]), the lockdown mode
//! ([`lockdown`]), the ACPI MCFG table and ECAM windows ([`ecam`]), sysfs PCI resources
//! ([`pci`]), the header of a physdemo target's page ([`target_header`]), the transparent
//! huge page mode ([`thp`]), what hides a process from /proc: hidepid and PID namespaces
//! ([`visibility`]), and what else decides whether a memory device opens: the kernel's build configuration ([`config`]),
//! capabilities ([`capabilities`]), x86 PAT ([`pat`]), loaded modules and device numbers
//! ([`modules`]); the page-table walk of the machine that runs ([`walk`]); device tree
//! `reg` and `compatible` properties and the virt board's devices ([`devicetree`]); the
//! NUMA node and zone of a frame ([`zoneinfo`]); the names of PCI configuration and edu
//! registers ([`pci_registers`]); `/proc/kallsyms` and the kernel image's symbols placed
//! in physical memory ([`kallsyms`]).
//! Reading the files is [`crate::proc`]'s.

pub mod addr;
pub mod capabilities;
pub mod config;
pub mod devicetree;
pub mod ecam;
pub mod frame_class;
pub mod iomem;
pub mod ioports;
pub mod kallsyms;
pub mod kcore;
pub mod kpageflags;
pub mod lockdown;
pub mod maps;
pub mod modules;
pub mod pagemap;
pub mod pat;
pub mod pci;
pub mod pci_registers;
pub mod target_header;
pub mod thp;
pub mod usage;
pub mod visibility;
pub mod walk;
pub mod zoneinfo;
