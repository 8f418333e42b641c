// SPDX-License-Identifier: MIT OR Apache-2.0
//! `inspect --svg`: one translation drawn. The virtual address as 64 bits split into its
//! x86-64 fields (sign extension, PGD, PUD, PMD and PTE indices, the offset in the page), the
//! four-level walk those indices take, the page-table entry as /proc/PID/pagemap reports it
//! (its flag bits and the frame number), the frame with its kpageflags, and the physical
//! address: the frame number shifted left by 12, the same offset below it.
//!
//! Every bit is a cell: a set bit in its field's colour, a clear one in a pale tint of it,
//! so the values can be read off the picture. Each row of bits is a `<g class="bits">` with
//! `data-row` (`virtual`, `entry`, `physical`), `data-x`, `data-y`, `data-bit-px` and
//! `data-h`: bit `b` is drawn at `x + (63 - b) × bit-px`.

use crate::kernel::addr::PageTableIndices;
use crate::render::svg::{num, tint, Font, Svg, INK, MUTED};
use crate::resolve::translate::Resolution;

const MARGIN: f64 = 24.0;
const WIDTH: f64 = 1100.0;
/// Where the bit rows start, and a bit's width and height.
const BITS_X: f64 = 90.0;
pub(crate) const BIT_PX: f64 = 15.0;
const BIT_H: f64 = 26.0;
/// How much white a clear bit's tint has.
pub(crate) const CLEAR_TINT: f64 = 0.78;

const SIGN: &str = "#7f7f7f";
const PGD: &str = "#4e79a7";
const PUD: &str = "#f28e2b";
const PMD: &str = "#59a14f";
const PTE: &str = "#e15759";
const OFFSET: &str = "#b07aa1";
const PFN: &str = "#2f4b7c";
const FLAGS: &str = "#9c755f";
const UNUSED: &str = "#a0a0a0";

/// A field of a 64-bit word: its highest and lowest bit, colour and name.
struct Field {
    high: u32,
    low: u32,
    colour: &'static str,
    name: String,
}

fn field(high: u32, low: u32, colour: &'static str, name: impl Into<String>) -> Field {
    Field {
        high,
        low,
        colour,
        name: name.into(),
    }
}

fn bit_x(bit: u32) -> f64 {
    BITS_X + f64::from(63 - bit) * BIT_PX
}

/// One word as a row of 64 bit cells, its fields named below it; returns the y below.
fn draw_bits(svg: &mut Svg, row: &str, label: &str, value: u64, fields: &[Field], y: f64) -> f64 {
    svg.text(MARGIN, y + 17.0, Font::sans(12.0).bold(), label);
    svg.group(&format!(
        r#" class="bits" data-row="{row}" data-x="{BITS_X}" data-y="{}" data-bit-px="{BIT_PX}" data-h="{BIT_H}""#,
        num(y)
    ));
    for f in fields {
        for bit in f.low..=f.high {
            let set = value >> bit & 1 == 1;
            let fill = if set {
                f.colour.to_string()
            } else {
                tint(f.colour, CLEAR_TINT)
            };
            svg.rect(bit_x(bit), y, BIT_PX - 1.0, BIT_H, &fill);
            let font = Font::mono(10.0)
                .anchor("middle")
                .fill(if set { "#ffffff" } else { INK });
            svg.text(
                bit_x(bit) + (BIT_PX - 1.0) / 2.0,
                y + 17.0,
                font,
                if set { "1" } else { "0" },
            );
        }
    }
    svg.end();
    let mut below = y + BIT_H + 36.0;
    for f in fields {
        let (x0, x1) = (bit_x(f.high), bit_x(f.low) + BIT_PX - 1.0);
        svg.line((x0, y + BIT_H + 4.0), (x1, y + BIT_H + 4.0), f.colour, 2.0);
        let middle = (x0 + x1) / 2.0;
        if f.high == f.low {
            // A one-bit field is too narrow for its name: it hangs below, turned.
            let font = Font::sans(10.0).anchor("end");
            let x = middle + 3.5;
            svg.text_turned(
                x,
                y + BIT_H + 9.0,
                -90.0,
                font,
                &format!("{} {}", f.name, f.high),
            );
            below = below.max(y + BIT_H + 84.0);
            continue;
        }
        let font = Font::sans(10.5).anchor("middle");
        svg.text(middle, y + BIT_H + 17.0, font, &f.name);
        let bits = if f.high == f.low {
            format!("bit {}", f.high)
        } else {
            format!("{}-{}", f.high, f.low)
        };
        svg.text(middle, y + BIT_H + 29.0, font.fill(MUTED), &bits);
    }
    below
}

