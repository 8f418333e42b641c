// SPDX-License-Identifier: MIT OR Apache-2.0
//! `--symbol NAME[+OFF]`: a variable of the kernel image named as /proc/kallsyms names it,
//! resolved to its physical address by the kernel's own layout read at run time: the
//! symbol's address minus the image's start (`_text`; `_stext` on arm64), plus the start of
//! "Kernel code" in /proc/iomem, so KASLR does not matter ([`locate`]); and the inverse, the
//! symbol and section of the image at a physical address ([`nearest`]). The decoding is
//! [`crate::kernel::kallsyms`]'s; here its errors become one line and a hint each: addresses
//! hidden (not root, kptr_restrict), no data symbols (no CONFIG_KALLSYMS_ALL), a module's
//! symbol, an unknown name (with close ones), a name several symbols share.

use std::fmt;

use anyhow::Result;

use crate::error::{not_found, permission, unsupported, usage, UserError};
use crate::kernel::addr::{parse_u64, PhysAddr};
use crate::kernel::kallsyms::{ImageLayout, ImageSection, Kallsyms, SymbolError};
use crate::physmem::width::Width;
use crate::proc::arch::kernel_code_anchor;
use crate::proc::iomem::read_shown_map;
use crate::proc::kallsyms::{kptr_restrict, read_kallsyms};

/// A kernel symbol as the command line names it: `NAME[+OFF]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolRef {
    pub name: String,
    /// Bytes from the symbol (hex with 0x, or decimal on the command line).
    pub offset: u64,
}

impl SymbolRef {
    /// Parses `NAME[+OFF]`: a name as kallsyms prints it (no blank), and an offset in hex
    /// with 0x or decimal.
    pub fn parse(text: &str) -> Result<SymbolRef, UserError> {
        let (name, offset) = match text.split_once('+') {
            Some((name, offset)) => {
                let offset = parse_u64(offset).map_err(|err| {
                    usage(format!(
                        "bad offset in --symbol '{}': {err}",
                        text.escape_debug()
                    ))
                    .hint("NAME+OFF, the offset in hex with 0x or decimal: e.g. jiffies+0x4")
                })?;
                (name, offset)
            }
            None => (text, 0),
        };
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(usage(format!(
                "bad symbol name in --symbol '{}'",
                text.escape_debug()
            ))
            .hint("a name as /proc/kallsyms lists it, e.g. --symbol jiffies or --symbol linux_banner+0x10"));
        }
        Ok(SymbolRef {
            name: name.to_string(),
            offset,
        })
    }
}

impl fmt::Display for SymbolRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (+{:#x})", self.name, self.offset)
    }
}

/// A kernel symbol placed in physical memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolLocation {
    pub symbol: SymbolRef,
    /// nm's type letter (D data, B bss, R read-only data, T text, ...).
    pub kind: char,
    /// The kernel virtual address of NAME+OFF (the symbol's own plus the offset).
    pub vaddr: u64,
    pub paddr: PhysAddr,
    /// Bytes from the symbol to the next symbol of the image, where one follows.
    pub size: Option<u64>,
    pub section: ImageSection,
    /// The /proc/iomem "Kernel …" range holding it (none for init memory, freed after boot).
    pub region: Option<String>,
}

impl SymbolLocation {
    /// Bytes from NAME+OFF to the next symbol.
    pub fn remaining(&self) -> Option<u64> {
        self.size
            .map(|size| size.saturating_sub(self.symbol.offset))
    }

    /// The access width that fits: the widest of 64, 32, 16, 8 bits no longer than what
    /// is left of the symbol and aligned at its address (64 where the size is unknown).
    pub fn natural_width(&self) -> Width {
        let left = self.remaining().unwrap_or(u64::MAX);
        [Width::W64, Width::W32, Width::W16]
            .into_iter()
            .find(|w| {
                let bytes = w.bytes() as u64;
                bytes <= left && self.paddr.0 % bytes == 0
            })
            .unwrap_or(Width::W8)
    }

    /// `jiffies (+0x0) at kernel 0xffffffff82205d00: D in data (Kernel data), 8 bytes to
    /// the next symbol`.
    pub fn describe(&self) -> String {
        let size = self.size.map_or_else(String::new, |size| {
            format!(", {size} bytes to the next symbol")
        });
        let region = self
            .region
            .as_deref()
            .map_or_else(String::new, |r| format!(" ({r})"));
        format!(
            "{} at kernel {:#x}: {} in {}{region}{size}",
            self.symbol,
            self.vaddr,
            self.kind,
            self.section.describe()
        )
    }
}

/// The symbol and section of the kernel image at a physical address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearSymbol {
    /// The kernel virtual address of the physical address.
    pub vaddr: u64,
    pub section: ImageSection,
    /// The /proc/iomem "Kernel …" range holding it.
    pub region: Option<String>,
    /// The symbol at or before the address and the offset from it; `None` with `unnamed`
    /// saying why (a data address on a kernel without CONFIG_KALLSYMS_ALL).
    pub symbol: Option<SymbolRef>,
    /// The type letter and size of `symbol`.
    pub kind: Option<char>,
    pub size: Option<u64>,
    pub unnamed: Option<String>,
}

/// The table and the layout, read once.
fn with_layout<T>(use_it: impl FnOnce(&Kallsyms, &ImageLayout) -> Result<T>) -> Result<T> {
    let iomem = read_shown_map("--symbol")?;
    let text = read_kallsyms()?;
    let table = Kallsyms::parse(&text).map_err(|err| {
        unsupported(format!(
            "/proc/kallsyms cannot be read as the kernel writes it: {err}"
        ))
        .hint("give the physical address instead of --symbol")
    })?;
    let layout = table
        .layout(&iomem, kernel_code_anchor())
        .map_err(explain)?;
    use_it(&table, &layout)
}

