// SPDX-License-Identifier: MIT OR Apache-2.0
//! The kernel's build configuration, as `/proc/config.gz` (CONFIG_IKCONFIG_PROC, once
//! gunzipped) and `/boot/config-<release>` hold it.
//!
//! The format is what `scripts/kconfig/confdata.c` writes: one `CONFIG_NAME=VALUE` per line
//! (`y`, `m`, a number or a quoted string), `# CONFIG_NAME is not set` for a bool or tristate
//! that is off, and comments. A symbol whose dependencies are not met is not written at
//! all (`IO_STRICT_DEVMEM` without `STRICT_DEVMEM`): it is off too, but [`Setting::Absent`]
//! keeps that case apart, so a report can say which it was.

use std::collections::BTreeMap;
use std::fmt;

/// One symbol's setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// `=y`: built in.
    Yes,
    /// `=m`: a module.
    Module,
    /// `# CONFIG_NAME is not set`.
    NotSet,
    /// Not in the file: its dependencies are not met, so it is off.
    Absent,
    /// Any other value (a number, a string with its quotes).
    Value(String),
}

impl Setting {
    /// Built in or a module.
    pub fn is_on(&self) -> bool {
        matches!(self, Setting::Yes | Setting::Module)
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Setting::Yes => f.write_str("y"),
            Setting::Module => f.write_str("m"),
            Setting::NotSet => f.write_str("not set"),
            Setting::Absent => f.write_str("absent"),
            Setting::Value(value) => f.write_str(value),
        }
    }
}

/// A parsed configuration: symbol names without the `CONFIG_` prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelConfig {
    symbols: BTreeMap<String, Setting>,
}

impl KernelConfig {
    /// Parses config text. Lines that are neither a setting nor a `not set` comment are
    /// skipped (comments, blank lines); a line that is not UTF-8 is skipped too.
    pub fn parse(text: &[u8]) -> KernelConfig {
        let mut symbols = BTreeMap::new();
        for line in text.split(|&b| b == b'\n') {
            let Ok(line) = std::str::from_utf8(line) else {
                continue;
            };
            let line = line.trim_end();
            if let Some(name) = line
                .strip_prefix("# CONFIG_")
                .and_then(|rest| rest.strip_suffix(" is not set"))
            {
                symbols.insert(name.to_string(), Setting::NotSet);
            } else if let Some((name, value)) = line
                .strip_prefix("CONFIG_")
                .and_then(|rest| rest.split_once('='))
            {
                let setting = match value {
                    "y" => Setting::Yes,
                    "m" => Setting::Module,
                    other => Setting::Value(other.to_string()),
                };
                symbols.insert(name.to_string(), setting);
            }
        }
        KernelConfig { symbols }
    }

    /// The setting of `name` (without `CONFIG_`).
    pub fn get(&self, name: &str) -> Setting {
        self.symbols.get(name).cloned().unwrap_or(Setting::Absent)
    }

    /// How many symbols the file set or left off.
    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_settings_not_set_lines_and_absent_symbols() {
        // From the distro VM's /proc/config.gz (and a host's, for DEVMEM off).
        let config = KernelConfig::parse(
            b"#\n# Automatically generated file; DO NOT EDIT.\n#\nCONFIG_DEVMEM=y\n\
              CONFIG_STRICT_DEVMEM=y\nCONFIG_IO_STRICT_DEVMEM=y\n# CONFIG_MODULE_SIG_FORCE is not set\n\
              CONFIG_MODULE_SIG_HASH=\"sha256\"\nCONFIG_NR_CPUS=64\nCONFIG_VIRTIO=m\n\n",
        );
        assert_eq!(config.get("DEVMEM"), Setting::Yes);
        assert!(config.get("STRICT_DEVMEM").is_on());
        assert_eq!(config.get("MODULE_SIG_FORCE"), Setting::NotSet);
        assert!(!config.get("MODULE_SIG_FORCE").is_on());
        assert_eq!(
            config.get("MODULE_SIG_HASH"),
            Setting::Value("\"sha256\"".into())
        );
        assert_eq!(config.get("NR_CPUS").to_string(), "64");
        assert_eq!(config.get("VIRTIO"), Setting::Module);
        assert!(config.get("VIRTIO").is_on());
        assert_eq!(config.get("X86_PAT"), Setting::Absent);
        assert!(!config.get("X86_PAT").is_on());
        assert_eq!(config.len(), 7);
        let off = KernelConfig::parse(b"# CONFIG_DEVMEM is not set\r\n# CONFIG_MODULES is not set");
        assert_eq!(off.get("DEVMEM"), Setting::NotSet);
        assert_eq!(off.get("MODULES").to_string(), "not set");
        assert!(KernelConfig::parse(b"\xff\xfe\n").is_empty());
    }
}
