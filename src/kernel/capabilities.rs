// SPDX-License-Identifier: MIT OR Apache-2.0
//! This process's effective capabilities, `CapEff` in `/proc/<pid>/status`: a 64-bit hex
//! mask (`fs/proc/array.c`, `render_cap_t`) whose bit numbers are those of
//! `include/uapi/linux/capability.h`. (The lockdown mode is [`crate::kernel::lockdown`]'s.)

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
