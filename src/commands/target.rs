// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo target`: a process that holds one 64-bit variable and reports every change.
//!
//! The variable sits on a page of its own (see [`TargetPage`]), made resident, locked and
//! kept an ordinary base page, so that a write through /dev/mem to its frame lands on it
//! (or, with `--where thp|hugetlb`, some pages into a huge page of the size that goes with
//! the running page size: 2 MiB with 4 KiB pages, 512 MiB with 64 KiB).
//! The watch loop polls it with volatile reads, reports each change with the
//! CLOCK_MONOTONIC time it noticed it (poke prints the same clock for its write), and
//! re-reads its own frame number from pagemap now and then, warning if the page moved.
//! With `--json` every report is one [`TargetEvent`] per line.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::error::{not_found, unsupported};
use crate::kernel::addr::{Hex, PageSize, Pfn, PhysAddr, VirtAddr};
use crate::kernel::maps::describe_path;
use crate::kernel::pci::format_size;
use crate::proc::huge::{hugetlb_pool, hugetlb_size, thp_mode, thp_size, THP_ENABLED_PATH};
use crate::proc::kpage::FrameInfoReader;
use crate::proc::pagemap::PagemapFile;
use crate::proc::process::open_user_process;
use crate::render::json::write_sorted_json_line;
use crate::sys::clock::monotonic_ns;
use crate::sys::io_uring::FixedBuffer;
use crate::sys::target_page::{TargetCell, TargetPage};

/// How long the target stays alive after `--until` is reached, for the poker's checks.
const UNTIL_LINGER: Duration = Duration::from_millis(300);

/// How often the target re-reads its own PFN.
const PFN_CHECK_EVERY: Duration = Duration::from_millis(250);

/// Where the variable lives (`--where`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Home {
    /// A private anonymous mapping of its own (mmap).
    Mmap,
    /// The heap (`[heap]` in /proc/<pid>/maps).
    Heap,
    /// The main thread's stack (`[stack]`).
    Stack,
    /// The binary's writable data (`.data`, mapped from the executable).
    Static,
    /// Some pages into a transparent huge page (PMD-sized), where the kernel makes one.
    Thp,
    /// Some pages into a hugetlbfs page of the default size (needs `vm.nr_hugepages`).
    Hugetlb,
}

impl Home {
    /// The name `--where` takes and the reports print.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Home::Mmap => "mmap",
            Home::Heap => "heap",
            Home::Stack => "stack",
            Home::Static => "static",
            Home::Thp => "thp",
            Home::Hugetlb => "hugetlb",
        }
    }

    /// Whether the variable is meant to be in a huge page.
    fn is_huge(self) -> bool {
        matches!(self, Home::Thp | Home::Hugetlb)
    }

    /// The size of the huge page `--where thp|hugetlb` asks for with base pages of `page`:
    /// the THP size (`hpage_pmd_size`), hugetlbfs's default (`Hugepagesize:`).
    fn huge_size(self, page: PageSize) -> Option<PageSize> {
        match self {
            Home::Thp => thp_size(page),
            Home::Hugetlb => hugetlb_size(page),
            _ => None,
        }
    }
}

/// What `target` was asked.
#[derive(Debug, Clone)]
pub(crate) struct TargetOptions {
    /// The variable's initial value.
    pub(crate) value: u64,
    pub(crate) home: Home,
    /// Busy-poll instead of sleeping `interval` between reads.
    pub(crate) spin: bool,
    pub(crate) interval: Duration,
    /// Exit once the variable holds this value.
    pub(crate) until: Option<u64>,
    pub(crate) timeout: Option<Duration>,
    /// Leave the page movable instead of holding it still ([`Hold`]).
    pub(crate) movable: bool,
    pub(crate) json: bool,
}

