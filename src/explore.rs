//! `physdemo maps`: a whole address space at once — every mapping's resident, swapped and
//! absent pages, its huge pages, and its physical frames grouped into contiguous runs; with
//! `--pages`, every page like the kernel's `page-types -L`.
//!
//! The scan is built for speed: PAGEMAP_SCAN (Linux 6.7+) finds the populated parts of each
//! mapping so empty reservations are never read; pagemap is read in 64 Ki-entry batches; and
//! `/proc/kpageflags` / `/proc/kpagecount` are read once per span of sorted frame runs
//! ([`SpanPlan`]), never frame by frame. Map counts are read only for pages pagemap does not
//! already mark as exclusively mapped (bit 56 means a map count of 1). The filters and
//! the text formatting are pure functions, tested below; [`scan_range`] is the I/O.

use std::collections::HashMap;
use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::addr::PageSize;
use crate::error::{not_found, usage};
use crate::kpage::{FrameInfoReader, KpageFlags, KPAGEFLAG_NAMES};
use crate::pagemap::{scan_category, PagemapEntry, PagemapFile};
use crate::process::{describe_path, open_user_process, validate_pid, MappingSummary};
use crate::progress::Progress;
use crate::runs::{runs_of, FrameRun, PageCounts, RunBuilder, SpanPlan};

/// Pages per pagemap batch: 64 Ki entries, 512 KiB.
pub const BATCH_PAGES: u64 = 64 * 1024;
/// Frames between two runs still read in one `pread` of kpageflags/kpagecount.
const SPAN_GAP: u64 = 4;
/// Threads reading kpageflags/kpagecount, the slowest stage of a `--pages` scan.
const FRAME_WORKERS: usize = 2;
/// Bytes of `--pages` text gathered before a write. As large as the output buffer, so the
/// buffer hands it to the kernel directly instead of copying it once more.
const OUTPUT_CHUNK: usize = 1 << 20;
/// Runs shown per mapping without `--runs`.
const RUNS_SHOWN: usize = 8;

/// A `--mapping` filter: a name (`[heap]`, a path or part of one) or an address range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingFilter {
    Name(String),
    /// The mapping containing this address, whole.
    Address(u64),
    /// `[start, end)`, clipped to each mapping it overlaps.
    Range(u64, u64),
}

impl MappingFilter {
    pub fn parse(spec: &str) -> Result<Self, String> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err("empty --mapping; give [heap], a path, an address or START-END".into());
        }
        let numeric = |text: &str| crate::addr::parse_u64(text).map_err(|e| e.to_string());
        if let Some((start, end)) = spec.split_once('-') {
            if start.trim().starts_with("0x") || start.trim().chars().all(|c| c.is_ascii_digit()) {
                let (start, end) = (numeric(start)?, numeric(end)?);
                if start >= end {
                    return Err(format!(
                        "range {spec} is empty: the start must be below the end"
                    ));
                }
                return Ok(MappingFilter::Range(start, end));
            }
        }
        if spec.starts_with("0x") {
            return numeric(spec).map(MappingFilter::Address);
        }
        Ok(MappingFilter::Name(spec.to_string()))
    }

    /// The part of the mapping `[start, end)` named `name` this filter selects.
    pub fn select(&self, start: u64, end: u64, name: &str) -> Option<(u64, u64)> {
        match self {
            MappingFilter::Name(want) => {
                (name == want || name.contains(want.as_str())).then_some((start, end))
            }
            MappingFilter::Address(addr) => (start <= *addr && *addr < end).then_some((start, end)),
            MappingFilter::Range(lo, hi) => {
                let (from, to) = (start.max(*lo), end.min(*hi));
                (from < to).then_some((from, to))
            }
        }
    }
}

/// The range of a mapping that any of `filters` selects (all of it when there are none),
/// widened to whole pages.
pub fn select_range(
    filters: &[MappingFilter],
    start: u64,
    end: u64,
    name: &str,
    page: PageSize,
) -> Option<(u64, u64)> {
    let (from, to) = if filters.is_empty() {
        (start, end)
    } else {
        filters.iter().find_map(|f| f.select(start, end, name))?
    };
    let to = page
        .page_base(to.saturating_add(page.bytes() - 1))
        .max(to.min(end));
    Some((page.page_base(from), to.min(end)))
}

/// A pagemap bit a `--flag` can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PagemapBit {
    Present,
    Swapped,
    File,
    Exclusive,
    SoftDirty,
    UffdWp,
    Guard,
}

