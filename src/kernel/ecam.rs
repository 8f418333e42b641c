// SPDX-License-Identifier: MIT OR Apache-2.0
//! PCI configuration space reached through memory (ECAM; "MMCONFIG" on x86): where it is,
//! and which device and register an address in it belongs to.
//!
//! PCI Express maps every function's 4 KiB configuration space into the physical address
//! space (the Enhanced Configuration Access Mechanism, PCI Express Base Specification,
//! "PCI Express Enhanced Configuration Access Mechanism"): inside a window, an address is
//! `base + (bus << 20 | device << 15 | function << 12 | register)`, `base` being where
//! bus 0 would start. A store there reprograms a device behind its driver's back (command
//! register, BARs, MSI) and can wedge it or the machine, so the write policy
//! ([`crate::physmem::policy`]) refuses it without `--force` and names the function when it
//! can.
//!
//! The windows come from two places. The ACPI MCFG table (`/sys/firmware/acpi/tables/MCFG`,
//! readable by root) is where firmware tells the OS (PCI Firmware Specification 3.x, "MCFG
//! Table Description"; ACPICA's `struct acpi_table_mcfg` and `struct acpi_mcfg_allocation`
//! in include/acpi/actbl2.h): a 36-byte ACPI table header, 8 reserved bytes, then one
//! 16-byte entry per window: base address (u64), PCI segment group (u16), start bus and end
//! bus (u8 each), 4 reserved bytes, all little-endian. `/proc/iomem` lists a window the
//! kernel uses as `PCI MMCONFIG <segment> [bus <start>-<end>]` (x86:
//! arch/x86/pci/mmconfig-shared.c) or `PCI ECAM <segment> [bus <start>-<end>]`
//! (drivers/pci/ecam.c in newer kernels; plain `PCI ECAM`, naming no buses, in Linux 6.1),
//! either starting at `base + (start << 20)`. [`parse_mcfg`],
//! [`window_of_iomem_region`] and [`EcamWindow::decode`] are pure and tested on literals;
//! [`crate::proc::ecam::find_in_system`] is the glue.

use std::fmt;

use crate::kernel::addr::PhysAddr;

/// Bytes of the ACPI table header, and of MCFG's reserved field after it.
const SDT_HEADER_LEN: usize = 36;
const MCFG_ENTRIES_AT: usize = SDT_HEADER_LEN + 8;
const MCFG_ENTRY_LEN: usize = 16;

/// Each bus has 32 devices of 8 functions of 4 KiB: 1 MiB.
const BUS_SHIFT: u32 = 20;
const DEVICE_SHIFT: u32 = 15;
const FUNCTION_SHIFT: u32 = 12;

/// Where a window was learnt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowSource {
    /// An entry of the ACPI MCFG table.
    Mcfg,
    /// A /proc/iomem range of this name.
    Iomem(String),
}

/// One ECAM window: the configuration space of buses `start_bus..=end_bus` of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcamWindow {
    /// Where bus 0's configuration space would start (MCFG's base address).
    pub base: u64,
    pub segment: u16,
    pub start_bus: u8,
    pub end_bus: u8,
    pub source: WindowSource,
}

/// A function's configuration register, named as sysfs names the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigAddress {
    pub segment: u16,
    pub bus: u8,
    pub device: u8,
    pub function: u8,
    /// Byte offset in the function's 4 KiB configuration space.
    pub register: u16,
}

impl fmt::Display for ConfigAddress {
    /// `0000:00:01.0`, as in /sys/bus/pci/devices.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{}",
            self.segment, self.bus, self.device, self.function
        )
    }
}

impl EcamWindow {
    /// The first byte of the window (bus `start_bus`, device 0, function 0).
    pub fn first(&self) -> u64 {
        self.base
            .saturating_add(u64::from(self.start_bus) << BUS_SHIFT)
    }

    /// The last byte of the window (inclusive).
    pub fn last(&self) -> u64 {
        self.base
            .saturating_add((u64::from(self.end_bus) + 1) << BUS_SHIFT)
            .saturating_sub(1)
    }

