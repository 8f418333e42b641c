// SPDX-License-Identifier: MIT OR Apache-2.0
//! How `peek` and `poke` show what they resolved: the device register, the kernel symbol,
//! the process and its translation, the physical address, its region, and the PCI function
//! of configuration space; as text lines ([`subject_lines`]) and as the objects of their
//! `--json`.

use serde::Serialize;

use crate::kernel::addr::{Hex, Pfn, VirtAddr};
use crate::kernel::devicetree::DtDevice;
use crate::kernel::ecam::ConfigSpace;
use crate::kernel::iomem::Placement;
use crate::kernel::pci::Resource;
use crate::resolve::destination::Destination;
use crate::resolve::register::Register;
use crate::resolve::subject::Located;
use crate::resolve::symbol::SymbolLocation;

/// The report's first lines: the device register (with `--pci`), the kernel symbol (with
/// `--symbol`), the process and its
/// translation (for a process), the physical address, its /proc/iomem region, and the PCI
/// function when the address is configuration space.
pub(crate) fn subject_lines(
    register: Option<&Register>,
    located: &Located,
    destination: &Destination,
) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(register) = register {
        lines.push(format!("{:<10}{}", "device", register.describe()));
    }
    if let Some(symbol) = &located.symbol {
        lines.push(format!("{:<10}{}", "symbol", symbol.describe()));
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
    if let Some(device) = &destination.device {
        lines.push(format!("{:<10}{device}", "dt node"));
    }
    lines
}

/// The `process` object of peek's and poke's `--json` (`null` for a physical address).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ProcessJson {
    pub(crate) pid: i32,
    pub(crate) command: String,
    pub(crate) vaddr: VirtAddr,
    pub(crate) pfn: Option<Pfn>,
    /// Whether the process is a verified physdemo target.
    pub(crate) target: bool,
}

impl ProcessJson {
    pub(crate) fn of(located: &Located) -> Option<ProcessJson> {
        located.process.as_ref().map(|r| ProcessJson {
            pid: r.pid,
            command: r.command.clone(),
            vaddr: r.vaddr,
            pfn: r.pfn(),
            target: located.target.is_some(),
        })
    }
}

/// The `region` object: the innermost /proc/iomem region (`name`, `start` and `end` when
/// there is one) and the PCI function when the address is configuration space.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RegionJson {
    pub(crate) name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) start: Option<Hex>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) end: Option<Hex>,
    pub(crate) description: String,
    pub(crate) pci_config: Option<String>,
    /// The device tree node holding the address (absent where there is none: x86 PCs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) devicetree: Option<DtDevice>,
}

impl From<&Destination> for RegionJson {
    fn from(destination: &Destination) -> Self {
        let region = match &destination.placement {
            Placement::In { region, .. } => Some(region),
            _ => None,
        };
        RegionJson {
            name: region.map(|r| r.name.clone()),
            start: region.map(|r| Hex(r.start)),
            end: region.map(|r| Hex(r.end)),
            description: destination.placement.describe(),
            pci_config: destination.config.as_ref().map(ConfigSpace::describe),
            devicetree: destination.device.clone(),
        }
    }
}

/// The `symbol` object: the kernel symbol named with `--symbol` (`null` without it).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SymbolJson {
    pub(crate) name: String,
    pub(crate) offset: Hex,
    /// The kernel virtual address of NAME+OFF.
    pub(crate) vaddr: Hex,
    /// nm's type letter, as /proc/kallsyms gives it.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// Bytes from the symbol to the next one (`null` for the last).
    pub(crate) size: Option<u64>,
    /// text, rodata, data, bss, init (freed after boot) or image.
    pub(crate) section: &'static str,
    /// The /proc/iomem "Kernel …" range holding it.
    pub(crate) region: Option<String>,
}

impl From<&SymbolLocation> for SymbolJson {
    fn from(symbol: &SymbolLocation) -> Self {
        SymbolJson {
            name: symbol.symbol.name.clone(),
            offset: Hex(symbol.symbol.offset),
            vaddr: Hex(symbol.vaddr),
            kind: symbol.kind.to_string(),
            size: symbol.size,
            section: symbol.section.name(),
            region: symbol.region.clone(),
        }
    }
}

/// A PCI vendor or device id as sysfs and lspci print it: four hex digits, no `0x`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PciId(pub u16);

impl Serialize for PciId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{:04x}", self.0))
    }
}

/// The `pci` object: the `--pci` register (`null` without `--pci`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RegisterJson {
    pub(crate) address: String,
    pub(crate) vendor: PciId,
    pub(crate) device: PciId,
    pub(crate) bar: u8,
    pub(crate) bar_start: Option<Hex>,
    pub(crate) bar_size: Option<u64>,
    pub(crate) offset: Hex,
}

impl From<&Register> for RegisterJson {
    fn from(register: &Register) -> Self {
        let resource = register.resource();
        RegisterJson {
            address: register.device.address.clone(),
            vendor: PciId(register.device.vendor),
            device: PciId(register.device.device),
            bar: register.bar,
            bar_start: resource.map(|r| Hex(r.start)),
            bar_size: resource.map(Resource::size),
            offset: Hex(register.offset),
        }
    }
}
