// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo inspect`: from a process's virtual address to the physical address, step by step.
//!
//! [`crate::resolve::translate::resolve`] does the I/O once (maps, one pagemap entry, the
//! frame's kpageflags and kpagecount) and returns a [`Resolution`] that `poke` and `peek`
//! reuse; the renderers below are pure functions of it.

use std::io::Write;

use anyhow::Result;
use owo_colors::{OwoColorize, Stream::Stdout};
use serde::Serialize;

use crate::kernel::addr::{Hex, PageSize, Pfn, PhysAddr, VirtAddr};
use crate::kernel::maps::MappingSummary;
use crate::kernel::pagemap::{outside_pagemap_words, PagemapEntry, PagemapJson};
use crate::kernel::pci::format_size;
use crate::kernel::walk::{Mmu, Walk};
use crate::proc::target_process;
use crate::render::file::OutputFile;
use crate::render::json::write_json_line;
use crate::render::pictures::translation::translation_svg;
use crate::resolve::translate::{resolve, Resolution};

/// What `inspect` was asked.
#[derive(Debug, Clone)]
pub(crate) struct InspectOptions {
    pub(crate) pid: i32,
    /// The address; `None` for a physdemo target's own variable.
    pub(crate) vaddr: Option<VirtAddr>,
    pub(crate) json: bool,
    /// Draw the translation as SVG into this file instead.
    pub(crate) svg: Option<std::path::PathBuf>,
}

/// Runs `physdemo inspect`.
pub(crate) fn run(options: &InspectOptions) -> Result<()> {
    // A picture that cannot be written fails before any work, and leaves nothing behind.
    let output = options.svg.as_deref().map(OutputFile::create).transpose()?;
    let pid = options.pid;
    let vaddr = match options.vaddr {
        Some(vaddr) => vaddr,
        None => target_process::locate(pid)?.value_addr,
    };
    let resolution = resolve(pid, vaddr)?;
    let mut out = std::io::stdout().lock();
    if let Some(output) = output {
        // A translation that ends nowhere is an error, and then no picture is made.
        resolution.require_paddr()?;
        let path = output.path().display().to_string();
        output.commit(translation_svg(&resolution).as_bytes())?;
        writeln!(
            out,
            "inspect: wrote {path} ({} -> {})",
            resolution.vaddr,
            resolution
                .paddr()
                .map_or_else(String::new, |p| p.to_string())
        )?;
    } else if options.json {
        write_json_line(&mut out, &InspectJson::from(&resolution))?;
    } else {
        render_human(&resolution, &mut out)?;
    }
    out.flush()?;
    resolution.require_paddr()?;
    Ok(())
}

/// `inspect --json`: one object.
#[derive(Debug, Serialize)]
pub(crate) struct InspectJson {
    pub(crate) pid: i32,
    pub(crate) command: String,
    pub(crate) vaddr: VirtAddr,
    pub(crate) page_size: u64,
    pub(crate) page_offset: Hex,
    pub(crate) mapping: MappingSummary,
    pub(crate) present: bool,
    pub(crate) swapped: bool,
    pub(crate) pfn: Option<Pfn>,
    pub(crate) paddr: Option<PhysAddr>,
    /// `null` where pagemap has no entry (the vsyscall page).
    pub(crate) pagemap: Option<PagemapJson>,
    pub(crate) kpageflags: Option<Vec<String>>,
    pub(crate) kpagecount: Option<u64>,
    pub(crate) huge_page: Option<&'static str>,
    /// The huge page's size in bytes where kpageflags show it whole over the block a PMD
    /// entry maps (2 MiB with 4 KiB pages, 512 MiB with 64 KiB), else `null`.
    pub(crate) huge_page_size: Option<u64>,
    /// The page-table walk, on machines other than x86-64 (whose walk is always
    /// PGD, PUD, PMD, PTE of 9 bits over a 12-bit offset, and absent here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) walk: Option<Walk>,
}

impl From<&Resolution> for InspectJson {
    fn from(r: &Resolution) -> Self {
        InspectJson {
            pid: r.pid,
            command: r.command.clone(),
            vaddr: r.vaddr,
            page_size: r.page.bytes(),
            page_offset: Hex(r.page.offset_in_page(r.vaddr.0)),
            mapping: r.mapping.clone(),
            present: r.entry.present(),
            swapped: r.entry.swapped(),
            pfn: r.pfn(),
            paddr: r.paddr(),
            pagemap: r.pagemap_covered.then(|| r.entry.into()),
            kpageflags: r.frame.map(|f| f.flags.names()),
            kpagecount: r.frame.map(|f| f.map_count),
            huge_page: r.frame.and_then(|f| f.flags.huge_kind()),
            huge_page_size: r.frame.and_then(|f| f.huge_size).map(PageSize::bytes),
            walk: (r.mmu != Mmu::X86_64)
                .then(|| r.mmu.walk(r.vaddr, r.page))
                .flatten(),
        }
    }
}

