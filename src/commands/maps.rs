// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo maps`: a whole address space at once — every mapping's resident, swapped and
//! absent pages, its huge pages, and its physical frames grouped into contiguous runs; with
//! `--pages`, every page like the kernel's `page-types -L`.
//!
//! The scan is [`crate::scan`]'s (PAGEMAP_SCAN, batched pagemap reads, kpageflags and
//! kpagecount once per span of frame runs); this module selects the mappings, counts and
//! groups what the scan hands it, and renders the report (text, `--json`, or the `--pages`
//! listing of [`crate::render::page_list`]).

use std::io::Write;

use anyhow::Result;
use procfs::process::MemoryMap;
use serde::Serialize;

use crate::error::not_found;
use crate::kernel::addr::{Hex, PageSize, Pfn, PhysAddr, VirtAddr, Word};
use crate::kernel::kpageflags::KpageFlags;
use crate::kernel::maps::{describe_path, MappingSummary};
use crate::kernel::pagemap::{outside_pagemap_words, PagemapEntry};
use crate::proc::iomem::read_shown_map;
use crate::proc::kpage::FrameInfoReader;
use crate::proc::pagemap::PagemapFile;
use crate::proc::process::{open_user_process, UserProcess};
use crate::render::file::OutputFile;
use crate::render::json::{write_json_line, write_sorted_json_line};
use crate::render::page_list::{push_page_line, NameCache, PAGES_HEADER};
use crate::render::pictures::maps::{maps_svg, MappingBands, MapsPicture};
use crate::render::progress::Progress;
use crate::render::units::human_bytes;
use crate::scan::filter::{select_range, FlagFilter, MappingFilter};
use crate::scan::huge::pmd_mapped_huge_pages;
use crate::scan::runs::{FrameRun, PageCounts, RunBuilder};
use crate::scan::{scan_range, Batch, FrameWants};

/// Bytes of `--pages` text gathered before a write. As large as the output buffer, so the
/// buffer hands it to the kernel directly instead of copying it once more.
const OUTPUT_CHUNK: usize = 1 << 20;
/// Runs shown per mapping without `--runs`.
const RUNS_SHOWN: usize = 8;

/// What `maps` was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct MapsOptions {
    pub(crate) pid: i32,
    pub(crate) pages: bool,
    pub(crate) all_runs: bool,
    pub(crate) mappings: Vec<MappingFilter>,
    pub(crate) flags: FlagFilter,
    pub(crate) json: bool,
    /// Draw the virtual-to-physical picture into this file instead.
    pub(crate) svg: Option<std::path::PathBuf>,
}

/// One mapping's results.
#[derive(Debug, Clone)]
pub(crate) struct MappingReport {
    pub(crate) mapping: MappingSummary,
    /// The selected part of the mapping (the whole mapping unless an address range clipped it).
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) counts: PageCounts,
    pub(crate) runs: Vec<FrameRun>,
}

/// One physical run in `maps --json`.
#[derive(Debug, Serialize)]
struct RunJson {
    vaddr_start: VirtAddr,
    vaddr_end: VirtAddr,
    paddr_start: PhysAddr,
    paddr_end: PhysAddr,
    pages: u64,
}

fn run_json(run: &FrameRun, page: PageSize) -> RunJson {
    let bytes = page.bytes();
    RunJson {
        vaddr_start: VirtAddr(run.first_page * bytes),
        vaddr_end: VirtAddr((run.first_page + run.pages) * bytes),
        paddr_start: PhysAddr(run.first_pfn * bytes),
        paddr_end: PhysAddr((run.first_pfn + run.pages) * bytes),
        pages: run.pages,
    }
}

/// One mapping in `maps --json`: the mapping, the part selected, its counts, its runs.
#[derive(Debug, Serialize)]
struct MappingJson {
    #[serde(flatten)]
    mapping: MappingSummary,
    selected_start: VirtAddr,
    selected_end: VirtAddr,
    #[serde(flatten)]
    counts: PageCounts,
    frame_runs: Vec<RunJson>,
}

