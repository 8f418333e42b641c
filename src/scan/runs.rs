// SPDX-License-Identifier: MIT OR Apache-2.0
//! Grouping pagemap entries into physically contiguous runs, counting them, and planning
//! batched reads of per-frame files.
//!
//! A run is a stretch of consecutive virtual pages backed by consecutive physical frames:
//! `[first_page, first_page + pages)` → `[first_pfn, first_pfn + pages)`. Runs are what make a
//! large scan cheap: `/proc/kpageflags` and `/proc/kpagecount` are read once per *span* of
//! frames ([`SpanPlan`]: runs sorted by frame and merged when they touch or nearly touch), not
//! once per page. Everything here is pure: no I/O, tested on literal entry arrays.

use serde::Serialize;

use crate::kernel::pagemap::PagemapEntry;

/// Consecutive virtual pages mapped to consecutive physical frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameRun {
    /// Virtual page number (virtual address / page size) of the first page.
    pub(crate) first_page: u64,
    /// Frame number of the first page.
    pub(crate) first_pfn: u64,
    /// Number of pages in the run (at least 1).
    pub(crate) pages: u64,
}

impl FrameRun {
    /// Whether page `page` with frame `pfn` continues this run.
    fn continues(&self, page: u64, pfn: u64) -> bool {
        self.first_page + self.pages == page && self.first_pfn + self.pages == pfn
    }
}

/// Builds runs from pages pushed in increasing virtual order (across batches too).
#[derive(Debug, Default)]
pub(crate) struct RunBuilder {
    runs: Vec<FrameRun>,
}

impl RunBuilder {
    /// Adds virtual page `page` backed by frame `pfn`.
    pub(crate) fn push(&mut self, page: u64, pfn: u64) {
        match self.runs.last_mut() {
            Some(last) if last.continues(page, pfn) => last.pages += 1,
            _ => self.runs.push(FrameRun {
                first_page: page,
                first_pfn: pfn,
                pages: 1,
            }),
        }
    }

    pub(crate) fn into_runs(self) -> Vec<FrameRun> {
        self.runs
    }
}

/// The runs of the entries for pages `first_page..`, counting only entries that have a
/// visible frame and satisfy `keep`.
pub(crate) fn runs_of(
    first_page: u64,
    entries: &[PagemapEntry],
    keep: impl Fn(PagemapEntry) -> bool,
) -> Vec<FrameRun> {
    let mut builder = RunBuilder::default();
    for (page, entry) in (first_page..).zip(entries) {
        if let Some(pfn) = entry.pfn() {
            if keep(*entry) {
                builder.push(page, pfn.0);
            }
        }
    }
    builder.into_runs()
}

/// Page counts of a range of virtual pages (a mapping, or the totals).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct PageCounts {
    /// Virtual pages in the range.
    pub(crate) pages: u64,
    /// Present in RAM (with or without a visible PFN).
    pub(crate) resident: u64,
    /// In swap.
    pub(crate) swapped: u64,
    /// Neither: never touched, or dropped.
    pub(crate) not_present: u64,
    /// Present but the PFN was hidden (reader without CAP_SYS_ADMIN).
    pub(crate) pfn_hidden: u64,
    /// Present pages backed by a huge page (THP or hugetlbfs), when known.
    pub(crate) huge: u64,
    /// Present pages mapped by this process only (pagemap bit 56).
    pub(crate) exclusive: u64,
    /// Contiguous physical runs.
    pub(crate) runs: u64,
    /// Pages pagemap has no entry for (the vsyscall page, above the user address space):
    /// neither present nor not present as far as pagemap can tell.
    pub(crate) outside_pagemap: u64,
}

impl PageCounts {
    /// Counts one page by its pagemap entry (not `pages`, `huge` or `runs`).
    pub(crate) fn add_entry(&mut self, entry: PagemapEntry) {
        if entry.present() {
            self.resident += 1;
            self.pfn_hidden += u64::from(entry.pfn_hidden());
            self.exclusive += u64::from(entry.exclusive());
        } else if entry.swapped() {
            self.swapped += 1;
        }
    }

