// SPDX-License-Identifier: MIT OR Apache-2.0
//! The device tree the kernel was given, as it exports it under `/proc/device-tree` (a
//! link to /sys/firmware/devicetree/base; arm64 and other device-tree machines, absent
//! on x86 PCs): which node's `reg` holds a physical address. Decoded by
//! [`crate::kernel::devicetree`].

use std::path::Path;

use crate::kernel::devicetree::{decode_cells, decode_compatible, decode_reg, DtDevice};

const ROOT: &str = "/proc/device-tree";

/// The device tree node whose `reg` holds `addr`, looked for at the root and in nodes
/// whose parent maps addresses one to one (an empty `ranges`: `simple-bus` children);
/// `None` where there is no device tree or no node holds it.
pub(crate) fn device_at(addr: u64) -> Option<DtDevice> {
    let root = Path::new(ROOT);
    if !root.is_dir() {
        return None;
    }
    search(root, "", addr, 0)
}

fn search(dir: &Path, path: &str, addr: u64, depth: usize) -> Option<DtDevice> {
    // The defaults of the specification when a node does not say.
    let address_cells = cells(dir, "#address-cells").unwrap_or(2);
    let size_cells = cells(dir, "#size-cells").unwrap_or(1);
    let mut children: Vec<_> = std::fs::read_dir(dir).ok()?.flatten().collect();
    children.sort_by_key(|e| e.file_name());
    for child in children.iter().filter(|e| e.path().is_dir()) {
        let name = child.file_name().to_string_lossy().into_owned();
        let node = format!("{path}/{name}");
        let here = child.path();
        if let Some(reg) = std::fs::read(here.join("reg"))
            .ok()
            .and_then(|bytes| decode_reg(&bytes, address_cells, size_cells))
        {
            let compatible = std::fs::read(here.join("compatible"))
                .map(|b| decode_compatible(&b))
                .unwrap_or_default();
            if let Some(found) = DtDevice::at(addr, &node, compatible, &reg) {
                if name.starts_with("memory") {
                    return None; // RAM, not a device: /proc/iomem says it better
                }
                return Some(found);
            }
        }
        let one_to_one = std::fs::read(here.join("ranges")).is_ok_and(|r| r.is_empty());
        if depth < 3 && one_to_one {
            if let Some(found) = search(&here, &node, addr, depth + 1) {
                return Some(found);
            }
        }
    }
    None
}

fn cells(dir: &Path, name: &str) -> Option<u32> {
    decode_cells(&std::fs::read(dir.join(name)).ok()?)
}