/// `maps --json`: one object.
#[derive(Debug, Serialize)]
struct MapsJson<'a> {
    pid: i32,
    command: &'a str,
    page_size: u64,
    pagemap_scan: bool,
    mappings: Vec<MappingJson>,
    total: PageCounts,
}

/// `maps --pages --json`: the line before a mapping's pages (keys sorted on output).
#[derive(Debug, Serialize)]
struct MappingHeadJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    mapping: &'a MappingSummary,
    selected_start: VirtAddr,
    selected_end: VirtAddr,
    pagemap_covered: bool,
}

/// `maps --pages --json`: one page (keys in this order).
#[derive(Serialize)]
struct PageJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    vaddr: VirtAddr,
    pfn: Option<Pfn>,
    paddr: Option<PhysAddr>,
    mapcount: Option<u64>,
    swap_type: Option<u64>,
    swap_offset: Option<Hex>,
    pagemap: Vec<&'static str>,
    pagemap_raw: Word,
    kpageflags: &'a [String],
    kpageflags_raw: Hex,
}

/// `maps --pages --json`: the last line, the totals (keys sorted on output).
#[derive(Debug, Serialize)]
struct PagesTotalJson {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: i32,
    pagemap_scan: bool,
    counts: PageCounts,
}

/// The human summary of one mapping.
pub(crate) fn render_mapping(
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
    render_runs(&report.runs, page, all_runs, out)
}

