// SPDX-License-Identifier: MIT OR Apache-2.0
//! PCI devices in sysfs (`/sys/bus/pci/devices`): finding the one `--pci` names and reading
//! its ids and resources (decoded by [`crate::kernel::pci`]). The sysfs directory is
//! injectable with `PHYSDEMO_PCI_SYSFS` for tests.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::error::not_found;
use crate::kernel::pci::{parse_id, parse_resource, PciDevice, Selector};

/// The environment variable that replaces `/sys/bus/pci/devices` (for tests).
pub(crate) const SYSFS_ENV: &str = "PHYSDEMO_PCI_SYSFS";
const SYSFS_PCI: &str = "/sys/bus/pci/devices";

fn sysfs_root() -> PathBuf {
    std::env::var_os(SYSFS_ENV).map_or_else(|| PathBuf::from(SYSFS_PCI), PathBuf::from)
}

fn read_id(dir: &std::path::Path, name: &str) -> Option<u16> {
    std::fs::read_to_string(dir.join(name))
        .ok()
        .and_then(|text| parse_id(&text))
}

/// The vendor and device ids of the function sysfs names `address` (`0000:00:01.0`), if
/// it lists one.
pub(crate) fn ids_of(address: &str) -> Option<(u16, u16)> {
    let dir = sysfs_root().join(address);
    Some((read_id(&dir, "vendor")?, read_id(&dir, "device")?))
}

fn device_list_hint() -> String {
    let root = sysfs_root();
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| {
                    let dir = e.path();
                    let name = e.file_name().to_string_lossy().into_owned();
                    match (read_id(&dir, "vendor"), read_id(&dir, "device")) {
                        (Some(v), Some(d)) => format!("{name} ({v:04x}:{d:04x})"),
                        _ => name,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    if names.is_empty() {
        format!("{} lists no PCI devices on this machine", root.display())
    } else {
        format!("devices here: {}", names.join(", "))
    }
}

/// Finds the device `selector` names in sysfs and reads its resources.
pub(crate) fn find_device(selector: &Selector) -> Result<PciDevice> {
    let root = sysfs_root();
    let address = match selector {
        Selector::Address(address) => {
            if !root.join(address).is_dir() {
                return Err(not_found(format!(
                    "no PCI device {address} ({} does not exist)",
                    root.join(address).display()
                ))
                .hint(device_list_hint())
                .into());
            }
            address.clone()
        }
        Selector::Ids { vendor, device } => {
            let mut matches: Vec<String> = std::fs::read_dir(&root)
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok())
                        .filter(|e| {
                            read_id(&e.path(), "vendor") == Some(*vendor)
                                && read_id(&e.path(), "device") == Some(*device)
                        })
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            matches.sort();
            match matches.into_iter().next() {
                Some(address) => address,
                None => {
                    return Err(not_found(format!(
                        "no PCI device with vendor:device {vendor:04x}:{device:04x}"
                    ))
                    .hint(device_list_hint())
                    .into())
                }
            }
        }
    };
    let dir = root.join(&address);
    let path = dir.join("resource");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let resources = parse_resource(&text)
        .map_err(|why| anyhow::anyhow!("{} is not a PCI resource file: {why}", path.display()))?;
    Ok(PciDevice {
        vendor: read_id(&dir, "vendor").unwrap_or(0),
        device: read_id(&dir, "device").unwrap_or(0),
        address,
        resources,
    })
}

/// The PCI function one of whose memory BARs (0 to 5) holds `paddr`, and that BAR's
/// number: every device of sysfs looked at, in address order.
pub(crate) fn device_with_bar_at(paddr: u64) -> Option<(PciDevice, u8)> {
    let mut names: Vec<String> = std::fs::read_dir(sysfs_root())
        .ok()?
        .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names.into_iter().find_map(|name| {
        let device = find_device(&Selector::Address(name)).ok()?;
        let bar = device
            .resources
            .iter()
            .take(usize::from(crate::kernel::pci::BAR_COUNT))
            .position(|r| r.is_mem() && r.size() > 0 && r.start <= paddr && paddr <= r.end)?;
        Some((device, bar as u8))
    })
}
