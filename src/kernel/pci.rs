// SPDX-License-Identifier: MIT OR Apache-2.0
//! PCI devices as sysfs describes them: `resource` lines (one per BAR), `vendor`/`device`
//! ids, and the names a user gives a device with `--pci`.
//!
//! A device is named by its address (`0000:00:04.0`, or `00:04.0` in domain 0) or by its
//! `vendor:device` ids (`1234:11e8`, the first such device). Its directory
//! `/sys/bus/pci/devices/<address>/` holds `vendor`, `device` and `resource`: one line per
//! resource, `start end flags` in hex, lines 0-5 being the BARs. [`parse_resource`],
//! [`parse_selector`] and [`locate_in_bar`] (the BAR exists, is memory rather than I/O
//! ports, has an address, and the access fits inside it) are pure and tested on literals;
//! reading sysfs is [`crate::proc::pci`]'s.

use crate::error::{not_found, unsupported, usage, UserError};
use crate::kernel::addr::PhysAddr;

/// Resource flags from the kernel's include/linux/ioport.h.
pub(crate) const IORESOURCE_IO: u64 = 0x0000_0100;
pub(crate) const IORESOURCE_MEM: u64 = 0x0000_0200;
pub(crate) const IORESOURCE_PREFETCH: u64 = 0x0000_2000;
pub(crate) const IORESOURCE_MEM_64: u64 = 0x0010_0000;
pub(crate) const IORESOURCE_DISABLED: u64 = 0x1000_0000;
pub(crate) const IORESOURCE_UNSET: u64 = 0x2000_0000;

/// A PCI function has at most six BARs (resource lines 0-5; 6 is the ROM).
pub(crate) const BAR_COUNT: u8 = 6;

/// One line of a sysfs `resource` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    pub start: u64,
    /// Inclusive, as sysfs prints it.
    pub end: u64,
    pub flags: u64,
}

impl Resource {
    /// Whether the line describes nothing (an unimplemented BAR, or the upper half of a
    /// 64-bit one): all three numbers are zero.
    pub fn is_unused(&self) -> bool {
        self.start == 0 && self.end == 0 && self.flags == 0
    }

    /// Size in bytes; zero for an unused line.
    pub fn size(&self) -> u64 {
        if self.is_unused() || self.end < self.start {
            0
        } else {
            (self.end - self.start).saturating_add(1)
        }
    }

    pub fn is_mem(&self) -> bool {
        self.flags & IORESOURCE_MEM != 0
    }

    pub fn is_io(&self) -> bool {
        self.flags & IORESOURCE_IO != 0
    }

    /// `[0xfea00000-0xfeafffff], 1 MiB, 32-bit non-prefetchable memory`.
    pub fn describe(&self) -> String {
        let kind = if self.is_io() {
            "I/O ports".to_string()
        } else {
            format!(
                "{} {} memory",
                if self.flags & IORESOURCE_MEM_64 != 0 {
                    "64-bit"
                } else {
                    "32-bit"
                },
                if self.flags & IORESOURCE_PREFETCH != 0 {
                    "prefetchable"
                } else {
                    "non-prefetchable"
                }
            )
        };
        format!(
            "[{:#x}-{:#x}], {}, {kind}",
            self.start,
            self.end,
            format_size(self.size())
        )
    }
}

/// A byte count in the largest binary unit that divides it: `1 MiB`, `4 KiB`, `24 bytes`.
pub(crate) fn format_size(bytes: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

/// Parses a sysfs `resource` file: one `start end flags` line (hex, `0x` prefixed) per
/// resource. The error names the line that is not of that form.
pub fn parse_resource(text: &str) -> Result<Vec<Resource>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let hex = |s: &str| {
                let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
                u64::from_str_radix(digits, 16).ok()
            };
            match fields.as_slice() {
                [start, end, flags] => match (hex(start), hex(end), hex(flags)) {
                    (Some(start), Some(end), Some(flags)) => Ok(Resource { start, end, flags }),
                    _ => Err(format!("line {}: not three hex numbers: '{line}'", i + 1)),
                },
                _ => Err(format!(
                    "line {}: expected 'start end flags', got '{line}'",
                    i + 1
                )),
            }
        })
        .collect()
}