/// The runs of a mapping, `virtual range -> physical range`: the first [`RUNS_SHOWN`], or
/// all of them with `--runs`.
fn render_runs(
    runs: &[FrameRun],
    page: PageSize,
    all_runs: bool,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let shown = if all_runs {
        runs.len()
    } else {
        runs.len().min(RUNS_SHOWN)
    };
    let bytes = page.bytes();
    for run in &runs[..shown] {
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
    if shown < runs.len() {
        writeln!(
            out,
            "    ... {} more runs (--runs lists them all)",
            runs.len() - shown
        )?;
    }
    Ok(())
}

/// The totals line.
pub(crate) fn render_total(mappings: usize, c: &PageCounts, page: PageSize) -> String {
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

/// Runs `physdemo maps`.
pub(crate) fn run(options: &MapsOptions) -> Result<()> {
    // A picture that cannot be written fails before any work, and leaves nothing behind.
    let output = options.svg.as_deref().map(OutputFile::create).transpose()?;
    let pid = options.pid;
    let process = open_user_process(pid)?;
    let pagemap = PagemapFile::open(pid)?;
    let page = PageSize::of_system();
    let selected = select(&process, options, page)?;
    let wants = FrameWants {
        flags: options.pages || options.flags.needs_frame_flags(),
        counts: options.pages,
    };
    // Frame flags and map counts need root: required when asked for, else best effort
    // (huge pages are then told from the runs).
    let frames = if wants.flags {
        Some(FrameInfoReader::open()?)
    } else {
        FrameInfoReader::open().ok()
    };
    let scan = Scan {
        options,
        pagemap: &pagemap,
        frames: frames.as_ref(),
        wants,
        page,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(OUTPUT_CHUNK, stdout.lock());
    let used_scan = pagemap.has_pagemap_scan();
    if options.pages && !options.json {
        let command = &process.command;
        writeln!(out, "# pid {pid} ({command}), page size {}", page.bytes())?;
        writeln!(out, "{PAGES_HEADER}")?;
    }
    let (total, reports) = scan.all(&process, selected, &mut out)?;
    if let Some(output) = output {
        return write_picture(output, &process, &reports, page, &mut out);
    }
    let header = MapsHeader {
        pid,
        command: &process.command,
        page,
        used_scan,
    };
    render_totals(&mut out, options, &header, &reports, &total)?;
    out.flush()?;
    Ok(())
}

/// The part of one mapping a scan reads: the mapping's index in the process's maps, and
/// the selected byte range.
struct Selection {
    index: usize,
    start: u64,
    end: u64,
}

/// Gather: the mappings the `--mapping` filters select (all without filters). Nothing to
/// show is "not found" (exit 3), as for `inspect`; one address in no mapping gets inspect's
/// very words, naming the nearest mappings.
fn select(process: &UserProcess, options: &MapsOptions, page: PageSize) -> Result<Vec<Selection>> {
    let selected: Vec<Selection> = process
        .maps
        .iter()
        .enumerate()
        .filter_map(|(index, m)| {
            let name = describe_path(&m.pathname);
            select_range(&options.mappings, m.address.0, m.address.1, &name, page)
                .map(|(start, end)| Selection { index, start, end })
        })
        .collect();
    if !selected.is_empty() {
        return Ok(selected);
    }
    if let [MappingFilter::Address(addr)] = options.mappings.as_slice() {
        process.mapping_of(VirtAddr(*addr))?;
    }
    let pid = process.pid;
    Err(not_found(format!(
        "no mapping of pid {pid} ({}) matches the --mapping filters",
        process.command
    ))
    .hint(format!("see /proc/{pid}/maps for names and ranges"))
    .into())
}

/// What a scan of one process reads with.
struct Scan<'a> {
    options: &'a MapsOptions,
    pagemap: &'a PagemapFile,
    frames: Option<&'a FrameInfoReader>,
    wants: FrameWants,
    page: PageSize,
}

/// The counts and runs of one mapping, as its pages go by.
struct Tally {
    counts: PageCounts,
    /// Pages present or swapped, whether or not `--flag` selects them.
    populated: u64,
    /// Pages the scan handed over.
    scanned: u64,
    builder: RunBuilder,
}

impl Scan<'_> {
    /// Reads every selected mapping in turn, rendering each as it is done (or listing its
    /// pages, with `--pages`); returns the totals and the reports left to render.
    fn all(
        &self,
        process: &UserProcess,
        selected: Vec<Selection>,
        out: &mut impl Write,
    ) -> Result<(PageCounts, Vec<MappingReport>)> {
        let (options, page) = (self.options, self.page);
        let total_pages: u64 = selected
            .iter()
            .map(|s| (s.end - s.start) >> page.shift())
            .sum();
        let label = format!("scanning pid {}", process.pid);
        let mut progress = Progress::new(label, total_pages, "pages");
        let mut listing = options.pages.then(|| Listing::new(options.json));
        let mut total = PageCounts::default();
        let mut reports = Vec::new();
        for selection in selected {
            let map = &process.maps[selection.index];
            let report = self.mapping(map, &selection, listing.as_mut(), out, &mut progress)?;
            total.merge(&report.counts);
            if options.pages {
                // The per-page listing was the output; keep only the totals.
            } else if options.json || options.svg.is_some() {
                reports.push(report);
            } else {
                render_mapping(&report, page, options.all_runs, out)?;
                // Only the count of mappings is left to show.
                reports.push(MappingReport {
                    runs: Vec::new(),
                    ..report
                });
            }
        }
        progress.finish();
        Ok((total, reports))
    }

    /// Reads one mapping (its selected part): counts, runs, and with `--pages` the listing.
    ///
    /// One page-table walk per mapping: pagemap is read densely, and PAGEMAP_SCAN (where
    /// the kernel has it) only skips what turns out to be empty (see [`crate::scan`]). Huge
    /// pages are told by kpageflags when those are read anyway, else from the runs
    /// afterwards. Pagemap ends at the top of the user address space: a mapping above it
    /// (the vsyscall page) has no entries at all, so it is neither present nor absent.
    fn mapping(
        &self,
        map: &MemoryMap,
        selection: &Selection,
        mut listing: Option<&mut Listing>,
        out: &mut impl Write,
        progress: &mut Progress,
    ) -> Result<MappingReport> {
        let (start, end, shift) = (selection.start, selection.end, self.page.shift());
        let summary = MappingSummary::from(map);
        let covered = self.pagemap.entry_if_covered(start >> shift)?.is_some();
        if let Some(listing) = listing.as_deref_mut() {
            listing.head(out, &summary, start, end, covered)?;
        }
        let mut tally = Tally {
            counts: PageCounts {
                pages: (end - start) >> shift,
                ..PageCounts::default()
            },
            populated: 0,
            scanned: 0,
            builder: RunBuilder::default(),
        };
        if covered {
            let (first, last) = (start >> shift, end >> shift);
            scan_range(
                self.pagemap,
                self.frames,
                self.wants,
                first,
                last,
                |batch| {
                    for i in 0..batch.entries.len() {
                        self.page_of(&mut tally, batch, i, listing.as_deref_mut(), out)?;
                    }
                    progress.advance(batch.entries.len() as u64);
                    tally.scanned += batch.entries.len() as u64;
                    Ok(true)
                },
            )?;
            if let Some(listing) = listing {
                listing.flush(out)?;
            }
        }
        progress.advance(tally.counts.pages.saturating_sub(tally.scanned));
        self.finish(tally, summary, selection, covered)
    }

    /// Counts page `i` of `batch`, adds it to the runs, and lists it (with `--pages`),
    /// unless it is absent or `--flag` leaves it out.
    fn page_of(
        &self,
        tally: &mut Tally,
        batch: &Batch,
        i: usize,
        listing: Option<&mut Listing>,
        out: &mut impl Write,
    ) -> Result<()> {
        let entry = batch.entries[i];
        if !entry.present() && !entry.swapped() {
            return Ok(());
        }
        tally.populated += 1;
        let flags = batch.flags.get(i).copied().unwrap_or(0);
        if !self.options.flags.matches(entry, KpageFlags(flags)) {
            return Ok(());
        }
        tally.counts.add_entry(entry);
        let vpn = batch.first_page + i as u64;
        let huge =
            KpageFlags(flags).has(KpageFlags::THP) || KpageFlags(flags).has(KpageFlags::HUGE);
        if entry.present() && self.wants.flags && huge {
            tally.counts.huge += 1;
        }
        if let Some(pfn) = entry.pfn() {
            tally.builder.push(vpn, pfn.0);
        }
        if let Some(listing) = listing {
            let count = batch.counts.get(i).copied().unwrap_or(0);
            listing.page(out, self.page, vpn, entry, flags, count)?;
        }
        Ok(())
    }

    /// The mapping's report, once its pages are counted.
    fn finish(
        &self,
        tally: Tally,
        summary: MappingSummary,
        selection: &Selection,
        covered: bool,
    ) -> Result<MappingReport> {
        let mut counts = tally.counts;
        if covered {
            counts.not_present = counts.pages.saturating_sub(tally.populated);
        } else {
            counts.outside_pagemap = counts.pages;
        }
        let runs = tally.builder.into_runs();
        if !self.wants.flags {
            counts.huge = pmd_mapped_huge_pages(&runs, self.page, self.frames)?;
        }
        counts.runs = runs.len() as u64;
        Ok(MappingReport {
            mapping: summary,
            start: selection.start,
            end: selection.end,
            counts,
            runs,
        })
    }
}

/// The `--pages` listing as it is written: text lines gathered into large writes, or one
/// JSON object per line.
struct Listing {
    json: bool,
    names: NameCache,
    line: Vec<u8>,
}

impl Listing {
    fn new(json: bool) -> Self {
        Listing {
            json,
            names: NameCache::default(),
            line: Vec::with_capacity(OUTPUT_CHUNK + 4096),
        }
    }

    /// The line before a mapping's pages.
    fn head(
        &mut self,
        out: &mut impl Write,
        summary: &MappingSummary,
        start: u64,
        end: u64,
        covered: bool,
    ) -> Result<()> {
        if self.json {
            let head = MappingHeadJson {
                kind: "mapping",
                mapping: summary,
                selected_start: VirtAddr(start),
                selected_end: VirtAddr(end),
                pagemap_covered: covered,
            };
            return write_sorted_json_line(out, &head);
        }
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
        Ok(())
    }

    fn page(
        &mut self,
        out: &mut impl Write,
        page: PageSize,
        vpn: u64,
        entry: PagemapEntry,
        flags: u64,
        count: u64,
    ) -> Result<()> {
        if self.json {
            return write_page_json(out, page, vpn, entry, flags, count);
        }
        push_page_line(
            &mut self.line,
            &mut self.names,
            page,
            vpn,
            entry,
            flags,
            count,
        );
        if self.line.len() >= OUTPUT_CHUNK {
            self.flush(out)?;
        }
        Ok(())
    }

    fn flush(&mut self, out: &mut impl Write) -> Result<()> {
        out.write_all(&self.line)?;
        self.line.clear();
        Ok(())
    }
}

/// Render `--svg`: the mappings' runs as bands from virtual to physical memory, and one
/// line saying where the picture went.
fn write_picture(
    output: OutputFile,
    process: &UserProcess,
    reports: &[MappingReport],
    page: PageSize,
    out: &mut impl Write,
) -> Result<()> {
    let map = read_shown_map("maps --svg")?;
    let picture = MapsPicture {
        pid: process.pid,
        command: process.command.clone(),
        page,
        ram: map.system_ram_frames(page.bytes()),
        mappings: reports
            .iter()
            .map(|r| MappingBands {
                name: r.mapping.path.clone(),
                perms: r.mapping.perms.clone(),
                start: r.start,
                end: r.end,
                resident: r.counts.resident,
                runs: r
                    .runs
                    .iter()
                    .map(|run| (run.first_page, run.first_pfn, run.pages))
                    .collect(),
            })
            .collect(),
    };
    let path = output.path().display().to_string();
    output.commit(maps_svg(&picture).as_bytes())?;
    let runs: usize = reports.iter().map(|r| r.runs.len()).sum();
    writeln!(
        out,
        "maps: wrote {path} ({} mappings, {runs} runs)",
        reports.len()
    )?;
    out.flush()?;
    Ok(())
}

/// What the totals need to say about the process.
struct MapsHeader<'a> {
    pid: i32,
    command: &'a str,
    page: PageSize,
    /// Whether the kernel answered PAGEMAP_SCAN.
    used_scan: bool,
}