    /// Adds another range's counts to this one.
    pub(crate) fn merge(&mut self, other: &PageCounts) {
        self.pages += other.pages;
        self.resident += other.resident;
        self.swapped += other.swapped;
        self.not_present += other.not_present;
        self.pfn_hidden += other.pfn_hidden;
        self.huge += other.huge;
        self.exclusive += other.exclusive;
        self.runs += other.runs;
        self.outside_pagemap += other.outside_pagemap;
    }
}

/// One read of a per-frame file: frames `[first, first + len)` land at `offset` in a flat
/// buffer of [`SpanPlan::total`] words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) first: u64,
    pub(crate) len: u64,
    pub(crate) offset: usize,
}

/// The batched reads that cover a set of runs: runs sorted by frame, merged when they
/// overlap or lie at most `max_gap` frames apart (reading a few unneeded frames is cheaper
/// than another system call).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SpanPlan {
    pub(crate) spans: Vec<Span>,
}

impl SpanPlan {
    pub(crate) fn for_runs(runs: &[FrameRun], max_gap: u64) -> Self {
        let mut sorted: Vec<(u64, u64)> = runs
            .iter()
            .map(|run| (run.first_pfn, run.first_pfn + run.pages))
            .collect();
        sorted.sort_unstable();
        let mut spans: Vec<Span> = Vec::new();
        let mut offset = 0usize;
        for (start, end) in sorted {
            if let Some(last) = spans.last_mut() {
                let last_end = last.first + last.len;
                if start <= last_end.saturating_add(max_gap) {
                    if end > last_end {
                        offset += (end - last_end) as usize;
                        last.len = end - last.first;
                    }
                    continue;
                }
            }
            spans.push(Span {
                first: start,
                len: end - start,
                offset,
            });
            offset += (end - start) as usize;
        }
        SpanPlan { spans }
    }

    /// Words in the flat buffer.
    pub(crate) fn total(&self) -> usize {
        self.spans
            .last()
            .map_or(0, |span| span.offset + span.len as usize)
    }

    /// Where frame `pfn` is in the flat buffer, if a span covers it.
    pub(crate) fn locate(&self, pfn: u64) -> Option<usize> {
        let after = self.spans.partition_point(|span| span.first <= pfn);
        let span = self.spans.get(after.checked_sub(1)?)?;
        (pfn < span.first + span.len).then(|| span.offset + (pfn - span.first) as usize)
    }

