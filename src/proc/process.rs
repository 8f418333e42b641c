// SPDX-License-Identifier: MIT OR Apache-2.0
//! Which process, and which of its mappings holds an address (`/proc/<pid>/maps`).
//!
//! Parsing is [`crate::kernel::maps`]'s; this module turns the results into the cases a user
//! can act on: no such pid, a kernel thread or zombie without an address space, an address
//! that falls between mappings (naming the nearest ones), and a permission problem.

use anyhow::{Context, Result};
use procfs::process::{MemoryMap, Process};
use procfs::ProcError;

use crate::error::{not_found, permission, usage, UserError};
use crate::kernel::addr::VirtAddr;
use crate::kernel::maps::{describe_path, parse_maps};
use crate::kernel::visibility::{namespace_inode, proc_hidepid, INITIAL_PID_NAMESPACE_INODE};

/// PF_KTHREAD from include/linux/sched.h: the task is a kernel thread.
const PF_KTHREAD: u32 = 0x0020_0000;

/// Checks a pid from the command line before anything is opened.
pub(crate) fn validate_pid(pid: i64) -> Result<i32> {
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
pub(crate) struct UserProcess {
    pub(crate) pid: i32,
    pub(crate) command: String,
    pub(crate) maps: Vec<MemoryMap>,
}

/// Opens `pid` and reads its maps, explaining why not when it has none.
pub(crate) fn open_user_process(pid: i32) -> Result<UserProcess> {
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

/// "no process with pid N", with the reason that fits this machine: /proc mounted with
/// `hidepid` (which hides other users' processes from all but root), physdemo running in a
/// PID namespace other than the initial one (where pids from outside mean nothing, or
/// another process), or else that it may have exited.
pub(crate) fn no_such_process(pid: i32) -> UserError {
    use std::os::unix::fs::MetadataExt;
    let base = format!("no process with pid {pid}");
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let hidepid = std::fs::read_to_string("/proc/mounts")
        .ok()
        .and_then(|mounts| proc_hidepid(&mounts));
    if let (Some(hidepid), false) = (hidepid, root) {
        return not_found(format!(
            "{base} visible here: /proc is mounted with hidepid={hidepid}, which hides the processes of other users"
        ))
        .hint("run as root (sudo), or look for the pid among your own processes (`ps -u $USER`)");
    }
    let namespace = std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .and_then(|link| namespace_inode(&link.to_string_lossy()));
    if let Some(inode) = namespace.filter(|&n| n != INITIAL_PID_NAMESPACE_INODE) {
        return not_found(format!(
            "{base} in this PID namespace (pid:[{inode}], where physdemo runs as pid {}): a pid seen outside it names no process here, or another one",
            std::process::id()
        ))
        .hint("run physdemo in the PID namespace the pid was seen in (the host's, or `nsenter -t PID -p -m`), or use the pid this namespace gives the process");
    }
    not_found(base).hint("it may have exited; check the pid with `ps`")
}

fn proc_error(pid: i32, err: ProcError) -> anyhow::Error {
    match err {
        ProcError::NotFound(_) => no_such_process(pid).into(),
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
    pub(crate) fn mapping_of(&self, addr: VirtAddr) -> Result<&MemoryMap> {
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

/// The process's command line, as a user would read it in `ps`.
pub(crate) fn command_line(pid: i32) -> Result<Vec<String>> {
    Process::new(pid)
        .and_then(|p| p.cmdline())
        .map_err(|err| proc_error(pid, err))
        .context("reading the command line")
}

/// The command, state and flags of `/proc/<pid>/stat`, read into the caller's buffer;
/// `None` when the process is gone or the file unreadable.
pub(crate) fn read_stat_brief(
    pid: i32,
    buf: &mut Vec<u8>,
) -> Option<crate::kernel::usage::StatBrief> {
    use std::io::Read;
    // One read into a buffer kept from process to process (read_to_end would stat and seek
    // the file first).
    buf.resize(4096, 0);
    let mut file = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let len = file.read(buf).ok()?;
    crate::kernel::usage::parse_stat_brief(&String::from_utf8_lossy(&buf[..len]))
}

/// Reads `/proc/<pid>/maps` into the caller's buffer (reused from process to process);
/// `false` when it cannot be read (the process exited).
pub(crate) fn read_maps_into(pid: i32, buf: &mut Vec<u8>) -> bool {
    use std::io::Read;
    buf.clear();
    let Ok(mut file) = std::fs::File::open(format!("/proc/{pid}/maps")) else {
        return false;
    };
    let mut chunk = [0u8; 16384];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return true,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// The user owning the process (the owner of `/proc/<pid>`).
pub(crate) fn process_uid(pid: i32) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}"))
        .ok()
        .map(|m| m.uid())
}

/// The uid of a user name (or number) from /etc/passwd.
pub(crate) fn uid_of_user(user: &str) -> Result<u32> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    crate::kernel::usage::uid_in_passwd(&passwd, user).ok_or_else(|| {
        not_found(format!("no user named {user:?} in /etc/passwd"))
            .hint("give a user name from /etc/passwd or a numeric uid (see `id`)")
            .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_pids_that_cannot_exist() {
        assert!(validate_pid(0).is_err());
        assert!(validate_pid(-5).is_err());
        assert!(validate_pid(1 << 40).is_err());
        assert_eq!(validate_pid(1).unwrap(), 1);
    }
}
