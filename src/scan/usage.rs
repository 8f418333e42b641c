// SPDX-License-Identifier: MIT OR Apache-2.0
//! The engine of `physdemo usage`: RSS, PSS, USS and swap of every process (or of every
//! mapped file and kind of memory), from pagemap and `/proc/kpagecount`, counted the way the
//! kernel's `smaps_rollup` counts them ([`crate::kernel::usage`]).
//!
//! Three passes, none of them per page through the kernel:
//! 1. the processes, split across [`WORKERS`] threads: per process one PAGEMAP_SCAN over the
//!    whole address space (Linux 6.7+; the maps file without it) finds the present and
//!    swapped regions, and pagemap is read for them in a few `pread`s, regions close together
//!    read as one. Exclusive pages (pagemap bit 56) are counted at once; the raw entries of the
//!    others are kept in one buffer per thread (no allocation per process).
//! 2. the frames those entries name, marked in a bitmap, have their kpagecount and kpageflags
//!    read in bulk, one `pread` per span of nearby frames: a libc page every process maps is
//!    read once, not once per process.
//! 3. each kept entry is charged `(PAGE_SIZE << 12) / mapcount`, as the kernel does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Result;

use crate::kernel::addr::{PageSize, Pfn};
use crate::kernel::kpageflags::KpageFlags;
use crate::kernel::maps::describe_path;
use crate::kernel::pagemap::{scan_category, PagemapEntry};
use crate::kernel::usage::{
    flags_needed_after_count, mapping_key, needs_frame, words_needed, FrameWords, Usage,
};
use crate::proc::kpage::FrameInfoReader;
use crate::proc::pagemap::{user_space_end, PageRegion, PagemapFile};
use crate::proc::process::{open_user_process, process_uid, read_stat_brief};

/// Threads scanning processes (the machine this was measured on has two cores).
const WORKERS: usize = 2;
/// Regions fewer than this many pages apart are read with one pagemap `pread`.
const JOIN_GAP_PAGES: u64 = 512;
/// Frames fewer than this apart are read with one kpagecount `pread` (the kernel's cost per
/// frame is small there)...
const COUNT_GAP: u64 = 16;
/// ...and with one kpageflags `pread` (each frame's flags cost the kernel more).
const FLAG_GAP: u64 = 8;
/// Set in a frame's flags in the table: they were read.
const FLAGS_READ: u32 = 1 << 31;
/// Set in the segment word of a kept entry: the page is in a huge-page region.
const HUGE_REGION: u64 = 1 << 63;

/// What to account.
#[derive(Debug, Clone)]
pub(crate) struct UsageScope {
    /// The processes, in order.
    pub(crate) pids: Vec<i32>,
    /// The pids were named by the user: each must be readable.
    pub(crate) named: bool,
    /// Only processes of this user.
    pub(crate) uid: Option<u32>,
    /// Group by mapped file or kind of mapping instead of by process.
    pub(crate) by_mapping: bool,
}

/// One process's usage.
#[derive(Debug, Clone)]
pub(crate) struct ProcessUsage {
    pub(crate) pid: i32,
    pub(crate) command: String,
    pub(crate) usage: Usage,
}

/// One file or kind of mapping, over every process mapping it.
#[derive(Debug, Clone)]
pub(crate) struct MappingUsage {
    pub(crate) name: String,
    pub(crate) usage: Usage,
    /// Processes with at least one mapping of it.
    pub(crate) processes: u64,
}

/// What a scan found.
#[derive(Debug, Clone, Default)]
pub(crate) struct UsageReport {
    pub(crate) processes: Vec<ProcessUsage>,
    /// Filled with `--by mapping` only.
    pub(crate) mappings: Vec<MappingUsage>,
    /// PSS and USS were computed (frame numbers and kpagecount readable).
    pub(crate) frames_known: bool,
    /// Processes that exited or could not be read during the scan.
    pub(crate) skipped: usize,
}

/// A run of a process's pages attributed to one process or one mapping key.
struct Segment {
    /// Index into the scope's pids.
    process: usize,
    /// Index into the worker's key names (0 in the per-process view).
    key: u32,
    /// Pages counted without frame words (exclusive, swapped).
    base: Usage,
}

