// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physmap --svg`: the picture of physical memory. A title, the regions of /proc/iomem as
//! bands (a swatch per kind, range, size, name), each System RAM range as a grid of
//! square cells coloured by the class most of their frames have (a highlighted process's
//! cells with a [`HIGHLIGHT`] square inside, its variable's cell all [`HIGHLIGHT`] and
//! outlined), and a legend with every class's total.
//!
//! The grid has the terminal picture's geometry ([`PhysmapReport::paint`]): row `r` of a
//! range starts at frame `(first_row + r) × columns × cell_frames`. Each grid's `<g>` says
//! where it is drawn and at what scale (`data-x`, `data-y`, `data-cell-px`,
//! `data-first-row-pfn`, `data-cell-frames`, `data-columns`), so a test can find the
//! pixel of any frame.

use crate::kernel::frame_class::FrameClass;
use crate::kernel::iomem::RegionKind;
use crate::render::physmap::{Paint, PhysmapReport};
use crate::render::svg::{class_colour, Font, Svg, HIGHLIGHT, INK, MUTED};
use crate::render::units::human_bytes;

const MARGIN: f64 = 24.0;
/// Room for a row's address, left of the cells.
const LABEL_W: f64 = 104.0;
/// A cell's side, and the gap between cells.
pub(crate) const CELL_PX: f64 = 12.0;
const GAP: f64 = 1.0;
const LINE: f64 = 18.0;

/// The swatch colour of a region kind in the bands list.
fn kind_colour(kind: RegionKind) -> &'static str {
    match kind {
        RegionKind::SystemRam => "#8cc084",
        RegionKind::KernelImage => class_colour(FrameClass::Kernel),
        RegionKind::Reserved => "#bdbdbd",
        RegionKind::Firmware => "#fdb462",
        RegionKind::BusWindow => "#80b1d3",
        RegionKind::Device => "#bc80bd",
        RegionKind::PciConfig => "#fb8072",
    }
}

/// The fill of a cell: its class's colour; the target's cell is all [`HIGHLIGHT`].
fn paint_colour(paint: Paint) -> Option<&'static str> {
    match paint {
        Paint::Empty => None,
        Paint::Class(class) | Paint::Process(class) => Some(class_colour(class)),
        Paint::Target => Some(HIGHLIGHT),
    }
}

/// How far inside a highlighted process's cell its [`HIGHLIGHT`] square starts: the
/// class's colour stays visible around it.
const MARK_INSET: f64 = 2.5;

/// The whole picture; `host` names the machine in the title.
pub(crate) fn physmap_svg(report: &PhysmapReport, host: &str) -> String {
    let width = MARGIN * 2.0 + LABEL_W + report.columns as f64 * CELL_PX;
    let totals = report.totals();
    let page = report.page.bytes();
    let mut svg = Svg::new(width.max(720.0), 0.0, &format!("Physical memory of {host}"));
    svg.text(
        MARGIN,
        36.0,
        Font::sans(20.0).bold(),
        &format!("Physical memory of {host}"),
    );
    svg.text(
        MARGIN,
        58.0,
        Font::sans(13.0).fill(MUTED),
        &format!(
            "{} of System RAM, frames of {}; one cell = {} frame{} ({}), {} cells a row; from /proc/iomem and /proc/kpageflags",
            human_bytes(totals.total() * page),
            human_bytes(page),
            report.cell_frames,
            if report.cell_frames == 1 { "" } else { "s" },
            human_bytes(report.cell_frames * page),
            report.columns
        ),
    );
    let mut y = draw_bands(report, &mut svg, 90.0);
    for grid_index in 0..report.grids.len() {
        y = draw_grid(report, grid_index, &mut svg, y + 14.0);
    }
    y = draw_legend(report, &mut svg, y + 16.0);
    svg.fit_height(y + MARGIN);
    svg.finish()
}

/// The regions of /proc/iomem, one line each; returns the y below them.
fn draw_bands(report: &PhysmapReport, svg: &mut Svg, top: f64) -> f64 {
    svg.text(
        MARGIN,
        top,
        Font::sans(14.0).bold(),
        "Regions of /proc/iomem (top level, and the kernel image in RAM)",
    );
    let mut y = top + 8.0;
    for band in &report.bands {
        let x = MARGIN + band.depth as f64 * 18.0;
        svg.rect(x, y + 3.0, 12.0, 12.0, kind_colour(band.kind()));
        svg.text(
            x + 18.0,
            y + 13.0,
            Font::mono(11.0),
            &format!(
                "{:#012x}-{:#012x} {:>9}  {}",
                band.start,
                band.end,
                human_bytes(band.end - band.start + 1),
                band.name
            ),
        );
        y += LINE;
    }
    y
}

