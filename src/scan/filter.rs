// SPDX-License-Identifier: MIT OR Apache-2.0
//! What a scan selects: `--mapping` (a name, an address, a range) and `--flag` (kpageflags
//! names and pagemap bits, negated with `~`). Pure, tested on literals.

use crate::kernel::addr::PageSize;
use crate::kernel::kpageflags::{KpageFlags, KPAGEFLAG_NAMES};
use crate::kernel::pagemap::PagemapEntry;

/// A `--mapping` filter: a name (`[heap]`, a path or part of one) or an address range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingFilter {
    Name(String),
    /// The mapping containing this address, whole.
    Address(u64),
    /// `[start, end)`, clipped to each mapping it overlaps.
    Range(u64, u64),
}

impl MappingFilter {
    pub fn parse(spec: &str) -> Result<Self, String> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err("empty --mapping; give [heap], a path, an address or START-END".into());
        }
        let numeric = |text: &str| crate::kernel::addr::parse_u64(text).map_err(|e| e.to_string());
        if let Some((start, end)) = spec.split_once('-') {
            if let Some((start, end)) = parse_range(spec, start.trim(), end.trim())? {
                if start >= end {
                    return Err(format!(
                        "range {spec} is empty: the start must be below the end"
                    ));
                }
                return Ok(MappingFilter::Range(start, end));
            }
        }
        if spec.starts_with("0x") {
            return numeric(spec).map(MappingFilter::Address);
        }
        Ok(MappingFilter::Name(spec.to_string()))
    }

    /// The part of the mapping `[start, end)` named `name` this filter selects.
    pub(crate) fn select(&self, start: u64, end: u64, name: &str) -> Option<(u64, u64)> {
        match self {
            MappingFilter::Name(want) => {
                (name == want || name.contains(want.as_str())).then_some((start, end))
            }
            MappingFilter::Address(addr) => (start <= *addr && *addr < end).then_some((start, end)),
            MappingFilter::Range(lo, hi) => {
                let (from, to) = (start.max(*lo), end.min(*hi));
                (from < to).then_some((from, to))
            }
        }
    }
}

/// A `START-END` range, or `None` when `spec` is not one (a name with a `-` in it): both
/// ends in hex, either both with `0x` or both without, as /proc/PID/maps and `maps` print
/// them (`00400000-00401000`, `556e7edc8000-556e7edca000`). Ends written differently are
/// refused rather than guessed at.
fn parse_range(spec: &str, start: &str, end: &str) -> Result<Option<(u64, u64)>, String> {
    let prefixed = |text: &str| text.starts_with("0x") || text.starts_with("0X");
    let bare_hex = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit());
    match (prefixed(start), prefixed(end)) {
        (true, true) => {
            let numeric =
                |text: &str| crate::kernel::addr::parse_u64(text).map_err(|e| e.to_string());
            Ok(Some((numeric(start)?, numeric(end)?)))
        }
        (false, false) if bare_hex(start) && bare_hex(end) => {
            let hex = |text: &str| {
                u64::from_str_radix(text, 16)
                    .map_err(|_| format!("{text} in range {spec} does not fit in 64 bits"))
            };
            Ok(Some((hex(start)?, hex(end)?)))
        }
        (true, false) | (false, true) => Err(format!(
            "range {spec} writes its ends differently: give both in hex, both with 0x or both without (as /proc/PID/maps prints them)"
        )),
        (false, false) => Ok(None),
    }
}

/// The range of a mapping that any of `filters` selects (all of it when there are none),
/// widened to whole pages.
pub(crate) fn select_range(
    filters: &[MappingFilter],
    start: u64,
    end: u64,
    name: &str,
    page: PageSize,
) -> Option<(u64, u64)> {
    let (from, to) = if filters.is_empty() {
        (start, end)
    } else {
        filters.iter().find_map(|f| f.select(start, end, name))?
    };
    let to = page
        .page_base(to.saturating_add(page.bytes() - 1))
        .max(to.min(end));
    Some((page.page_base(from), to.min(end)))
}

/// A pagemap bit a `--flag` can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PagemapBit {
    Present,
    Swapped,
    File,
    Exclusive,
    SoftDirty,
    UffdWp,
    Guard,
}

