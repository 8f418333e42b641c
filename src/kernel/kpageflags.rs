// SPDX-License-Identifier: MIT OR Apache-2.0
//! Decoding the frame flags of `/proc/kpageflags`.
//!
//! Bit numbers come from the kernel's `include/uapi/linux/kernel-page-flags.h` (bits 0-26)
//! and `include/linux/kernel-page-flags.h` (the "kernel hacking" bits 32-41), documented in
//! `Documentation/admin-guide/mm/pagemap.rst`; names are spelled as the kernel's
//! `tools/mm/page-types.c` prints them, so output can be compared line by line.
//! The file needs CAP_SYS_ADMIN and is indexed by PFN; reading it (and `/proc/kpagecount`)
//! is [`crate::proc::kpage`]'s.

/// (bit, name) for every flag the kernel exports in /proc/kpageflags.
pub const KPAGEFLAG_NAMES: &[(u32, &str)] = &[
    (0, "locked"),
    (1, "error"),
    (2, "referenced"),
    (3, "uptodate"),
    (4, "dirty"),
    (5, "lru"),
    (6, "active"),
    (7, "slab"),
    (8, "writeback"),
    (9, "reclaim"),
    (10, "buddy"),
    (11, "mmap"),
    (12, "anonymous"),
    (13, "swapcache"),
    (14, "swapbacked"),
    (15, "compound_head"),
    (16, "compound_tail"),
    (17, "huge"),
    (18, "unevictable"),
    (19, "hwpoison"),
    (20, "nopage"),
    (21, "ksm"),
    (22, "thp"),
    (23, "offline"),
    (24, "zero_page"),
    (25, "idle_page"),
    (26, "pgtable"),
    (32, "reserved"),
    (33, "mlocked"),
    (34, "mappedtodisk"),
    (35, "private"),
    (36, "private_2"),
    (37, "owner_private"),
    (38, "arch"),
    (39, "uncached"),
    (40, "softdirty"),
    (41, "arch_2"),
];

/// The flags word of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KpageFlags(pub u64);

impl KpageFlags {
    pub(crate) const ANON: u32 = 12;
    pub(crate) const COMPOUND_HEAD: u32 = 15;
    pub(crate) const COMPOUND_TAIL: u32 = 16;
    pub(crate) const HUGE: u32 = 17;
    pub(crate) const THP: u32 = 22;
    pub(crate) const ZERO_PAGE: u32 = 24;

    pub(crate) fn has(self, bit: u32) -> bool {
        self.0 & (1 << bit) != 0
    }

    /// The names of every set bit, in bit order; unknown bits as `bit<N>`.
    pub fn names(self) -> Vec<String> {
        (0..64)
            .filter(|&bit| self.has(bit))
            .map(
                |bit| match KPAGEFLAG_NAMES.iter().find(|(b, _)| *b == bit) {
                    Some((_, name)) => (*name).to_string(),
                    None => format!("bit{bit}"),
                },
            )
            .collect()
    }

    /// Whether `frames` (consecutive frames' flags) are one compound page exactly: a head,
    /// then tails only. A huge page spanning a whole aligned block reads so.
    pub fn one_compound_page(frames: &[KpageFlags]) -> bool {
        match frames.split_first() {
            Some((head, tails)) => {
                head.has(Self::COMPOUND_HEAD) && tails.iter().all(|f| f.has(Self::COMPOUND_TAIL))
            }
            None => false,
        }
    }

    /// What kind of huge page backs this frame, if any.
    pub fn huge_kind(self) -> Option<&'static str> {
        if self.has(Self::THP) {
            Some("transparent huge page (THP)")
        } else if self.has(Self::HUGE) {
            Some("hugetlbfs huge page")
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_compound_page_is_a_head_then_tails_only() {
        let head = KpageFlags(1 << 15 | 1 << 22);
        let tail = KpageFlags(1 << 16 | 1 << 22);
        assert!(KpageFlags::one_compound_page(&[head, tail, tail, tail]));
        assert!(!KpageFlags::one_compound_page(&[tail, tail]));
        assert!(!KpageFlags::one_compound_page(&[head, tail, head, tail]));
        assert!(!KpageFlags::one_compound_page(&[head, tail, KpageFlags(0)]));
        assert!(!KpageFlags::one_compound_page(&[]));
    }

    #[test]
    fn names_an_anonymous_mlocked_page_like_page_types() {
        let flags = KpageFlags(1 << 2 | 1 << 5 | 1 << 11 | 1 << 12 | 1 << 14 | 1 << 18 | 1 << 33);
        assert_eq!(
            flags.names(),
            [
                "referenced",
                "lru",
                "mmap",
                "anonymous",
                "swapbacked",
                "unevictable",
                "mlocked"
            ]
        );
        assert_eq!(flags.huge_kind(), None);
    }

    #[test]
    fn tells_thp_from_hugetlb_and_names_unknown_bits() {
        assert_eq!(
            KpageFlags(1 << 22 | 1 << 15).huge_kind(),
            Some("transparent huge page (THP)")
        );
        assert_eq!(KpageFlags(1 << 17).huge_kind(), Some("hugetlbfs huge page"));
        assert_eq!(KpageFlags(1 << 50).names(), ["bit50"]);
    }
}