/// Whether the variable's page is held in place.
#[derive(Debug)]
pub(crate) enum Hold<'cell> {
    /// Registered as an io_uring fixed buffer: the kernel cannot migrate, swap or merge it
    /// while the ring lives. The ring borrows the page's cell, so it is released before
    /// the page is freed or unmapped.
    Held { _ring: FixedBuffer<'cell> },
    /// Left movable on purpose (`--movable`).
    Movable,
    /// The kernel refused the registration (no io_uring, file-backed memory...).
    Refused(String),
}

impl Hold<'_> {
    fn held(&self) -> bool {
        matches!(self, Hold::Held { .. })
    }

    /// The `hold` of the ready event, and the text report's line.
    fn describe(&self) -> String {
        match self {
            Hold::Held { .. } => {
                "io_uring fixed buffer: pinned in place, the kernel cannot migrate or swap it"
                    .to_string()
            }
            Hold::Movable => "not held (--movable): the kernel may migrate it".to_string(),
            Hold::Refused(why) => {
                format!("not held: io_uring refused to pin it ({why}); the kernel may migrate it")
            }
        }
    }
}

/// One line of `target --json`, tagged by its `"event"`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub(crate) enum TargetEvent {
    /// The variable is in place: where it is, virtually and physically.
    Ready {
        pid: u32,
        vaddr: VirtAddr,
        value: Hex,
        #[serde(rename = "where")]
        home: &'static str,
        mapping: String,
        page_size: u64,
        pfn: Option<Pfn>,
        paddr: Option<PhysAddr>,
        locked: bool,
        /// Whether the page is held in place (an io_uring fixed buffer).
        held: bool,
        /// How, or why not.
        hold: String,
        /// For `--where thp|hugetlb`: the kind of huge page the kernel shows for the frame
        /// (`inspect`'s `huge_page` names), `null` when it is none or cannot be told.
        huge_page: Option<&'static str>,
        /// For `--where thp|hugetlb`: how that is known and where the variable lies in it,
        /// or why it is no huge page; `null` for the other placements.
        huge_page_note: Option<String>,
        monotonic_ns: u64,
    },
    /// The variable changed from `old` to `new`, noticed at `monotonic_ns`.
    Change {
        old: Hex,
        new: Hex,
        monotonic_ns: u64,
        elapsed_s: f64,
    },
    /// The page moved to another frame (`"unknown"` when the kernel hides frames).
    Moved { old_pfn: String, new_pfn: String },
    /// The target is exiting: `"until"`, `"signal"` or `"timeout"`.
    Exit { reason: &'static str, value: Hex },
}

/// Why the watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopReason {
    Until,
    Signal,
    Timeout,
}

impl StopReason {
    fn name(self) -> &'static str {
        match self {
            StopReason::Until => "until",
            StopReason::Signal => "signal",
            StopReason::Timeout => "timeout",
        }
    }
}

/// Runs the target until a signal, `--until` or `--timeout`.
pub(crate) fn run(options: &TargetOptions) -> Result<()> {
    let page = PageSize::of_system();
    match options.home {
        Home::Stack => {
            // The page lives in this very frame, on the main thread's stack.
            let mut frame = TargetPage::INITIAL;
            let mut cell = TargetCell::on_stack(&mut frame);
            if let Some(top) = mapping_end(VirtAddr(cell.page_addr())) {
                cell.cover_up_to(top);
            }
            watch(cell, options, page)
        }
        Home::Mmap => {
            let cell = TargetCell::in_anonymous_mapping(page.bytes() as usize)
                .context("mapping an anonymous page for the variable")?;
            watch(cell, options, page)
        }
        Home::Heap => watch(TargetCell::on_heap(), options, page),
        Home::Thp => {
            let huge = huge_len(options.home, page)?;
            let cell = TargetCell::in_transparent_huge_page(huge, page.bytes() as usize)
                .with_context(|| {
                    let twice = format_size(2 * huge as u64);
                    format!("mapping {twice} for a transparent huge page")
                })?;
            watch(cell, options, page)
        }
        Home::Hugetlb => {
            let huge = huge_len(options.home, page)?;
            let cell = TargetCell::in_hugetlb_page(huge, page.bytes() as usize)
                .map_err(|err| no_hugetlb_page(err, huge as u64))?;
            watch(cell, options, page)
        }
        Home::Static => {
            let cell =
                TargetCell::in_static_data().context("the static target page is already in use")?;
            watch(cell, options, page)
        }
    }
}

