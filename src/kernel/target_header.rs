// SPDX-License-Identifier: MIT OR Apache-2.0
//! The header of a `physdemo target`'s page (laid out by [`crate::sys::target_page`]),
//! decoded from bytes read through `/proc/<pid>/mem`.
//!
//! A header counts only when every self-check passes: the magic word, the target's own pid,
//! and the virtual address of the variable inside that very page, so a copy of a header
//! elsewhere cannot pass for it.

use crate::kernel::addr::VirtAddr;
use crate::sys::target_page::{layout, TARGET_MAGIC};

/// Bytes of a header, up to and with the variable: what a reader needs.
pub const HEADER_LEN: usize = layout::HEADER_LEN;

/// What a verified target's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetHeader {
    pub pid: i32,
    /// Where the watched variable lives in the target.
    pub value_addr: VirtAddr,
    /// The last value the target noticed, when (CLOCK_MONOTONIC ns), and how many changes.
    pub seen_value: u64,
    pub seen_at_ns: u64,
    pub seen_count: u64,
}

/// Decodes a header from the first bytes of a page at `page_addr` of process `pid`;
/// `None` unless every self-check passes. Any process can write any bytes on its own page,
/// so nothing here may trust them; and where the variable's address would not fit in 64
/// bits there is no header either.
pub fn decode_header(bytes: &[u8], pid: i32, page_addr: u64) -> Option<TargetHeader> {
    let word = |offset: usize| -> Option<u64> {
        let raw = bytes.get(offset..offset + 8)?;
        Some(u64::from_ne_bytes(raw.try_into().ok()?))
    };
    let value_addr = page_addr.checked_add(layout::VALUE as u64)?;
    let valid = word(layout::MAGIC)? == TARGET_MAGIC
        && word(layout::PID)? == pid as u64
        && word(layout::VALUE_ADDR)? == value_addr;
    valid.then_some(TargetHeader {
        pid,
        value_addr: VirtAddr(value_addr),
        seen_value: word(layout::SEEN_VALUE)?,
        seen_at_ns: word(layout::SEEN_AT_NS)?,
        seen_count: word(layout::SEEN_COUNT)?,
    })
}

/// The header bytes a target at `page_addr` of process `pid` writes ([`HEADER_LEN`] of
/// them), with what it saw and its variable: the inverse of [`decode_header`].
pub fn encode_header(header: &TargetHeader, page_addr: u64, value: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; layout::HEADER_LEN];
    for (offset, word) in [
        (layout::MAGIC, TARGET_MAGIC),
        (layout::PID, header.pid as u64),
        (
            layout::VALUE_ADDR,
            page_addr.wrapping_add(layout::VALUE as u64),
        ),
        (layout::SEEN_VALUE, header.seen_value),
        (layout::SEEN_AT_NS, header.seen_at_ns),
        (layout::SEEN_COUNT, header.seen_count),
        (layout::VALUE, value),
    ] {
        bytes[offset..offset + 8].copy_from_slice(&word.to_ne_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_bytes(magic: u64, pid: u64, value_addr: u64) -> Vec<u8> {
        let mut bytes = vec![0u8; layout::HEADER_LEN];
        for (offset, word) in [
            (layout::MAGIC, magic),
            (layout::PID, pid),
            (layout::VALUE_ADDR, value_addr),
            (layout::SEEN_VALUE, 5),
            (layout::SEEN_AT_NS, 6),
            (layout::SEEN_COUNT, 7),
        ] {
            bytes[offset..offset + 8].copy_from_slice(&word.to_ne_bytes());
        }
        bytes
    }

    #[test]
    fn accepts_only_a_header_that_points_at_itself() {
        let page = 0x7f00_0000_0000;
        let value = page + layout::VALUE as u64;
        let good = decode_header(&header_bytes(TARGET_MAGIC, 42, value), 42, page).unwrap();
        assert_eq!(good.value_addr, VirtAddr(value));
        assert_eq!(
            (good.seen_value, good.seen_at_ns, good.seen_count),
            (5, 6, 7)
        );
        // a copy of the header elsewhere, another pid, or no magic: rejected
        assert_eq!(
            decode_header(&header_bytes(TARGET_MAGIC, 42, value), 42, page + 4096),
            None
        );
        assert_eq!(
            decode_header(&header_bytes(TARGET_MAGIC, 43, value), 42, page),
            None
        );
        assert_eq!(decode_header(&header_bytes(0, 42, value), 42, page), None);
        assert_eq!(decode_header(&[0u8; 8], 42, page), None);
    }

    #[test]
    fn encoding_and_decoding_round_trip_and_an_address_past_the_top_is_no_header() {
        let page = 0x7f00_0000_0000;
        let header = TargetHeader {
            pid: 7,
            value_addr: VirtAddr(page + layout::VALUE as u64),
            seen_value: 1,
            seen_at_ns: 2,
            seen_count: 3,
        };
        let bytes = encode_header(&header, page, 9);
        assert_eq!(bytes.len(), HEADER_LEN);
        assert_eq!(decode_header(&bytes, 7, page), Some(header));
        // Where the variable's address would not fit in 64 bits there is no header.
        let top = u64::MAX - 8;
        assert_eq!(decode_header(&encode_header(&header, top, 9), 7, top), None);
    }
}
