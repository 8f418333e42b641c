// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo physmap`: the machine's physical address space at a glance. The regions of
//! /proc/iomem as bands, every System RAM range as a grid of cells classified from
//! /proc/kpageflags (free, anonymous, page cache, slab, page tables, huge, reserved/kernel,
//! other), a legend whose totals add up to the RAM; `--pid` highlights a process's frames
//! (and names a physdemo target's variable); `--json` and `--svg FILE` give the same.
//!
//! Gather: the map ([`crate::proc::iomem`]), the process's frames
//! ([`crate::scan::physmap::process_frames`]), then every RAM frame's flags
//! ([`crate::scan::physmap::read_grids`]); report: a [`PhysmapReport`]; render: text
//! ([`crate::render::physmap`]), JSON, or SVG ([`crate::render::pictures::physmap`]).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::error::usage;
use crate::kernel::addr::PageSize;
use crate::kernel::iomem::{IomemMap, Region, RegionKind};
use crate::proc::iomem::read_shown_map;
use crate::proc::kpage::KpageflagsFile;
use crate::proc::process::open_user_process;
use crate::proc::target_process::{locate, looks_like_target};
use crate::render::file::OutputFile;
use crate::render::json::write_json_line;
use crate::render::physmap::{render_text, PhysmapJson, PhysmapReport, ProcessMark, TargetMark};
use crate::render::pictures::physmap::physmap_svg;
use crate::render::units::human_bytes;
use crate::resolve::translate::resolve;
use crate::scan::physmap::{process_frames, read_grids};

/// Cells a row in the SVG picture.
const SVG_COLUMNS: u64 = 64;
/// Rows the SVG picture aims for when it chooses the cell size.
const SVG_ROWS: u64 = 96;
/// The most cells an SVG picture may have (`--cell` smaller than that allows is refused).
const SVG_MAX_CELLS: u64 = 131_072;
/// The terminal assumed when standard output is none.
const DEFAULT_TERMINAL: (u64, u64) = (80, 40);

/// What `physmap` was asked.
#[derive(Debug, Clone)]
pub(crate) struct PhysmapOptions {
    pub(crate) pid: Option<i32>,
    /// Frames per cell; `None`: chosen to fit the terminal (or the picture).
    pub(crate) cell: Option<u64>,
    pub(crate) json: bool,
    pub(crate) svg: Option<PathBuf>,
}

/// The process `--pid` names: who, its frames, and a target's variable.
struct Highlight {
    mark: ProcessMark,
    frames: Vec<u64>,
    target: Option<TargetMark>,
}

/// Runs `physdemo physmap`.
pub(crate) fn run(options: &PhysmapOptions) -> Result<()> {
    // A picture that cannot be written fails before any work, and leaves nothing behind.
    let output = options.svg.as_deref().map(OutputFile::create).transpose()?;
    let page = PageSize::of_system();
    let map = read_shown_map("physmap")?;
    let ram = map.system_ram_frames(page.bytes());
    let highlight = options.pid.map(|pid| highlight(pid, page)).transpose()?;
    let flags = KpageflagsFile::open()?;
    let (cell_frames, columns) = geometry(options, &map, &ram, highlight.is_some())?;
    let mut grids = read_grids(&flags, &ram, cell_frames)?;
    let (process, target) = match highlight {
        Some(mut h) => {
            for &pfn in &h.frames {
                h.mark.frames_in_ram +=
                    u64::from(grids.iter_mut().any(|g| g.mark(pfn, cell_frames)));
            }
            (Some(h.mark), h.target)
        }
        None => (None, None),
    };
    let report = PhysmapReport {
        page,
        cell_frames,
        columns,
        bands: bands(&map),
        grids,
        process,
        target,
    };
    render(&report, options, output)
}

/// Render: the SVG file, JSON, or the text picture.
fn render(
    report: &PhysmapReport,
    options: &PhysmapOptions,
    output: Option<OutputFile>,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if let Some(output) = output {
        let path = output.path().display().to_string();
        output.commit(physmap_svg(report, &host_name()).as_bytes())?;
        let cells: usize = report.grids.iter().map(|g| g.cells.len()).sum();
        writeln!(
            out,
            "physmap: wrote {path} ({} of RAM in {cells} cells of {} frames)",
            human_bytes(report.totals().total() * report.page.bytes()),
            report.cell_frames
        )?;
    } else if options.json {
        write_json_line(&mut out, &PhysmapJson::from(report))?;
    } else {
        render_text(report, &mut out)?;
    }
    out.flush()?;
    Ok(())
}

