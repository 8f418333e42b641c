// SPDX-License-Identifier: MIT OR Apache-2.0
//! Where this machine's PCI configuration space is: the ACPI MCFG table (root only) and the
//! `PCI MMCONFIG`/`PCI ECAM` ranges of /proc/iomem, decoded by [`crate::kernel::ecam`].
//! `PHYSDEMO_MCFG` replaces the MCFG path (for tests).

use crate::kernel::addr::PhysAddr;
use crate::kernel::ecam::{locate, parse_mcfg, window_of_iomem_region, ConfigSpace, EcamWindow};
use crate::kernel::iomem::IomemMap;

/// The environment variable that replaces `/sys/firmware/acpi/tables/MCFG` (for tests).
pub(crate) const MCFG_ENV: &str = "PHYSDEMO_MCFG";
const MCFG_PATH: &str = "/sys/firmware/acpi/tables/MCFG";

/// The ECAM windows of this machine: the MCFG table's (when readable) and /proc/iomem's.
pub(crate) fn system_windows(map: Option<&IomemMap>) -> Vec<EcamWindow> {
    let path = std::env::var_os(MCFG_ENV).unwrap_or_else(|| MCFG_PATH.into());
    let mut windows = std::fs::read(path)
        .ok()
        .and_then(|bytes| parse_mcfg(&bytes).ok())
        .unwrap_or_default();
    if let Some(map) = map {
        windows.extend(
            map.regions
                .iter()
                .filter_map(|r| window_of_iomem_region(&r.name, r.start, r.end)),
        );
    }
    windows
}

/// Whether `addr` is PCI configuration space on this machine, and whose.
pub(crate) fn find_in_system(addr: PhysAddr) -> Option<ConfigSpace> {
    let map = crate::proc::iomem::read_system_map().ok();
    let (window, address) = locate(&system_windows(map.as_ref()), addr)?;
    let ids = crate::proc::pci::ids_of(&address.to_string());
    Some(ConfigSpace {
        window,
        address,
        ids,
    })
}
