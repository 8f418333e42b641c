//! `physdemo target`: a process that holds one 64-bit variable and reports every change.
//!
//! The variable sits on a page of its own (see [`TargetPage`]), made resident,
//! locked and kept an ordinary 4 KiB page, so that a write through /dev/mem to its frame
//! lands on it. The watch loop polls it with volatile reads, reports each change with the
//! CLOCK_MONOTONIC time it noticed it (poke prints the same clock for its write), and
//! re-reads its own frame number from pagemap now and then, warning if the page moved.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;

use crate::cli::{TargetArgs, WhereArg as Placement};
use crate::error::{not_found, unsupported};
use crate::kernel::addr::{PageSize, Pfn, VirtAddr};
use crate::proc::pagemap::PagemapFile;
use crate::sys::clock::monotonic_ns;
use crate::sys::target_page::{TargetCell, TargetPage};

/// How long the target stays alive after `--until` is reached, for the poker's checks.
const UNTIL_LINGER: Duration = Duration::from_millis(300);

/// How often the target re-reads its own PFN.
const PFN_CHECK_EVERY: Duration = Duration::from_millis(250);

/// Runs the target until a signal, `--until` or `--timeout`.
pub fn run(args: &TargetArgs) -> Result<()> {
    let page = PageSize::of_system();
    match args.placement {
        Placement::Stack => {
            // The page lives in this very frame, on the main thread's stack.
            let mut frame = TargetPage::INITIAL;
            let mut cell = TargetCell::on_stack(&mut frame);
            if let Some(top) = mapping_end(VirtAddr(cell.page_addr())) {
                cell.cover_up_to(top);
            }
            watch(cell, args, page)
        }
        Placement::Mmap => {
            let cell = TargetCell::in_anonymous_mapping(page.bytes() as usize)
                .context("mapping an anonymous page for the variable")?;
            watch(cell, args, page)
        }
        Placement::Heap => watch(TargetCell::on_heap(), args, page),
        Placement::Static => {
            let cell =
                TargetCell::in_static_data().context("the static target page is already in use")?;
            watch(cell, args, page)
        }
    }
}

fn placement_name(placement: Placement) -> &'static str {
    match placement {
        Placement::Mmap => "mmap",
        Placement::Heap => "heap",
        Placement::Stack => "stack",
        Placement::Static => "static",
    }
}

/// The end of our own mapping that holds `addr`.
fn mapping_end(addr: VirtAddr) -> Option<u64> {
    let me = crate::proc::process::open_user_process(std::process::id() as i32).ok()?;
    let end = me.mapping_of(addr).ok()?.address.1;
    Some(end)
}

/// Reads our own frame number, when the kernel shows it to us.
fn own_pfn(pagemap: Option<&PagemapFile>, page: PageSize, addr: VirtAddr) -> Option<Pfn> {
    pagemap?.entry(page.page_index(addr)).ok()?.pfn()
}