    /// Spreads the flat buffer back onto pages: `out[page - first_page]` gets the word of
    /// that page's frame, for every page of `runs` (which must be within `out`).
    pub(crate) fn scatter(
        &self,
        runs: &[FrameRun],
        flat: &[u64],
        first_page: u64,
        out: &mut [u64],
    ) {
        for run in runs {
            let (Some(src), Some(dst)) = (
                self.locate(run.first_pfn),
                run.first_page.checked_sub(first_page),
            ) else {
                continue;
            };
            let (dst, len) = (dst as usize, run.pages as usize);
            if let (Some(from), Some(to)) = (flat.get(src..src + len), out.get_mut(dst..dst + len))
            {
                to.copy_from_slice(from);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = 1 << 63;
    const SWAP: u64 = 1 << 62;
    const EXCL: u64 = 1 << 56;

    fn entries(words: &[u64]) -> Vec<PagemapEntry> {
        words.iter().copied().map(PagemapEntry).collect()
    }

    #[test]
    fn groups_consecutive_frames_and_breaks_on_gaps_and_jumps() {
        let list = entries(&[
            P | 0x100,
            P | 0x101,
            P | 0x102,
            0,
            P | 0x103,
            P | 0x200,
            SWAP | 5 << 5,
            P | 0x201,
            P | 0x1ff,
        ]);
        assert_eq!(
            runs_of(0x10, &list, |_| true),
            vec![
                FrameRun {
                    first_page: 0x10,
                    first_pfn: 0x100,
                    pages: 3
                },
                FrameRun {
                    first_page: 0x14,
                    first_pfn: 0x103,
                    pages: 1
                },
                FrameRun {
                    first_page: 0x15,
                    first_pfn: 0x200,
                    pages: 1
                },
                FrameRun {
                    first_page: 0x17,
                    first_pfn: 0x201,
                    pages: 1
                },
                FrameRun {
                    first_page: 0x18,
                    first_pfn: 0x1ff,
                    pages: 1
                },
            ]
        );
    }

    #[test]
    fn a_run_continues_across_batches_and_skips_hidden_pfns() {
        let mut builder = RunBuilder::default();
        builder.push(7, 70);
        builder.push(8, 71);
        builder.push(9, 72);
        let runs = builder.into_runs();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].pages, 3);
        // A present page whose PFN reads as 0 (no CAP_SYS_ADMIN) has no frame to group.
        assert!(runs_of(0, &entries(&[P, P]), |_| true).is_empty());
        // The filter keeps only exclusive pages.
        let kept = runs_of(0, &entries(&[P | EXCL | 1, P | 2, P | EXCL | 3]), |e| {
            e.exclusive()
        });
        assert_eq!(kept.len(), 2);
    }

    #[test]
    fn counts_resident_swapped_and_absent_pages() {
        let mut counts = PageCounts {
            pages: 6,
            ..PageCounts::default()
        };
        for entry in entries(&[P | EXCL | 1, P | 2, SWAP | 3 << 5, 0, P, 0]) {
            counts.add_entry(entry);
        }
        // What is neither resident nor swapped is not present.
        counts.not_present = counts.pages - counts.resident - counts.swapped;
        assert_eq!(
            (
                counts.resident,
                counts.swapped,
                counts.not_present,
                counts.pfn_hidden,
                counts.exclusive
            ),
            (3, 1, 2, 1, 1)
        );
        let mut total = PageCounts::default();
        total.merge(&counts);
        total.merge(&counts);
        assert_eq!((total.pages, total.resident), (12, 6));
    }

    #[test]
    fn plans_one_read_per_span_of_sorted_nearby_frames() {
        let run = |first_page, first_pfn, pages| FrameRun {
            first_page,
            first_pfn,
            pages,
        };
        // Virtual order is not frame order; 0x100.. and 0x104.. merge over a 1-frame gap.
        let runs = [run(0, 0x104, 2), run(2, 0x500, 1), run(3, 0x100, 3)];
        let plan = SpanPlan::for_runs(&runs, 1);
        assert_eq!(
            plan.spans,
            vec![
                Span {
                    first: 0x100,
                    len: 6,
                    offset: 0
                },
                Span {
                    first: 0x500,
                    len: 1,
                    offset: 6
                },
            ]
        );
        assert_eq!(plan.total(), 7);
        assert_eq!(plan.locate(0x105), Some(5));
        assert_eq!(plan.locate(0x500), Some(6));
        assert_eq!(plan.locate(0x106), None);
        assert_eq!(plan.locate(0xff), None);
        // With no gap allowed they stay apart; overlapping runs (shared frames) merge.
        assert_eq!(SpanPlan::for_runs(&runs, 0).spans.len(), 3);
        assert_eq!(
            SpanPlan::for_runs(&[run(0, 10, 4), run(9, 11, 1)], 0).total(),
            4
        );

        // Scatter puts each frame's word back at its page.
        let flat: Vec<u64> = (0..7).map(|i| 1000 + i).collect();
        let mut out = [0u64; 6];
        plan.scatter(&runs, &flat, 0, &mut out);
        assert_eq!(out, [1004, 1005, 1006, 1000, 1001, 1002]);
    }
}
