// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo port PORT [VALUE...]`: read or write an x86 I/O port, one access of the width
//! per value (or per `--read N`).
//!
//! The port is checked (0 to 0xffff, every byte of the access a port, naturally aligned) and
//! located in /proc/ioports as `peek` locates an address in /proc/iomem; a write must pass
//! the port write policy ([`check_port_write`]: a port a driver claims, and not one that
//! resets or reconfigures the machine) unless `--force`. Bytes go through /dev/port, 16 and
//! 32 bits through `ioperm` and one `in`/`out` ([`crate::physmem::port`]). Reading N times
//! reads the same port N times, as a driver drains a data port (fw_cfg's 0x511 gives the
//! next byte of the selected item each time); several values are written in turn. A value
//! that does not fit the width is refused before anything is opened. `--dry-run` runs every
//! check and opens what the access needs (/dev/port, or the ioperm grant: the kernel's
//! verdict), and makes no access.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::error::unsupported;
use crate::kernel::addr::Hex;
use crate::kernel::iomem::Placement;
use crate::kernel::ioports::{describe_port_placement, machine_port, MachinePort, Port};
use crate::physmem::policy::check_port_write;
use crate::physmem::port::{check_port, PortDevice, PortIo};
use crate::physmem::width::{check_port_value_fits, encode_native, Width, WidthValue};
use crate::proc::ioports::place_port;
use crate::proc::lockdown::lockdown_mode;
use crate::render::hexdump::ascii;
use crate::render::json::write_json_line;

/// What `port` was asked.
#[derive(Debug, Clone)]
pub(crate) struct PortOptions {
    /// The port as given (checked against the width here).
    pub(crate) number: u64,
    /// Values to write, in order; empty to read.
    pub(crate) values: Vec<u64>,
    /// How many reads when reading (at least 1).
    pub(crate) reads: u32,
    pub(crate) width: Width,
    pub(crate) force: bool,
    pub(crate) dry_run: bool,
    pub(crate) json: bool,
    pub(crate) device: PortDevice,
}

impl PortOptions {
    fn writes(&self) -> bool {
        !self.values.is_empty()
    }
}

/// An access that passed every check, with the port opened for it.
struct Plan {
    port: Port,
    placement: Placement,
    machine: Option<&'static MachinePort>,
    io: PortIo,
}

/// Runs `physdemo port`.
pub(crate) fn run(options: &PortOptions) -> Result<()> {
    if !crate::proc::arch::has_io_ports() {
        return Err(unsupported(format!(
            "I/O ports are an x86 thing: this {} machine has no port space and no in/out instructions",
            crate::proc::arch::machine_name()
        ))
        .hint("its devices are memory-mapped: read a register with physdemo peek ADDRESS or physdemo devmem ADDRESS")
        .into());
    }
    let plan = prepare(options)?;
    let values = if options.dry_run {
        Vec::new()
    } else if options.writes() {
        for &value in &options.values {
            plan.io.write(value)?;
        }
        options.values.clone()
    } else {
        (0..options.reads)
            .map(|_| plan.io.read())
            .collect::<Result<_>>()?
    };
    let mut out = std::io::stdout().lock();
    if options.json {
        write_json_line(&mut out, &report(&plan, options, &values))?;
    } else {
        render_text(&mut out, &plan, options, &values)?;
    }
    out.flush()?;
    Ok(())
}

/// Gather: checks the port, the values and the policy before anything is opened, then
/// opens what the access needs.
fn prepare(options: &PortOptions) -> Result<Plan> {
    let width = options.width;
    let port = check_port(options.number, width)?;
    for &value in &options.values {
        check_port_value_fits(value, width)?;
    }
    let placement = place_port(port);
    let bytes = width.bytes() as u16;
    if options.writes() {
        check_port_write(port, bytes, &placement, options.force)?;
    }
    let io = PortIo::open(
        &options.device,
        port,
        width,
        options.writes(),
        lockdown_mode,
    )?;
    Ok(Plan {
        port,
        machine: machine_port(port.0, port.0 + (bytes - 1)),
        placement,
        io,
    })
}

/// The bytes of the values as the port gave or took them, lowest first.
fn value_bytes(values: &[u64], width: Width) -> Vec<u8> {
    values
        .iter()
        .flat_map(|&v| encode_native(v, width))
        .collect()
}

/// The `region` object of `port --json`: the innermost /proc/ioports range.
#[derive(Debug, Serialize)]
struct PortRegionJson {
    name: Option<String>,
    start: Option<Hex>,
    end: Option<Hex>,
    description: String,
}

impl From<&Placement> for PortRegionJson {
    fn from(placement: &Placement) -> Self {
        let region = match placement {
            Placement::In { region, .. } => Some(region),
            _ => None,
        };
        PortRegionJson {
            name: region.map(|r| r.name.clone()),
            start: region.map(|r| Hex(r.start)),
            end: region.map(|r| Hex(r.end)),
            description: describe_port_placement(placement),
        }
    }
}

