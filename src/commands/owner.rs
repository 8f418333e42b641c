// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo owner`: which processes, at which virtual addresses, map a physical frame.
//!
//! The kernel keeps no reverse map user space can read, so this scans every process's present
//! pages ([`crate::scan::owners`]) and stops as soon as the frame's map count from
//! `/proc/kpagecount` is accounted for. An address that is not System RAM (a PCI hole, a
//! device, firmware) is said to be so, with its /proc/iomem region: no process's memory is
//! there, whatever its map count.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::error::not_found;
use crate::kernel::addr::{PageSize, Pfn, PhysAddr};
use crate::kernel::iomem::{Placement, RegionKind};
use crate::proc::iomem::place_in_system_map;
use crate::proc::kpage::FrameInfoReader;
use crate::proc::pagemap::PagemapFile;
use crate::proc::process::open_user_process;
use crate::render::json::write_json_line;
use crate::render::progress::Progress;
use crate::scan::owners::{every_pid, search, FrameQuery, OwnerHit, Owners, SearchScope};

/// What `owner` was asked.
#[derive(Debug, Clone)]
pub(crate) struct OwnerOptions {
    pub(crate) pfn: Pfn,
    /// Byte offset within the frame (from a physical address), added to each virtual address.
    pub(crate) offset: u64,
    /// Only these processes; all when empty.
    pub(crate) pids: Vec<i32>,
    /// Scan everything even after the map count is accounted for.
    pub(crate) exhaustive: bool,
    pub(crate) json: bool,
}

/// The report's summary line.
pub(crate) fn render_summary(
    found: usize,
    map_count: u64,
    stopped_early: bool,
    scanned: usize,
    total: usize,
) -> String {
    let accounted = if map_count == 0 {
        "kpagecount is 0: nothing maps it through a page table the kernel counts".to_string()
    } else if found as u64 >= map_count {
        format!("kpagecount {map_count}: all accounted for")
    } else {
        format!(
            "kpagecount {map_count}: {} not found (kernel threads, page tables of exiting \
             processes, or mappings that changed during the scan)",
            map_count - found as u64
        )
    };
    let how = if stopped_early {
        format!("stopped early after {scanned} of {total} processes")
    } else {
        format!(
            "scanned {scanned} process{}",
            if scanned == 1 { "" } else { "es" }
        )
    };
    format!(
        "{found} mapping{} found ({accounted}; {how})",
        if found == 1 { "" } else { "s" }
    )
}

/// `owner --json`: one object.
#[derive(Serialize)]
struct OwnerJson<'a> {
    pfn: Pfn,
    paddr: PhysAddr,
    flags: Vec<String>,
    map_count: u64,
    owners: &'a [OwnerHit],
    processes_scanned: usize,
    stopped_early: bool,
    /// Where the address falls in /proc/iomem (`null` when it cannot be read).
    region: Option<String>,
    /// Whether it is RAM (System RAM or the kernel's image in it); `null` when unknown.
    ram: Option<bool>,
}

/// The frame asked about, and the physical address named (the frame's start, or with
/// the byte offset).
struct Frame {
    query: FrameQuery,
    paddr: PhysAddr,
    /// Where the address falls in /proc/iomem.
    placement: Placement,
}

impl Frame {
    /// Whether the address is RAM; `None` when /proc/iomem cannot tell.
    fn ram(&self) -> Option<bool> {
        match &self.placement {
            Placement::In { .. } => Some(matches!(
                self.placement.kind(),
                Some(RegionKind::SystemRam | RegionKind::KernelImage)
            )),
            Placement::Nowhere => Some(false),
            Placement::Hidden | Placement::Unreadable(_) => None,
        }
    }

    fn region(&self) -> Option<String> {
        match &self.placement {
            Placement::Hidden | Placement::Unreadable(_) => None,
            known => Some(known.describe()),
        }
    }
}

/// The line saying an address is not RAM, or `None` when it is (or cannot be told).
fn not_ram_line(frame: &Frame) -> Option<String> {
    (frame.ram() == Some(false)).then(|| {
        format!(
            "not RAM: {} is in {}, not System RAM: no process's memory lives there, and kpagecount counts no mapping of it",
            frame.paddr,
            frame.placement.describe()
        )
    })
}

/// Runs `physdemo owner`.
pub(crate) fn run(options: &OwnerOptions) -> Result<()> {
    let page = PageSize::of_system();
    // A process named with --pid must exist and have a readable address space: the same
    // errors (and exit codes) as `maps` and `inspect` give for it.
    for &pid in &options.pids {
        open_user_process(pid)?;
        PagemapFile::open(pid)?;
    }
    let frame = read_frame(options, page)?;
    let search = search_with_progress(options, &frame, page)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if options.json {
        let json = OwnerJson {
            pfn: frame.query.pfn,
            paddr: frame.paddr,
            flags: frame.query.flags.names(),
            map_count: frame.query.map_count,
            owners: &search.hits,
            processes_scanned: search.scanned,
            stopped_early: search.stopped_early,
            region: frame.region(),
            ram: frame.ram(),
        };
        write_json_line(&mut out, &json)?;
    } else {
        render_text(&mut out, &frame, &search)?;
    }
    out.flush()?;
    Ok(())
}