const PAGEMAP_FLAG_NAMES: &[(&str, PagemapBit)] = &[
    ("present", PagemapBit::Present),
    ("swapped", PagemapBit::Swapped),
    ("file", PagemapBit::File),
    ("exclusive", PagemapBit::Exclusive),
    ("soft-dirty", PagemapBit::SoftDirty),
    ("uffd-wp", PagemapBit::UffdWp),
    ("guard", PagemapBit::Guard),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlagKind {
    Kpage(u32),
    Pagemap(PagemapBit),
}

/// One `--flag` term: a kpageflags or pagemap flag, possibly negated with `~` or `!`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FlagTerm {
    kind: FlagKind,
    negate: bool,
}

/// All `--flag` terms; a page must satisfy every one. Absent pages never match a filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagFilter {
    terms: Vec<FlagTerm>,
}

impl FlagFilter {
    pub fn parse(names: &[String]) -> Result<Self, String> {
        let mut terms = Vec::new();
        for raw in names.iter().flat_map(|n| n.split(',')) {
            let raw = raw.trim();
            let (negate, name) = match raw.strip_prefix(['~', '!']) {
                Some(rest) => (true, rest),
                None => (false, raw),
            };
            let name = match name {
                "anon" => "anonymous",
                "zero" => "zero_page",
                "idle" => "idle_page",
                "shared-anon" | "file/shared-anon" => "file",
                other => other,
            };
            let kind = if let Some((_, bit)) = PAGEMAP_FLAG_NAMES.iter().find(|(n, _)| *n == name) {
                FlagKind::Pagemap(*bit)
            } else if let Some((bit, _)) = KPAGEFLAG_NAMES.iter().find(|(_, n)| *n == name) {
                FlagKind::Kpage(*bit)
            } else {
                let known: Vec<&str> = PAGEMAP_FLAG_NAMES
                    .iter()
                    .map(|(n, _)| *n)
                    .chain(KPAGEFLAG_NAMES.iter().map(|(_, n)| *n))
                    .collect();
                return Err(format!(
                    "unknown flag '{name}'; known: {} (prefix ~ to negate)",
                    known.join(", ")
                ));
            };
            terms.push(FlagTerm { kind, negate });
        }
        Ok(FlagFilter { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether testing this filter needs /proc/kpageflags.
    pub fn needs_frame_flags(&self) -> bool {
        self.terms
            .iter()
            .any(|t| matches!(t.kind, FlagKind::Kpage(_)))
    }

    /// Whether a present or swapped page passes; `flags` is 0 when not read.
    pub fn matches(&self, entry: PagemapEntry, flags: KpageFlags) -> bool {
        if !entry.present() && !entry.swapped() {
            return self.terms.is_empty();
        }
        self.terms.iter().all(|term| {
            let set = match term.kind {
                FlagKind::Kpage(bit) => flags.has(bit),
                FlagKind::Pagemap(bit) => match bit {
                    PagemapBit::Present => entry.present(),
                    PagemapBit::Swapped => entry.swapped(),
                    PagemapBit::File => entry.file_or_shared_anon(),
                    PagemapBit::Exclusive => entry.exclusive(),
                    PagemapBit::SoftDirty => entry.soft_dirty(),
                    PagemapBit::UffdWp => entry.uffd_wp(),
                    PagemapBit::Guard => entry.guard_region(),
                },
            };
            set != term.negate
        })
    }
}

/// What `maps` was asked to do.
#[derive(Debug, Clone)]
pub struct MapsOptions {
    pub pid: i32,
    pub pages: bool,
    pub all_runs: bool,
    pub mappings: Vec<MappingFilter>,
    pub flags: FlagFilter,
    pub json: bool,
}

/// One batch of consecutive pages, with the frame words read for them (0 where none).
pub struct Batch {
    pub first_page: u64,
    pub entries: Vec<PagemapEntry>,
    /// kpageflags per page, or empty when not read.
    pub flags: Vec<u64>,
    /// Map count per page, or empty when not read.
    pub counts: Vec<u64>,
}

/// What to read besides pagemap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameWants {
    pub flags: bool,
    pub counts: bool,
}

/// The parts of a mapping worth reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Populated {
    /// Virtual page number ranges `[first, end)`.
    pub ranges: Vec<(u64, u64)>,
    /// Present pages in huge pages, when PAGEMAP_SCAN said; `None` without PAGEMAP_SCAN.
    pub huge: Option<u64>,
}

/// The virtual page ranges worth reading in `[start, end)` (byte addresses), and the number of
/// present huge pages when PAGEMAP_SCAN told us; `None` for that means the kernel has no
/// PAGEMAP_SCAN and the whole range is returned.
pub fn populated_pages(
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
pub fn scan_range(
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
    read: impl Fn(crate::addr::Pfn, usize) -> Result<Vec<u64>>,
) -> Result<Vec<u64>> {
    let plan = SpanPlan::for_runs(runs, SPAN_GAP);
    let mut flat = Vec::with_capacity(plan.total());
    for span in &plan.spans {
        flat.extend(read(crate::addr::Pfn(span.first), span.len as usize)?);
    }
    let mut out = vec![0u64; len as usize];
    plan.scatter(runs, &flat, first, &mut out);
    Ok(out)
}

/// One mapping's results.
#[derive(Debug, Clone)]
pub struct MappingReport {
    pub mapping: MappingSummary,
    /// The selected part of the mapping (the whole mapping unless an address range clipped it).
    pub start: u64,
    pub end: u64,
    pub counts: PageCounts,
    pub runs: Vec<FrameRun>,
}

#[derive(Debug, Serialize)]
struct RunJson {
    vaddr_start: String,
    vaddr_end: String,
    paddr_start: String,
    paddr_end: String,
    pages: u64,
}

fn run_json(run: &FrameRun, page: PageSize) -> RunJson {
    let bytes = page.bytes();
    RunJson {
        vaddr_start: format!("{:#x}", run.first_page * bytes),
        vaddr_end: format!("{:#x}", (run.first_page + run.pages) * bytes),
        paddr_start: format!("{:#x}", run.first_pfn * bytes),
        paddr_end: format!("{:#x}", (run.first_pfn + run.pages) * bytes),
        pages: run.pages,
    }
}

#[derive(Debug, Serialize)]
struct MappingJson {
    #[serde(flatten)]
    mapping: MappingSummary,
    selected_start: String,
    selected_end: String,
    #[serde(flatten)]
    counts: PageCounts,
    frame_runs: Vec<RunJson>,
}

#[derive(Debug, Serialize)]
struct MapsJson<'a> {
    pid: i32,
    command: &'a str,
    page_size: u64,
    pagemap_scan: bool,
    mappings: Vec<MappingJson>,
    total: PageCounts,
}

/// Formats a byte count as `4.0 GiB`, `12 KiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The human summary of one mapping.
pub fn render_mapping(
    report: &MappingReport,
    page: PageSize,
    all_runs: bool,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let m = &report.mapping;
    let c = &report.counts;
    writeln!(
        out,
        "{:x}-{:x} {} {:>9}  {}",
        report.start,
        report.end,
        m.perms,
        human_bytes(report.end - report.start),
        m.path
    )?;
    write!(
        out,
        "    resident {}  swapped {}  not present {}  huge {}  exclusive {}  runs {}",
        c.resident, c.swapped, c.not_present, c.huge, c.exclusive, c.runs
    )?;
    if c.pfn_hidden > 0 {
        write!(
            out,
            "  (PFNs hidden for {} pages: run as root)",
            c.pfn_hidden
        )?;
    }
    if c.outside_pagemap > 0 {
        write!(
            out,
            "  outside pagemap {} ({})",
            c.outside_pagemap,
            outside_pagemap_words(&m.path)
        )?;
    }
    writeln!(out)?;
    let shown = if all_runs {
        report.runs.len()
    } else {
        report.runs.len().min(RUNS_SHOWN)
    };
    let bytes = page.bytes();
    for run in &report.runs[..shown] {
        writeln!(
            out,
            "    {:x}-{:x} -> {:#x}-{:#x}  {} page{}",
            run.first_page * bytes,
            (run.first_page + run.pages) * bytes,
            run.first_pfn * bytes,
            (run.first_pfn + run.pages) * bytes,
            run.pages,
            if run.pages == 1 { "" } else { "s" }
        )?;
    }
    if shown < report.runs.len() {
        writeln!(
            out,
            "    ... {} more runs (--runs lists them all)",
            report.runs.len() - shown
        )?;
    }
    Ok(())
}

/// Why a mapping has no pagemap entries, in the words the reports use.
pub fn outside_pagemap_words(path: &str) -> &'static str {
    if path == "[vsyscall]" {
        "the vsyscall page, which the kernel maps above the user address space that pagemap covers"
    } else {
        "above the user address space that pagemap covers"
    }
}

