//! Which process, and which of its mappings holds an address (`/proc/<pid>/maps`).
//!
//! Parsing is the procfs crate's; this module turns its results into the cases a user can
//! act on: no such pid, a kernel thread or zombie without an address space, an address that
//! falls between mappings (naming the nearest ones), and a permission problem.

use anyhow::{Context, Result};
use procfs::process::{MMapPath, MemoryMap, Process};
use procfs::{FromBufRead, ProcError};
use serde::Serialize;

use crate::addr::VirtAddr;
use crate::error::{not_found, permission, usage};

/// PF_KTHREAD from include/linux/sched.h: the task is a kernel thread.
const PF_KTHREAD: u32 = 0x0020_0000;

/// Checks a pid from the command line before anything is opened.
pub fn validate_pid(pid: i64) -> Result<i32> {
    match i32::try_from(pid) {
        Ok(pid) if pid > 0 => Ok(pid),
        _ if pid == 0 => Err(usage("pid 0 is not a process")
            .hint("give the pid a physdemo target printed, or see `ps`")
            .into()),
        _ => Err(usage(format!("pid {pid} is out of range"))
            .hint("pids are positive numbers below 2^31; see `ps`")
            .into()),
    }
}

/// A live process with a user address space.
pub struct UserProcess {
    pub pid: i32,
    pub command: String,
    pub maps: Vec<MemoryMap>,
}

/// Opens `pid` and reads its maps, explaining why not when it has none.
pub fn open_user_process(pid: i32) -> Result<UserProcess> {
    let process = Process::new(pid).map_err(|err| proc_error(pid, err))?;
    let stat = process.stat().map_err(|err| proc_error(pid, err))?;
    let command = stat.comm.clone();
    if stat.flags & PF_KTHREAD != 0 {
        return Err(not_found(format!(
            "pid {pid} ({command}) is a kernel thread: it has no user address space"
        ))
        .hint("pick a user process, e.g. a physdemo target")
        .into());
    }
    if stat.state == 'Z' {
        return Err(not_found(format!(
            "pid {pid} ({command}) is a zombie: it has exited and its memory is gone"
        ))
        .hint("start the process again and use its new pid")
        .into());
    }
    let text =
        std::fs::read(format!("/proc/{pid}/maps")).map_err(|err| match err.raw_os_error() {
            Some(libc::ESRCH) => proc_error(pid, ProcError::NotFound(None)),
            _ => proc_error(pid, ProcError::from(err)),
        })?;
    let maps = parse_maps(&text).with_context(|| format!("parsing /proc/{pid}/maps"))?;
    if maps.is_empty() {
        return Err(
            not_found(format!("pid {pid} ({command}) has no memory mappings"))
                .hint("it is exiting or a kernel thread; pick a running user process")
                .into(),
        );
    }
    Ok(UserProcess { pid, command, maps })
}

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

fn proc_error(pid: i32, err: ProcError) -> anyhow::Error {
    match err {
        ProcError::NotFound(_) => not_found(format!("no process with pid {pid}"))
            .hint("it may have exited; check the pid with `ps`")
            .into(),
        ProcError::PermissionDenied(_) => permission(format!(
            "cannot read the memory map of pid {pid}: permission denied"
        ))
        .hint(crate::error::privilege_hint())
        .into(),
        other => anyhow::Error::new(other).context(format!("reading /proc/{pid}")),
    }
}

impl UserProcess {
    /// The mapping holding `addr`, or an error naming the nearest mappings either side.
    pub fn mapping_of(&self, addr: VirtAddr) -> Result<&MemoryMap> {
        if let Some(map) = self
            .maps
            .iter()
            .find(|m| m.address.0 <= addr.0 && addr.0 < m.address.1)
        {
            return Ok(map);
        }
        let below = self.maps.iter().rev().find(|m| m.address.1 <= addr.0);
        let above = self.maps.iter().find(|m| m.address.0 > addr.0);
        let near = [below.map(|m| ("below", m)), above.map(|m| ("above", m))]
            .into_iter()
            .flatten()
            .map(|(side, m)| {
                format!(
                    "{side}: {:x}-{:x} {}",
                    m.address.0,
                    m.address.1,
                    describe_path(&m.pathname)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        Err(not_found(format!(
            "address {addr} is in no mapping of pid {} (nearest {near})",
            self.pid
        ))
        .hint(format!("see /proc/{}/maps for valid ranges", self.pid))
        .into())
    }
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
    pub start: String,
    pub end: String,
    pub perms: String,
    pub offset: String,
    pub device: String,
    pub inode: u64,
    pub path: String,
}

impl From<&MemoryMap> for MappingSummary {
    fn from(map: &MemoryMap) -> Self {
        MappingSummary {
            start: format!("{:#x}", map.address.0),
            end: format!("{:#x}", map.address.1),
            perms: map.perms.as_str(),
            offset: format!("{:#x}", map.offset),
            device: format!("{:02x}:{:02x}", map.dev.0, map.dev.1),
            inode: map.inode,
            path: describe_path(&map.pathname),
        }
    }
}

/// The process's command line, as a user would read it in `ps`.
pub fn command_line(pid: i32) -> Result<Vec<String>> {
    Process::new(pid)
        .and_then(|p| p.cmdline())
        .map_err(|err| proc_error(pid, err))
        .context("reading the command line")
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
    fn rejects_pids_that_cannot_exist() {
        assert!(validate_pid(0).is_err());
        assert!(validate_pid(-5).is_err());
        assert!(validate_pid(1 << 40).is_err());
        assert_eq!(validate_pid(1).unwrap(), 1);
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
