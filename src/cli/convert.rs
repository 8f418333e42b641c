// SPDX-License-Identifier: MIT OR Apache-2.0
//! The command line turned into each command's typed options: one `TryFrom` per command
//! (and one `From<&DeviceArgs>`), the only place where clap's argument structs meet the
//! core. Everything here is pure: numbers, pids, `--pci` names and busybox syntax are
//! parsed and checked; nothing is opened (a `--pci` device is looked up in sysfs by the
//! command, [`crate::resolve::register::Register::resolve`]).

use std::time::Duration;

use anyhow::{Error, Result};

use crate::cli::args::{
    DeviceArgs, DevmemArgs, DoctorArgs, DumpArgs, ExplainArgs, InspectArgs, MapsArgs, MethodArg,
    OwnerArgs, PciArgs, PeekArgs, PhysmapArgs, PokeArgs, PortArgs, SymbolArgs, TargetArgs,
    UsageArgs, UsageByArg, UsageSortArg, WatchArgs, WhereArg,
};
use crate::cli::busybox::parse_request;
use crate::commands::devmem::DevmemOptions;
use crate::commands::doctor::DoctorOptions;
use crate::commands::dump::{DumpFrom, DumpOptions};
use crate::commands::explain::ExplainOptions;
use crate::commands::inspect::InspectOptions;
use crate::commands::maps::MapsOptions;
use crate::commands::owner::OwnerOptions;
use crate::commands::peek::PeekOptions;
use crate::commands::physmap::PhysmapOptions;
use crate::commands::poke::PokeOptions;
use crate::commands::port::PortOptions;
use crate::commands::target::{Home, TargetOptions};
use crate::commands::usage::{SortKey, UsageOptions};
use crate::commands::watch::WatchOptions;
use crate::error::{usage, UserError};
use crate::kernel::addr::{parse_u64, PageSize, PhysAddr, VirtAddr};
use crate::kernel::pci::parse_selector;
use crate::physmem::device::{AccessMethod, DeviceOptions};
use crate::physmem::port::PortDevice;
use crate::proc::process::validate_pid;
use crate::resolve::register::RegisterRef;
use crate::resolve::subject::Subject;
use crate::resolve::symbol::SymbolRef;
use crate::scan::filter::{FlagFilter, MappingFilter};

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

impl From<MethodArg> for AccessMethod {
    fn from(method: MethodArg) -> Self {
        match method {
            MethodArg::Mmap => AccessMethod::Mmap,
            MethodArg::Rw => AccessMethod::Rw,
        }
    }
}

impl From<&DeviceArgs> for DeviceOptions {
    fn from(args: &DeviceArgs) -> Self {
        DeviceOptions {
            chosen: args.device.clone(),
            cached: args.cached,
            method: args.method.map_or(AccessMethod::Mmap, AccessMethod::from),
            method_chosen: args.method.is_some(),
        }
    }
}

impl From<WhereArg> for Home {
    fn from(placement: WhereArg) -> Self {
        match placement {
            WhereArg::Mmap => Home::Mmap,
            WhereArg::Heap => Home::Heap,
            WhereArg::Stack => Home::Stack,
            WhereArg::Static => Home::Static,
            WhereArg::Thp => Home::Thp,
            WhereArg::Hugetlb => Home::Hugetlb,
        }
    }
}

/// The `--pci` device name, if any; `--bar` alone is a usage error.
fn pci_device_name(pci: &PciArgs) -> Result<Option<&str>, UserError> {
    match (&pci.pci, pci.bar) {
        (None, Some(bar)) => Err(usage(format!("--bar {bar} needs --pci DEVICE"))
            .hint("e.g. `physdemo peek --pci 0000:00:04.0 --bar 0 0x4`")),
        (name, _) => Ok(name.as_deref()),
    }
}

/// The register `--pci NAME [--bar N]` names at `offset`.
fn register_ref(name: &str, bar: Option<u8>, offset: u64) -> Result<RegisterRef, UserError> {
    Ok(RegisterRef {
        selector: parse_selector(name)?,
        bar: bar.unwrap_or(0),
        offset,
    })
}

