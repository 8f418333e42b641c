// SPDX-License-Identifier: MIT OR Apache-2.0
//! Loaded modules and device numbers: a line of `/proc/modules` and a sysfs `dev` file.
//!
//! `/proc/modules` is written by `m_show()` in `kernel/module/procfs.c` (6.1): the name and
//! size, `print_unload_info()`'s use count and users (`-` for none), the state (`Live`,
//! `Loading`, `Unloading`), the load address (zeros unless the reader may see it) and, when
//! the module tainted the kernel, its taint letters in parentheses (`(OE)`: out of tree,
//! unsigned). A sysfs `dev` file holds `MAJOR:MINOR` and a newline (`print_dev_t()`).
//!
//! Installed modules: `modules.dep` (written by kmod's depmod) has one line per module file,
//! `PATH: DEPENDENCY...`, PATH relative to `/lib/modules/<release>/` (`extra/NAME.ko`,
//! `updates/dkms/NAME.ko.xz`) or absolute; the file name may spell the module's `_` as `-`.
//! DKMS marks a module package installed for a kernel with the symbolic link
//! `/var/lib/dkms/PACKAGE/kernel-RELEASE-ARCH` → `VERSION/RELEASE/ARCH` (`dkms install`,
//! DKMS 2 and 3).

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

/// The module file extensions depmod knows: plain and compressed.
const MODULE_SUFFIXES: [&str; 4] = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"];

/// The path `modules.dep` gives the module called `name` (as written: relative to
/// `/lib/modules/<release>/`, or absolute), `None` when no line names it.
pub fn find_in_modules_dep(dep: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(dep);
    let wanted = name.replace('-', "_");
    text.lines().find_map(|line| {
        let (path, _) = line.split_once(':')?;
        let file = path.trim().rsplit('/').next()?;
        let stem = MODULE_SUFFIXES
            .iter()
            .find_map(|suffix| file.strip_suffix(suffix))?;
        (stem.replace('-', "_") == wanted).then(|| path.trim().to_string())
    })
}

/// The version a DKMS install link names: its target `VERSION/RELEASE/ARCH` (or an absolute
/// path ending so) for the kernel `release` on `arch`; `None` for anything else.
pub fn dkms_link_version(target: &str, release: &str, arch: &str) -> Option<String> {
    let parts: Vec<&str> = target.trim_end_matches('/').split('/').collect();
    let [.., version, rel, a] = parts.as_slice() else {
        return None;
    };
    let plausible = !version.is_empty() && *version != "." && *version != "..";
    (plausible && *rel == release && *a == arch).then(|| version.to_string())
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

    #[test]
    fn finds_a_module_in_modules_dep() {
        // The distro VM with physdemo-dkms installed: DKMS's updates/dkms beside extra/.
        let dep = b"kernel/drivers/misc/edu.ko:\n\
                    updates/dkms/physdemo_mem.ko:\n\
                    updates/dkms/physdemo_buf.ko.xz: kernel/lib/foo.ko\n\
                    extra/physdemo-testdev.ko.zst:\n\
                    /opt/mods/other.ko.gz:\n";
        assert_eq!(
            find_in_modules_dep(dep, "physdemo_mem").as_deref(),
            Some("updates/dkms/physdemo_mem.ko")
        );
        assert_eq!(
            find_in_modules_dep(dep, "physdemo_buf").as_deref(),
            Some("updates/dkms/physdemo_buf.ko.xz")
        );
        // A file name may spell `_` as `-`; the dependency list is not a module of its own.
        assert_eq!(
            find_in_modules_dep(dep, "physdemo_testdev").as_deref(),
            Some("extra/physdemo-testdev.ko.zst")
        );
        assert_eq!(
            find_in_modules_dep(dep, "other").as_deref(),
            Some("/opt/mods/other.ko.gz")
        );
        assert_eq!(find_in_modules_dep(dep, "foo"), None);
        assert_eq!(find_in_modules_dep(dep, "physdemo"), None);
        assert_eq!(
            find_in_modules_dep(b"physdemo_mem.ko\n", "physdemo_mem"),
            None
        );
        assert_eq!(
            find_in_modules_dep(b"extra/physdemo_mem.o:\n", "physdemo_mem"),
            None
        );
    }

    #[test]
    fn reads_the_version_of_a_dkms_install_link() {
        let rel = "6.1.192-physdemo-distro";
        assert_eq!(
            dkms_link_version("0.1.0/6.1.192-physdemo-distro/x86_64", rel, "x86_64").as_deref(),
            Some("0.1.0")
        );
        assert_eq!(
            dkms_link_version(
                "/var/lib/dkms/physdemo/0.2.0-rc1/6.1.192-physdemo-distro/x86_64/",
                rel,
                "x86_64"
            )
            .as_deref(),
            Some("0.2.0-rc1")
        );
        // Another kernel's or another machine's link, or no version: not this install.
        assert_eq!(
            dkms_link_version("0.1.0/6.1.0-13-amd64/x86_64", rel, "x86_64"),
            None
        );
        assert_eq!(
            dkms_link_version("0.1.0/6.1.192-physdemo-distro/aarch64", rel, "x86_64"),
            None
        );
        assert_eq!(
            dkms_link_version("6.1.192-physdemo-distro/x86_64", rel, "x86_64"),
            None
        );
        assert_eq!(
            dkms_link_version("../6.1.192-physdemo-distro/x86_64", rel, "x86_64"),
            None
        );
        assert_eq!(dkms_link_version("", rel, "x86_64"), None);
    }
}
