// SPDX-License-Identifier: MIT OR Apache-2.0
//! The kernel's huge page settings, read from sysfs: the transparent huge page mode (decoded
//! by [`crate::kernel::thp`]) and the 2 MiB hugetlbfs pool, for `target --where thp|hugetlb`
//! to say why its page is no huge page, or why it got none.

use crate::kernel::thp::selected_thp_mode;

/// Where the global THP mode is.
pub(crate) const THP_ENABLED_PATH: &str = "/sys/kernel/mm/transparent_hugepage/enabled";

/// The 2 MiB hugetlbfs pool (Documentation/admin-guide/mm/hugetlbpage.rst).
const HUGETLB_2MB_DIR: &str = "/sys/kernel/mm/hugepages/hugepages-2048kB";

/// The selected THP mode (`always`, `madvise`, `never`), or `None` when the file is missing
/// (a kernel without CONFIG_TRANSPARENT_HUGEPAGE) or unreadable.
pub(crate) fn thp_mode() -> Option<String> {
    let text = std::fs::read_to_string(THP_ENABLED_PATH).ok()?;
    selected_thp_mode(&text).map(str::to_string)
}

/// The 2 MiB hugetlbfs pool: how many pages are reserved (`nr_hugepages`) and how many of
/// them are free, or `None` when the kernel has no such pool.
pub(crate) fn hugetlb_2mb_pool() -> Option<(u64, u64)> {
    let read = |name: &str| -> Option<u64> {
        std::fs::read_to_string(format!("{HUGETLB_2MB_DIR}/{name}"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    Some((read("nr_hugepages")?, read("free_hugepages")?))
}