/// The totals line.
pub fn render_total(mappings: usize, c: &PageCounts, page: PageSize) -> String {
    let mut text = format!(
        "total: {mappings} mappings, {} pages: resident {} ({}), swapped {}, not present {}, \
         huge {}, exclusive {}, runs {}",
        c.pages,
        c.resident,
        human_bytes(c.resident * page.bytes()),
        c.swapped,
        c.not_present,
        c.huge,
        c.exclusive,
        c.runs
    );
    if c.outside_pagemap > 0 {
        text.push_str(&format!(", outside pagemap {}", c.outside_pagemap));
    }
    text
}

/// Appends `0x` and the lowercase hex digits of `value`.
pub fn push_hex(buf: &mut Vec<u8>, value: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digits = (64 - value.leading_zeros()).div_ceil(4).max(1) as usize;
    let mut text = [b'0'; 18];
    text[1] = b'x';
    for (i, slot) in text[2..2 + digits].iter_mut().rev().enumerate() {
        *slot = DIGITS[((value >> (i * 4)) & 0xf) as usize];
    }
    buf.extend_from_slice(&text[..2 + digits]);
}

/// Appends a decimal number.
fn push_dec(buf: &mut Vec<u8>, mut value: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// Text of the flag columns, cached per distinct flags word (a scan sees few).
#[derive(Default)]
pub struct NameCache {
    kpage: HashMap<u64, String>,
    pagemap: HashMap<u64, String>,
    last_kpage: Option<(u64, String)>,
    last_pagemap: Option<(u64, String)>,
}

impl NameCache {
    fn kpage(&mut self, flags: u64) -> &str {
        // Neighbouring pages mostly share flags: skip the hash lookup then.
        if self
            .last_kpage
            .as_ref()
            .map_or(true, |(last, _)| *last != flags)
        {
            let text = self.kpage_slow(flags).to_string();
            self.last_kpage = Some((flags, text));
        }
        self.last_kpage
            .as_ref()
            .map_or("-", |(_, text)| text.as_str())
    }

    fn kpage_slow(&mut self, flags: u64) -> &str {
        self.kpage.entry(flags).or_insert_with(|| {
            let names = KpageFlags(flags).names();
            if names.is_empty() {
                "-".to_string()
            } else {
                names.join(",")
            }
        })
    }

    fn pagemap(&mut self, entry: PagemapEntry) -> &str {
        let key = entry.0 >> 55;
        if self
            .last_pagemap
            .as_ref()
            .map_or(true, |(last, _)| *last != key)
        {
            let text = self.pagemap_slow(entry).to_string();
            self.last_pagemap = Some((key, text));
        }
        self.last_pagemap
            .as_ref()
            .map_or("-", |(_, text)| text.as_str())
    }

    fn pagemap_slow(&mut self, entry: PagemapEntry) -> &str {
        self.pagemap.entry(entry.0 >> 55).or_insert_with(|| {
            let names = entry.flag_names();
            if names.is_empty() {
                "-".to_string()
            } else {
                names.join(",")
            }
        })
    }
}

/// The header of `--pages` text output.
pub const PAGES_HEADER: &str = "# vaddr\tpfn\tpaddr\tmapcount\tpagemap\tkpageflags";

/// One `--pages` text line: vaddr, PFN, paddr, map count, pagemap bits, kpageflags names,
/// tab-separated. A swapped page shows `swap:TYPE:OFFSET` for its PFN and `-` for the rest.
pub fn push_page_line(
    buf: &mut Vec<u8>,
    names: &mut NameCache,
    page: PageSize,
    vpn: u64,
    entry: PagemapEntry,
    flags: u64,
    count: u64,
) {
    push_hex(buf, vpn << page.shift());
    buf.push(b'\t');
    match entry.pfn() {
        Some(pfn) => {
            push_hex(buf, pfn.0);
            buf.push(b'\t');
            push_hex(buf, pfn.0 << page.shift());
            buf.push(b'\t');
            push_dec(buf, count);
        }
        None if entry.swapped() => {
            buf.extend_from_slice(b"swap:");
            push_dec(buf, entry.swap_type().unwrap_or(0));
            buf.push(b':');
            push_hex(buf, entry.swap_offset().unwrap_or(0));
            buf.extend_from_slice(b"\t-\t-");
        }
        None => buf.extend_from_slice(b"hidden\t-\t-"),
    }
    buf.push(b'\t');
    buf.extend_from_slice(names.pagemap(entry).as_bytes());
    buf.push(b'\t');
    buf.extend_from_slice(names.kpage(flags).as_bytes());
    buf.push(b'\n');
}

#[derive(Serialize)]
struct PageJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    vaddr: String,
    pfn: Option<String>,
    paddr: Option<String>,
    mapcount: Option<u64>,
    swap_type: Option<u64>,
    swap_offset: Option<String>,
    pagemap: Vec<&'static str>,
    pagemap_raw: String,
    kpageflags: &'a [String],
    kpageflags_raw: String,
}

