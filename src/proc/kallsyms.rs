// SPDX-License-Identifier: MIT OR Apache-2.0
//! Reading `/proc/kallsyms` (decoded by [`crate::kernel::kallsyms`]) and the setting that
//! hides its addresses, `kernel.kptr_restrict`. The file read is injectable with
//! `PHYSDEMO_KALLSYMS` so tests can place symbols in a crafted kernel image.

use anyhow::{Context, Result};

/// The environment variable that replaces `/proc/kallsyms` (for tests).
pub(crate) const KALLSYMS_ENV: &str = "PHYSDEMO_KALLSYMS";
const KALLSYMS_PATH: &str = "/proc/kallsyms";
const KPTR_RESTRICT_PATH: &str = "/proc/sys/kernel/kptr_restrict";

/// Reads `/proc/kallsyms` (or the file named by `PHYSDEMO_KALLSYMS`) whole: some 5 MB on
/// a distribution kernel, which the kernel makes in one pass.
pub(crate) fn read_kallsyms() -> Result<Vec<u8>> {
    let path = std::env::var_os(KALLSYMS_ENV).unwrap_or_else(|| KALLSYMS_PATH.into());
    let path = std::path::Path::new(&path);
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// `kernel.kptr_restrict`: 0 shows addresses to everyone allowed to open the file, 1 to
/// readers with CAP_SYSLOG, 2 to nobody. `None` where it cannot be read.
pub(crate) fn kptr_restrict() -> Option<u8> {
    std::fs::read_to_string(KPTR_RESTRICT_PATH)
        .ok()?
        .trim()
        .parse()
        .ok()
}
