// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fuzz target: the header of a physdemo target's page, which any process can forge on its
//! own page (the input: 8 bytes of page address, 4 of pid, then the page's first bytes).
//! Decoding never panics; a header that decodes names exactly that pid and the variable
//! inside that very page, carries the magic, and encodes to bytes that decode to it; the same
//! bytes at another page or for another pid never decode; a header encoded from the input's
//! own fields always decodes to them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use physdemo::kernel::addr::VirtAddr;
use physdemo::kernel::target_header::{decode_header, encode_header, TargetHeader, HEADER_LEN};

/// The variable's offset in the page: the header's last word.
const VALUE: u64 = (HEADER_LEN - 8) as u64;

fuzz_target!(|data: &[u8]| {
    let (Some(page), Some(pid)) = (data.get(..8), data.get(8..12)) else {
        return;
    };
    let page_addr = u64::from_le_bytes(page.try_into().unwrap());
    let pid = i32::from_le_bytes(pid.try_into().unwrap());
    let bytes = &data[12..];
    if let Some(header) = decode_header(bytes, pid, page_addr) {
        assert_eq!(header.pid, pid);
        let value_addr = page_addr
            .checked_add(VALUE)
            .expect("decoded: the address fits");
        assert_eq!(header.value_addr, VirtAddr(value_addr));
        assert_eq!(&bytes[..8], b"PHYSDEMO");
        // The variable's own word is no part of the checks: it may be missing.
        let value = bytes
            .get(HEADER_LEN - 8..HEADER_LEN)
            .map_or(0, |w| u64::from_ne_bytes(w.try_into().unwrap()));
        let encoded = encode_header(&header, page_addr, value);
        assert_eq!(decode_header(&encoded, pid, page_addr), Some(header));
        assert_eq!(
            decode_header(bytes, pid, page_addr.wrapping_add(4096)),
            None
        );
        assert_eq!(decode_header(bytes, pid.wrapping_add(1), page_addr), None);
    }
    // A genuine header built from the input's fields decodes to exactly them.
    let word = |i: usize| {
        let mut w = [0u8; 8];
        for (j, b) in bytes.iter().skip(i * 8).take(8).enumerate() {
            w[j] = *b;
        }
        u64::from_le_bytes(w)
    };
    let genuine = TargetHeader {
        pid,
        value_addr: VirtAddr(page_addr.wrapping_add(VALUE)),
        seen_value: word(0),
        seen_at_ns: word(1),
        seen_count: word(2),
    };
    let encoded = encode_header(&genuine, page_addr, word(3));
    let decoded = decode_header(&encoded, pid, page_addr);
    if page_addr.checked_add(VALUE).is_some() {
        assert_eq!(decoded, Some(genuine));
    } else {
        assert_eq!(decoded, None);
    }
});
