// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo peek`: read one value of physical memory, named as `poke` names it (the running
//! target, `<pid> <vaddr>`, a physical address, a `--pci` register, or `--symbol NAME[+OFF]`,
//! a variable of the kernel image, read at its natural width unless `--width` says).

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::kernel::addr::PhysAddr;
use crate::physmem::access::PhysMem;
use crate::physmem::device::DeviceOptions;
use crate::physmem::width::{check_alignment, Width, WidthValue};
use crate::render::device::DeviceUsed;
use crate::render::json::write_sorted_json_line;
use crate::render::subject::{subject_lines, ProcessJson, RegionJson, RegisterJson, SymbolJson};
use crate::resolve::destination::Destination;
use crate::resolve::register::Register;
use crate::resolve::subject::{check_reference_alignment, locate, Located, Subject};

/// What `peek` was asked.
#[derive(Debug, Clone)]
pub(crate) struct PeekOptions {
    pub(crate) subject: Subject,
    /// The access width; `None` for the subject's default.
    pub(crate) width: Option<Width>,
    pub(crate) json: bool,
    pub(crate) device: DeviceOptions,
}

/// One value read, and everything about where it was read.
struct Peeked {
    located: Located,
    destination: Destination,
    register: Option<Register>,
    width: Width,
    value: u64,
    used: DeviceUsed,
}

/// `peek --json` (keys sorted on output).
#[derive(Debug, Serialize)]
struct PeekJson {
    paddr: PhysAddr,
    width: u32,
    value: WidthValue,
    region: RegionJson,
    process: Option<ProcessJson>,
    pci: Option<RegisterJson>,
    /// The kernel symbol (`--symbol`; `null` otherwise).
    symbol: Option<SymbolJson>,
    device: String,
    /// Why /dev/physmem was used instead of /dev/mem (`null` when it was not).
    detour: Option<String>,
}

/// Runs `physdemo peek`.
pub(crate) fn run(options: &PeekOptions) -> Result<()> {
    let peeked = read(options)?;
    let mut out = std::io::stdout().lock();
    if options.json {
        write_sorted_json_line(&mut out, &report(&peeked))?;
    } else {
        render_text(&mut out, &peeked)?;
    }
    out.flush()?;
    Ok(())
}

/// Gather: resolves the subject, checks the alignment, and reads.
fn read(options: &PeekOptions) -> Result<Peeked> {
    let fallback = options.subject.default_width();
    let named = options
        .subject
        .clone()
        .into_named(options.width.unwrap_or(fallback).bytes() as u64)?;
    let width = named.width(options.width, fallback);
    check_reference_alignment(named.reference, width)?;
    let mut located = locate(named.reference)?;
    located.symbol = named.symbol;
    let register = named.register;
    check_alignment(located.paddr, width)?;
    let destination = Destination::of(located.paddr);
    let mem = PhysMem::open(&options.device, false, located.paddr)?;
    let value = mem.read(located.paddr, width)?;
    Ok(Peeked {
        located,
        destination,
        register,
        width,
        value,
        used: DeviceUsed::of(&mem),
    })
}

fn report(peeked: &Peeked) -> PeekJson {
    PeekJson {
        paddr: peeked.located.paddr,
        width: peeked.width.bits(),
        value: peeked.width.value(peeked.value),
        region: RegionJson::from(&peeked.destination),
        process: ProcessJson::of(&peeked.located),
        pci: peeked.register.as_ref().map(RegisterJson::from),
        symbol: peeked.located.symbol.as_ref().map(SymbolJson::from),
        device: peeked.used.device.clone(),
        detour: peeked.used.detour.clone(),
    }
}

fn render_text(out: &mut impl Write, peeked: &Peeked) -> Result<()> {
    let (width, value) = (peeked.width, peeked.value);
    for line in subject_lines(
        peeked.register.as_ref(),
        &peeked.located,
        &peeked.destination,
    ) {
        writeln!(out, "{line}")?;
    }
    writeln!(
        out,
        "{:<10}{}  ({width} read via {})",
        "value",
        width.hex(value),
        peeked.used.device
    )?;
    if let Some(via) = peeked.used.via_line() {
        writeln!(out, "{via}")?;
    }
    Ok(())
}
