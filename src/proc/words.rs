// SPDX-License-Identifier: MIT OR Apache-2.0
//! Positioned, batched reads of the kernel's arrays of 64-bit words.
//!
//! `/proc/<pid>/pagemap`, `/proc/kpageflags` and `/proc/kpagecount` are all flat arrays of
//! native-endian `u64`s indexed by page or frame number. Reading them eight bytes per syscall
//! (as the procfs crate's readers do) dominates the cost of a large scan; this reads a whole
//! run with one `pread` per chunk.

use std::fs::File;
use std::os::unix::fs::FileExt;

use anyhow::{Context, Result};

/// Words per `pread`: 64 Ki words is 512 KiB, enough to amortise the syscall.
pub(crate) const BATCH_WORDS: usize = 64 * 1024;

/// Fills `out` with the words from index `first` on. Words past the end of the file read as 0
/// and the count actually read is returned. The kernel writes native-endian words straight
/// into `out` (viewed as bytes): no staging buffer, no copy.
pub(crate) fn read_words(file: &File, first: u64, out: &mut [u64], what: &str) -> Result<usize> {
    let mut done = 0;
    while done < out.len() {
        let want = (out.len() - done).min(BATCH_WORDS);
        let offset = (first + done as u64)
            .checked_mul(8)
            .with_context(|| format!("index {first:#x} out of range for {what}"))?;
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut out[done..done + want]);
        let got = read_full(file, bytes, offset).with_context(|| format!("reading {what}"))?;
        let words = got / 8;
        done += words;
        if words < want {
            out[done..].fill(0);
            break;
        }
    }
    Ok(done)
}

fn read_full(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_words_at_an_index_and_zero_fills_past_the_end() {
        let mut file = tempfile::tempfile().unwrap();
        for word in [10u64, 11, 12, 13] {
            file.write_all(&word.to_ne_bytes()).unwrap();
        }
        let mut out = [u64::MAX; 4];
        assert_eq!(read_words(&file, 2, &mut out, "test").unwrap(), 2);
        assert_eq!(out, [12, 13, 0, 0]);
    }
}
