// SPDX-License-Identifier: MIT OR Apache-2.0
//! The write policy: what physdemo writes without `--force`.
//!
//! Nothing is written to physical memory that the user did not ask for, and nothing where a
//! store is likely to do harm: only System RAM or a device per /proc/iomem
//! ([`check_region_write`]), never inside a reserved range, firmware, the kernel's image, and
//! never PCI configuration space ([`check_config_space_write`]). Both are pure functions of
//! what [`crate::kernel::iomem`] and [`crate::kernel::ecam`] decoded, tested on literals.

use crate::error::{permission, refused, UserError};
use crate::kernel::addr::PhysAddr;
use crate::kernel::ecam::ConfigSpace;
use crate::kernel::iomem::{Placement, RegionKind};
use crate::kernel::ioports::{is_acpi_power_block, machine_port, Port};
use crate::kernel::kpageflags::KpageFlags;

/// Whether a write into a region of this kind is allowed without `--force`.
fn writable_without_force(kind: RegionKind) -> bool {
    matches!(kind, RegionKind::SystemRam | RegionKind::Device)
}

/// Whether a writable region nested in one of this kind stays writable: not inside
/// `Reserved`, firmware, the kernel image or PCI configuration space (where firmware hangs
/// `pnp` device names on ranges that are not device registers).
fn may_enclose_writable(kind: RegionKind) -> bool {
    matches!(
        kind,
        RegionKind::SystemRam | RegionKind::Device | RegionKind::BusWindow
    )
}

/// The write policy: `Ok` when a write of `len` bytes at `addr` (placed by its first byte in
/// `placement`) may go ahead: the whole access lies in System RAM or a device, and no
/// enclosing range is reserved, firmware, the kernel image or PCI configuration space.
/// A map hidden from a user without root is a permission error, not a refusal.
pub fn check_region_write(
    addr: PhysAddr,
    len: u64,
    placement: &Placement,
    force: bool,
) -> Result<(), UserError> {
    if force {
        return Ok(());
    }
    let last = addr.0.saturating_add(len.max(1) - 1);
    let why = match placement {
        Placement::In { region, outer } if writable_without_force(region.kind()) => {
            match outer.iter().rev().find(|r| !may_enclose_writable(r.kind())) {
                Some(enclosing) => format!(
                    "{addr} is in {region}, inside {enclosing}, {}",
                    enclosing.kind().describe()
                ),
                None if last <= region.end => return Ok(()),
                None => format!("the access at {addr} runs past the end of {region}"),
            }
        }
        Placement::In { region, .. } => {
            format!("{addr} is in {region}, {}", region.kind().describe())
        }
        Placement::Nowhere => format!("{addr} is in no region of /proc/iomem"),
        Placement::Hidden => {
            return Err(permission(format!(
                "cannot tell what {addr} is: /proc/iomem shows only zeros to a user without root"
            ))
            .hint("run as root (sudo): writing /dev/mem needs root anyway"))
        }
        Placement::Unreadable(err) => format!("cannot tell what {addr} is: {err}"),
    };
    Err(refused(format!("refusing to write: {why}")).hint(
        "physdemo writes only to System RAM or a device; add --force if you mean it, --dry-run to check",
    ))
}

/// Whether `placement` is a memblock reservation listed inside System RAM: arm64's
/// /proc/iomem shows the kernel's early reservations as `reserved` children of System RAM,
/// and some stay listed after the kernel freed them to the page allocator (the initrd's
/// range, whose pages then hold any process's memory). There the name decides nothing;
/// the frame does ([`frame_is_allocator_ram`]).
pub fn is_reservation_in_ram(placement: &Placement) -> bool {
    match placement {
        Placement::In { region, outer } => {
            region.name == "reserved"
                && outer
                    .last()
                    .is_some_and(|p| p.kind() == RegionKind::SystemRam)
                && outer.iter().all(|r| may_enclose_writable(r.kind()))
        }
        _ => false,
    }
}

/// Whether kpageflags show a frame the page allocator manages: it has a struct page
/// (no NOPAGE, bit 20) and is not PG_reserved (bit 32), which the kernel's image, the
/// device tree blob and every reservation still held keep.
pub fn frame_is_allocator_ram(flags: KpageFlags) -> bool {
    !flags.has(20) && !flags.has(32)
}

