// SPDX-License-Identifier: MIT OR Apache-2.0
//! The transparent huge page mode: `/sys/kernel/mm/transparent_hugepage/enabled`, whose one
//! line lists the modes with the selected one in brackets, e.g. `always [madvise] never`
//! (Documentation/admin-guide/mm/transhuge.rst, "Global THP controls"); and the huge page
//! sizes, which follow the base page size: a PMD maps `page / 8` pages (2 MiB with 4 KiB
//! pages, 32 MiB with 16 KiB, 512 MiB with 64 KiB), as `hpage_pmd_size` says, and
//! hugetlbfs's default size is /proc/meminfo's `Hugepagesize:`.

use crate::kernel::addr::PageSize;

/// The mode in brackets (`always`, `madvise`, `never`; `inherit` in a per-size file), or
/// `None` when no word is bracketed.
pub fn selected_thp_mode(text: &str) -> Option<&str> {
    text.split_whitespace()
        .find_map(|word| word.strip_prefix('[')?.strip_suffix(']'))
        .filter(|mode| !mode.is_empty())
}

/// What a PMD entry maps with pages of `page`: a page-table page holds `page / 8` entries.
pub fn pmd_size(page: PageSize) -> Option<PageSize> {
    PageSize::new(page.bytes().checked_mul(page.bytes() / 8)?)
}

/// The THP size in `hpage_pmd_size` (decimal bytes and a newline), when it is a power of two.
pub fn parse_hpage_pmd_size(text: &str) -> Option<PageSize> {
    PageSize::new(text.trim().parse().ok()?)
}

/// The default hugetlbfs page size from /proc/meminfo's `Hugepagesize:       2048 kB`.
pub fn meminfo_hugepagesize(meminfo: &str) -> Option<PageSize> {
    let line = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("Hugepagesize:"))?;
    let kb: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    PageSize::new(kb.checked_mul(1024)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(bytes: u64) -> PageSize {
        PageSize::new(bytes).unwrap()
    }

    #[test]
    fn the_pmd_size_follows_the_page_size() {
        assert_eq!(pmd_size(page(4096)), Some(page(2 << 20)));
        assert_eq!(pmd_size(page(16384)), Some(page(32 << 20)));
        assert_eq!(pmd_size(page(65536)), Some(page(512 << 20)));
        assert_eq!(parse_hpage_pmd_size("536870912\n"), Some(page(512 << 20)));
        assert_eq!(parse_hpage_pmd_size("2097152"), Some(page(2 << 20)));
        assert_eq!(parse_hpage_pmd_size("3000\n"), None);
        assert_eq!(parse_hpage_pmd_size(""), None);
    }

    #[test]
    fn reads_hugepagesize_from_meminfo() {
        let x86 = "MemTotal:        1000000 kB\nHugePages_Total:       0\nHugepagesize:       2048 kB\nHugetlb:               0 kB\n";
        assert_eq!(meminfo_hugepagesize(x86), Some(page(2 << 20)));
        let arm64_64k = "Hugepagesize:     524288 kB\n";
        assert_eq!(meminfo_hugepagesize(arm64_64k), Some(page(512 << 20)));
        assert_eq!(meminfo_hugepagesize("MemTotal: 1 kB\n"), None);
        assert_eq!(meminfo_hugepagesize("Hugepagesize: 3 kB\n"), None);
        assert_eq!(meminfo_hugepagesize("Hugepagesize: x kB\n"), None);
    }

    #[test]
    fn finds_the_bracketed_mode() {
        assert_eq!(
            selected_thp_mode("always [madvise] never\n"),
            Some("madvise")
        );
        assert_eq!(selected_thp_mode("always madvise [never]"), Some("never"));
        assert_eq!(selected_thp_mode("[always] madvise never"), Some("always"));
        assert_eq!(selected_thp_mode("always madvise never"), None);
        assert_eq!(selected_thp_mode("[] x"), None);
        assert_eq!(selected_thp_mode(""), None);
    }
}
