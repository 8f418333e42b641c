// SPDX-License-Identifier: MIT OR Apache-2.0
//! Reading the kernel's lockdown mode from `/sys/kernel/security/lockdown` (decoded by
//! [`crate::kernel::lockdown`]), for the explanations of what the kernel refused, and, for
//! `physdemo doctor`, why it could not be read.

use crate::kernel::lockdown::{parse_lockdown, LockdownMode};

/// Where the kernel shows its lockdown mode.
pub(crate) const LOCKDOWN_PATH: &str = "/sys/kernel/security/lockdown";

/// The lockdown mode in force, or `None` when it cannot be told: a kernel without the
/// lockdown LSM, securityfs not mounted, or a line that is not the kernel's.
pub(crate) fn lockdown_mode() -> Option<LockdownMode> {
    parse_lockdown(&std::fs::read(LOCKDOWN_PATH).ok()?)
}

/// The lockdown mode, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lockdown {
    Mode(LockdownMode),
    /// The file is missing (no lockdown LSM, or securityfs not mounted) or not the kernel's.
    Unknown(String),
}

/// Reads the lockdown mode, saying why when it cannot.
pub(crate) fn lockdown() -> Lockdown {
    match std::fs::read(LOCKDOWN_PATH) {
        Ok(text) => match parse_lockdown(&text) {
            Some(mode) => Lockdown::Mode(mode),
            None => Lockdown::Unknown(format!(
                "{LOCKDOWN_PATH} reads '{}'",
                String::from_utf8_lossy(&text).trim()
            )),
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let mounted = std::fs::read_to_string("/proc/mounts")
                .is_ok_and(|m| m.lines().any(|l| l.contains(" securityfs ")));
            Lockdown::Unknown(if mounted {
                format!("no {LOCKDOWN_PATH}: this kernel has no lockdown LSM, so no lockdown")
            } else {
                format!("no {LOCKDOWN_PATH}: securityfs is not mounted (mount -t securityfs none /sys/kernel/security)")
            })
        }
        Err(err) => Lockdown::Unknown(format!("{LOCKDOWN_PATH}: {err}")),
    }
}
