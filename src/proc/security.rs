//! This process's standing with the kernel: the lockdown mode
//! (`/sys/kernel/security/lockdown`, securityfs) and its effective capabilities
//! (`/proc/self/status`). Decoded by [`crate::kernel::security`].

use std::os::unix::fs::MetadataExt;

use crate::kernel::security::{parse_cap_eff, parse_lockdown, Capabilities, LockdownMode};

/// Where the kernel shows its lockdown mode.
pub(crate) const LOCKDOWN_PATH: &str = "/sys/kernel/security/lockdown";

/// The lockdown mode, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lockdown {
    Mode(LockdownMode),
    /// The file is missing (no lockdown LSM, or securityfs not mounted) or unreadable.
    Unknown(String),
}

/// Reads the lockdown mode.
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
