// SPDX-License-Identifier: MIT OR Apache-2.0
//! Loaded modules and device numbers: a line of `/proc/modules` and a sysfs `dev` file.
//!
//! `/proc/modules` is written by `m_show()` in `kernel/module/procfs.c` (6.1): the name and
//! size, `print_unload_info()`'s use count and users (`-` for none), the state (`Live`,
//! `Loading`, `Unloading`), the load address (zeros unless the reader may see it) and, when
//! the module tainted the kernel, its taint letters in parentheses (`(OE)`: out of tree,
//! unsigned). A sysfs `dev` file holds `MAJOR:MINOR` and a newline (`print_dev_t()`).

/// One line of `/proc/modules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleLine {
    pub name: String,
    pub size: u64,
    /// How many users hold it (open files, mappings, other modules).
    pub use_count: i64,
    /// `Live`, `Loading` or `Unloading`.
    pub state: String,
    /// The taint letters (`O` out of tree, `E` unsigned), empty when none.
    pub taints: String,
}

/// Finds the module called `name` in `/proc/modules` text.
pub fn find_module(modules: &[u8], name: &str) -> Option<ModuleLine> {
    let text = String::from_utf8_lossy(modules);
    text.lines().find_map(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() != Some(&name) || words.len() < 5 {
            return None;
        }
        let taints = words
            .last()
            .and_then(|w| w.strip_prefix('(')?.strip_suffix(')'))
            .unwrap_or("")
            .to_string();
        let state = words
            .iter()
            .find(|w| matches!(**w, "Live" | "Loading" | "Unloading"))?;
        Some(ModuleLine {
            name: name.to_string(),
            size: words[1].parse().ok()?,
            use_count: words[2].parse().ok()?,
            state: state.to_string(),
            taints,
        })
    })
}

/// Parses a sysfs `dev` file: `(major, minor)`.
pub fn parse_dev_number(text: &[u8]) -> Option<(u32, u32)> {
    let text = std::str::from_utf8(text).ok()?.trim();
    let (major, minor) = text.split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_module_line() {
        // The distro VM with physdemo_mem loaded from extra/unsigned (tainting: O, E).
        let modules = b"physdemo_mem 20480 1 - Live 0x0000000000000000 (OE)\n\
                        physdemo_testdev 16384 0 - Live 0x0000000000000000 (O)\n\
                        edu 16384 0 - Loading 0x0000000000000000\n";
        let line = find_module(modules, "physdemo_mem").unwrap();
        assert_eq!(
            line,
            ModuleLine {
                name: "physdemo_mem".into(),
                size: 20480,
                use_count: 1,
                state: "Live".into(),
                taints: "OE".into(),
            }
        );
        assert_eq!(
            find_module(modules, "physdemo_testdev").unwrap().taints,
            "O"
        );
        let edu = find_module(modules, "edu").unwrap();
        assert_eq!((edu.state.as_str(), edu.taints.as_str()), ("Loading", ""));
        assert_eq!(find_module(modules, "physdemo"), None);
        assert_eq!(
            find_module(b"physdemo_mem x 1 - Live 0x0\n", "physdemo_mem"),
            None
        );
    }

    #[test]
    fn reads_device_numbers() {
        assert_eq!(parse_dev_number(b"10:123\n"), Some((10, 123)));
        assert_eq!(parse_dev_number(b"1:1"), Some((1, 1)));
        assert_eq!(parse_dev_number(b"10-123\n"), None);
        assert_eq!(parse_dev_number(b"10:x\n"), None);
    }
}
