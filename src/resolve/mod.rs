//! From what a command names to a physical address, and what lies there.
//!
//! A process's virtual address goes through its maps and pagemap ([`translate`]); `peek`
//! and `poke` name the running target, a process's variable or a physical address
//! ([`subject`]); `--pci` names a device register by BAR and offset ([`register`]); and an
//! address falls in a /proc/iomem region and maybe PCI configuration space
//! ([`destination`]). Built on [`crate::proc`] and [`crate::kernel`]; used by the commands.

pub mod destination;
pub mod register;
pub mod subject;
pub mod translate;
