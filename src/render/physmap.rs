// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo physmap` on the terminal: the regions of /proc/iomem as bands, each System
//! RAM range as a grid of cells (one character each, coloured by the class most of its
//! frames have), a legend whose totals add up to the RAM, and `--json`'s typed value.
//!
//! [`PhysmapReport`] is everything the command gathered; the SVG picture
//! ([`crate::render::pictures::physmap`]) draws the same report with the same geometry:
//! rows of `columns` cells, each row starting at a multiple of `columns × cell_frames`
//! frames, so a frame's place depends on its number alone ([`cell_place`]).

use std::io::Write;

use owo_colors::{OwoColorize, Stream::Stdout};
use serde::Serialize;

use crate::kernel::addr::{PageSize, Pfn, PhysAddr, VirtAddr};
use crate::kernel::frame_class::{ClassCounts, FrameClass, RamGrid};
use crate::kernel::iomem::{Region, RegionKind};
use crate::render::units::human_bytes;

/// The character of a cell holding frames of the highlighted process.
pub(crate) const PROCESS_GLYPH: char = '@';
/// The character of the cell holding a physdemo target's variable.
pub(crate) const TARGET_GLYPH: char = 'X';

/// The process `--pid` highlights.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ProcessMark {
    pub(crate) pid: i32,
    pub(crate) command: String,
    /// Frames it maps (present pages with a frame, each frame once).
    pub(crate) frames: u64,
    /// Of those, frames inside the System RAM ranges drawn.
    pub(crate) frames_in_ram: u64,
}

/// A physdemo target's variable.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TargetMark {
    pub(crate) vaddr: VirtAddr,
    pub(crate) pfn: Pfn,
    pub(crate) paddr: PhysAddr,
}

/// Everything `physmap` shows.
#[derive(Debug, Clone)]
pub(crate) struct PhysmapReport {
    pub(crate) page: PageSize,
    pub(crate) cell_frames: u64,
    /// Cells per row.
    pub(crate) columns: u64,
    /// The top-level regions of /proc/iomem, and the kernel image's inside RAM.
    pub(crate) bands: Vec<Region>,
    /// One per System RAM range, in address order.
    pub(crate) grids: Vec<RamGrid>,
    pub(crate) process: Option<ProcessMark>,
    pub(crate) target: Option<TargetMark>,
}

/// What a cell shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Paint {
    /// No frame of this range falls in the cell.
    Empty,
    Class(FrameClass),
    /// Holds frames of the highlighted process; most of its frames are of this class.
    Process(FrameClass),
    /// Holds the target's variable.
    Target,
}

impl PhysmapReport {
    /// Frames in a row.
    pub(crate) fn row_frames(&self) -> u64 {
        self.cell_frames * self.columns
    }

    /// The first row (in units of whole rows from frame 0) and the row count of a grid.
    pub(crate) fn rows_of(&self, grid: &RamGrid) -> (u64, u64) {
        let first = grid.first_pfn / self.row_frames();
        let last = (grid.end_pfn - 1) / self.row_frames();
        (first, last - first + 1)
    }

    pub(crate) fn totals(&self) -> ClassCounts {
        let mut totals = ClassCounts::default();
        for grid in &self.grids {
            totals.merge(&grid.totals());
        }
        totals
    }

    /// What the cell at `row` (of the grid's rows) and `col` shows.
    pub(crate) fn paint(&self, grid: &RamGrid, row: u64, col: u64) -> Paint {
        let (first_row, _) = self.rows_of(grid);
        let cell = (first_row + row) * self.columns + col;
        let Some(index) = cell.checked_sub(grid.first_cell) else {
            return Paint::Empty;
        };
        let Some(counts) = grid.cells.get(index as usize) else {
            return Paint::Empty;
        };
        let holds_target = self
            .target
            .as_ref()
            .is_some_and(|t| grid.contains(t.pfn.0) && t.pfn.0 / self.cell_frames == cell);
        if holds_target {
            Paint::Target
        } else if grid.marked[index as usize] > 0 {
            Paint::Process(counts.dominant().unwrap_or(FrameClass::Other))
        } else {
            counts.dominant().map_or(Paint::Empty, Paint::Class)
        }
    }
}

