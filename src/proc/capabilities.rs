// SPDX-License-Identifier: MIT OR Apache-2.0
//! This process's standing with the kernel: its effective capabilities (`/proc/self/status`,
//! decoded by [`crate::kernel::capabilities`]) and whether it runs as root.

use std::os::unix::fs::MetadataExt;

use crate::kernel::capabilities::{parse_cap_eff, Capabilities};

/// This process's effective capabilities; none when the status file cannot be read.
pub(crate) fn own_capabilities() -> Capabilities {
    std::fs::read("/proc/self/status")
        .ok()
        .and_then(|status| parse_cap_eff(&status))
        .unwrap_or(Capabilities(0))
}

/// Whether this process runs as root (uid 0).
pub(crate) fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
