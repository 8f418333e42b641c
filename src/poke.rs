//! `physdemo poke` and `physdemo peek`: one value of physical memory, named three ways.
//!
//! A *subject* is the running physdemo target (no arguments), a process's virtual address
//! (`<pid> <vaddr>`), or a raw physical address. The first two resolve exactly as `inspect`
//! does ([`inspect::resolve`]: maps, then pagemap) and never take a physical address from a
//! file or message; the target form also verifies the target's header through
//! `/proc/<pid>/mem` ([`targets::the_only_target`]). A write is checked before anything is
//! touched (alignment, value fits, the /proc/iomem region policy, PCI configuration space),
//! re-checks the pagemap translation right before and right after the store, and, for a
//! physdemo target, waits for the target to report the new value and shows how long it took
//! to react. A device gets exactly the one store (no read unless `--read-back`: a read can
//! have side effects); RAM is read before and after. `--dry-run` goes through every check
//! and opens and maps the device as the write would, and stops short of the store.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::addr::{parse_u64, Pfn, PhysAddr, VirtAddr};
use crate::cli::{DeviceArgs, PeekArgs, PokeArgs};
use crate::ecam::{self, ConfigSpace};
use crate::error::{not_found, refused, usage, ExitKind, UserError};
use crate::inspect::{self, Resolution};
use crate::iomem::{check_write, place_in_system_map, Placement, RegionKind};
use crate::pagemap::{PagemapEntry, PagemapFile};
use crate::pci;
use crate::physmem::{
    check_alignment, check_value_fits, check_virtual_alignment, DeviceOptions, PhysMem, Width,
};
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
    parse_u64(text).map_err(|err| {
        usage(format!("bad {what} '{}': {err}", text.escape_debug()))
            .hint("numbers are hex with 0x, or decimal; see the command's --help")
    })
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
    /// The process, pinned while it was verified (for the `<pid> <vaddr>` and target forms).
    pin: Option<Pinned>,
}

