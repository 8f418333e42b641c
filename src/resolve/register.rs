// SPDX-License-Identifier: MIT OR Apache-2.0
//! `--pci DEVICE --bar N OFFSET`: a PCI device's register named by device, BAR and offset,
//! resolved to its physical address through sysfs, so nobody copies BAR addresses by hand.

use anyhow::Result;

use crate::kernel::addr::PhysAddr;
use crate::kernel::pci::{locate_in_bar, PciDevice, Resource, Selector};
use crate::proc::pci::find_device;

/// A device register as the command line names it: `--pci DEVICE [--bar N] OFFSET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRef {
    pub selector: Selector,
    pub bar: u8,
    pub offset: u64,
}

/// A register (or range) of a device, resolved to a physical address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Register {
    pub(crate) device: PciDevice,
    pub(crate) bar: u8,
    pub(crate) offset: u64,
    pub(crate) paddr: PhysAddr,
}

/// The physical address of `len` bytes at the register `named`, resolved exactly as
/// `peek --pci` and `poke --pci` resolve it (the device in sysfs, or in the tree
/// `PHYSDEMO_PCI_SYSFS` names, then the offset into its BAR). Public for the fuzzer.
pub fn resolve_address(named: &RegisterRef, len: u64) -> Result<PhysAddr> {
    Ok(Register::resolve(named, len)?.paddr)
}

impl Register {
    /// Resolves `len` bytes at the register `named`: the device in sysfs, then the offset
    /// into its BAR.
    pub(crate) fn resolve(named: &RegisterRef, len: u64) -> Result<Register> {
        let device = find_device(&named.selector)?;
        let paddr = locate_in_bar(
            &device.resources,
            &device.address,
            named.bar,
            named.offset,
            len,
        )?;
        Ok(Register {
            device,
            bar: named.bar,
            offset: named.offset,
            paddr,
        })
    }

    /// The BAR's line of the device's sysfs `resource` file.
    pub(crate) fn resource(&self) -> Option<&Resource> {
        self.device.resources.get(usize::from(self.bar))
    }

    /// `pci 0000:00:04.0 (1234:11e8) BAR0 [0xfea00000-0xfeafffff], 1 MiB, ... + 0x4`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "pci {} ({:04x}:{:04x}) BAR{} {} + {:#x}",
            self.device.address,
            self.device.vendor,
            self.device.device,
            self.bar,
            self.resource().map_or_else(String::new, Resource::describe),
            self.offset
        )
    }
}