/// What else than /proc/iomem's names the write policy goes by, where the machine says it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Judged {
    /// A reservation inside System RAM whose frame the page allocator manages (see
    /// [`is_reservation_in_ram`]): System RAM.
    pub ram_by_frame: bool,
    /// The `reg` range (start, size) of the device tree node holding the address: a device
    /// there, even when no driver claimed it in /proc/iomem (fw_cfg on arm64).
    pub dt_device: Option<(u64, u64)>,
}

/// [`check_region_write`], with what [`Judged`] adds: a freed reservation inside System RAM
/// is System RAM; an address no /proc/iomem region holds but a device tree node's `reg`
/// does is that device's.
pub fn check_region_write_judged(
    addr: PhysAddr,
    len: u64,
    placement: &Placement,
    judged: Judged,
    force: bool,
) -> Result<(), UserError> {
    let last = addr.0.saturating_add(len.max(1) - 1);
    if let (Placement::Nowhere, Some((start, size))) = (placement, judged.dt_device) {
        if addr.0 >= start && last - start < size {
            return Ok(());
        }
    }
    let ram_by_frame = judged.ram_by_frame;
    let candidate = ram_by_frame && is_reservation_in_ram(placement);
    if let (true, Placement::In { outer, .. }) = (candidate, placement) {
        if let Some(ram) = outer.last() {
            if ram.contains(addr.0) && last <= ram.end {
                return Ok(());
            }
        }
    }
    check_region_write(addr, len, placement, force)
}

/// No write into PCI configuration space without `--force`.
pub(crate) fn check_config_space_write(
    addr: PhysAddr,
    space: Option<&ConfigSpace>,
    force: bool,
) -> Result<(), UserError> {
    match space {
        Some(space) if !force => Err(refused(format!(
            "refusing to write: {addr} is {}, in the window of {}: a store there reprograms the device behind its driver's back and can wedge it or the machine",
            space.describe(),
            space.window
        ))
        .hint("change a device's configuration with setpci or its driver; add --force if you mean it, --dry-run to check")),
        _ => Ok(()),
    }
}