/// The x86-64 fields of a virtual address (4 KiB pages, four levels).
fn virtual_fields(t: &PageTableIndices) -> Vec<Field> {
    vec![
        field(63, 48, SIGN, "sign extension of bit 47"),
        field(47, 39, PGD, format!("PGD index {}", t.pgd)),
        field(38, 30, PUD, format!("PUD {}", t.pud)),
        field(29, 21, PMD, format!("PMD {}", t.pmd)),
        field(20, 12, PTE, format!("PTE {}", t.pte)),
        field(11, 0, OFFSET, format!("offset {:#x}", t.offset)),
    ]
}

/// The fields of a pagemap entry (`Documentation/admin-guide/mm/pagemap.rst`).
fn entry_fields(r: &Resolution) -> Vec<Field> {
    let low = match r.pfn() {
        Some(pfn) => format!("PFN {pfn}"),
        None if r.entry.swapped() => "swap type and offset".to_string(),
        None => "PFN (none)".to_string(),
    };
    vec![
        field(63, 63, FLAGS, "present"),
        field(62, 62, FLAGS, "swapped"),
        field(61, 61, FLAGS, "file/shared"),
        field(60, 59, UNUSED, "zero"),
        field(58, 58, FLAGS, "guard"),
        field(57, 57, FLAGS, "uffd-wp"),
        field(56, 56, FLAGS, "exclusive"),
        field(55, 55, FLAGS, "soft-dirty"),
        field(54, 0, PFN, low),
    ]
}