/// The huge page's size in bytes for `home` with base pages of `page`.
fn huge_len(home: Home, page: PageSize) -> Result<usize> {
    home.huge_size(page)
        .and_then(|size| usize::try_from(size.bytes()).ok())
        .ok_or_else(|| {
            unsupported(format!(
                "no huge page size goes with {}-byte pages for --where {}",
                page.bytes(),
                home.name()
            ))
            .hint("use --where mmap")
            .into()
        })
}

/// Why `--where hugetlb` got no page of `size` bytes, and how to reserve one.
fn no_hugetlb_page(err: std::io::Error, size: u64) -> anyhow::Error {
    let pool = PageSize::new(size).and_then(hugetlb_pool);
    let size = format_size(size);
    match (err.raw_os_error(), pool) {
        (Some(libc::ENOMEM), Some((reserved, free))) => unsupported(format!(
            "no free {size} hugetlbfs page for --where hugetlb: vm.nr_hugepages reserves {reserved}, {free} free"
        ))
        .hint("reserve one as root: echo 1 > /proc/sys/vm/nr_hugepages, or sysctl vm.nr_hugepages=1")
        .into(),
        (_, None) => unsupported(format!(
            "this kernel has no {size} hugetlbfs pages for --where hugetlb ({err})"
        ))
        .hint("it needs CONFIG_HUGETLBFS; use --where thp")
        .into(),
        _ => unsupported(format!(
            "the kernel refused a {size} hugetlbfs page for --where hugetlb: {err}"
        ))
        .hint("check /proc/meminfo's HugePages_Free and vm.nr_hugepages")
        .into(),
    }
}

/// The end of our own mapping that holds `addr`.
fn mapping_end(addr: VirtAddr) -> Option<u64> {
    let me = open_user_process(std::process::id() as i32).ok()?;
    let end = me.mapping_of(addr).ok()?.address.1;
    Some(end)
}

/// Reads our own frame number, when the kernel shows it to us.
fn own_pfn(pagemap: Option<&PagemapFile>, page: PageSize, addr: VirtAddr) -> Option<Pfn> {
    pagemap?.entry(page.page_index(addr)).ok()?.pfn()
}

/// The variable in place: where it is, and how to see it move.
struct Placed<'cell> {
    pid: u32,
    vaddr: VirtAddr,
    page: PageSize,
    /// Our own pagemap, to re-read the frame (`None` when it cannot be opened).
    pagemap: Option<PagemapFile>,
    pfn: Option<Pfn>,
    paddr: Option<PhysAddr>,
    /// The name of the mapping holding the variable, as /proc/<pid>/maps shows it.
    mapping: String,
    lock_warning: Option<String>,
    hold: Hold<'cell>,
    /// For `--where thp|hugetlb`: what backs the page, as the kernel tells.
    huge: Option<HugeCheck>,
}

/// What backs a `--where thp|hugetlb` page, checked once it is in place: the frame's
/// kpageflags (THP or HUGE, [`crate::kernel::kpageflags::KpageFlags::huge_kind`], the names `inspect` prints), or
/// why it is no huge page. A page is never called huge on the strength of the request alone,
/// except a MAP_HUGETLB mapping, which the kernel backs with hugetlbfs pages or refuses.
#[derive(Debug, Clone)]
struct HugeCheck {
    /// `inspect`'s name for the kind, or `None`: not a huge page, or not known to be.
    kind: Option<&'static str>,
    /// One sentence: how it is known, where the variable lies in it, or why it is none.
    note: String,
}

