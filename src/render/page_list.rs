// SPDX-License-Identifier: MIT OR Apache-2.0
//! The `--pages` listing of `maps`, one tab-separated line per page like the kernel's
//! `page-types -L`, formatted straight into a byte buffer (a scan lists millions of pages).

use std::collections::HashMap;

use crate::kernel::addr::PageSize;
use crate::kernel::kpageflags::KpageFlags;
use crate::kernel::pagemap::PagemapEntry;

/// Appends `0x` and the lowercase hex digits of `value`.
pub(crate) fn push_hex(buf: &mut Vec<u8>, value: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digits = (64 - value.leading_zeros()).div_ceil(4).max(1) as usize;
    let mut text = [b'0'; 18];
    text[1] = b'x';
    for (i, slot) in text[2..2 + digits].iter_mut().rev().enumerate() {
        *slot = DIGITS[((value >> (i * 4)) & 0xf) as usize];
    }
    buf.extend_from_slice(&text[..2 + digits]);
}

/// Appends a decimal number.
fn push_dec(buf: &mut Vec<u8>, mut value: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// Text of the flag columns, cached per distinct flags word (a scan sees few).
#[derive(Default)]
pub(crate) struct NameCache {
    kpage: HashMap<u64, String>,
    pagemap: HashMap<u64, String>,
    last_kpage: Option<(u64, String)>,
    last_pagemap: Option<(u64, String)>,
}

impl NameCache {
    fn kpage(&mut self, flags: u64) -> &str {
        // Neighbouring pages mostly share flags: skip the hash lookup then.
        if self
            .last_kpage
            .as_ref()
            .is_none_or(|(last, _)| *last != flags)
        {
            let text = self.kpage_slow(flags).to_string();
            self.last_kpage = Some((flags, text));
        }
        self.last_kpage
            .as_ref()
            .map_or("-", |(_, text)| text.as_str())
    }

    fn kpage_slow(&mut self, flags: u64) -> &str {
        self.kpage.entry(flags).or_insert_with(|| {
            let names = KpageFlags(flags).names();
            if names.is_empty() {
                "-".to_string()
            } else {
                names.join(",")
            }
        })
    }

    fn pagemap(&mut self, entry: PagemapEntry) -> &str {
        let key = entry.0 >> 55;
        if self
            .last_pagemap
            .as_ref()
            .is_none_or(|(last, _)| *last != key)
        {
            let text = self.pagemap_slow(entry).to_string();
            self.last_pagemap = Some((key, text));
        }
        self.last_pagemap
            .as_ref()
            .map_or("-", |(_, text)| text.as_str())
    }

    fn pagemap_slow(&mut self, entry: PagemapEntry) -> &str {
        self.pagemap.entry(entry.0 >> 55).or_insert_with(|| {
            let names = entry.flag_names();
            if names.is_empty() {
                "-".to_string()
            } else {
                names.join(",")
            }
        })
    }
}

/// The header of `--pages` text output.
pub(crate) const PAGES_HEADER: &str = "# vaddr\tpfn\tpaddr\tmapcount\tpagemap\tkpageflags";

/// One `--pages` text line: vaddr, PFN, paddr, map count, pagemap bits, kpageflags names,
/// tab-separated. A swapped page shows `swap:TYPE:OFFSET` for its PFN and `-` for the rest.
pub(crate) fn push_page_line(
    buf: &mut Vec<u8>,
    names: &mut NameCache,
    page: PageSize,
    vpn: u64,
    entry: PagemapEntry,
    flags: u64,
    count: u64,
) {
    push_hex(buf, vpn << page.shift());
    buf.push(b'\t');
    match entry.pfn() {
        Some(pfn) => {
            push_hex(buf, pfn.0);
            buf.push(b'\t');
            push_hex(buf, pfn.0 << page.shift());
            buf.push(b'\t');
            push_dec(buf, count);
        }
        None if entry.swapped() => {
            buf.extend_from_slice(b"swap:");
            push_dec(buf, entry.swap_type().unwrap_or(0));
            buf.push(b':');
            push_hex(buf, entry.swap_offset().unwrap_or(0));
            buf.extend_from_slice(b"\t-\t-");
        }
        None => buf.extend_from_slice(b"hidden\t-\t-"),
    }
    buf.push(b'\t');
    buf.extend_from_slice(names.pagemap(entry).as_bytes());
    buf.push(b'\t');
    buf.extend_from_slice(names.kpage(flags).as_bytes());
    buf.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = 1 << 63;
    const SWAP: u64 = 1 << 62;
    const EXCL: u64 = 1 << 56;

    fn four_k() -> PageSize {
        PageSize::new(4096).unwrap()
    }

    #[test]
    fn formats_page_lines_like_a_table() {
        let mut buf = Vec::new();
        let mut names = NameCache::default();
        let page = four_k();
        push_page_line(
            &mut buf,
            &mut names,
            page,
            0x7f12_3456,
            PagemapEntry(P | EXCL | 0x1234),
            1 << 5 | 1 << 12,
            1,
        );
        push_page_line(
            &mut buf,
            &mut names,
            page,
            0x10,
            PagemapEntry(SWAP | 0xab << 5 | 2),
            0,
            0,
        );
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "0x7f123456000\t0x1234\t0x1234000\t1\tpresent,exclusive\tlru,anonymous\n\
             0x10000\tswap:2:0xab\t-\t-\tswapped\t-\n"
        );
        let mut hex = Vec::new();
        push_hex(&mut hex, 0);
        push_hex(&mut hex, u64::MAX);
        assert_eq!(hex, b"0x00xffffffffffffffff");
    }
}
