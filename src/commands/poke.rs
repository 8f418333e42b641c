//! `physdemo poke`: write one value of physical memory, named as `peek` names it.
//!
//! A write is checked before anything is touched (alignment, value fits, the /proc/iomem
//! region policy, PCI configuration space), re-checks the pagemap translation right before
//! and right after the store, and, for a physdemo target, waits for the target to report the
//! new value and shows how long it took to react. A device gets exactly the one store (no
//! read unless `--read-back`: a read can have side effects); RAM is read before and after.
//! `--dry-run` goes through every check and opens and maps the device as the write would,
//! and stops short of the store.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::cli::convert::parse_poke_args;
use crate::cli::PokeArgs;
use crate::error::{refused, usage, ExitKind, UserError};
use crate::kernel::addr::{Pfn, VirtAddr};
use crate::kernel::pagemap::PagemapEntry;
use crate::physmem::access::PhysMem;
use crate::physmem::device::DeviceOptions;
use crate::physmem::policy::{check_config_space_write, check_region_write};
use crate::physmem::width::{check_alignment, check_value_fits, Width};
use crate::proc::pin::{PageNow, Pinned};
use crate::proc::target_process::{wait_for_reaction, Reaction};
use crate::render::subject::{process_json, subject_lines};
use crate::render::units::format_latency;
use crate::resolve::destination::Destination;
use crate::resolve::register::{self, Register};
use crate::resolve::subject::{
    check_subject_alignment, locate, Located, Subject, PHYSICAL_WIDTH, PROCESS_WIDTH,
};
use crate::resolve::translate::Resolution;

/// What the no-argument `poke` writes, unless the variable already holds it (then its NOT).
pub const DEMO_VALUE: u64 = 0xdead_beef_cafe_f00d;

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

/// Hidden test hooks: milliseconds to sleep right before the pre-write frame check, and
/// right after the write (before the target's reaction and the post-write check). Honoured
/// only when set, so that a test can kill or replace the process, or move its page, inside
/// the window (demos/stress/races.sh). Each pause announces itself on stderr.
pub const PAUSE_BEFORE_WRITE_ENV: &str = "PHYSDEMO_TEST_PAUSE_BEFORE_WRITE_MS";
pub const PAUSE_AFTER_WRITE_ENV: &str = "PHYSDEMO_TEST_PAUSE_AFTER_WRITE_MS";

fn test_pause(var: &str, what: &str) {
    let Some(ms) = std::env::var(var).ok().and_then(|v| v.parse::<u64>().ok()) else {
        return;
    };
    eprintln!("physdemo: test hook: pausing {ms} ms {what}");
    std::thread::sleep(Duration::from_millis(ms));
}

/// Refuses a frame that other mappings share (a file's page cache, shared memory, a
/// KSM-merged or copy-on-write page): a write there changes every process that maps it.
fn check_private(entry: PagemapEntry, pid: i32, vaddr: VirtAddr, force: bool) -> Result<()> {
    if force || (entry.exclusive() && !entry.file_or_shared_anon()) {
        return Ok(());
    }
    let why = if entry.file_or_shared_anon() {
        "belongs to a file or shared memory"
    } else {
        "is mapped more than once (copy-on-write after fork, or merged by KSM)"
    };
    Err(refused(format!(
        "refusing to write: the frame of {vaddr} in pid {pid} {why}, so the write would change every process that maps it"
    ))
    .hint("add --force if you mean it, --dry-run to check")
    .into())
}