impl HugeCheck {
    fn of(home: Home, vaddr: VirtAddr, pfn: Option<Pfn>, page: PageSize) -> Option<HugeCheck> {
        let huge = home.huge_size(page)?;
        let flags = pfn.and_then(|pfn| {
            let reader = FrameInfoReader::open().ok()?;
            reader.flags(pfn, 1).ok()?.first().copied()
        });
        let inside = |kind: &str| huge_note(kind, vaddr, pfn, huge, page);
        let check = match (flags.map(|f| f.huge_kind()), home) {
            (Some(Some(kind)), _) => HugeCheck {
                kind: Some(kind),
                note: inside(kind),
            },
            (Some(None), Home::Thp) => HugeCheck {
                kind: None,
                note: format!(
                    "NOT a huge page: {}; the variable is on an ordinary {} page",
                    why_no_thp(),
                    format_size(page.bytes())
                ),
            },
            (Some(None), _) => HugeCheck {
                kind: None,
                note: "NOT a huge page: kpageflags shows neither HUGE nor THP for the frame of a MAP_HUGETLB mapping".into(),
            },
            (None, Home::Thp) => HugeCheck {
                kind: None,
                note: "unknown whether it is a transparent huge page: its frame's kpageflags need root to read".into(),
            },
            (None, _) => HugeCheck {
                kind: Some(HUGETLB_KIND),
                note: inside(HUGETLB_KIND) + " (a MAP_HUGETLB mapping; kpageflags not readable to confirm)",
            },
        };
        Some(check)
    }
}

/// Where the variable lies in its huge page of `huge` bytes (base pages of `page`): `in a
/// transparent huge page (THP) of 2 MiB: the variable is 0x5040 bytes in, subpage 5 of the
/// huge page at frame 0x1200`.
fn huge_note(
    kind: &str,
    vaddr: VirtAddr,
    pfn: Option<Pfn>,
    huge: PageSize,
    page: PageSize,
) -> String {
    let size = format_size(huge.bytes());
    let offset = huge.offset_in_page(vaddr.0);
    match pfn {
        Some(pfn) => format!(
            "in a {kind} of {size}: the variable is {offset:#x} bytes in, subpage {} of the huge page at frame {}",
            offset >> page.shift(),
            Pfn(pfn.0 & !((huge.bytes() >> page.shift()) - 1)),
        ),
        None => format!("in a {kind} of {size}: the variable is {offset:#x} bytes in"),
    }
}

/// `inspect`'s name for a hugetlbfs page.
const HUGETLB_KIND: &str = "hugetlbfs huge page";

/// Why the kernel gave the `--where thp` block no transparent huge page.
fn why_no_thp() -> String {
    match thp_mode().as_deref() {
        None => format!("this kernel has no transparent huge pages (no {THP_ENABLED_PATH})"),
        Some("never") => format!("THP is disabled ([never] in {THP_ENABLED_PATH})"),
        Some(mode) => format!(
            "the kernel did not back the block with one (THP mode [{mode}]; memory may be too fragmented)"
        ),
    }
}

