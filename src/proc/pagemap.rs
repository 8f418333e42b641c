// SPDX-License-Identifier: MIT OR Apache-2.0
//! Reading `/proc/<pid>/pagemap` in large batches, and its PAGEMAP_SCAN ioctl.
//!
//! One `pread` per chunk of entries (see [`crate::proc::words`]); the entries are decoded by
//! [`crate::kernel::pagemap`]. PAGEMAP_SCAN (Linux 6.7+) finds the populated parts of a range
//! without reading the empty ones.

use std::fs::File;

use anyhow::Result;

use crate::error::permission;
use crate::kernel::pagemap::{scan_category, PagemapEntry};
use crate::proc::process::no_such_process;
use crate::proc::words::read_words;
use crate::sys::pagemap_scan::pagemap_scan;
pub(crate) use crate::sys::pagemap_scan::PageRegion;

/// An open `/proc/<pid>/pagemap`, read with positioned reads.
pub(crate) struct PagemapFile {
    file: File,
    pid: i32,
}

impl PagemapFile {
    pub(crate) fn open(pid: i32) -> Result<Self> {
        let path = format!("/proc/{pid}/pagemap");
        let file = File::open(&path).map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound => anyhow::Error::new(no_such_process(pid)),
            std::io::ErrorKind::PermissionDenied => anyhow::Error::new(
                permission(format!("cannot read {path}: permission denied"))
                    .hint(crate::error::privilege_hint()),
            ),
            _ => anyhow::Error::new(err).context(format!("opening {path}")),
        })?;
        Ok(PagemapFile { file, pid })
    }

    /// The entry for virtual page number `page_index` (one 8-byte read at the right offset).
    pub(crate) fn entry(&self, page_index: u64) -> Result<PagemapEntry> {
        Ok(self.entries(page_index, 1)?[0])
    }

    /// The entry for `page_index`, or `None` where pagemap has no entry at all: it covers
    /// only the user address space (up to the task size; a read past it returns no bytes),
    /// not the vsyscall page the kernel maps above it (`fs/proc/task_mmu.c`, pagemap_read).
    pub(crate) fn entry_if_covered(&self, page_index: u64) -> Result<Option<PagemapEntry>> {
        let mut word = [0u64; 1];
        let got = read_words(
            &self.file,
            page_index,
            &mut word,
            &format!("/proc/{}/pagemap", self.pid),
        )?;
        Ok((got == 1).then_some(PagemapEntry(word[0])))
    }

    /// The entries for `count` consecutive pages from `first_index`, in batched reads;
    /// entries past the end of the address space read as 0 (not present).
    pub(crate) fn entries(&self, first_index: u64, count: usize) -> Result<Vec<PagemapEntry>> {
        let mut words = vec![0u64; count];
        read_words(
            &self.file,
            first_index,
            &mut words,
            &format!("/proc/{}/pagemap", self.pid),
        )?;
        Ok(words.into_iter().map(PagemapEntry).collect())
    }
}

/// Set to 1 to never use PAGEMAP_SCAN (for comparisons and for testing the fallback).
pub(crate) const NO_SCAN_ENV: &str = "PHYSDEMO_NO_PAGEMAP_SCAN";

impl PagemapFile {
    /// Whether this kernel answers PAGEMAP_SCAN (Linux 6.7+) and it was not turned off.
    pub(crate) fn has_pagemap_scan(&self) -> bool {
        let page = crate::kernel::addr::PageSize::of_system().bytes();
        matches!(self.populated_regions(0, page), Ok(Some(_)))
    }

    /// The regions of `[start, end)` (byte addresses) holding present or swapped pages, each
    /// with its `PAGE_IS_*` categories, found by the PAGEMAP_SCAN ioctl without reading the
    /// empty parts. `Ok(None)` when the kernel has no PAGEMAP_SCAN (before 6.7) or
    /// `PHYSDEMO_NO_PAGEMAP_SCAN=1`: read the whole range instead. A range above the user
    /// address space (`[vsyscall]`) fails with EFAULT and is read the plain way too.
    pub(crate) fn populated_regions(
        &self,
        start: u64,
        end: u64,
    ) -> Result<Option<Vec<PageRegion>>> {
        let mut found = Vec::new();
        let mut buf = vec![PageRegion::default(); 1024];
        let report = scan_category::HUGE | scan_category::FILE;
        Ok(self
            .scan_loop(start, end, report, &mut buf, &mut found)?
            .then_some(found))
    }