/// One worker's results, and its buffers reused from process to process.
#[derive(Default)]
struct Collected {
    segments: Vec<Segment>,
    /// Pairs (raw pagemap entry, segment index) of the pages charged in pass 3.
    entries: Vec<u64>,
    commands: Vec<(usize, String)>,
    keys: Vec<String>,
    key_index: HashMap<String, u32>,
    skipped: usize,
    error: Option<anyhow::Error>,
    regions: Vec<PageRegion>,
    scratch: Vec<PageRegion>,
    words: Vec<u64>,
    text: Vec<u8>,
    max_pfn: u64,
}

/// A virtual range of a process and the key its pages count under.
struct Area {
    start: u64,
    end: u64,
    key: u32,
}

/// Scans the processes of `scope`; `on_process` is called (from this thread) with the number
/// of processes done so far, for a progress bar.
pub(crate) fn account(
    scope: &UsageScope,
    page: PageSize,
    mut on_process: impl FnMut(usize),
) -> Result<UsageReport> {
    let frames = FrameInfoReader::open().ok();
    let frames_known = frames.is_some();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    // WORKERS - 1 threads and this one, which also reports progress between processes.
    let collected: Vec<Collected> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..WORKERS)
            .map(|_| s.spawn(|| collect(scope, page, frames_known, &next, &done, || {})))
            .collect();
        let ours = collect(scope, page, frames_known, &next, &done, || {
            on_process(done.load(Ordering::Relaxed))
        });
        let mut all: Vec<Collected> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect();
        all.insert(0, ours);
        all
    });
    on_process(done.load(Ordering::Relaxed));
    let mut collected = collected;
    if let Some(err) = collected.iter_mut().find_map(|c| c.error.take()) {
        return Err(err);
    }
    let table = match &frames {
        Some(frames) => FrameTable::read(frames, &collected)?,
        None => FrameTable::default(),
    };
    Ok(charge_all(scope, page, &collected, &table, frames_known))
}

/// Worker: takes the next pid until none is left.
fn collect(
    scope: &UsageScope,
    page: PageSize,
    frames_known: bool,
    next: &AtomicUsize,
    done: &AtomicUsize,
    mut tick: impl FnMut(),
) -> Collected {
    let mut out = Collected {
        keys: vec![String::new()],
        ..Collected::default()
    };
    out.scratch = vec![PageRegion::default(); 1024];
    out.words = vec![0; 64 * 1024];
    loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(&pid) = scope.pids.get(index) else {
            break;
        };
        if let Err(err) = collect_process(scope, page, frames_known, index, pid, &mut out) {
            if scope.named {
                out.error = Some(err);
                break;
            }
            out.skipped += 1;
        }
        done.fetch_add(1, Ordering::Relaxed);
        tick();
    }
    out
}

/// One process: its command, its areas, its pagemap.
fn collect_process(
    scope: &UsageScope,
    page: PageSize,
    frames_known: bool,
    index: usize,
    pid: i32,
    out: &mut Collected,
) -> Result<()> {
    let Some(brief) = read_stat_brief(pid, &mut out.text) else {
        return Err(crate::proc::process::no_such_process(pid).into());
    };
    if brief.has_no_memory() {
        if scope.named {
            open_user_process(pid)?;
        }
        return Ok(());
    }
    if let Some(uid) = scope.uid {
        if process_uid(pid) != Some(uid) {
            return Ok(());
        }
    }
    let pagemap = PagemapFile::open(pid)?;
    let scanned = match user_space_end() {
        Some(end) => {
            let Collected {
                scratch, regions, ..
            } = out;
            pagemap.scan_into(0, end, scratch, regions)?
        }
        None => false,
    };
    let areas = if scanned && !scope.by_mapping {
        vec![Area {
            start: 0,
            end: u64::MAX,
            key: 0,
        }]
    } else {
        areas_from_maps(pid, scope.by_mapping, out)?
    };
    if !scanned {
        // Without PAGEMAP_SCAN every mapping is read whole; huge pages are not known, so
        // every present frame's words are read.
        out.regions.clear();
        out.regions.extend(areas.iter().map(|a| PageRegion {
            start: a.start,
            end: a.end,
            categories: scan_category::PRESENT | scan_category::HUGE,
        }));
    }
    let first_segment = out.segments.len();
    for area in &areas {
        if out.segments[first_segment..]
            .iter()
            .all(|s| s.key != area.key)
        {
            out.segments.push(Segment {
                process: index,
                key: area.key,
                base: Usage::default(),
            });
        }
    }
    read_regions(&pagemap, page, frames_known, &areas, first_segment, out)?;
    out.commands.push((index, brief.command));
    Ok(())
}

