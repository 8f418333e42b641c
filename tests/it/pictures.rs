// SPDX-License-Identifier: MIT OR Apache-2.0
//! The pictures, checked as pictures: `physmap`, `maps --svg` and `inspect --svg` are
//! rendered to pixels (the `resvg` crate, without text) and their content read back off
//! the pixels against values read independently of the crate: the target's frame cell has
//! the highlight colour where its PFN falls; a band joins the target page's place on the
//! virtual axis to its frame's place on the physical axis; the bits of the translation
//! picture spell the target's virtual address, its pagemap entry and its physical address.
//! `physmap`'s text (`--color never`) is read as text, and its class totals are compared
//! with this file's own classification of the same /proc/kpageflags words.

use std::collections::BTreeMap;
use std::path::Path;

use resvg::tiny_skia::Pixmap;
use resvg::usvg::roxmltree;

use crate::common::{
    hex, independent_pagemap_entry, independent_pfn, page_size, require_root, run, stdout_of,
    Target,
};

/// `physmap`'s highlight colour, and a reserved/kernel cell's.
const HIGHLIGHT: [u8; 3] = [0xff, 0x00, 0xcc];
const KERNEL: [u8; 3] = [0x4d, 0x4d, 0x4d];

/// The SVG in `path` drawn to pixels (text is not drawn: no font is loaded).
fn render(path: &Path) -> Pixmap {
    let data = std::fs::read(path).expect("reading the SVG");
    let tree = resvg::usvg::Tree::from_data(&data, &resvg::usvg::Options::default())
        .expect("the SVG parses");
    let size = tree.size().to_int_size();
    let mut pixmap = Pixmap::new(size.width(), size.height()).expect("a canvas");
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap
}

/// The colour at `(x, y)` (the pictures are opaque: premultiplied is plain).
fn pixel(pixmap: &Pixmap, x: f64, y: f64) -> [u8; 3] {
    let p = pixmap
        .pixel(x as u32, y as u32)
        .unwrap_or_else(|| panic!("({x}, {y}) is outside the picture"));
    assert_eq!(p.alpha(), 255, "the picture has an opaque background");
    [p.red(), p.green(), p.blue()]
}

fn near(a: [u8; 3], b: [u8; 3], slack: i32) -> bool {
    a.iter()
        .zip(b)
        .all(|(&x, y)| (i32::from(x) - i32::from(y)).abs() <= slack)
}

/// The elements with attribute `data-NAME`s, each as a map of its attributes.
fn elements_with(svg: &str, attr: &str) -> Vec<BTreeMap<String, String>> {
    let doc = roxmltree::Document::parse(svg).expect("the SVG is XML");
    doc.descendants()
        .filter(|n| n.attribute(attr).is_some())
        .map(|n| {
            n.attributes()
                .map(|a| (a.name().to_string(), a.value().to_string()))
                .collect()
        })
        .collect()
}

fn number(map: &BTreeMap<String, String>, key: &str) -> f64 {
    map[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key} is a number"))
}

fn hex_attr(map: &BTreeMap<String, String>, key: &str) -> u64 {
    u64::from_str_radix(map[key].trim_start_matches("0x"), 16).expect("a hex attribute")
}

/// The whole frames of the top-level System RAM ranges of an /proc/iomem text.
fn system_ram(iomem: &str) -> Vec<(u64, u64)> {
    let page = page_size();
    iomem
        .lines()
        .filter(|l| !l.starts_with(' ') && l.ends_with(" : System RAM"))
        .map(|l| {
            let (range, _) = l.split_once(" : ").unwrap();
            let (a, b) = range.split_once('-').unwrap();
            let (a, b) = (
                u64::from_str_radix(a, 16).unwrap(),
                u64::from_str_radix(b, 16).unwrap(),
            );
            (a.div_ceil(page), (b + 1) / page)
        })
        .collect()
}