    pub fn contains(&self, addr: u64) -> bool {
        self.start_bus <= self.end_bus && self.first() <= addr && addr <= self.last()
    }

    /// The function and register `addr` reaches, when it is in this window.
    pub fn decode(&self, addr: u64) -> Option<ConfigAddress> {
        if !self.contains(addr) {
            return None;
        }
        let offset = addr.checked_sub(self.base)?;
        let bus = u8::try_from(offset >> BUS_SHIFT).ok()?;
        if bus < self.start_bus || bus > self.end_bus {
            return None; // a window whose addresses overflow 64 bits
        }
        Some(ConfigAddress {
            segment: self.segment,
            bus,
            device: ((offset >> DEVICE_SHIFT) & 0x1f) as u8,
            function: ((offset >> FUNCTION_SHIFT) & 0x7) as u8,
            register: (offset & 0xfff) as u16,
        })
    }
}

impl fmt::Display for EcamWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "segment {:04x} buses {:02x}-{:02x} [{:#x}-{:#x}]",
            self.segment,
            self.start_bus,
            self.end_bus,
            self.first(),
            self.last()
        )?;
        match &self.source {
            WindowSource::Mcfg => write!(f, " (ACPI MCFG)"),
            WindowSource::Iomem(name) => write!(f, " ({name} in /proc/iomem)"),
        }
    }
}

/// Decodes the ACPI MCFG table: its windows, or why the bytes are not an MCFG table.
pub fn parse_mcfg(bytes: &[u8]) -> Result<Vec<EcamWindow>, String> {
    if bytes.len() < MCFG_ENTRIES_AT {
        return Err(format!(
            "{} bytes, shorter than the {MCFG_ENTRIES_AT}-byte MCFG header",
            bytes.len()
        ));
    }
    if &bytes[..4] != b"MCFG" {
        return Err(format!(
            "signature {:?}, not \"MCFG\"",
            String::from_utf8_lossy(&bytes[..4])
        ));
    }
    let length = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    if length < MCFG_ENTRIES_AT || length > bytes.len() {
        return Err(format!(
            "the header's length {length} does not fit the {} bytes read",
            bytes.len()
        ));
    }
    let entries = &bytes[MCFG_ENTRIES_AT..length];
    if entries.len() % MCFG_ENTRY_LEN != 0 {
        return Err(format!(
            "{} bytes of entries, not a multiple of {MCFG_ENTRY_LEN}",
            entries.len()
        ));
    }
    Ok(entries
        .chunks_exact(MCFG_ENTRY_LEN)
        .map(|entry| {
            let base: [u8; 8] = std::array::from_fn(|i| entry[i]);
            EcamWindow {
                base: u64::from_le_bytes(base),
                segment: u16::from_le_bytes([entry[8], entry[9]]),
                start_bus: entry[10],
                end_bus: entry[11],
                source: WindowSource::Mcfg,
            }
        })
        .collect())
}

/// Whether a /proc/iomem range of this name is PCI configuration space.
pub(crate) fn is_config_space_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("pci mmconfig") || lower.starts_with("pci ecam")
}

/// The window a `PCI MMCONFIG 0000 [bus 00-ff]` (or `PCI ECAM 0000 [bus 00-ff]`) range
/// `start..=end` describes; `None` for other names, for a bare `PCI ECAM`, which does not
/// name its buses, and for a range whose size does not match its buses (the zeros a user
/// without root reads, say).
pub(crate) fn window_of_iomem_region(name: &str, start: u64, end: u64) -> Option<EcamWindow> {
    let rest = name
        .strip_prefix("PCI MMCONFIG ")
        .or_else(|| name.strip_prefix("PCI ECAM "))?;
    let (segment, buses) = rest.split_once(" [bus ")?;
    let (start_bus, end_bus) = buses.strip_suffix(']')?.split_once('-')?;
    let hex2 = |text: &str| (text.len() == 2).then(|| u8::from_str_radix(text, 16).ok())?;
    let segment = (segment.len() == 4)
        .then(|| u16::from_str_radix(segment, 16).ok())
        .flatten()?;
    let (start_bus, end_bus) = (hex2(start_bus)?, hex2(end_bus)?);
    let window = EcamWindow {
        base: start.checked_sub(u64::from(start_bus) << BUS_SHIFT)?,
        segment,
        start_bus,
        end_bus,
        source: WindowSource::Iomem(name.to_string()),
    };
    (start_bus <= end_bus && window.first() == start && window.last() == end).then_some(window)
}

