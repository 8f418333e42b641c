// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo target` processes seen from outside: finding them, verifying them through the
//! kernel alone, and watching for their reaction to a write.
//!
//! Nothing here trusts a file or message for an address. A process counts as a target only
//! when its executable is named `physdemo`, its command line says `target`, and one of its
//! present, private, writable pages starts with the target header (decoded by
//! [`crate::kernel::target_header`]): the magic word, its own pid, and the virtual address of
//! the variable inside that very page. The header is read through `/proc/<pid>/mem`, the
//! page's presence through pagemap.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::error::{not_found, permission, usage};
use crate::kernel::addr::{PageSize, VirtAddr};
use crate::kernel::target_header::{decode_header, TargetHeader};
use crate::proc::pagemap::PagemapFile;
use crate::proc::process::{command_line, no_such_process, open_user_process};
use crate::sys::target_page::layout;

/// Whether `pid` runs physdemo with the `target` subcommand (cheap check, no memory read).
pub(crate) fn looks_like_target(pid: i32) -> bool {
    let exe_is_physdemo = std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .and_then(|exe| exe.file_name().map(|n| n.to_string_lossy().into_owned()))
        .is_some_and(|name| name.starts_with("physdemo"));
    exe_is_physdemo
        && command_line(pid).is_ok_and(|args| args.iter().skip(1).any(|a| a == "target"))
}

/// Re-reads the header of a target whose variable is at `value_addr`.
pub(crate) fn read_header(pid: i32, value_addr: VirtAddr) -> Result<Option<TargetHeader>> {
    let page_addr = value_addr
        .0
        .checked_sub(layout::VALUE as u64)
        .context("address too small for a target variable")?;
    let mem = open_mem(pid)?;
    let mut bytes = [0u8; layout::HEADER_LEN];
    Ok(match mem.read_exact_at(&mut bytes, page_addr) {
        Ok(()) => decode_header(&bytes, pid, page_addr),
        Err(_) => None,
    })
}

fn open_mem(pid: i32) -> Result<File> {
    File::open(format!("/proc/{pid}/mem")).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => no_such_process(pid).into(),
        std::io::ErrorKind::PermissionDenied => permission(format!(
            "cannot read the memory of pid {pid}: permission denied"
        ))
        .hint(crate::error::privilege_hint())
        .into(),
        _ => anyhow::Error::new(err).context(format!("opening /proc/{pid}/mem")),
    })
}

/// Whether `pid` runs the very program this process runs: the same file (device and
/// inode), or one with identical contents (a copy, or the build a rebuild replaced). A
/// program merely *named* physdemo, with a forged header, is not a target.
pub(crate) fn runs_our_executable(pid: i32) -> bool {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let (Ok(ours), Ok(theirs)) = (
        std::fs::metadata("/proc/self/exe"),
        std::fs::metadata(format!("/proc/{pid}/exe")),
    ) else {
        return false;
    };
    if (ours.dev(), ours.ino()) == (theirs.dev(), theirs.ino()) {
        return true;
    }
    if ours.len() != theirs.len() {
        return false;
    }
    let (Ok(mut a), Ok(mut b)) = (
        File::open("/proc/self/exe"),
        File::open(format!("/proc/{pid}/exe")),
    ) else {
        return false;
    };
    let (mut x, mut y) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        match (a.read(&mut x), b.read(&mut y)) {
            (Ok(0), Ok(0)) => return true,
            (Ok(n), Ok(m)) if n == m && x[..n] == y[..m] => {}
            _ => return false,
        }
    }
}

/// Finds and verifies the target variable of `pid`.
pub(crate) fn locate(pid: i32) -> Result<TargetHeader> {
    if !looks_like_target(pid) {
        open_user_process(pid)?; // a clearer error when the pid is gone or a kernel thread
        return Err(not_found(format!("pid {pid} is not a physdemo target"))
            .hint("give the address explicitly: physdemo inspect <pid> <vaddr>")
            .into());
    }
    if !runs_our_executable(pid) {
        return Err(not_found(format!(
            "pid {pid} is named physdemo but runs another executable than this physdemo"
        ))
        .hint("start the target with this same binary, or give the address explicitly: physdemo <command> <pid> <vaddr>")
        .into());
    }
    let process = open_user_process(pid)?;
    let pagemap = PagemapFile::open(pid)?;
    let mem = open_mem(pid)?;
    let page = PageSize::of_system();
    let mut header = [0u8; layout::HEADER_LEN];
    for map in &process.maps {
        let writable_private =
            map.perms.as_str().starts_with("rw") && !map.perms.as_str().ends_with('s');
        if !writable_private {
            continue;
        }
        let first = page.page_index(VirtAddr(map.address.0));
        let count = ((map.address.1 - map.address.0) / page.bytes()) as usize;
        for (i, entry) in pagemap.entries(first, count)?.into_iter().enumerate() {
            if !entry.present() {
                continue;
            }
            let page_addr = map.address.0 + i as u64 * page.bytes();
            if mem.read_exact_at(&mut header, page_addr).is_ok() {
                if let Some(found) = decode_header(&header, pid, page_addr) {
                    return Ok(found);
                }
            }
        }
    }
    Err(not_found(format!(
        "pid {pid} runs physdemo target but no target page was found"
    ))
    .hint("it may still be starting, or exiting; try again")
    .into())
}

