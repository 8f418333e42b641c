// SPDX-License-Identifier: MIT OR Apache-2.0
//! A process pinned while it is verified, so that a write meant for it cannot land in a
//! successor that reused its pid.

use crate::kernel::pagemap::PagemapEntry;
use crate::proc::pagemap::PagemapFile;

/// The process a write is meant for, pinned twice over: by its start time (a pid reused by
/// a new process has another, `/proc/<pid>/stat` field 22), and by a pagemap file opened
/// while it was known to be that process. An open pagemap reads the address space it was
/// opened on for as long as that lives, never a successor's: once the process exits, reads
/// return nothing.
pub(crate) struct Pinned {
    pub(crate) pid: i32,
    pub(crate) start_time: u64,
    pub(crate) pagemap: PagemapFile,
    pub(crate) page_index: u64,
}

/// What became of the pinned page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageNow {
    /// The process has exited; `reused` when its pid already names another process.
    Exited { reused: bool },
    /// The page's pagemap entry now.
    Entry(PagemapEntry),
}

/// The start time of `pid` in clock ticks since boot; `None` when there is no such process.
pub(crate) fn start_time(pid: i32) -> Option<u64> {
    procfs::process::Process::new(pid)
        .and_then(|p| p.stat())
        .ok()
        .map(|stat| stat.starttime)
}

impl Pinned {
    /// The process and its page as they are now.
    pub(crate) fn now(&self) -> PageNow {
        match self.pagemap.entry(self.page_index) {
            Ok(entry) if start_time(self.pid) == Some(self.start_time) => PageNow::Entry(entry),
            _ => PageNow::Exited {
                reused: start_time(self.pid).is_some_and(|t| t != self.start_time),
            },
        }
    }
}
