// SPDX-License-Identifier: MIT OR Apache-2.0
//! The device tree's words for a physical address: a node's `reg` ranges and `compatible`
//! strings as the kernel exports them under `/proc/device-tree` (one file per property,
//! big-endian cells: the devicetree specification, section 2.3), and the registers of the
//! devices QEMU's arm64 `virt` board puts at fixed addresses (hw/arm/virt.c).
//!
//! Pure: the property bytes in ([`decode_reg`], [`decode_compatible`], [`decode_cells`]),
//! ranges and names out. Reading the tree is [`crate::proc::devicetree`]'s.

use std::fmt;

use serde::Serialize;

/// One `reg` entry: `size` bytes from physical address `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegRange {
    pub start: u64,
    pub size: u64,
}

impl RegRange {
    pub fn contains(&self, addr: u64) -> bool {
        addr >= self.start && addr - self.start < self.size
    }
}

/// A `#address-cells` or `#size-cells` property: one big-endian u32.
pub fn decode_cells(bytes: &[u8]) -> Option<u32> {
    let cell: [u8; 4] = bytes.try_into().ok()?;
    Some(u32::from_be_bytes(cell))
}

/// A `reg` property: (address, size) pairs of `address_cells` and `size_cells` big-endian
/// 32-bit cells each. `None` when the length is not a whole number of pairs or a value
/// takes more than two cells (64 bits).
pub fn decode_reg(bytes: &[u8], address_cells: u32, size_cells: u32) -> Option<Vec<RegRange>> {
    if address_cells == 0 || address_cells > 2 || size_cells > 2 {
        return None;
    }
    let pair = 4 * (address_cells + size_cells) as usize;
    if bytes.is_empty() || bytes.len() % pair != 0 {
        return None;
    }
    let number = |cells: &[u8]| {
        cells.chunks(4).fold(0u64, |acc, c| {
            acc << 32 | u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        })
    };
    let split = 4 * address_cells as usize;
    Some(
        bytes
            .chunks(pair)
            .map(|entry| RegRange {
                start: number(&entry[..split]),
                size: number(&entry[split..]),
            })
            .collect(),
    )
}

/// A `compatible` property: NUL-terminated strings, most specific first.
pub fn decode_compatible(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// A device tree node that holds an address: its path, its `compatible` strings and the
/// `reg` range the address is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DtDevice {
    /// The node's path, `/pl011@9000000`.
    pub node: String,
    pub compatible: Vec<String>,
    #[serde(serialize_with = "hex")]
    pub start: u64,
    #[serde(serialize_with = "hex")]
    pub size: u64,
    /// What the device is, where physdemo knows it: `PL011 UART`.
    pub what: Option<&'static str>,
    /// The register at the address, where physdemo knows it.
    pub register: Option<&'static str>,
}

fn hex<S: serde::Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&format_args!("{value:#x}"))
}

/// The devices physdemo knows by `compatible`: a name, and registers by offset.
struct Known {
    compatible: &'static str,
    what: &'static str,
    registers: &'static [(u64, &'static str)],
}

const KNOWN: &[Known] = &[
    Known {
        compatible: "arm,pl011",
        what: "PL011 UART",
        registers: &[
            (
                0x00,
                "the data register UARTDR: a byte written goes out on the serial line",
            ),
            (0x18, "the flag register UARTFR"),
            (0x24, "the integer baud rate divisor UARTIBRD"),
            (0x2c, "the line control register UARTLCR_H"),
            (0x30, "the control register UARTCR"),
        ],
    },
    Known {
        compatible: "arm,pl031",
        what: "PL031 RTC",
        registers: &[
            (0x00, "the data register RTCDR: seconds since the epoch"),
            (0x04, "the match register RTCMR"),
            (0x08, "the load register RTCLR: writing sets the clock"),
            (0x0c, "the control register RTCCR"),
        ],
    },
    Known {
        compatible: "qemu,fw-cfg-mmio",
        what: "QEMU fw_cfg",
        registers: &[
            (0x00, "the data register: the selected item, byte by byte"),
            (
                0x08,
                "the selector (16-bit, big-endian): which item the data register reads",
            ),
            (0x10, "the DMA address register"),
        ],
    },
    Known {
        compatible: "arm,pl061",
        what: "PL061 GPIO",
        registers: &[(0x400, "the direction register GPIODIR")],
    },
    Known {
        compatible: "virtio,mmio",
        what: "virtio-mmio transport",
        registers: &[(0x00, "the magic value \"virt\"")],
    },
];

impl DtDevice {
    /// The device at `addr` in the node `node` with these properties; `None` unless a
    /// `reg` range holds it.
    pub fn at(addr: u64, node: &str, compatible: Vec<String>, reg: &[RegRange]) -> Option<Self> {
        let range = reg.iter().find(|r| r.contains(addr))?;
        let known = KNOWN
            .iter()
            .find(|k| compatible.iter().any(|c| c == k.compatible));
        let offset = addr - range.start;
        Some(DtDevice {
            node: node.to_string(),
            compatible,
            start: range.start,
            size: range.size,
            what: known.map(|k| k.what),
            register: known.and_then(|k| {
                k.registers
                    .iter()
                    .find(|(at, _)| *at == offset)
                    .map(|(_, name)| *name)
            }),
        })
    }
}

