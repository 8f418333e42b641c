//! The checks right around a store into a process's page: before it, the pinned process
//! still lives, its page is still at the frame it was resolved to, and that frame is not
//! shared; after it, the page is still there, or the error says what became of it.

use anyhow::Result;

use crate::error::refused;
use crate::kernel::addr::{Pfn, VirtAddr};
use crate::kernel::pagemap::PagemapEntry;
use crate::proc::pin::{PageNow, Pinned};
use crate::resolve::translate::Resolution;

/// When a frame check runs, relative to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    Before,
    After,
}

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

/// What became of the page, in words; `None` when it is still at the `expected` frame.
fn page_change(now: PageNow, pid: i32, vaddr: VirtAddr, expected: Option<Pfn>) -> Option<String> {
    Some(match now {
        PageNow::Entry(entry) if entry.pfn() == expected => return None,
        PageNow::Entry(entry) if entry.swapped() => {
            format!("the page of {vaddr} in pid {pid} was swapped out")
        }
        PageNow::Entry(entry) if entry.pfn().is_none() => {
            format!("the page of {vaddr} in pid {pid} is no longer present (unmapped or discarded)")
        }
        PageNow::Entry(entry) => format!(
            "the page of {vaddr} in pid {pid} moved from frame {} to {}",
            show(expected),
            show(entry.pfn())
        ),
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

/// Fails unless the pinned process still lives and its page is still at the frame it was
/// resolved to (and, before the write, is not shared). After the write, `waited` says a
/// physdemo target was waited for and did not report the value.
pub(crate) fn check_frame(
    pin: &Pinned,
    r: &Resolution,
    when: When,
    waited: bool,
    force: bool,
) -> Result<()> {
    let (pid, vaddr, expected) = (pin.pid, r.vaddr, r.pfn());
    let now = pin.now();
    let Some(what) = page_change(now, pid, vaddr, expected) else {
        if let (When::Before, PageNow::Entry(entry)) = (when, now) {
            check_private(entry, pid, vaddr, force)?;
        }
        return Ok(());
    };
    let exited = matches!(now, PageNow::Exited { .. });
    let message = match (when, exited, waited) {
        (When::Before, _, _) => format!("{what} before the write; nothing was written"),
        (When::After, true, true) => {
            format!("{what} right after the write, without reporting the new value")
        }
        (When::After, true, false) => {
            format!("{what} right after the write; whether it saw the value cannot be known")
        }
        (When::After, false, _) => format!(
            "{what} during the write, so the process did not see it (the store went to frame {})",
            show(expected)
        ),
    };
    Err(refused(message)
        .hint("run the command again (the page migrated, was swapped, or the process exited)")
        .into())
}