fn yes_no(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "no"
    }
}

/// A report's label, padded to the column where values start.
fn label(text: &str) -> String {
    format!("{text:<10}")
}

/// A label in bold where the terminal allows.
fn head(text: &str) -> String {
    label(text)
        .if_supports_color(Stdout, |t| t.bold())
        .to_string()
}

/// The human report: aligned, coloured where the terminal allows.
pub(crate) fn render_human(r: &Resolution, out: &mut impl Write) -> std::io::Result<()> {
    render_location(r, out)?;
    if !r.pagemap_covered {
        // No fake zero entry: pagemap returned nothing for this page.
        writeln!(
            out,
            "{}no entry: {}",
            head("pagemap"),
            outside_pagemap_words(&r.mapping.path)
        )?;
        writeln!(out, "{}unknown", head("physical"))?;
        writeln!(out)?;
        return render_translation(r, out);
    }
    render_entry(r.entry, out)?;
    if let Some(frame) = r.frame {
        writeln!(out, "{}{}", head("flags"), frame.flags.names().join(" "))?;
        writeln!(out, "{}{}", head("map count"), frame.map_count)?;
        match (frame.flags.huge_kind(), frame.huge_size) {
            (Some(kind), Some(size)) => writeln!(
                out,
                "{}{kind} of {}, from frame {} (kpageflags: one compound page over the block a PMD maps)",
                head("huge page"),
                format_size(size.bytes()),
                Pfn(r.pfn().map_or(0, |p| p.0) & !((size.bytes() >> r.page.shift()) - 1)),
            )?,
            (Some(kind), None) => writeln!(out, "{}{kind}", head("huge page"))?,
            _ => {}
        }
    }
    match r.paddr() {
        Some(paddr) => writeln!(
            out,
            "{}{}",
            head("physical"),
            paddr.if_supports_color(Stdout, |t| t.green().bold().to_string())
        )?,
        None => writeln!(out, "{}unknown", head("physical"))?,
    }
    writeln!(out)?;
    render_translation(r, out)
}

/// The process, the mapping holding the address, and the page.
fn render_location(r: &Resolution, out: &mut impl Write) -> std::io::Result<()> {
    let m = &r.mapping;
    writeln!(
        out,
        "{}pid {} ({}), virtual address {}",
        head("process"),
        r.pid,
        r.command,
        r.vaddr.if_supports_color(Stdout, |t| t.cyan())
    )?;
    writeln!(
        out,
        "{}{:x}-{:x} {} {:x} {} {} {}",
        head("mapping"),
        m.start,
        m.end,
        m.perms,
        m.offset.0,
        m.device,
        m.inode,
        m.path
    )?;
    writeln!(
        out,
        "{}{} bytes; virtual page {:#x}, offset {:#x} in the page",
        head("page"),
        r.page.bytes(),
        r.page.page_index(r.vaddr),
        r.page.offset_in_page(r.vaddr.0)
    )
}

/// The pagemap entry, raw and bit by bit.
fn render_entry(e: PagemapEntry, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "{}entry {:#018x}", head("pagemap"), e.0)?;
    let pfn_text = match (e.pfn(), e.pfn_hidden()) {
        (Some(pfn), _) => pfn.to_string(),
        (None, true) => "hidden (run with sudo)".to_string(),
        (None, false) => "none".to_string(),
    };
    let swapped = match (e.swap_type(), e.swap_offset()) {
        (Some(t), Some(o)) => format!("yes (type {t}, offset {o:#x})"),
        _ => "no".to_string(),
    };
    let rows = [
        ("present", yes_no(e.present()).to_string()),
        ("swapped", swapped),
        ("pfn", pfn_text),
        ("soft-dirty", yes_no(e.soft_dirty()).to_string()),
        ("exclusive", yes_no(e.exclusive()).to_string()),
        (
            "file/shared-anon",
            yes_no(e.file_or_shared_anon()).to_string(),
        ),
        ("uffd-wp", yes_no(e.uffd_wp()).to_string()),
        ("guard region", yes_no(e.guard_region()).to_string()),
    ];
    for (name, value) in rows {
        writeln!(out, "{}  {name:<17}{value}", label(""))?;
    }
    Ok(())
}