/// How the user named a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// A full address, `domain:bus:device.function`, lower case, as sysfs names it.
    Address(String),
    /// Vendor and device ids: the first device (in address order) that has them.
    Ids { vendor: u16, device: u16 },
}

fn is_hex(text: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&text.len()) && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// Parses `--pci`: `0000:00:04.0`, `00:04.0` (domain 0000), or `1234:11e8`.
pub fn parse_selector(text: &str) -> Result<Selector, UserError> {
    let lower = text.trim().to_ascii_lowercase();
    let bad = || {
        usage(format!("bad PCI device '{text}'")).hint(
            "give an address as `ls /sys/bus/pci/devices` shows it (0000:00:04.0, or 00:04.0) or vendor:device ids (1234:11e8)",
        )
    };
    if let Some((head, function)) = lower.rsplit_once('.') {
        let parts: Vec<&str> = head.split(':').collect();
        let (domain, bus, slot) = match parts.as_slice() {
            [bus, slot] => ("0000", *bus, *slot),
            [domain, bus, slot] => (*domain, *bus, *slot),
            _ => return Err(bad()),
        };
        let slot_ok = is_hex(slot, 2, 2) && u8::from_str_radix(slot, 16).is_ok_and(|s| s < 32);
        let function_ok = function.len() == 1 && matches!(function.as_bytes()[0], b'0'..=b'7');
        if is_hex(domain, 4, 8) && is_hex(bus, 2, 2) && slot_ok && function_ok {
            return Ok(Selector::Address(format!(
                "{domain}:{bus}:{slot}.{function}"
            )));
        }
        return Err(bad());
    }
    match lower.split_once(':') {
        Some((vendor, device)) if is_hex(vendor, 4, 4) && is_hex(device, 4, 4) => {
            match (
                u16::from_str_radix(vendor, 16),
                u16::from_str_radix(device, 16),
            ) {
                (Ok(vendor), Ok(device)) => Ok(Selector::Ids { vendor, device }),
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

/// Parses a sysfs `vendor` or `device` file (`0x1234\n`).
pub fn parse_id(text: &str) -> Option<u16> {
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix("0x").unwrap_or(trimmed);
    u16::from_str_radix(digits, 16).ok()
}

/// The physical address of `len` bytes at `offset` into BAR `bar`, after checking that the
/// BAR exists, is memory with an address, and holds the whole access. `device` only names
/// the device in messages.
pub fn locate_in_bar(
    resources: &[Resource],
    device: &str,
    bar: u8,
    offset: u64,
    len: u64,
) -> Result<PhysAddr, UserError> {
    let list_bars = || {
        let present: Vec<String> = resources
            .iter()
            .take(usize::from(BAR_COUNT))
            .enumerate()
            .filter(|(_, r)| r.size() > 0)
            .map(|(i, r)| format!("BAR{i} {}", if r.is_io() { "I/O" } else { "memory" }))
            .collect();
        if present.is_empty() {
            format!("{device} has no BARs")
        } else {
            format!("{device} has {}", present.join(", "))
        }
    };
    if bar >= BAR_COUNT {
        return Err(usage(format!(
            "there is no BAR{bar}: a PCI device has BAR0 to BAR5"
        ))
        .hint(list_bars()));
    }
    let resource = match resources.get(usize::from(bar)) {
        Some(r) if r.size() > 0 => *r,
        _ => {
            return Err(
                not_found(format!("{device} has no BAR{bar} (it is unused)")).hint(list_bars()),
            )
        }
    };
    if resource.is_io() || !resource.is_mem() {
        return Err(unsupported(format!(
            "BAR{bar} of {device} is {}, not memory: /dev/mem reaches only memory BARs",
            resource.describe()
        ))
        .hint("I/O port BARs are reached with in/out instructions or /dev/port"));
    }
    if resource.start == 0 || resource.flags & (IORESOURCE_UNSET | IORESOURCE_DISABLED) != 0 {
        return Err(not_found(format!(
            "BAR{bar} of {device} has no address assigned (flags {:#x})",
            resource.flags
        ))
        .hint("the kernel did not assign it; is the device enabled?"));
    }
    let size = resource.size();
    let fits = matches!(offset.checked_add(len), Some(end) if end <= size);
    if !fits {
        return Err(usage(format!(
            "offset {offset:#x} + {len} bytes is outside BAR{bar} of {device}, which is {} ({size:#x} bytes)",
            format_size(size)
        ))
        .hint(format!(
            "offsets run from 0 to {:#x}",
            size.saturating_sub(len.max(1))
        )));
    }
    Ok(PhysAddr(resource.start + offset))
}

/// A PCI device found in sysfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PciDevice {
    /// Its address, as sysfs names it: `0000:00:04.0`.
    pub(crate) address: String,
    pub(crate) vendor: u16,
    pub(crate) device: u16,
    pub(crate) resources: Vec<Resource>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitKind;

    /// QEMU's `edu` device as the guest's sysfs shows it: BAR0 1 MiB of 32-bit MMIO.
    const EDU: &str = "\
0x00000000fea00000 0x00000000feafffff 0x0000000000040200
0x0000000000000000 0x0000000000000000 0x0000000000000000
0x0000000000000000 0x0000000000000000 0x0000000000000000
0x0000000000000000 0x0000000000000000 0x0000000000000000
0x0000000000000000 0x0000000000000000 0x0000000000000000
0x0000000000000000 0x0000000000000000 0x0000000000000000
0x0000000000000000 0x0000000000000000 0x0000000000000000
";

    /// An I/O BAR, a 64-bit prefetchable BAR (two lines), an unassigned BAR.
    const MIXED: &str = "\
0x000000000000c000 0x000000000000c03f 0x0000000000040101
0x0000000800000000 0x0000000800003fff 0x000000000014220c
0x0000000000000000 0x0000000000000000 0x0000000000000000
0x0000000000000000 0x0000000000000fff 0x0000000020040200
";

    #[test]
    fn parses_sysfs_resource_lines() {
        let edu = parse_resource(EDU).unwrap();
        assert_eq!(edu.len(), 7);
        assert_eq!(
            edu[0],
            Resource {
                start: 0xfea0_0000,
                end: 0xfeaf_ffff,
                flags: 0x40200
            }
        );
        assert_eq!(edu[0].size(), 0x10_0000);
        assert!(edu[0].is_mem() && !edu[0].is_io());
        assert!(edu[1].is_unused());
        assert_eq!(edu[1].size(), 0);
        assert_eq!(
            edu[0].describe(),
            "[0xfea00000-0xfeafffff], 1 MiB, 32-bit non-prefetchable memory"
        );
        let mixed = parse_resource(MIXED).unwrap();
        assert!(mixed[0].is_io());
        assert_eq!(mixed[0].describe(), "[0xc000-0xc03f], 64 bytes, I/O ports");
        assert_eq!(
            mixed[1].describe(),
            "[0x800000000-0x800003fff], 16 KiB, 64-bit prefetchable memory"
        );
        assert_eq!(parse_resource("").unwrap(), []);
        assert!(parse_resource("0x1 0x2\n").unwrap_err().contains("line 1"));
        assert!(parse_resource("0x1 0x2 0x3\n0x1 zz 0x3\n")
            .unwrap_err()
            .contains("line 2"));
        assert!(parse_resource("1 2 3").is_err(), "sysfs always writes 0x");
    }

    #[test]
    fn locates_a_register_inside_its_bar() {
        let edu = parse_resource(EDU).unwrap();
        let at = |bar, offset, len| locate_in_bar(&edu, "0000:00:04.0", bar, offset, len);
        assert_eq!(at(0, 0, 4).unwrap(), PhysAddr(0xfea0_0000));
        assert_eq!(at(0, 0x20, 4).unwrap(), PhysAddr(0xfea0_0020));
        assert_eq!(at(0, 0xf_fffc, 4).unwrap(), PhysAddr(0xfeaf_fffc));
        assert_eq!(at(0, 0xf_fff8, 8).unwrap(), PhysAddr(0xfeaf_fff8));
        let past = at(0, 0xf_fffc, 8).unwrap_err();
        assert_eq!(past.kind, ExitKind::Usage);
        assert!(past.message.contains("outside BAR0"), "{past}");
        assert!(past.message.contains("1 MiB"), "{past}");
        assert!(past.to_string().contains("0 to 0xffff8"), "{past}");
        assert_eq!(at(0, u64::MAX, 4).unwrap_err().kind, ExitKind::Usage);
        let unused = at(1, 0, 4).unwrap_err();
        assert_eq!(unused.kind, ExitKind::NotFound);
        assert!(unused.to_string().contains("has BAR0 memory"), "{unused}");
        assert_eq!(at(6, 0, 4).unwrap_err().kind, ExitKind::Usage);
    }

    #[test]
    fn refuses_io_and_unassigned_bars() {
        let mixed = parse_resource(MIXED).unwrap();
        let at = |bar| locate_in_bar(&mixed, "0000:00:02.0", bar, 0, 4);
        let io = at(0).unwrap_err();
        assert_eq!(io.kind, ExitKind::Unsupported);
        assert!(io.message.contains("I/O ports, not memory"), "{io}");
        assert_eq!(at(1).unwrap(), PhysAddr(0x8_0000_0000));
        assert_eq!(at(2).unwrap_err().kind, ExitKind::NotFound);
        let unset = at(3).unwrap_err();
        assert!(unset.message.contains("no address assigned"), "{unset}");
        assert_eq!(
            locate_in_bar(&[], "x", 0, 0, 4)
                .unwrap_err()
                .hint
                .as_deref(),
            Some("x has no BARs")
        );
    }

    #[test]
    fn parses_device_names() {
        let addr = |s: &str| Selector::Address(s.to_string());
        assert_eq!(
            parse_selector("0000:00:04.0").unwrap(),
            addr("0000:00:04.0")
        );
        assert_eq!(parse_selector("00:04.0").unwrap(), addr("0000:00:04.0"));
        assert_eq!(
            parse_selector("0000:3A:1F.7").unwrap(),
            addr("0000:3a:1f.7")
        );
        assert_eq!(
            parse_selector("10000:e0:00.0").unwrap(),
            addr("10000:e0:00.0")
        );
        assert_eq!(
            parse_selector("1234:11e8").unwrap(),
            Selector::Ids {
                vendor: 0x1234,
                device: 0x11e8
            }
        );
        assert_eq!(
            parse_selector("8086:29C0").unwrap(),
            Selector::Ids {
                vendor: 0x8086,
                device: 0x29c0
            }
        );
        for bad in [
            "",
            "04.0",
            "0000:00:20.0",
            "0000:00:04.8",
            "0000:0:04.0",
            "1234",
            "1234:11e",
            "12345:11e8",
            "0x1234:0x11e8",
            "zz:04.0",
            "0000:00:04",
            "a:b:c:d.0",
        ] {
            let err = parse_selector(bad).unwrap_err();
            assert_eq!(err.kind, ExitKind::Usage, "{bad}");
            assert!(err.to_string().contains("1234:11e8"), "{bad}: {err}");
        }
        assert_eq!(parse_id("0x1234\n"), Some(0x1234));
        assert_eq!(parse_id("0x11e8"), Some(0x11e8));
        assert_eq!(parse_id("nope"), None);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(format_size(0x10_0000), "1 MiB");
        assert_eq!(format_size(4096), "4 KiB");
        assert_eq!(format_size(64), "64 bytes");
        assert_eq!(format_size(0x1800), "6 KiB");
        assert_eq!(format_size(1 << 32), "4 GiB");
    }
}