/// Gather: sets up the page (ordinary, initialised, locked) and finds where it is.
fn place<'cell>(
    cell: &'cell TargetCell<'_>,
    options: &TargetOptions,
    page: PageSize,
) -> Result<Placed<'cell>> {
    if page.bytes() != 4096 && !matches!(options.home, Home::Mmap | Home::Thp | Home::Hugetlb) {
        return Err(unsupported(format!(
            "--where {} needs 4 KiB pages; this system uses {}",
            options.home.name(),
            page.bytes()
        ))
        .hint("use --where mmap, thp or hugetlb")
        .into());
    }
    let pid = std::process::id();
    if !options.home.is_huge() {
        cell.keep_ordinary();
    }
    cell.initialise(pid, options.value);
    let lock_warning = cell.lock().err().map(|err| {
        format!("warning: mlock failed ({err}); the page could be swapped out. Run as root or raise `ulimit -l`.")
    });
    // Held before its frame is read: a long-term pin may first move the page.
    let hold = if options.movable {
        Hold::Movable
    } else {
        match cell.hold_still() {
            Ok(ring) => Hold::Held { _ring: ring },
            Err(err) => Hold::Refused(err.to_string()),
        }
    };
    let vaddr = VirtAddr(cell.value_addr());
    let pagemap = PagemapFile::open(pid as i32).ok();
    let pfn = own_pfn(pagemap.as_ref(), page, vaddr);
    let mapping = open_user_process(pid as i32)
        .ok()
        .and_then(|p| p.mapping_of(vaddr).ok().map(|m| describe_path(&m.pathname)))
        .unwrap_or_else(|| "?".into());
    let paddr = pfn.and_then(|pfn| page.phys_addr(pfn, page.offset_in_page(vaddr.0)));
    let huge = HugeCheck::of(options.home, vaddr, pfn, page);
    Ok(Placed {
        pid,
        vaddr,
        page,
        pagemap,
        pfn,
        paddr,
        mapping,
        lock_warning,
        hold,
        huge,
    })
}

/// A flag that SIGINT and SIGTERM set.
pub(crate) fn stop_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    Ok(stop)
}

fn watch(cell: TargetCell<'_>, options: &TargetOptions, page: PageSize) -> Result<()> {
    let placed = place(&cell, options, page)?;
    let stop = stop_flag()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some(warning) = &placed.lock_warning {
        eprintln!("physdemo: {warning}");
    }
    let started = Instant::now();
    render_ready(&mut out, options, &placed, monotonic_ns())?;
    let (reason, last) = watch_loop(&cell, options, &placed, &stop, started, &mut out)?;
    if reason == StopReason::Until {
        // A poke that just wrote the value re-checks the page after its write and reads our
        // reaction from the header: stay mapped and alive a moment so it can.
        std::thread::sleep(UNTIL_LINGER);
    }
    render_event(
        &mut out,
        options.json,
        &TargetEvent::Exit {
            reason: reason.name(),
            value: Hex(last),
        },
    )?;
    // The io_uring registration first, then the page it pins.
    drop(placed);
    drop(cell);
    match options.until {
        Some(until) if reason == StopReason::Timeout => Err(not_found(format!(
            "timed out before the variable became {until:#x}"
        ))
        .hint("poke it sooner, or raise --timeout")
        .into()),
        _ => Ok(()),
    }
}

/// Polls the variable until `--until`, a signal or `--timeout`, reporting every change and
/// every move of the page; returns why it stopped and the last value seen.
fn watch_loop(
    cell: &TargetCell<'_>,
    options: &TargetOptions,
    placed: &Placed,
    stop: &AtomicBool,
    started: Instant,
    out: &mut impl Write,
) -> Result<(StopReason, u64)> {
    let deadline = options.timeout.map(|timeout| started + timeout);
    // The value as announced: a write that lands before the loop starts is still a change.
    let mut last = options.value;
    let mut last_pfn = placed.pfn;
    let mut next_pfn_check = started + PFN_CHECK_EVERY;
    loop {
        let now_value = cell.read();
        if now_value != last {
            let at_ns = monotonic_ns();
            cell.publish_seen(now_value, at_ns);
            let change = TargetEvent::Change {
                old: Hex(last),
                new: Hex(now_value),
                monotonic_ns: at_ns,
                elapsed_s: started.elapsed().as_secs_f64(),
            };
            render_event(out, options.json, &change)?;
            last = now_value;
        }
        if options.until == Some(now_value) {
            return Ok((StopReason::Until, last));
        }
        if stop.load(Ordering::Relaxed) {
            return Ok((StopReason::Signal, last));
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Ok((StopReason::Timeout, last));
        }
        if now >= next_pfn_check {
            next_pfn_check = now + PFN_CHECK_EVERY;
            let pfn = own_pfn(placed.pagemap.as_ref(), placed.page, placed.vaddr);
            if pfn.is_some() && pfn != last_pfn {
                let show =
                    |p: Option<Pfn>| p.map_or_else(|| "unknown".to_string(), |p| p.to_string());
                let moved = TargetEvent::Moved {
                    old_pfn: show(last_pfn),
                    new_pfn: show(pfn),
                };
                render_event(out, options.json, &moved)?;
                last_pfn = pfn;
            }
        }
        if options.spin {
            std::hint::spin_loop();
        } else {
            std::thread::sleep(options.interval);
        }
    }
}