/// Reads the variable through /proc/<pid>/mem (the process's own view), for the default value.
fn read_through_proc(pid: i32, vaddr: VirtAddr) -> Option<u64> {
    use std::os::unix::fs::FileExt;
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

/// Runs `physdemo poke`.
pub fn run(args: &PokeArgs) -> Result<()> {
    let register_bytes = args.width.unwrap_or(PHYSICAL_WIDTH).bytes() as u64;
    let (positional, register) = register::resolve_args(&args.pci, &args.args, 1, register_bytes)?;
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
    check_subject_alignment(subject, width)?;
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
    let destination = Destination::of(located.paddr);
    let placement = &destination.placement;
    let force = args.write.force;
    check_config_space_write(located.paddr, destination.config.as_ref(), force)?;
    check_region_write(located.paddr, width.bytes() as u64, placement, force)?;
    let options = DeviceOptions::from(&args.device);
    let ram = destination.is_ram(register.as_ref());
    let reads = ram || args.read_back;
    // From here on a dry run does what the write does, short of the store, so that it ends
    // with the same verdict: the same device opened the same way, the page mapped, the
    // frame checked. It reads only RAM, never a device.
    let mem = PhysMem::open(&options, true, located.paddr, placement.kind())?;
    if args.write.dry_run {
        mem.probe_write(located.paddr, width)?;
        let current = if ram {
            Some(mem.read(located.paddr, width)?)
        } else {
            None
        };
        if let (Some(pin), Some(r)) = (&located.pin, &located.process) {
            check_frame(pin, r, When::Before, false, None, force)?;
        }
        let plan = DryRun {
            width,
            value,
            current,
            reads,
        };
        return report_dry_run(
            args,
            register.as_ref(),
            &located,
            &destination,
            &options,
            &plan,
        );
    }

    test_pause(PAUSE_BEFORE_WRITE_ENV, "before the write");
    let seen_before = located.target.map(|t| t.seen_count);
    let old = if reads {
        Some(mem.read(located.paddr, width)?)
    } else {
        None
    };
    // The last check before the store: same process, same frame, not shared.
    if let (Some(pin), Some(r)) = (&located.pin, &located.process) {
        check_frame(pin, r, When::Before, false, None, force)?;
    }
    let write_ns = mem.write(located.paddr, width, value)?;
    let readback = if reads {
        Some(mem.read(located.paddr, width)?)
    } else {
        None
    };
    test_pause(PAUSE_AFTER_WRITE_ENV, "after the write");
    // A physdemo target's own report that it saw the value proves the write landed; ask it
    // first, since a target with --until exits right after reporting.
    let reaction = match (located.target, seen_before) {
        (Some(t), Some(count)) if old != Some(value) => Some(wait_for_reaction(
            t,
            count,
            value,
            Duration::from_secs_f64(args.wait),
        )),
        _ => None,
    };
    let confirmed_by_target = matches!(reaction, Some(Reaction::Seen(_)));
    if let (Some(pin), Some(r), false) = (&located.pin, &located.process, confirmed_by_target) {
        let waited = reaction.is_some();
        check_frame(pin, r, When::After, waited, None, force).with_context(|| {
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
            "old": old.map(|v| width.hex(v)),
            "new": width.hex(value),
            "readback": readback.map(|v| width.hex(v)),
            "accesses": accesses(reads),
            "write_ns": write_ns,
            "region": destination.json(),
            "process": process_json(&located),
            "pci": register.as_ref().map(Register::json),
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
        for line in subject_lines(register.as_ref(), &located, &destination) {
            writeln!(out, "{line}")?;
        }
        if let Some(old) = old {
            writeln!(out, "{:<10}{}", "old", width.hex(old))?;
        }
        writeln!(
            out,
            "{:<10}{}  ({width} write via {}{})",
            "new",
            width.hex(value),
            options.describe(),
            readback.map_or_else(String::new, |v| format!("; read back {}", width.hex(v)))
        )?;
        writeln!(out, "{:<10}{}", "accesses", describe_accesses(reads, width))?;
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
        match readback {
            Some(answer) if answer != value && !ram => writeln!(
                out,
                "note      a device register need not read back what was written: this one answered {}",
                width.hex(answer)
            )?,
            _ => {}
        }
    }
    out.flush()?;
    // RAM holds what was stored unless something else stored there at once; a device
    // answers what it decides (edu's 0x04 answers the inverse), which is no error.
    match readback {
        Some(answer) if answer != value && ram => Err(UserError::new(
            ExitKind::Failure,
            format!(
                "{} read back {} right after {} was written there: something else changed it at once",
                located.paddr,
                width.hex(answer),
                width.hex(value)
            ),
        )
        .hint("the write was made; another CPU or a device's DMA uses this memory, or it is not plain RAM")
        .into()),
        _ => Ok(()),
    }
}

/// What a dry run found: the value it would write, the current value (read only from RAM),
/// and whether the poke would read before and after its write.
struct DryRun {
    width: Width,
    value: u64,
    current: Option<u64>,
    reads: bool,
}

fn report_dry_run(
    args: &PokeArgs,
    register: Option<&Register>,
    located: &Located,
    destination: &Destination,
    options: &DeviceOptions,
    plan: &DryRun,
) -> Result<()> {
    let width = plan.width;
    let mut out = std::io::stdout().lock();
    if args.json {
        let object = json!({
            "dry_run": true,
            "paddr": located.paddr.to_string(),
            "width": width.bits(),
            "value": width.hex(plan.value),
            "current": plan.current.map(|v| width.hex(v)),
            "accesses": if plan.current.is_some() { vec!["read"] } else { vec![] },
            "would_access": accesses(plan.reads),
            "region": destination.json(),
            "process": process_json(located),
            "device": options.describe(),
        });
        writeln!(out, "{object}")?;
    } else {
        writeln!(
            out,
            "{:<10}would write {} ({width}) to physical {} via {}",
            "dry run",
            width.hex(plan.value),
            located.paddr,
            options.describe()
        )?;
        for line in subject_lines(register, located, destination) {
            writeln!(out, "{line}")?;
        }
        match plan.current {
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
            if plan.current.is_some() {
                format!("1 read ({width}, the current value)")
            } else {
                "none".to_string()
            },
            describe_accesses(plan.reads, width)
        )?;
        writeln!(out, "nothing was written (--dry-run)")?;
    }
    out.flush()?;
    Ok(())
}

/// When a frame check runs, relative to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    Before,
    After,
}

/// Fails unless the pinned process still lives and its page is still at the frame it was
/// resolved to (and, before the write, is not shared). After the write, `waited` says a
/// physdemo target was waited for and did not report the value; `exit_explained` is the
/// value written when the target exits on seeing it (`--until`).
fn check_frame(
    pin: &Pinned,
    r: &Resolution,
    when: When,
    waited: bool,
    exit_explained: Option<u64>,
    force: bool,
) -> Result<()> {
    let (pid, vaddr, expected) = (pin.pid, r.vaddr, r.pfn());
    let show = |p: Option<Pfn>| p.map_or_else(|| "none".to_string(), |p| p.to_string());
    let now = pin.now();
    let what = match now {
        PageNow::Entry(entry) if entry.pfn() == expected => {
            if when == When::Before {
                check_private(entry, pid, vaddr, force)?;
            }
            return Ok(());
        }
        PageNow::Entry(entry) if entry.swapped() => {
            format!("the page of {vaddr} in pid {pid} was swapped out")
        }
        PageNow::Entry(entry) if entry.pfn().is_none() => {
            format!("the page of {vaddr} in pid {pid} is no longer present (unmapped or discarded)")
        }
        PageNow::Entry(entry) => format!(
            "the page of {vaddr} in pid {pid} moved from frame {} to {}",
            show(expected),
            show(entry.pfn())
        ),
        PageNow::Exited { reused } => format!(
            "pid {pid} exited{}",
            if reused {
                " (the pid now belongs to another process)"
            } else {
                ""
            }
        ),
    };
    let exited = matches!(now, PageNow::Exited { .. });
    let message = match (when, exited, waited) {
        (When::Before, _, _) => format!("{what} before the write; nothing was written"),
        (When::After, true, true) => {
            format!("{what} right after the write, without reporting the new value")
        }
        (When::After, true, false) => {
            format!("{what} right after the write; whether it saw the value cannot be known")
        }
        (When::After, false, _) => format!(
            "{what} during the write, so the process did not see it (the store went to frame {})",
            show(expected)
        ),
    };
    let hint = match exit_explained {
        Some(value) if exited && when == When::After => format!(
            "it was a physdemo target with --until {value:#x}, which exits as soon as it sees that value: its own output shows whether it did"
        ),
        _ => "run the command again (the page migrated, was swapped, or the process exited)"
            .to_string(),
    };
    Err(refused(message).hint(hint).into())
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