/// Resolves `NAME[+OFF]` to its physical address in the kernel image.
pub fn locate(symbol: &SymbolRef) -> Result<SymbolLocation> {
    with_layout(|table, layout| {
        let placed = table
            .locate(layout, &symbol.name, symbol.offset)
            .map_err(explain)?;
        Ok(SymbolLocation {
            symbol: symbol.clone(),
            kind: placed.kind,
            vaddr: placed.vaddr,
            paddr: PhysAddr(placed.paddr),
            size: placed.size,
            section: placed.section,
            region: placed.region,
        })
    })
}

/// The symbol and section of the kernel image at `paddr`; `None` when the address is not
/// in the image.
pub fn nearest(paddr: PhysAddr) -> Result<Option<NearSymbol>> {
    with_layout(|table, layout| {
        Ok(table.nearest(layout, paddr.0).map(|near| NearSymbol {
            vaddr: near.vaddr,
            section: near.section,
            region: near.region,
            kind: near.symbol.as_ref().map(|s| s.kind),
            size: near.symbol.as_ref().and_then(|s| s.size),
            symbol: near.symbol.map(|s| SymbolRef {
                name: s.name,
                offset: s.offset,
            }),
            unnamed: near.unnamed.map(str::to_string),
        }))
    })
}

/// The one line and hint for each way a symbol cannot be placed.
fn explain(err: SymbolError) -> anyhow::Error {
    let message = err.to_string();
    let user = match &err {
        SymbolError::Hidden => hidden(message),
        SymbolError::NoAnchor(_) | SymbolError::NoKernelCode => unsupported(message)
            .hint("physdemo places the image by where /proc/iomem puts \"Kernel code\"; give the physical address instead"),
        SymbolError::Unknown {
            data_listed: false, ..
        } => unsupported(message).hint(
            "only functions are listed; a distribution kernel has CONFIG_KALLSYMS_ALL=y, or give the physical address",
        ),
        SymbolError::Unknown { name, .. } => {
            not_found(message).hint(format!("`grep -w {name} /proc/kallsyms` lists what the kernel knows"))
        }
        SymbolError::InModule { .. } => not_found(message)
            .hint("only the kernel image (vmlinux) has a fixed place in physical memory"),
        SymbolError::Ambiguous { .. } => {
            usage(message).hint("static symbols can share a name: give one of these physical addresses instead")
        }
        SymbolError::OutsideImage { .. } => {
            not_found(message).hint("only symbols of the kernel image have a place in physical memory")
        }
        SymbolError::Overflow { .. } => usage(message).hint("give a smaller offset"),
    };
    user.into()
}

/// The fix when every address reads 0: root, or kptr_restrict below 2.
fn hidden(message: String) -> UserError {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let restrict = kptr_restrict();
    let hint = match (root, restrict) {
        (true, Some(level)) => format!(
            "kernel.kptr_restrict is {level}, which hides them even from root: `sysctl kernel.kptr_restrict=0`"
        ),
        (true, None) => "kernel.kptr_restrict hides them: `sysctl kernel.kptr_restrict=0`".to_string(),
        (false, _) => "run as root (and, if root sees zeros too, `sysctl kernel.kptr_restrict=0`)".to_string(),
    };
    permission(format!(
        "{message} (kptr_restrict, or a reader without CAP_SYSLOG)"
    ))
    .hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_take_an_offset_in_hex_or_decimal() {
        assert_eq!(
            SymbolRef::parse("jiffies").unwrap(),
            SymbolRef {
                name: "jiffies".into(),
                offset: 0
            }
        );
        assert_eq!(SymbolRef::parse("linux_banner+0x10").unwrap().offset, 16);
        assert_eq!(SymbolRef::parse("linux_banner+16").unwrap().offset, 16);
        assert_eq!(SymbolRef::parse("a.b+0").unwrap().name, "a.b");
        for bad in [
            "",
            "+4",
            "jiffies+",
            "jiffies+zz",
            "jiffies+-1",
            "a b",
            "x\n",
        ] {
            let err = SymbolRef::parse(bad).unwrap_err();
            assert_eq!(err.kind, crate::error::ExitKind::Usage, "{bad:?}");
        }
        assert_eq!(
            SymbolRef::parse("jiffies+0x4").unwrap().to_string(),
            "jiffies (+0x4)"
        );
    }

    fn at(paddr: u64, offset: u64, size: Option<u64>) -> SymbolLocation {
        SymbolLocation {
            symbol: SymbolRef {
                name: "x".into(),
                offset,
            },
            kind: 'D',
            vaddr: 0xffff_ffff_8200_0000 + offset,
            paddr: PhysAddr(paddr),
            size,
            section: ImageSection::Data,
            region: Some("Kernel data".into()),
        }
    }

    #[test]
    fn the_natural_width_fits_the_symbol_and_its_alignment() {
        assert_eq!(at(0x2000, 0, Some(8)).natural_width(), Width::W64);
        assert_eq!(at(0x2000, 0, Some(0x98)).natural_width(), Width::W64);
        assert_eq!(at(0x2000, 0, None).natural_width(), Width::W64);
        assert_eq!(at(0x2004, 4, Some(8)).natural_width(), Width::W32);
        assert_eq!(at(0x2000, 0, Some(2)).natural_width(), Width::W16);
        assert_eq!(at(0x2001, 1, Some(8)).natural_width(), Width::W8);
        assert_eq!(at(0x2000, 8, Some(8)).natural_width(), Width::W8);
        assert_eq!(
            at(0x2000, 0, Some(8)).describe(),
            "x (+0x0) at kernel 0xffffffff82000000: D in data (Kernel data), 8 bytes to the next symbol"
        );
    }
}
