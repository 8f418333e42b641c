//! The header of a `physdemo target`'s page (laid out by [`crate::sys::target_page`]),
//! decoded from bytes read through `/proc/<pid>/mem`.
//!
//! A header counts only when every self-check passes: the magic word, the target's own pid,
//! and the virtual address of the variable inside that very page, so a copy of a header
//! elsewhere cannot pass for it.

use crate::kernel::addr::VirtAddr;
use crate::sys::target_page::{layout, TARGET_MAGIC};

/// What a verified target's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TargetHeader {
    pub(crate) pid: i32,
    /// Where the watched variable lives in the target.
    pub(crate) value_addr: VirtAddr,
    /// The last value the target noticed, when (CLOCK_MONOTONIC ns), and how many changes.
    pub(crate) seen_value: u64,
    pub(crate) seen_at_ns: u64,
    pub(crate) seen_count: u64,
}

/// Decodes a header from the first bytes of a page at `page_addr` of process `pid`;
/// `None` unless every self-check passes.
pub(crate) fn decode_header(bytes: &[u8], pid: i32, page_addr: u64) -> Option<TargetHeader> {
    let word = |offset: usize| -> Option<u64> {
        let raw = bytes.get(offset..offset + 8)?;
        Some(u64::from_ne_bytes(raw.try_into().ok()?))
    };
    let value_addr = page_addr + layout::VALUE as u64;
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
}