/// What the bands list calls a region's kind (and `--json`'s `kind`).
pub(crate) fn kind_key(kind: RegionKind) -> &'static str {
    match kind {
        RegionKind::SystemRam => "system_ram",
        RegionKind::KernelImage => "kernel_image",
        RegionKind::Reserved => "reserved",
        RegionKind::Firmware => "firmware",
        RegionKind::BusWindow => "bus_window",
        RegionKind::Device => "device",
        RegionKind::PciConfig => "pci_config",
    }
}

/// The cell as one character, coloured where the terminal allows (`--color`).
fn draw_cell(paint: Paint) -> String {
    let glyph = match paint {
        Paint::Empty => return " ".to_string(),
        Paint::Class(class) => class.glyph(),
        Paint::Process(_) => PROCESS_GLYPH,
        Paint::Target => TARGET_GLYPH,
    };
    glyph
        .if_supports_color(Stdout, |g| match paint {
            Paint::Class(FrameClass::Free) => g.bright_black().to_string(),
            Paint::Class(FrameClass::Anonymous) => g.black().on_red().to_string(),
            Paint::Class(FrameClass::File) => g.bright_white().on_blue().to_string(),
            Paint::Class(FrameClass::Slab) => g.black().on_green().to_string(),
            Paint::Class(FrameClass::PageTables) => g.black().on_cyan().to_string(),
            Paint::Class(FrameClass::Huge) => g.black().on_yellow().to_string(),
            Paint::Class(FrameClass::Kernel) => g.white().on_bright_black().to_string(),
            Paint::Class(FrameClass::Other) => g.black().on_white().to_string(),
            Paint::Process(_) => g.black().on_bright_magenta().to_string(),
            _ => g.bold().black().on_bright_magenta().to_string(),
        })
        .to_string()
}

/// A physical range as `0x…-0x…` with at least ten hex digits, and its size.
fn range_text(start: u64, end_inclusive: u64) -> String {
    format!(
        "{start:#012x}-{end_inclusive:#012x} {:>9}",
        human_bytes(end_inclusive - start + 1)
    )
}

/// The whole text picture.
pub(crate) fn render_text(report: &PhysmapReport, out: &mut impl Write) -> std::io::Result<()> {
    let totals = report.totals();
    let page = report.page.bytes();
    writeln!(
        out,
        "physmap: {} of System RAM in {} range{}, {} frames of {}; 1 cell = {} frame{} ({}), {} cells a row",
        human_bytes(totals.total() * page),
        report.grids.len(),
        if report.grids.len() == 1 { "" } else { "s" },
        totals.total(),
        human_bytes(page),
        report.cell_frames,
        if report.cell_frames == 1 { "" } else { "s" },
        human_bytes(report.cell_frames * page),
        report.columns
    )?;
    writeln!(out)?;
    writeln!(out, "/proc/iomem, top level (and the kernel image in RAM):")?;
    for band in &report.bands {
        writeln!(
            out,
            "  {}{}  {}",
            "  ".repeat(band.depth),
            range_text(band.start, band.end),
            band.name
        )?;
    }
    for grid in &report.grids {
        render_grid(report, grid, out)?;
    }
    writeln!(out)?;
    render_legend(report, &totals, out)
}

