// SPDX-License-Identifier: MIT OR Apache-2.0
//! Reading the system's physical address map, `/proc/iomem` (decoded by
//! [`crate::kernel::iomem`]). The file read is injectable with `PHYSDEMO_IOMEM` so tests can
//! exercise the write policy with a crafted map.

use anyhow::{Context, Result};

use crate::error::permission;
use crate::kernel::addr::PhysAddr;
use crate::kernel::iomem::{IomemMap, Placement};

/// The environment variable that replaces `/proc/iomem` (for tests).
pub(crate) const IOMEM_ENV: &str = "PHYSDEMO_IOMEM";
const IOMEM_PATH: &str = "/proc/iomem";

/// Reads `/proc/iomem` (or the file named by `PHYSDEMO_IOMEM`).
pub(crate) fn read_system_map() -> Result<IomemMap> {
    let path = std::env::var_os(IOMEM_ENV).unwrap_or_else(|| IOMEM_PATH.into());
    let path = std::path::Path::new(&path);
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    IomemMap::parse(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Reads the map for a command that needs its addresses: without root every range reads
/// as 0, which is an error here (`what` names the command).
pub(crate) fn read_shown_map(what: &str) -> Result<IomemMap> {
    let map = read_system_map()?;
    if map.is_hidden() {
        return Err(
            permission("/proc/iomem shows every range as 0 to a reader without root")
                .hint(format!(
                    "run with sudo: {what} needs the real ranges of physical memory"
                ))
                .into(),
        );
    }
    Ok(map)
}

/// Places `addr` in the system's map, turning a read failure into [`Placement::Unreadable`].
pub(crate) fn place_in_system_map(addr: PhysAddr) -> Placement {
    match read_system_map() {
        Ok(map) => map.place(addr),
        Err(err) => Placement::Unreadable(format!("{err:#}")),
    }
}