/// `/pl011@9000000 ("arm,pl011", "arm,primecell"), the PL011 UART [0x9000000-0x9000fff]: +0x0 is the data register UARTDR: ...`
impl fmt::Display for DtDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let compatible: Vec<String> = self.compatible.iter().map(|c| format!("{c:?}")).collect();
        write!(f, "{} ({})", self.node, compatible.join(", "))?;
        if let Some(what) = self.what {
            write!(f, ", the {what}")?;
        }
        write!(
            f,
            " [{:#x}-{:#x}]",
            self.start,
            self.start + self.size.saturating_sub(1)
        )?;
        if let Some(register) = self.register {
            write!(f, ": {register}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// QEMU virt's /pl011@9000000/reg with #address-cells = #size-cells = 2.
    const PL011_REG: [u8; 16] = [0, 0, 0, 0, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0];

    #[test]
    fn reg_cells_are_big_endian_pairs() {
        assert_eq!(
            decode_reg(&PL011_REG, 2, 2),
            Some(vec![RegRange {
                start: 0x0900_0000,
                size: 0x1000
            }])
        );
        // One address cell and one size cell, two entries.
        let two = [0, 0, 0x10, 0, 0, 0, 0, 0x20, 0xfe, 0, 0, 0, 0, 1, 0, 0];
        assert_eq!(
            decode_reg(&two, 1, 1),
            Some(vec![
                RegRange {
                    start: 0x1000,
                    size: 0x20
                },
                RegRange {
                    start: 0xfe00_0000,
                    size: 0x1_0000
                }
            ])
        );
        // Sizes of zero cells (a CPU's reg), a ragged length, three-cell addresses.
        assert_eq!(
            decode_reg(&[0, 0, 0, 1], 1, 0),
            Some(vec![RegRange { start: 1, size: 0 }])
        );
        assert_eq!(decode_reg(&PL011_REG[..12], 2, 2), None);
        assert_eq!(decode_reg(&[0; 24], 3, 3), None);
        assert_eq!(decode_reg(&[], 2, 2), None);
        assert_eq!(decode_cells(&[0, 0, 0, 2]), Some(2));
        assert_eq!(decode_cells(&[0, 0, 2]), None);
    }

    #[test]
    fn compatible_is_nul_separated_most_specific_first() {
        assert_eq!(
            decode_compatible(b"arm,pl011\0arm,primecell\0"),
            ["arm,pl011", "arm,primecell"]
        );
        assert_eq!(
            decode_compatible(b"qemu,fw-cfg-mmio\0"),
            ["qemu,fw-cfg-mmio"]
        );
        assert!(decode_compatible(b"").is_empty());
    }

    #[test]
    fn the_virt_boards_devices_are_named_with_their_registers() {
        let reg = decode_reg(&PL011_REG, 2, 2).unwrap();
        let uart = DtDevice::at(
            0x0900_0000,
            "/pl011@9000000",
            decode_compatible(b"arm,pl011\0arm,primecell\0"),
            &reg,
        )
        .unwrap();
        assert_eq!(
            uart.to_string(),
            "/pl011@9000000 (\"arm,pl011\", \"arm,primecell\"), the PL011 UART [0x9000000-0x9000fff]: the data register UARTDR: a byte written goes out on the serial line"
        );
        let rtc_reg = [RegRange {
            start: 0x0901_0000,
            size: 0x1000,
        }];
        let rtc = DtDevice::at(
            0x0901_0000,
            "/pl031@9010000",
            vec!["arm,pl031".into()],
            &rtc_reg,
        )
        .unwrap();
        assert_eq!(rtc.what, Some("PL031 RTC"));
        assert!(rtc.to_string().contains("seconds since the epoch"));
        // An offset with no known register, an unknown device, an address outside.
        let flags = DtDevice::at(
            0x0900_0004,
            "/pl011@9000000",
            vec!["arm,pl011".into()],
            &reg,
        )
        .unwrap();
        assert_eq!(flags.register, None);
        let other = DtDevice::at(
            0x0900_0010,
            "/thing@9000000",
            vec!["acme,widget".into()],
            &reg,
        )
        .unwrap();
        assert_eq!(other.what, None);
        assert!(!other.to_string().contains(": "));
        assert_eq!(
            DtDevice::at(0x0900_1000, "/pl011@9000000", vec![], &reg),
            None
        );
        let json = serde_json::to_value(&uart).unwrap();
        assert_eq!(json["start"], "0x9000000");
        assert_eq!(json["compatible"][0], "arm,pl011");
    }
}
