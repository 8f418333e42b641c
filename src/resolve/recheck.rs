// SPDX-License-Identifier: MIT OR Apache-2.0
//! The checks right around a store into a process's page: before it, the pinned process
//! still lives, its page is still at the frame it was resolved to, and that frame is not
//! shared ([`check_before_store`]); after it, whether the page is still at the frame the value
//! went to, or what became of it ([`after_store`]).

use anyhow::Result;

use crate::error::refused;
use crate::kernel::addr::{Pfn, VirtAddr};
use crate::kernel::pagemap::PagemapEntry;
use crate::proc::pin::{PageNow, Pinned};

/// Refuses a frame that other mappings share (a file's page cache, shared memory, a
/// KSM-merged or copy-on-write page): a write there changes every process that maps it.
fn check_private(entry: PagemapEntry, pid: i32, vaddr: VirtAddr, force: bool) -> Result<()> {
    if force || (entry.exclusive() && !entry.file_or_shared_anon()) {
        return Ok(());
    }
    let why = if entry.file_or_shared_anon() {
        "belongs to a file or shared memory"
    } else {
        "is mapped more than once (copy-on-write after fork, or merged by KSM)"
    };
    Err(refused(format!(
        "refusing to write: the frame of {vaddr} in pid {pid} {why}, so the write would change every process that maps it"
    ))
    .hint("add --force if you mean it, --dry-run to check")
    .into())
}

fn show(pfn: Option<Pfn>) -> String {
    pfn.map_or_else(|| "none".to_string(), |p| p.to_string())
}

/// What became of the page when it is gone from RAM or its process exited, in words;
/// `None` while it is present at some frame.
fn page_gone(now: PageNow, pid: i32, vaddr: VirtAddr) -> Option<String> {
    Some(match now {
        PageNow::Entry(entry) if entry.swapped() => {
            format!("the page of {vaddr} in pid {pid} was swapped out")
        }
        PageNow::Entry(entry) if entry.pfn().is_none() => {
            format!("the page of {vaddr} in pid {pid} is no longer present (unmapped or discarded)")
        }
        PageNow::Entry(_) => return None,
        PageNow::Exited { reused } => format!(
            "pid {pid} exited{}",
            if reused {
                " (the pid now belongs to another process)"
            } else {
                ""
            }
        ),
    })
}

/// What became of the page, in words; `None` when it is still at the `expected` frame.
fn page_change(now: PageNow, pid: i32, vaddr: VirtAddr, expected: Option<Pfn>) -> Option<String> {
    if let Some(gone) = page_gone(now, pid, vaddr) {
        return Some(gone);
    }
    match now {
        PageNow::Entry(entry) if entry.pfn() != expected => Some(format!(
            "the page of {vaddr} in pid {pid} moved from frame {} to {}",
            show(expected),
            show(entry.pfn())
        )),
        _ => None,
    }
}

fn refused_before(what: &str) -> anyhow::Error {
    refused(format!("{what} before the write; nothing was written"))
        .hint("run the command again (the page migrated, was swapped, or the process exited)")
        .into()
}

/// The last check before a store: fails unless the pinned process still lives, its page is
/// still at the `expected` frame and, unless forced, that frame is not shared. Returns the
/// page's pagemap entry, which says whether the frame is this process's alone.
pub(crate) fn check_before_store(
    pin: &Pinned,
    vaddr: VirtAddr,
    expected: Option<Pfn>,
    force: bool,
) -> Result<PagemapEntry> {
    let now = pin.now();
    match (page_change(now, pin.pid, vaddr, expected), now) {
        (None, PageNow::Entry(entry)) => {
            check_private(entry, pin.pid, vaddr, force)?;
            Ok(entry)
        }
        (what, _) => Err(refused_before(&what.unwrap_or_default())),
    }
}

/// The check before pinning: the pinned process still lives, its page is present (at any
/// frame: the pin will say which) and, unless forced, not shared. Returns its pagemap entry.
pub(crate) fn check_present_before_pin(
    pin: &Pinned,
    vaddr: VirtAddr,
    force: bool,
) -> Result<PagemapEntry> {
    let now = pin.now();
    match (page_gone(now, pin.pid, vaddr), now) {
        (None, PageNow::Entry(entry)) => {
            check_private(entry, pin.pid, vaddr, force)?;
            Ok(entry)
        }
        (what, _) => Err(refused_before(&what.unwrap_or_default())),
    }
}

/// What the check right after a store found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AfterStore {
    /// The page is still at the frame the value was stored in.
    InPlace,
    /// The page is no longer at that frame (moved, swapped out, discarded): `what` says
    /// what became of it. Whether the value went with it (the page moved after the store)
    /// or went to a frame that had already stopped being the process's, only the process's
    /// own view can tell.
    Left { what: String },
    /// The process exited (or its pid was reused) right after the store: the value was
    /// written, and whether the process saw it cannot be known any more. `what` says so.
    Exited { what: String },
}

/// The check right after a store into `stored`: where the page is now, or that the
/// process is gone.
pub(crate) fn after_store(pin: &Pinned, vaddr: VirtAddr, stored: Option<Pfn>) -> AfterStore {
    let now = pin.now();
    match page_change(now, pin.pid, vaddr, stored) {
        None => AfterStore::InPlace,
        Some(what) if matches!(now, PageNow::Exited { .. }) => AfterStore::Exited { what },
        Some(what) => AfterStore::Left { what },
    }
}
