// SPDX-License-Identifier: MIT OR Apache-2.0
//! Where a physical address falls: its /proc/iomem region, the PCI function whose
//! configuration space it is, if any, and the device tree node that holds it, if any.

use crate::kernel::addr::{PageSize, Pfn, PhysAddr};
use crate::kernel::devicetree::DtDevice;
use crate::kernel::ecam::ConfigSpace;
use crate::kernel::iomem::{Placement, RegionKind};
use crate::kernel::kpageflags::KpageFlags;
use crate::physmem::policy::{frame_is_allocator_ram, is_reservation_in_ram, Judged};
use crate::proc::devicetree::device_at;
use crate::proc::ecam::find_in_system;
use crate::proc::iomem::place_in_system_map;
use crate::proc::kpage::FrameInfoReader;
use crate::resolve::register::Register;

/// Where an address falls: its /proc/iomem region, and the PCI function whose
/// configuration space it is, if any.
pub(crate) struct Destination {
    pub(crate) placement: Placement,
    pub(crate) config: Option<ConfigSpace>,
    /// A `reserved` range inside System RAM whose frame the page allocator manages
    /// (kpageflags; arm64 keeps freed memblock reservations listed): RAM, whatever its name.
    pub(crate) ram_by_frame: bool,
    /// The device tree node whose `reg` holds the address (device-tree machines: arm64).
    pub(crate) device: Option<DtDevice>,
}

impl Destination {
    /// Places `paddr` in this machine's /proc/iomem and ECAM windows.
    pub(crate) fn of(paddr: PhysAddr) -> Destination {
        let placement = place_in_system_map(paddr);
        let ram_by_frame = is_reservation_in_ram(&placement)
            && frame_flags(paddr).is_some_and(frame_is_allocator_ram);
        Destination {
            placement,
            config: find_in_system(paddr),
            ram_by_frame,
            device: device_at(paddr.0),
        }
    }

    /// Whether reading here is harmless, so that a poke reads before and after its write
    /// unless told otherwise: RAM (System RAM, the kernel's image). A device register may
    /// act on a read (a read-to-clear status, a FIFO), and so may anything /proc/iomem
    /// does not call RAM; a `--pci` register is a device whatever the map says.
    pub(crate) fn is_ram(&self, register: Option<&Register>) -> bool {
        register.is_none()
            && self.config.is_none()
            && (self.ram_by_frame
                || matches!(
                    self.placement.kind(),
                    Some(RegionKind::SystemRam | RegionKind::KernelImage)
                ))
    }
}

/// The kpageflags of the frame holding `paddr`, if /proc/kpageflags can say.
impl Destination {
    /// What the write policy goes by beside /proc/iomem's names.
    pub(crate) fn judged(&self) -> Judged {
        Judged {
            ram_by_frame: self.ram_by_frame,
            dt_device: self.device.as_ref().map(|d| (d.start, d.size)),
        }
    }
}

fn frame_flags(paddr: PhysAddr) -> Option<KpageFlags> {
    let pfn = Pfn(paddr.0 >> PageSize::of_system().shift());
    FrameInfoReader::open()
        .ok()?
        .flags(pfn, 1)
        .ok()?
        .first()
        .copied()
}