    /// Fills `out` with the raw entries from virtual page `first` on (0 past the end of the
    /// address space): the caller's buffer, reused across processes.
    pub(crate) fn read_raw(&self, first: u64, out: &mut [u64]) -> Result<usize> {
        read_words(&self.file, first, out, "/proc/PID/pagemap")
    }

    /// PAGEMAP_SCAN over `[start, end)` into `found` (cleared first), the regions holding
    /// present or swapped pages, each labelled present/swapped/huge; `buf` is the caller's
    /// scratch, reused. `Ok(false)` when the kernel has no PAGEMAP_SCAN. Not
    /// `PAGE_IS_FILE`: it costs the kernel a page lookup for every present page.
    pub(crate) fn scan_into(
        &self,
        start: u64,
        end: u64,
        buf: &mut [PageRegion],
        found: &mut Vec<PageRegion>,
    ) -> Result<bool> {
        self.scan_loop(start, end, scan_category::HUGE, buf, found)
    }

    /// The one PAGEMAP_SCAN loop: the present or swapped regions of `[start, end)` into
    /// `found` (cleared first), labelled with those categories and `extra_report`, walking on
    /// while the kernel fills `buf`. `Ok(false)` (nothing found) when the ioctl is off
    /// (`PHYSDEMO_NO_PAGEMAP_SCAN=1`) or refused before the first region: ENOTTY/EINVAL
    /// (no PAGEMAP_SCAN), EOPNOTSUPP, EFAULT (a range above the user address space).
    fn scan_loop(
        &self,
        start: u64,
        end: u64,
        extra_report: u64,
        buf: &mut [PageRegion],
        found: &mut Vec<PageRegion>,
    ) -> Result<bool> {
        found.clear();
        if std::env::var_os(NO_SCAN_ENV).is_some_and(|v| v == "1") {
            return Ok(false);
        }
        let wanted = scan_category::PRESENT | scan_category::SWAPPED;
        let report = wanted | extra_report;
        let mut cursor = start;
        while cursor < end {
            let (filled, walk_end) =
                match pagemap_scan(&self.file, cursor, end, wanted, report, buf) {
                    Ok(done) => done,
                    Err(err)
                        if found.is_empty()
                            && matches!(
                                err.raw_os_error(),
                                Some(libc::ENOTTY | libc::EINVAL | libc::EOPNOTSUPP | libc::EFAULT)
                            ) =>
                    {
                        return Ok(false)
                    }
                    Err(err) => {
                        return Err(anyhow::Error::new(err)
                            .context(format!("PAGEMAP_SCAN on /proc/{}/pagemap", self.pid)))
                    }
                };
            found.extend_from_slice(&buf[..filled]);
            if walk_end <= cursor || walk_end >= end || filled < buf.len() {
                break;
            }
            cursor = walk_end;
        }
        Ok(true)
    }
}

/// The end of the user address space PAGEMAP_SCAN accepts on this machine (its range must
/// pass `access_ok`: 2^47 on x86-64 with 4-level paging, 2^56 with 5, 2^48 on arm64),
/// probed once on physdemo's own pagemap; `None` without PAGEMAP_SCAN.
pub(crate) fn user_space_end() -> Option<u64> {
    static END: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *END.get_or_init(|| {
        let page = crate::kernel::addr::PageSize::of_system().bytes();
        let own = File::open("/proc/self/pagemap").ok()?;
        let mut buf = [PageRegion::default(); 1];
        [56u32, 52, 48, 47, 39]
            .into_iter()
            .map(|bits| (1u64 << bits) - page)
            .find(|&end| {
                let anyof = scan_category::PRESENT;
                pagemap_scan(&own, end - page, end, anyof, anyof, &mut buf).is_ok()
            })
    })
}