/// Runs `physdemo maps`.
pub fn run(options: &MapsOptions) -> Result<()> {
    let pid = options.pid;
    let process = open_user_process(pid)?;
    let pagemap = PagemapFile::open(pid)?;
    let page = PageSize::of_system();
    let shift = page.shift();

    let selected: Vec<(usize, u64, u64)> = process
        .maps
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let name = describe_path(&m.pathname);
            select_range(&options.mappings, m.address.0, m.address.1, &name, page)
                .map(|(s, e)| (i, s, e))
        })
        .collect();
    if selected.is_empty() {
        // Nothing to show is "not found" (exit 3), as for `inspect`; one address in no
        // mapping gets inspect's very words, naming the nearest mappings.
        if let [MappingFilter::Address(addr)] = options.mappings.as_slice() {
            process.mapping_of(crate::addr::VirtAddr(*addr))?;
        }
        return Err(not_found(format!(
            "no mapping of pid {pid} ({}) matches the --mapping filters",
            process.command
        ))
        .hint(format!("see /proc/{pid}/maps for names and ranges"))
        .into());
    }

    let need_flags = options.pages || options.flags.needs_frame_flags();
    let frames = if need_flags || options.pages {
        Some(FrameInfoReader::open()?)
    } else {
        FrameInfoReader::open().ok()
    };
    let total_pages: u64 = selected.iter().map(|(_, s, e)| (e - s) >> shift).sum();
    let mut progress = Progress::new(format!("scanning pid {pid}"), total_pages, "pages");

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(OUTPUT_CHUNK, stdout.lock());
    let mut names = NameCache::default();
    let mut line = Vec::with_capacity(OUTPUT_CHUNK + 4096);
    let mut total = PageCounts::default();
    let mut reports = Vec::new();
    let used_scan = pagemap.has_pagemap_scan();
    if options.pages && !options.json {
        writeln!(
            out,
            "# pid {pid} ({}), page size {}",
            process.command,
            page.bytes()
        )?;
        writeln!(out, "{PAGES_HEADER}")?;
    }

    for (index, start, end) in selected {
        let map = &process.maps[index];
        let summary = MappingSummary::from(map);
        // One page-table walk per mapping: pagemap is read densely, and PAGEMAP_SCAN (where
        // the kernel has it) only skips what turns out to be empty (see `Batches`). Huge pages
        // are told by kpageflags when those are read anyway, else from the runs afterwards.
        // Pagemap ends at the top of the user address space: a mapping above it (the
        // vsyscall page) has no entries at all, so it is neither present nor absent.
        let covered = pagemap.entry_if_covered(start >> shift)?.is_some();
        let ranges = if covered {
            vec![(start >> shift, end >> shift)]
        } else {
            Vec::new()
        };
        let wants = FrameWants {
            flags: need_flags,
            counts: options.pages,
        };
        let mut counts = PageCounts {
            pages: (end - start) >> shift,
            ..PageCounts::default()
        };
        let mut populated = 0u64;
        let mut builder = RunBuilder::default();
        if options.pages {
            if options.json {
                let head = serde_json::json!({
                    "type": "mapping",
                    "mapping": &summary,
                    "selected_start": format!("{start:#x}"),
                    "selected_end": format!("{end:#x}"),
                    "pagemap_covered": covered,
                });
                write_json_line(&mut out, &head)?;
            } else {
                writeln!(
                    out,
                    "# {start:x}-{end:x} {} {} {}{}",
                    summary.perms,
                    summary.offset,
                    summary.path,
                    if covered {
                        String::new()
                    } else {
                        format!("  ({})", outside_pagemap_words(&summary.path))
                    }
                )?;
            }
        }
        let mut scanned = 0u64;
        for (first, last) in ranges {
            scan_range(&pagemap, frames.as_ref(), wants, first, last, |batch| {
                for (i, entry) in batch.entries.iter().enumerate() {
                    if !entry.present() && !entry.swapped() {
                        continue;
                    }
                    populated += 1;
                    let flags = batch.flags.get(i).copied().unwrap_or(0);
                    if !options.flags.matches(*entry, KpageFlags(flags)) {
                        continue;
                    }
                    counts.add_entry(*entry);
                    let vpn = batch.first_page + i as u64;
                    if entry.present()
                        && wants.flags
                        && (KpageFlags(flags).has(KpageFlags::THP)
                            || KpageFlags(flags).has(KpageFlags::HUGE))
                    {
                        counts.huge += 1;
                    }
                    if let Some(pfn) = entry.pfn() {
                        builder.push(vpn, pfn.0);
                    }
                    if options.pages {
                        let count = batch.counts.get(i).copied().unwrap_or(0);
                        if options.json {
                            write_page_json(&mut out, page, vpn, *entry, flags, count)?;
                        } else {
                            push_page_line(&mut line, &mut names, page, vpn, *entry, flags, count);
                            if line.len() >= OUTPUT_CHUNK {
                                out.write_all(&line)?;
                                line.clear();
                            }
                        }
                    }
                }
                progress.advance(batch.entries.len() as u64);
                scanned += batch.entries.len() as u64;
                Ok(true)
            })?;
            out.write_all(&line)?;
            line.clear();
        }
        progress.advance(counts.pages.saturating_sub(scanned));
        if covered {
            counts.not_present = counts.pages.saturating_sub(populated);
        } else {
            counts.outside_pagemap = counts.pages;
        }
        let runs = builder.into_runs();
        if !wants.flags {
            counts.huge = pmd_mapped_huge_pages(&runs, page, frames.as_ref())?;
        }
        counts.runs = runs.len() as u64;
        total.merge(&counts);
        let report = MappingReport {
            mapping: summary,
            start,
            end,
            counts,
            runs,
        };
        if options.pages {
            // The per-page listing was the output; keep only the totals.
        } else if options.json {
            reports.push(report);
        } else {
            render_mapping(&report, page, options.all_runs, &mut out)?;
            reports.push(MappingReport {
                runs: Vec::new(),
                ..report
            });
        }
    }
    progress.finish();

    let mapping_count = if options.pages { 0 } else { reports.len() };
    if options.json && !options.pages {
        let json = MapsJson {
            pid,
            command: &process.command,
            page_size: page.bytes(),
            pagemap_scan: used_scan,
            mappings: reports
                .iter()
                .map(|r| MappingJson {
                    mapping: r.mapping.clone(),
                    selected_start: format!("{:#x}", r.start),
                    selected_end: format!("{:#x}", r.end),
                    counts: r.counts,
                    frame_runs: r.runs.iter().map(|run| run_json(run, page)).collect(),
                })
                .collect(),
            total,
        };
        write_json_line(&mut out, &json)?;
    } else if options.json {
        let tail = serde_json::json!({ "type": "total", "pid": pid, "pagemap_scan": used_scan, "counts": total });
        write_json_line(&mut out, &tail)?;
    } else if options.pages {
        writeln!(out, "# {}", render_total_pages(&total, page))?;
    } else {
        writeln!(out, "{}", render_total(mapping_count, &total, page))?;
    }
    out.flush()?;
    Ok(())
}

