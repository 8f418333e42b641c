// SPDX-License-Identifier: MIT OR Apache-2.0
//! The width of one access, and the pure checks on an access before it is made: natural
//! alignment, and a value that fits.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::error::{usage, UserError};
use crate::kernel::addr::{PhysAddr, VirtAddr};

/// The width of one access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Width {
    W8,
    W16,
    W32,
    W64,
}

impl Width {
    pub const ALL: [Width; 4] = [Width::W8, Width::W16, Width::W32, Width::W64];

    pub fn from_bits(bits: u64) -> Option<Width> {
        match bits {
            8 => Some(Width::W8),
            16 => Some(Width::W16),
            32 => Some(Width::W32),
            64 => Some(Width::W64),
            _ => None,
        }
    }

    pub fn bits(self) -> u32 {
        match self {
            Width::W8 => 8,
            Width::W16 => 16,
            Width::W32 => 32,
            Width::W64 => 64,
        }
    }

    pub(crate) fn bytes(self) -> usize {
        self.bits() as usize / 8
    }

    /// The largest value of this width.
    pub fn max_value(self) -> u64 {
        u64::MAX >> (64 - self.bits())
    }

    /// A value formatted with as many hex digits as the width has nibbles: `0x00ab`.
    pub fn hex(self, value: u64) -> String {
        format!("{value:#0digits$x}", digits = self.bits() as usize / 4 + 2)
    }

    /// `value` as an access of this width shows it: `0x00ab` for 16 bits.
    pub(crate) fn value(self, value: u64) -> WidthValue {
        WidthValue { value, width: self }
    }

    /// Parses `8|16|32|64`, or busybox's letters `b|h|w|l` (byte, half, word, long).
    pub fn parse(text: &str) -> Result<Width, UserError> {
        let by_letter = match text.to_ascii_lowercase().as_str() {
            "b" => Some(Width::W8),
            "h" => Some(Width::W16),
            "w" => Some(Width::W32),
            "l" => Some(Width::W64),
            _ => None,
        };
        by_letter
            .or_else(|| text.parse::<u64>().ok().and_then(Width::from_bits))
            .ok_or_else(|| {
                usage(format!("bad width '{text}'"))
                    .hint("use 8, 16, 32 or 64 bits (or b, h, w, l)")
            })
    }
}

impl fmt::Display for Width {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-bit", self.bits())
    }
}

/// A value read or written with a width: shown, in text and in JSON, with as many hex
/// digits as the width has nibbles ([`Width::hex`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WidthValue {
    pub(crate) value: u64,
    pub(crate) width: Width,
}

impl fmt::Display for WidthValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.width.hex(self.value))
    }
}

