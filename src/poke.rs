//! `physdemo poke` and `physdemo peek`: one value of physical memory, named three ways.
//!
//! A *subject* is the running physdemo target (no arguments), a process's virtual address
//! (`<pid> <vaddr>`), or a raw physical address. The first two resolve exactly as `inspect`
//! does ([`inspect::resolve`]: maps, then pagemap) and never take a physical address from a
//! file or message; the target form also verifies the target's header through
//! `/proc/<pid>/mem` ([`targets::the_only_target`]). A write is checked before anything is
//! touched (alignment, value fits, /proc/iomem region policy), re-checks the pagemap
//! translation right before and right after the store, and, for a physdemo target, waits
//! for the target to report the new value and shows how long it took to react.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::addr::{parse_u64, Pfn, PhysAddr, VirtAddr};
use crate::cli::{DeviceArgs, PeekArgs, PokeArgs};
use crate::error::{refused, usage, UserError};
use crate::inspect::{self, Resolution};
use crate::iomem::{check_write, place_in_system_map, Placement, RegionKind};
use crate::pagemap::PagemapFile;
use crate::pci;
use crate::physmem::{check_alignment, check_value_fits, DeviceOptions, PhysMem, Width};
use crate::process::validate_pid;
use crate::rawmem::layout;
use crate::targets::{self, TargetHeader};

/// What the no-argument `poke` writes, unless the variable already holds it (then its NOT).
pub const DEMO_VALUE: u64 = 0xdead_beef_cafe_f00d;

/// Default width for a process's variable (physdemo targets hold a 64-bit variable).
pub const PROCESS_WIDTH: Width = Width::W64;
/// Default width for a raw physical address, as busybox devmem.
pub const PHYSICAL_WIDTH: Width = Width::W32;

/// What the user named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The one running physdemo target.
    Target,
    Process {
        pid: i32,
        vaddr: VirtAddr,
    },
    Physical(PhysAddr),
}

fn number(text: &str, what: &str) -> Result<u64, UserError> {
    parse_u64(text).map_err(|err| usage(format!("bad {what} '{text}': {err}")))
}

fn pid_arg(text: &str) -> Result<i32> {
    let pid: i64 = text.parse().map_err(|_| {
        usage(format!("bad pid '{text}'")).hint("a pid is a decimal number; see `ps`")
    })?;
    validate_pid(pid)
}

/// `poke` arguments: the subject and the value given positionally (if any).
pub fn parse_poke_args(args: &[String]) -> Result<(Subject, Option<u64>)> {
    match args {
        [] => Ok((Subject::Target, None)),
        [paddr, value] => Ok((
            Subject::Physical(PhysAddr(number(paddr, "physical address")?)),
            Some(number(value, "value")?),
        )),
        [pid, vaddr, value] => Ok((
            Subject::Process {
                pid: pid_arg(pid)?,
                vaddr: VirtAddr(number(vaddr, "virtual address")?),
            },
            Some(number(value, "value")?),
        )),
        _ => Err(
            usage("poke takes no arguments, <paddr> <value>, or <pid> <vaddr> <value>")
                .hint("e.g. `physdemo poke 1234 0x7f3a5c1b2040 0xdeadbeef`")
                .into(),
        ),
    }
}

/// `peek` arguments: the subject.
pub fn parse_peek_args(args: &[String]) -> Result<Subject> {
    match args {
        [] => Ok(Subject::Target),
        [paddr] => Ok(Subject::Physical(PhysAddr(number(
            paddr,
            "physical address",
        )?))),
        [pid, vaddr] => Ok(Subject::Process {
            pid: pid_arg(pid)?,
            vaddr: VirtAddr(number(vaddr, "virtual address")?),
        }),
        _ => Err(usage("peek takes no arguments, <paddr>, or <pid> <vaddr>")
            .hint("e.g. `physdemo peek 1234 0x7f3a5c1b2040`")
            .into()),
    }
}

/// The no-argument value: the demo value, or its NOT when the variable already holds it,
/// cut to the access width.
pub fn default_value(current: Option<u64>, width: Width) -> u64 {
    let demo = DEMO_VALUE & width.max_value();
    if current == Some(demo) {
        !demo & width.max_value()
    } else {
        demo
    }
}

/// A subject resolved to a physical address.
struct Located {
    paddr: PhysAddr,
    process: Option<Resolution>,
    target: Option<TargetHeader>,
}