/// An address found in PCI configuration space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigSpace {
    pub(crate) window: EcamWindow,
    pub(crate) address: ConfigAddress,
    /// The function's vendor and device ids, when sysfs lists it.
    pub(crate) ids: Option<(u16, u16)>,
}

impl ConfigSpace {
    /// `PCI configuration space (ECAM) of 0000:00:01.0 (1234:11e8), register 0x3c`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "PCI configuration space (ECAM) of {}{}, register {:#x}",
            self.address,
            self.ids
                .map_or_else(String::new, |(v, d)| format!(" ({v:04x}:{d:04x})")),
            self.address.register
        )
    }
}

/// The first window holding `addr`, decoded.
pub(crate) fn locate(
    windows: &[EcamWindow],
    addr: PhysAddr,
) -> Option<(EcamWindow, ConfigAddress)> {
    windows
        .iter()
        .find_map(|w| Some((w.clone(), w.decode(addr.0)?)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The MCFG table of the project's VM (QEMU 10 q35), as `od` printed it there (shared
    /// with the write policy's tests).
    pub(crate) const QEMU_Q35_MCFG: [u8; 60] = [
        0x4d, 0x43, 0x46, 0x47, 0x3c, 0x00, 0x00, 0x00, 0x01, 0x8c, 0x42, 0x4f, 0x43, 0x48, 0x53,
        0x20, 0x42, 0x58, 0x50, 0x43, 0x20, 0x20, 0x20, 0x20, 0x01, 0x00, 0x00, 0x00, 0x42, 0x58,
        0x50, 0x43, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0xb0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn decodes_the_vms_mcfg_table() {
        let windows = parse_mcfg(&QEMU_Q35_MCFG).unwrap();
        assert_eq!(
            windows,
            [EcamWindow {
                base: 0xb000_0000,
                segment: 0,
                start_bus: 0,
                end_bus: 0xff,
                source: WindowSource::Mcfg,
            }]
        );
        assert_eq!(windows[0].first(), 0xb000_0000);
        assert_eq!(windows[0].last(), 0xbfff_ffff);
    }

    #[test]
    fn decodes_several_entries_and_refuses_what_is_not_mcfg() {
        let mut two = QEMU_Q35_MCFG.to_vec();
        // segment 1, buses 0x80-0x8f, base 0x2_0000_0000
        two.extend_from_slice(&[0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0x80, 0x8f, 0, 0, 0, 0]);
        two[4] = 76;
        let windows = parse_mcfg(&two).unwrap();
        assert_eq!(windows.len(), 2);
        assert_eq!(windows[1].base, 0x2_0000_0000);
        assert_eq!(windows[1].segment, 1);
        assert_eq!((windows[1].start_bus, windows[1].end_bus), (0x80, 0x8f));
        assert_eq!(windows[1].first(), 0x2_0000_0000 + (0x80 << 20));
        assert_eq!(windows[1].last(), 0x2_0000_0000 + (0x90 << 20) - 1);

        assert!(parse_mcfg(&QEMU_Q35_MCFG[..40])
            .unwrap_err()
            .contains("shorter"));
        let mut other = QEMU_Q35_MCFG;
        other[..4].copy_from_slice(b"APIC");
        assert!(parse_mcfg(&other).unwrap_err().contains("not \"MCFG\""));
        let mut long = QEMU_Q35_MCFG;
        long[4] = 0x50;
        assert!(parse_mcfg(&long).unwrap_err().contains("length 80"));
        let mut ragged = QEMU_Q35_MCFG;
        ragged[4] = 0x3a;
        assert!(parse_mcfg(&ragged).unwrap_err().contains("not a multiple"));
        let mut empty = QEMU_Q35_MCFG[..44].to_vec();
        empty[4] = 44;
        assert_eq!(parse_mcfg(&empty).unwrap(), []);
    }

    #[test]
    fn an_address_decodes_to_bus_device_function_and_register() {
        let window = &parse_mcfg(&QEMU_Q35_MCFG).unwrap()[0];
        // edu at 00:01.0, its interrupt line register (0x3c)
        let edu = window.decode(0xb000_803c).unwrap();
        assert_eq!(
            (edu.bus, edu.device, edu.function, edu.register),
            (0, 1, 0, 0x3c)
        );
        assert_eq!(edu.to_string(), "0000:00:01.0");
        let last = window.decode(0xbfff_ffff).unwrap();
        assert_eq!(last.to_string(), "0000:ff:1f.7");
        assert_eq!(last.register, 0xfff);
        let isa_bridge = window.decode(0xb00f_8000).unwrap();
        assert_eq!(isa_bridge.to_string(), "0000:00:1f.0");
        assert_eq!(window.decode(0xafff_ffff), None);
        assert_eq!(window.decode(0xc000_0000), None);
        // a window that starts at bus 0x80: bus numbers count from the base, not the start
        let high = EcamWindow {
            base: 0xe000_0000,
            segment: 2,
            start_bus: 0x80,
            end_bus: 0x81,
            source: WindowSource::Mcfg,
        };
        assert_eq!(high.decode(0xe000_0000), None);
        let f = high.decode(0xe810_9004).unwrap();
        assert_eq!(f.to_string(), "0002:81:01.1");
        assert_eq!(f.register, 4);
    }

    #[test]
    fn reads_windows_from_iomem_names() {
        let window =
            window_of_iomem_region("PCI MMCONFIG 0000 [bus 00-ff]", 0xb000_0000, 0xbfff_ffff)
                .unwrap();
        assert_eq!(
            (window.base, window.start_bus, window.end_bus),
            (0xb000_0000, 0, 0xff)
        );
        let high =
            window_of_iomem_region("PCI MMCONFIG 0001 [bus 80-8f]", 0xe800_0000, 0xe8ff_ffff)
                .unwrap();
        assert_eq!(high.base, 0xe000_0000);
        assert_eq!(high.segment, 1);
        assert_eq!(high.first(), 0xe800_0000);
        // newer kernels name the generic ECAM driver's windows the same way
        let generic =
            window_of_iomem_region("PCI ECAM 0000 [bus 00-00]", 0xeec0_0000, 0xeecf_ffff).unwrap();
        assert_eq!((generic.base, generic.last()), (0xeec0_0000, 0xeecf_ffff));
        for not_a_window in [
            "PCI ECAM",
            "PCI Bus 0000:00",
            "PCI MMCONFIG 0000 [bus 00-ff",
            "PCI MMCONFIG 00 [bus 00-ff]",
            "PCI MMCONFIG 0000 [bus 0-ff]",
            "PCI MMCONFIG zzzz [bus 00-ff]",
            "PCI MMCONFIG 0000 [bus ff-00]",
            "Reserved",
        ] {
            assert_eq!(
                window_of_iomem_region(not_a_window, 0xb000_0000, 0xbfff_ffff),
                None,
                "{not_a_window}"
            );
        }
        // a range that is not the size its buses say: the zeros a user without root reads,
        // a start below the first bus's offset
        let name = "PCI ECAM 0000 [bus 00-00]";
        assert_eq!(window_of_iomem_region(name, 0, 0), None);
        assert_eq!(window_of_iomem_region(name, 0xeec0_0000, 0xeeff_ffff), None);
        assert_eq!(
            window_of_iomem_region("PCI MMCONFIG 0000 [bus 10-ff]", 0x1000, 0xf0_0fff),
            None
        );
        assert!(is_config_space_name("PCI MMCONFIG 0000 [bus 00-ff]"));
        assert!(is_config_space_name("PCI ECAM"));
        assert!(!is_config_space_name("PCI Bus 0000:00"));
    }
}
