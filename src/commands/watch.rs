// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo watch`: read one value (or a `--len` range) of physical memory every
//! `--interval`, named as `peek` names it, and print each change with its CLOCK_MONOTONIC
//! time, old -> new (a range as the `hexdump -C` lines holding a change, the changed bytes
//! marked, [`crate::render::watch`]); until `--count` changes, `--until` a value, or
//! SIGINT/SIGTERM, then a summary: changes, their rate, the duration, the reads made.
//!
//! It never writes. Every read goes through [`PhysMem`], one open device for the whole
//! watch. Outside RAM each poll is a read of a device register, which may act on it (a
//! status cleared by reading, a FIFO): watching there needs an explicit `--width`, and
//! stderr says once what each poll does. For a process (and the target), the page's frame
//! is checked in the pinned process's pagemap after each read: a read from a frame the
//! page has left is dropped, the move is reported and the new frame read from then on;
//! a page that left RAM is waited for, a process that exited ends the watch.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use crate::commands::dump::check_load_range;
use crate::commands::target::stop_flag;
use crate::error::{not_found, usage, UserError};
use crate::kernel::addr::{PageSize, Pfn, PhysAddr};
use crate::physmem::access::PhysMem;
use crate::physmem::device::DeviceOptions;
use crate::physmem::width::{check_alignment, check_value_fits, Width, WidthValue};
use crate::proc::pin::PageNow;
use crate::render::device::DeviceUsed;
use crate::render::hexdump::HexDumper;
use crate::render::json::write_json_line;
use crate::render::subject::{subject_lines, ProcessJson, RegionJson, RegisterJson};
use crate::render::watch::{changed_bytes, changed_runs, hex_string, marked_lines, RunJson};
use crate::resolve::destination::Destination;
use crate::resolve::register::Register;
use crate::resolve::subject::{check_reference_alignment, locate, Located, Subject};
use crate::sys::clock::monotonic_ns;

/// What `watch` was asked.
#[derive(Debug, Clone)]
pub(crate) struct WatchOptions {
    pub(crate) subject: Subject,
    /// The value's width (with `len`: the width of each load); `None`: the subject's default.
    pub(crate) width: Option<Width>,
    /// A range of this many bytes instead of one value.
    pub(crate) len: Option<u64>,
    pub(crate) interval: Duration,
    pub(crate) count: Option<u64>,
    pub(crate) until: Option<u64>,
    pub(crate) json: bool,
    pub(crate) device: DeviceOptions,
}

/// What each poll reads: one value, or a range of bytes (in loads of `words` when given).
#[derive(Debug, Clone, Copy)]
enum Shape {
    Value(Width),
    Range { len: u64, words: Option<Width> },
}

impl Shape {
    fn bytes(self) -> u64 {
        match self {
            Shape::Value(width) => width.bytes() as u64,
            Shape::Range { len, .. } => len,
        }
    }
}

/// What one poll read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reading {
    Value(u64),
    Bytes(Vec<u8>),
}

/// Everything resolved before the first read, and where the reads go now.
struct Watched {
    located: Located,
    register: Option<Register>,
    destination: Destination,
    shape: Shape,
    mem: PhysMem,
    /// Where the reads go now: the subject's address, or where its page moved.
    paddr: PhysAddr,
    /// For a process, its page's frame now (`None` while the page is not in RAM).
    pfn: Option<Pfn>,
    /// Not RAM: each poll reads a device register.
    device: bool,
}

/// Why the watch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stop {
    Count,
    Until,
    Signal,
    /// The watched process exited: why, in words.
    Exited(String),
}

impl Stop {
    fn name(&self) -> &'static str {
        match self {
            Stop::Count => "count",
            Stop::Until => "until",
            Stop::Signal => "signal",
            Stop::Exited(_) => "exited",
        }
    }

    /// The reason in words, for the text summary.
    fn describe(&self) -> &'static str {
        match self {
            Stop::Count => "--count",
            Stop::Until => "--until",
            Stop::Signal => "SIGINT or SIGTERM",
            Stop::Exited(_) => "the process's exit",
        }
    }
}

