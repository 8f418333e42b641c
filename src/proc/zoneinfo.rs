// SPDX-License-Identifier: MIT OR Apache-2.0
//! `/proc/zoneinfo`, read for the NUMA node and zone of a frame (decoded by
//! [`crate::kernel::zoneinfo`]).

use crate::kernel::zoneinfo::{parse_zoneinfo, Zone};

/// The zones of every node, or why they cannot be read.
pub(crate) fn zones() -> Result<Vec<Zone>, String> {
    std::fs::read("/proc/zoneinfo")
        .map(|text| parse_zoneinfo(&text))
        .map_err(|err| format!("/proc/zoneinfo cannot be read: {err}"))
}