/// One System RAM range: a heading and its rows, each labelled with its first address.
fn render_grid(
    report: &PhysmapReport,
    grid: &RamGrid,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let page = report.page.bytes();
    writeln!(out)?;
    writeln!(
        out,
        "System RAM {}",
        range_text(grid.first_pfn * page, grid.end_pfn * page - 1)
    )?;
    let (first_row, rows) = report.rows_of(grid);
    for row in 0..rows {
        let mut line = format!(
            "  {:#012x} ",
            (first_row + row) * report.row_frames() * page
        );
        for col in 0..report.columns {
            line.push_str(&draw_cell(report.paint(grid, row, col)));
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// The legend: every class with its total, the sum, and the highlights.
fn render_legend(
    report: &PhysmapReport,
    totals: &ClassCounts,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let page = report.page.bytes();
    let all = totals.total().max(1);
    for class in FrameClass::ALL {
        let n = totals.get(class);
        writeln!(
            out,
            "  {}  {:<20} {:>10} {:>10} frames {:>5.1} %",
            draw_cell(Paint::Class(class)),
            class.label(),
            human_bytes(n * page),
            n,
            n as f64 * 100.0 / all as f64
        )?;
    }
    writeln!(
        out,
        "     {:<20} {:>10} {:>10} frames = the System RAM of /proc/iomem",
        "total",
        human_bytes(totals.total() * page),
        totals.total()
    )?;
    if let Some(p) = &report.process {
        let cells: u64 = report
            .grids
            .iter()
            .map(|g| g.marked.iter().filter(|&&n| n > 0).count() as u64)
            .sum();
        writeln!(
            out,
            "  {}  pid {} ({}): {} frames ({}) in {} cell{}",
            draw_cell(Paint::Process(FrameClass::Other)),
            p.pid,
            p.command,
            p.frames_in_ram,
            human_bytes(p.frames_in_ram * page),
            cells,
            if cells == 1 { "" } else { "s" }
        )?;
    }
    if let Some(t) = &report.target {
        writeln!(
            out,
            "  {}  its physdemo target variable {}: frame {}, physical address {}",
            draw_cell(Paint::Target),
            t.vaddr,
            t.pfn,
            t.paddr
        )?;
    }
    Ok(())
}

/// `physmap --json`: one object.
#[derive(Debug, Serialize)]
pub(crate) struct PhysmapJson<'a> {
    page_size: u64,
    cell_frames: u64,
    columns: u64,
    ram_frames: u64,
    ram_bytes: u64,
    totals: ClassCounts,
    regions: Vec<RegionJson<'a>>,
    grids: Vec<GridJson>,
    process: Option<&'a ProcessMark>,
    target: Option<&'a TargetMark>,
}

/// A band: a region of /proc/iomem (`end` inclusive, as the file has it).
#[derive(Debug, Serialize)]
struct RegionJson<'a> {
    start: PhysAddr,
    end: PhysAddr,
    size: u64,
    name: &'a str,
    kind: &'static str,
    depth: usize,
}

/// One System RAM range (`end` exclusive) and its cells.
#[derive(Debug, Serialize)]
struct GridJson {
    start: PhysAddr,
    end: PhysAddr,
    cells: Vec<CellJson>,
}

/// One cell: its first frame in the range, how many of the range's frames it holds, the
/// class most of them have, every class's count, and the highlighted process's frames.
#[derive(Debug, Serialize)]
struct CellJson {
    pfn: Pfn,
    frames: u64,
    class: FrameClass,
    counts: ClassCounts,
    process_frames: u64,
    target: bool,
}

impl<'a> From<&'a PhysmapReport> for PhysmapJson<'a> {
    fn from(report: &'a PhysmapReport) -> Self {
        let page = report.page.bytes();
        let totals = report.totals();
        let grids = report
            .grids
            .iter()
            .map(|grid| GridJson {
                start: PhysAddr(grid.first_pfn * page),
                end: PhysAddr(grid.end_pfn * page),
                cells: cells_json(report, grid),
            })
            .collect();
        PhysmapJson {
            page_size: page,
            cell_frames: report.cell_frames,
            columns: report.columns,
            ram_frames: totals.total(),
            ram_bytes: totals.total() * page,
            totals,
            regions: report
                .bands
                .iter()
                .map(|r| RegionJson {
                    start: PhysAddr(r.start),
                    end: PhysAddr(r.end),
                    size: r.end - r.start + 1,
                    name: &r.name,
                    kind: kind_key(r.kind()),
                    depth: r.depth,
                })
                .collect(),
            grids,
            process: report.process.as_ref(),
            target: report.target.as_ref(),
        }
    }
}