/// `watch --json`: one object per line, its kind in `"event"`.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum WatchEvent {
    /// The first read, and what was resolved.
    Start {
        paddr: PhysAddr,
        /// The value's width in bits, or with `len` the width of each load (`null`: bytes).
        width: Option<u32>,
        /// The range's length in bytes (`null` for one value).
        len: Option<u64>,
        interval_s: f64,
        monotonic_ns: u64,
        value: Option<WidthValue>,
        /// The range's bytes as hex digits (`null` for one value).
        bytes: Option<String>,
        /// Not RAM: each poll reads a device register.
        reads_device: bool,
        region: Box<RegionJson>,
        process: Option<ProcessJson>,
        pci: Option<RegisterJson>,
        device: String,
        detour: Option<String>,
    },
    /// A read that differs from the one before.
    Change {
        /// 1 for the first change, and so on.
        change: u64,
        monotonic_ns: u64,
        elapsed_s: f64,
        paddr: PhysAddr,
        old: Option<WidthValue>,
        new: Option<WidthValue>,
        /// A range's changed bytes, run by run (`null` for one value).
        runs: Option<Vec<RunJson>>,
    },
    /// A process's page left its frame (`new_pfn` `null`: it is not in RAM now).
    Moved {
        monotonic_ns: u64,
        elapsed_s: f64,
        what: String,
        old_pfn: Option<Pfn>,
        new_pfn: Option<Pfn>,
        paddr: Option<PhysAddr>,
    },
    /// At the end: why, and the changes seen.
    Summary {
        reason: &'static str,
        changes: u64,
        reads: u64,
        duration_s: f64,
        per_second: f64,
    },
}

/// Counts kept while watching.
struct Tally {
    started_ns: u64,
    changes: u64,
    reads: u64,
}

impl Tally {
    fn elapsed_s(&self, at_ns: u64) -> f64 {
        at_ns.saturating_sub(self.started_ns) as f64 / 1e9
    }
}

/// Runs `physdemo watch`.
pub(crate) fn run(options: &WatchOptions) -> Result<()> {
    let mut watched = prepare(options)?;
    let stop = stop_flag()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let first = read(&watched)?;
    let mut tally = Tally {
        started_ns: monotonic_ns(),
        changes: 0,
        reads: 1,
    };
    if watched.device {
        eprintln!("{}", device_note(&watched, options.interval));
    }
    render_start(&mut out, options, &watched, &first, tally.started_ns)?;
    let reason = watch_loop(&mut watched, options, &stop, first, &mut tally, &mut out)?;
    render_summary(&mut out, options.json, &reason, &tally)?;
    out.flush()?;
    if let Some(note) = DeviceUsed::of(&watched.mem).note() {
        eprintln!("{note}");
    }
    match reason {
        Stop::Exited(what) => Err(not_found(format!("{what} while it was watched"))
            .hint("watch a running process")
            .into()),
        _ => Ok(()),
    }
}

/// Gather: the shape, the subject resolved and its checks, the device opened.
fn prepare(options: &WatchOptions) -> Result<Watched> {
    let fallback = options.subject.default_width();
    let asked = options
        .len
        .unwrap_or(options.width.unwrap_or(fallback).bytes() as u64);
    let named = options.subject.clone().into_named(asked)?;
    let shape = match options.len {
        Some(len) => Shape::Range {
            len,
            words: options.width,
        },
        None => Shape::Value(named.width(options.width, fallback)),
    };
    check_until(options.until, shape)?;
    let (reference, register) = (named.reference, named.register);
    if let Shape::Value(width) = shape {
        check_reference_alignment(reference, width)?;
    }
    let mut located = locate(reference)?;
    located.symbol = named.symbol;
    check_in_page(&located, shape)?;
    let destination = Destination::of(located.paddr);
    let device = !destination.is_ram(register.as_ref());
    if device && options.width.is_none() {
        return Err(needs_width(located.paddr, &destination).into());
    }
    match shape {
        Shape::Value(width) => check_alignment(located.paddr, width)?,
        Shape::Range {
            len,
            words: Some(width),
        } => check_load_range(located.paddr, len, width, "--width")?,
        Shape::Range { .. } => {}
    }
    let mem = PhysMem::open(&options.device, false, located.paddr)?;
    mem.check_reachable(located.paddr, shape.bytes())?;
    Ok(Watched {
        paddr: located.paddr,
        pfn: located.pfn(),
        located,
        register,
        destination,
        shape,
        mem,
        device,
    })
}

/// `--until` is a value of the watched width, never a range's.
fn check_until(until: Option<u64>, shape: Shape) -> Result<(), UserError> {
    match (until, shape) {
        (Some(_), Shape::Range { .. }) => Err(usage("--until stops at a value, not a --len range")
            .hint("drop --len, or stop with --count or Ctrl-C")),
        (Some(value), Shape::Value(width)) => check_value_fits(value, width),
        (None, _) => Ok(()),
    }
}

