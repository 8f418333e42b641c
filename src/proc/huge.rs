// SPDX-License-Identifier: MIT OR Apache-2.0
//! The kernel's huge page settings, read from sysfs and /proc/meminfo: the transparent huge
//! page mode and size and hugetlbfs's default size (decoded by [`crate::kernel::thp`]), and
//! that size's hugetlbfs pool, for `target --where thp|hugetlb` to ask for a huge page of
//! the running page size's own size, and to say why its page is no huge page, or why it got
//! none.

use crate::kernel::addr::PageSize;
use crate::kernel::thp::{meminfo_hugepagesize, parse_hpage_pmd_size, pmd_size, selected_thp_mode};

/// Where the global THP mode is.
pub(crate) const THP_ENABLED_PATH: &str = "/sys/kernel/mm/transparent_hugepage/enabled";

/// The size of a transparent huge page (Documentation/admin-guide/mm/transhuge.rst).
const THP_SIZE_PATH: &str = "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size";

/// The selected THP mode (`always`, `madvise`, `never`), or `None` when the file is missing
/// (a kernel without CONFIG_TRANSPARENT_HUGEPAGE) or unreadable.
pub(crate) fn thp_mode() -> Option<String> {
    let text = std::fs::read_to_string(THP_ENABLED_PATH).ok()?;
    selected_thp_mode(&text).map(str::to_string)
}

/// The size of a transparent huge page: `hpage_pmd_size`, or where the kernel has no THP
/// (no such file), what a PMD maps with pages of `page`.
pub(crate) fn thp_size(page: PageSize) -> Option<PageSize> {
    std::fs::read_to_string(THP_SIZE_PATH)
        .ok()
        .and_then(|text| parse_hpage_pmd_size(&text))
        .or_else(|| pmd_size(page))
}

/// hugetlbfs's default page size (`Hugepagesize:` in /proc/meminfo), or where the kernel
/// has none, what a PMD maps with pages of `page`.
pub(crate) fn hugetlb_size(page: PageSize) -> Option<PageSize> {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| meminfo_hugepagesize(&text))
        .or_else(|| pmd_size(page))
}

/// The hugetlbfs pool of `size` pages (Documentation/admin-guide/mm/hugetlbpage.rst,
/// /sys/kernel/mm/hugepages/hugepages-<size>kB): how many pages are reserved
/// (`nr_hugepages`) and how many of them are free, or `None` when the kernel has no such
/// pool.
pub(crate) fn hugetlb_pool(size: PageSize) -> Option<(u64, u64)> {
    let dir = format!(
        "/sys/kernel/mm/hugepages/hugepages-{}kB",
        size.bytes() / 1024
    );
    let read = |name: &str| -> Option<u64> {
        std::fs::read_to_string(format!("{dir}/{name}"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    Some((read("nr_hugepages")?, read("free_hugepages")?))
}