/// One System RAM range: its heading and cells; returns the y below it.
fn draw_grid(report: &PhysmapReport, index: usize, svg: &mut Svg, top: f64) -> f64 {
    let grid = &report.grids[index];
    let page = report.page.bytes();
    svg.text(
        MARGIN,
        top + 12.0,
        Font::sans(13.0).bold(),
        &format!(
            "System RAM {:#x}-{:#x} ({})",
            grid.first_pfn * page,
            grid.end_pfn * page - 1,
            human_bytes((grid.end_pfn - grid.first_pfn) * page)
        ),
    );
    let (first_row, rows) = report.rows_of(grid);
    let (x0, y0) = (MARGIN + LABEL_W, top + 20.0);
    svg.group(&format!(
        r#" class="grid" data-x="{x0}" data-y="{y0}" data-cell-px="{CELL_PX}" data-first-row-pfn="{:#x}" data-first-pfn="{:#x}" data-end-pfn="{:#x}" data-cell-frames="{}" data-columns="{}""#,
        first_row * report.row_frames(),
        grid.first_pfn,
        grid.end_pfn,
        report.cell_frames,
        report.columns
    ));
    // Label every row when they are few, else every fourth.
    let label_every = if rows <= 24 { 1 } else { 4 };
    for row in 0..rows {
        let y = y0 + row as f64 * CELL_PX;
        if row % label_every == 0 {
            svg.text(
                x0 - 8.0,
                y + CELL_PX - 2.0,
                Font::mono(10.0).anchor("end").fill(MUTED),
                &format!("{:#012x}", (first_row + row) * report.row_frames() * page),
            );
        }
        for col in 0..report.columns {
            let paint = report.paint(grid, row, col);
            let Some(fill) = paint_colour(paint) else {
                continue;
            };
            let x = x0 + col as f64 * CELL_PX;
            let size = CELL_PX - GAP;
            if let (Paint::Target, Some(t)) = (paint, report.target.as_ref()) {
                svg.rect_titled(
                    (x, y, size, size),
                    fill,
                    &format!(r#" stroke="{INK}" stroke-width="2""#),
                    &format!(
                        "the target's variable {}: frame {}, physical {}",
                        t.vaddr, t.pfn, t.paddr
                    ),
                );
            } else {
                svg.rect(x, y, size, size, fill);
                if let Paint::Process(_) = paint {
                    let inner = size - 2.0 * MARK_INSET;
                    svg.rect(x + MARK_INSET, y + MARK_INSET, inner, inner, HIGHLIGHT);
                }
            }
        }
    }
    svg.end();
    y0 + rows as f64 * CELL_PX
}

/// Every class with its total, the sum, and the highlights; returns the y below.
fn draw_legend(report: &PhysmapReport, svg: &mut Svg, top: f64) -> f64 {
    let totals = report.totals();
    let page = report.page.bytes();
    let all = totals.total().max(1);
    svg.text(
        MARGIN,
        top + 12.0,
        Font::sans(14.0).bold(),
        "Legend: what the frames of a cell mostly are",
    );
    let column_w = 340.0;
    for (i, class) in FrameClass::ALL.iter().enumerate() {
        let x = MARGIN + (i / 4) as f64 * column_w;
        let y = top + 22.0 + (i % 4) as f64 * LINE;
        let n = totals.get(*class);
        svg.rect(x, y + 2.0, 14.0, 14.0, class_colour(*class));
        svg.text(x + 22.0, y + 13.0, Font::sans(12.0), class.label());
        svg.text(
            x + column_w - 24.0,
            y + 13.0,
            Font::mono(11.0).anchor("end"),
            &format!(
                "{:>9} {:>5.1} %",
                human_bytes(n * page),
                n as f64 * 100.0 / all as f64
            ),
        );
    }
    let mut y = top + 22.0 + 4.0 * LINE + 16.0;
    svg.text(
        MARGIN,
        y,
        Font::sans(12.0),
        &format!(
            "total {} ({} frames) = the System RAM of /proc/iomem",
            human_bytes(totals.total() * page),
            totals.total()
        ),
    );
    if let Some(p) = &report.process {
        y += LINE + 4.0;
        svg.rect(MARGIN, y - 12.0, 14.0, 14.0, class_colour(FrameClass::Free));
        svg.rect(MARGIN + 3.0, y - 9.0, 8.0, 8.0, HIGHLIGHT);
        svg.text(
            MARGIN + 22.0,
            y,
            Font::sans(12.0),
            &format!(
                "cells holding frames of pid {} ({}): {} frames, {}",
                p.pid,
                p.command,
                p.frames_in_ram,
                human_bytes(p.frames_in_ram * page)
            ),
        );
    }
    if let Some(t) = &report.target {
        y += LINE + 4.0;
        svg.rect_with(
            MARGIN + 1.0,
            y - 11.0,
            12.0,
            12.0,
            HIGHLIGHT,
            &format!(r#" stroke="{INK}" stroke-width="2""#),
        );
        svg.text(
            MARGIN + 22.0,
            y,
            Font::sans(12.0).bold(),
            &format!(
                "its physdemo target variable {} is in frame {} (physical address {})",
                t.vaddr, t.pfn, t.paddr
            ),
        );
    }
    y
}