fn cells_json(report: &PhysmapReport, grid: &RamGrid) -> Vec<CellJson> {
    let c = report.cell_frames;
    let target_cell = report
        .target
        .as_ref()
        .filter(|t| grid.contains(t.pfn.0))
        .map(|t| t.pfn.0 / c);
    grid.cells
        .iter()
        .zip(&grid.marked)
        .enumerate()
        .map(|(i, (counts, &marked))| {
            let cell = grid.first_cell + i as u64;
            CellJson {
                pfn: Pfn((cell * c).max(grid.first_pfn)),
                frames: counts.total(),
                class: counts.dominant().unwrap_or(FrameClass::Other),
                counts: *counts,
                process_frames: marked,
                target: target_cell == Some(cell),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::frame_class::Classifier;

    /// RAM at frames 0x10..0x30 and 0x40..0x48, 4 frames a cell, 4 cells a row.
    fn report() -> PhysmapReport {
        let mut low = RamGrid::new(0x10, 0x30, 4);
        let mut words = vec![0x400u64; 0x20];
        words[0..4].fill(0x1_0000_0000); // the first cell: reserved
        words[0x10..0x12].fill(0x4_0000_5828); // half a cell anonymous, half free: a tie
        low.add_words(0x10, &words, 4, &mut Classifier::default());
        low.mark(0x1c, 4);
        let mut high = RamGrid::new(0x40, 0x48, 4);
        high.add_words(0x40, &[0x80; 8], 4, &mut Classifier::default());
        PhysmapReport {
            page: PageSize::new(4096).unwrap(),
            cell_frames: 4,
            columns: 4,
            bands: vec![Region {
                start: 0x10000,
                end: 0x2ffff,
                name: "System RAM".into(),
                depth: 0,
            }],
            grids: vec![low, high],
            process: Some(ProcessMark {
                pid: 7,
                command: "x".into(),
                frames: 2,
                frames_in_ram: 2,
            }),
            target: Some(TargetMark {
                vaddr: VirtAddr(0x7000_0040),
                pfn: Pfn(0x2a),
                paddr: PhysAddr(0x2a040),
            }),
        }
    }

    #[test]
    fn draws_each_range_as_aligned_rows_of_one_glyph_per_cell() {
        owo_colors::set_override(false);
        let mut out = Vec::new();
        render_text(&report(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        // Rows of 16 frames (0x10000 bytes): 0x10..0x20 is "#..@", 0x20..0x30 "..X.".
        assert!(
            text.contains("\n  0x0000010000 #..@\n  0x0000020000 ..X.\n"),
            "{text}"
        );
        assert!(text.contains("\n  0x0000040000 ss\n"), "{text}");
        assert!(
            text.contains("System RAM 0x0000010000-0x000002ffff   128 KiB"),
            "{text}"
        );
        assert!(
            text.contains("1 cell = 4 frames (16.0 KiB), 4 cells a row"),
            "{text}"
        );
        assert!(text.contains("  .  free (buddy)"), "{text}");
        assert!(
            text.contains("     total                   160 KiB         40 frames"),
            "{text}"
        );
        assert!(
            text.contains("@  pid 7 (x): 2 frames (8.0 KiB) in 1 cell\n"),
            "{text}"
        );
        assert!(text.contains("X  its physdemo target variable 0x70000040: frame 0x2a"));
    }

    #[test]
    fn json_cells_carry_their_counts_and_marks() {
        let report = report();
        let json = serde_json::to_value(PhysmapJson::from(&report)).unwrap();
        assert_eq!(json["ram_frames"], 40);
        assert_eq!(json["totals"]["free"], 26);
        assert_eq!(json["totals"]["kernel"], 4);
        let cells = json["grids"][0]["cells"].as_array().unwrap();
        assert_eq!(cells.len(), 8);
        assert_eq!(cells[0]["class"], "kernel");
        assert_eq!(cells[0]["pfn"], "0x10");
        assert_eq!(
            cells[4]["class"], "free",
            "a tie of anonymous and free goes to free"
        );
        assert_eq!(cells[4]["counts"]["anonymous"], 2);
        assert_eq!(cells[3]["process_frames"], 1);
        assert_eq!(cells[6]["target"], true);
        assert_eq!(json["grids"][1]["cells"][0]["class"], "slab");
        assert_eq!(json["regions"][0]["kind"], "system_ram");
    }
}
