//! `physdemo owner`: which processes, at which virtual addresses, map a physical frame.
//!
//! The kernel keeps no reverse map user space can read, so this scans ([`crate::scan`]):
//! every process's mappings, only their present parts (PAGEMAP_SCAN on 6.7+), pagemap in
//! large batches. It stops as soon as the frame's map count from `/proc/kpagecount` is accounted for. Frames of
//! anonymous memory cannot be in shared mappings and file or shmem frames cannot be in
//! private anonymous ones, so those mappings are skipped ([`could_map`], pure and tested).

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::error::not_found;
use crate::kernel::addr::{PageSize, Pfn, PhysAddr, VirtAddr};
use crate::kernel::kpageflags::KpageFlags;
use crate::kernel::maps::{describe_path, MappingSummary};
use crate::proc::kpage::FrameInfoReader;
use crate::proc::pagemap::PagemapFile;
use crate::proc::process::{open_user_process, UserProcess};
use crate::render::json::write_json_line;
use crate::render::progress::Progress;
use crate::scan::{populated_pages, scan_range, FrameWants};

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

/// One process mapping the frame.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct OwnerHit {
    pub(crate) pid: i32,
    pub(crate) command: String,
    /// Virtual address of the page (plus the byte offset, when a physical address was given).
    pub(crate) vaddr: VirtAddr,
    pub(crate) pagemap: Vec<&'static str>,
    pub(crate) mapping: MappingSummary,
}

/// Whether a mapping with these permissions and this name can hold the frame.
pub(crate) fn could_map(flags: KpageFlags, perms: &str, name: &str) -> bool {
    let shared = perms.as_bytes().get(3) == Some(&b's');
    let private_anon = !shared && (name.starts_with('[') || name.is_empty());
    if flags.has(KpageFlags::ZERO_PAGE) || flags.0 == 0 {
        return true;
    }
    if flags.has(KpageFlags::ANON) {
        !shared
    } else {
        // Page cache and shmem frames; special mappings ([vdso]) are not checked by name.
        !private_anon || matches!(name, "[vdso]" | "[vvar]" | "[vsyscall]")
    }
}

/// The numeric entries of /proc, sorted.
fn all_pids() -> Result<Vec<i32>> {
    let mut pids: Vec<i32> = std::fs::read_dir("/proc")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    Ok(pids)
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
}

/// The frame asked about, as the kernel describes it.
struct Frame {
    pfn: Pfn,
    /// The physical address asked about (the frame's start, or with the byte offset).
    paddr: PhysAddr,
    flags: KpageFlags,
    /// How many page-table entries map it (kpagecount).
    map_count: u64,
}

/// What the scan found.
struct Search {
    hits: Vec<OwnerHit>,
    /// Processes scanned, of `total`.
    scanned: usize,
    total: usize,
    /// Whether it stopped once the map count was accounted for.
    stopped_early: bool,
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
    let search = search(options, &frame, page)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if options.json {
        let json = OwnerJson {
            pfn: frame.pfn,
            paddr: frame.paddr,
            flags: frame.flags.names(),
            map_count: frame.map_count,
            owners: &search.hits,
            processes_scanned: search.scanned,
            stopped_early: search.stopped_early,
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
        pfn,
        paddr,
        flags: frames.flags(pfn, 1)?[0],
        map_count: frames.map_counts(pfn, 1)?[0],
    })
}

