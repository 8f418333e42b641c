// SPDX-License-Identifier: MIT OR Apache-2.0
//! The scan engine shared by `maps` and `owner` (and `physmap`'s, [`physmap`]): which parts of an address space are worth
//! reading, and reading them fast.
//!
//! PAGEMAP_SCAN (Linux 6.7+) finds the populated parts of each mapping so empty reservations
//! are never read ([`populated_pages`]); pagemap is read in 64 Ki-entry batches
//! ([`scan_range`]); and `/proc/kpageflags` / `/proc/kpagecount` are read once per span of
//! sorted frame runs ([`runs::SpanPlan`]), never frame by frame. Map counts are read only for
//! pages pagemap does not already mark as exclusively mapped (bit 56 means a map count of 1).
//! What a scan selects ([`filter`]) and how frames group into runs ([`runs`]) are pure and
//! tested on literals; [`huge`] counts PMD-mapped huge pages from the runs.

pub mod filter;
pub(crate) mod huge;
pub(crate) mod owners;
pub(crate) mod physmap;
pub(crate) mod runs;
pub(crate) mod usage;

use anyhow::Result;

use crate::kernel::addr::PageSize;
use crate::kernel::pagemap::{scan_category, PagemapEntry};
use crate::proc::kpage::FrameInfoReader;
use crate::proc::pagemap::PagemapFile;
use crate::scan::runs::{runs_of, FrameRun, SpanPlan};

/// Pages per pagemap batch: 64 Ki entries, 512 KiB.
pub(crate) const BATCH_PAGES: u64 = 64 * 1024;
/// Frames between two runs still read in one `pread` of kpageflags/kpagecount.
const SPAN_GAP: u64 = 4;
/// Threads reading kpageflags/kpagecount, the slowest stage of a `--pages` scan.
const FRAME_WORKERS: usize = 2;

/// One batch of consecutive pages, with the frame words read for them (0 where none).
pub(crate) struct Batch {
    pub(crate) first_page: u64,
    pub(crate) entries: Vec<PagemapEntry>,
    /// kpageflags per page, or empty when not read.
    pub(crate) flags: Vec<u64>,
    /// Map count per page, or empty when not read.
    pub(crate) counts: Vec<u64>,
}

/// What to read besides pagemap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameWants {
    pub(crate) flags: bool,
    pub(crate) counts: bool,
}

/// The parts of a mapping worth reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Populated {
    /// Virtual page number ranges `[first, end)`.
    pub(crate) ranges: Vec<(u64, u64)>,
    /// Present pages in huge pages, when PAGEMAP_SCAN said; `None` without PAGEMAP_SCAN.
    pub(crate) huge: Option<u64>,
}

/// The virtual page ranges worth reading in `[start, end)` (byte addresses), and the number of
/// present huge pages when PAGEMAP_SCAN told us; `None` for that means the kernel has no
/// PAGEMAP_SCAN and the whole range is returned.
pub(crate) fn populated_pages(
    pagemap: &PagemapFile,
    page: PageSize,
    start: u64,
    end: u64,
    present_only: bool,
) -> Result<Populated> {
    let shift = page.shift();
    let Some(regions) = pagemap.populated_regions(start, end)? else {
        return Ok(Populated {
            ranges: vec![(start >> shift, end >> shift)],
            huge: None,
        });
    };
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    let mut huge = 0;
    for region in regions {
        let present = region.categories & scan_category::PRESENT != 0;
        if present && region.categories & scan_category::HUGE != 0 {
            huge += (region.end - region.start) >> shift;
        }
        if present_only && !present {
            continue;
        }
        let (first, last) = (region.start >> shift, region.end >> shift);
        match ranges.last_mut() {
            Some(prev) if prev.1 == first => prev.1 = last,
            _ => ranges.push((first, last)),
        }
    }
    Ok(Populated {
        ranges,
        huge: Some(huge),
    })
}

