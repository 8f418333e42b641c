// SPDX-License-Identifier: MIT OR Apache-2.0
//! `inspect --svg`: one translation drawn. The virtual address as 64 bits split into the
//! fields of the walk the running MMU makes ([`crate::kernel::walk`]: on x86-64 the sign
//! extension, PGD, PUD, PMD and PTE indices; on arm64 the bits above the VA size, which
//! pick TTBR0_EL1, and the L0..L3 indices of the running granule; then the offset in the
//! page), that walk one table per level, the page-table entry as /proc/PID/pagemap reports
//! it (its flag bits and the frame number), the frame with its kpageflags, and the physical
//! address: the frame number shifted left by the page shift, the same offset below it.
//!
//! Every bit is a cell: a set bit in its field's colour, a clear one in a pale tint of it,
//! so the values can be read off the picture. Each row of bits is a `<g class="bits">` with
//! `data-row` (`virtual`, `entry`, `physical`), `data-x`, `data-y`, `data-bit-px` and
//! `data-h`: bit `b` is drawn at `x + (63 - b) × bit-px`.

use crate::kernel::walk::{Mmu, Walk};
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
/// The colours of the levels, the last level's (PTE, L3) last.
const LEVELS: [&str; 4] = [PGD, PUD, PMD, PTE];
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

/// A level's colour: the last level is always the PTE's (L3's), the others count back.
fn level_colour(walk: &Walk, i: usize) -> &'static str {
    LEVELS[LEVELS.len() - walk.levels.len() + i]
}

