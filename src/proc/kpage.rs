// SPDX-License-Identifier: MIT OR Apache-2.0
//! Reading `/proc/kpageflags` and `/proc/kpagecount` (root only) in batches, by PFN: both for
//! the frames of a scan ([`FrameInfoReader`]), or the flags of all RAM ([`KpageflagsFile`]).

use std::fs::File;

use anyhow::Result;

use crate::error::permission;
use crate::kernel::addr::Pfn;
use crate::kernel::kpageflags::KpageFlags;
use crate::proc::words::read_words;

/// Reads flags and map counts for runs of frames (needs CAP_SYS_ADMIN).
pub(crate) struct FrameInfoReader {
    flags: File,
    counts: File,
}

impl FrameInfoReader {
    pub(crate) fn open() -> Result<Self> {
        Ok(FrameInfoReader {
            flags: open_root_only("/proc/kpageflags")?,
            counts: open_root_only("/proc/kpagecount")?,
        })
    }

    /// Flags of `count` frames from `first`. Frames past the end of RAM read as 0.
    pub(crate) fn flags(&self, first: Pfn, count: usize) -> Result<Vec<KpageFlags>> {
        let mut words = vec![0u64; count];
        read_words(&self.flags, first.0, &mut words, "/proc/kpageflags")?;
        Ok(words.into_iter().map(KpageFlags).collect())
    }

    /// How many page-table entries map each of `count` frames from `first`.
    pub(crate) fn map_counts(&self, first: Pfn, count: usize) -> Result<Vec<u64>> {
        let mut words = vec![0u64; count];
        read_words(&self.counts, first.0, &mut words, "/proc/kpagecount")?;
        Ok(words)
    }

    /// Fills `out` with the map counts of the frames from `first` on (0 past the end of RAM).
    pub(crate) fn map_counts_into(&self, first: Pfn, out: &mut [u64]) -> Result<usize> {
        read_words(&self.counts, first.0, out, "/proc/kpagecount")
    }

    /// Fills `out` with the flags words of the frames from `first` on (0 past the end of RAM).
    pub(crate) fn flags_into(&self, first: Pfn, out: &mut [u64]) -> Result<usize> {
        read_words(&self.flags, first.0, out, "/proc/kpageflags")
    }

    /// Whether `pfn` is within the frames the kernel describes (below the end of RAM).
    pub(crate) fn frame_exists(&self, pfn: Pfn) -> Result<bool> {
        let mut word = [0u64; 1];
        Ok(read_words(&self.flags, pfn.0, &mut word, "/proc/kpageflags")? == 1)
    }
}

fn open_root_only(path: &str) -> Result<File> {
    File::open(path).map_err(|err| {
        if err.kind() == std::io::ErrorKind::PermissionDenied {
            permission(format!("cannot read {path}: permission denied"))
                .hint("run with sudo: frame flags need CAP_SYS_ADMIN")
                .into()
        } else {
            anyhow::Error::new(err)
                .context(format!("opening {path} (needs CONFIG_PROC_PAGE_MONITOR)"))
        }
    })
}

/// The environment variable that replaces `/proc/kpageflags` for `physmap` (for tests: a
/// snapshot another reader classifies too).
pub(crate) const KPAGEFLAGS_ENV: &str = "PHYSDEMO_KPAGEFLAGS";

/// `/proc/kpageflags` alone (or the file `PHYSDEMO_KPAGEFLAGS` names), read in large
/// batches into the caller's buffer: what `physmap` reads for every frame of RAM.
pub(crate) struct KpageflagsFile {
    file: File,
    path: String,
}

impl KpageflagsFile {
    pub(crate) fn open() -> Result<Self> {
        let path = std::env::var(KPAGEFLAGS_ENV).unwrap_or_else(|_| "/proc/kpageflags".into());
        Ok(KpageflagsFile {
            file: open_root_only(&path)?,
            path,
        })
    }

    /// Fills `out` with the flags of the frames from `first` on (0 past the end of RAM);
    /// returns how many the file had.
    pub(crate) fn read(&self, first: Pfn, out: &mut [u64]) -> Result<usize> {
        read_words(&self.file, first.0, out, &self.path)
    }
}