/// For `peek`/`poke` with `--pci`: the register named by the first argument (an offset into
/// the BAR); `values` is how many arguments follow it (0 for peek, 1 for poke). `None`
/// without `--pci`.
fn register_arg(pci: &PciArgs, args: &[String], values: usize) -> Result<Option<RegisterRef>> {
    let Some(name) = pci_device_name(pci)? else {
        return Ok(None);
    };
    if args.len() != values + 1 {
        let form = if values == 0 {
            "peek --pci DEVICE takes one argument, <offset>"
        } else {
            "poke --pci DEVICE takes <offset> <value>"
        };
        return Err(usage(form)
            .hint("e.g. `physdemo peek --pci 0000:00:04.0 --bar 0 0x4`")
            .into());
    }
    let offset = parse_u64(&args[0]).map_err(|err| {
        usage(format!("bad offset '{}': {err}", args[0].escape_debug()))
            .hint("the offset is a number of bytes into the BAR, hex with 0x or decimal")
    })?;
    Ok(Some(register_ref(name, pci.bar, offset)?))
}

/// `--symbol NAME[+OFF]`, when given: never with `--pci`, and with exactly `values`
/// positional arguments (`form` says which: none for peek, the value for poke, at most the
/// length for dump). `None` without `--symbol`.
pub(crate) fn symbol_arg(
    symbol: &SymbolArgs,
    pci: &PciArgs,
    args: usize,
    values: std::ops::RangeInclusive<usize>,
    (form, example): (&str, &str),
) -> Result<Option<SymbolRef>, UserError> {
    let Some(text) = &symbol.symbol else {
        return Ok(None);
    };
    if pci.pci.is_some() || pci.bar.is_some() {
        return Err(
            usage("--symbol and --pci both name what to access: give one")
                .hint("--symbol names a variable of the kernel image, --pci a device's register"),
        );
    }
    if !values.contains(&args) {
        return Err(usage(form).hint(format!(
            "--symbol takes the place of the address: e.g. `physdemo {example}`"
        )));
    }
    SymbolRef::parse(text).map(Some)
}

impl TryFrom<&TargetArgs> for TargetOptions {
    type Error = Error;

    fn try_from(args: &TargetArgs) -> Result<Self> {
        Ok(TargetOptions {
            value: args.value,
            home: args.placement.into(),
            spin: args.spin,
            interval: Duration::from_micros(args.interval_us),
            until: args.until,
            timeout: args.timeout.map(Duration::from_secs_f64),
            movable: args.movable,
            json: args.json,
        })
    }
}

impl TryFrom<&InspectArgs> for InspectOptions {
    type Error = Error;

    fn try_from(args: &InspectArgs) -> Result<Self> {
        Ok(InspectOptions {
            pid: validate_pid(args.pid)?,
            vaddr: args.vaddr,
            json: args.json,
            svg: args.svg.clone(),
        })
    }
}

impl TryFrom<&PeekArgs> for PeekOptions {
    type Error = Error;

    fn try_from(args: &PeekArgs) -> Result<Self> {
        let symbol = symbol_arg(
            &args.symbol,
            &args.pci,
            args.args.len(),
            0..=0,
            (
                "peek --symbol NAME takes no address: the symbol is the address",
                "peek --symbol jiffies",
            ),
        )?;
        let subject = match (symbol, register_arg(&args.pci, &args.args, 0)?) {
            (Some(symbol), _) => Subject::Symbol(symbol),
            (None, Some(register)) => Subject::Register(register),
            (None, None) => parse_peek_args(&args.args)?,
        };
        Ok(PeekOptions {
            subject,
            width: args.width,
            json: args.json,
            device: (&args.device).into(),
        })
    }
}

impl TryFrom<&WatchArgs> for WatchOptions {
    type Error = Error;

    /// The subject as `peek` takes it.
    fn try_from(args: &WatchArgs) -> Result<Self> {
        let symbol = symbol_arg(
            &args.symbol,
            &args.pci,
            args.args.len(),
            0..=0,
            (
                "watch --symbol NAME takes no address: the symbol is the address",
                "watch --symbol jiffies",
            ),
        )?;
        let subject = match (symbol, register_arg(&args.pci, &args.args, 0)?) {
            (Some(symbol), _) => Subject::Symbol(symbol),
            (None, Some(register)) => Subject::Register(register),
            (None, None) => parse_peek_args(&args.args)?,
        };
        Ok(WatchOptions {
            subject,
            width: args.width,
            len: args.len,
            interval: args.interval,
            count: args.count,
            until: args.until,
            json: args.json,
            device: (&args.device).into(),
        })
    }
}

impl TryFrom<&PokeArgs> for PokeOptions {
    type Error = Error;