/// The mappings of `pid` as areas (one key per file or kind with `--by mapping`, else all
/// under key 0).
fn areas_from_maps(pid: i32, by_mapping: bool, out: &mut Collected) -> Result<Vec<Area>> {
    let process = open_user_process(pid)?;
    let mut areas = Vec::with_capacity(process.maps.len());
    for map in &process.maps {
        let key = if by_mapping {
            let name = mapping_key(&describe_path(&map.pathname));
            match out.key_index.get(&name) {
                Some(&key) => key,
                None => {
                    let key = out.keys.len() as u32;
                    out.keys.push(name.clone());
                    out.key_index.insert(name, key);
                    key
                }
            }
        } else {
            0
        };
        areas.push(Area {
            start: map.address.0,
            end: map.address.1,
            key,
        });
    }
    Ok(areas)
}

/// Reads pagemap for the regions in `out.regions` (sorted), nearby ones in one `pread`, and
/// sorts each page into its area's segment: counted now, or kept for pass 3.
fn read_regions(
    pagemap: &PagemapFile,
    page: PageSize,
    frames_known: bool,
    areas: &[Area],
    first_segment: usize,
    out: &mut Collected,
) -> Result<()> {
    let shift = page.shift();
    let regions = std::mem::take(&mut out.regions);
    let mut words = std::mem::take(&mut out.words);
    let mut i = 0;
    while i < regions.len() {
        // Regions [i, j) are read together, in chunks of the buffer's size.
        let first = regions[i].start >> shift;
        let mut j = i + 1;
        while j < regions.len()
            && (regions[j].start >> shift) < (regions[j - 1].end >> shift) + JOIN_GAP_PAGES
        {
            j += 1;
        }
        let last = regions[j - 1].end >> shift;
        let mut chunk = first;
        while chunk < last {
            let count = ((last - chunk) as usize).min(words.len());
            let got = pagemap.read_raw(chunk, &mut words[..count])?;
            let chunk_end = chunk + got as u64;
            for region in &regions[i..j] {
                let huge = region.categories & scan_category::HUGE != 0;
                let a = (region.start >> shift).max(chunk);
                let b = (region.end >> shift).min(chunk_end);
                for vpn in a..b {
                    let entry = PagemapEntry(words[(vpn - chunk) as usize]);
                    let segment = segment_of(areas, vpn << shift, first_segment, out);
                    sort_page(entry, huge, frames_known, page.bytes(), segment, out);
                }
            }
            if got < count {
                break;
            }
            chunk = chunk_end;
        }
        i = j;
    }
    out.regions = regions;
    out.words = words;
    Ok(())
}

/// The segment (of this process) the page at `addr` counts under.
fn segment_of(areas: &[Area], addr: u64, first_segment: usize, out: &Collected) -> usize {
    let key = if areas.len() == 1 {
        areas[0].key
    } else {
        let at = areas.partition_point(|a| a.end <= addr);
        areas.get(at).map_or(0, |a| a.key)
    };
    (first_segment..out.segments.len())
        .find(|&s| out.segments[s].key == key)
        .unwrap_or(first_segment)
}

/// Counts one page now, or keeps its entry for pass 3.
fn sort_page(
    entry: PagemapEntry,
    huge: bool,
    frames_known: bool,
    page_bytes: u64,
    segment: usize,
    out: &mut Collected,
) {
    if entry.swapped() {
        out.segments[segment].base.swap += page_bytes;
    } else if !entry.present() {
    } else if frames_known && needs_frame(entry, huge) {
        if let Some(Pfn(pfn)) = entry.pfn() {
            out.max_pfn = out.max_pfn.max(pfn);
        }
        // Kept as pairs: the raw entry, the segment it counts under (and whether huge).
        out.entries.push(entry.0);
        out.entries
            .push(segment as u64 | if huge { HUGE_REGION } else { 0 });
    } else if entry.exclusive() {
        out.segments[segment].base.add_exclusive(page_bytes, 1);
    } else {
        // No frame number to look up (not root): resident, share unknown.
        out.segments[segment].base.rss += page_bytes;
    }
}