impl Serialize for WidthValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Refuses an access that is not naturally aligned (it could cross a page, and devices
/// reject it); the error says the nearest aligned addresses.
pub fn check_alignment(addr: PhysAddr, width: Width) -> Result<(), UserError> {
    let bytes = width.bytes() as u64;
    if addr.0 % bytes == 0 {
        return Ok(());
    }
    let below = addr.0 - addr.0 % bytes;
    Err(usage(format!(
        "{addr} is not aligned for a {width} access (it must be a multiple of {bytes})"
    ))
    .hint(format!(
        "use {:#x} or {:#x}, or a smaller --width",
        below,
        below + bytes
    )))
}

/// As [`check_alignment`], for a process's virtual address, before it is resolved: it
/// shares its offset in the page with the physical address it maps to, so one is aligned
/// exactly when the other is.
pub(crate) fn check_virtual_alignment(addr: VirtAddr, width: Width) -> Result<(), UserError> {
    check_alignment(PhysAddr(addr.0), width)
}

/// Refuses a value wider than the access.
pub fn check_value_fits(value: u64, width: Width) -> Result<(), UserError> {
    value_fits(value, width).map_err(|wider| {
        wider.hint(format!(
            "use --width {} or a smaller value",
            needed_width(value).bits()
        ))
    })
}

/// As [`check_value_fits`], for an I/O port: its widest access is 32 bits, so a value
/// wider than that is never mended with `--width`.
pub(crate) fn check_port_value_fits(value: u64, width: Width) -> Result<(), UserError> {
    value_fits(value, width).map_err(|wider| {
        let needed = needed_width(value);
        if needed.bits() <= 32 {
            wider.hint(format!("use --width {} or a smaller value", needed.bits()))
        } else {
            wider.hint(
                "an I/O port access is at most 32 bits (--width 8, 16 or 32): give a value up to 0xffffffff, or write the rest to the next port",
            )
        }
    })
}

/// The narrowest width `value` fits.
fn needed_width(value: u64) -> Width {
    Width::ALL
        .into_iter()
        .find(|w| value <= w.max_value())
        .unwrap_or(Width::W64)
}

/// The error (without a hint) for a value wider than `width`.
fn value_fits(value: u64, width: Width) -> Result<(), UserError> {
    if value <= width.max_value() {
        return Ok(());
    }
    Err(usage(format!(
        "value {value:#x} does not fit in {} bits (at most {:#x})",
        width.bits(),
        width.max_value()
    )))
}

/// The bytes a store of `value` with `width` puts in memory (this machine's byte order).
pub(crate) fn encode_native(value: u64, width: Width) -> Vec<u8> {
    match width {
        Width::W8 => vec![value as u8],
        Width::W16 => (value as u16).to_ne_bytes().to_vec(),
        Width::W32 => (value as u32).to_ne_bytes().to_vec(),
        Width::W64 => value.to_ne_bytes().to_vec(),
    }
}

/// The value a load of `bytes.len()` bytes (1, 2, 4 or 8) reads (this machine's byte order).
pub(crate) fn decode_native(bytes: &[u8]) -> u64 {
    match bytes.len() {
        1 => u64::from(bytes[0]),
        2 => u64::from(u16::from_ne_bytes([bytes[0], bytes[1]])),
        4 => u64::from(u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        _ => {
            let mut word = [0u8; 8];
            let n = bytes.len().min(8);
            word[..n].copy_from_slice(&bytes[..n]);
            u64::from_ne_bytes(word)
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitKind;
    #[test]
    fn parses_widths_as_numbers_and_busybox_letters() {
        assert_eq!(Width::parse("8").unwrap(), Width::W8);
        assert_eq!(Width::parse("16").unwrap(), Width::W16);
        assert_eq!(Width::parse("32").unwrap(), Width::W32);
        assert_eq!(Width::parse("64").unwrap(), Width::W64);
        assert_eq!(Width::parse("b").unwrap(), Width::W8);
        assert_eq!(Width::parse("H").unwrap(), Width::W16);
        assert_eq!(Width::parse("w").unwrap(), Width::W32);
        assert_eq!(Width::parse("l").unwrap(), Width::W64);
        for bad in ["", "7", "12", "128", "x", "0x20"] {
            let err = Width::parse(bad).unwrap_err();
            assert_eq!(err.kind, ExitKind::Usage);
            assert!(err.to_string().contains("bad width"), "{err}");
        }
        assert_eq!(Width::W16.hex(0xab), "0x00ab");
        assert_eq!(Width::W64.max_value(), u64::MAX);
        assert_eq!(Width::W8.max_value(), 0xff);
    }

    #[test]
    fn refuses_misaligned_accesses_and_oversized_values() {
        assert!(check_alignment(PhysAddr(0x1001), Width::W8).is_ok());
        assert!(check_alignment(PhysAddr(0x1002), Width::W16).is_ok());
        assert!(check_alignment(PhysAddr(0x1004), Width::W32).is_ok());
        assert!(check_alignment(PhysAddr(0x1008), Width::W64).is_ok());
        let err = check_alignment(PhysAddr(0x1004), Width::W64).unwrap_err();
        assert_eq!(err.kind, ExitKind::Usage);
        assert!(err.to_string().contains("use 0x1000 or 0x1008"), "{err}");
        assert!(check_alignment(PhysAddr(0xfff), Width::W16).is_err());

        assert!(check_value_fits(0xff, Width::W8).is_ok());
        assert!(check_value_fits(u64::MAX, Width::W64).is_ok());
        let err = check_value_fits(0x100, Width::W8).unwrap_err();
        assert!(err.to_string().contains("--width 16"), "{err}");
        assert!(check_value_fits(0x1_0000_0000, Width::W32)
            .unwrap_err()
            .to_string()
            .contains("--width 64"));
        // a port has no 64-bit access: never suggested for one
        let port = check_port_value_fits(0x1_0000_0000, Width::W32).unwrap_err();
        assert!(
            port.to_string().contains("does not fit in 32 bits"),
            "{port}"
        );
        assert!(!port.to_string().contains("--width 64"), "{port}");
        assert!(port.to_string().contains("at most 32 bits"), "{port}");
        let small = check_port_value_fits(0x100, Width::W8).unwrap_err();
        assert!(small.to_string().contains("use --width 16"), "{small}");
        assert!(check_port_value_fits(0xffff_ffff, Width::W32).is_ok());
    }
}
