// SPDX-License-Identifier: MIT OR Apache-2.0
//! `maps PID --svg`: virtual memory landing in physical memory. The process's mappings
//! that have resident frames are boxes on a virtual axis on the left, in address order;
//! System RAM is an axis on the right; each contiguous run (consecutive virtual pages on
//! consecutive frames) is a band from its place in its mapping to its place in RAM, in its
//! mapping's colour. A mapping contiguous in virtual memory fans out into many bands.
//!
//! Scales: a mapping's box is `24 + 8·log2(pages)` pixels tall (so a 4 KiB page and a
//! gigabyte both show), linear inside; the physical axis is linear over the RAM ranges, a
//! small gap between ranges. Each band is at least [`MIN_BAND`] pixels thick at either end.
//! The axes carry `data-*` attributes with their scales (each mapping box: `data-start`,
//! `data-end`, `data-y`, `data-h`; each RAM range: `data-first-pfn`, `data-end-pfn`,
//! `data-y`, `data-h`; the bands' `data-x-left`, `data-x-right`, `data-opacity`) for tests.

use std::collections::BTreeMap;

use crate::kernel::addr::PageSize;
use crate::render::svg::{num, Font, Svg, MUTED, PALETTE};
use crate::render::units::human_bytes;

const MARGIN: f64 = 24.0;
const WIDTH: f64 = 1080.0;
/// The virtual axis' boxes, and the physical axis' bar.
const V_LEFT: f64 = 330.0;
const V_RIGHT: f64 = 350.0;
const P_LEFT: f64 = 790.0;
const P_RIGHT: f64 = 810.0;
const AXIS_TOP: f64 = 112.0;
/// The physical axis is at least this tall.
const MIN_AXIS: f64 = 560.0;
const MAPPING_GAP: f64 = 6.0;
const RANGE_GAP: f64 = 10.0;
/// The thinnest a band gets at either end, in pixels.
pub(crate) const MIN_BAND: f64 = 3.0;
pub(crate) const BAND_OPACITY: f64 = 0.6;

/// One mapping to draw: its name, range and runs `(first virtual page, first frame, pages)`.
#[derive(Debug, Clone)]
pub(crate) struct MappingBands {
    pub(crate) name: String,
    pub(crate) perms: String,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) resident: u64,
    pub(crate) runs: Vec<(u64, u64, u64)>,
}

/// What `maps --svg` draws.
#[derive(Debug, Clone)]
pub(crate) struct MapsPicture {
    pub(crate) pid: i32,
    pub(crate) command: String,
    pub(crate) page: PageSize,
    /// System RAM as frame ranges `[first, end)`, in order.
    pub(crate) ram: Vec<(u64, u64)>,
    /// The selected mappings, in virtual order (those without runs are not drawn).
    pub(crate) mappings: Vec<MappingBands>,
}

/// A mapping's box on the virtual axis.
struct VirtualBox {
    y: f64,
    h: f64,
    first_page: u64,
    pages: u64,
}

impl VirtualBox {
    fn y_of(&self, page: u64) -> f64 {
        self.y + (page - self.first_page) as f64 / self.pages as f64 * self.h
    }
}

/// The physical axis: where each RAM range is drawn.
struct PhysicalAxis {
    ranges: Vec<(u64, u64, f64, f64)>,
}

impl PhysicalAxis {
    fn new(ram: &[(u64, u64)], top: f64, height: f64) -> Self {
        let frames: u64 = ram.iter().map(|(a, b)| b - a).sum::<u64>().max(1);
        let usable = height - RANGE_GAP * ram.len().saturating_sub(1) as f64;
        let mut y = top;
        let ranges = ram
            .iter()
            .map(|&(a, b)| {
                let h = (b - a) as f64 / frames as f64 * usable;
                let range = (a, b, y, h);
                y += h + RANGE_GAP;
                range
            })
            .collect();
        PhysicalAxis { ranges }
    }

    /// The y of frame `pfn`, if it is in RAM (the end of a range counts as in it).
    fn y_of(&self, pfn: u64) -> Option<f64> {
        self.ranges
            .iter()
            .find(|&&(a, b, _, _)| a <= pfn && pfn <= b)
            .map(|&(a, b, y, h)| y + (pfn - a) as f64 / (b - a) as f64 * h)
    }
}

/// `[y0, y1]` made at least [`MIN_BAND`] thick around its middle.
fn thick(y0: f64, y1: f64) -> (f64, f64) {
    if y1 - y0 >= MIN_BAND {
        (y0, y1)
    } else {
        let mid = (y0 + y1) / 2.0;
        (mid - MIN_BAND / 2.0, mid + MIN_BAND / 2.0)
    }
}