/// This file's own reading of the classes (the rules of `kernel/frame_class.rs`'s doc,
/// written again from pagemap.rst's bit numbers): index in legend order.
fn class_of(flags: u64, head: &mut Option<usize>) -> usize {
    let bit = |n: u32| flags >> n & 1 == 1;
    let own = if bit(10) {
        0
    } else if bit(20) || bit(19) || bit(23) {
        7
    } else if bit(17) || (bit(22) && bit(12)) {
        5
    } else if bit(7) {
        3
    } else if bit(26) {
        4
    } else if bit(32) || bit(24) {
        6
    } else if bit(12) {
        1
    } else if [0, 3, 4, 5, 8, 11, 13, 14, 34].iter().any(|&b| bit(b)) {
        2
    } else {
        7
    };
    if bit(15) {
        *head = Some(own);
        own
    } else if bit(16) {
        if own == 7 {
            head.unwrap_or(own)
        } else {
            own
        }
    } else {
        *head = None;
        own
    }
}

const CLASSES: [&str; 8] = [
    "free",
    "anonymous",
    "file",
    "slab",
    "page_tables",
    "huge",
    "kernel",
    "other",
];

#[test]
fn physmap_class_totals_equal_an_independent_count_of_the_same_kpageflags() {
    require_root();
    let scratch = tempfile::tempdir().unwrap();
    let snapshot = scratch.path().join("kpageflags");
    let words = std::fs::read("/proc/kpageflags").expect("reading /proc/kpageflags");
    std::fs::write(&snapshot, &words).unwrap();
    let out = crate::common::physdemo()
        .args(["physmap", "--json"])
        .env("PHYSDEMO_KPAGEFLAGS", &snapshot)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::common::stderr_of(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut mine = [0u64; 8];
    let ram = system_ram(&std::fs::read_to_string("/proc/iomem").unwrap());
    for &(first, end) in &ram {
        let mut head = None;
        for pfn in first..end {
            let at = pfn as usize * 8;
            let word = words
                .get(at..at + 8)
                .map_or(0, |w| u64::from_ne_bytes(w.try_into().unwrap()));
            mine[class_of(word, &mut head)] += 1;
        }
    }
    let ram_frames: u64 = ram.iter().map(|(a, b)| b - a).sum();
    assert_eq!(json["ram_frames"], ram_frames);
    for (i, class) in CLASSES.iter().enumerate() {
        assert_eq!(
            json["totals"][class], mine[i],
            "{class}: {}",
            json["totals"]
        );
    }
    // And the cells hold what the totals say.
    let mut from_cells = [0u64; 8];
    for grid in json["grids"].as_array().unwrap() {
        for cell in grid["cells"].as_array().unwrap() {
            for (i, class) in CLASSES.iter().enumerate() {
                from_cells[i] += cell["counts"][class].as_u64().unwrap();
            }
        }
    }
    assert_eq!(from_cells, mine);
    eprintln!("classes of {ram_frames} frames: {mine:?}");
    assert!(
        mine[0] > 0 && mine[2] + mine[1] > 0 && mine[6] > 0,
        "{mine:?}"
    );
}

/// A number in `header` right after `before`.
fn number_after(header: &str, before: &str) -> u64 {
    header
        .split(before)
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {before:?} in {header:?}"))
}

/// The text grid: the frames a cell and the cells a row (from the header line), and the
/// rows of every range as (first frame of the row, the row's cells).
fn text_grid(text: &str) -> (u64, u64, Vec<(u64, String)>) {
    let header = text.lines().next().expect("a header line");
    let cell = number_after(header, "1 cell = ");
    let columns = number_after(header, "), ");
    let rows = text
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("  0x")?;
            let (addr, cells) = rest.split_once(' ')?;
            let addr = u64::from_str_radix(addr, 16).ok()?;
            Some((addr / page_size(), cells.to_string()))
        })
        .collect();
    (cell, columns, rows)
}