/// kpagecount and kpageflags of every frame the kept entries name, found in O(1): the marked
/// frames form a bitmap, and a frame's words sit at its rank among the marked ones (the count
/// of marked frames before its bitmap word, plus those below it in the word). A dense array
/// over all of RAM would cost a page fault every few frames, a search a dozen steps per page.
#[derive(Default)]
struct FrameTable {
    marks: Vec<u64>,
    /// Marked frames before each word of `marks`.
    rank: Vec<u32>,
    counts: Vec<u32>,
    flags: Vec<u32>,
}

impl FrameTable {
    /// Marks the frames (map counts for the entries not exclusive, flags for those in huge
    /// regions), reads the counts span by span, then the flags of the frames the counts
    /// leave open ([`flags_needed_after_count`]: those are not exclusive, so already marked).
    fn read(frames: &FrameInfoReader, collected: &[Collected]) -> Result<FrameTable> {
        let max_pfn = collected.iter().map(|c| c.max_pfn).max().unwrap_or(0);
        let mut count_marks = vec![0u64; (max_pfn / 64 + 1) as usize];
        let mut flag_marks = count_marks.clone();
        let kept = || {
            collected.iter().flat_map(|c| {
                c.entries.chunks_exact(2).filter_map(|pair| {
                    let entry = PagemapEntry(pair[0]);
                    let pfn = entry.pfn()?.0;
                    Some((entry, pair[1] & HUGE_REGION != 0, pfn))
                })
            })
        };
        for (entry, huge, pfn) in kept() {
            let needs = words_needed(entry, huge);
            let (word, bit) = ((pfn / 64) as usize, 1 << (pfn % 64));
            if needs.count {
                count_marks[word] |= bit;
            }
            if needs.flags {
                flag_marks[word] |= bit;
            }
        }
        let mut table = FrameTable {
            marks: count_marks
                .iter()
                .zip(&flag_marks)
                .map(|(c, f)| c | f)
                .collect(),
            ..FrameTable::default()
        };
        let mut total = 0u32;
        table.rank = table
            .marks
            .iter()
            .map(|word| {
                let before = total;
                total += word.count_ones();
                before
            })
            .collect();
        table.counts = vec![0; total as usize];
        table.flags = vec![0; total as usize];
        let mut buf = vec![0u64; 4096];
        for (first, end) in marked_spans(&count_marks, COUNT_GAP) {
            for (pfn, word) in read_span(frames, first, end, &mut buf, true)? {
                if let Some(at) = table.index(pfn as u64) {
                    table.counts[at] = word.min(u64::from(u32::MAX)) as u32;
                }
            }
        }
        for (entry, _, pfn) in kept() {
            if entry.file_or_shared_anon() || entry.exclusive() {
                continue;
            }
            let count = table.index(pfn).map_or(0, |at| u64::from(table.counts[at]));
            if flags_needed_after_count(entry, count) {
                flag_marks[(pfn / 64) as usize] |= 1 << (pfn % 64);
            }
        }
        for (first, end) in marked_spans(&flag_marks, FLAG_GAP) {
            for (pfn, word) in read_span(frames, first, end, &mut buf, false)? {
                if let Some(at) = table.index(pfn as u64) {
                    // Every flag the accounting looks at is below bit 31; bit 31 marks "read".
                    table.flags[at] = (word as u32 & !FLAGS_READ) | FLAGS_READ;
                }
            }
        }
        Ok(table)
    }

    fn index(&self, pfn: u64) -> Option<usize> {
        let (word, bit) = ((pfn / 64) as usize, pfn % 64);
        let marks = *self.marks.get(word)?;
        (marks & (1 << bit) != 0)
            .then(|| self.rank[word] as usize + (marks & ((1u64 << bit) - 1)).count_ones() as usize)
    }

    fn words(&self, pfn: u64) -> FrameWords {
        let Some(at) = self.index(pfn) else {
            return FrameWords::default();
        };
        let flags = self.flags[at];
        FrameWords {
            flags: (flags & FLAGS_READ != 0).then(|| KpageFlags(u64::from(flags & !FLAGS_READ))),
            map_count: u64::from(self.counts[at]),
        }
    }
}

