//! Who maps a physical frame: the reverse lookup behind `physdemo owner`, and behind `poke`'s
//! report of where a stale write went.
//!
//! The kernel keeps no reverse map user space can read, so this scans every process's
//! mappings, only their present parts ([`populated_pages`]: PAGEMAP_SCAN on 6.7+), pagemap
//! in large batches ([`scan_range`]), and stops as soon as the frame's map count from
//! `/proc/kpagecount` is accounted for. Frames of anonymous memory cannot be in shared
//! mappings and file or shmem frames cannot be in private anonymous ones, so those mappings
//! are skipped ([`could_map`], pure and tested).

use anyhow::Result;
use serde::Serialize;

use crate::kernel::addr::{PageSize, Pfn, VirtAddr};
use crate::kernel::kpageflags::KpageFlags;
use crate::kernel::maps::{describe_path, MappingSummary};
use crate::proc::kpage::FrameInfoReader;
use crate::proc::pagemap::PagemapFile;
use crate::proc::process::{open_user_process, UserProcess};
use crate::scan::{populated_pages, scan_range, FrameWants};

/// The frame looked for, as the kernel describes it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameQuery {
    pub(crate) pfn: Pfn,
    /// Byte offset within the frame, added to each virtual address found.
    pub(crate) offset: u64,
    pub(crate) flags: KpageFlags,
    /// How many page-table entries map it (kpagecount).
    pub(crate) map_count: u64,
}

impl FrameQuery {
    /// The frame's flags and map count, read now.
    pub(crate) fn read(pfn: Pfn, offset: u64) -> Result<FrameQuery> {
        let frames = FrameInfoReader::open()?;
        Ok(FrameQuery {
            pfn,
            offset,
            flags: frames.flags(pfn, 1)?[0],
            map_count: frames.map_counts(pfn, 1)?[0],
        })
    }
}

/// One process mapping the frame.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct OwnerHit {
    pub(crate) pid: i32,
    pub(crate) command: String,
    /// Virtual address of the page (plus the byte offset, when a physical address was given).
    pub(crate) vaddr: VirtAddr,
    pub(crate) pagemap: Vec<&'static str>,
    pub(crate) mapping: MappingSummary,
}

/// What a search found.
#[derive(Debug, Clone)]
pub(crate) struct Owners {
    pub(crate) hits: Vec<OwnerHit>,
    /// Processes scanned, of `total`.
    pub(crate) scanned: usize,
    pub(crate) total: usize,
    /// Whether it stopped once the map count was accounted for.
    pub(crate) stopped_early: bool,
}

/// Which processes to search, and how far.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SearchScope<'a> {
    /// The processes, in order ([`every_pid`] for all).
    pub(crate) pids: &'a [i32],
    /// The pids were named by the user: each must be readable, or its error is returned
    /// (in a scan of every process, those that exit, kernel threads and zombies are skipped).
    pub(crate) named: bool,
    /// Scan everything even after the map count is accounted for.
    pub(crate) exhaustive: bool,
}

/// Whether a mapping with these permissions and this name can hold the frame.
pub(crate) fn could_map(flags: KpageFlags, perms: &str, name: &str) -> bool {
    let shared = perms.as_bytes().get(3) == Some(&b's');
    let private_anon = !shared && (name.starts_with('[') || name.is_empty());
    if flags.has(KpageFlags::ZERO_PAGE) || flags.0 == 0 {
        return true;
    }
    if flags.has(KpageFlags::ANON) {
        !shared
    } else {
        // Page cache and shmem frames; special mappings ([vdso]) are not checked by name.
        !private_anon || matches!(name, "[vdso]" | "[vvar]" | "[vsyscall]")
    }
}

/// The numeric entries of /proc, sorted.
pub(crate) fn every_pid() -> Result<Vec<i32>> {
    let mut pids: Vec<i32> = std::fs::read_dir("/proc")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    Ok(pids)
}

/// Whether the frame's map count is accounted for (never, when it is 0).
fn accounted_for(frame: &FrameQuery, hits: &[OwnerHit]) -> bool {
    frame.map_count > 0 && hits.len() as u64 >= frame.map_count
}

/// Scans the processes of `scope` until the map count is accounted for (or all of them when
/// exhaustive); `on_process` is called before each process is scanned (for a progress bar).
pub(crate) fn search(
    frame: &FrameQuery,
    scope: SearchScope,
    page: PageSize,
    mut on_process: impl FnMut(),
) -> Result<Owners> {
    let mut found = Owners {
        hits: Vec::new(),
        scanned: 0,
        total: scope.pids.len(),
        stopped_early: false,
    };
    for &pid in scope.pids {
        if !scope.exhaustive && accounted_for(frame, &found.hits) {
            found.stopped_early = true;
            break;
        }
        found.scanned += 1;
        on_process();
        let (process, pagemap) = match (open_user_process(pid), PagemapFile::open(pid)) {
            (Ok(process), Ok(pagemap)) => (process, pagemap),
            (Err(err), _) | (_, Err(err)) if scope.named => return Err(err),
            _ => continue,
        };
        scan_process(
            &process,
            &pagemap,
            frame,
            scope.exhaustive,
            page,
            &mut found.hits,
        );
    }
    Ok(found)
}

/// Adds every page of `process` that maps the frame to `hits`; its mappings that cannot
/// hold the frame are skipped, and only their present parts are read.
fn scan_process(
    process: &UserProcess,
    pagemap: &PagemapFile,
    frame: &FrameQuery,
    exhaustive: bool,
    page: PageSize,
    hits: &mut Vec<OwnerHit>,
) {
    let wants = FrameWants {
        flags: false,
        counts: false,
    };
    for map in &process.maps {
        let name = describe_path(&map.pathname);
        if !could_map(frame.flags, &map.perms.as_str(), &name) {
            continue;
        }
        let Ok(populated) = populated_pages(pagemap, page, map.address.0, map.address.1, true)
        else {
            break;
        };
        for (first, last) in populated.ranges {
            let done = scan_range(pagemap, None, wants, first, last, |batch| {
                for (i, entry) in batch.entries.iter().enumerate() {
                    if entry.pfn() == Some(frame.pfn) {
                        let vpn = batch.first_page + i as u64;
                        hits.push(OwnerHit {
                            pid: process.pid,
                            command: process.command.clone(),
                            vaddr: VirtAddr((vpn << page.shift()) + frame.offset),
                            pagemap: entry.flag_names(),
                            mapping: MappingSummary::from(map),
                        });
                    }
                }
                Ok(exhaustive || !accounted_for(frame, hits))
            });
            if !matches!(done, Ok(true)) {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// KPF_MMAP: a frame mapped into some process.
    const MMAP: u32 = 11;

    #[test]
    fn skips_mappings_that_cannot_hold_the_frame() {
        let anon = KpageFlags(1 << KpageFlags::ANON | 1 << MMAP);
        assert!(could_map(anon, "rw-p", "[heap]"));
        assert!(could_map(anon, "rw-p", "/usr/lib/libc.so.6"));
        assert!(!could_map(anon, "rw-s", "/dev/zero (deleted)"));
        let file = KpageFlags(1 << MMAP);
        assert!(could_map(file, "r-xp", "/usr/lib/libc.so.6"));
        assert!(could_map(file, "rw-s", "/dev/zero (deleted)"));
        assert!(!could_map(file, "rw-p", "[heap]"));
        assert!(!could_map(file, "rw-p", "[anonymous]"));
        let zero = KpageFlags(1 << KpageFlags::ZERO_PAGE);
        assert!(could_map(zero, "rw-p", "[anonymous]"));
    }
}
