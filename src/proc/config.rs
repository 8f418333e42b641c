// SPDX-License-Identifier: MIT OR Apache-2.0
//! The running kernel's build configuration, where the system keeps a copy:
//! `/proc/config.gz` (CONFIG_IKCONFIG_PROC, gzip) or `/boot/config-<release>` (what
//! Debian, Ubuntu and Fedora install beside the kernel). Decoded by
//! [`crate::kernel::config`].

use std::io::Read;
use std::path::PathBuf;

use crate::kernel::config::KernelConfig;

/// The running kernel's release (`uname -r`), from `/proc/sys/kernel/osrelease`.
pub(crate) fn kernel_release() -> Option<String> {
    let text = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    Some(text.trim().to_string()).filter(|r| !r.is_empty())
}

/// The configuration and the file it came from; `None` when neither file is there or
/// readable.
pub(crate) fn read_kernel_config() -> Option<(PathBuf, KernelConfig)> {
    let gz = PathBuf::from("/proc/config.gz");
    if let Ok(file) = std::fs::File::open(&gz) {
        let mut text = Vec::new();
        if flate2::read::GzDecoder::new(file)
            .read_to_end(&mut text)
            .is_ok()
        {
            return Some((gz, KernelConfig::parse(&text)));
        }
    }
    let boot = PathBuf::from(format!("/boot/config-{}", kernel_release()?));
    let text = std::fs::read(&boot).ok()?;
    Some((boot, KernelConfig::parse(&text)))
}
