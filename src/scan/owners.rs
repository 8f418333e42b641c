// SPDX-License-Identifier: MIT OR Apache-2.0
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

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::kernel::addr::{PageSize, Pfn, VirtAddr};
use crate::kernel::kpageflags::KpageFlags;
use crate::kernel::maps::{maps_line_brief, parse_maps, MappingSummary};
use crate::kernel::pagemap::{scan_category, PagemapEntry};
use crate::proc::kpage::FrameInfoReader;
use crate::proc::pagemap::{user_space_end, PageRegion, PagemapFile};
use crate::proc::process::{open_user_process, read_maps_into, read_stat_brief};

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
fn accounted_for(frame: &FrameQuery, hits: usize) -> bool {
    frame.map_count > 0 && hits as u64 >= frame.map_count
}

/// Threads searching (the pids are dealt between them in order).
const WORKERS: usize = 2;
/// Candidate ranges fewer than this many pages apart are read with one pagemap `pread`.
const JOIN_GAP_PAGES: u64 = 64;

/// Scans the processes of `scope` until the map count is accounted for (or all of them when
/// exhaustive); `on_process` is called as processes are scanned (for a progress bar).
///
/// The pids are dealt in order to [`WORKERS`] threads (this one among them). Per process: its
/// maps read into a buffer kept from process to process, the mappings that cannot hold the
/// frame dropped by its kind ([`could_map`]) before pagemap is even opened, one PAGEMAP_SCAN
/// over the span of the rest (where the kernel has it) and one `pread` of pagemap per group
/// of nearby present ranges. The hits are put back in pid order, and an early stop is cut
/// where a scan of one process after the other would have stopped, so the result is the
/// same as scanning them one by one.
pub(crate) fn search(
    frame: &FrameQuery,
    scope: SearchScope,
    page: PageSize,
    mut on_process: impl FnMut(),
) -> Result<Owners> {
    let shared = Shared {
        next: AtomicUsize::new(0),
        hits: AtomicUsize::new(0),
        failed: AtomicUsize::new(usize::MAX),
    };
    let results: Vec<Worker> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..WORKERS)
            .map(|_| s.spawn(|| Worker::run(frame, scope, page, &shared, || {})))
            .collect();
        let mut all = vec![Worker::run(frame, scope, page, &shared, &mut on_process)];
        all.extend(handles.into_iter().map(|h| h.join().unwrap_or_default()));
        all
    });
    let mut found: Vec<(usize, OwnerHit)> = Vec::new();
    let mut errors = Vec::new();
    for worker in results {
        found.extend(worker.hits);
        errors.extend(worker.errors);
    }
    errors.sort_by_key(|(index, _)| *index);
    if let Some((_, err)) = errors.into_iter().next() {
        return Err(err);
    }
    found.sort_by_key(|(index, hit)| (*index, hit.vaddr.0));
    Ok(in_order(frame, scope, found))
}

/// The hits as a scan of one process after the other would have found them: up to and
/// including the process where the map count was accounted for, unless exhaustive.
fn in_order(frame: &FrameQuery, scope: SearchScope, found: Vec<(usize, OwnerHit)>) -> Owners {
    let total = scope.pids.len();
    let mut owners = Owners {
        hits: Vec::new(),
        scanned: total,
        total,
        stopped_early: false,
    };
    let mut found = found.into_iter().peekable();
    for index in 0..total {
        if !scope.exhaustive && accounted_for(frame, owners.hits.len()) {
            owners.scanned = index;
            owners.stopped_early = true;
            break;
        }
        while let Some((_, hit)) = found.next_if(|(i, _)| *i == index) {
            owners.hits.push(hit);
        }
    }
    owners
}

/// What the workers share: the next pid to take, the hits so far, the first failure.
struct Shared {
    next: AtomicUsize,
    hits: AtomicUsize,
    /// Index of the first named pid that failed (no pid after it is taken).
    failed: AtomicUsize,
}

/// One thread's hits and errors, and its buffers reused from process to process.
#[derive(Default)]
struct Worker {
    hits: Vec<(usize, OwnerHit)>,
    errors: Vec<(usize, anyhow::Error)>,
    maps: Vec<u8>,
    stat: Vec<u8>,
    candidates: Vec<Candidate>,
    regions: Vec<PageRegion>,
    present: Vec<PageRegion>,
    words: Vec<u64>,
}

/// The process being scanned: its place in the scope, pid and command.
struct Who<'a> {
    index: usize,
    pid: i32,
    command: &'a str,
}

/// A mapping that can hold the frame: its range and where its line is in the maps text.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    start: u64,
    end: u64,
    line: (usize, usize),
}

impl Worker {
    fn run(
        frame: &FrameQuery,
        scope: SearchScope,
        page: PageSize,
        shared: &Shared,
        mut on_process: impl FnMut(),
    ) -> Worker {
        let mut worker = Worker {
            regions: vec![PageRegion::default(); 1024],
            words: vec![0; 64 * 1024],
            ..Worker::default()
        };
        loop {
            if !scope.exhaustive && accounted_for(frame, shared.hits.load(Ordering::Relaxed)) {
                break;
            }
            let index = shared.next.fetch_add(1, Ordering::Relaxed);
            let Some(&pid) = scope.pids.get(index) else {
                break;
            };
            if index > shared.failed.load(Ordering::Relaxed) {
                break;
            }
            on_process();
            let before = worker.hits.len();
            if let Err(err) = worker.scan_process(frame, page, index, pid, scope.named) {
                if scope.named {
                    shared.failed.fetch_min(index, Ordering::Relaxed);
                    worker.errors.push((index, err));
                }
            }
            shared
                .hits
                .fetch_add(worker.hits.len() - before, Ordering::Relaxed);
        }
        worker
    }

