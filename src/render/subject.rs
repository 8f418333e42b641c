//! How `peek` and `poke` show what they resolved: the device register, the process and its
//! translation, the physical address, its region, and the PCI function of configuration
//! space.

use serde_json::{json, Value};

use crate::resolve::destination::Destination;
use crate::resolve::register::Register;
use crate::resolve::subject::Located;

/// The report's first lines: the device register (with `--pci`), the process and its
/// translation (for a process), the physical address, its /proc/iomem region, and the PCI
/// function when the address is configuration space.
pub fn subject_lines(
    register: Option<&Register>,
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

/// The `process` object of peek's and poke's `--json`.
pub fn process_json(located: &Located) -> Value {
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
