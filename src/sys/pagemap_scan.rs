// SPDX-License-Identifier: MIT OR Apache-2.0
//! The read-only PAGEMAP_SCAN ioctl (Linux 6.7+) on an open `/proc/<pid>/pagemap`.

use std::io;

/// One `struct page_region` filled by the PAGEMAP_SCAN ioctl (`include/uapi/linux/fs.h`):
/// the virtual range `[start, end)` whose pages all share `categories` (`PAGE_IS_*` bits).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PageRegion {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) categories: u64,
}

/// `struct pm_scan_arg` of the PAGEMAP_SCAN ioctl (Linux 6.7+).
#[repr(C)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

/// `_IOWR('f', 16, struct pm_scan_arg)`: direction 3, size 96, type 'f', number 16.
const PAGEMAP_SCAN: u64 =
    3 << 30 | (std::mem::size_of::<PmScanArg>() as u64) << 16 | 0x66 << 8 | 16;

/// Runs the read-only PAGEMAP_SCAN ioctl on an open `/proc/<pid>/pagemap` over the virtual
/// range `[start, end)`: fills `out` with the regions whose pages have any of the `anyof`
/// categories, each labelled with its `report` categories. Returns how many regions were
/// filled and where the walk stopped (`end` unless `out` filled up first). Kernels before
/// 6.7 fail with ENOTTY (or EINVAL); callers fall back to reading pagemap.
pub(crate) fn pagemap_scan(
    pagemap: &std::fs::File,
    start: u64,
    end: u64,
    anyof: u64,
    report: u64,
    out: &mut [PageRegion],
) -> io::Result<(usize, u64)> {
    use std::os::fd::AsRawFd;
    let mut arg = PmScanArg {
        size: std::mem::size_of::<PmScanArg>() as u64,
        flags: 0,
        start,
        end,
        walk_end: 0,
        vec: out.as_mut_ptr() as u64,
        vec_len: out.len() as u64,
        max_pages: 0,
        category_inverted: 0,
        category_mask: 0,
        category_anyof_mask: anyof,
        return_mask: report,
    };
    // SAFETY: `arg` is a correctly laid out pm_scan_arg that lives across the call; `vec`
    // points at `out.len()` writable PageRegions (repr(C), three u64s like page_region),
    // and flags 0 asks for no write-protection, so the kernel only writes `arg` and `out`.
    let rc = unsafe { libc::ioctl(pagemap.as_raw_fd(), PAGEMAP_SCAN as _, &mut arg) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(((rc as usize).min(out.len()), arg.walk_end))
}
