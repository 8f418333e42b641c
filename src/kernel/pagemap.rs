// SPDX-License-Identifier: MIT OR Apache-2.0
//! Decoding `/proc/<pid>/pagemap` entries, and reading them in large batches.
//!
//! Bit layout from the kernel's `Documentation/admin-guide/mm/pagemap.rst`:
//!
//! | bits  | meaning                                                        |
//! |-------|----------------------------------------------------------------|
//! | 0-54  | page frame number (PFN) if present                             |
//! | 0-4   | swap type if swapped                                           |
//! | 5-54  | swap offset if swapped                                         |
//! | 55    | PTE is soft-dirty                                              |
//! | 56    | page exclusively mapped (since 4.2)                            |
//! | 57    | PTE is uffd-wp write-protected (since 5.13)                    |
//! | 58    | PTE is a guard region (since 6.15)                             |
//! | 59-60 | zero                                                           |
//! | 61    | page is a file page or shared anonymous (since 3.5)            |
//! | 62    | page swapped                                                   |
//! | 63    | page present                                                   |
//!
//! Since Linux 4.2 a reader without CAP_SYS_ADMIN sees the PFN field as zero. The procfs
//!
//! Since Linux 4.2 a reader without CAP_SYS_ADMIN sees the PFN field as zero. The procfs
//! crate's decoder lacks bits 57 and 58; this module decodes all documented bits from a plain
//! `u64` (the batched reads are [`crate::proc::pagemap`]'s).

use serde::Serialize;

use crate::kernel::addr::{Hex, Pfn, Word};

/// One 64-bit pagemap entry, decoded on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PagemapEntry(pub u64);

const PFN_MASK: u64 = (1 << 55) - 1;
const SWAP_TYPE_BITS: u32 = 5;

impl PagemapEntry {
    fn bit(self, n: u32) -> bool {
        self.0 & (1 << n) != 0
    }
    /// Bit 63: the page is in RAM.
    pub fn present(self) -> bool {
        self.bit(63)
    }
    /// Bit 62: the page is in swap.
    pub fn swapped(self) -> bool {
        self.bit(62)
    }
    /// Bit 61: a file page or shared anonymous page.
    pub(crate) fn file_or_shared_anon(self) -> bool {
        self.bit(61)
    }
    /// Bit 58: the PTE is a guard region (MADV_GUARD_INSTALL).
    pub(crate) fn guard_region(self) -> bool {
        self.bit(58)
    }
    /// Bit 57: the PTE is write-protected by userfaultfd.
    pub(crate) fn uffd_wp(self) -> bool {
        self.bit(57)
    }
    /// Bit 56: the page is mapped by this process only.
    pub(crate) fn exclusive(self) -> bool {
        self.bit(56)
    }
    /// Bit 55: the PTE is soft-dirty (written since the last clear_refs).
    pub(crate) fn soft_dirty(self) -> bool {
        self.bit(55)
    }
    /// The raw PFN field (bits 0-54) when present, else `None`. Zero means "hidden".
    pub(crate) fn raw_pfn(self) -> Option<Pfn> {
        (self.present() && !self.swapped()).then_some(Pfn(self.0 & PFN_MASK))
    }
    /// The frame, when the page is present and the kernel showed us the PFN.
    pub fn pfn(self) -> Option<Pfn> {
        self.raw_pfn().filter(|pfn| pfn.0 != 0)
    }
    /// Present but the PFN reads as zero: the reader lacks CAP_SYS_ADMIN.
    pub(crate) fn pfn_hidden(self) -> bool {
        self.raw_pfn() == Some(Pfn(0))
    }
    /// Swap type (bits 0-4) when swapped.
    pub(crate) fn swap_type(self) -> Option<u64> {
        self.swapped()
            .then_some(self.0 & ((1 << SWAP_TYPE_BITS) - 1))
    }
    /// Swap offset (bits 5-54) when swapped.
    pub(crate) fn swap_offset(self) -> Option<u64> {
        self.swapped()
            .then_some((self.0 & PFN_MASK) >> SWAP_TYPE_BITS)
    }
    /// Every set flag bit by its documented name, for display.
    pub fn flag_names(self) -> Vec<&'static str> {
        [
            (self.present(), "present"),
            (self.swapped(), "swapped"),
            (self.file_or_shared_anon(), "file/shared-anon"),
            (self.exclusive(), "exclusive"),
            (self.soft_dirty(), "soft-dirty"),
            (self.uffd_wp(), "uffd-wp"),
            (self.guard_region(), "guard"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect()
    }
}

/// The decoded entry as `--json` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PagemapJson {
    pub(crate) raw: Word,
    pub(crate) present: bool,
    pub(crate) swapped: bool,
    pub(crate) pfn: Option<Pfn>,
    pub(crate) pfn_hidden: bool,
    pub(crate) swap_type: Option<u64>,
    pub(crate) swap_offset: Option<Hex>,
    pub(crate) soft_dirty: bool,
    pub(crate) exclusive: bool,
    pub(crate) uffd_wp: bool,
    pub(crate) guard_region: bool,
    pub(crate) file_or_shared_anon: bool,
}