/// `port --json`, keys in this order.
#[derive(Debug, Serialize)]
struct PortJson {
    port: Port,
    width: u32,
    /// `"read"` or `"write"`.
    direction: &'static str,
    /// The values read or written (with `--dry-run`: to be written, or none).
    values: Vec<WidthValue>,
    /// The values' bytes, lowest first, as ASCII (`.` for the unprintable).
    ascii: String,
    /// Accesses made: one per value; 0 for a dry run.
    accesses: usize,
    /// Accesses the command would make (equal to `accesses` but for a dry run).
    would_access: usize,
    method: String,
    region: PortRegionJson,
    /// What the port is, when it is one that resets or reconfigures the machine.
    machine: Option<String>,
    dry_run: bool,
}

fn report(plan: &Plan, options: &PortOptions, values: &[u64]) -> PortJson {
    let width = options.width;
    let shown = if options.dry_run {
        &options.values[..]
    } else {
        values
    };
    PortJson {
        port: plan.port,
        width: width.bits(),
        direction: if options.writes() { "write" } else { "read" },
        values: shown.iter().map(|&v| width.value(v)).collect(),
        ascii: ascii(&value_bytes(shown, width)),
        accesses: values.len(),
        would_access: if options.writes() {
            options.values.len()
        } else {
            options.reads as usize
        },
        method: options.device.describe(width, options.writes()),
        region: PortRegionJson::from(&plan.placement),
        machine: plan.machine.map(|m| format!("{}: {}", m.what, m.effect)),
        dry_run: options.dry_run,
    }
}

/// `0x51 0x45 0x4d 0x55  |QEMU|` (the ASCII only for more than one value).
fn value_list(values: &[u64], width: Width) -> String {
    let hex: Vec<String> = values.iter().map(|&v| width.hex(v)).collect();
    let mut text = hex.join(" ");
    if values.len() > 1 {
        text.push_str(&format!("  |{}|", ascii(&value_bytes(values, width))));
    }
    text
}

/// `1 write, 16-bit` or `4 reads, 8-bit each`.
fn count_of(n: usize, write: bool, width: Width) -> String {
    let noun = match (write, n == 1) {
        (true, true) => "write",
        (true, false) => "writes",
        (false, true) => "read",
        (false, false) => "reads",
    };
    let each = if n == 1 { "" } else { " each" };
    format!("{n} {noun}, {width}{each}")
}

fn render_text(
    out: &mut impl Write,
    plan: &Plan,
    options: &PortOptions,
    values: &[u64],
) -> Result<()> {
    let (width, write) = (options.width, options.writes());
    let method = options.device.describe(width, write);
    if options.dry_run {
        let what = if write {
            format!("write {} ({width})", value_list(&options.values, width))
        } else {
            format!("read {width} {} times", options.reads)
        };
        writeln!(
            out,
            "{:<10}would {what} at port {} via {method}",
            "dry run", plan.port
        )?;
    }
    writeln!(out, "{:<10}{}", "port", plan.port)?;
    writeln!(
        out,
        "{:<10}{}",
        "region",
        describe_port_placement(&plan.placement)
    )?;
    if let Some(machine) = plan.machine {
        writeln!(out, "{:<10}{}: {}", "machine", machine.what, machine.effect)?;
    }
    if options.dry_run {
        let would = if write {
            options.values.len()
        } else {
            options.reads as usize
        };
        writeln!(
            out,
            "{:<10}none; the command would make {}, via {method}",
            "accesses",
            count_of(would, write, width)
        )?;
        let done = if write { "written" } else { "read" };
        writeln!(out, "nothing was {done} (--dry-run)")?;
        return Ok(());
    }
    let label = if write { "wrote" } else { "read" };
    writeln!(out, "{label:<10}{}", value_list(values, width))?;
    writeln!(
        out,
        "{:<10}{}, via {method}",
        "accesses",
        count_of(values.len(), write, width)
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_show_in_hex_and_as_the_bytes_the_port_moved() {
        assert_eq!(value_list(&[0x51], Width::W8), "0x51");
        assert_eq!(
            value_list(&[0x51, 0x45, 0x4d, 0x55], Width::W8),
            "0x51 0x45 0x4d 0x55  |QEMU|"
        );
        assert_eq!(
            value_list(&[0x4551, 0x0a55], Width::W16),
            "0x4551 0x0a55  |QEU.|"
        );
        assert_eq!(count_of(1, true, Width::W16), "1 write, 16-bit");
        assert_eq!(count_of(4, false, Width::W8), "4 reads, 8-bit each");
    }
}