/// The character drawn for frame `pfn` (two ranges may share a row's address: the one
/// that draws something there).
fn glyph_of(cell: u64, columns: u64, rows: &[(u64, String)], pfn: u64) -> Option<char> {
    let row_frames = cell * columns;
    rows.iter()
        .filter(|(first, _)| *first == pfn / row_frames * row_frames)
        .filter_map(|(_, cells)| cells.chars().nth((pfn % row_frames / cell) as usize))
        .find(|&c| c != ' ')
}

/// Checks a `physmap --color never --cell CELL` picture against `iomem` (the /proc/iomem
/// text of the machine it ran on) and the target's frame `pfn`: the X where the frame is,
/// the kernel's code as a band with its exact range and as whole `#` cells, and a legend
/// whose total is the System RAM of `iomem`. Used on the host and in the VM.
pub fn check_text_picture(text: &str, iomem: &str, pfn: u64, cell: u64) {
    assert!(!text.contains('\x1b'), "--color never draws no colour");
    let (cell_seen, columns, rows) = text_grid(text);
    assert_eq!(cell_seen, cell);
    assert_eq!(
        glyph_of(cell, columns, &rows, pfn),
        Some('X'),
        "frame {pfn:#x}"
    );
    let code = iomem
        .lines()
        .find(|l| l.ends_with(" : Kernel code"))
        .expect("a Kernel code line");
    let range = code.trim().split_once(" : ").unwrap().0;
    let (a, b) = range.split_once('-').unwrap();
    let (a, b) = (
        u64::from_str_radix(a, 16).unwrap(),
        u64::from_str_radix(b, 16).unwrap(),
    );
    assert!(
        text.contains(&format!("\n    {a:#012x}-{b:#012x} ")),
        "{text}"
    );
    let first_whole = (a / page_size()).div_ceil(cell) * cell;
    assert!(
        first_whole + cell <= (b + 1) / page_size(),
        "a whole cell of kernel code"
    );
    assert_eq!(glyph_of(cell, columns, &rows, first_whole), Some('#'));
    let ram: u64 = system_ram(iomem).iter().map(|(a, b)| b - a).sum();
    assert!(
        text.contains(&format!(" {ram} frames = the System RAM of /proc/iomem")),
        "{text}"
    );
}

#[test]
fn physmap_text_marks_the_targets_frame_and_draws_the_kernel_image_as_kernel() {
    require_root();
    let target = Target::start(&[]);
    let pfn = independent_pfn(target.pid(), target.vaddr());
    let pid = target.pid().to_string();
    let out = run(&[
        "physmap", "--pid", &pid, "--color", "never", "--cell", "256",
    ]);
    assert!(out.status.success());
    let text = stdout_of(&out);
    assert!(text.contains(&format!(
        "X  its physdemo target variable {:#x}: frame {pfn:#x}, physical address {:#x}",
        target.vaddr(),
        pfn * page_size() + target.vaddr() % page_size()
    )));
    let iomem = std::fs::read_to_string("/proc/iomem").unwrap();
    check_text_picture(&text, &iomem, pfn, 256);
}