/// The first report: the `ready` event, or the text telling a user what to try next.
fn render_ready(
    out: &mut impl Write,
    options: &TargetOptions,
    placed: &Placed,
    started_ns: u64,
) -> Result<()> {
    if options.json {
        let ready = TargetEvent::Ready {
            pid: placed.pid,
            vaddr: placed.vaddr,
            value: Hex(options.value),
            home: options.home.name(),
            mapping: placed.mapping.clone(),
            page_size: placed.page.bytes(),
            pfn: placed.pfn,
            paddr: placed.paddr,
            locked: placed.lock_warning.is_none(),
            held: placed.hold.held(),
            hold: placed.hold.describe(),
            huge_page: placed.huge.as_ref().and_then(|huge| huge.kind),
            huge_page_note: placed.huge.as_ref().map(|huge| huge.note.clone()),
            monotonic_ns: started_ns,
        };
        return render_event(out, true, &ready);
    }
    let (pid, vaddr) = (placed.pid, placed.vaddr);
    writeln!(out, "physdemo target: pid {pid}")?;
    writeln!(
        out,
        "  variable  {vaddr}  in {} (--where {})",
        placed.mapping,
        options.home.name()
    )?;
    writeln!(out, "  value     {:#018x}", options.value)?;
    match (placed.pfn, placed.paddr) {
        (Some(pfn), Some(paddr)) => writeln!(out, "  physical  {paddr}  (frame {pfn})")?,
        _ => writeln!(
            out,
            "  physical  unknown here (pagemap hides frame numbers without root)"
        )?,
    }
    if let Some(huge) = &placed.huge {
        writeln!(out, "  huge      {}", huge.note)?;
    }
    writeln!(out, "  held      {}", placed.hold.describe())?;
    writeln!(out, "Next, in another terminal:")?;
    writeln!(out, "  sudo physdemo inspect {pid} {vaddr}")?;
    writeln!(
        out,
        "  sudo physdemo poke {pid} {vaddr} 0xdeadbeef     (or just: sudo physdemo poke)"
    )?;
    writeln!(out, "Watching for changes (Ctrl-C to stop)...")?;
    out.flush()?;
    Ok(())
}