/// The small picture: how the virtual address splits, and how PFN and offset give the physical one.
fn render_translation(r: &Resolution, out: &mut impl Write) -> std::io::Result<()> {
    let offset = r.page.offset_in_page(r.vaddr.0);
    let shift = r.page.shift();
    writeln!(out, "virtual {:#018x}", r.vaddr.0)?;
    match r.mmu.walk(r.vaddr, r.page) {
        Some(w) => {
            if w.root != "CR3" {
                writeln!(
                    out,
                    "  the MMU's walk from {} ({} VA bits):",
                    w.root, w.va_bits
                )?;
            }
            writeln!(out, "  = {}   ({})", w.chain(), w.bit_ranges())?
        }
        None => writeln!(
            out,
            "  = virtual page {:#x} + offset {offset:#x}   (bits 63-{shift} | {}-0)",
            r.page.page_index(r.vaddr),
            shift - 1
        )?,
    }
    match (r.pfn(), r.paddr()) {
        (Some(pfn), Some(paddr)) => writeln!(
            out,
            "physical = PFN {pfn} << {shift} | offset {offset:#x} = {paddr}"
        ),
        _ => writeln!(out, "physical = unknown: {}", explain_missing(r)),
    }
}

fn explain_missing(r: &Resolution) -> String {
    r.require_paddr()
        .err()
        .map_or_else(String::new, |e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(entry: u64) -> Resolution {
        crate::resolve::translate::sample_resolution(entry)
    }

    #[test]
    fn physical_address_is_pfn_times_page_size_plus_offset() {
        let r = sample(0x8180_0000_0012_3456);
        assert_eq!(r.paddr(), Some(PhysAddr(0x0001_2345_6040)));
        let json = serde_json::to_value(InspectJson::from(&r)).unwrap();
        assert_eq!(json["paddr"], "0x123456040");
        assert_eq!(json["pfn"], "0x123456");
        assert_eq!(json["present"], true);
        assert_eq!(json["kpageflags"][1], "anonymous");
    }

    #[test]
    fn hidden_and_absent_frames_give_distinct_errors_not_frame_zero() {
        let hidden = sample(1 << 63);
        assert_eq!(hidden.paddr(), None);
        assert!(hidden
            .require_paddr()
            .unwrap_err()
            .to_string()
            .contains("run with sudo"));
        let untouched = sample(0);
        assert!(untouched
            .require_paddr()
            .unwrap_err()
            .to_string()
            .contains("never touched"));
        let swapped = sample(1 << 62 | 0x20 << 5 | 1);
        assert!(swapped
            .require_paddr()
            .unwrap_err()
            .to_string()
            .contains("swapped out (swap type 1, offset 0x20)"));
        let json = serde_json::to_value(InspectJson::from(&hidden)).unwrap();
        assert!(json["paddr"].is_null() && json["pfn"].is_null());
    }

    #[test]
    fn the_vsyscall_page_has_no_pagemap_entry_and_says_so() {
        let mut r = sample(0);
        r.vaddr = VirtAddr(0xffff_ffff_ff60_0000);
        r.mapping.path = "[vsyscall]".into();
        r.pagemap_covered = false;
        r.frame = None;
        let err = r.require_paddr().unwrap_err();
        assert_eq!(err.kind, crate::error::ExitKind::NotFound);
        assert!(
            err.message
                .contains("has no pagemap entry: it is in the vsyscall page"),
            "{err}"
        );
        assert!(!err.message.contains("never touched"), "{err}");
        let mut out = Vec::new();
        render_human(&r, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("entry 0x0000000000000000"), "{text}");
        assert!(text.contains("no entry: the vsyscall page"), "{text}");
        let json = serde_json::to_value(InspectJson::from(&r)).unwrap();
        assert!(json["pagemap"].is_null() && json["paddr"].is_null());
    }

    #[test]
    fn human_report_shows_the_translation() {
        let mut out = Vec::new();
        render_human(&sample(0x8180_0000_0012_3456), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("PGD[254] -> PUD[72] -> PMD[418] -> PTE[359] + offset 0x040"),
            "{text}"
        );
        assert!(
            text.contains("physical = PFN 0x123456 << 12 | offset 0x40 = 0x123456040"),
            "{text}"
        );
        assert!(text.contains("anonymous"));
    }
}
