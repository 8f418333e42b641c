// SPDX-License-Identifier: MIT OR Apache-2.0
//! Decoding `/proc/<pid>/maps`: the mappings of a process, and how each is named.
//!
//! Parsing is the procfs crate's, made safe here for the pathnames it would panic on; the
//! file read and the errors a user acts on are [`crate::proc::process`]'s.

use anyhow::Result;
use procfs::process::{MMapPath, MemoryMap};
use procfs::FromBufRead;
use serde::Serialize;

use crate::kernel::addr::{Hex, VirtAddr};

/// Parses the text of a `/proc/<pid>/maps` file with the procfs crate, after making safe
/// the pathnames that crate cannot take: it slices `/SYSV…` and `[stack:…` names by byte
/// position and panics on short or malformed ones (found by `fuzz/` target `maps`), and it
/// rejects names that are not UTF-8. Any file can be mapped under such a name, so a hostile
/// process could otherwise stop `maps` or `owner`; such a name is shown as `[unparsed …]`.
pub fn parse_maps(text: &[u8]) -> Result<Vec<MemoryMap>> {
    let text = String::from_utf8_lossy(text);
    let mut safe = String::with_capacity(text.len());
    for line in text.lines() {
        safe.push_str(&safe_maps_line(line));
        safe.push('\n');
    }
    let maps = procfs::process::MemoryMaps::from_buf_read(safe.as_bytes())?;
    Ok(maps.0)
}

/// One maps line, its pathname replaced when procfs would panic on it. The pathname is
/// found exactly as procfs finds it: what follows the fifth single space, trimmed.
fn safe_maps_line(line: &str) -> std::borrow::Cow<'_, str> {
    let fields: Vec<&str> = line.splitn(6, ' ').collect();
    let Some(raw_path) = fields.get(5) else {
        return line.into();
    };
    let path = raw_path.trim();
    let sysv_ok = |p: &str| p.len() >= 13 && p.as_bytes()[5..13].iter().all(u8::is_ascii_hexdigit);
    let stack_ok = |p: &str| {
        p.strip_prefix("[stack:")
            .and_then(|t| t.strip_suffix(']'))
            .is_some_and(|tid| tid.parse::<u32>().is_ok())
    };
    let risky = (path.starts_with("/SYSV") && !sysv_ok(path))
        || (path.starts_with("[stack:") && !stack_ok(path));
    if !risky {
        return line.into();
    }
    format!(
        "{} [unparsed {}]",
        fields[..5].join(" "),
        path.replace(['[', ']'], "")
    )
    .into()
}

/// The fields of one maps line a frame search filters on, without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapsLineBrief<'a> {
    pub start: u64,
    pub end: u64,
    pub perms: &'a str,
    /// The pathname as the kernel printed it (empty for anonymous memory).
    pub path: &'a str,
}

/// Splits a maps line (`start-end perms offset dev inode path`) into what
/// [`MapsLineBrief`] holds; `None` for a line that is not one.
pub fn maps_line_brief(line: &[u8]) -> Option<MapsLineBrief<'_>> {
    let line = std::str::from_utf8(line).ok()?;
    let mut fields = line.splitn(6, ' ');
    let (start, end) = fields.next()?.split_once('-')?;
    let perms = fields.next()?;
    let (_offset, _dev, _inode) = (fields.next()?, fields.next()?, fields.next()?);
    Some(MapsLineBrief {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        perms,
        path: fields.next().unwrap_or("").trim(),
    })
}

/// How a mapping's backing shows up, as a user reads it in /proc/<pid>/maps.
pub fn describe_path(path: &MMapPath) -> String {
    match path {
        MMapPath::Path(p) => p.display().to_string(),
        MMapPath::Heap => "[heap]".into(),
        MMapPath::Stack => "[stack]".into(),
        MMapPath::TStack(tid) => format!("[stack:{tid}]"),
        MMapPath::Vdso => "[vdso]".into(),
        MMapPath::Vvar => "[vvar]".into(),
        MMapPath::Vsyscall => "[vsyscall]".into(),
        MMapPath::Rollup => "[rollup]".into(),
        MMapPath::Anonymous => "[anonymous]".into(),
        MMapPath::Vsys(key) => format!("SYSV{key:08x}"),
        MMapPath::Other(other) => other.clone(),
    }
}

/// A mapping as `--json` and the human report show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MappingSummary {
    pub start: VirtAddr,
    /// The end, exclusive.
    pub end: VirtAddr,
    pub perms: String,
    /// The offset into the mapped file.
    pub offset: Hex,
    /// The device of the mapped file, `major:minor` in hex as /proc/<pid>/maps shows it.
    pub device: String,
    pub inode: u64,
    pub path: String,
}

impl From<&MemoryMap> for MappingSummary {
    fn from(map: &MemoryMap) -> Self {
        MappingSummary {
            start: VirtAddr(map.address.0),
            end: VirtAddr(map.address.1),
            perms: map.perms.as_str(),
            offset: Hex(map.offset),
            device: format!("{:02x}:{:02x}", map.dev.0, map.dev.1),
            inode: map.inode,
            path: describe_path(&map.pathname),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_maps_lines_procfs_would_panic_on() {
        let text = b"55646c518000-55646c51f000 rw-p 00000000 00:00 0      /SYSV     \n\
            7f0000000000-7f0000001000 r--p 00000000 08:01 12 [stack:\n\
            7f0000001000-7f0000002000 r--p 00000000 08:01 13 /SYSV00001234 (deleted)\n\
            7f0000002000-7f0000003000 r--p 00000000 08:01 14 /lib/\xffx.so\n";
        let maps = parse_maps(text).unwrap();
        let paths: Vec<String> = maps.iter().map(|m| describe_path(&m.pathname)).collect();
        assert_eq!(
            paths,
            [
                "unparsed /SYSV",
                "unparsed stack:",
                "SYSV00001234",
                "/lib/\u{fffd}x.so"
            ]
        );
    }

    #[test]
    fn splits_a_maps_line_without_allocating() {
        let line = b"7f1e55548000-7f1e5569e000 r-xp 00026000 fe:00 326279                     /usr/lib/x86_64-linux-gnu/libc.so.6";
        let brief = maps_line_brief(line).unwrap();
        assert_eq!(
            (brief.start, brief.end),
            (0x7f1e_5554_8000, 0x7f1e_5569_e000)
        );
        assert_eq!(
            (brief.perms, brief.path),
            ("r-xp", "/usr/lib/x86_64-linux-gnu/libc.so.6")
        );
        let anon = maps_line_brief(b"7f1e5570d000-7f1e5570f000 rw-p 00000000 00:00 0 ").unwrap();
        assert_eq!(anon.path, "");
        assert!(maps_line_brief(b"garbage").is_none());
    }

    #[test]
    fn names_paths_as_maps_shows_them() {
        assert_eq!(describe_path(&MMapPath::Heap), "[heap]");
        assert_eq!(describe_path(&MMapPath::Anonymous), "[anonymous]");
        assert_eq!(
            describe_path(&MMapPath::Path("/usr/bin/x".into())),
            "/usr/bin/x"
        );
    }
}