/// Render: the last line (or, with `--json`, the one object).
fn render_totals(
    out: &mut impl Write,
    options: &MapsOptions,
    header: &MapsHeader<'_>,
    reports: &[MappingReport],
    total: &PageCounts,
) -> Result<()> {
    let page = header.page;
    match (options.json, options.pages) {
        (true, false) => {
            let json = MapsJson {
                pid: header.pid,
                command: header.command,
                page_size: page.bytes(),
                pagemap_scan: header.used_scan,
                mappings: reports
                    .iter()
                    .map(|r| MappingJson {
                        mapping: r.mapping.clone(),
                        selected_start: VirtAddr(r.start),
                        selected_end: VirtAddr(r.end),
                        counts: r.counts,
                        frame_runs: r.runs.iter().map(|run| run_json(run, page)).collect(),
                    })
                    .collect(),
                total: *total,
            };
            write_json_line(out, &json)?;
        }
        (true, true) => {
            let tail = PagesTotalJson {
                kind: "total",
                pid: header.pid,
                pagemap_scan: header.used_scan,
                counts: *total,
            };
            write_sorted_json_line(out, &tail)?;
        }
        (false, true) => writeln!(out, "# {}", render_total_pages(total, page))?,
        (false, false) => writeln!(out, "{}", render_total(reports.len(), total, page))?,
    }
    Ok(())
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
        vaddr: VirtAddr(vpn << page.shift()),
        pfn,
        paddr: pfn.map(|p| PhysAddr(p.0 << page.shift())),
        mapcount: pfn.map(|_| count),
        swap_type: entry.swap_type(),
        swap_offset: entry.swap_offset().map(Hex),
        pagemap: entry.flag_names(),
        pagemap_raw: Word(entry.0),
        kpageflags: &names,
        kpageflags_raw: Hex(flags),
    };
    write_json_line(out, &json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::runs::runs_of;

    const P: u64 = 1 << 63;
    const EXCL: u64 = 1 << 56;

    fn four_k() -> PageSize {
        PageSize::new(4096).unwrap()
    }

    #[test]
    fn summarises_a_mapping_with_its_runs() {
        let report = MappingReport {
            mapping: MappingSummary {
                start: VirtAddr(0x1000),
                end: VirtAddr(0x5000),
                perms: "rw-p".into(),
                offset: Hex(0),
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
                start: VirtAddr(0xffff_ffff_ff60_0000),
                end: VirtAddr(0xffff_ffff_ff60_1000),
                perms: "--xp".into(),
                offset: Hex(0),
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
