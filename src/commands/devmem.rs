// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo devmem ADDRESS [WIDTH [VALUE]]`: busybox devmem's syntax and output.
//!
//! Modelled on busybox 1.35 `miscutils/devmem.c` (the argument syntax is
//! [`crate::cli::busybox`]'s). A read prints `printf("0x%0*llX\n", width >> 2, value)`: upper-case hex zero-padded to
//! width/4 digits. A write prints nothing (busybox 1.35 does no read-back). physdemo is
//! stricter in three ways, each refused before the device is touched: misaligned accesses,
//! values wider than WIDTH (busybox silently truncates), and writes outside System RAM and
//! devices per /proc/iomem, or into PCI configuration space (unless `--force`). A write is
//! exactly one store; `--dry-run` runs the same checks and stores nothing.

use std::io::Write;

use anyhow::Result;

use crate::kernel::addr::PhysAddr;
use crate::physmem::access::PhysMem;
use crate::physmem::device::DeviceOptions;
use crate::physmem::policy::{check_config_space_write, check_region_write_judged};
use crate::physmem::width::Width;
use crate::render::device::DeviceUsed;
use crate::resolve::destination::Destination;

/// One parsed devmem command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevmemRequest {
    pub addr: PhysAddr,
    pub width: Width,
    pub value: Option<u64>,
}

/// busybox's read output: `0x%0*llX\n` with width/4 digits.
pub fn format_read(value: u64, width: Width) -> String {
    format!("0x{value:0digits$X}", digits = (width.bits() >> 2) as usize)
}

/// What `devmem` was asked: the request, and how to reach and guard physical memory.
#[derive(Debug, Clone)]
pub(crate) struct DevmemOptions {
    pub(crate) request: DevmemRequest,
    pub(crate) force: bool,
    pub(crate) dry_run: bool,
    pub(crate) device: DeviceOptions,
}

/// Runs `physdemo devmem`.
pub(crate) fn run(options: &DevmemOptions) -> Result<()> {
    let request = options.request;
    let mut out = std::io::stdout().lock();
    let used = match request.value {
        None => {
            let (value, used) = read(options)?;
            writeln!(out, "{}", format_read(value, request.width))?;
            used
        }
        Some(value) => {
            let (dry_run, used) = write(options, value)?;
            if let Some(dry_run) = dry_run {
                writeln!(out, "{dry_run}")?;
            }
            used
        }
    };
    out.flush()?;
    // stdout is busybox's; that /dev/mem was gone around goes to stderr.
    if let Some(note) = used.note() {
        eprintln!("{note}");
    }
    Ok(())
}

/// One read, and the device it went through.
fn read(options: &DevmemOptions) -> Result<(u64, DeviceUsed)> {
    let DevmemRequest { addr, width, .. } = options.request;
    let mem = PhysMem::open(&options.device, false, addr)?;
    let value = mem.read(addr, width)?;
    Ok((value, DeviceUsed::of(&mem)))
}

/// One write after the policy's checks; with `--dry-run`, the same checks, the device opened
/// and mapped as the write would (the same verdict), no store, and the line saying so.
fn write(options: &DevmemOptions, value: u64) -> Result<(Option<String>, DeviceUsed)> {
    let DevmemRequest { addr, width, .. } = options.request;
    let at = Destination::of(addr);
    check_config_space_write(addr, at.config.as_ref(), options.force)?;
    check_region_write_judged(
        addr,
        width.bytes() as u64,
        &at.placement,
        at.judged(),
        options.force,
    )?;
    let mem = PhysMem::open(&options.device, true, addr)?;
    if !options.dry_run {
        mem.write(addr, width, value)?;
        return Ok((None, DeviceUsed::of(&mem)));
    }
    mem.probe_write(addr, width)?;
    let used = DeviceUsed::of(&mem);
    let line = format!(
        "dry run: would write {} ({width}) to {addr} in {} via {}; nothing was written",
        format_read(value, width),
        at.placement.describe(),
        used.device
    );
    Ok((Some(line), used))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_reads_exactly_like_busybox_printf() {
        // printf("0x%0*llX\n", width >> 2, value)
        assert_eq!(format_read(0x5a, Width::W8), "0x5A");
        assert_eq!(format_read(0x5, Width::W8), "0x05");
        assert_eq!(format_read(0xbeef, Width::W16), "0xBEEF");
        assert_eq!(format_read(0x10000ed, Width::W32), "0x010000ED");
        assert_eq!(format_read(0, Width::W32), "0x00000000");
        assert_eq!(
            format_read(0xdead_beef_cafe_f00d, Width::W64),
            "0xDEADBEEFCAFEF00D"
        );
        assert_eq!(format_read(1, Width::W64), "0x0000000000000001");
    }
}