impl Located {
    fn pfn(&self) -> Option<Pfn> {
        self.process.as_ref().and_then(Resolution::pfn)
    }
}

fn locate(subject: Subject) -> Result<Located> {
    let (pid, vaddr, target) = match subject {
        Subject::Physical(paddr) => {
            return Ok(Located {
                paddr,
                process: None,
                target: None,
            })
        }
        Subject::Target => {
            let header = targets::the_only_target()?;
            (header.pid, header.value_addr, Some(header))
        }
        Subject::Process { pid, vaddr } => {
            let header = targets::read_header(pid, vaddr).ok().flatten();
            (pid, vaddr, header)
        }
    };
    let resolution = inspect::resolve(pid, vaddr)?;
    let paddr = resolution.require_paddr()?;
    Ok(Located {
        paddr,
        process: Some(resolution),
        target,
    })
}

/// Re-reads the frame of the resolved page; `None` when the process or page is gone.
fn current_pfn(resolution: &Resolution) -> Option<Pfn> {
    let pagemap = PagemapFile::open(resolution.pid).ok()?;
    pagemap
        .entry(resolution.page.page_index(resolution.vaddr))
        .ok()?
        .pfn()
}

fn device_options(args: &DeviceArgs) -> DeviceOptions {
    DeviceOptions {
        path: args.device.clone(),
        cached: args.cached,
        method: args.method,
    }
}

/// Reads the variable through /proc/<pid>/mem (the process's own view), for the default value.
fn read_through_proc(pid: i32, vaddr: VirtAddr) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).ok()?;
    let mut bytes = [0u8; 8];
    mem.read_exact_at(&mut bytes, vaddr.0).ok()?;
    Some(u64::from_ne_bytes(bytes))
}

fn region_json(placement: &Placement) -> Value {
    match placement {
        Placement::In { region, .. } => json!({
            "name": region.name,
            "start": format!("{:#x}", region.start),
            "end": format!("{:#x}", region.end),
            "description": placement.describe(),
        }),
        other => json!({ "name": Value::Null, "description": other.describe() }),
    }
}

fn subject_lines(located: &Located, placement: &Placement) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(r) = &located.process {
        let what = if located.target.is_some() {
            "physdemo target"
        } else {
            "process"
        };
        lines.push(format!(
            "{:<10}{what} pid {} ({}), virtual {}",
            "process", r.pid, r.command, r.vaddr
        ));
        lines.push(format!(
            "{:<10}{} (frame {}, offset {:#x}), as `physdemo inspect {} {}` computes",
            "physical",
            located.paddr,
            r.pfn().map_or_else(|| "?".into(), |p| p.to_string()),
            r.page.offset_in_page(r.vaddr.0),
            r.pid,
            r.vaddr
        ));
    } else {
        lines.push(format!("{:<10}{}", "physical", located.paddr));
    }
    lines.push(format!("{:<10}{}", "region", placement.describe()));
    lines
}

fn process_json(located: &Located) -> Value {
    match &located.process {
        Some(r) => json!({
            "pid": r.pid,
            "command": r.command,
            "vaddr": r.vaddr.to_string(),
            "pfn": r.pfn().map(|p| p.to_string()),
            "target": located.target.is_some(),
        }),
        None => Value::Null,
    }
}