/// A process's range stays within the page holding its start (the next page of the
/// process can be anywhere in physical memory).
fn check_in_page(located: &Located, shape: Shape) -> Result<(), UserError> {
    let Some(resolution) = &located.process else {
        return Ok(());
    };
    let page = PageSize::of_system();
    let room = page.bytes() - page.offset_in_page(resolution.vaddr.0);
    if shape.bytes() <= room {
        return Ok(());
    }
    Err(usage(format!(
        "{} bytes from {} run past its page: only {room} bytes of pid {}'s page are at {}",
        shape.bytes(),
        resolution.vaddr,
        resolution.pid,
        located.paddr
    ))
    .hint(format!(
        "give --len {room} or less, and watch the next page on its own"
    )))
}

/// Outside RAM, a read is an access to a device, which may act on it: refused unless the
/// width is given.
fn needs_width(paddr: PhysAddr, destination: &Destination) -> UserError {
    usage(format!(
        "{paddr} is not RAM ({}): each poll would read a device register, which a read can change",
        destination.placement.describe()
    ))
    .hint("give the register's width with --width 8, 16, 32 or 64 to watch it anyway")
}

/// What each poll does to a device, said once on stderr.
fn device_note(watched: &Watched, interval: Duration) -> String {
    let what = match watched.shape {
        Shape::Value(width) => format!("one {width} read of {}", watched.paddr),
        Shape::Range { len, words } => format!(
            "{} {} reads from {}",
            len / words.map_or(1, |w| w.bytes() as u64),
            words.map_or_else(|| "byte".to_string(), |w| w.to_string()),
            watched.paddr
        ),
    };
    format!(
        "physdemo: watch: {} is not RAM: each poll, every {interval:?}, is {what}, an access the device sees (a register that acts on reads changes by being watched)",
        watched.paddr
    )
}

/// One poll's read at the current address.
fn read(watched: &Watched) -> Result<Reading> {
    let paddr = watched.paddr;
    Ok(match watched.shape {
        Shape::Value(width) => Reading::Value(watched.mem.read(paddr, width)?),
        Shape::Range { len, words } => {
            let mut bytes = vec![0u8; len as usize];
            match words {
                Some(width) => watched.mem.read_words_into(paddr, width, &mut bytes),
                None => watched.mem.read_into(paddr, &mut bytes),
            }
            .map_err(|stop| stop.error)?;
            Reading::Bytes(bytes)
        }
    })
}

/// What the pagemap says of a process's page after a read.
enum Frame {
    /// Where it was: the read stands.
    Same,
    /// It moved, or left RAM (`None`), or came back: the read is dropped.
    Moved(Option<Pfn>, String),
    /// The process is gone.
    Exited(String),
}

/// Checks a process's page in its pinned pagemap (the same process, by its start time).
fn check_frame(watched: &Watched) -> Frame {
    let (Some(pin), Some(resolution)) = (&watched.located.pin, &watched.located.process) else {
        return Frame::Same;
    };
    let (pid, vaddr) = (resolution.pid, resolution.vaddr);
    let entry = match pin.now() {
        PageNow::Entry(entry) => entry,
        PageNow::Exited { reused } => {
            let again = if reused {
                " (its pid now names another)"
            } else {
                ""
            };
            return Frame::Exited(format!("pid {pid} exited{again}"));
        }
    };
    let now = entry.pfn().filter(|_| entry.present());
    if now == watched.pfn {
        return Frame::Same;
    }
    let show = |pfn: Option<Pfn>| pfn.map_or_else(|| "none".to_string(), |p| p.to_string());
    let what = match now {
        Some(_) => format!(
            "the page of {vaddr} in pid {pid} moved from frame {} to {}",
            show(watched.pfn),
            show(now)
        ),
        None if entry.swapped() => format!(
            "the page of {vaddr} in pid {pid} left frame {}: swapped out, or being migrated",
            show(watched.pfn)
        ),
        None => format!("the page of {vaddr} in pid {pid} is not in RAM now"),
    };
    Frame::Moved(now, what)
}

/// Follows the page to `pfn`: the reads go there from now on.
fn follow(watched: &mut Watched, pfn: Option<Pfn>) {
    watched.pfn = pfn;
    if let (Some(pfn), Some(resolution)) = (pfn, &watched.located.process) {
        let page = PageSize::of_system();
        if let Some(paddr) = page.phys_addr(pfn, page.offset_in_page(resolution.vaddr.0)) {
            watched.paddr = paddr;
        }
    }
}

