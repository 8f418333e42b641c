// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo poke`: write one value of physical memory, named as `peek` names it.
//!
//! A write is checked before anything is touched (alignment, value fits, the /proc/iomem
//! region policy, PCI configuration space), re-checks the pagemap translation right before
//! and right after the store, and, for a physdemo target, waits for the target to report the
//! new value and shows how long it took to react. A device gets exactly the one store (no
//! read unless `--read-back`: a read can have side effects); RAM is read before and after.
//! `--dry-run` goes through every check and opens and maps the device as the write would,
//! and stops short of the store.
//!
//! The steps: [`prepare`] (resolve and check everything, open the device), then either
//! [`dry_run`] or [`write`], then the report ([`render_written`], [`render_dry_run`]).

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::error::{refused, ExitKind, UserError};
use crate::kernel::addr::{Hex, PageSize, Pfn, PhysAddr, VirtAddr};
use crate::kernel::kallsyms::ImageSection;
use crate::physmem::access::PhysMem;
use crate::physmem::device::DeviceOptions;
use crate::physmem::frame_pin::{pinning_available, FramePin};
use crate::physmem::policy::{check_config_space_write, check_region_write_judged};
use crate::physmem::width::{check_alignment, check_value_fits, Width, WidthValue};
use crate::proc::target_process::{wait_for_reaction, Reaction};
use crate::render::device::DeviceUsed;
use crate::render::json::write_sorted_json_line;
use crate::render::subject::{subject_lines, ProcessJson, RegionJson, RegisterJson, SymbolJson};
use crate::render::units::format_latency;
use crate::resolve::destination::Destination;
use crate::resolve::recheck::{
    after_store, check_before_store, check_present_before_pin, AfterStore,
};
use crate::resolve::register::Register;
use crate::resolve::subject::{check_reference_alignment, locate, Located, Subject};
use crate::resolve::symbol::SymbolLocation;
use crate::scan::owners::{every_pid, search, FrameQuery, SearchScope};

/// What the no-argument `poke` writes, unless the variable already holds it (then its NOT).
pub(crate) const DEMO_VALUE: u64 = 0xdead_beef_cafe_f00d;

/// Hidden test hooks: milliseconds to sleep right before the last frame check (a change
/// there must be refused, nothing written), between that check (and the pin) and the store
/// (a page that moves there leaves the store in a stale frame: reported as a failure, or
/// impossible when the page is pinned), and right after the store (before the target's
/// reaction and the check after it). Honoured only when set, so that a test can kill or
/// replace the process, move or swap its page inside each window (demos/stress/races.sh,
/// demos/stress/migrate.sh). Each pause announces itself on stderr.
pub(crate) const PAUSE_BEFORE_CHECK_ENV: &str = "PHYSDEMO_TEST_PAUSE_BEFORE_CHECK_MS";
pub(crate) const PAUSE_BEFORE_WRITE_ENV: &str = "PHYSDEMO_TEST_PAUSE_BEFORE_WRITE_MS";
pub(crate) const PAUSE_AFTER_WRITE_ENV: &str = "PHYSDEMO_TEST_PAUSE_AFTER_WRITE_MS";

/// What `poke` was asked.
#[derive(Debug, Clone)]
pub(crate) struct PokeOptions {
    pub(crate) subject: Subject,
    /// The value to write; `None` for the no-argument form's default ([`default_value`]).
    pub(crate) value: Option<u64>,
    /// The access width; `None` for the subject's default.
    pub(crate) width: Option<Width>,
    /// Seconds to wait for a physdemo target to report the change.
    pub(crate) wait: f64,
    /// Read a device before and after the write too (RAM always is).
    pub(crate) read_back: bool,
    pub(crate) json: bool,
    /// Write where the policy would refuse.
    pub(crate) force: bool,
    /// Run every check and write nothing.
    pub(crate) dry_run: bool,
    pub(crate) device: DeviceOptions,
}

/// The no-argument value: the demo value, or its NOT when the variable already holds it,
/// cut to the access width.
pub(crate) fn default_value(current: Option<u64>, width: Width) -> u64 {
    let demo = DEMO_VALUE & width.max_value();
    if current == Some(demo) {
        !demo & width.max_value()
    } else {
        demo
    }
}