#[test]
fn physmap_svg_has_the_highlight_colour_at_the_targets_frame() {
    require_root();
    let target = Target::start(&[]);
    let pfn = independent_pfn(target.pid(), target.vaddr());
    let scratch = tempfile::tempdir().unwrap();
    let svg = scratch.path().join("physmap.svg");
    let pid = target.pid().to_string();
    let out = run(&["physmap", "--pid", &pid, "--svg", svg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", crate::common::stderr_of(&out));
    assert!(stdout_of(&out).starts_with(&format!("physmap: wrote {}", svg.display())));
    let text = std::fs::read_to_string(&svg).unwrap();
    let pixmap = render(&svg);
    let grids = elements_with(&text, "data-first-row-pfn");
    assert!(grids.len() >= 2, "a grid per System RAM range");
    let place = |pfn: u64| {
        let g = grids
            .iter()
            .find(|g| hex_attr(g, "data-first-pfn") <= pfn && pfn < hex_attr(g, "data-end-pfn"))
            .expect("a grid holds the frame");
        let (cell, columns, px) = (
            hex_attr_or_number(g, "data-cell-frames"),
            number(g, "data-columns") as u64,
            number(g, "data-cell-px"),
        );
        let index = (pfn - hex_attr(g, "data-first-row-pfn")) / cell;
        (
            number(g, "data-x") + (index % columns) as f64 * px + px / 2.0,
            number(g, "data-y") + (index / columns) as f64 * px + px / 2.0,
        )
    };
    let (x, y) = place(pfn);
    assert_eq!(
        pixel(&pixmap, x, y),
        HIGHLIGHT,
        "frame {pfn:#x} at ({x}, {y})"
    );
    // The kernel's code is not the target's: its cell has the reserved/kernel colour.
    let iomem = std::fs::read_to_string("/proc/iomem").unwrap();
    let code = iomem
        .lines()
        .find(|l| l.ends_with(" : Kernel code"))
        .unwrap();
    let start = u64::from_str_radix(code.trim().split('-').next().unwrap(), 16).unwrap();
    let (x, y) = place(start / page_size() + 1);
    assert_eq!(
        pixel(&pixmap, x, y),
        KERNEL,
        "the kernel's first cell at ({x}, {y})"
    );
}

fn hex_attr_or_number(map: &BTreeMap<String, String>, key: &str) -> u64 {
    map[key].parse().unwrap_or_else(|_| hex_attr(map, key))
}

#[test]
fn a_band_of_maps_svg_joins_the_targets_page_to_its_frame() {
    require_root();
    let target = Target::start(&[]);
    let vaddr = target.vaddr();
    let pfn = independent_pfn(target.pid(), vaddr);
    let scratch = tempfile::tempdir().unwrap();
    let svg = scratch.path().join("maps.svg");
    let pid = target.pid().to_string();
    let mapping = format!("{vaddr:#x}");
    let out = run(&[
        "maps",
        &pid,
        "--mapping",
        &mapping,
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", crate::common::stderr_of(&out));
    let text = std::fs::read_to_string(&svg).unwrap();
    let pixmap = render(&svg);
    let boxes = elements_with(&text, "data-start");
    let [mapping_box] = boxes.as_slice() else {
        panic!("one mapping drawn: {boxes:?}");
    };
    let page = page_size();
    let (start, end) = (
        hex_attr(mapping_box, "data-start"),
        hex_attr(mapping_box, "data-end"),
    );
    assert!(start <= vaddr && vaddr < end);
    let pages = ((end - start) / page) as f64;
    let v = number(mapping_box, "data-y")
        + ((vaddr / page - start / page) as f64 + 0.5) / pages * number(mapping_box, "data-h");
    let ram = elements_with(&text, "data-first-pfn");
    let range = ram
        .iter()
        .find(|r| hex_attr(r, "data-first-pfn") <= pfn && pfn < hex_attr(r, "data-end-pfn"))
        .expect("the frame is in a RAM range");
    let (first, last) = (
        hex_attr(range, "data-first-pfn"),
        hex_attr(range, "data-end-pfn"),
    );
    let p = number(range, "data-y")
        + ((pfn - first) as f64 + 0.5) / (last - first) as f64 * number(range, "data-h");
    let bands = &elements_with(&text, "data-x-left")[0];
    let (xl, xr, alpha) = (
        number(bands, "data-x-left"),
        number(bands, "data-x-right"),
        number(bands, "data-opacity"),
    );
    let fill = &mapping_box["fill"];
    let colour: Vec<u8> = (0..3)
        .map(|i| u8::from_str_radix(&fill[1 + 2 * i..3 + 2 * i], 16).unwrap())
        .collect();
    let over_white = |c: u8| (f64::from(c) * alpha + 255.0 * (1.0 - alpha)).round() as u8;
    let band = [
        over_white(colour[0]),
        over_white(colour[1]),
        over_white(colour[2]),
    ];
    // The band at its virtual end, half way across, and at its physical end.
    for (x, y) in [
        (xl + 2.0, v),
        ((xl + xr) / 2.0, (v + p) / 2.0),
        (xr - 2.0, p),
    ] {
        let seen = [y, y - 1.0, y + 1.0].map(|y| pixel(&pixmap, x, y));
        assert!(
            seen.iter().any(|&c| near(c, band, 4)),
            "at ({x}, {y}): {seen:?}, want {band:?} (frame {pfn:#x}, page {vaddr:#x})"
        );
    }
    // Below the only mapping's box, no band leaves the virtual axis.
    let below = number(mapping_box, "data-y") + number(mapping_box, "data-h") + 10.0;
    assert_eq!(pixel(&pixmap, xl + 2.0, below), [255, 255, 255]);
}

/// The 64-bit word a row of bit cells spells.
fn bits_of(pixmap: &Pixmap, row: &BTreeMap<String, String>) -> u64 {
    let (x, y, px) = (
        number(row, "data-x"),
        number(row, "data-y"),
        number(row, "data-bit-px"),
    );
    (0..64).fold(0u64, |word, bit| {
        let [r, g, b] = pixel(pixmap, x + f64::from(63 - bit) * px + 2.0, y + 2.0);
        let luminance = 0.2126 * f64::from(r) + 0.7152 * f64::from(g) + 0.0722 * f64::from(b);
        word | (u64::from(luminance < 185.0) << bit)
    })
}

#[test]
fn the_translation_pictures_bits_spell_the_address_the_entry_and_the_physical_address() {
    require_root();
    let target = Target::start(&[]);
    let (pid, vaddr) = (target.pid(), target.vaddr());
    let scratch = tempfile::tempdir().unwrap();
    let svg = scratch.path().join("translation.svg");
    let out = run(&["inspect", &pid.to_string(), "--svg", svg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", crate::common::stderr_of(&out));
    let entry = independent_pagemap_entry(pid, vaddr);
    let paddr = (entry & ((1 << 55) - 1)) * page_size() + vaddr % page_size();
    let text = std::fs::read_to_string(&svg).unwrap();
    let pixmap = render(&svg);
    let rows: BTreeMap<String, BTreeMap<String, String>> = elements_with(&text, "data-row")
        .into_iter()
        .map(|r| (r["data-row"].clone(), r))
        .collect();
    assert_eq!(bits_of(&pixmap, &rows["virtual"]), vaddr, "virtual");
    assert_eq!(bits_of(&pixmap, &rows["entry"]), entry, "pagemap entry");
    assert_eq!(bits_of(&pixmap, &rows["physical"]), paddr, "physical");
    assert_eq!(
        hex(&target.ready["paddr"]),
        paddr,
        "the target's own report agrees"
    );
}

#[test]
fn a_failed_picture_leaves_no_file_behind() {
    let scratch = tempfile::tempdir().unwrap();
    let svg = scratch.path().join("out.svg");
    let svg = svg.to_str().unwrap();
    for args in [
        vec!["physmap", "--pid", "4194304", "--svg", svg],
        vec!["maps", "4194304", "--svg", svg],
        vec!["inspect", "1", "0x10", "--svg", svg],
    ] {
        let out = run(&args);
        assert!(!out.status.success(), "{args:?}");
        let left: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
}

#[test]
fn a_picture_takes_the_longest_file_name_the_kernel_allows() {
    require_root();
    let scratch = tempfile::tempdir().unwrap();
    // 254 bytes: legal (NAME_MAX is 255), longer than the temporary name's room.
    let name = format!("{}.svg", "p".repeat(250));
    let svg = scratch.path().join(&name);
    let out = run(&["physmap", "--svg", svg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", crate::common::stderr_of(&out));
    assert!(stdout_of(&out).starts_with(&format!("physmap: wrote {}", svg.display())));
    let left: Vec<String> = std::fs::read_dir(scratch.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, [name], "the picture alone, no temporary file");
    roxmltree::Document::parse(&std::fs::read_to_string(&svg).unwrap()).expect("whole SVG");
}