/// Runs `physdemo peek`.
pub fn run_peek(args: &PeekArgs) -> Result<()> {
    let register_bytes = args.width.unwrap_or(PHYSICAL_WIDTH).bytes() as u64;
    let (positional, register) = pci::resolve_args(&args.pci, &args.args, 0, register_bytes)?;
    let subject = parse_peek_args(&positional)?;
    let width = args.width.unwrap_or(match subject {
        Subject::Physical(_) => PHYSICAL_WIDTH,
        _ => PROCESS_WIDTH,
    });
    if let Subject::Physical(paddr) = subject {
        check_alignment(paddr, width)?;
    }
    let located = locate(subject)?;
    check_alignment(located.paddr, width)?;
    let placement = place_in_system_map(located.paddr);
    let options = device_options(&args.device);
    let mem = PhysMem::open(&options, false, located.paddr, placement.kind())?;
    let value = mem.read(located.paddr, width)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let object = json!({
            "paddr": located.paddr.to_string(),
            "width": width.bits(),
            "value": width.hex(value),
            "region": region_json(&placement),
            "process": process_json(&located),
            "pci": register.as_ref().map(pci::Register::json),
            "device": options.describe(),
        });
        writeln!(out, "{object}")?;
    } else {
        if let Some(register) = &register {
            writeln!(out, "{:<10}{}", "device", register.describe())?;
        }
        for line in subject_lines(&located, &placement) {
            writeln!(out, "{line}")?;
        }
        writeln!(
            out,
            "{:<10}{}  ({width} read via {})",
            "value",
            width.hex(value),
            options.describe()
        )?;
        if value == 0 && placement.kind() == Some(RegionKind::SystemRam) {
            writeln!(
                out,
                "note      zero: if that is unexpected, a kernel with CONFIG_STRICT_DEVMEM reads RAM as zeros"
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Runs `physdemo poke`.
pub fn run_poke(args: &PokeArgs) -> Result<()> {
    let register_bytes = args.width.unwrap_or(PHYSICAL_WIDTH).bytes() as u64;
    let (positional, register) = pci::resolve_args(&args.pci, &args.args, 1, register_bytes)?;
    let (subject, positional_value) = parse_poke_args(&positional)?;
    if positional_value.is_some() && args.value.is_some() {
        return Err(usage("--value is for the no-argument form only")
            .hint("give the value as the last argument instead")
            .into());
    }
    let width = args.width.unwrap_or(match subject {
        Subject::Physical(_) => PHYSICAL_WIDTH,
        _ => PROCESS_WIDTH,
    });
    // Refuse what is malformed before resolving or touching anything.
    if let Some(value) = positional_value.or(args.value) {
        check_value_fits(value, width)?;
    }
    if let Subject::Physical(paddr) = subject {
        check_alignment(paddr, width)?;
    }
    let located = locate(subject)?;
    check_alignment(located.paddr, width)?;
    let value = match positional_value.or(args.value) {
        Some(value) => value,
        None => {
            let current = located
                .process
                .as_ref()
                .and_then(|r| read_through_proc(r.pid, r.vaddr))
                .map(|v| v & width.max_value());
            default_value(current, width)
        }
    };
    let placement = place_in_system_map(located.paddr);
    check_write(located.paddr, &placement, args.write.force)?;
    let options = device_options(&args.device);

    if args.write.dry_run {
        return report_dry_run(args, &located, &placement, &options, width, value);
    }

    let mem = PhysMem::open(&options, true, located.paddr, placement.kind())?;
    if let Some(r) = &located.process {
        check_frame(r, located.pfn(), "before")?;
    }
    let seen_before = located.target.map(|t| t.seen_count);
    let old = mem.read(located.paddr, width)?;
    let write_ns = mem.write(located.paddr, width, value)?;
    let readback = mem.read(located.paddr, width)?;
    // A physdemo target's own report that it saw the value proves the write landed; ask it
    // first, since a target with --until exits right after reporting.
    let reaction = match (located.target, seen_before) {
        (Some(t), Some(count)) if old != value => Some(wait_for_target(
            t,
            count,
            value,
            Duration::from_secs_f64(args.wait),
        )),
        _ => None,
    };
    let confirmed_by_target = matches!(reaction, Some(Reaction::Seen(_)));
    if let (Some(r), false) = (&located.process, confirmed_by_target) {
        check_frame(r, located.pfn(), "after").with_context(|| {
            format!(
                "the value {} was written to {}",
                width.hex(value),
                located.paddr
            )
        })?;
    }

    let mut out = std::io::stdout().lock();
    if args.json {
        let object = json!({
            "paddr": located.paddr.to_string(),
            "width": width.bits(),
            "old": width.hex(old),
            "new": width.hex(value),
            "readback": width.hex(readback),
            "write_ns": write_ns,
            "region": region_json(&placement),
            "process": process_json(&located),
            "pci": register.as_ref().map(pci::Register::json),
            "device": options.describe(),
            "target_reaction": reaction.map(|r| match r {
                Reaction::Seen(seen) => json!({
                    "seen_value": format!("{:#x}", seen.seen_value),
                    "seen_at_ns": seen.seen_at_ns,
                    "latency_ns": seen.seen_at_ns.saturating_sub(write_ns),
                }),
                Reaction::Silent => Value::Null,
            }),
        });
        writeln!(out, "{object}")?;
    } else {
        if let Some(register) = &register {
            writeln!(out, "{:<10}{}", "device", register.describe())?;
        }
        for line in subject_lines(&located, &placement) {
            writeln!(out, "{line}")?;
        }
        writeln!(out, "{:<10}{}", "old", width.hex(old))?;
        writeln!(
            out,
            "{:<10}{}  ({width} write via {}; read back {})",
            "new",
            width.hex(value),
            options.describe(),
            width.hex(readback)
        )?;
        writeln!(out, "{:<10}CLOCK_MONOTONIC {write_ns} ns", "written")?;
        match located.pfn() {
            Some(pfn) if confirmed_by_target => writeln!(
                out,
                "{:<10}{pfn}: the target's own report confirms the write landed in its variable",
                "frame"
            )?,
            Some(pfn) => writeln!(
                out,
                "{:<10}still frame {pfn} after the write (pagemap re-checked)",
                "frame"
            )?,
            None => {}
        }
        match (located.target, reaction) {
            (Some(_), Some(Reaction::Seen(seen))) => writeln!(
                out,
                "{:<10}saw {:#x} at CLOCK_MONOTONIC {} ns: reacted {} after the write",
                "target",
                seen.seen_value,
                seen.seen_at_ns,
                format_latency(seen.seen_at_ns.saturating_sub(write_ns))
            )?,
            (Some(_), Some(Reaction::Silent)) => writeln!(
                out,
                "{:<10}did not report {} within {} s (is it stopped, or was the page moved?)",
                "target",
                width.hex(value),
                args.wait
            )?,
            (Some(_), None) => writeln!(
                out,
                "{:<10}the variable already held this value, so the target sees no change",
                "target"
            )?,
            _ => {}
        }
    }
    if register.is_some() && readback != value && !args.json {
        writeln!(
            out,
            "note      a device register need not read back what was written: this one answered {}",
            width.hex(readback)
        )?;
    }
    out.flush()?;
    // A device register may answer anything (the edu device's 0x04 answers the inverse).
    if readback != value && register.is_none() {
        return Err(refused(format!(
            "read back {} after writing {} to {}",
            width.hex(readback),
            width.hex(value),
            located.paddr
        ))
        .hint("the location changed again at once, or it is a device register, not memory")
        .into());
    }
    Ok(())
}

fn report_dry_run(
    args: &PokeArgs,
    located: &Located,
    placement: &Placement,
    options: &DeviceOptions,
    width: Width,
    value: u64,
) -> Result<()> {
    // Reading is harmless; show the current value when the device lets us.
    let current = PhysMem::open(options, false, located.paddr, placement.kind())
        .and_then(|mem| mem.read(located.paddr, width))
        .map_err(|err| format!("{err:#}"));
    let mut out = std::io::stdout().lock();
    if args.json {
        let object = json!({
            "dry_run": true,
            "paddr": located.paddr.to_string(),
            "width": width.bits(),
            "value": width.hex(value),
            "current": current.as_ref().ok().map(|v| width.hex(*v)),
            "region": region_json(placement),
            "process": process_json(located),
            "device": options.describe(),
        });
        writeln!(out, "{object}")?;
    } else {
        writeln!(
            out,
            "{:<10}would write {} ({width}) to physical {} via {}",
            "dry run",
            width.hex(value),
            located.paddr,
            options.describe()
        )?;
        for line in subject_lines(located, placement) {
            writeln!(out, "{line}")?;
        }
        match &current {
            Ok(v) => writeln!(out, "{:<10}{}", "current", width.hex(*v))?,
            Err(why) => writeln!(out, "{:<10}unknown: {why}", "current")?,
        }
        writeln!(out, "nothing was written (--dry-run)")?;
    }
    out.flush()?;
    Ok(())
}

/// Fails unless the process's page is still at `expected`.
fn check_frame(resolution: &Resolution, expected: Option<Pfn>, when: &str) -> Result<()> {
    let now = current_pfn(resolution);
    if now == expected {
        return Ok(());
    }
    let (pid, vaddr) = (resolution.pid, resolution.vaddr);
    let show = |p: Option<Pfn>| p.map_or_else(|| "none".to_string(), |p| p.to_string());
    let what = if std::path::Path::new(&format!("/proc/{pid}")).exists() {
        format!(
            "the page of {vaddr} in pid {pid} moved from frame {} to {}",
            show(expected),
            show(now)
        )
    } else {
        format!("pid {pid} exited")
    };
    let outcome = if when == "before" {
        "nothing was written"
    } else {
        "so the process did not see the write"
    };
    Err(refused(format!("{what} {when} the write; {outcome}"))
        .hint("run the command again (the page migrated, was swapped, or the process exited)")
        .into())
}

/// What the target did after the write.
#[derive(Debug, Clone, Copy)]
enum Reaction {
    /// It reported the new value (header as read then).
    Seen(TargetHeader),
    /// It did not report the value in time, or exited first.
    Silent,
}

/// Polls the target's header until it reports `value` as a change newer than
/// `seen_before`, or `wait` passes, or the target exits. `/proc/<pid>/mem` is opened once
/// and read in a tight loop: a target with `--until` exits within microseconds of reporting.
fn wait_for_target(target: TargetHeader, seen_before: u64, value: u64, wait: Duration) -> Reaction {
    use std::os::unix::fs::FileExt;
    let Ok(mem) = std::fs::File::open(format!("/proc/{}/mem", target.pid)) else {
        return Reaction::Silent;
    };
    let page_addr = target.value_addr.0.saturating_sub(layout::VALUE as u64);
    let mut bytes = [0u8; layout::HEADER_LEN];
    let deadline = Instant::now() + wait;
    let spin_until = Instant::now() + Duration::from_millis(50);
    loop {
        if mem.read_exact_at(&mut bytes, page_addr).is_err() {
            return Reaction::Silent; // gone: the frame re-check says so
        }
        if let Some(header) = targets::decode_header(&bytes, target.pid, page_addr) {
            if header.seen_count > seen_before && header.seen_value == value {
                return Reaction::Seen(header);
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Reaction::Silent;
        }
        if now < spin_until {
            std::hint::spin_loop();
        } else {
            std::thread::sleep(Duration::from_micros(20));
        }
    }
}

/// A latency in the unit that reads best: ns, µs or ms.
pub fn format_latency(ns: u64) -> String {
    if ns < 1_000 {
        format!("{ns} ns")
    } else if ns < 1_000_000 {
        format!("{:.1} µs", ns as f64 / 1e3)
    } else {
        format!("{:.3} ms", ns as f64 / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tells_the_forms_apart_by_argument_count() {
        assert_eq!(parse_poke_args(&[]).unwrap(), (Subject::Target, None));
        assert_eq!(
            parse_poke_args(&strings(&["0x1000", "0xab"])).unwrap(),
            (Subject::Physical(PhysAddr(0x1000)), Some(0xab))
        );
        assert_eq!(
            parse_poke_args(&strings(&["42", "0x7f00", "7"])).unwrap(),
            (
                Subject::Process {
                    pid: 42,
                    vaddr: VirtAddr(0x7f00)
                },
                Some(7)
            )
        );
        assert!(parse_poke_args(&strings(&["0x1000"])).is_err());
        assert!(parse_poke_args(&strings(&["x", "1", "2"])).is_err());
        assert!(parse_poke_args(&strings(&["0", "1", "2"])).is_err());
        assert!(parse_poke_args(&strings(&["0x1000", "zz"])).is_err());
        assert_eq!(parse_peek_args(&[]).unwrap(), Subject::Target);
        assert_eq!(
            parse_peek_args(&strings(&["4096"])).unwrap(),
            Subject::Physical(PhysAddr(4096))
        );
        assert!(parse_peek_args(&strings(&["1", "2", "3"])).is_err());
    }

    #[test]
    fn the_default_value_always_changes_the_variable() {
        assert_eq!(default_value(None, Width::W64), DEMO_VALUE);
        assert_eq!(default_value(Some(0x1122), Width::W64), DEMO_VALUE);
        assert_eq!(default_value(Some(DEMO_VALUE), Width::W64), !DEMO_VALUE);
        assert_eq!(default_value(Some(0), Width::W32), 0xcafe_f00d);
        assert_eq!(default_value(Some(0xcafe_f00d), Width::W32), 0x3501_0ff2);
    }

    #[test]
    fn latencies_read_well() {
        assert_eq!(format_latency(950), "950 ns");
        assert_eq!(format_latency(12_345), "12.3 µs");
        assert_eq!(format_latency(2_500_000), "2.500 ms");
    }
}