impl Located {
    fn pfn(&self) -> Option<Pfn> {
        self.process.as_ref().and_then(Resolution::pfn)
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

/// The process a write is meant for, pinned twice over: by its start time (a pid reused by
/// a new process has another, `/proc/<pid>/stat` field 22), and by a pagemap file opened
/// while it was known to be that process. An open pagemap reads the address space it was
/// opened on for as long as that lives, never a successor's: once the process exits, reads
/// return nothing.
struct Pinned {
    pid: i32,
    start_time: u64,
    pagemap: PagemapFile,
    page_index: u64,
}

/// What became of the pinned page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageNow {
    /// The process has exited; `reused` when its pid already names another process.
    Exited { reused: bool },
    /// The page's pagemap entry now.
    Entry(PagemapEntry),
}

/// The start time of `pid` in clock ticks since boot; `None` when there is no such process.
fn start_time(pid: i32) -> Option<u64> {
    procfs::process::Process::new(pid)
        .and_then(|p| p.stat())
        .ok()
        .map(|stat| stat.starttime)
}

impl Pinned {
    fn now(&self) -> PageNow {
        match self.pagemap.entry(self.page_index) {
            Ok(entry) if start_time(self.pid) == Some(self.start_time) => PageNow::Entry(entry),
            _ => PageNow::Exited {
                reused: start_time(self.pid).is_some_and(|t| t != self.start_time),
            },
        }
    }
}

fn locate(subject: Subject) -> Result<Located> {
    let (pid, vaddr, mut target) = match subject {
        Subject::Physical(paddr) => {
            return Ok(Located {
                paddr,
                process: None,
                target: None,
                pin: None,
            })
        }
        Subject::Target => {
            let header = targets::the_only_target()?;
            (header.pid, header.value_addr, Some(header))
        }
        Subject::Process { pid, vaddr } => (pid, vaddr, None),
    };
    // Everything read between the two start-time reads is of one and the same process.
    let started = start_time(pid);
    if let Subject::Process { .. } = subject {
        // A header alone proves nothing: only a process that runs `physdemo target` counts.
        target = targets::looks_like_target(pid)
            .then(|| targets::read_header(pid, vaddr).ok().flatten())
            .flatten();
    }
    let resolution = inspect::resolve(pid, vaddr)?;
    let paddr = resolution.require_paddr()?;
    let pagemap = PagemapFile::open(pid)?;
    let still_target = match subject {
        Subject::Target => {
            targets::looks_like_target(pid)
                && targets::read_header(pid, vaddr).ok().flatten().is_some()
        }
        _ => true,
    };
    let start_time = match (started, start_time(pid)) {
        (Some(before), Some(after)) if before == after && still_target => before,
        _ => {
            return Err(not_found(format!(
                "pid {pid} exited while its address was being resolved{}",
                if start_time(pid).is_some() {
                    " (the pid now belongs to another process)"
                } else {
                    ""
                }
            ))
            .hint("nothing was written; run the command again")
            .into())
        }
    };
    let page_index = resolution.page.page_index(vaddr);
    Ok(Located {
        paddr,
        process: Some(resolution),
        target,
        pin: Some(Pinned {
            pid,
            start_time,
            pagemap,
            page_index,
        }),
    })
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

/// Where an address falls: its /proc/iomem region, and the PCI function whose
/// configuration space it is, if any.
struct Destination {
    placement: Placement,
    config: Option<ConfigSpace>,
}

impl Destination {
    fn of(paddr: PhysAddr) -> Destination {
        Destination {
            placement: place_in_system_map(paddr),
            config: ecam::find_in_system(paddr),
        }
    }

    /// Whether reading here is harmless, so that a poke reads before and after its write
    /// unless told otherwise: RAM (System RAM, the kernel's image). A device register may
    /// act on a read (a read-to-clear status, a FIFO), and so may anything /proc/iomem
    /// does not call RAM; a `--pci` register is a device whatever the map says.
    fn is_ram(&self, register: Option<&pci::Register>) -> bool {
        register.is_none()
            && self.config.is_none()
            && matches!(
                self.placement.kind(),
                Some(RegionKind::SystemRam | RegionKind::KernelImage)
            )
    }

    fn json(&self) -> Value {
        let mut object = match &self.placement {
            Placement::In { region, .. } => json!({
                "name": region.name,
                "start": format!("{:#x}", region.start),
                "end": format!("{:#x}", region.end),
                "description": self.placement.describe(),
            }),
            other => json!({ "name": Value::Null, "description": other.describe() }),
        };
        object["pci_config"] = self
            .config
            .as_ref()
            .map_or(Value::Null, |c| Value::String(c.describe()));
        object
    }
}

/// The report's first lines: the device register (with `--pci`), the process and its
/// translation (for a process), the physical address, its /proc/iomem region, and the PCI
/// function when the address is configuration space.
fn subject_lines(
    register: Option<&pci::Register>,
    located: &Located,
    destination: &Destination,
) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(register) = register {
        lines.push(format!("{:<10}{}", "device", register.describe()));
    }
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
    lines.push(format!(
        "{:<10}{}",
        "region",
        destination.placement.describe()
    ));
    if let Some(config) = &destination.config {
        lines.push(format!("{:<10}{}", "config", config.describe()));
    }
    lines
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

/// Refuses a misaligned address before anything is resolved or touched.
fn check_subject_alignment(subject: Subject, width: Width) -> Result<(), UserError> {
    match subject {
        Subject::Physical(paddr) => check_alignment(paddr, width),
        Subject::Process { vaddr, .. } => check_virtual_alignment(vaddr, width),
        Subject::Target => Ok(()),
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
    check_subject_alignment(subject, width)?;
    let located = locate(subject)?;
    check_alignment(located.paddr, width)?;
    let destination = Destination::of(located.paddr);
    let placement = &destination.placement;
    let options = device_options(&args.device);
    let mem = PhysMem::open(&options, false, located.paddr, placement.kind())?;
    let value = mem.read(located.paddr, width)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let object = json!({
            "paddr": located.paddr.to_string(),
            "width": width.bits(),
            "value": width.hex(value),
            "region": destination.json(),
            "process": process_json(&located),
            "pci": register.as_ref().map(pci::Register::json),
            "device": options.describe(),
        });
        writeln!(out, "{object}")?;
    } else {
        for line in subject_lines(register.as_ref(), &located, &destination) {
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
    ecam::check_write(located.paddr, destination.config.as_ref(), force)?;
    check_write(located.paddr, width.bytes() as u64, placement, force)?;
    let options = device_options(&args.device);
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
        (Some(t), Some(count)) if old != Some(value) => Some(wait_for_target(
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
    register: Option<&pci::Register>,
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