/// Scans the processes named with --pid, or every process, until the map count is
/// accounted for (or all of them with `--all`).
fn search(options: &OwnerOptions, frame: &Frame, page: PageSize) -> Result<Search> {
    let named = !options.pids.is_empty();
    let pids = if named {
        options.pids.clone()
    } else {
        all_pids()?
    };
    let mut found = Search {
        hits: Vec::new(),
        scanned: 0,
        total: pids.len(),
        stopped_early: false,
    };
    let mut progress = Progress::new(
        format!("owner of {}", frame.paddr),
        pids.len() as u64,
        "processes",
    );
    for &pid in &pids {
        if !options.exhaustive && accounted_for(frame, &found.hits) {
            found.stopped_early = true;
            break;
        }
        found.scanned += 1;
        progress.advance(1);
        // In a scan of every process, those that exit, kernel threads and zombies have
        // nothing to find; a process named with --pid that fails is an error.
        let (process, pagemap) = match (open_user_process(pid), PagemapFile::open(pid)) {
            (Ok(process), Ok(pagemap)) => (process, pagemap),
            (Err(err), _) | (_, Err(err)) if named => return Err(err),
            _ => continue,
        };
        scan_process(&process, &pagemap, frame, options, page, &mut found.hits);
    }
    progress.finish();
    Ok(found)
}

/// Whether the frame's map count is accounted for (never, when it is 0).
fn accounted_for(frame: &Frame, hits: &[OwnerHit]) -> bool {
    frame.map_count > 0 && hits.len() as u64 >= frame.map_count
}

/// Adds every page of `process` that maps the frame to `hits`; its mappings that cannot
/// hold the frame are skipped, and only their present parts are read.
fn scan_process(
    process: &UserProcess,
    pagemap: &PagemapFile,
    frame: &Frame,
    options: &OwnerOptions,
    page: PageSize,
    hits: &mut Vec<OwnerHit>,
) {
    let wants = FrameWants {
        flags: false,
        counts: false,
    };
    for map in &process.maps {
        let name = describe_path(&map.pathname);
        if !could_map(frame.flags, &map.perms.as_str(), &name) {
            continue;
        }
        let Ok(populated) = populated_pages(pagemap, page, map.address.0, map.address.1, true)
        else {
            break;
        };
        for (first, last) in populated.ranges {
            let done = scan_range(pagemap, None, wants, first, last, |batch| {
                for (i, entry) in batch.entries.iter().enumerate() {
                    if entry.pfn() == Some(frame.pfn) {
                        let vpn = batch.first_page + i as u64;
                        hits.push(OwnerHit {
                            pid: process.pid,
                            command: process.command.clone(),
                            vaddr: VirtAddr((vpn << page.shift()) + options.offset),
                            pagemap: entry.flag_names(),
                            mapping: MappingSummary::from(map),
                        });
                    }
                }
                Ok(options.exhaustive || !accounted_for(frame, hits))
            });
            if !matches!(done, Ok(true)) {
                break;
            }
        }
    }
}

/// Render: the frame, a table of the mappings found, and whether the count is accounted for.
fn render_text(out: &mut impl Write, frame: &Frame, search: &Search) -> Result<()> {
    let names = frame.flags.names();
    writeln!(
        out,
        "frame {} (physical address {}): map count {}, flags {}",
        frame.pfn,
        frame.paddr,
        frame.map_count,
        if names.is_empty() {
            "-".to_string()
        } else {
            names.join(",")
        }
    )?;
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
            frame.map_count,
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

    /// KPF_MMAP: a frame mapped into some process.
    const MMAP: u32 = 11;

    #[test]
    fn skips_mappings_that_cannot_hold_the_frame() {
        let anon = KpageFlags(1 << KpageFlags::ANON | 1 << MMAP);
        assert!(could_map(anon, "rw-p", "[heap]"));
        assert!(could_map(anon, "rw-p", "/usr/lib/libc.so.6"));
        assert!(!could_map(anon, "rw-s", "/dev/zero (deleted)"));
        let file = KpageFlags(1 << MMAP);
        assert!(could_map(file, "r-xp", "/usr/lib/libc.so.6"));
        assert!(could_map(file, "rw-s", "/dev/zero (deleted)"));
        assert!(!could_map(file, "rw-p", "[heap]"));
        assert!(!could_map(file, "rw-p", "[anonymous]"));
        let zero = KpageFlags(1 << KpageFlags::ZERO_PAGE);
        assert!(could_map(zero, "rw-p", "[anonymous]"));
    }

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