const PAGEMAP_FLAG_NAMES: &[(&str, PagemapBit)] = &[
    ("present", PagemapBit::Present),
    ("swapped", PagemapBit::Swapped),
    ("file", PagemapBit::File),
    ("exclusive", PagemapBit::Exclusive),
    ("soft-dirty", PagemapBit::SoftDirty),
    ("uffd-wp", PagemapBit::UffdWp),
    ("guard", PagemapBit::Guard),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlagKind {
    Kpage(u32),
    Pagemap(PagemapBit),
}

/// One `--flag` term: a kpageflags or pagemap flag, possibly negated with `~` or `!`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FlagTerm {
    kind: FlagKind,
    negate: bool,
}

/// All `--flag` terms; a page must satisfy every one. Absent pages never match a filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagFilter {
    terms: Vec<FlagTerm>,
}

impl FlagFilter {
    pub fn parse(names: &[String]) -> Result<Self, String> {
        let mut terms = Vec::new();
        for raw in names.iter().flat_map(|n| n.split(',')) {
            let raw = raw.trim();
            let (negate, name) = match raw.strip_prefix(['~', '!']) {
                Some(rest) => (true, rest),
                None => (false, raw),
            };
            let name = match name {
                "anon" => "anonymous",
                "zero" => "zero_page",
                "idle" => "idle_page",
                "shared-anon" | "file/shared-anon" => "file",
                other => other,
            };
            let kind = if let Some((_, bit)) = PAGEMAP_FLAG_NAMES.iter().find(|(n, _)| *n == name) {
                FlagKind::Pagemap(*bit)
            } else if let Some((bit, _)) = KPAGEFLAG_NAMES.iter().find(|(_, n)| *n == name) {
                FlagKind::Kpage(*bit)
            } else {
                let known: Vec<&str> = PAGEMAP_FLAG_NAMES
                    .iter()
                    .map(|(n, _)| *n)
                    .chain(KPAGEFLAG_NAMES.iter().map(|(_, n)| *n))
                    .collect();
                return Err(format!(
                    "unknown flag '{name}'; known: {} (prefix ~ to negate)",
                    known.join(", ")
                ));
            };
            terms.push(FlagTerm { kind, negate });
        }
        Ok(FlagFilter { terms })
    }

    /// Whether testing this filter needs /proc/kpageflags.
    pub(crate) fn needs_frame_flags(&self) -> bool {
        self.terms
            .iter()
            .any(|t| matches!(t.kind, FlagKind::Kpage(_)))
    }