fn test_pause(var: &str, what: &str) {
    let Some(ms) = std::env::var(var).ok().and_then(|v| v.parse::<u64>().ok()) else {
        return;
    };
    eprintln!("physdemo: test hook: pausing {ms} ms {what}");
    std::thread::sleep(Duration::from_millis(ms));
}

/// Reads the variable through /proc/<pid>/mem (the process's own view), for the default value.
fn read_through_proc(pid: i32, vaddr: VirtAddr) -> Option<u64> {
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).ok()?;
    let mut bytes = [0u8; 8];
    mem.read_exact_at(&mut bytes, vaddr.0).ok()?;
    Some(u64::from_ne_bytes(bytes))
}

/// The accesses a poke makes: the one write, or a read before and after it.
fn accesses(reads: bool) -> Vec<&'static str> {
    if reads {
        vec!["read", "write", "read back"]
    } else {
        vec!["write"]
    }
}

/// The `accesses` line of a poke's report.
fn describe_accesses(reads: bool, width: Width) -> String {
    if reads {
        format!("read, write, read back ({width} each)")
    } else {
        format!("1 write ({width}), no read: a device may act on a read (--read-back reads before and after)")
    }
}

/// A write that passed every check, with the device open for it.
struct Plan {
    located: Located,
    destination: Destination,
    register: Option<Register>,
    width: Width,
    value: u64,
    /// Whether the address is RAM (read before and after, and read back to compare).
    ram: bool,
    /// Whether the write is read before and after (RAM, or `--read-back`).
    reads: bool,
    mem: PhysMem,
}

/// Runs `physdemo poke`.
pub(crate) fn run(options: &PokeOptions) -> Result<()> {
    let plan = prepare(options)?;
    if options.dry_run {
        let (current, would_pin) = dry_run(&plan, options)?;
        return render_dry_run(&plan, options, current, would_pin);
    }
    let written = write(&plan, options)?;
    render_written(&plan, options, &written)?;
    check_readback(&plan, &written)
}

/// Gather: resolves the subject and refuses what is malformed or not allowed before
/// anything is touched, then opens the device as the write needs it.
fn prepare(options: &PokeOptions) -> Result<Plan> {
    let fallback = options.subject.default_width();
    let named = options
        .subject
        .clone()
        .into_named(options.width.unwrap_or(fallback).bytes() as u64)?;
    let width = named.width(options.width, fallback);
    if let Some(value) = options.value {
        check_value_fits(value, width)?;
    }
    check_reference_alignment(named.reference, width)?;
    if let Some(symbol) = &named.symbol {
        check_symbol_write(symbol, width, options.force)?;
    }
    let mut located = locate(named.reference)?;
    located.symbol = named.symbol;
    let register = named.register;
    check_alignment(located.paddr, width)?;
    let value = options.value.unwrap_or_else(|| {
        let current = located
            .process
            .as_ref()
            .and_then(|r| read_through_proc(r.pid, r.vaddr))
            .map(|v| v & width.max_value());
        default_value(current, width)
    });
    let destination = Destination::of(located.paddr);
    let placement = &destination.placement;
    check_config_space_write(located.paddr, destination.config.as_ref(), options.force)?;
    check_region_write_judged(
        located.paddr,
        width.bytes() as u64,
        placement,
        destination.judged(),
        options.force,
    )?;
    let ram = destination.is_ram(register.as_ref());
    // From here on a dry run does what the write does, short of the store, so that it ends
    // with the same verdict: the same device opened the same way, the page mapped, the
    // frame checked. It reads only RAM, never a device.
    let mem = PhysMem::open(&options.device, true, located.paddr)?;
    Ok(Plan {
        located,
        destination,
        register,
        width,
        value,
        ram,
        reads: ram || options.read_back,
        mem,
    })
}