impl From<PagemapEntry> for PagemapJson {
    fn from(entry: PagemapEntry) -> Self {
        PagemapJson {
            raw: Word(entry.0),
            present: entry.present(),
            swapped: entry.swapped(),
            pfn: entry.pfn(),
            pfn_hidden: entry.pfn_hidden(),
            swap_type: entry.swap_type(),
            swap_offset: entry.swap_offset().map(Hex),
            soft_dirty: entry.soft_dirty(),
            exclusive: entry.exclusive(),
            uffd_wp: entry.uffd_wp(),
            guard_region: entry.guard_region(),
            file_or_shared_anon: entry.file_or_shared_anon(),
        }
    }
}

/// `PAGE_IS_*` categories of the PAGEMAP_SCAN ioctl (`include/uapi/linux/fs.h`, Linux 6.7+).
pub(crate) mod scan_category {
    pub(crate) const FILE: u64 = 1 << 2;
    pub(crate) const PRESENT: u64 = 1 << 3;
    pub(crate) const SWAPPED: u64 = 1 << 4;
    pub(crate) const HUGE: u64 = 1 << 6;
}

/// Why a mapping has no pagemap entries, in the words the reports use.
pub(crate) fn outside_pagemap_words(path: &str) -> &'static str {
    if path == "[vsyscall]" {
        "the vsyscall page, which the kernel maps above the user address space that pagemap covers"
    } else {
        "above the user address space that pagemap covers"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_present_exclusive_soft_dirty_anonymous_page() {
        let entry = PagemapEntry(0x8180_0000_0012_3456);
        assert!(entry.present());
        assert!(!entry.swapped());
        assert_eq!(entry.pfn(), Some(Pfn(0x12_3456)));
        assert!(entry.soft_dirty());
        assert!(entry.exclusive());
        assert!(!entry.file_or_shared_anon());
        assert!(!entry.uffd_wp() && !entry.guard_region());
        assert_eq!(entry.swap_type(), None);
        assert_eq!(
            entry.flag_names(),
            vec!["present", "exclusive", "soft-dirty"]
        );
    }

    #[test]
    fn a_present_page_with_pfn_zero_is_hidden_not_frame_zero() {
        let entry = PagemapEntry(1 << 63 | 1 << 61);
        assert!(entry.pfn_hidden());
        assert_eq!(entry.pfn(), None);
        assert!(entry.file_or_shared_anon());
    }

    #[test]
    fn decodes_swap_type_and_offset() {
        let entry = PagemapEntry(1 << 62 | (0xabcde << 5) | 3);
        assert!(entry.swapped());
        assert!(!entry.present());
        assert_eq!(entry.swap_type(), Some(3));
        assert_eq!(entry.swap_offset(), Some(0xabcde));
        assert_eq!(entry.pfn(), None);
        assert!(!entry.pfn_hidden());
    }

    #[test]
    fn decodes_the_bits_procfs_lacks() {
        assert!(PagemapEntry(1 << 57).uffd_wp());
        assert!(PagemapEntry(1 << 58).guard_region());
        assert_eq!(PagemapEntry(1 << 58).flag_names(), vec!["guard"]);
        let never_touched = PagemapEntry(0);
        assert!(!never_touched.present() && !never_touched.swapped());
        assert!(never_touched.flag_names().is_empty());
    }

    #[test]
    fn json_form_has_hex_strings() {
        let json =
            serde_json::to_value(PagemapJson::from(PagemapEntry(0x8100_0000_0000_00ff))).unwrap();
        assert_eq!(json["pfn"], "0xff");
        assert_eq!(json["raw"], "0x81000000000000ff");
    }
}