/// Present pages in PMD-mapped huge pages (transparent or hugetlbfs), from the runs alone.
///
/// A PMD-mapped huge page always shows in pagemap as a PMD-aligned stretch of PMD size (512
/// pages of 4 KiB) backed by equally aligned, consecutive frames; one kpageflags read per
/// such candidate confirms it, so the summary needs no second page-table walk. (This is
/// what PAGEMAP_SCAN's PAGE_IS_HUGE counts too: huge pages mapped by PTEs are not included.)
fn pmd_mapped_huge_pages(
    runs: &[FrameRun],
    page: PageSize,
    frames: Option<&FrameInfoReader>,
) -> Result<u64> {
    let Some(frames) = frames else {
        return Ok(0);
    };
    let mut huge = 0;
    for head in pmd_candidates(runs, page) {
        let flags = frames.flags(crate::addr::Pfn(head), 1)?;
        if flags
            .first()
            .is_some_and(|f| f.has(KpageFlags::THP) || f.has(KpageFlags::HUGE))
        {
            huge += pages_per_pmd(page);
        }
    }
    Ok(huge)
}

/// Page-table entries per page-table page, so pages per PMD: 512 with 4 KiB pages.
fn pages_per_pmd(page: PageSize) -> u64 {
    page.bytes() / 8
}

