// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fuzz target: /proc/kcore's ELF header and program headers (the input: the file's first
//! bytes, then 16 bytes of a physical address and a length to look up). Decoding never
//! panics; every segment decoded is non-empty and its ranges fit in 64 bits; a lookup that
//! succeeds lies inside one segment that holds the whole range, at that segment's offset
//! plus the distance in; every segment's own range is covered; the ranges are sorted and
//! disjoint; the segments encoded again decode to themselves.
#![no_main]

use libfuzzer_sys::fuzz_target;
use physdemo::kernel::addr::PhysAddr;
use physdemo::kernel::kcore::{encode, KcoreLayout, KcoreMiss};

fuzz_target!(|data: &[u8]| {
    let (query, bytes) = data.split_at(data.len().min(16));
    let mut word = [[0u8; 8]; 2];
    for (i, b) in query.iter().enumerate() {
        word[i / 8][i % 8] = *b;
    }
    let (addr, len) = (
        PhysAddr(u64::from_le_bytes(word[0])),
        u64::from_le_bytes(word[1]) % (1 << 40),
    );
    let Ok(layout) = KcoreLayout::parse(bytes) else {
        return;
    };
    for s in &layout.segments {
        assert!(s.size > 0);
        assert!(s.paddr.0.checked_add(s.size).is_some() && s.offset.checked_add(s.size).is_some());
        assert!(layout.covers(s.paddr, s.size));
    }
    match layout.locate(addr, len) {
        Ok(offset) => assert!(layout.segments.iter().any(|s| s.contains(addr)
            && addr.0 + len.max(1) <= s.end()
            && offset == s.offset + (addr.0 - s.paddr.0))),
        Err(KcoreMiss::NotCovered { addr: at }) => {
            assert_eq!(at, addr);
            assert!(!layout.segments.iter().any(|s| s.contains(addr)));
        }
        Err(KcoreMiss::Crosses { addr: at, end }) => {
            assert_eq!(at, addr);
            assert!(end.0 > addr.0 && layout.segments.iter().all(|s| !s.contains(addr) || s.end() <= end.0));
        }
    }
    let ranges = layout.ranges();
    for pair in ranges.windows(2) {
        assert!(pair[0].0 <= pair[0].1 && pair[0].1.0.saturating_add(1) < pair[1].0.0);
    }
    let again: Vec<_> = layout
        .segments
        .iter()
        .map(|s| (s.vaddr, Some(s.paddr.0), s.offset, s.size))
        .collect();
    let decoded = KcoreLayout::parse(&encode(layout.header.machine, &again)).expect("encoded");
    assert_eq!(decoded.segments, layout.segments);
});