/// A write by `--symbol` stays inside the symbol, and out of init memory (freed after boot
/// and handed out again), unless forced; the kernel image itself is the region policy's
/// to refuse, as for a physical address.
fn check_symbol_write(symbol: &SymbolLocation, width: Width, force: bool) -> Result<(), UserError> {
    if force {
        return Ok(());
    }
    if symbol.section == ImageSection::Init {
        return Err(refused(format!(
            "{} lies in the kernel's init memory, freed after boot: that page now belongs to whatever the kernel gave it to",
            symbol.symbol
        ))
        .hint("nothing was written; --force writes there anyway"));
    }
    match symbol.remaining() {
        Some(left) if (width.bytes() as u64) > left => Err(refused(format!(
            "a {width} write at {} runs past the symbol's end ({left} byte{} left before the next symbol)",
            symbol.symbol,
            if left == 1 { "" } else { "s" }
        ))
        .hint("nothing was written; give a smaller --width, or --force")),
        _ => Ok(()),
    }
}

/// The checks a write makes, short of the store (the page pinned and released, where the
/// write would pin it); returns the current value (read only from RAM) and whether the
/// write would pin.
fn dry_run(plan: &Plan, options: &PokeOptions) -> Result<(Option<u64>, bool)> {
    let width = plan.width;
    let at = last_checks(plan, options)?;
    plan.mem.probe_write(at.paddr, width)?;
    let current = if plan.ram {
        Some(plan.mem.read(at.paddr, width)?)
    } else {
        None
    };
    Ok((current, at.pin.is_some()))
}

/// Where the store goes: the resolved address, or, with the page pinned through
/// /dev/physmem, the frame the pin names (the same one, unless the page moved since it was
/// resolved, or the pin gave it a frame of its own).
struct StoreAt {
    paddr: PhysAddr,
    /// The frame, for a process's page.
    pfn: Option<Pfn>,
    /// Held until the store is done and read back.
    pin: Option<FramePin>,
}

/// The last checks before the store: for a process's page, same process, same frame, not
/// shared (unless forced); then, when /dev/physmem can pin it and the frame is the
/// process's alone, the pin, and the check once more against the pinned frame. A shared
/// frame written with --force is never pinned: the pin would give the process a private
/// copy, and the write would miss the very frame it was meant for.
fn last_checks(plan: &Plan, options: &PokeOptions) -> Result<StoreAt> {
    let located = &plan.located;
    let (Some(pinned), Some(r)) = (&located.pin, &located.process) else {
        return Ok(StoreAt {
            paddr: located.paddr,
            pfn: None,
            pin: None,
        });
    };
    // With a pin to come, the page may be at any frame now: the pin will name it.
    let pinnable = pinning_available()
        && check_present_before_pin(pinned, r.vaddr, options.force)
            .map(|entry| entry.exclusive() && !entry.file_or_shared_anon())?;
    if !pinnable {
        check_before_store(pinned, r.vaddr, r.pfn(), options.force)?;
        return Ok(StoreAt {
            paddr: located.paddr,
            pfn: r.pfn(),
            pin: None,
        });
    }
    let pin = FramePin::pin(r.pid, r.vaddr)?;
    let paddr = r
        .page
        .phys_addr(pin.pfn, r.page.offset_in_page(r.vaddr.0))
        .context("the pinned frame's address does not fit in 64 bits")?;
    if paddr != located.paddr {
        let moved = Destination::of(paddr);
        check_region_write_judged(
            paddr,
            plan.width.bytes() as u64,
            &moved.placement,
            moved.judged(),
            options.force,
        )?;
    }
    check_before_store(pinned, r.vaddr, Some(pin.pfn), options.force)?;
    Ok(StoreAt {
        paddr,
        pfn: Some(pin.pfn),
        pin: Some(pin),
    })
}

/// What the write did.
struct Written {
    /// Where the value went (the pinned frame, when pinned).
    paddr: PhysAddr,
    pfn: Option<Pfn>,
    /// Whether the page was pinned through /dev/physmem for the store.
    pinned: bool,
    old: Option<u64>,
    readback: Option<u64>,
    /// CLOCK_MONOTONIC just before the store.
    write_ns: u64,
    /// What a physdemo target did; `None` when there is no target or nothing changed.
    reaction: Option<Reaction>,
    /// Set when the page left the frame right after the store, taking the value along.
    moved_after: Option<String>,
}

impl Written {
    fn confirmed_by_target(&self) -> bool {
        matches!(self.reaction, Some(Reaction::Seen(_)))
    }
}