/// Sleeps until `next` (in slices, so that a signal is seen at once); false on a signal.
fn wait_until(next: Instant, stop: &AtomicBool) -> bool {
    const SLICE: Duration = Duration::from_millis(20);
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= next {
            return true;
        }
        std::thread::sleep((next - now).min(SLICE));
    }
}

/// Polls until `--count`, `--until`, a signal or the process's exit, reporting each change
/// and each move of the page.
fn watch_loop(
    watched: &mut Watched,
    options: &WatchOptions,
    stop: &AtomicBool,
    first: Reading,
    tally: &mut Tally,
    out: &mut impl Write,
) -> Result<Stop> {
    let mut last = first;
    let mut next = Instant::now();
    loop {
        if reached_until(options.until, &last) {
            return Ok(Stop::Until);
        }
        // Fixed rate: a late poll does not push the later ones back, nor bunch them up.
        next = (next + options.interval).max(Instant::now());
        if !wait_until(next, stop) {
            return Ok(Stop::Signal);
        }
        let reading = match watched.pfn.is_some() || watched.located.pin.is_none() {
            true => Some(read(watched)?),
            false => None,
        };
        match check_frame(watched) {
            Frame::Same => {}
            Frame::Exited(what) => return Ok(Stop::Exited(what)),
            Frame::Moved(pfn, what) => {
                render_moved(out, options.json, watched, pfn, what, tally)?;
                follow(watched, pfn);
                continue;
            }
        }
        let Some(reading) = reading else { continue };
        tally.reads += 1;
        if reading != last {
            tally.changes += 1;
            render_change(out, options.json, watched, &last, &reading, tally)?;
            last = reading;
            if options.count.is_some_and(|n| tally.changes >= n) {
                return Ok(Stop::Count);
            }
        }
    }
}

fn reached_until(until: Option<u64>, reading: &Reading) -> bool {
    matches!((until, reading), (Some(until), Reading::Value(value)) if until == *value)
}

fn render_start(
    out: &mut impl Write,
    options: &WatchOptions,
    watched: &Watched,
    first: &Reading,
    at_ns: u64,
) -> Result<()> {
    let used = DeviceUsed::of(&watched.mem);
    let (width, len) = match watched.shape {
        Shape::Value(width) => (Some(width), None),
        Shape::Range { len, words } => (words, Some(len)),
    };
    if options.json {
        let start = WatchEvent::Start {
            paddr: watched.paddr,
            width: width.map(Width::bits),
            len,
            interval_s: options.interval.as_secs_f64(),
            monotonic_ns: at_ns,
            value: value_of(watched.shape, first),
            bytes: bytes_of(first).map(hex_string),
            reads_device: watched.device,
            region: Box::new(RegionJson::from(&watched.destination)),
            process: ProcessJson::of(&watched.located),
            pci: watched.register.as_ref().map(RegisterJson::from),
            device: used.device,
            detour: used.detour,
        };
        return write_json_line(out, &start);
    }
    let reg = watched.register.as_ref();
    for line in subject_lines(reg, &watched.located, &watched.destination) {
        writeln!(out, "{line}")?;
    }
    if let Some(via) = used.via_line() {
        writeln!(out, "{via}")?;
    }
    let what = match watched.shape {
        Shape::Value(width) => format!("{width} value"),
        Shape::Range { len, .. } => format!("{len} bytes"),
    };
    writeln!(
        out,
        "{:<10}{what} every {:?} via {} (Ctrl-C to stop)",
        "watching", options.interval, used.device
    )?;
    render_first(out, watched, first, at_ns)
}

/// A value as its width prints it (a value is read only for a `Shape::Value`; 64 bits
/// otherwise, which never happens).
fn value_words(shape: Shape, value: u64) -> String {
    match shape {
        Shape::Value(width) => width.hex(value),
        Shape::Range { .. } => Width::W64.hex(value),
    }
}