/// The fields of a virtual address: the bits above the walk, one index per level (the
/// first named "index"), the offset in the page.
fn virtual_fields(walk: &Walk, mmu: Mmu) -> Vec<Field> {
    let top = match mmu {
        Mmu::X86_64 => format!("sign extension of bit {}", walk.va_bits - 1),
        _ => format!("bits above {} VA bits: 0 picks {}", walk.va_bits, walk.root),
    };
    let mut fields = vec![field(63, walk.va_bits, SIGN, top)];
    for (i, l) in walk.levels.iter().enumerate() {
        let name = if i == 0 {
            format!("{} index {}", l.table, l.index)
        } else {
            format!("{} {}", l.table, l.index)
        };
        fields.push(field(l.high, l.low, level_colour(walk, i), name));
    }
    fields.push(field(
        walk.offset_bits - 1,
        0,
        OFFSET,
        format!("offset {:#x}", walk.offset),
    ));
    fields
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

/// The walk, one box per table, with the entry each index picks.
fn draw_walk(svg: &mut Svg, walk: &Walk, y: f64) -> f64 {
    svg.text(
        MARGIN,
        y + 14.0,
        Font::sans(12.0).bold(),
        &format!(
            "The walk the MMU makes ({} holds the first table's frame):",
            walk.root
        ),
    );
    let (w, h, gap) = (170.0, 44.0, 70.0);
    let top = y + 26.0;
    let mut x = BITS_X;
    svg.text(
        x - 8.0,
        top + 27.0,
        Font::mono(12.0).anchor("end"),
        walk.root,
    );
    for (i, level) in walk.levels.iter().enumerate() {
        let colour = level_colour(walk, i);
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
            &format!("{} table", level.table),
        );
        svg.text(
            x + w / 2.0,
            top + 35.0,
            Font::mono(11.0).anchor("middle"),
            &format!("entry [{}] of {}", level.index, level.entries()),
        );
        let next = if i + 1 < walk.levels.len() {
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
        &format!("{}; user space cannot read the tables, but /proc/PID/pagemap gives the last entry's frame:", index_sizes(walk)),
    );
    top + h + 30.0
}

/// `Each index picks one of 512 entries (9 bits)`, or per level where they differ.
fn index_sizes(walk: &Walk) -> String {
    let bits = |l: &crate::kernel::walk::Level| l.high - l.low + 1;
    match walk.levels.split_first() {
        Some((first, rest)) if rest.iter().all(|l| bits(l) == bits(first)) => format!(
            "Each index picks one of {} entries ({} bits)",
            first.entries(),
            bits(first)
        ),
        _ => {
            let each: Vec<String> = walk
                .levels
                .iter()
                .map(|l| {
                    format!(
                        "{} {} of {} ({} bits)",
                        l.table,
                        l.index,
                        l.entries(),
                        bits(l)
                    )
                })
                .collect();
            format!(
                "Each index picks one entry of its table: {}",
                each.join(", ")
            )
        }
    }
}

/// A huge page mapped whole ends the walk a level early: the note under the walk.
fn huge_note(walk: &Walk, kind: &str) -> Option<String> {
    let [.., above, _] = walk.levels.as_slice() else {
        return None;
    };
    let article = if above.table.starts_with('L') {
        "an"
    } else {
        "a"
    };
    Some(format!(
        "The frame is part of a {kind}: mapped by {article} {} entry, the walk ends there and bits {}-0 are the offset in the {} page.",
        above.table,
        above.low - 1,
        whole_units(1u64 << above.low)
    ))
}

/// `2 MiB`, `512 MiB`, `1 GiB`: a power of two in the largest unit it fills.
fn whole_units(bytes: u64) -> String {
    let units = [(30, "GiB"), (20, "MiB"), (10, "KiB")];
    match units.iter().find(|(shift, _)| bytes >= 1 << shift) {
        Some((shift, unit)) => format!("{} {unit}", bytes >> shift),
        None => format!("{bytes} bytes"),
    }
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
    // The picture draws the running MMU's walk; where it knows none, page and offset.
    match r.mmu.walk(r.vaddr, r.page) {
        Some(walk) => {
            y = draw_bits(
                &mut svg,
                "virtual",
                "virtual",
                r.vaddr.0,
                &virtual_fields(&walk, r.mmu),
                y,
            );
            y = draw_walk(&mut svg, &walk, y + 4.0);
            let kind = r.frame.and_then(|f| f.flags.huge_kind());
            if let Some(note) = kind.and_then(|k| huge_note(&walk, k)) {
                svg.text(BITS_X, y + 4.0, Font::sans(11.0).fill(MUTED), &note);
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

    /// The sample on arm64 with `page` bytes a page and 48-bit VA.
    fn arm64(page: u64, entry: u64) -> String {
        let mut r = crate::resolve::translate::sample_resolution(entry);
        r.mmu = Mmu::Arm64 { va_bits: 48 };
        r.page = crate::kernel::addr::PageSize::new(page).unwrap();
        translation_svg(&r)
    }

    #[test]
    fn arm64_4k_draws_ttbr0_and_four_levels_of_nine_bits() {
        let text = arm64(4096, 0x8180_0000_0012_3456);
        assert!(text.contains("TTBR0_EL1 holds the first table"), "{text}");
        assert!(text.contains("bits above 48 VA bits: 0 picks TTBR0_EL1"));
        for (name, bits) in [
            ("L0 index 254", "47-39"),
            ("L1 72", "38-30"),
            ("L2 418", "29-21"),
            ("L3 359", "20-12"),
            ("offset 0x40", "11-0"),
        ] {
            assert!(text.contains(&format!(">{name}<")), "{name}");
            assert!(text.contains(&format!(">{bits}<")), "{bits}");
        }
        assert!(text.contains("entry [254] of 512"));
        assert!(text.contains("Each index picks one of 512 entries (9 bits)"));
        assert!(!text.contains("PGD"));
        assert!(text.contains("physical = PFN 0x123456 &lt;&lt; 12 | offset 0x40 = 0x123456040"));
        assert_eq!(text.matches("<rect").count(), 1 + 64 * 3 + 4 + 1);
    }

    #[test]
    fn arm64_64k_draws_three_levels_the_first_of_six_bits() {
        // 0x7f12_3456_7040: L1 = bits 47-42, L2 = 41-29, L3 = 28-16, offset 15-0.
        let text = arm64(65536, 0x8180_0000_0000_1234);
        for (name, bits) in [
            ("L1 index 31", "47-42"),
            ("L2 6289", "41-29"),
            ("L3 5206", "28-16"),
            ("offset 0x7040", "15-0"),
        ] {
            assert!(text.contains(&format!(">{name}<")), "{name}: {text}");
            assert!(text.contains(&format!(">{bits}<")), "{bits}");
        }
        assert!(!text.contains("L0"));
        assert!(text.contains("entry [31] of 64") && text.contains("entry [6289] of 8192"));
        assert!(text.contains(
            "one entry of its table: L1 31 of 64 (6 bits), L2 6289 of 8192 (13 bits), L3 5206 of 8192 (13 bits)"
        ));
        assert!(text.contains("physical = PFN 0x1234 &lt;&lt; 16 | offset 0x7040 = 0x12347040"));
        assert_eq!(text.matches("<rect").count(), 1 + 64 * 3 + 3 + 1);
    }

    #[test]
    fn arm64_16k_with_48_bits_has_an_l0_of_one_bit_and_three_of_eleven() {
        let text = arm64(16384, 0x8180_0000_0000_1234);
        assert!(text.contains(">L0 index 0 47<"), "{text}");
        for (name, bits) in [
            ("L1 2033", "46-36"),
            ("L2 282", "35-25"),
            ("L3 345", "24-14"),
            ("offset 0x3040", "13-0"),
        ] {
            assert!(text.contains(&format!(">{name}<")), "{name}");
            assert!(text.contains(&format!(">{bits}<")), "{bits}");
        }
        assert!(text.contains("entry [0] of 2") && text.contains("entry [2033] of 2048"));
    }

    #[test]
    fn a_huge_page_ends_the_walk_a_level_early_at_its_own_size() {
        let thp = |page, mmu| {
            let mut r = crate::resolve::translate::sample_resolution(0x8180_0000_0000_1234);
            r.mmu = mmu;
            r.page = crate::kernel::addr::PageSize::new(page).unwrap();
            r.frame = Some(crate::resolve::translate::FrameInfo {
                flags: crate::kernel::kpageflags::KpageFlags(1 << 22),
                map_count: 1,
                huge_size: None,
            });
            translation_svg(&r)
        };
        let arm = Mmu::Arm64 { va_bits: 48 };
        assert!(thp(65536, arm).contains(
            "mapped by an L2 entry, the walk ends there and bits 28-0 are the offset in the 512 MiB page."
        ));
        assert!(thp(16384, arm).contains("bits 24-0 are the offset in the 32 MiB page."));
        assert!(thp(4096, Mmu::X86_64).contains(
            "mapped by a PMD entry, the walk ends there and bits 20-0 are the offset in the 2 MiB page."
        ));
    }
}
