// SPDX-License-Identifier: MIT OR Apache-2.0
//! Reading the system's I/O port map, `/proc/ioports` (decoded by [`crate::kernel::ioports`]).
//! The file read is injectable with `PHYSDEMO_IOPORTS` so tests can exercise the port write
//! policy with a crafted map.

use anyhow::{Context, Result};

use crate::kernel::iomem::Placement;
use crate::kernel::ioports::{IoportMap, Port};

/// The environment variable that replaces `/proc/ioports` (for tests).
pub(crate) const IOPORTS_ENV: &str = "PHYSDEMO_IOPORTS";
const IOPORTS_PATH: &str = "/proc/ioports";

/// Reads `/proc/ioports` (or the file named by `PHYSDEMO_IOPORTS`).
pub(crate) fn read_port_map() -> Result<IoportMap> {
    let path = std::env::var_os(IOPORTS_ENV).unwrap_or_else(|| IOPORTS_PATH.into());
    let path = std::path::Path::new(&path);
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    IoportMap::parse(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Places `port` in the system's port map, turning a read failure into
/// [`Placement::Unreadable`].
pub(crate) fn place_port(port: Port) -> Placement {
    match read_port_map() {
        Ok(map) => map.place(port),
        Err(err) => Placement::Unreadable(format!("{err:#}")),
    }
}