fn watch(cell: TargetCell<'_>, args: &TargetArgs, page: PageSize) -> Result<()> {
    if page.bytes() != 4096 && args.placement != Placement::Mmap {
        return Err(unsupported(format!(
            "--where {} needs 4 KiB pages; this system uses {}",
            placement_name(args.placement),
            page.bytes()
        ))
        .hint("use --where mmap")
        .into());
    }
    let pid = std::process::id();
    cell.keep_ordinary();
    cell.initialise(pid, args.value);
    let lock_warning = cell.lock().err().map(|err| {
        format!("warning: mlock failed ({err}); the page could be swapped out. Run as root or raise `ulimit -l`.")
    });
    let vaddr = VirtAddr(cell.value_addr());
    let pagemap = PagemapFile::open(pid as i32).ok();
    let start_pfn = own_pfn(pagemap.as_ref(), page, vaddr);
    let mapping = crate::proc::process::open_user_process(pid as i32)
        .ok()
        .and_then(|p| {
            p.mapping_of(vaddr)
                .ok()
                .map(|m| crate::kernel::maps::describe_path(&m.pathname))
        })
        .unwrap_or_else(|| "?".into());
    let paddr = start_pfn.and_then(|pfn| page.phys_addr(pfn, page.offset_in_page(vaddr.0)));

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }

    // The value as announced: a write that lands before the loop starts is still a change.
    let mut last = args.value;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some(warning) = &lock_warning {
        eprintln!("physdemo: {warning}");
    }
    let started = Instant::now();
    let started_ns = monotonic_ns();
    if args.json {
        let ready = json!({
            "event": "ready",
            "pid": pid,
            "vaddr": vaddr.to_string(),
            "value": format!("{:#x}", args.value),
            "where": placement_name(args.placement),
            "mapping": mapping,
            "page_size": page.bytes(),
            "pfn": start_pfn.map(|p| p.to_string()),
            "paddr": paddr.map(|p| p.to_string()),
            "locked": lock_warning.is_none(),
            "monotonic_ns": started_ns,
        });
        writeln!(out, "{ready}")?;
    } else {
        writeln!(out, "physdemo target: pid {pid}")?;
        writeln!(
            out,
            "  variable  {vaddr}  in {mapping} (--where {})",
            placement_name(args.placement)
        )?;
        writeln!(out, "  value     {:#018x}", args.value)?;
        match (start_pfn, paddr) {
            (Some(pfn), Some(paddr)) => writeln!(out, "  physical  {paddr}  (frame {pfn})")?,
            _ => writeln!(
                out,
                "  physical  unknown here (pagemap hides frame numbers without root)"
            )?,
        }
        writeln!(out, "Next, in another terminal:")?;
        writeln!(out, "  sudo physdemo inspect {pid} {vaddr}")?;
        writeln!(
            out,
            "  sudo physdemo poke {pid} {vaddr} 0xdeadbeef     (or just: sudo physdemo poke)"
        )?;
        writeln!(out, "Watching for changes (Ctrl-C to stop)...")?;
    }
    out.flush()?;

    let deadline = args.timeout.map(|s| started + Duration::from_secs_f64(s));
    let interval = Duration::from_micros(args.interval_us);
    let mut last_pfn = start_pfn;
    let mut next_pfn_check = started + PFN_CHECK_EVERY;
    let reason = loop {
        let now_value = cell.read();
        if now_value != last {
            let at_ns = monotonic_ns();
            cell.publish_seen(now_value, at_ns);
            let elapsed = started.elapsed().as_secs_f64();
            if args.json {
                let change = json!({
                    "event": "change",
                    "old": format!("{last:#x}"),
                    "new": format!("{now_value:#x}"),
                    "monotonic_ns": at_ns,
                    "elapsed_s": elapsed,
                });
                writeln!(out, "{change}")?;
            } else {
                writeln!(
                    out,
                    "[{elapsed:>12.6} s] changed {last:#018x} -> {now_value:#018x}  (CLOCK_MONOTONIC {at_ns} ns)"
                )?;
            }
            out.flush()?;
            last = now_value;
        }
        if args.until == Some(now_value) {
            break "until";
        }
        if stop.load(Ordering::Relaxed) {
            break "signal";
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            break "timeout";
        }
        if now >= next_pfn_check {
            next_pfn_check = now + PFN_CHECK_EVERY;
            let pfn = own_pfn(pagemap.as_ref(), page, vaddr);
            if pfn.is_some() && pfn != last_pfn {
                report_move(&mut out, args.json, last_pfn, pfn)?;
                last_pfn = pfn;
            }
        }
        if args.spin {
            std::hint::spin_loop();
        } else {
            std::thread::sleep(interval);
        }
    };
    if reason == "until" {
        // A poke that just wrote the value re-checks the page after its write and reads our
        // reaction from the header: stay mapped and alive a moment so it can.
        std::thread::sleep(UNTIL_LINGER);
    }
    if args.json {
        writeln!(
            out,
            "{}",
            json!({"event": "exit", "reason": reason, "value": format!("{last:#x}")})
        )?;
    } else {
        writeln!(
            out,
            "physdemo target: exiting ({reason}), value {last:#018x}"
        )?;
    }
    out.flush()?;
    drop(cell);
    if reason == "timeout" && args.until.is_some() {
        return Err(not_found(format!(
            "timed out before the variable became {:#x}",
            args.until.unwrap_or_default()
        ))
        .hint("poke it sooner, or raise --timeout")
        .into());
    }
    Ok(())
}

fn report_move(out: &mut impl Write, json: bool, old: Option<Pfn>, new: Option<Pfn>) -> Result<()> {
    let show = |p: Option<Pfn>| p.map_or_else(|| "unknown".to_string(), |p| p.to_string());
    if json {
        writeln!(
            out,
            "{}",
            json!({"event": "moved", "old_pfn": show(old), "new_pfn": show(new)})
        )?;
    } else {
        writeln!(
            out,
            "WARNING: the page MOVED from frame {} to frame {}: a poke to the old physical address is lost. Re-run inspect.",
            show(old),
            show(new)
        )?;
    }
    out.flush()?;
    Ok(())
}