/// The bands: the top-level regions, and inside System RAM the kernel's image.
fn bands(map: &IomemMap) -> Vec<Region> {
    map.regions
        .iter()
        .filter(|r| r.depth == 0 || r.kind() == RegionKind::KernelImage)
        .cloned()
        .collect()
}

/// The process's frames, and where a physdemo target keeps its variable.
fn highlight(pid: i32, page: PageSize) -> Result<Highlight> {
    let process = open_user_process(pid)?;
    let frames = process_frames(&process, page)?;
    // Only a verified target is named; anything else is just a process.
    let target = if looks_like_target(pid) {
        locate(pid).ok().and_then(|header| {
            let resolution = resolve(pid, header.value_addr).ok()?;
            Some(TargetMark {
                vaddr: header.value_addr,
                pfn: resolution.pfn()?,
                paddr: resolution.paddr()?,
            })
        })
    } else {
        None
    };
    Ok(Highlight {
        mark: ProcessMark {
            pid,
            command: process.command.clone(),
            frames: frames.len() as u64,
            frames_in_ram: 0,
        },
        frames,
        target,
    })
}

/// Frames a cell and cells a row: `--cell`, or the smallest power of two that fits the
/// terminal (or the picture's rows).
fn geometry(
    options: &PhysmapOptions,
    map: &IomemMap,
    ram: &[(u64, u64)],
    highlighted: bool,
) -> Result<(u64, u64)> {
    let (columns, rows) = if options.svg.is_some() {
        (SVG_COLUMNS, SVG_ROWS)
    } else {
        let (width, height) = terminal();
        let columns = prev_power_of_two(width.saturating_sub(16).max(8));
        // What is not grid: the header, the bands, a heading per range, the legend.
        let other =
            4 + bands(map).len() as u64 + 2 * ram.len() as u64 + 11 + 2 * u64::from(highlighted);
        (columns, height.saturating_sub(other).max(8))
    };
    let cell = match options.cell {
        Some(cell) => cell,
        None => (0..63)
            .map(|shift| 1u64 << shift)
            .find(|&cell| rows_needed(ram, cell * columns) <= rows)
            .unwrap_or(1 << 62),
    };
    if options.svg.is_some() {
        let cells: u64 = ram
            .iter()
            .map(|&(a, b)| (b - 1) / cell - a / cell + 1)
            .sum();
        if cells > SVG_MAX_CELLS {
            let least = ram
                .iter()
                .map(|&(a, b)| b - a)
                .sum::<u64>()
                .div_ceil(SVG_MAX_CELLS);
            return Err(usage(format!(
                "--cell {cell} makes {cells} cells, too many for a picture (at most {SVG_MAX_CELLS})"
            ))
            .hint(format!("give --cell {} or more", least.next_power_of_two()))
            .into());
        }
    }
    Ok((cell, columns))
}

/// Rows the grids of `ram` take with `row_frames` frames a row.
fn rows_needed(ram: &[(u64, u64)], row_frames: u64) -> u64 {
    ram.iter()
        .map(|&(first, end)| (end - 1) / row_frames - first / row_frames + 1)
        .sum()
}

fn prev_power_of_two(n: u64) -> u64 {
    1 << (63 - n.max(1).leading_zeros())
}

/// Columns and lines of the terminal on standard output, or [`DEFAULT_TERMINAL`].
fn terminal() -> (u64, u64) {
    match terminal_size::terminal_size() {
        Some((terminal_size::Width(w), terminal_size::Height(h))) => (u64::from(w), u64::from(h)),
        None => DEFAULT_TERMINAL,
    }
}

/// The machine's name, for the picture's title.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_else(|_| "this machine".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_the_top_level_and_the_kernel_image() {
        let map = IomemMap::parse(
            b"00000000-00000fff : Reserved\n00001000-0009fbff : System RAM\n00100000-bfffffff : System RAM\n  01000000-02276507 : Kernel code\nc0001000-eebfffff : PCI Bus 0000:00\n100000000-63fffffff : System RAM\n",
        )
        .unwrap();
        let ram = map.system_ram_frames(4096);
        let names: Vec<String> = bands(&map).into_iter().map(|r| r.name).collect();
        assert_eq!(
            names,
            [
                "Reserved",
                "System RAM",
                "System RAM",
                "Kernel code",
                "PCI Bus 0000:00",
                "System RAM"
            ]
        );
        // 64 cells of 2^14 frames a row: 4 GiB a row; the two low ranges take one row each.
        assert_eq!(rows_needed(&ram, (1 << 14) * 64), 1 + 1 + 6);
        assert_eq!(prev_power_of_two(64), 64);
        assert_eq!(prev_power_of_two(100), 64);
        assert_eq!(prev_power_of_two(0), 1);
    }
}