/// The kpagecount (`counts`) or kpageflags words of frames `[first, end)`, read into `buf`.
fn read_span<'a>(
    frames: &FrameInfoReader,
    first: u64,
    end: u64,
    buf: &'a mut Vec<u64>,
    counts: bool,
) -> Result<impl Iterator<Item = (usize, u64)> + 'a> {
    let n = (end - first) as usize;
    buf.resize(n.max(buf.len()), 0);
    if counts {
        frames.map_counts_into(Pfn(first), &mut buf[..n])?;
    } else {
        frames.flags_into(Pfn(first), &mut buf[..n])?;
    }
    Ok(buf[..n]
        .iter()
        .enumerate()
        .map(move |(k, &word)| (first as usize + k, word)))
}

/// Spans `[first, end)` of marked bits, joining those fewer than `gap` apart.
pub(crate) fn marked_spans(marks: &[u64], gap: u64) -> Vec<(u64, u64)> {
    let mut spans: Vec<(u64, u64)> = Vec::new();
    for (w, &word) in marks.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            let bit = bits.trailing_zeros() as u64;
            bits &= bits - 1;
            let pfn = w as u64 * 64 + bit;
            match spans.last_mut() {
                Some(span) if pfn < span.1 + gap => span.1 = pfn + 1,
                _ => spans.push((pfn, pfn + 1)),
            }
        }
    }
    spans
}

/// Pass 3: charges every kept entry and sums by process or by mapping.
fn charge_all(
    scope: &UsageScope,
    page: PageSize,
    collected: &[Collected],
    table: &FrameTable,
    frames_known: bool,
) -> UsageReport {
    let mut totals: Vec<Usage> = collected
        .iter()
        .flat_map(|c| c.segments.iter().map(|s| s.base))
        .collect();
    let mut offset = 0;
    for c in collected {
        for pair in c.entries.chunks_exact(2) {
            let entry = PagemapEntry(pair[0]);
            let Some(Pfn(pfn)) = entry.pfn() else {
                continue;
            };
            totals[offset + (pair[1] & !HUGE_REGION) as usize].add_page(
                page.bytes(),
                entry,
                table.words(pfn),
            );
        }
        offset += c.segments.len();
    }
    let mut commands: Vec<Option<String>> = vec![None; scope.pids.len()];
    for c in collected {
        for (index, command) in &c.commands {
            commands[*index] = Some(command.clone());
        }
    }
    let mut by_process: Vec<Option<Usage>> = vec![None; scope.pids.len()];
    let mut by_key: HashMap<&str, (Usage, u64)> = HashMap::new();
    let mut all = totals.iter();
    for c in collected {
        for (segment, usage) in c.segments.iter().zip(&mut all) {
            by_process[segment.process]
                .get_or_insert_with(Usage::default)
                .add(usage);
            if scope.by_mapping {
                let slot = by_key.entry(&c.keys[segment.key as usize]).or_default();
                slot.0.add(usage);
                slot.1 += 1;
            }
        }
    }
    let processes = scope
        .pids
        .iter()
        .enumerate()
        .filter_map(|(i, &pid)| {
            Some(ProcessUsage {
                pid,
                command: commands[i].clone()?,
                usage: by_process[i].unwrap_or_default(),
            })
        })
        .collect();
    let mappings = by_key
        .into_iter()
        .map(|(name, (usage, processes))| MappingUsage {
            name: name.to_string(),
            usage,
            processes,
        })
        .collect();
    UsageReport {
        processes,
        mappings,
        frames_known,
        skipped: collected.iter().map(|c| c.skipped).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_marked_frames_into_spans_with_small_gaps() {
        let mut marks = vec![0u64; 4];
        for pfn in [3u64, 5, 70, 200, 201] {
            marks[(pfn / 64) as usize] |= 1 << (pfn % 64);
        }
        assert_eq!(marked_spans(&marks, 65), vec![(3, 71), (200, 202)]);
        assert_eq!(marked_spans(&marks, 64), vec![(3, 6), (70, 71), (200, 202)]);
        assert_eq!(
            marked_spans(&marks, 1),
            vec![(3, 4), (5, 6), (70, 71), (200, 202)]
        );
        assert!(marked_spans(&[0, 0], 64).is_empty());
    }
}
