// SPDX-License-Identifier: MIT OR Apache-2.0
//! How `watch` shows what changed between two reads of a range: the runs of changed bytes
//! (for `--json`), and the `hexdump -C` lines that hold a change, each followed by a line
//! marking the changed bytes (`^^` under their hex digits, `^` under their character).
//! The lines are exactly `hexdump -C`'s (the addresses are the physical ones, the lines
//! start at the range's start, as `dump` prints them), and a mark line starts with a blank,
//! which no `hexdump -C` line does. Pure functions of the bytes.

use serde::Serialize;

use crate::kernel::addr::PhysAddr;
use crate::render::hexdump::{format_line, mark_line};

const PER_LINE: usize = 16;

/// A run of consecutive changed bytes: where it starts in the range, and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) offset: usize,
    pub(crate) len: usize,
}

/// The runs of bytes that differ between `old` and `new` (of one length), in order.
pub(crate) fn changed_runs(old: &[u8], new: &[u8]) -> Vec<Run> {
    debug_assert_eq!(old.len(), new.len());
    let mut runs: Vec<Run> = Vec::new();
    for (i, _) in old.iter().zip(new).enumerate().filter(|(_, (a, b))| a != b) {
        match runs.last_mut() {
            Some(run) if run.offset + run.len == i => run.len += 1,
            _ => runs.push(Run { offset: i, len: 1 }),
        }
    }
    runs
}

/// How many bytes differ.
pub(crate) fn changed_bytes(runs: &[Run]) -> usize {
    runs.iter().map(|run| run.len).sum()
}

/// The `hexdump -C` line (of `new`, the range starting at `start`) of every line holding a
/// changed byte, each followed by its mark line ([`mark_line`]).
pub(crate) fn marked_lines(start: u64, old: &[u8], new: &[u8]) -> Vec<String> {
    let mut lines = Vec::new();
    for (n, (was, now)) in old.chunks(PER_LINE).zip(new.chunks(PER_LINE)).enumerate() {
        if was == now {
            continue;
        }
        let addr = start + (n * PER_LINE) as u64;
        let changed: Vec<bool> = was.iter().zip(now).map(|(a, b)| a != b).collect();
        lines.push(format_line(addr, now));
        lines.push(mark_line(addr, &changed));
    }
    lines
}

/// Bytes as lowercase hex digits, two per byte, in address order: `"0a1b"`.
pub(crate) fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One run in `watch --json`: its first physical address, and its bytes before and after
/// ([`hex_string`]).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RunJson {
    pub(crate) paddr: PhysAddr,
    pub(crate) old: String,
    pub(crate) new: String,
}

impl RunJson {
    pub(crate) fn of(run: Run, start: PhysAddr, old: &[u8], new: &[u8]) -> RunJson {
        let bytes = run.offset..run.offset + run.len;
        RunJson {
            paddr: PhysAddr(start.0 + run.offset as u64),
            old: hex_string(&old[bytes.clone()]),
            new: hex_string(&new[bytes]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_the_consecutive_changed_bytes() {
        let old = b"abcdefgh";
        assert_eq!(changed_runs(old, old), []);
        let runs = changed_runs(old, b"aXYdefgZ");
        assert_eq!(runs, [Run { offset: 1, len: 2 }, Run { offset: 7, len: 1 }]);
        assert_eq!(changed_bytes(&runs), 3);
        assert_eq!(
            changed_runs(b"\0\0", b"\x01\x02"),
            [Run { offset: 0, len: 2 }]
        );
        let json = RunJson::of(runs[0], PhysAddr(0x1000), old, b"aXYdefgZ");
        assert_eq!(
            serde_json::to_string(&json).unwrap(),
            r#"{"paddr":"0x1001","old":"6263","new":"5859"}"#
        );
    }

    #[test]
    fn only_lines_with_a_change_are_shown_each_with_its_marks() {
        let old = [0u8; 40];
        let mut new = old;
        new[17] = 0x41; // the second line
        new[39] = 0xff; // the last, partial line
        assert_eq!(
            marked_lines(0x2000, &old, &new),
            [
                "00002010  00 41 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |.A..............|",
                "             ^^                                               ^",
                "00002020  00 00 00 00 00 00 00 ff                           |........|",
                "                               ^^                                   ^",
            ]
        );
        assert!(marked_lines(0x2000, &old, &old).is_empty());
    }

    #[test]
    fn without_the_mark_lines_what_is_left_is_hexdump_c_s_own_lines() {
        // the lines of a change, marks dropped, are lines of `dump` (= hexdump -C) of `new`
        let old: Vec<u8> = (0..48).collect();
        let mut new = old.clone();
        new[3] ^= 0xff;
        new[47] ^= 0xff;
        let kept: Vec<String> = marked_lines(0x100, &old, &new)
            .into_iter()
            .filter(|l| !l.starts_with(' '))
            .collect();
        assert_eq!(
            kept,
            [
                format_line(0x100, &new[..16]),
                format_line(0x120, &new[32..])
            ]
        );
    }
}