/// The first read, in text: the value, or the range as `hexdump -C` prints it.
fn render_first(
    out: &mut impl Write,
    watched: &Watched,
    first: &Reading,
    at_ns: u64,
) -> Result<()> {
    match first {
        Reading::Value(value) => writeln!(
            out,
            "{}{}  (first read, CLOCK_MONOTONIC {at_ns} ns)",
            stamp(0.0),
            value_words(watched.shape, *value)
        )?,
        Reading::Bytes(bytes) => {
            writeln!(
                out,
                "{}first read  (CLOCK_MONOTONIC {at_ns} ns)",
                stamp(0.0)
            )?;
            let mut dumper = HexDumper::new(watched.paddr.0, true);
            dumper.push(bytes, out)?;
            dumper.finish(out)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `[    1.234567 s] `: the seconds since the first read, as `target` prints them.
fn stamp(elapsed_s: f64) -> String {
    format!("[{elapsed_s:>12.6} s] ")
}

fn value_of(shape: Shape, reading: &Reading) -> Option<WidthValue> {
    match (shape, reading) {
        (Shape::Value(width), Reading::Value(value)) => Some(width.value(*value)),
        _ => None,
    }
}

fn bytes_of(reading: &Reading) -> Option<&[u8]> {
    match reading {
        Reading::Bytes(bytes) => Some(bytes),
        Reading::Value(_) => None,
    }
}

fn render_change(
    out: &mut impl Write,
    json: bool,
    watched: &Watched,
    old: &Reading,
    new: &Reading,
    tally: &Tally,
) -> Result<()> {
    let at_ns = monotonic_ns();
    let elapsed_s = tally.elapsed_s(at_ns);
    let bytes = bytes_of(old).zip(bytes_of(new));
    let runs = bytes.map(|(old, new)| changed_runs(old, new));
    if json {
        let change = WatchEvent::Change {
            change: tally.changes,
            monotonic_ns: at_ns,
            elapsed_s,
            paddr: watched.paddr,
            old: value_of(watched.shape, old),
            new: value_of(watched.shape, new),
            runs: runs.as_ref().zip(bytes).map(|(runs, (old, new))| {
                let at = watched.paddr;
                runs.iter()
                    .map(|&run| RunJson::of(run, at, old, new))
                    .collect()
            }),
        };
        write_json_line(out, &change)?;
    } else if let (Some(runs), Some((old, new))) = (&runs, bytes) {
        let n = changed_bytes(runs);
        let s = if n == 1 { "" } else { "s" };
        writeln!(
            out,
            "{}{n} byte{s} changed  (CLOCK_MONOTONIC {at_ns} ns)",
            stamp(elapsed_s)
        )?;
        for line in marked_lines(watched.paddr.0, old, new) {
            writeln!(out, "{line}")?;
        }
    } else {
        let (old, new) = (value_of(watched.shape, old), value_of(watched.shape, new));
        let show = |v: Option<WidthValue>| v.map(|v| v.to_string()).unwrap_or_default();
        writeln!(
            out,
            "{}{} -> {}  (CLOCK_MONOTONIC {at_ns} ns)",
            stamp(elapsed_s),
            show(old),
            show(new)
        )?;
    }
    out.flush()?;
    Ok(())
}

fn render_moved(
    out: &mut impl Write,
    json: bool,
    watched: &Watched,
    pfn: Option<Pfn>,
    what: String,
    tally: &Tally,
) -> Result<()> {
    let at_ns = monotonic_ns();
    let elapsed_s = tally.elapsed_s(at_ns);
    let page = PageSize::of_system();
    let offset = page.offset_in_page(watched.paddr.0);
    let paddr = pfn.and_then(|pfn| page.phys_addr(pfn, offset));
    if json {
        let moved = WatchEvent::Moved {
            monotonic_ns: at_ns,
            elapsed_s,
            what,
            old_pfn: watched.pfn,
            new_pfn: pfn,
            paddr,
        };
        write_json_line(out, &moved)?;
    } else {
        let then = match paddr {
            Some(paddr) => format!("; reading {paddr} from now on"),
            None => "; waiting for it to come back".to_string(),
        };
        writeln!(
            out,
            "{}{what}{then}  (CLOCK_MONOTONIC {at_ns} ns)",
            stamp(elapsed_s)
        )?;
    }
    out.flush()?;
    Ok(())
}

fn render_summary(out: &mut impl Write, json: bool, reason: &Stop, tally: &Tally) -> Result<()> {
    let duration_s = tally.elapsed_s(monotonic_ns());
    let per_second = if duration_s > 0.0 {
        tally.changes as f64 / duration_s
    } else {
        0.0
    };
    if json {
        let summary = WatchEvent::Summary {
            reason: reason.name(),
            changes: tally.changes,
            reads: tally.reads,
            duration_s,
            per_second,
        };
        return write_json_line(out, &summary);
    }
    let s = if tally.changes == 1 { "" } else { "s" };
    writeln!(
        out,
        "{:<10}{} change{s} in {duration_s:.3} s, {per_second:.2} per second ({} reads; stopped by {})",
        "summary",
        tally.changes,
        tally.reads,
        reason.describe()
    )?;
    Ok(())
}
