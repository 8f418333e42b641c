// SPDX-License-Identifier: MIT OR Apache-2.0
//! busybox devmem's argument syntax, parsed as busybox 1.35 `miscutils/devmem.c` does:
//! ADDRESS and VALUE like `bb_strtoull(s, NULL, 0)` (C syntax: `0x` hex, leading `0` octal,
//! else decimal; the whole string must be the number); WIDTH a decimal number of bits, or one
//! letter `b h w l` (any case) for char, short, int, long; the default is
//! 8 * sizeof(int) = 32. physdemo adds two checks before anything is touched: alignment,
//! and a value that fits in WIDTH (busybox silently truncates).

use crate::commands::devmem::DevmemRequest;
use crate::error::{usage, UserError};
use crate::kernel::addr::PhysAddr;
use crate::physmem::width::{check_alignment, check_value_fits, Width};

/// `bb_strtoull(text, NULL, 0)` that succeeded: the first character must be alphanumeric
/// (so no sign, no blank), and the whole string must be one C integer literal.
pub fn parse_c_u64(text: &str) -> Option<u64> {
    if !text.chars().next()?.is_ascii_alphanumeric() {
        return None;
    }
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None if text.len() > 1 && text.starts_with('0') => (&text[1..], 8),
        None => (text, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// busybox's WIDTH: a decimal bit count (`isdigit(s[0]) || s[1]`), else one of `bhwl`.
pub fn parse_devmem_width(text: &str) -> Result<Width, UserError> {
    let bad_width =
        || usage(format!("bad width '{text}'")).hint("WIDTH is 8, 16, 32 or 64, or b, h, w, l");
    let mut chars = text.chars();
    let first = chars.next().ok_or_else(bad_width)?;
    let bits = if first.is_ascii_digit() || chars.next().is_some() {
        // xatou: plain decimal digits only
        if !text.chars().all(|c| c.is_ascii_digit()) {
            return Err(usage(format!("invalid number '{text}'"))
                .hint("WIDTH is 8, 16, 32 or 64, or b, h, w, l"));
        }
        text.parse::<u64>().map_err(|_| bad_width())?
    } else {
        let int_bits = 8 * std::mem::size_of::<libc::c_int>() as u64;
        let long_bits = 8 * std::mem::size_of::<libc::c_long>() as u64;
        match first.to_ascii_lowercase() {
            'b' => 8,
            'h' => 16,
            'w' => int_bits,
            'l' => long_bits,
            _ => 0,
        }
    };
    Width::from_bits(bits).ok_or_else(bad_width)
}

/// Parses `ADDRESS [WIDTH [VALUE]]` as busybox does, plus physdemo's value-fits check.
pub fn parse_request(
    address: &str,
    width: Option<&str>,
    value: Option<&str>,
) -> Result<DevmemRequest, UserError> {
    let c_syntax = "C syntax, as busybox devmem: 0x hex, 0 octal, or decimal";
    let addr = parse_c_u64(address)
        .map(PhysAddr)
        .ok_or_else(|| usage(format!("invalid ADDRESS '{address}'")).hint(c_syntax))?;
    let width = match width {
        Some(text) => parse_devmem_width(text)?,
        None => Width::W32,
    };
    let value = match value {
        Some(text) => Some(
            parse_c_u64(text)
                .ok_or_else(|| usage(format!("invalid VALUE '{text}'")).hint(c_syntax))?,
        ),
        None => None,
    };
    check_alignment(addr, width)?;
    if let Some(value) = value {
        check_value_fits(value, width)?;
    }
    Ok(DevmemRequest { addr, width, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers_like_bb_strtoull_base_0() {
        assert_eq!(parse_c_u64("0x1000"), Some(0x1000));
        assert_eq!(parse_c_u64("0XfE"), Some(0xfe));
        assert_eq!(parse_c_u64("4096"), Some(4096));
        assert_eq!(parse_c_u64("010"), Some(8), "leading 0 is octal");
        assert_eq!(parse_c_u64("0"), Some(0));
        assert_eq!(parse_c_u64("00"), Some(0));
        assert_eq!(parse_c_u64("0xffffffffffffffff"), Some(u64::MAX));
        for bad in [
            "",
            "-1",
            "+1",
            " 1",
            "0x",
            "0xg",
            "08",
            "1_000",
            "12abc",
            "10,",
            "0x1 ",
            "18446744073709551616",
            "0x10000000000000000",
        ] {
            assert_eq!(parse_c_u64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parses_widths_like_busybox() {
        assert_eq!(parse_devmem_width("8").unwrap(), Width::W8);
        assert_eq!(parse_devmem_width("16").unwrap(), Width::W16);
        assert_eq!(parse_devmem_width("032").unwrap(), Width::W32);
        assert_eq!(parse_devmem_width("64").unwrap(), Width::W64);
        assert_eq!(parse_devmem_width("b").unwrap(), Width::W8);
        assert_eq!(parse_devmem_width("H").unwrap(), Width::W16);
        assert_eq!(parse_devmem_width("w").unwrap(), Width::W32);
        assert_eq!(parse_devmem_width("L").unwrap(), Width::W64);
        assert!(parse_devmem_width("x")
            .unwrap_err()
            .to_string()
            .starts_with("bad width"));
        assert!(parse_devmem_width("12")
            .unwrap_err()
            .to_string()
            .starts_with("bad width"));
        // more than one character goes to xatou, as in busybox: "bb" is not a number
        assert!(parse_devmem_width("bb")
            .unwrap_err()
            .to_string()
            .starts_with("invalid number 'bb'"));
    }

    #[test]
    fn parses_whole_command_lines() {
        assert_eq!(
            parse_request("0x1000", None, None).unwrap(),
            DevmemRequest {
                addr: PhysAddr(0x1000),
                width: Width::W32,
                value: None
            }
        );
        assert_eq!(
            parse_request("4097", Some("b"), Some("0x5a")).unwrap(),
            DevmemRequest {
                addr: PhysAddr(4097),
                width: Width::W8,
                value: Some(0x5a)
            }
        );
        assert!(parse_request("0x1001", Some("32"), None).is_err());
        assert!(parse_request("0x1000", Some("8"), Some("0x100")).is_err());
        assert!(parse_request("zz", None, None).is_err());
        assert!(parse_request("0x1000", Some("8"), Some("-1")).is_err());
    }
}