/// The four-level walk, one box per table, with the entry each index picks.
fn draw_walk(svg: &mut Svg, t: &PageTableIndices, y: f64) -> f64 {
    svg.text(
        MARGIN,
        y + 14.0,
        Font::sans(12.0).bold(),
        "The walk the MMU makes (CR3 holds the first table's frame):",
    );
    let steps = [
        ("PGD", t.pgd, PGD),
        ("PUD", t.pud, PUD),
        ("PMD", t.pmd, PMD),
        ("PTE", t.pte, PTE),
    ];
    let (w, h, gap) = (170.0, 44.0, 70.0);
    let top = y + 26.0;
    let mut x = BITS_X;
    svg.text(x - 8.0, top + 27.0, Font::mono(12.0).anchor("end"), "CR3");
    for (i, (name, index, colour)) in steps.iter().enumerate() {
        svg.rect_with(
            x,
            top,
            w,
            h,
            &tint(colour, 0.65),
            &format!(r#" stroke="{colour}" stroke-width="2""#),
        );
        svg.text(
            x + w / 2.0,
            top + 18.0,
            Font::sans(12.0).bold().anchor("middle"),
            &format!("{name} table"),
        );
        svg.text(
            x + w / 2.0,
            top + 35.0,
            Font::mono(11.0).anchor("middle"),
            &format!("entry [{index}] of 512"),
        );
        let next = if i + 1 < steps.len() {
            "next table"
        } else {
            "the frame"
        };
        let (ax, ay) = (x + w, top + h / 2.0);
        svg.line((ax, ay), (ax + gap - 8.0, ay), INK, 1.5);
        svg.path(
            &format!("M{} {}l-8 -5v10z", num(ax + gap), num(ay)),
            &format!(r#" fill="{INK}""#),
        );
        svg.text(
            ax + gap / 2.0,
            ay - 6.0,
            Font::sans(9.5).anchor("middle").fill(MUTED),
            next,
        );
        x += w + gap;
    }
    svg.text(
        BITS_X,
        top + h + 18.0,
        Font::sans(11.0).fill(MUTED),
        "Each index picks one of 512 entries (9 bits); user space cannot read the tables, but /proc/PID/pagemap gives the last entry's frame:",
    );
    top + h + 30.0
}

/// The frame: its number, what kpageflags says about it.
fn draw_frame(svg: &mut Svg, r: &Resolution, y: f64) -> f64 {
    let text = match (r.pfn(), r.frame) {
        (Some(pfn), Some(frame)) => {
            let mut line = format!(
                "frame {pfn}: kpageflags {}; mapped {} time{}",
                frame.flags.names().join(" "),
                frame.map_count,
                if frame.map_count == 1 { "" } else { "s" }
            );
            if let Some(kind) = frame.flags.huge_kind() {
                line.push_str(&format!("; part of a {kind}"));
            }
            line
        }
        (Some(pfn), None) => format!("frame {pfn} (kpageflags not readable)"),
        (None, _) => "no frame: the page is not in RAM".to_string(),
    };
    svg.rect_with(
        BITS_X,
        y,
        64.0 * BIT_PX - 1.0,
        28.0,
        &tint(PFN, 0.85),
        &format!(r#" stroke="{PFN}""#),
    );
    svg.text(BITS_X + 10.0, y + 18.5, Font::sans(12.0), &text);
    y + 44.0
}

/// The whole picture.
pub(crate) fn translation_svg(r: &Resolution) -> String {
    let title = match r.paddr() {
        Some(paddr) => format!(
            "pid {} ({}): virtual {} is physical {paddr}",
            r.pid, r.command, r.vaddr
        ),
        None => format!(
            "pid {} ({}): virtual {} has no physical address",
            r.pid, r.command, r.vaddr
        ),
    };
    let mut svg = Svg::new(WIDTH, 0.0, &title);
    svg.text(MARGIN, 36.0, Font::sans(20.0).bold(), &title);
    svg.text(
        MARGIN,
        58.0,
        Font::sans(13.0).fill(MUTED),
        &format!(
            "in {} {} {:x}-{:x}; from /proc/{}/maps, /proc/{}/pagemap and /proc/kpageflags",
            r.mapping.path, r.mapping.perms, r.mapping.start.0, r.mapping.end.0, r.pid, r.pid
        ),
    );
    let mut y = 80.0;
    // The picture draws the x86-64 walk; elsewhere it shows page and offset.
    let x86 = (r.mmu == crate::kernel::walk::Mmu::X86_64)
        .then(|| PageTableIndices::x86_64(r.vaddr, r.page))
        .flatten();
    match x86 {
        Some(t) => {
            y = draw_bits(
                &mut svg,
                "virtual",
                "virtual",
                r.vaddr.0,
                &virtual_fields(&t),
                y,
            );
            y = draw_walk(&mut svg, &t, y + 4.0);
            if let Some(kind) = r.frame.and_then(|f| f.flags.huge_kind()) {
                // A huge page mapped whole ends the walk a level early.
                svg.text(
                    BITS_X,
                    y + 4.0,
                    Font::sans(11.0).fill(MUTED),
                    &format!("The frame is part of a {kind}: mapped by a PMD entry, the walk ends there and bits 20-0 are the offset in the 2 MiB page."),
                );
                y += 16.0;
            }
        }
        None => {
            let shift = r.page.shift();
            let fields = [
                field(
                    63,
                    shift,
                    PTE,
                    format!("virtual page {:#x}", r.page.page_index(r.vaddr)),
                ),
                field(shift - 1, 0, OFFSET, "offset"),
            ];
            y = draw_bits(&mut svg, "virtual", "virtual", r.vaddr.0, &fields, y);
        }
    }
    y = draw_bits(
        &mut svg,
        "entry",
        "entry",
        r.entry.0,
        &entry_fields(r),
        y + 6.0,
    );
    y = draw_frame(&mut svg, r, y);
    y = draw_physical(&mut svg, r, y);
    svg.fit_height(y + MARGIN);
    svg.finish()
}

/// The physical address, built from the frame number and the offset; returns the y below.
fn draw_physical(svg: &mut Svg, r: &Resolution, y: f64) -> f64 {
    let shift = r.page.shift();
    let offset = r.page.offset_in_page(r.vaddr.0);
    let Some(paddr) = r.paddr() else {
        svg.text(
            BITS_X,
            y + 16.0,
            Font::sans(13.0).bold(),
            &format!(
                "physical address: unknown ({})",
                r.require_paddr()
                    .err()
                    .map_or_else(String::new, |e| e.to_string())
            ),
        );
        return y + 28.0;
    };
    let pfn = r.pfn().map_or(0, |p| p.0);
    let fields = [
        field(
            63,
            shift,
            PFN,
            format!(
                "PFN {:#x} (the entry's bits 54-0, shifted left by {shift})",
                pfn
            ),
        ),
        field(
            shift - 1,
            0,
            OFFSET,
            format!("offset {offset:#x}, as in the virtual address"),
        ),
    ];
    let below = draw_bits(svg, "physical", "physical", paddr.0, &fields, y);
    svg.text(
        BITS_X,
        below + 10.0,
        Font::mono(13.0).bold(),
        &format!("physical = PFN {pfn:#x} << {shift} | offset {offset:#x} = {paddr}"),
    );
    below + 20.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bit_of_the_three_words_is_a_cell_of_its_fields_colour() {
        let r = crate::resolve::translate::sample_resolution(0x8180_0000_0012_3456);
        let text = translation_svg(&r);
        assert!(
            text.contains("virtual 0x7f1234567040 is physical 0x123456040"),
            "{text}"
        );
        assert!(text.contains("PGD index 254") && text.contains("PTE 359"));
        assert!(text.contains("physical = PFN 0x123456 &lt;&lt; 12 | offset 0x40 = 0x123456040"));
        assert_eq!(text.matches(r#"<g class="bits""#).count(), 3);
        // Bit 63 of the entry (present) is set, bit 62 (swapped) is clear.
        assert!(text.contains(&format!(r#"width="14" height="26" fill="{FLAGS}"/>"#)));
        assert!(text.contains(&format!(
            r#"width="14" height="26" fill="{}"/>"#,
            tint(FLAGS, CLEAR_TINT)
        )));
        // The background, 64 cells a word, the four tables, the frame.
        assert_eq!(text.matches("<rect").count(), 1 + 64 * 3 + 4 + 1);
    }
}
