//! `--pci DEVICE --bar N OFFSET`: a PCI device's register named by device, BAR and offset,
//! resolved to its physical address through sysfs, so nobody copies BAR addresses by hand.

use anyhow::Result;

use crate::cli::PciArgs;
use crate::error::{usage, UserError};
use crate::kernel::addr::parse_u64;
use serde_json::{json, Value};

use crate::kernel::addr::PhysAddr;
use crate::kernel::pci::{locate_in_bar, parse_selector, PciDevice, Resource};
use crate::proc::pci::find_device;

/// A register (or range) of a device, resolved to a physical address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Register {
    pub device: PciDevice,
    pub bar: u8,
    pub offset: u64,
    pub paddr: PhysAddr,
}

impl Register {
    /// Resolves `len` bytes at `offset` into `bar` of the device `--pci` names.
    pub fn resolve(pci: &str, bar: u8, offset: u64, len: u64) -> Result<Register> {
        let device = find_device(&parse_selector(pci)?)?;
        let paddr = locate_in_bar(&device.resources, &device.address, bar, offset, len)?;
        Ok(Register {
            device,
            bar,
            offset,
            paddr,
        })
    }

    fn resource(&self) -> Option<&Resource> {
        self.device.resources.get(usize::from(self.bar))
    }

    /// `pci 0000:00:04.0 (1234:11e8) BAR0 [0xfea00000-0xfeafffff], 1 MiB, ... + 0x4`.
    pub fn describe(&self) -> String {
        format!(
            "pci {} ({:04x}:{:04x}) BAR{} {} + {:#x}",
            self.device.address,
            self.device.vendor,
            self.device.device,
            self.bar,
            self.resource().map_or_else(String::new, Resource::describe),
            self.offset
        )
    }

    pub fn json(&self) -> Value {
        json!({
            "address": self.device.address,
            "vendor": format!("{:04x}", self.device.vendor),
            "device": format!("{:04x}", self.device.device),
            "bar": self.bar,
            "bar_start": self.resource().map(|r| format!("{:#x}", r.start)),
            "bar_size": self.resource().map(Resource::size),
            "offset": format!("{:#x}", self.offset),
        })
    }
}

/// The `--pci` device name, if any; `--bar` alone is a usage error.
fn device_name(pci: &PciArgs) -> Result<Option<&str>, UserError> {
    match (&pci.pci, pci.bar) {
        (None, Some(bar)) => Err(usage(format!("--bar {bar} needs --pci DEVICE"))
            .hint("e.g. `physdemo peek --pci 0000:00:04.0 --bar 0 0x4`")),
        (name, _) => Ok(name.as_deref()),
    }
}

/// For `peek`/`poke` with `--pci`: the positional arguments with the offset (the first)
/// replaced by its physical address, and the register. Without `--pci`: the arguments
/// unchanged. `values` is how many arguments follow the offset (0 for peek, 1 for poke);
/// `bytes` is the access width.
pub fn resolve_args(
    pci: &PciArgs,
    args: &[String],
    values: usize,
    bytes: u64,
) -> Result<(Vec<String>, Option<Register>)> {
    let Some(name) = device_name(pci)? else {
        return Ok((args.to_vec(), None));
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
    let register = Register::resolve(name, pci.bar.unwrap_or(0), offset, bytes)?;
    let mut rewritten = vec![register.paddr.to_string()];
    rewritten.extend_from_slice(&args[1..]);
    Ok((rewritten, Some(register)))
}

/// For `dump` with `--pci`: the first physical address of `len` bytes at offset `start`
/// into the BAR (which must hold them all); without `--pci`, `start` itself.
pub fn resolve_range(pci: &PciArgs, start: PhysAddr, len: u64) -> Result<PhysAddr> {
    match device_name(pci)? {
        Some(name) => Ok(Register::resolve(name, pci.bar.unwrap_or(0), start.0, len)?.paddr),
        None => Ok(start),
    }
}