/// The port write policy: `Ok` when a write of `bytes` bytes at `port` (placed by its first
/// byte in /proc/ioports as `placement`) may go ahead without `--force`: a device or driver
/// claims every byte, and none is one of the ports that reset or reconfigure the machine
/// ([`MACHINE_PORTS`](crate::kernel::ioports::MACHINE_PORTS)) or ACPI's power management
/// registers. A map hidden from a user without root is a permission error.
pub fn check_port_write(
    port: Port,
    bytes: u16,
    placement: &Placement,
    force: bool,
) -> Result<(), UserError> {
    if force {
        return Ok(());
    }
    let last = port.0.saturating_add(bytes.max(1) - 1);
    let (range, is) = if last == port.0 {
        (format!("port {port}"), "is")
    } else {
        (format!("ports {port}-{last:#x}"), "are")
    };
    let why = if let Some(machine) = machine_port(port.0, last) {
        format!("{range} {is} {}: {}", machine.what, machine.effect)
    } else {
        match placement {
            Placement::In { region, .. } if is_acpi_power_block(&region.name) => format!(
                "{range} {is} in {region}, ACPI's power management registers: a write can power the machine off or suspend it"
            ),
            Placement::In { region, .. } if region.kind() == RegionKind::BusWindow => format!(
                "no driver claims {range}: it is in {region}, a bus window no device claims"
            ),
            Placement::In { region, .. } if !writable_without_force(region.kind()) => {
                format!("{range} {is} in {region}, {}", region.kind().describe())
            }
            Placement::In { region, .. } if u64::from(last) > region.end => {
                format!("the access at {range} runs past the end of {region}")
            }
            Placement::In { .. } => return Ok(()),
            Placement::Nowhere => {
                format!("no driver claims {range}: it is in no range of /proc/ioports")
            }
            Placement::Hidden => {
                return Err(permission(format!(
                    "cannot tell who claims port {port}: /proc/ioports shows only zeros to a user without root"
                ))
                .hint("run as root (sudo): I/O ports need root anyway"))
            }
            Placement::Unreadable(err) => format!("cannot tell who claims {range}: {err}"),
        }
    };
    Err(refused(format!("refusing to write: {why}")).hint(
        "physdemo writes only to ports a driver claims in /proc/ioports; add --force if you mean it, --dry-run to check",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::ecam::tests::QEMU_Q35_MCFG;
    use crate::kernel::ecam::{locate, parse_mcfg};
    use crate::kernel::iomem::tests::map;
    use crate::kernel::iomem::IomemMap;

    /// QEMU virt's /proc/iomem on arm64 (6.1, 4 KiB pages), memblock reservations inside RAM.
    const ARM64_VIRT: &str = "\
09000000-09000fff : 9000000.pl011 9000000.pl011
09010000-09010fff : 9010000.pl031 rtc-pl031
40000000-7fffffff : System RAM
  40210000-4163ffff : Kernel code
  41640000-41b1ffff : reserved
  41b20000-41d9ffff : Kernel data
  48000000-486a6fff : reserved
";

    fn frame(ram_by_frame: bool) -> Judged {
        Judged {
            ram_by_frame,
            dt_device: None,
        }
    }

    #[test]
    fn a_device_tree_device_no_driver_claims_is_a_device() {
        let m = IomemMap::parse(ARM64_VIRT.as_bytes()).unwrap();
        let fw_cfg = PhysAddr(0x0902_0008);
        assert_eq!(m.place(fw_cfg), Placement::Nowhere);
        let with = Judged {
            ram_by_frame: false,
            dt_device: Some((0x0902_0000, 0x18)),
        };
        assert!(check_region_write_judged(fw_cfg, 2, &m.place(fw_cfg), with, false).is_ok());
        assert!(
            check_region_write_judged(fw_cfg, 2, &m.place(fw_cfg), Judged::default(), false)
                .is_err()
        );
        // Past the node's range, or where /proc/iomem says otherwise, the node does not count.
        assert!(check_region_write_judged(
            PhysAddr(0x0902_0018),
            1,
            &m.place(PhysAddr(0x0902_0018)),
            with,
            false
        )
        .is_err());
        let kernel = PhysAddr(0x4021_0000);
        let over = Judged {
            ram_by_frame: false,
            dt_device: Some((0x4000_0000, 0x4000_0000)),
        };
        assert!(check_region_write_judged(kernel, 8, &m.place(kernel), over, false).is_err());
    }

    #[test]
    fn a_freed_reservation_inside_ram_is_judged_by_its_frame() {
        let m = IomemMap::parse(ARM64_VIRT.as_bytes()).unwrap();
        let at = PhysAddr(0x4800_0040);
        let placement = m.place(at);
        assert!(is_reservation_in_ram(&placement));
        // The initrd's pages, freed and reused: anonymous, LRU, no PG_reserved.
        assert!(frame_is_allocator_ram(KpageFlags(
            1 << 12 | 1 << 5 | 1 << 4
        )));
        assert!(check_region_write_judged(at, 8, &placement, frame(true), false).is_ok());
        // Still reserved (PG_reserved), or no struct page: the name stands.
        assert!(!frame_is_allocator_ram(KpageFlags(1 << 32)));
        assert!(!frame_is_allocator_ram(KpageFlags(1 << 20)));
        let err = check_region_write_judged(at, 8, &placement, frame(false), false).unwrap_err();
        assert!(
            err.message
                .contains("0x48000040 is in reserved [0x48000000-0x486a6fff], a reserved range"),
            "{err}"
        );
        // Only `reserved` nested in System RAM is a candidate: not the devices, not the
        // kernel's image, not a top-level Reserved.
        assert!(!is_reservation_in_ram(&m.place(PhysAddr(0x0900_0000))));
        assert!(!is_reservation_in_ram(&m.place(PhysAddr(0x4021_0000))));
        assert!(!is_reservation_in_ram(&map().place(PhysAddr(0))));
        assert!(check_region_write_judged(
            PhysAddr(0x4021_0000),
            8,
            &m.place(PhysAddr(0x4021_0000)),
            frame(true),
            false
        )
        .is_err());
    }

    #[test]
    fn the_write_policy_allows_ram_and_devices_only() {
        let m = map();
        let check = |addr: u64, force: bool| {
            check_region_write(PhysAddr(addr), 4, &m.place(PhysAddr(addr)), force)
        };
        assert!(check(0x1000, false).is_ok());
        assert!(check(0xfe00_0004, false).is_ok());
        let kernel = check(0x0100_0000, false).unwrap_err();
        assert_eq!(kernel.kind, crate::error::ExitKind::Refused);
        assert!(kernel.message.contains("Kernel code"), "{kernel}");
        assert!(kernel.to_string().contains("--force"));
        assert!(check(0x0100_0000, true).is_ok());
        assert!(check(0x0, false).is_err());
        assert!(check(0xc000_0000, false)
            .unwrap_err()
            .message
            .contains("no region"));
        assert!(check(0xd000_0000, false).is_err());
        // System RAM ends at 0x9fbff: a 4-byte write there is fine, an 8-byte one runs past it
        let edge = PhysAddr(0x9fbf8);
        assert!(check_region_write(edge, 4, &m.place(edge), false).is_ok());
        let past = check_region_write(edge, 16, &m.place(edge), false).unwrap_err();
        assert!(
            past.message.contains("runs past the end of System RAM"),
            "{past}"
        );
    }

    #[test]
    fn a_map_hidden_from_a_user_is_a_permission_error_not_a_refusal() {
        let hidden_err =
            check_region_write(PhysAddr(0x1000), 8, &Placement::Hidden, false).unwrap_err();
        assert_eq!(hidden_err.kind, crate::error::ExitKind::Permission);
        assert!(
            hidden_err.to_string().contains("run as root"),
            "{hidden_err}"
        );
        assert!(!hidden_err.to_string().contains("--force"), "{hidden_err}");
    }

    /// /proc/iomem of the project's VM (QEMU 10 q35, Linux 6.1) around PCI config space,
    /// plus a device nested in the last Reserved range (there it is bare).
    const VM_IOMEM: &str = "\
00100000-3ffdffff : System RAM
  01000000-0160010f : Kernel code
40000000-afffffff : PCI Bus 0000:00
b0000000-bfffffff : PCI MMCONFIG 0000 [bus 00-ff]
  b0000000-bfffffff : Reserved
    b0000000-bfffffff : pnp 00:04
c0000000-febfffff : PCI Bus 0000:00
  fea00000-feafffff : 0000:00:01.0
fed00000-fed003ff : HPET 0
  fed00000-fed003ff : PNP0103:00
fed1c000-fed1ffff : Reserved
  fed1c000-fed1ffff : pnp 00:05
";

    #[test]
    fn pci_configuration_space_and_anything_inside_reserved_need_force() {
        let m = IomemMap::parse(VM_IOMEM.as_bytes()).unwrap();
        let check =
            |addr: u64| check_region_write(PhysAddr(addr), 1, &m.place(PhysAddr(addr)), false);
        assert_eq!(
            RegionKind::of_name("PCI MMCONFIG 0000 [bus 00-ff]"),
            RegionKind::PciConfig
        );
        assert_eq!(RegionKind::of_name("PCI ECAM"), RegionKind::PciConfig);
        // edu's config byte 0x3c: innermost "pnp 00:04" looks like a device, but it is
        // nested in Reserved, inside PCI MMCONFIG
        let ecam = check(0xb000_803c).unwrap_err();
        assert_eq!(ecam.kind, crate::error::ExitKind::Refused);
        assert!(ecam.message.contains("pnp 00:04"), "{ecam}");
        assert!(ecam.message.contains("inside Reserved"), "{ecam}");
        assert!(check_region_write(
            PhysAddr(0xb000_803c),
            1,
            &m.place(PhysAddr(0xb000_803c)),
            true
        )
        .is_ok());
        // a bare MMCONFIG range is refused by its own kind
        let bare =
            IomemMap::parse("b0000000-bfffffff : PCI MMCONFIG 0000 [bus 00-ff]\n".as_bytes())
                .unwrap();
        let err = check_region_write(
            PhysAddr(0xb000_0000),
            4,
            &bare.place(PhysAddr(0xb000_0000)),
            false,
        )
        .unwrap_err();
        assert!(
            err.message.contains("PCI configuration space (ECAM)"),
            "{err}"
        );
        // any device nested in Reserved
        assert!(check(0xfed1_c000)
            .unwrap_err()
            .message
            .contains("inside Reserved"));
        // devices in a bus window or inside another device stay writable
        assert!(check(0xfea0_0004).is_ok());
        assert!(check(0xfed0_0000).is_ok());
        assert!(check(0x0200_0000).is_ok());
        assert!(check(0x0100_0000).is_err());
    }

    #[test]
    fn writes_into_configuration_space_are_refused_and_named() {
        let window = parse_mcfg(&QEMU_Q35_MCFG).unwrap().remove(0);
        let (window, address) = locate(&[window], PhysAddr(0xb000_803c)).unwrap();
        let space = ConfigSpace {
            window,
            address,
            ids: Some((0x1234, 0x11e8)),
        };
        assert_eq!(
            space.describe(),
            "PCI configuration space (ECAM) of 0000:00:01.0 (1234:11e8), register 0x3c"
        );
        let err = check_config_space_write(PhysAddr(0xb000_803c), Some(&space), false).unwrap_err();
        assert_eq!(err.kind, crate::error::ExitKind::Refused);
        assert!(
            err.message
                .contains("0xb000803c is PCI configuration space (ECAM) of 0000:00:01.0"),
            "{err}"
        );
        assert!(err.message.contains("(ACPI MCFG)"), "{err}");
        assert!(err.to_string().contains("--force"), "{err}");
        assert!(check_config_space_write(PhysAddr(0xb000_803c), Some(&space), true).is_ok());
        assert!(check_config_space_write(PhysAddr(0x1000), None, false).is_ok());
        assert_eq!(locate(&[space.window], PhysAddr(0x1000)), None);
    }

    /// The VM's /proc/ioports around the ports a demo writes, and a reserved range.
    const VM_IOPORTS: &str = "\
0000-0cf7 : PCI Bus 0000:00
  0060-0060 : keyboard
  0064-0064 : keyboard
  00e0-00e3 : physdemo-testdev
    00e0-00e3 : physdemo-testdev
  0510-051b : QEMU0002:00
  0600-067f : 0000:00:1f.0
    0604-0605 : ACPI PM1a_CNT_BLK
0cf8-0cff : PCI conf1
0d00-ffff : PCI Bus 0000:00
  0e00-0e01 : smalldev
  fff8-fffb : reserved
";

    #[test]
    fn port_writes_go_only_to_claimed_ports_that_leave_the_machine_alone() {
        use crate::kernel::ioports::IoportMap;
        let m = IoportMap::parse(VM_IOPORTS.as_bytes()).unwrap();
        let check = |port: u16, bytes: u16| {
            check_port_write(Port(port), bytes, &m.place(Port(port)), false)
        };
        assert!(check(0x510, 2).is_ok());
        assert!(check(0x511, 1).is_ok());
        assert!(check(0xe0, 4).is_ok());
        let refusal = |port, bytes| {
            let err = check(port, bytes).unwrap_err();
            assert_eq!(err.kind, crate::error::ExitKind::Refused, "{err}");
            assert!(err.to_string().contains("--force"), "{err}");
            err.message
        };
        assert_eq!(
            refusal(0xe9, 1),
            "refusing to write: no driver claims port 0xe9: it is in PCI Bus 0000:00 [0x0-0xcf7], a bus window no device claims"
        );
        assert!(refusal(0x64, 1).contains("port 0x64 is the keyboard controller's command port (8042): writing 0xfe to it resets the machine"));
        assert!(refusal(0xcf9, 1).contains("the reset control register"));
        assert!(refusal(0xcf8, 4).contains("ports 0xcf8-0xcfb are PCI configuration mechanism 1"));
        assert!(refusal(0xcfc, 4).contains("PCI configuration mechanism 1"));
        assert!(refusal(0x70, 1).contains("real-time clock"));
        assert!(refusal(0x604, 2).contains("ACPI's power management registers"));
        assert!(refusal(0xfff8, 4).contains("a reserved range"));
        // a 32-bit access that starts in a claimed range and runs past its end
        assert!(refusal(0xe00, 4).contains("runs past the end of smalldev [0xe00-0xe01]"));
        assert!(check(0xe00, 2).is_ok());
        assert!(refusal(0x2000, 4).contains("no driver claims ports 0x2000-0x2003"));
        let nowhere = IoportMap::parse(b"0000-00ff : x\n").unwrap();
        assert!(
            check_port_write(Port(0x300), 1, &nowhere.place(Port(0x300)), false)
                .unwrap_err()
                .message
                .contains("in no range of /proc/ioports")
        );
        assert!(check_port_write(Port(0x64), 1, &m.place(Port(0x64)), true).is_ok());
        assert!(check_port_write(Port(0xe9), 1, &m.place(Port(0xe9)), true).is_ok());
        let hidden = check_port_write(Port(0x510), 2, &Placement::Hidden, false).unwrap_err();
        assert_eq!(hidden.kind, crate::error::ExitKind::Permission);
    }
}