/// Whether `pid` calls itself `physdemo target` but hides its executable from us: another
/// user's process, whose /proc/<pid>/exe needs ptrace access. Its command line, which
/// anyone may read and any process may forge, proves nothing: it only lets the error say
/// why no target was found.
fn hidden_target(pid: i32) -> bool {
    let exe_hidden = matches!(
        std::fs::read_link(format!("/proc/{pid}/exe")),
        Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied
    );
    exe_hidden
        && command_line(pid).is_ok_and(|args| {
            args.first()
                .and_then(|arg0| std::path::Path::new(arg0).file_name())
                .is_some_and(|name| name.to_string_lossy().starts_with("physdemo"))
                && args.iter().skip(1).any(|a| a == "target")
        })
}

/// The pids of processes that look like targets but are not ours to read.
fn hidden_target_pids() -> Vec<i32> {
    let mut pids: Vec<i32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter(|&pid| hidden_target(pid))
        .collect();
    pids.sort_unstable();
    pids
}

/// Every process that looks like a physdemo target (by executable and command line).
pub(crate) fn candidate_pids() -> Vec<i32> {
    let mut pids: Vec<i32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter(|&pid| pid != std::process::id() as i32 && looks_like_target(pid))
        .collect();
    pids.sort_unstable();
    pids
}

/// The one running target, verified; an error listing them when there are several.
pub(crate) fn the_only_target() -> Result<TargetHeader> {
    let mut rejected = None;
    let found: Vec<TargetHeader> = candidate_pids()
        .into_iter()
        .filter_map(|pid| match locate(pid) {
            Ok(found) => Some(found),
            Err(err) => {
                rejected.get_or_insert(err);
                None
            }
        })
        .collect();
    match found.as_slice() {
        [only] => Ok(*only),
        [] => Err(match (rejected, hidden_target_pids().as_slice()) {
            (Some(why), _) => why.context("no running physdemo target found"),
            (None, []) => not_found("no running physdemo target found")
                .hint("start one with `physdemo target` in another terminal")
                .into(),
            (None, hidden) => {
                let list = hidden
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                permission(if hidden.len() == 1 {
                    format!("the physdemo target (pid {list}) runs as another user: its memory cannot be read, so it cannot be verified")
                } else {
                    format!("the physdemo targets (pids {list}) run as another user: their memory cannot be read, so they cannot be verified")
                })
                .hint(crate::error::privilege_hint())
                .into()
            }
        }),
        several => {
            let list = several
                .iter()
                .map(|t| format!("{} at {}", t.pid, t.value_addr))
                .collect::<Vec<_>>()
                .join(", ");
            Err(
                usage(format!("several physdemo targets are running: {list}"))
                    .hint("name one: physdemo <command> <pid> <vaddr>")
                    .into(),
            )
        }
    }
}
/// What the target did after the write.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Reaction {
    /// It reported the new value (header as read then).
    Seen(TargetHeader),
    /// It did not report the value in time, or exited first.
    Silent,
}

/// Polls the target's header until it reports `value` as a change newer than
/// `seen_before`, or `wait` passes, or the target exits. `/proc/<pid>/mem` is opened once
/// and read in a tight loop: a target with `--until` exits within microseconds of reporting.
pub(crate) fn wait_for_reaction(
    target: TargetHeader,
    seen_before: u64,
    value: u64,
    wait: Duration,
) -> Reaction {
    use std::os::unix::fs::FileExt;
    let Ok(mem) = std::fs::File::open(format!("/proc/{}/mem", target.pid)) else {
        return Reaction::Silent;
    };
    let page_addr = target.value_addr.0.saturating_sub(layout::VALUE as u64);
    let mut bytes = [0u8; layout::HEADER_LEN];
    let deadline = Instant::now() + wait;
    let spin_until = Instant::now() + Duration::from_millis(50);
    loop {
        if mem.read_exact_at(&mut bytes, page_addr).is_err() {
            return Reaction::Silent; // gone: the frame re-check says so
        }
        if let Some(header) = decode_header(&bytes, target.pid, page_addr) {
            if header.seen_count > seen_before && header.seen_value == value {
                return Reaction::Seen(header);
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Reaction::Silent;
        }
        if now < spin_until {
            std::hint::spin_loop();
        } else {
            std::thread::sleep(Duration::from_micros(20));
        }
    }
}
