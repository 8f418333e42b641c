// SPDX-License-Identifier: MIT OR Apache-2.0
//! x86 PAT as this machine has it: the CPU flag (`/proc/cpuinfo`), `nopat` on the command
//! line (`/proc/cmdline`), and debugfs `x86/pat_memtype_list`, the memory type of every
//! non-RAM reservation. Decoded by [`crate::kernel::pat`].

use crate::kernel::pat::{cmdline_has, cpu_has_pat, parse_memtype_list, Memtype};

/// Where debugfs lists PAT's reservations (root only; debugfs must be mounted).
pub(crate) const MEMTYPE_LIST: &str = "/sys/kernel/debug/x86/pat_memtype_list";

/// PAT's state as the kernel shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatState {
    /// The CPU has PAT (the `pat` flag of /proc/cpuinfo; the kernel clears it when PAT is
    /// off, `nopat` or not).
    pub(crate) cpu_flag: bool,
    /// `nopat` is on the kernel command line.
    pub(crate) nopat: bool,
    /// Whether debugfs's `x86/pat_memtype_list` could be read.
    pub(crate) memtype_list: bool,
}

impl PatState {
    /// PAT is in force: the CPU has it and the kernel was not told `nopat`.
    pub(crate) fn on(&self) -> bool {
        self.cpu_flag && !self.nopat
    }
}

/// Reads PAT's state.
pub(crate) fn pat_state() -> PatState {
    let read = |path| std::fs::read(path).unwrap_or_default();
    PatState {
        cpu_flag: cpu_has_pat(&read("/proc/cpuinfo")),
        nopat: cmdline_has(&read("/proc/cmdline"), "nopat"),
        memtype_list: std::fs::File::open(MEMTYPE_LIST).is_ok(),
    }
}

/// Whether the kernel command line holds `word`.
pub(crate) fn on_cmdline(word: &str) -> bool {
    cmdline_has(&std::fs::read("/proc/cmdline").unwrap_or_default(), word)
}

/// PAT's reservations now; `None` when debugfs's list cannot be read.
pub(crate) fn memtypes() -> Option<Vec<Memtype>> {
    std::fs::read(MEMTYPE_LIST)
        .ok()
        .map(|text| parse_memtype_list(&text))
}
