//! The command line turned into each command's typed options: the only place where clap's
//! argument structs meet the core.

use anyhow::Result;

use crate::cli::args::{DeviceArgs, MethodArg};
use crate::error::{usage, UserError};
use crate::kernel::addr::{parse_u64, PhysAddr, VirtAddr};
use crate::physmem::device::{AccessMethod, DeviceOptions};
use crate::proc::process::validate_pid;
use crate::resolve::subject::Subject;

pub(crate) fn number(text: &str, what: &str) -> Result<u64, UserError> {
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
            path: args.device.clone(),
            cached: args.cached,
            method: args.method.into(),
        }
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
}