    fn try_from(args: &PokeArgs) -> Result<Self> {
        let symbol = symbol_arg(
            &args.symbol,
            &args.pci,
            args.args.len(),
            1..=1,
            (
                "poke --symbol NAME takes one argument, <value>: the symbol is the address",
                "poke --symbol NAME 0x1 --force",
            ),
        )?;
        let (subject, positional_value) = match (symbol, register_arg(&args.pci, &args.args, 1)?) {
            (Some(symbol), _) => (
                Subject::Symbol(symbol),
                Some(number(&args.args[0], "value")?),
            ),
            (None, Some(register)) => (
                Subject::Register(register),
                Some(number(&args.args[1], "value")?),
            ),
            (None, None) => parse_poke_args(&args.args)?,
        };
        if positional_value.is_some() && args.value.is_some() {
            return Err(usage("--value is for the no-argument form only")
                .hint("give the value as the last argument instead")
                .into());
        }
        Ok(PokeOptions {
            subject,
            value: positional_value.or(args.value),
            width: args.width,
            wait: args.wait,
            read_back: args.read_back,
            json: args.json,
            force: args.write.force,
            dry_run: args.write.dry_run,
            device: (&args.device).into(),
        })
    }
}

impl TryFrom<&DumpArgs> for DumpOptions {
    type Error = Error;

    fn try_from(args: &DumpArgs) -> Result<Self> {
        let given = usize::from(args.paddr.is_some()) + usize::from(args.len.is_some());
        let symbol = symbol_arg(
            &args.symbol,
            &args.pci,
            given,
            0..=1,
            (
                "dump --symbol NAME takes at most one argument, [LEN]: the symbol is the address",
                "dump --symbol linux_banner 64",
            ),
        )?;
        let (from, len) = match (symbol, args.paddr, args.len) {
            // with --symbol, the one number given is the length
            (Some(symbol), paddr, _) => (DumpFrom::Symbol(symbol), paddr.map(|p| p.0)),
            (None, Some(paddr), Some(len)) => (dump_from(args, paddr, len)?, Some(len)),
            (None, _, _) => {
                return Err(usage("dump takes <paddr> <len>, or --symbol NAME [LEN]")
                    .hint("e.g. `physdemo dump 0x1000000 256`")
                    .into())
            }
        };
        Ok(DumpOptions {
            from,
            len,
            squeeze: !args.all,
            width: args.width,
            raw: args.raw,
            output: args.output.clone(),
            device: (&args.device).into(),
        })
    }
}

/// Where a dump by address starts: the address, or an offset into a `--pci` BAR; the range
/// must fit in 64 bits.
fn dump_from(args: &DumpArgs, paddr: PhysAddr, len: u64) -> Result<DumpFrom> {
    if paddr.0.checked_add(len).is_none() {
        return Err(usage(format!(
            "{paddr} + {len:#x} bytes runs past the end of the 64-bit address space"
        ))
        .hint("give a smaller length")
        .into());
    }
    Ok(match pci_device_name(&args.pci)? {
        Some(name) => DumpFrom::Register(register_ref(name, args.pci.bar, paddr.0)?),
        None => DumpFrom::Physical(paddr),
    })
}

impl TryFrom<&DevmemArgs> for DevmemOptions {
    type Error = Error;

    fn try_from(args: &DevmemArgs) -> Result<Self> {
        Ok(DevmemOptions {
            request: parse_request(&args.address, args.width.as_deref(), args.value.as_deref())?,
            force: args.write.force,
            dry_run: args.write.dry_run,
            device: (&args.device).into(),
        })
    }
}

impl TryFrom<&ExplainArgs> for ExplainOptions {
    type Error = Error;

    fn try_from(args: &ExplainArgs) -> Result<Self> {
        if pci_device_name(&args.pci)?.is_some() && args.args.len() != 1 {
            return Err(usage("explain --pci DEVICE takes one argument, <offset>")
                .hint("e.g. `physdemo explain --pci 0000:00:04.0 --bar 0 0x4`")
                .into());
        }
        let symbol = symbol_arg(
            &args.symbol,
            &args.pci,
            args.args.len(),
            0..=0,
            (
                "explain --symbol NAME takes no address: the symbol is the address",
                "explain --symbol schedule+0x10",
            ),
        )?;
        let subject = match (symbol, register_arg(&args.pci, &args.args, 0)?) {
            (Some(symbol), _) => Subject::Symbol(symbol),
            (None, Some(register)) => Subject::Register(register),
            (None, None) => parse_peek_args(&args.args)?,
        };
        Ok(ExplainOptions {
            subject,
            json: args.json,
        })
    }
}

impl TryFrom<&DoctorArgs> for DoctorOptions {
    type Error = Error;

    fn try_from(args: &DoctorArgs) -> Result<Self> {
        Ok(DoctorOptions { json: args.json })
    }
}

