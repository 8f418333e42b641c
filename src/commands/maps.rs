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
use serde::Serialize;

use crate::error::not_found;
use crate::kernel::addr::PageSize;
use crate::kernel::kpageflags::KpageFlags;
use crate::kernel::maps::{describe_path, MappingSummary};
use crate::kernel::pagemap::{outside_pagemap_words, PagemapEntry};
use crate::proc::kpage::FrameInfoReader;
use crate::proc::pagemap::PagemapFile;
use crate::proc::process::open_user_process;
use crate::render::page_list::{push_page_line, NameCache, PAGES_HEADER};
use crate::render::progress::Progress;
use crate::render::units::human_bytes;
use crate::scan::filter::{select_range, FlagFilter, MappingFilter};
use crate::scan::huge::pmd_mapped_huge_pages;
use crate::scan::runs::{FrameRun, PageCounts, RunBuilder};
use crate::scan::{scan_range, FrameWants};

/// Bytes of `--pages` text gathered before a write. As large as the output buffer, so the
/// buffer hands it to the kernel directly instead of copying it once more.
const OUTPUT_CHUNK: usize = 1 << 20;
/// Runs shown per mapping without `--runs`.
const RUNS_SHOWN: usize = 8;

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
            process.mapping_of(crate::kernel::addr::VirtAddr(*addr))?;
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