/// The first frame of every PMD-aligned, PMD-sized stretch of `runs` whose frames are
/// PMD-aligned too: the only places a PMD-mapped huge page can be.
pub fn pmd_candidates(runs: &[FrameRun], page: PageSize) -> Vec<u64> {
    let per_pmd = pages_per_pmd(page);
    let mut heads = Vec::new();
    for run in runs.iter().filter(|r| r.pages >= per_pmd) {
        if run.first_page.wrapping_sub(run.first_pfn) % per_pmd != 0 {
            continue;
        }
        let mut vpn = run.first_page.next_multiple_of(per_pmd);
        while vpn + per_pmd <= run.first_page + run.pages {
            heads.push(run.first_pfn + (vpn - run.first_page));
            vpn += per_pmd;
        }
    }
    heads
}

fn render_total_pages(c: &PageCounts, page: PageSize) -> String {
    let mut text = format!(
        "total: {} pages listed: resident {} ({}), swapped {}, huge {}",
        c.resident + c.swapped,
        c.resident,
        human_bytes(c.resident * page.bytes()),
        c.swapped,
        c.huge
    );
    if c.outside_pagemap > 0 {
        text.push_str(&format!(
            "; {} outside pagemap, not listed",
            c.outside_pagemap
        ));
    }
    text
}

fn write_page_json(
    out: &mut impl Write,
    page: PageSize,
    vpn: u64,
    entry: PagemapEntry,
    flags: u64,
    count: u64,
) -> Result<()> {
    let names = KpageFlags(flags).names();
    let pfn = entry.pfn();
    let json = PageJson {
        kind: "page",
        vaddr: format!("{:#x}", vpn << page.shift()),
        pfn: pfn.map(|p| format!("{:#x}", p.0)),
        paddr: pfn.map(|p| format!("{:#x}", p.0 << page.shift())),
        mapcount: pfn.map(|_| count),
        swap_type: entry.swap_type(),
        swap_offset: entry.swap_offset().map(|o| format!("{o:#x}")),
        pagemap: entry.flag_names(),
        pagemap_raw: format!("{:#018x}", entry.0),
        kpageflags: &names,
        kpageflags_raw: format!("{flags:#x}"),
    };
    write_json_line(out, &json)
}