/// One event as a JSON line (keys sorted, as always) or as its text line; flushed at once,
/// so a reader sees it as it happens.
fn render_event(out: &mut impl Write, json: bool, event: &TargetEvent) -> Result<()> {
    if json {
        write_sorted_json_line(out, event)?;
    } else {
        match event {
            TargetEvent::Ready { .. } => {}
            TargetEvent::Change {
                old,
                new,
                monotonic_ns,
                elapsed_s,
            } => writeln!(
                out,
                "[{elapsed_s:>12.6} s] changed {:#018x} -> {:#018x}  (CLOCK_MONOTONIC {monotonic_ns} ns)",
                old.0, new.0
            )?,
            TargetEvent::Moved { old_pfn, new_pfn } => writeln!(
                out,
                "WARNING: the page MOVED from frame {old_pfn} to frame {new_pfn}: a poke to the old physical address is lost. Re-run inspect."
            )?,
            TargetEvent::Exit { reason, value } => writeln!(
                out,
                "physdemo target: exiting ({reason}), value {:#018x}",
                value.0
            )?,
        }
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_huge_note_follows_the_page_size() {
        let size = |b| PageSize::new(b).unwrap();
        let thp = "transparent huge page (THP)";
        assert_eq!(
            huge_note(thp, VirtAddr(0x7f00_0020_5040), Some(Pfn(0x21f805)), size(2 << 20), size(4096)),
            "in a transparent huge page (THP) of 2 MiB: the variable is 0x5040 bytes in, subpage 5 of the huge page at frame 0x21f800"
        );
        assert_eq!(
            huge_note(thp, VirtAddr(0xffff_6005_0040), Some(Pfn(0x12005)), size(512 << 20), size(65536)),
            "in a transparent huge page (THP) of 512 MiB: the variable is 0x50040 bytes in, subpage 5 of the huge page at frame 0x12000"
        );
        assert_eq!(
            huge_note(
                HUGETLB_KIND,
                VirtAddr(0xffff_8201_4040),
                None,
                size(32 << 20),
                size(16384)
            ),
            "in a hugetlbfs huge page of 32 MiB: the variable is 0x14040 bytes in"
        );
    }

    fn line(event: &TargetEvent, json: bool) -> String {
        let mut out = Vec::new();
        render_event(&mut out, json, event).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn events_are_tagged_json_lines_with_sorted_keys() {
        let ready = TargetEvent::Ready {
            pid: 42,
            vaddr: VirtAddr(0x7f00_0000_0040),
            value: Hex(0x1122_3344_5566_7788),
            home: Home::Mmap.name(),
            mapping: "[anonymous]".into(),
            page_size: 4096,
            pfn: Some(Pfn(0x1234)),
            paddr: None,
            locked: true,
            held: false,
            hold: Hold::Movable.describe(),
            huge_page: None,
            huge_page_note: None,
            monotonic_ns: 5,
        };
        assert_eq!(
            line(&ready, true),
            "{\"event\":\"ready\",\"held\":false,\"hold\":\"not held (--movable): the kernel may migrate it\",\
             \"huge_page\":null,\"huge_page_note\":null,\"locked\":true,\"mapping\":\"[anonymous]\",\"monotonic_ns\":5,\
             \"paddr\":null,\"page_size\":4096,\"pfn\":\"0x1234\",\"pid\":42,\
             \"vaddr\":\"0x7f0000000040\",\"value\":\"0x1122334455667788\",\"where\":\"mmap\"}\n"
        );
        let change = TargetEvent::Change {
            old: Hex(1),
            new: Hex(0xdead),
            monotonic_ns: 7,
            elapsed_s: 0.5,
        };
        assert_eq!(
            line(&change, true),
            "{\"elapsed_s\":0.5,\"event\":\"change\",\"monotonic_ns\":7,\"new\":\"0xdead\",\"old\":\"0x1\"}\n"
        );
        assert_eq!(
            line(&change, false),
            "[    0.500000 s] changed 0x0000000000000001 -> 0x000000000000dead  (CLOCK_MONOTONIC 7 ns)\n"
        );
        let moved = TargetEvent::Moved {
            old_pfn: "0x1".into(),
            new_pfn: "0x2".into(),
        };
        assert_eq!(
            line(&moved, true),
            "{\"event\":\"moved\",\"new_pfn\":\"0x2\",\"old_pfn\":\"0x1\"}\n"
        );
        let exit = TargetEvent::Exit {
            reason: "until",
            value: Hex(0xdead),
        };
        assert_eq!(
            line(&exit, true),
            "{\"event\":\"exit\",\"reason\":\"until\",\"value\":\"0xdead\"}\n"
        );
        assert_eq!(
            line(&exit, false),
            "physdemo target: exiting (until), value 0x000000000000dead\n"
        );
    }
}