impl TryFrom<&PortArgs> for PortOptions {
    type Error = Error;

    fn try_from(args: &PortArgs) -> Result<Self> {
        let port = number(&args.port, "port")?;
        let values = args
            .values
            .iter()
            .map(|value| number(value, "value"))
            .collect::<Result<Vec<_>, _>>()?;
        if !values.is_empty() && args.reads.is_some() {
            return Err(usage("--read N reads the port; a write takes only its values")
                .hint("e.g. `physdemo port 0x511 --read 4`, or `physdemo port 0x510 0 --width 16`")
                .into());
        }
        Ok(PortOptions {
            number: port,
            values,
            reads: args.reads.unwrap_or(1),
            width: args.width,
            force: args.force,
            dry_run: args.dry_run,
            json: args.json,
            device: PortDevice {
                path: args.port_device.clone(),
            },
        })
    }
}

impl TryFrom<&MapsArgs> for MapsOptions {
    type Error = Error;

    fn try_from(args: &MapsArgs) -> Result<Self> {
        let pid = validate_pid(args.pid)?;
        let mappings = args
            .mappings
            .iter()
            .map(|spec| MappingFilter::parse(spec))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|msg| {
                usage(msg).hint("e.g. --mapping '[heap]' or --mapping 7f00000000-7f00200000 (a range as /proc/PID/maps prints it)")
            })?;
        let flags = FlagFilter::parse(&args.flags).map_err(usage)?;
        Ok(MapsOptions {
            pid,
            pages: args.pages,
            all_runs: args.runs,
            mappings,
            flags,
            json: args.json,
            svg: args.svg.clone(),
        })
    }
}

impl TryFrom<&OwnerArgs> for OwnerOptions {
    type Error = Error;

    /// A physical address or `--pfn`; each `--pid` once, in the order given.
    fn try_from(args: &OwnerArgs) -> Result<Self> {
        let page = PageSize::of_system();
        let (pfn, offset) = match (args.paddr, args.pfn) {
            (_, Some(pfn)) => (pfn, 0),
            (Some(paddr), None) => (page.pfn_of(paddr), page.offset_in_page(paddr.0)),
            (None, None) => {
                return Err(usage("give a physical address or --pfn")
                    .hint("e.g. physdemo owner 0x12345000, or physdemo owner --pfn 0x12345")
                    .into())
            }
        };
        let mut pids = Vec::with_capacity(args.pids.len());
        for &pid in &args.pids {
            let pid = validate_pid(pid)?;
            if !pids.contains(&pid) {
                pids.push(pid);
            }
        }
        Ok(OwnerOptions {
            pfn,
            offset,
            pids,
            exhaustive: args.all,
            json: args.json,
        })
    }
}

impl TryFrom<&UsageArgs> for UsageOptions {
    type Error = Error;

    /// Each `--pid` once, in the order given.
    fn try_from(args: &UsageArgs) -> Result<Self> {
        let mut pids = Vec::with_capacity(args.pids.len());
        for &pid in &args.pids {
            let pid = validate_pid(pid)?;
            if !pids.contains(&pid) {
                pids.push(pid);
            }
        }
        Ok(UsageOptions {
            pids,
            user: args.user.clone(),
            by_mapping: args.by == UsageByArg::Mapping,
            sort: match args.sort {
                UsageSortArg::Rss => SortKey::Rss,
                UsageSortArg::Pss => SortKey::Pss,
                UsageSortArg::Uss => SortKey::Uss,
                UsageSortArg::Swap => SortKey::Swap,
            },
            json: args.json,
        })
    }
}

impl TryFrom<&PhysmapArgs> for PhysmapOptions {
    type Error = Error;

    fn try_from(args: &PhysmapArgs) -> Result<Self> {
        Ok(PhysmapOptions {
            pid: args.pid.map(validate_pid).transpose()?,
            cell: args.cell,
            json: args.json,
            svg: args.svg.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    fn owner_args(pids: &[i64]) -> OwnerArgs {
        OwnerArgs {
            paddr: None,
            pfn: Some(crate::kernel::addr::Pfn(1)),
            pids: pids.to_vec(),
            all: false,
            json: false,
        }
    }

    #[test]
    fn named_processes_count_once() {
        let options = OwnerOptions::try_from(&owner_args(&[7, 3, 7, 3, 9])).expect("valid options");
        assert_eq!(options.pids, [7, 3, 9]);
        assert!(OwnerOptions::try_from(&owner_args(&[7, 0])).is_err());
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
}
