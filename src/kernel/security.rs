//! What the kernel lets this process do to physical memory: the lockdown mode
//! (`/sys/kernel/security/lockdown`) and the effective capabilities (`CapEff` in
//! `/proc/self/status`).
//!
//! `/sys/kernel/security/lockdown` is written by `lockdown_read()` in
//! `security/lockdown/lockdown.c`: every level the kernel knows, separated by spaces, the
//! current one in brackets, the last space turned into a newline:
//! `none [integrity] confidentiality\n`. Under `integrity` and above, `/dev/mem`, `/dev/kmem`
//! and `/dev/port` cannot be opened (`LOCKDOWN_DEV_MEM`, drivers/char/mem.c `open_port()`),
//! nor `ioperm`/`iopl` be used, and only signed modules load.
//!
//! `CapEff` is a 64-bit hex mask (`fs/proc/array.c`, `render_cap_t`); the bit numbers are
//! those of `include/uapi/linux/capability.h`.

use std::fmt;

/// The kernel lockdown level in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockdownMode {
    /// No lockdown.
    None,
    /// Integrity: user space may not modify the running kernel (/dev/mem, /dev/port,
    /// ioperm, unsigned modules, kexec of unsigned images, ...).
    Integrity,
    /// Confidentiality: integrity, and user space may not read kernel memory either.
    Confidentiality,
}

impl LockdownMode {
    /// The kernel's own name of the level.
    pub fn name(self) -> &'static str {
        match self {
            LockdownMode::None => "none",
            LockdownMode::Integrity => "integrity",
            LockdownMode::Confidentiality => "confidentiality",
        }
    }

    /// Whether /dev/mem, /dev/port and /dev/physmem are closed (integrity and above).
    pub fn forbids_dev_mem(self) -> bool {
        self != LockdownMode::None
    }
}

impl fmt::Display for LockdownMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses `/sys/kernel/security/lockdown`: the bracketed level; `None` when no level is in
/// brackets or the bracketed one is unknown.
pub fn parse_lockdown(text: &[u8]) -> Option<LockdownMode> {
    let text = std::str::from_utf8(text).ok()?;
    let current = text
        .split_whitespace()
        .find_map(|word| word.strip_prefix('[')?.strip_suffix(']'))?;
    match current {
        "none" => Some(LockdownMode::None),
        "integrity" => Some(LockdownMode::Integrity),
        "confidentiality" => Some(LockdownMode::Confidentiality),
        _ => None,
    }
}

/// A capability's bit number (include/uapi/linux/capability.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Loading and unloading modules.
    SysModule = 16,
    /// /dev/mem, /dev/port, ioperm (and /dev/physmem, which checks it at open).
    SysRawio = 17,
    /// Real PFNs in /proc/<pid>/pagemap, /proc/kpageflags, /proc/kpagecount.
    SysAdmin = 21,
}

impl Capability {
    pub fn name(self) -> &'static str {
        match self {
            Capability::SysModule => "CAP_SYS_MODULE",
            Capability::SysRawio => "CAP_SYS_RAWIO",
            Capability::SysAdmin => "CAP_SYS_ADMIN",
        }
    }
}

/// A set of capabilities, as a `CapEff` mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities(pub u64);

impl Capabilities {
    pub fn has(self, cap: Capability) -> bool {
        self.0 >> (cap as u32) & 1 == 1
    }
}

/// The `CapEff:` mask of a `/proc/<pid>/status` text.
pub fn parse_cap_eff(status: &[u8]) -> Option<Capabilities> {
    let text = std::str::from_utf8(status).ok()?;
    let hex = text
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))?
        .trim();
    u64::from_str_radix(hex, 16).ok().map(Capabilities)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_bracketed_lockdown_level() {
        assert_eq!(
            parse_lockdown(b"[none] integrity confidentiality\n"),
            Some(LockdownMode::None)
        );
        assert_eq!(
            parse_lockdown(b"none [integrity] confidentiality\n"),
            Some(LockdownMode::Integrity)
        );
        assert_eq!(
            parse_lockdown(b"none integrity [confidentiality]\n"),
            Some(LockdownMode::Confidentiality)
        );
        assert_eq!(parse_lockdown(b"none integrity confidentiality\n"), None);
        assert_eq!(parse_lockdown(b"[paranoid]\n"), None);
        assert_eq!(parse_lockdown(b"\xff[none]"), None);
        assert!(!LockdownMode::None.forbids_dev_mem());
        assert!(LockdownMode::Integrity.forbids_dev_mem());
        assert_eq!(LockdownMode::Confidentiality.to_string(), "confidentiality");
    }

    #[test]
    fn reads_effective_capabilities() {
        let root =
            parse_cap_eff(b"Name:\tcat\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n")
                .unwrap();
        assert!(root.has(Capability::SysRawio) && root.has(Capability::SysAdmin));
        // root with CAP_SYS_RAWIO (bit 17) dropped: 0x1fffffdffff
        let no_rawio = parse_cap_eff(b"CapEff:\t000001fffffdffff\n").unwrap();
        assert!(!no_rawio.has(Capability::SysRawio));
        assert!(no_rawio.has(Capability::SysAdmin) && no_rawio.has(Capability::SysModule));
        let user = parse_cap_eff(b"CapEff:\t0000000000000000\n").unwrap();
        assert!(!user.has(Capability::SysAdmin));
        assert_eq!(parse_cap_eff(b"CapEff:\tzz\n"), None);
        assert_eq!(parse_cap_eff(b"Name:\tx\n"), None);
        assert_eq!(Capability::SysRawio.name(), "CAP_SYS_RAWIO");
    }
}