/// The store, with the frame checked right before it (and pinned, where /dev/physmem can)
/// and right after it (unless the target itself reports the value), and the target's
/// reaction.
fn write(plan: &Plan, options: &PokeOptions) -> Result<Written> {
    let (width, value) = (plan.width, plan.value);
    let seen_before = plan.located.target.map(|t| t.seen_count);
    test_pause(PAUSE_BEFORE_CHECK_ENV, "before the last frame check");
    let at = last_checks(plan, options)?;
    let old = if plan.reads {
        Some(plan.mem.read(at.paddr, width)?)
    } else {
        None
    };
    test_pause(
        PAUSE_BEFORE_WRITE_ENV,
        "between the last frame check and the store",
    );
    let write_ns = plan.mem.write(at.paddr, width, value)?;
    let readback = if plan.reads {
        Some(plan.mem.read(at.paddr, width)?)
    } else {
        None
    };
    let pinned = at.pin.is_some();
    drop(at.pin);
    test_pause(PAUSE_AFTER_WRITE_ENV, "after the write");
    // A physdemo target's own report that it saw the value proves the write landed; ask it
    // first, since a target with --until exits right after reporting.
    let reaction = match (plan.located.target, seen_before) {
        (Some(t), Some(count)) if old != Some(value) => Some(wait_for_reaction(
            t,
            count,
            value,
            Duration::from_secs_f64(options.wait),
        )),
        _ => None,
    };
    let mut written = Written {
        paddr: at.paddr,
        pfn: at.pfn,
        pinned,
        old,
        readback,
        write_ns,
        reaction,
        moved_after: None,
    };
    written.moved_after = check_after_store(plan, &written)?;
    Ok(written)
}

/// After the store (unless the target reported the value): is the page still at the frame
/// the value went to? If it left, the process's own view decides: it holds the value (and
/// held another before) when the page moved right after the store, taking the value along
/// (`Some(what happened)`); otherwise the value went to a frame that had stopped being the
/// process's, a stale write, which is an error naming that frame and who maps it now.
fn check_after_store(plan: &Plan, written: &Written) -> Result<Option<String>> {
    let (Some(pinned), Some(r)) = (&plan.located.pin, &plan.located.process) else {
        return Ok(None);
    };
    if written.confirmed_by_target() {
        return Ok(None);
    }
    let waited = written.reaction.is_some();
    let what = match after_store(pinned, r.vaddr, written.pfn) {
        AfterStore::InPlace => return Ok(None),
        AfterStore::Left { what } => what,
        AfterStore::Exited { what } => {
            return Err(exited_after_store(plan, written, &what, waited).into())
        }
    };
    let mask = plan.width.max_value();
    let sees = read_through_proc(r.pid, r.vaddr).map(|v| v & mask);
    if written.old != Some(plan.value) && sees == Some(plan.value) {
        return Ok(Some(format!(
            "{what} right after the store, taking the value along (the process reads it)"
        )));
    }
    Err(stale_write(plan, written, &what).into())
}

/// The error for a write that landed in a process that exited right after it: what was
/// written and where, and that it is not to be repeated (exit 7, never 6's "nothing was
/// written").
fn exited_after_store(plan: &Plan, written: &Written, what: &str, waited: bool) -> UserError {
    let vaddr = plan
        .located
        .process
        .as_ref()
        .map_or_else(String::new, |r| format!(", the page of {}", r.vaddr));
    let frame = written
        .pfn
        .map_or_else(|| "?".to_string(), |pfn| pfn.to_string());
    UserError::new(
        ExitKind::WrittenProcessGone,
        format!(
            "the value {} was written to physical {} (frame {frame}{vaddr}), but {what} right after the write, {}",
            plan.width.hex(plan.value),
            written.paddr,
            if waited {
                "without reporting the new value"
            } else {
                "so whether it saw the value cannot be known"
            }
        ),
    )
    .hint("the write was made: do not repeat it; the process's memory went back to the kernel when it exited")
}

