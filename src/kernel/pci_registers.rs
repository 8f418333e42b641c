// SPDX-License-Identifier: MIT OR Apache-2.0
//! Names of the registers physdemo knows: the standard header of PCI configuration space
//! (type 0 and 1 alike in its first 16 bytes, type 0 after), and QEMU's `edu` device
//! (1234:11e8, BAR0; QEMU's `docs/specs/edu.rst`). Pure tables, tested on literals.

/// One register: `[offset, offset + size)` and its name.
struct Named {
    offset: u64,
    size: u64,
    name: &'static str,
}

const fn reg(offset: u64, size: u64, name: &'static str) -> Named {
    Named { offset, size, name }
}

/// The PCI configuration header (type 0), PCI Local Bus 3.0, section 6.1.
const CONFIG_HEADER: &[Named] = &[
    reg(0x00, 2, "vendor ID"),
    reg(0x02, 2, "device ID"),
    reg(0x04, 2, "command"),
    reg(0x06, 2, "status"),
    reg(0x08, 1, "revision ID"),
    reg(0x09, 3, "class code"),
    reg(0x0c, 1, "cache line size"),
    reg(0x0d, 1, "latency timer"),
    reg(0x0e, 1, "header type"),
    reg(0x0f, 1, "BIST"),
    reg(0x10, 4, "BAR0"),
    reg(0x14, 4, "BAR1"),
    reg(0x18, 4, "BAR2"),
    reg(0x1c, 4, "BAR3"),
    reg(0x20, 4, "BAR4"),
    reg(0x24, 4, "BAR5"),
    reg(0x28, 4, "CardBus CIS pointer"),
    reg(0x2c, 2, "subsystem vendor ID"),
    reg(0x2e, 2, "subsystem ID"),
    reg(0x30, 4, "expansion ROM base address"),
    reg(0x34, 1, "capabilities pointer"),
    reg(0x3c, 1, "interrupt line"),
    reg(0x3d, 1, "interrupt pin"),
    reg(0x3e, 1, "min grant"),
    reg(0x3f, 1, "max latency"),
];

/// QEMU's edu device, BAR0 (`docs/specs/edu.rst`).
const EDU_BAR0: &[Named] = &[
    reg(0x00, 4, "identification (0xRRrr00ed)"),
    reg(
        0x04,
        4,
        "card liveness check (reads back the inverse of what was written)",
    ),
    reg(0x08, 4, "factorial computation"),
    reg(
        0x20,
        4,
        "status (0x01 computing factorial, 0x80 raise interrupt when done)",
    ),
    reg(0x24, 4, "interrupt status"),
    reg(0x60, 4, "interrupt raise"),
    reg(0x64, 4, "interrupt acknowledge"),
    reg(0x80, 8, "DMA source address"),
    reg(0x88, 8, "DMA destination address"),
    reg(0x90, 8, "DMA transfer count"),
    reg(0x98, 8, "DMA command"),
];

/// The edu device's vendor and device ids.
pub const EDU_IDS: (u16, u16) = (0x1234, 0x11e8);

fn find(table: &[Named], offset: u64) -> Option<String> {
    table
        .iter()
        .find(|r| offset >= r.offset && offset - r.offset < r.size)
        .map(|r| {
            if offset == r.offset {
                r.name.to_string()
            } else {
                format!("{} + {:#x}", r.name, offset - r.offset)
            }
        })
}

/// The standard configuration header's register at `offset`; `None` past the header
/// (capabilities, extended configuration space: the device's own).
pub fn config_register_name(offset: u64) -> Option<String> {
    find(CONFIG_HEADER, offset)
}

/// The register of a device physdemo knows at `offset` into BAR `bar`.
pub fn bar_register_name(ids: (u16, u16), bar: u8, offset: u64) -> Option<String> {
    match (ids, bar) {
        (EDU_IDS, 0) if offset < 0x100 => find(EDU_BAR0, offset),
        (EDU_IDS, 0) if offset < 0x10_0000 => {
            Some("DMA buffer (edu's 4 KiB at 0x40000) or unused".to_string())
                .filter(|_| (0x4_0000..0x4_1000).contains(&offset))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_edu_and_configuration_registers() {
        assert_eq!(
            bar_register_name(EDU_IDS, 0, 0x4).as_deref(),
            Some("card liveness check (reads back the inverse of what was written)")
        );
        assert_eq!(
            bar_register_name(EDU_IDS, 0, 0x0).as_deref(),
            Some("identification (0xRRrr00ed)")
        );
        assert_eq!(
            bar_register_name(EDU_IDS, 0, 0x8c).as_deref(),
            Some("DMA destination address + 0x4")
        );
        assert_eq!(bar_register_name(EDU_IDS, 0, 0x10), None);
        assert_eq!(bar_register_name(EDU_IDS, 1, 0x4), None);
        assert_eq!(bar_register_name((0x8086, 0x100e), 0, 0x4), None);
        assert!(bar_register_name(EDU_IDS, 0, 0x4_0010)
            .unwrap()
            .starts_with("DMA buffer"));
        assert_eq!(bar_register_name(EDU_IDS, 0, 0x5_0000), None);
        assert_eq!(
            config_register_name(0x3c).as_deref(),
            Some("interrupt line")
        );
        assert_eq!(
            config_register_name(0x0a).as_deref(),
            Some("class code + 0x1")
        );
        assert_eq!(config_register_name(0x14).as_deref(), Some("BAR1"));
        assert_eq!(config_register_name(0x38), None);
        assert_eq!(config_register_name(0x100), None);
    }
}