    /// Whether a present or swapped page passes; `flags` is 0 when not read.
    pub(crate) fn matches(&self, entry: PagemapEntry, flags: KpageFlags) -> bool {
        if !entry.present() && !entry.swapped() {
            return self.terms.is_empty();
        }
        self.terms.iter().all(|term| {
            let set = match term.kind {
                FlagKind::Kpage(bit) => flags.has(bit),
                FlagKind::Pagemap(bit) => match bit {
                    PagemapBit::Present => entry.present(),
                    PagemapBit::Swapped => entry.swapped(),
                    PagemapBit::File => entry.file_or_shared_anon(),
                    PagemapBit::Exclusive => entry.exclusive(),
                    PagemapBit::SoftDirty => entry.soft_dirty(),
                    PagemapBit::UffdWp => entry.uffd_wp(),
                    PagemapBit::Guard => entry.guard_region(),
                },
            };
            set != term.negate
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = 1 << 63;
    const SWAP: u64 = 1 << 62;
    const EXCL: u64 = 1 << 56;

    fn four_k() -> PageSize {
        PageSize::new(4096).unwrap()
    }

    #[test]
    fn parses_mapping_filters() {
        assert_eq!(
            MappingFilter::parse("[heap]"),
            Ok(MappingFilter::Name("[heap]".into()))
        );
        assert_eq!(
            MappingFilter::parse("0x1000-0x3000"),
            Ok(MappingFilter::Range(0x1000, 0x3000))
        );
        assert_eq!(
            MappingFilter::parse("0x7f00"),
            Ok(MappingFilter::Address(0x7f00))
        );
        assert_eq!(
            MappingFilter::parse("/usr/lib/x86_64-linux-gnu/libc.so.6"),
            Ok(MappingFilter::Name(
                "/usr/lib/x86_64-linux-gnu/libc.so.6".into()
            ))
        );
        assert!(MappingFilter::parse("0x3000-0x1000").is_err());
        // as /proc/PID/maps and maps print ranges: hex without 0x
        assert_eq!(
            MappingFilter::parse("00400000-00401000"),
            Ok(MappingFilter::Range(0x40_0000, 0x40_1000))
        );
        assert_eq!(
            MappingFilter::parse("556e7edc8000-556e7edca000"),
            Ok(MappingFilter::Range(0x556e_7edc_8000, 0x556e_7edc_a000))
        );
        assert_eq!(
            MappingFilter::parse("0X1000-0x2000"),
            Ok(MappingFilter::Range(0x1000, 0x2000))
        );
        let mixed = MappingFilter::parse("0x1000-2000").unwrap_err();
        assert!(mixed.contains("writes its ends differently"), "{mixed}");
        assert!(MappingFilter::parse("1000-0x2000").is_err());
        assert!(MappingFilter::parse("10000000000000000-20000000000000000").is_err());
        // a name with a dash stays a name
        assert_eq!(
            MappingFilter::parse("ld-linux-x86-64.so.2"),
            Ok(MappingFilter::Name("ld-linux-x86-64.so.2".into()))
        );
        assert!(MappingFilter::parse("").is_err());
    }

    #[test]
    fn selects_and_clips_mappings() {
        let page = four_k();
        let heap = [MappingFilter::Name("[heap]".into())];
        assert_eq!(
            select_range(&heap, 0x1000, 0x9000, "[heap]", page),
            Some((0x1000, 0x9000))
        );
        assert_eq!(select_range(&heap, 0x1000, 0x9000, "[stack]", page), None);
        let libc = [MappingFilter::Name("libc".into())];
        assert!(select_range(&libc, 0, 0x1000, "/usr/lib/libc.so.6", page).is_some());
        let range = [MappingFilter::Range(0x2800, 0x4001)];
        assert_eq!(
            select_range(&range, 0x1000, 0x9000, "x", page),
            Some((0x2000, 0x5000))
        );
        assert_eq!(select_range(&range, 0x5000, 0x9000, "x", page), None);
        let addr = [MappingFilter::Address(0x8fff)];
        assert_eq!(
            select_range(&addr, 0x1000, 0x9000, "x", page),
            Some((0x1000, 0x9000))
        );
        assert_eq!(
            select_range(&[], 0x1000, 0x9000, "x", page),
            Some((0x1000, 0x9000))
        );
    }

    #[test]
    fn flag_filters_combine_kpageflags_and_pagemap_bits() {
        let thp = KpageFlags(1 << KpageFlags::THP | 1 << KpageFlags::ANON);
        let plain = KpageFlags(1 << KpageFlags::ANON);
        let filter = FlagFilter::parse(&["thp".into()]).unwrap();
        assert!(filter.needs_frame_flags());
        assert!(filter.matches(PagemapEntry(P | 5), thp));
        assert!(!filter.matches(PagemapEntry(P | 5), plain));
        let swapped = FlagFilter::parse(&["swapped".into()]).unwrap();
        assert!(!swapped.needs_frame_flags());
        assert!(swapped.matches(PagemapEntry(SWAP | 1 << 5), KpageFlags(0)));
        assert!(!swapped.matches(PagemapEntry(P | 5), plain));
        let not_excl_anon = FlagFilter::parse(&["~exclusive,anon".into()]).unwrap();
        assert!(not_excl_anon.matches(PagemapEntry(P | 5), plain));
        assert!(!not_excl_anon.matches(PagemapEntry(P | EXCL | 5), plain));
        // An absent page matches only the empty filter.
        assert!(!FlagFilter::parse(&["~thp".into()])
            .unwrap()
            .matches(PagemapEntry(0), plain));
        assert!(FlagFilter::default().matches(PagemapEntry(0), plain));
        let err = FlagFilter::parse(&["bogus".into()]).unwrap_err();
        assert!(err.contains("unknown flag 'bogus'") && err.contains("ksm"));
    }
}