/// One JSON value and a newline; serialised first, so that a closed pipe surfaces as the
/// io::Error `main` treats as success.
fn write_json_line(out: &mut impl Write, value: &impl Serialize) -> Result<()> {
    let mut text = serde_json::to_vec(value)?;
    text.push(b'\n');
    out.write_all(&text)?;
    Ok(())
}

/// Parses the command-line form into options.
pub fn options_from_args(
    pid: i64,
    pages: bool,
    all_runs: bool,
    mappings: &[String],
    flags: &[String],
    json: bool,
) -> Result<MapsOptions> {
    let pid = validate_pid(pid)?;
    let mappings = mappings
        .iter()
        .map(|spec| MappingFilter::parse(spec))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|msg| {
            usage(msg).hint("e.g. --mapping '[heap]' or --mapping 0x7f00000000-0x7f00200000")
        })?;
    let flags = FlagFilter::parse(flags).map_err(usage)?;
    Ok(MapsOptions {
        pid,
        pages,
        all_runs,
        mappings,
        flags,
        json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = 1 << 63;
    const SWAP: u64 = 1 << 62;
    const EXCL: u64 = 1 << 56;

    fn four_k() -> PageSize {
        PageSize::new(4096).unwrap()
    }

    #[test]
    fn pmd_sized_aligned_runs_with_aligned_frames_are_the_huge_page_candidates() {
        let run = |first_page, first_pfn, pages| FrameRun {
            first_page,
            first_pfn,
            pages,
        };
        let runs = [
            // 3 PMDs' worth, starting mid-PMD: two whole aligned stretches inside
            run(0x7f00_0000_0100, 0x4_0100, 1536),
            // aligned virtual start but frames offset by one page: never a PMD mapping
            run(0x7f00_0010_0000, 0x5_0001, 1024),
            // exactly one aligned PMD
            run(0x7f00_0020_0000, 0x6_0000, 512),
            // too short
            run(0x7f00_0030_0000, 0x7_0000, 511),
        ];
        assert_eq!(
            pmd_candidates(&runs, four_k()),
            vec![0x4_0200, 0x4_0400, 0x6_0000]
        );
        assert_eq!(pages_per_pmd(four_k()), 512);
        assert!(pmd_candidates(&[], four_k()).is_empty());
    }

    #[test]
    fn parses_mapping_filters() {
        assert_eq!(
            MappingFilter::parse("[heap]"),
            Ok(MappingFilter::Name("[heap]".into()))
        );
        assert_eq!(
            MappingFilter::parse("0x1000-0x3000"),
            Ok(MappingFilter::Range(0x1000, 0x3000))
        );
        assert_eq!(
            MappingFilter::parse("0x7f00"),
            Ok(MappingFilter::Address(0x7f00))
        );
        assert_eq!(
            MappingFilter::parse("/usr/lib/x86_64-linux-gnu/libc.so.6"),
            Ok(MappingFilter::Name(
                "/usr/lib/x86_64-linux-gnu/libc.so.6".into()
            ))
        );
        assert!(MappingFilter::parse("0x3000-0x1000").is_err());
        assert!(MappingFilter::parse("").is_err());
    }

    #[test]
    fn selects_and_clips_mappings() {
        let page = four_k();
        let heap = [MappingFilter::Name("[heap]".into())];
        assert_eq!(
            select_range(&heap, 0x1000, 0x9000, "[heap]", page),
            Some((0x1000, 0x9000))
        );
        assert_eq!(select_range(&heap, 0x1000, 0x9000, "[stack]", page), None);
        let libc = [MappingFilter::Name("libc".into())];
        assert!(select_range(&libc, 0, 0x1000, "/usr/lib/libc.so.6", page).is_some());
        let range = [MappingFilter::Range(0x2800, 0x4001)];
        assert_eq!(
            select_range(&range, 0x1000, 0x9000, "x", page),
            Some((0x2000, 0x5000))
        );
        assert_eq!(select_range(&range, 0x5000, 0x9000, "x", page), None);
        let addr = [MappingFilter::Address(0x8fff)];
        assert_eq!(
            select_range(&addr, 0x1000, 0x9000, "x", page),
            Some((0x1000, 0x9000))
        );
        assert_eq!(
            select_range(&[], 0x1000, 0x9000, "x", page),
            Some((0x1000, 0x9000))
        );
    }

    #[test]
    fn flag_filters_combine_kpageflags_and_pagemap_bits() {
        let thp = KpageFlags(1 << KpageFlags::THP | 1 << KpageFlags::ANON);
        let plain = KpageFlags(1 << KpageFlags::ANON);
        let filter = FlagFilter::parse(&["thp".into()]).unwrap();
        assert!(filter.needs_frame_flags());
        assert!(filter.matches(PagemapEntry(P | 5), thp));
        assert!(!filter.matches(PagemapEntry(P | 5), plain));
        let swapped = FlagFilter::parse(&["swapped".into()]).unwrap();
        assert!(!swapped.needs_frame_flags());
        assert!(swapped.matches(PagemapEntry(SWAP | 1 << 5), KpageFlags(0)));
        assert!(!swapped.matches(PagemapEntry(P | 5), plain));
        let not_excl_anon = FlagFilter::parse(&["~exclusive,anon".into()]).unwrap();
        assert!(not_excl_anon.matches(PagemapEntry(P | 5), plain));
        assert!(!not_excl_anon.matches(PagemapEntry(P | EXCL | 5), plain));
        // An absent page matches only the empty filter.
        assert!(!FlagFilter::parse(&["~thp".into()])
            .unwrap()
            .matches(PagemapEntry(0), plain));
        assert!(FlagFilter::default().matches(PagemapEntry(0), plain));
        let err = FlagFilter::parse(&["bogus".into()]).unwrap_err();
        assert!(err.contains("unknown flag 'bogus'") && err.contains("ksm"));
    }

    #[test]
    fn formats_page_lines_like_a_table() {
        let mut buf = Vec::new();
        let mut names = NameCache::default();
        let page = four_k();
        push_page_line(
            &mut buf,
            &mut names,
            page,
            0x7f12_3456,
            PagemapEntry(P | EXCL | 0x1234),
            1 << 5 | 1 << 12,
            1,
        );
        push_page_line(
            &mut buf,
            &mut names,
            page,
            0x10,
            PagemapEntry(SWAP | 0xab << 5 | 2),
            0,
            0,
        );
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "0x7f123456000\t0x1234\t0x1234000\t1\tpresent,exclusive\tlru,anonymous\n\
             0x10000\tswap:2:0xab\t-\t-\tswapped\t-\n"
        );
        let mut hex = Vec::new();
        push_hex(&mut hex, 0);
        push_hex(&mut hex, u64::MAX);
        assert_eq!(hex, b"0x00xffffffffffffffff");
    }

    #[test]
    fn summarises_a_mapping_with_its_runs() {
        let report = MappingReport {
            mapping: MappingSummary {
                start: "0x1000".into(),
                end: "0x5000".into(),
                perms: "rw-p".into(),
                offset: "0x0".into(),
                device: "00:00".into(),
                inode: 0,
                path: "[heap]".into(),
            },
            start: 0x1000,
            end: 0x5000,
            counts: PageCounts {
                pages: 4,
                resident: 3,
                swapped: 0,
                not_present: 1,
                runs: 2,
                exclusive: 3,
                ..PageCounts::default()
            },
            runs: runs_of(
                1,
                &[P | EXCL | 0x50, P | EXCL | 0x51, P | EXCL | 0x90, 0].map(PagemapEntry),
                |_| true,
            ),
        };
        let mut out = Vec::new();
        render_mapping(&report, four_k(), false, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "1000-5000 rw-p  16.0 KiB  [heap]\n    resident 3  swapped 0  not present 1  huge 0  \
             exclusive 3  runs 2\n    1000-3000 -> 0x50000-0x52000  2 pages\n    \
             3000-4000 -> 0x90000-0x91000  1 page\n"
        );
        let vsyscall = MappingReport {
            mapping: MappingSummary {
                start: "0xffffffffff600000".into(),
                end: "0xffffffffff601000".into(),
                perms: "--xp".into(),
                offset: "0x0".into(),
                device: "00:00".into(),
                inode: 0,
                path: "[vsyscall]".into(),
            },
            start: 0xffff_ffff_ff60_0000,
            end: 0xffff_ffff_ff60_1000,
            counts: PageCounts {
                pages: 1,
                outside_pagemap: 1,
                ..PageCounts::default()
            },
            runs: Vec::new(),
        };
        let mut out = Vec::new();
        render_mapping(&vsyscall, four_k(), false, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("not present 0 "), "{text}");
        assert!(
            text.contains("outside pagemap 1 (the vsyscall page, which the kernel maps above"),
            "{text}"
        );
        assert!(render_total(1, &vsyscall.counts, four_k()).ends_with(", outside pagemap 1"));
        assert!(render_total_pages(&vsyscall.counts, four_k())
            .ends_with("; 1 outside pagemap, not listed"));
        assert_eq!(human_bytes(4 << 30), "4.0 GiB");
        assert_eq!(human_bytes(512), "512 B");
    }
}
