//! Reading the system's physical address map, `/proc/iomem` (decoded by
//! [`crate::kernel::iomem`]). The file read is injectable with `PHYSDEMO_IOMEM` so tests can
//! exercise the write policy with a crafted map.

use anyhow::{Context, Result};

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

/// Places `addr` in the system's map, turning a read failure into [`Placement::Unreadable`].
pub(crate) fn place_in_system_map(addr: PhysAddr) -> Placement {
    match read_system_map() {
        Ok(map) => map.place(addr),
        Err(err) => Placement::Unreadable(format!("{err:#}")),
    }
}
