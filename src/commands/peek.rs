//! `physdemo peek`: read one value of physical memory, named as `poke` names it (the running
//! target, `<pid> <vaddr>`, a physical address, or `--pci` register).

use std::io::Write;

use anyhow::Result;
use serde_json::json;

use crate::cli::convert::parse_peek_args;
use crate::cli::PeekArgs;
use crate::kernel::iomem::RegionKind;
use crate::physmem::access::PhysMem;
use crate::physmem::device::DeviceOptions;
use crate::physmem::width::check_alignment;
use crate::render::subject::{process_json, subject_lines};
use crate::resolve::destination::Destination;
use crate::resolve::register::{self, Register};
use crate::resolve::subject::{
    check_subject_alignment, locate, Subject, PHYSICAL_WIDTH, PROCESS_WIDTH,
};

/// Runs `physdemo peek`.
pub fn run(args: &PeekArgs) -> Result<()> {
    let register_bytes = args.width.unwrap_or(PHYSICAL_WIDTH).bytes() as u64;
    let (positional, register) = register::resolve_args(&args.pci, &args.args, 0, register_bytes)?;
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
    let options = DeviceOptions::from(&args.device);
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
            "pci": register.as_ref().map(Register::json),
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
