// SPDX-License-Identifier: MIT OR Apache-2.0
//! The kernel's lockdown mode, as `/sys/kernel/security/lockdown` shows it.
//!
//! The lockdown LSM (`security/lockdown/lockdown.c`, `lockdown_read`) prints its three levels
//! on one line, the one in force in brackets: `none [integrity] confidentiality`. Any level
//! above `none` refuses what could change the running kernel from user space, even to root:
//! `/dev/mem`, `/dev/kmem` and `/dev/port` (`LOCKDOWN_DEV_MEM`, checked when they are opened)
//! and `ioperm`/`iopl` (`LOCKDOWN_IOPORT`), both below `LOCKDOWN_INTEGRITY_MAX`
//! (`include/linux/security.h`). [`parse_lockdown`] is the pure decoder; reading the file is
//! [`crate::proc::lockdown`]'s, so that every explanation of an `EPERM` can name the mode.

use std::fmt;

/// The lockdown level in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LockdownMode {
    /// Not locked down.
    None,
    /// No changes to the running kernel from user space: no /dev/mem, /dev/port, ioperm,
    /// unsigned modules.
    Integrity,
    /// Integrity, and no reading of kernel memory either (/proc/kcore, kprobes, ...).
    Confidentiality,
}

impl LockdownMode {
    /// The mode as the kernel names it (`lockdown=` on the command line).
    pub fn name(self) -> &'static str {
        match self {
            LockdownMode::None => "none",
            LockdownMode::Integrity => "integrity",
            LockdownMode::Confidentiality => "confidentiality",
        }
    }

    /// Whether this mode refuses raw hardware access from user space (/dev/mem, /dev/port,
    /// ioperm and iopl): every mode but `none`.
    pub fn refuses_raw_io(self) -> bool {
        self != LockdownMode::None
    }
}

impl fmt::Display for LockdownMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The bracketed level of `/sys/kernel/security/lockdown`'s line, or `None` when the text
/// is not that line (no bracketed word, or one the kernel does not print).
pub fn parse_lockdown(text: &[u8]) -> Option<LockdownMode> {
    let text = std::str::from_utf8(text).ok()?;
    let mut current = text
        .split_ascii_whitespace()
        .filter_map(|word| word.strip_prefix('[')?.strip_suffix(']'));
    let mode = match current.next()? {
        "none" => LockdownMode::None,
        "integrity" => LockdownMode::Integrity,
        "confidentiality" => LockdownMode::Confidentiality,
        _ => return None,
    };
    // exactly one level is in force
    current.next().is_none().then_some(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_bracketed_level_as_the_kernel_prints_it() {
        // as the project's distro VM prints it, without and with lockdown=integrity
        assert_eq!(
            parse_lockdown(b"[none] integrity confidentiality\n"),
            Some(LockdownMode::None)
        );
        assert_eq!(
            parse_lockdown(b"none [integrity] confidentiality\n"),
            Some(LockdownMode::Integrity)
        );
        assert_eq!(
            parse_lockdown(b"none integrity [confidentiality]"),
            Some(LockdownMode::Confidentiality)
        );
        for bad in [
            &b""[..],
            b"none integrity confidentiality\n",
            b"[none] [integrity] confidentiality\n",
            b"none [paranoid] confidentiality\n",
            b"\xff[none]",
        ] {
            assert_eq!(
                parse_lockdown(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(!LockdownMode::None.refuses_raw_io());
        assert!(LockdownMode::Integrity.refuses_raw_io());
        assert!(LockdownMode::Confidentiality.refuses_raw_io());
        assert_eq!(LockdownMode::Integrity.to_string(), "integrity");
    }
}