/// The whole picture.
pub(crate) fn maps_svg(picture: &MapsPicture) -> String {
    let drawn: Vec<&MappingBands> = picture
        .mappings
        .iter()
        .filter(|m| !m.runs.is_empty())
        .collect();
    let shift = picture.page.shift();
    let mut y = AXIS_TOP;
    let boxes: Vec<VirtualBox> = drawn
        .iter()
        .map(|m| {
            let pages = ((m.end - m.start) >> shift).max(1);
            let h = 24.0 + 8.0 * (pages as f64).log2();
            let b = VirtualBox {
                y,
                h,
                first_page: m.start >> shift,
                pages,
            };
            y += h + MAPPING_GAP;
            b
        })
        .collect();
    let axis_h = (y - AXIS_TOP).max(MIN_AXIS);
    let axis = PhysicalAxis::new(&picture.ram, AXIS_TOP, axis_h);
    let title = format!(
        "Virtual to physical: pid {} ({})",
        picture.pid, picture.command
    );
    let mut svg = Svg::new(WIDTH, 0.0, &title);
    svg.text(MARGIN, 36.0, Font::sans(20.0).bold(), &title);
    let runs: usize = drawn.iter().map(|m| m.runs.len()).sum();
    svg.text(
        MARGIN,
        58.0,
        Font::sans(13.0).fill(MUTED),
        &format!(
            "{} of {} mappings have resident frames: {runs} contiguous runs, each a band from its virtual pages (left) to its frames in System RAM (right)",
            drawn.len(),
            picture.mappings.len()
        ),
    );
    svg.text(
        V_RIGHT,
        AXIS_TOP - 14.0,
        Font::sans(13.0).bold().anchor("end"),
        "virtual address space",
    );
    svg.text(
        P_LEFT,
        AXIS_TOP - 14.0,
        Font::sans(13.0).bold(),
        "physical memory (System RAM)",
    );
    draw_bands(&mut svg, &drawn, &boxes, &axis);
    draw_virtual_axis(&mut svg, &drawn, &boxes);
    draw_physical_axis(&mut svg, &axis, picture.page);
    let bottom = draw_legend(&mut svg, &drawn, picture.page, AXIS_TOP + axis_h + 36.0);
    svg.fit_height(bottom + MARGIN);
    svg.finish()
}