    /// Adds every page of process `pid` that maps the frame.
    fn scan_process(
        &mut self,
        frame: &FrameQuery,
        page: PageSize,
        index: usize,
        pid: i32,
        named: bool,
    ) -> Result<()> {
        if named {
            // The errors `maps` gives for a process named on the command line.
            open_user_process(pid)?;
        }
        let Some(brief) = read_stat_brief(pid, &mut self.stat) else {
            return Ok(());
        };
        if brief.has_no_memory() || !read_maps_into(pid, &mut self.maps) {
            return Ok(());
        }
        self.candidates.clear();
        let text = &self.maps;
        let mut at = 0;
        for line in text.split(|&b| b == b'\n') {
            let span = (at, at + line.len());
            at += line.len() + 1;
            let Some(brief) = maps_line_brief(line) else {
                continue;
            };
            let name = if brief.path.is_empty() {
                "[anonymous]"
            } else {
                brief.path
            };
            if could_map(frame.flags, brief.perms, name) {
                self.candidates.push(Candidate {
                    start: brief.start,
                    end: brief.end,
                    line: span,
                });
            }
        }
        if self.candidates.is_empty() {
            return Ok(());
        }
        let pagemap = match PagemapFile::open(pid) {
            Ok(pagemap) => pagemap,
            Err(err) if named => return Err(err),
            Err(_) => return Ok(()),
        };
        self.present_parts(&pagemap)?;
        let who = Who {
            index,
            pid,
            command: &brief.command,
        };
        self.read_present(&pagemap, frame, page, &who)
    }

    /// The present parts of the candidates: one PAGEMAP_SCAN over their span, intersected
    /// with them; without PAGEMAP_SCAN the candidates whole.
    fn present_parts(&mut self, pagemap: &PagemapFile) -> Result<()> {
        let first = self.candidates[0].start;
        let last = self.candidates.iter().map(|c| c.end).max().unwrap_or(first);
        let end = user_space_end().map_or(last, |limit| last.min(limit));
        let scanned = first < end && {
            let Worker {
                regions, present, ..
            } = self;
            pagemap.scan_into(first, end, regions, present)?
        };
        if !scanned {
            self.present.clear();
            self.present
                .extend(self.candidates.iter().map(|c| PageRegion {
                    start: c.start,
                    end: c.end,
                    categories: 0,
                }));
            return Ok(());
        }
        // Keep only the parts inside candidates (both lists are sorted).
        let regions = std::mem::take(&mut self.present);
        let mut kept = Vec::with_capacity(regions.len());
        let mut c = 0;
        for region in regions
            .iter()
            .filter(|r| r.categories & scan_category::PRESENT != 0)
        {
            while c < self.candidates.len() && self.candidates[c].end <= region.start {
                c += 1;
            }
            let mut k = c;
            while k < self.candidates.len() && self.candidates[k].start < region.end {
                let (a, b) = (
                    region.start.max(self.candidates[k].start),
                    region.end.min(self.candidates[k].end),
                );
                if a < b {
                    kept.push(PageRegion {
                        start: a,
                        end: b,
                        categories: 0,
                    });
                }
                k += 1;
            }
        }
        self.present = kept;
        Ok(())
    }

    /// Reads pagemap for the present parts, nearby ones in one `pread`, and records the hits.
    fn read_present(
        &mut self,
        pagemap: &PagemapFile,
        frame: &FrameQuery,
        page: PageSize,
        who: &Who,
    ) -> Result<()> {
        let shift = page.shift();
        let mut i = 0;
        while i < self.present.len() {
            let first = self.present[i].start >> shift;
            let mut j = i + 1;
            while j < self.present.len()
                && (self.present[j].start >> shift)
                    < (self.present[j - 1].end >> shift) + JOIN_GAP_PAGES
            {
                j += 1;
            }
            let last = self.present[j - 1].end >> shift;
            let mut chunk = first;
            while chunk < last {
                let count = ((last - chunk) as usize).min(self.words.len());
                let got = pagemap.read_raw(chunk, &mut self.words[..count])?;
                for k in 0..got {
                    let vpn = chunk + k as u64;
                    if PagemapEntry(self.words[k]).pfn() != Some(frame.pfn) {
                        continue;
                    }
                    let inside = self.present[i..j]
                        .iter()
                        .any(|r| (r.start >> shift) <= vpn && vpn < (r.end >> shift));
                    if inside {
                        self.record(frame, page, who, vpn, PagemapEntry(self.words[k]));
                    }
                }
                if got < count {
                    break;
                }
                chunk += count as u64;
            }
            i = j;
        }
        Ok(())
    }

    /// One hit: the mapping's line parsed as `maps` parses it.
    fn record(
        &mut self,
        frame: &FrameQuery,
        page: PageSize,
        who: &Who,
        vpn: u64,
        entry: PagemapEntry,
    ) {
        let addr = vpn << page.shift();
        let Some(candidate) = self
            .candidates
            .iter()
            .find(|c| c.start <= addr && addr < c.end)
        else {
            return;
        };
        let line = &self.maps[candidate.line.0..candidate.line.1];
        let Ok(maps) = parse_maps(line) else {
            return;
        };
        let Some(map) = maps.first() else {
            return;
        };
        self.hits.push((
            who.index,
            OwnerHit {
                pid: who.pid,
                command: who.command.to_string(),
                vaddr: VirtAddr(addr + frame.offset),
                pagemap: entry.flag_names(),
                mapping: MappingSummary::from(map),
            },
        ));
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