/// Gather: the frame's flags and map count; a frame beyond RAM is not found.
fn read_frame(options: &OwnerOptions, page: PageSize) -> Result<Frame> {
    let frames = FrameInfoReader::open()?;
    let pfn = options.pfn;
    let paddr = match page.phys_addr(pfn, options.offset) {
        Some(paddr) if frames.frame_exists(pfn)? => paddr,
        paddr => return Err(beyond_ram(pfn, paddr, page).into()),
    };
    Ok(Frame {
        query: FrameQuery {
            pfn,
            offset: options.offset,
            flags: frames.flags(pfn, 1)?[0],
            map_count: frames.map_counts(pfn, 1)?[0],
        },
        paddr,
        placement: place_in_system_map(paddr),
    })
}

/// Scans the processes named with --pid, or every process, until the map count is
/// accounted for (or all of them with `--all`), with a progress bar.
fn search_with_progress(options: &OwnerOptions, frame: &Frame, page: PageSize) -> Result<Owners> {
    let named = !options.pids.is_empty();
    let pids = if named {
        options.pids.clone()
    } else {
        every_pid()?
    };
    let scope = SearchScope {
        pids: &pids,
        named,
        exhaustive: options.exhaustive,
    };
    let mut progress = Progress::new(
        format!("owner of {}", frame.paddr),
        pids.len() as u64,
        "processes",
    );
    let found = search(&frame.query, scope, page, || progress.advance(1));
    progress.finish();
    found
}

/// Render: the frame, a table of the mappings found, and whether the count is accounted for.
fn render_text(out: &mut impl Write, frame: &Frame, search: &Owners) -> Result<()> {
    let names = frame.query.flags.names();
    writeln!(
        out,
        "frame {} (physical address {}): map count {}, flags {}",
        frame.query.pfn,
        frame.paddr,
        frame.query.map_count,
        if names.is_empty() {
            "-".to_string()
        } else {
            names.join(",")
        }
    )?;
    if let Some(line) = not_ram_line(frame) {
        writeln!(out, "{line}")?;
    }
    if !search.hits.is_empty() {
        writeln!(
            out,
            "{:>8}  {:<16} {:<18} mapping",
            "pid", "command", "vaddr"
        )?;
    }
    for hit in &search.hits {
        let m = &hit.mapping;
        writeln!(
            out,
            "{:>8}  {:<16} {:<18} {:x}-{:x} {} {}",
            hit.pid,
            hit.command,
            hit.vaddr.to_string(),
            m.start,
            m.end,
            m.perms,
            m.path
        )?;
    }
    writeln!(
        out,
        "{}",
        render_summary(
            search.hits.len(),
            frame.query.map_count,
            search.stopped_early,
            search.scanned,
            search.total
        )
    )?;
    Ok(())
}

/// The error for a frame past the last one /proc/kpageflags knows (`paddr` is `None` when
/// the frame's physical address would not even fit in 64 bits): one meaning, one exit code.
fn beyond_ram(pfn: Pfn, paddr: Option<PhysAddr>, page: PageSize) -> crate::error::UserError {
    let address = match paddr {
        Some(paddr) => format!("physical address {paddr}"),
        None => "its physical address would not fit in 64 bits".to_string(),
    };
    not_found(format!("frame {pfn} ({address}) is beyond the end of RAM")).hint(format!(
        "a frame number is a physical address divided by the page size ({}); see /proc/iomem for the System RAM ranges",
        page.bytes()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_beyond_ram_is_not_found_whether_or_not_its_address_fits() {
        let page = PageSize::new(4096).unwrap();
        let huge = beyond_ram(Pfn(u64::MAX), None, page);
        let far = beyond_ram(
            Pfn(0xf_ffff_ffff_ffff),
            Some(PhysAddr(0xffff_ffff_ffff_f000)),
            page,
        );
        for err in [&huge, &far] {
            assert_eq!(err.kind, crate::error::ExitKind::NotFound);
            assert!(
                err.to_string().contains("is beyond the end of RAM"),
                "{err}"
            );
            assert!(err.hint.as_deref().unwrap_or("").contains("/proc/iomem"));
        }
        assert!(huge.message.contains("would not fit in 64 bits"), "{huge}");
    }

    #[test]
    fn says_whether_the_map_count_was_accounted_for() {
        assert_eq!(
            render_summary(2, 2, true, 10, 100),
            "2 mappings found (kpagecount 2: all accounted for; stopped early after 10 of 100 processes)"
        );
        assert!(render_summary(1, 3, false, 100, 100).contains("2 not found"));
        assert!(render_summary(0, 0, false, 5, 5).starts_with("0 mappings found (kpagecount is 0"));
        assert!(render_summary(0, 0, false, 1, 1).ends_with("; scanned 1 process)"));
    }
}
