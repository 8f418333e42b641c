// SPDX-License-Identifier: MIT OR Apache-2.0
//! Addresses and frame numbers as distinct types, and the one number parser the CLI uses.
//!
//! A virtual address, a physical address and a page frame number are all `u64`s to the
//! machine, and mixing them up is the classic bug of this domain; the newtypes make the
//! compiler catch it. [`parse_u64`] accepts what a user pastes: `0x`-prefixed hex, plain
//! decimal, `_` between digits, and rejects everything else (blanks, signs, stray `_`)
//! with a message saying why.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// An address in some process's virtual address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VirtAddr(pub u64);

/// An address in the machine's physical address space (what /dev/mem offsets are).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhysAddr(pub u64);

/// A page frame number: the physical address divided by the page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pfn(pub u64);

macro_rules! hex_display {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:#x}", self.0)
            }
        }
        impl fmt::LowerHex for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::LowerHex::fmt(&self.0, f)
            }
        }
        /// In JSON, as in text: a hex string with `0x`.
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
        impl FromStr for $t {
            type Err = ParseNumberError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_u64(s).map(Self)
            }
        }
    )*};
}
hex_display!(VirtAddr, PhysAddr, Pfn);

/// A number shown as lower-case hex with `0x` (`{:#x}`), in text and in JSON: an offset, a
/// value, a size that users read in hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hex(pub u64);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A raw 64-bit word as the kernel exports it, shown with all sixteen hex digits
/// (`{:#018x}`), in text and in JSON: a pagemap entry, say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word(pub u64);

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#018x}", self.0)
    }
}

impl Serialize for Word {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The page geometry of this system: every address split uses it, none hard-codes 4096.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u64);

impl PageSize {
    /// A page size; `None` unless it is a power of two.
    pub fn new(bytes: u64) -> Option<Self> {
        bytes.is_power_of_two().then_some(PageSize(bytes))
    }

    /// The running system's base page size (sysconf(_SC_PAGESIZE)).
    pub fn of_system() -> Self {
        PageSize::new(procfs::page_size()).unwrap_or(PageSize(4096))
    }

    pub fn bytes(self) -> u64 {
        self.0
    }

    /// log2 of the page size: 12 for 4 KiB pages.
    pub fn shift(self) -> u32 {
        self.0.trailing_zeros()
    }

    /// The virtual page number holding `addr` (the index into /proc/pid/pagemap).
    pub fn page_index(self, addr: VirtAddr) -> u64 {
        addr.0 >> self.shift()
    }

    /// The offset of `addr` within its page.
    pub fn offset_in_page(self, addr: u64) -> u64 {
        addr & (self.0 - 1)
    }

    /// `addr` rounded down to its page boundary.
    pub(crate) fn page_base(self, addr: u64) -> u64 {
        addr & !(self.0 - 1)
    }

    /// The physical address of byte `offset` in frame `pfn`; `None` on overflow.
    pub fn phys_addr(self, pfn: Pfn, offset: u64) -> Option<PhysAddr> {
        pfn.0
            .checked_mul(self.0)
            .and_then(|base| base.checked_add(offset))
            .map(PhysAddr)
    }

    /// The frame holding physical address `addr`.
    pub fn pfn_of(self, addr: PhysAddr) -> Pfn {
        Pfn(addr.0 >> self.shift())
    }
}

/// Why a string is not a number we accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseNumberError {
    Empty,
    Negative,
    Overflow,
    /// Blanks or a newline around or inside the number (a pasted line, a stray space).
    Blank {
        text: String,
    },
    /// A leading `+`.
    Plus {
        text: String,
    },
    /// `_` that does not stand between two digits (`_4096`, `4096_`, `1__0`, `0x_ff`).
    Separator {
        text: String,
    },
    Invalid {
        text: String,
        radix: u32,
    },
}

impl fmt::Display for ParseNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The text is shown escaped, so a newline in it cannot split the error line.
        match self {
            ParseNumberError::Empty => f.write_str("empty number; give hex like 0x7f00 or decimal"),
            ParseNumberError::Negative => {
                f.write_str("negative numbers are not addresses or values")
            }
            ParseNumberError::Overflow => f.write_str("number does not fit in 64 bits"),
            // The callers show the text itself; these say only what is wrong with it.
            ParseNumberError::Blank { .. } => {
                f.write_str("blanks or a newline in the number; give the number alone")
            }
            ParseNumberError::Plus { .. } => f.write_str("a sign before the number; drop the +"),
            ParseNumberError::Separator { .. } => {
                f.write_str("`_` may only stand between two digits, as in 0x7fff_0000")
            }
            ParseNumberError::Invalid { text, radix: 16 } => write!(
                f,
                "'{}' is not a hex number (digits 0-9, a-f after 0x)",
                text.escape_debug()
            ),
            ParseNumberError::Invalid { text, .. } => write!(
                f,
                "'{}' is not a number; write hex with a 0x prefix (0x7f00) or plain decimal",
                text.escape_debug()
            ),
        }
    }
}

impl std::error::Error for ParseNumberError {}

