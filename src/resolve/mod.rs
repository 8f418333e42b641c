// SPDX-License-Identifier: MIT OR Apache-2.0
//! From what a command names to a physical address, and what lies there.
//!
//! A process's virtual address goes through its maps and pagemap ([`translate`]); `peek`
//! and `poke` name the running target, a process's variable or a physical address
//! ([`subject`]); `--pci` names a device register by BAR and offset ([`register`]), `--symbol`
//! a variable of the kernel image ([`symbol`]); and an
//! address falls in a /proc/iomem region and maybe PCI configuration space
//! ([`destination`]). Right around a store, [`recheck`] makes sure the page is still the
//! one resolved. Built on [`crate::proc`] and [`crate::kernel`]; used by the commands.

pub(crate) mod destination;
pub(crate) mod recheck;
pub mod register;
pub mod subject;
pub mod symbol;
pub(crate) mod translate;
