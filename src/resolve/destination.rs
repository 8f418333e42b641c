//! Where a physical address falls: its /proc/iomem region, and the PCI function whose
//! configuration space it is, if any.

use crate::kernel::addr::PhysAddr;
use crate::kernel::ecam::ConfigSpace;
use crate::kernel::iomem::{Placement, RegionKind};
use crate::proc::ecam::find_in_system;
use crate::proc::iomem::place_in_system_map;
use crate::resolve::register::Register;

/// Where an address falls: its /proc/iomem region, and the PCI function whose
/// configuration space it is, if any.
pub(crate) struct Destination {
    pub(crate) placement: Placement,
    pub(crate) config: Option<ConfigSpace>,
}

impl Destination {
    /// Places `paddr` in this machine's /proc/iomem and ECAM windows.
    pub(crate) fn of(paddr: PhysAddr) -> Destination {
        Destination {
            placement: place_in_system_map(paddr),
            config: find_in_system(paddr),
        }
    }

    /// Whether reading here is harmless, so that a poke reads before and after its write
    /// unless told otherwise: RAM (System RAM, the kernel's image). A device register may
    /// act on a read (a read-to-clear status, a FIFO), and so may anything /proc/iomem
    /// does not call RAM; a `--pci` register is a device whatever the map says.
    pub(crate) fn is_ram(&self, register: Option<&Register>) -> bool {
        register.is_none()
            && self.config.is_none()
            && matches!(
                self.placement.kind(),
                Some(RegionKind::SystemRam | RegionKind::KernelImage)
            )
    }
}