/// Parses `0x`-prefixed hex (also `0X`), or decimal; `_` may stand between two digits.
///
/// The whole string must be the number: no blanks or newline around it, no sign. A leading
/// zero does not make it octal (`010` is ten), unlike the C syntax of `physdemo devmem`.
pub fn parse_u64(text: &str) -> Result<u64, ParseNumberError> {
    if text.is_empty() {
        return Err(ParseNumberError::Empty);
    }
    let owned = || text.to_string();
    if text.starts_with('-') || text.trim_start().starts_with('-') {
        return Err(ParseNumberError::Negative);
    }
    if text.chars().any(char::is_whitespace) {
        return Err(ParseNumberError::Blank { text: owned() });
    }
    if text.starts_with('+') {
        return Err(ParseNumberError::Plus { text: owned() });
    }
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    let bytes = digits.as_bytes();
    let misplaced = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'_'
            && !(i > 0
                && bytes[i - 1].is_ascii_alphanumeric()
                && bytes.get(i + 1).is_some_and(u8::is_ascii_alphanumeric))
    });
    if misplaced {
        return Err(ParseNumberError::Separator { text: owned() });
    }
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(ParseNumberError::Invalid {
            text: owned(),
            radix,
        });
    }
    u64::from_str_radix(&digits, radix).map_err(|err| match err.kind() {
        std::num::IntErrorKind::PosOverflow => ParseNumberError::Overflow,
        _ => ParseNumberError::Invalid {
            text: owned(),
            radix,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_and_decimal() {
        assert_eq!(parse_u64("0x7ffd1234"), Ok(0x7ffd_1234));
        assert_eq!(parse_u64("0X10"), Ok(16));
        assert_eq!(parse_u64("4096"), Ok(4096));
        assert_eq!(parse_u64("0xffff_0000"), Ok(0xffff_0000));
        assert_eq!(parse_u64("1_0_2_4"), Ok(1024));
        assert_eq!(parse_u64("010"), Ok(10), "a leading zero is not octal here");
        assert_eq!(parse_u64("0xffffffffffffffff"), Ok(u64::MAX));
        assert_eq!(parse_u64("18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn rejects_what_is_not_a_u64() {
        assert_eq!(parse_u64(""), Err(ParseNumberError::Empty));
        assert_eq!(parse_u64("-1"), Err(ParseNumberError::Negative));
        assert_eq!(
            parse_u64("0x1_0000_0000_0000_0000"),
            Err(ParseNumberError::Overflow)
        );
        assert_eq!(
            parse_u64("18446744073709551616"),
            Err(ParseNumberError::Overflow)
        );
        assert!(matches!(
            parse_u64("0x"),
            Err(ParseNumberError::Invalid { radix: 16, .. })
        ));
        assert!(matches!(
            parse_u64("0xg1"),
            Err(ParseNumberError::Invalid { radix: 16, .. })
        ));
        assert!(matches!(
            parse_u64("7f00"),
            Err(ParseNumberError::Invalid { radix: 10, .. })
        ));
        assert!(matches!(
            parse_u64("0x+5"),
            Err(ParseNumberError::Invalid { .. })
        ));
        assert!(matches!(
            parse_u64("1.5"),
            Err(ParseNumberError::Invalid { .. })
        ));
    }

    #[test]
    fn refuses_what_only_looks_like_a_number() {
        for text in [
            "_4096", "4096_", "1__0_2_4", "0x_ffff", "0xffff_", "0x1000_g",
        ] {
            let err = parse_u64(text).unwrap_err();
            assert!(
                matches!(err, ParseNumberError::Separator { .. })
                    || matches!(err, ParseNumberError::Invalid { .. }),
                "{text}: {err:?}"
            );
        }
        assert!(matches!(
            parse_u64("1__0_2_4"),
            Err(ParseNumberError::Separator { .. })
        ));
        for text in [" 4096", "4096 ", "4096\n", "40 96", "\t0x10"] {
            assert_eq!(
                parse_u64(text),
                Err(ParseNumberError::Blank { text: text.into() }),
                "{text:?}"
            );
        }
        assert_eq!(
            parse_u64("+4096"),
            Err(ParseNumberError::Plus {
                text: "+4096".into()
            })
        );
        assert_eq!(parse_u64(" -4096"), Err(ParseNumberError::Negative));
        // the message is one line, and control characters in the text are shown escaped
        let shown = parse_u64("4096\n\n").unwrap_err().to_string();
        assert_eq!(shown.lines().count(), 1, "{shown}");
        let shown = parse_u64("40\u{1b}[2J").unwrap_err().to_string();
        assert!(shown.contains("'40\\u{1b}[2J'"), "{shown}");
    }

    #[test]
    fn page_arithmetic_uses_the_given_size() {
        let four_k = PageSize::new(4096).unwrap();
        assert_eq!(four_k.shift(), 12);
        assert_eq!(
            four_k.page_index(VirtAddr(0x7f12_3456_7040)),
            0x0007_f123_4567
        );
        assert_eq!(four_k.offset_in_page(0x7f12_3456_7040), 0x40);
        assert_eq!(
            four_k.phys_addr(Pfn(0x1234), 0x40),
            Some(PhysAddr(0x123_4040))
        );
        assert_eq!(four_k.pfn_of(PhysAddr(0x123_4fff)), Pfn(0x1234));
        let sixteen_k = PageSize::new(16384).unwrap();
        assert_eq!(sixteen_k.phys_addr(Pfn(2), 5), Some(PhysAddr(32773)));
        assert_eq!(sixteen_k.page_base(0x7fff), 0x4000);
        assert_eq!(four_k.phys_addr(Pfn(u64::MAX), 0), None);
        assert_eq!(PageSize::new(3000), None);
    }
}