/// Every run as a band, merged where two would land on the same pixels.
fn draw_bands(svg: &mut Svg, drawn: &[&MappingBands], boxes: &[VirtualBox], axis: &PhysicalAxis) {
    let (xl, xr) = (V_RIGHT, P_LEFT);
    let xm = (xl + xr) / 2.0;
    svg.group(&format!(
        r#" class="bands" data-x-left="{xl}" data-x-right="{xr}" data-opacity="{BAND_OPACITY}" fill-opacity="{BAND_OPACITY}""#
    ));
    for (i, (m, b)) in drawn.iter().zip(boxes).enumerate() {
        // (virtual pixel, physical pixel) -> the extents of the runs landing there.
        let mut merged: BTreeMap<(i64, i64), (f64, f64, f64, f64)> = BTreeMap::new();
        for &(first_page, first_pfn, pages) in &m.runs {
            let (Some(p0), Some(p1)) = (axis.y_of(first_pfn), axis.y_of(first_pfn + pages)) else {
                continue;
            };
            let (v0, v1) = (b.y_of(first_page), b.y_of(first_page + pages));
            let key = (v0.floor() as i64, p0.floor() as i64);
            let e = merged.entry(key).or_insert((v0, v1, p0, p1));
            *e = (e.0.min(v0), e.1.max(v1), e.2.min(p0), e.3.max(p1));
        }
        let colour = PALETTE[i % PALETTE.len()];
        for (v0, v1, p0, p1) in merged.into_values() {
            let (v0, v1) = thick(v0, v1);
            let (p0, p1) = thick(p0, p1);
            let d = format!(
                "M{} {}C{} {} {} {} {} {}L{} {}C{} {} {} {} {} {}Z",
                num(xl),
                num(v0),
                num(xm),
                num(v0),
                num(xm),
                num(p0),
                num(xr),
                num(p0),
                num(xr),
                num(p1),
                num(xm),
                num(p1),
                num(xm),
                num(v1),
                num(xl),
                num(v1)
            );
            svg.path(&d, &format!(r#" fill="{colour}""#));
        }
    }
    svg.end();
}

/// The mappings' boxes and labels.
fn draw_virtual_axis(svg: &mut Svg, drawn: &[&MappingBands], boxes: &[VirtualBox]) {
    for (i, (m, b)) in drawn.iter().zip(boxes).enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        svg.rect_with(
            V_LEFT,
            b.y,
            V_RIGHT - V_LEFT,
            b.h,
            colour,
            &format!(
                r#" class="mapping" data-start="{:#x}" data-end="{:#x}" data-y="{}" data-h="{}""#,
                m.start,
                m.end,
                num(b.y),
                num(b.h)
            ),
        );
        // A file by its name alone (the legend has the path).
        let base = m.name.rsplit('/').next().unwrap_or(&m.name);
        let name: String = base.chars().take(34).collect();
        let mid = b.y + b.h / 2.0;
        svg.text(
            V_LEFT - 8.0,
            mid,
            Font::sans(11.0).anchor("end"),
            &format!("{name} {}", m.perms),
        );
        svg.text(
            V_LEFT - 8.0,
            mid + 12.0,
            Font::mono(9.5).anchor("end").fill(MUTED),
            &format!("{:#x} {}", m.start, human_bytes(m.end - m.start)),
        );
    }
}

/// System RAM's bar, one segment per range, with its addresses.
fn draw_physical_axis(svg: &mut Svg, axis: &PhysicalAxis, page: PageSize) {
    let bytes = page.bytes();
    for &(a, b, y, h) in &axis.ranges {
        svg.rect_with(
            P_LEFT,
            y,
            P_RIGHT - P_LEFT,
            h.max(1.0),
            "#8cc084",
            &format!(
                r#" class="ram" data-first-pfn="{a:#x}" data-end-pfn="{b:#x}" data-y="{}" data-h="{}""#,
                num(y),
                num(h)
            ),
        );
        let font = Font::mono(10.0).fill(MUTED);
        if h >= 24.0 {
            svg.text(P_RIGHT + 8.0, y + 9.0, font, &format!("{:#x}", a * bytes));
            svg.text(P_RIGHT + 8.0, y + h, font, &format!("{:#x}", b * bytes - 1));
        }
        if h >= 40.0 {
            svg.text(
                P_RIGHT + 8.0,
                y + h / 2.0 + 4.0,
                Font::sans(11.0),
                &human_bytes((b - a) * bytes),
            );
        }
    }
}

/// A swatch per mapping drawn, with its resident size and runs; returns the y below.
fn draw_legend(svg: &mut Svg, drawn: &[&MappingBands], page: PageSize, top: f64) -> f64 {
    svg.text(
        MARGIN,
        top,
        Font::sans(14.0).bold(),
        "Legend: one colour per mapping",
    );
    let mut y = top + 10.0;
    for (i, m) in drawn.iter().enumerate() {
        let x = MARGIN + (i % 2) as f64 * 520.0;
        if i % 2 == 0 && i > 0 {
            y += 18.0;
        }
        svg.rect(x, y + 2.0, 14.0, 14.0, PALETTE[i % PALETTE.len()]);
        let name: String = m.name.chars().take(60).collect();
        svg.text(
            x + 22.0,
            y + 13.0,
            Font::sans(11.0),
            &format!(
                "{name} {}: {} resident in {} run{}",
                m.perms,
                human_bytes(m.resident * page.bytes()),
                m.runs.len(),
                if m.runs.len() == 1 { "" } else { "s" }
            ),
        );
    }
    y + 18.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_a_band_from_its_virtual_place_to_its_physical_place() {
        let picture = MapsPicture {
            pid: 1,
            command: "x".into(),
            page: PageSize::new(4096).unwrap(),
            ram: vec![(0x100, 0x1100)],
            mappings: vec![
                MappingBands {
                    name: "[heap]".into(),
                    perms: "rw-p".into(),
                    start: 0x10000,
                    end: 0x20000,
                    resident: 16,
                    runs: vec![(0x10, 0x900, 16)],
                },
                MappingBands {
                    name: "/lib/x".into(),
                    perms: "r--p".into(),
                    start: 0x40000,
                    end: 0x41000,
                    resident: 0,
                    runs: vec![],
                },
            ],
        };
        let text = maps_svg(&picture);
        assert!(
            text.contains("1 of 2 mappings have resident frames: 1 contiguous runs"),
            "{text}"
        );
        // [heap]: 16 pages, a box of 24 + 32 = 56 px from y 112; RAM 0x1000 frames over 560 px.
        assert!(
            text.contains(r#"data-start="0x10000" data-end="0x20000" data-y="112" data-h="56""#),
            "{text}"
        );
        // frame 0x900 is half way down the RAM axis: 112 + 280 = 392; 16 frames: 2.19 px, thickened to 3.
        assert!(
            text.contains(
                "M350 112C570 112 570 391.59 790 391.59L790 394.59C570 394.59 570 168 350 168Z"
            ),
            "{text}"
        );
        assert!(
            !text.contains(r#"data-start="0x40000""#),
            "a mapping without runs has no box"
        );
    }
}
