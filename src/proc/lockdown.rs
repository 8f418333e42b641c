//! Reading the kernel's lockdown mode from `/sys/kernel/security/lockdown` (decoded by
//! [`crate::kernel::lockdown`]), for the explanations of what the kernel refused.

use crate::kernel::lockdown::{parse_lockdown, LockdownMode};

const LOCKDOWN_PATH: &str = "/sys/kernel/security/lockdown";

/// The lockdown mode in force, or `None` when it cannot be told: a kernel without the
/// lockdown LSM, securityfs not mounted, or a line that is not the kernel's.
pub(crate) fn lockdown_mode() -> Option<LockdownMode> {
    parse_lockdown(&std::fs::read(LOCKDOWN_PATH).ok()?)
}