/// Reads the pages `[first, end)` in batches, with frame flags and map counts as wanted,
/// and hands each batch to `visit` (which returns `false` to stop early).
///
/// A range of more than one batch runs as a pipeline on scoped threads: one thread reads
/// pagemap, [`FRAME_WORKERS`] threads take turns reading the frames' kpageflags/kpagecount
/// (the kernel's slowest part), and the caller's thread visits (formats) the batches in
/// order, so the kernel's work and ours overlap.
pub(crate) fn scan_range(
    pagemap: &PagemapFile,
    frames: Option<&FrameInfoReader>,
    wants: FrameWants,
    first: u64,
    end: u64,
    mut visit: impl FnMut(&Batch) -> Result<bool>,
) -> Result<bool> {
    let mut batches = Batches::new(pagemap, first, end);
    if end.saturating_sub(first) <= BATCH_PAGES {
        while let Some(batch) = batches.next_batch() {
            let mut batch = batch?;
            add_frame_words(&mut batch, frames, wants)?;
            if !visit(&batch)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    std::thread::scope(|scope| {
        let mut to_workers = Vec::with_capacity(FRAME_WORKERS);
        let mut from_workers = Vec::with_capacity(FRAME_WORKERS);
        for _ in 0..FRAME_WORKERS {
            let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel::<Result<Batch>>(1);
            let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<Result<Batch>>(1);
            scope.spawn(move || {
                for batch in raw_rx {
                    let batch = batch.and_then(|mut batch| {
                        add_frame_words(&mut batch, frames, wants)?;
                        Ok(batch)
                    });
                    let failed = batch.is_err();
                    if done_tx.send(batch).is_err() || failed {
                        break;
                    }
                }
            });
            to_workers.push(raw_tx);
            from_workers.push(done_rx);
        }
        scope.spawn(move || {
            let mut worker = (0..FRAME_WORKERS).cycle();
            while let Some(batch) = batches.next_batch() {
                let failed = batch.is_err();
                let sent = worker
                    .next()
                    .and_then(|w| to_workers.get(w))
                    .is_some_and(|tx| tx.send(batch).is_ok());
                if !sent || failed {
                    break;
                }
            }
        });
        // The reader deals batches round robin, so taking them back round robin keeps the
        // virtual order; the first worker with nothing more to give ends the scan.
        for worker in (0..FRAME_WORKERS).cycle() {
            let Ok(batch) = from_workers[worker].recv() else {
                break;
            };
            if !visit(&batch?)? {
                return Ok(false);
            }
        }
        Ok(true)
    })
}

/// The pagemap batches of `[first, end)` (page numbers), read densely until a whole batch
/// comes back empty; from there PAGEMAP_SCAN (where the kernel has it) lists the populated
/// rest and only that is read. Dense memory so never pays for a second page-table walk, and
/// a sparse reservation is not read entry by entry.
struct Batches<'a> {
    pagemap: &'a PagemapFile,
    ranges: std::collections::VecDeque<(u64, u64)>,
    scanned: bool,
}

impl<'a> Batches<'a> {
    fn new(pagemap: &'a PagemapFile, first: u64, end: u64) -> Self {
        Batches {
            pagemap,
            ranges: [(first, end)].into_iter().filter(|(a, b)| a < b).collect(),
            scanned: false,
        }
    }

    fn next_batch(&mut self) -> Option<Result<Batch>> {
        loop {
            let (from, to) = self.ranges.pop_front()?;
            let len = (to - from).min(BATCH_PAGES);
            let entries = match self.pagemap.entries(from, len as usize) {
                Ok(entries) => entries,
                Err(err) => return Some(Err(err)),
            };
            let rest = (from + len, to);
            if rest.0 < rest.1 {
                self.ranges.push_front(rest);
            }
            let empty = entries.iter().all(|e| !e.present() && !e.swapped());
            if empty && !self.scanned && rest.0 < rest.1 {
                self.scanned = true;
                let shift = PageSize::of_system().shift();
                match self
                    .pagemap
                    .populated_regions(rest.0 << shift, rest.1 << shift)
                {
                    Ok(Some(regions)) => {
                        self.ranges.pop_front();
                        for region in regions.iter().rev() {
                            let (a, b) = (region.start >> shift, region.end >> shift);
                            match self.ranges.front_mut() {
                                Some(next) if next.0 == b => next.0 = a,
                                _ => self.ranges.push_front((a, b)),
                            }
                        }
                    }
                    Ok(None) => {}
                    Err(err) => return Some(Err(err)),
                }
            }
            if !empty {
                return Some(Ok(Batch {
                    first_page: from,
                    entries,
                    flags: Vec::new(),
                    counts: Vec::new(),
                }));
            }
        }
    }
}

/// Fills in the batch's kpageflags and map counts, as wanted, one read per span of frames.
fn add_frame_words(
    batch: &mut Batch,
    frames: Option<&FrameInfoReader>,
    wants: FrameWants,
) -> Result<()> {
    let Some(frames) = frames else {
        return Ok(());
    };
    let (first, len) = (batch.first_page, batch.entries.len() as u64);
    if wants.flags {
        let runs = runs_of(first, &batch.entries, |_| true);
        batch.flags = read_frame_words(&runs, first, len, |pfn, n| {
            frames
                .flags(pfn, n)
                .map(|v| v.into_iter().map(|f| f.0).collect())
        })?;
    }
    if wants.counts {
        // Pagemap bit 56 already says "mapped once"; read only the others.
        let runs = runs_of(first, &batch.entries, |e| !e.exclusive());
        let mut counts = read_frame_words(&runs, first, len, |pfn, n| frames.map_counts(pfn, n))?;
        for (count, entry) in counts.iter_mut().zip(&batch.entries) {
            if entry.exclusive() && entry.pfn().is_some() {
                *count = 1;
            }
        }
        batch.counts = counts;
    }
    Ok(())
}

/// One batched read per span of `runs`' frames, spread back onto `len` pages from `first`.
fn read_frame_words(
    runs: &[FrameRun],
    first: u64,
    len: u64,
    read: impl Fn(crate::kernel::addr::Pfn, usize) -> Result<Vec<u64>>,
) -> Result<Vec<u64>> {
    let plan = SpanPlan::for_runs(runs, SPAN_GAP);
    let mut flat = Vec::with_capacity(plan.total());
    for span in &plan.spans {
        flat.extend(read(
            crate::kernel::addr::Pfn(span.first),
            span.len as usize,
        )?);
    }
    let mut out = vec![0u64; len as usize];
    plan.scatter(runs, &flat, first, &mut out);
    Ok(out)
}