/// The error for a stale write: where the value went, and who maps that frame now.
fn stale_write(plan: &Plan, written: &Written, what: &str) -> UserError {
    let (width, value) = (plan.width, plan.value);
    let pid = plan.located.pin.as_ref().map_or(0, |p| p.pid);
    let frame = written
        .pfn
        .map_or_else(|| "?".to_string(), |pfn| pfn.to_string());
    let now = written.pfn.map_or_else(String::new, |pfn| {
        format!("; frame {frame} now: {}", who_maps(pfn))
    });
    UserError::new(
        ExitKind::Failure,
        format!(
            "STALE WRITE: the value {} went to physical {} (frame {frame}), which had stopped \
             being the process's page: {what} between the last check and the store, so pid \
             {pid} never saw the value{now}",
            width.hex(value),
            written.paddr
        ),
    )
    .hint(if written.pinned {
        "the page was pinned, yet the process unmapped or discarded it around the store"
    } else {
        "nothing held the page in place: load physdemo_mem.ko (/dev/physmem) and poke pins it for the write"
    })
}

/// Who maps a frame now, in words (the owner lookup, stopping at its map count).
fn who_maps(pfn: Pfn) -> String {
    let page = PageSize::of_system();
    let found = FrameQuery::read(pfn, 0).and_then(|query| {
        let pids = every_pid()?;
        let scope = SearchScope {
            pids: &pids,
            named: false,
            exhaustive: false,
        };
        Ok((query, search(&query, scope, page, || {})?))
    });
    match found {
        Err(err) => format!("unknown ({err:#})"),
        Ok((query, owners)) if owners.hits.is_empty() => format!(
            "mapped by no process (map count {}, flags {}: free, or the kernel's own)",
            query.map_count,
            display_flags(&query.flags.names())
        ),
        Ok((_, owners)) => owners
            .hits
            .iter()
            .map(|hit| {
                format!(
                    "mapped by pid {} ({}) at {}",
                    hit.pid, hit.command, hit.vaddr
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn display_flags(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(",")
    }
}

/// RAM holds what was stored unless something else stored there at once; a device answers
/// what it decides (edu's 0x04 answers the inverse), which is no error.
fn check_readback(plan: &Plan, written: &Written) -> Result<()> {
    let (width, value) = (plan.width, plan.value);
    match written.readback {
        Some(answer) if answer != value && plan.ram => Err(UserError::new(
            ExitKind::Failure,
            format!(
                "{} read back {} right after {} was written there: something else changed it at once",
                plan.located.paddr,
                width.hex(answer),
                width.hex(value)
            ),
        )
        .hint("the write was made; another CPU or a device's DMA uses this memory, or it is not plain RAM")
        .into()),
        _ => Ok(()),
    }
}

/// The target's report that it saw the value, in `target_reaction`.
#[derive(Debug, Serialize)]
struct ReactionJson {
    seen_value: Hex,
    seen_at_ns: u64,
    latency_ns: u64,
}

/// `poke --json` after a write (keys sorted on output).
#[derive(Debug, Serialize)]
struct WrittenJson {
    paddr: PhysAddr,
    width: u32,
    old: Option<WidthValue>,
    new: WidthValue,
    readback: Option<WidthValue>,
    accesses: Vec<&'static str>,
    write_ns: u64,
    region: RegionJson,
    process: Option<ProcessJson>,
    pci: Option<RegisterJson>,
    /// The kernel symbol (`--symbol`; `null` otherwise).
    symbol: Option<SymbolJson>,
    device: String,
    /// Why /dev/physmem was used instead of /dev/mem (`null` when it was not).
    detour: Option<String>,
    /// `null` when there is no target, it did not react, or nothing changed.
    target_reaction: Option<ReactionJson>,
    /// Whether the page was pinned through /dev/physmem for the store.
    pinned: bool,
    /// What became of the page right after the store, when it left the frame taking the
    /// value along; `null` otherwise.
    moved_after_store: Option<String>,
}

fn written_json(plan: &Plan, written: &Written) -> WrittenJson {
    let width = plan.width;
    let used = DeviceUsed::of(&plan.mem);
    WrittenJson {
        paddr: written.paddr,
        width: width.bits(),
        old: written.old.map(|v| width.value(v)),
        new: width.value(plan.value),
        readback: written.readback.map(|v| width.value(v)),
        accesses: accesses(plan.reads),
        write_ns: written.write_ns,
        region: RegionJson::from(&plan.destination),
        process: ProcessJson::of(&plan.located),
        pci: plan.register.as_ref().map(RegisterJson::from),
        symbol: plan.located.symbol.as_ref().map(SymbolJson::from),
        device: used.device,
        detour: used.detour,
        target_reaction: match written.reaction {
            Some(Reaction::Seen(seen)) => Some(ReactionJson {
                seen_value: Hex(seen.seen_value),
                seen_at_ns: seen.seen_at_ns,
                latency_ns: seen.seen_at_ns.saturating_sub(written.write_ns),
            }),
            _ => None,
        },
        pinned: written.pinned,
        moved_after_store: written.moved_after.clone(),
    }
}

/// Render: the report of a write.
fn render_written(plan: &Plan, options: &PokeOptions, written: &Written) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if options.json {
        write_sorted_json_line(&mut out, &written_json(plan, written))?;
    } else {
        render_written_text(&mut out, plan, options, written)?;
    }
    out.flush()?;
    Ok(())
}

fn render_written_text(
    out: &mut impl Write,
    plan: &Plan,
    options: &PokeOptions,
    written: &Written,
) -> Result<()> {
    let (width, value, located) = (plan.width, plan.value, &plan.located);
    let used = DeviceUsed::of(&plan.mem);
    for line in subject_lines(plan.register.as_ref(), located, &plan.destination) {
        writeln!(out, "{line}")?;
    }
    if let Some(old) = written.old {
        writeln!(out, "{:<10}{}", "old", width.hex(old))?;
    }
    writeln!(
        out,
        "{:<10}{}  ({width} write via {}{})",
        "new",
        width.hex(value),
        used.device,
        written
            .readback
            .map_or_else(String::new, |v| format!("; read back {}", width.hex(v)))
    )?;
    if let Some(via) = used.via_line() {
        writeln!(out, "{via}")?;
    }
    writeln!(
        out,
        "{:<10}{}",
        "accesses",
        describe_accesses(plan.reads, width)
    )?;
    writeln!(
        out,
        "{:<10}CLOCK_MONOTONIC {} ns",
        "written", written.write_ns
    )?;
    render_frame(out, located, written)?;
    render_reaction(out, plan, options, written)?;
    match written.readback {
        Some(answer) if answer != value && !plan.ram => writeln!(
            out,
            "note      a device register need not read back what was written: this one answered {}",
            width.hex(answer)
        )?,
        _ => {}
    }
    Ok(())
}

/// The `frame` lines: the pin, and what became of the frame after the store.
fn render_frame(out: &mut impl Write, located: &Located, written: &Written) -> Result<()> {
    let Some(pfn) = written.pfn else {
        return Ok(());
    };
    if written.pinned {
        let new_frame = if located.pfn() == Some(pfn) {
            String::new()
        } else {
            format!(
                " (a new frame: it was {} when resolved)",
                show_pfn(located.pfn())
            )
        };
        writeln!(
            out,
            "{:<10}{pfn} pinned through /dev/physmem for the write{new_frame}: it could not move, be swapped out or freed",
            "pinned"
        )?;
    }
    if written.confirmed_by_target() {
        writeln!(
            out,
            "{:<10}{pfn}: the target's own report confirms the write landed in its variable",
            "frame"
        )?;
    } else if let Some(moved) = &written.moved_after {
        writeln!(out, "{:<10}{moved}", "frame")?;
    } else {
        writeln!(
            out,
            "{:<10}still frame {pfn} after the write (pagemap re-checked)",
            "frame"
        )?;
    }
    Ok(())
}

fn show_pfn(pfn: Option<Pfn>) -> String {
    pfn.map_or_else(|| "none".to_string(), |p| p.to_string())
}

/// The `target` line: what a physdemo target did after the write.
fn render_reaction(
    out: &mut impl Write,
    plan: &Plan,
    options: &PokeOptions,
    written: &Written,
) -> Result<()> {
    match (plan.located.target, written.reaction) {
        (Some(_), Some(Reaction::Seen(seen))) => writeln!(
            out,
            "{:<10}saw {:#x} at CLOCK_MONOTONIC {} ns: reacted {} after the write",
            "target",
            seen.seen_value,
            seen.seen_at_ns,
            format_latency(seen.seen_at_ns.saturating_sub(written.write_ns))
        )?,
        (Some(_), Some(Reaction::Silent)) => writeln!(
            out,
            "{:<10}did not report {} within {} s (is it stopped, or was the page moved?)",
            "target",
            plan.width.hex(plan.value),
            options.wait
        )?,
        (Some(_), None) => writeln!(
            out,
            "{:<10}the variable already held this value, so the target sees no change",
            "target"
        )?,
        _ => {}
    }
    Ok(())
}

/// `poke --dry-run --json` (keys sorted on output).
#[derive(Debug, Serialize)]
struct DryRunJson {
    dry_run: bool,
    paddr: PhysAddr,
    width: u32,
    value: WidthValue,
    /// The current value: read from RAM only.
    current: Option<WidthValue>,
    /// What the dry run itself read.
    accesses: Vec<&'static str>,
    /// What the poke would do.
    would_access: Vec<&'static str>,
    /// Whether the poke would pin the page through /dev/physmem for the store.
    would_pin: bool,
    region: RegionJson,
    process: Option<ProcessJson>,
    /// The kernel symbol (`--symbol`; `null` otherwise).
    symbol: Option<SymbolJson>,
    device: String,
    /// Why /dev/physmem was used instead of /dev/mem (`null` when it was not).
    detour: Option<String>,
}

/// `poke --dry-run --json`.
fn dry_run_json(plan: &Plan, current: Option<u64>, would_pin: bool) -> DryRunJson {
    let width = plan.width;
    let used = DeviceUsed::of(&plan.mem);
    DryRunJson {
        dry_run: true,
        paddr: plan.located.paddr,
        width: width.bits(),
        value: width.value(plan.value),
        current: current.map(|v| width.value(v)),
        accesses: if current.is_some() {
            vec!["read"]
        } else {
            vec![]
        },
        would_access: accesses(plan.reads),
        would_pin,
        region: RegionJson::from(&plan.destination),
        process: ProcessJson::of(&plan.located),
        symbol: plan.located.symbol.as_ref().map(SymbolJson::from),
        device: used.device,
        detour: used.detour,
    }
}

/// Render: the report of a dry run.
fn render_dry_run(
    plan: &Plan,
    options: &PokeOptions,
    current: Option<u64>,
    would_pin: bool,
) -> Result<()> {
    let (width, located) = (plan.width, &plan.located);
    let mut out = std::io::stdout().lock();
    if options.json {
        write_sorted_json_line(&mut out, &dry_run_json(plan, current, would_pin))?;
        out.flush()?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<10}would write {} ({width}) to physical {} via {}",
        "dry run",
        width.hex(plan.value),
        located.paddr,
        plan.mem.describe()
    )?;
    for line in subject_lines(plan.register.as_ref(), located, &plan.destination) {
        writeln!(out, "{line}")?;
    }
    if let Some(via) = DeviceUsed::of(&plan.mem).via_line() {
        writeln!(out, "{via}")?;
    }
    match current {
        Some(v) => writeln!(out, "{:<10}{}", "current", width.hex(v))?,
        None => writeln!(
            out,
            "{:<10}not read: a dry run reads nothing but RAM",
            "current"
        )?,
    }
    writeln!(
        out,
        "{:<10}{}; the poke would make: {}",
        "accesses",
        if current.is_some() {
            format!("1 read ({width}, the current value)")
        } else {
            "none".to_string()
        },
        describe_accesses(plan.reads, width)
    )?;
    if would_pin {
        writeln!(
            out,
            "{:<10}the page would be pinned through /dev/physmem for the write (it was, and released)",
            "pin"
        )?;
    }
    writeln!(out, "nothing was written (--dry-run)")?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_value_always_changes_the_variable() {
        assert_eq!(default_value(None, Width::W64), DEMO_VALUE);
        assert_eq!(default_value(Some(0x1122), Width::W64), DEMO_VALUE);
        assert_eq!(default_value(Some(DEMO_VALUE), Width::W64), !DEMO_VALUE);
        assert_eq!(default_value(Some(0), Width::W32), 0xcafe_f00d);
        assert_eq!(default_value(Some(0xcafe_f00d), Width::W32), 0x3501_0ff2);
    }
}
