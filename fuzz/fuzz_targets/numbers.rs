// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fuzz target: numbers, widths and the argument syntax of poke, peek and devmem. No input
//! may panic; whatever parses must round-trip through its own formatting, and an accepted
//! devmem request is aligned and its value fits its width.
#![no_main]

use libfuzzer_sys::fuzz_target;
use physdemo::cli::busybox::{parse_c_u64, parse_devmem_width, parse_request};
use physdemo::cli::convert::{parse_peek_args, parse_poke_args};
use physdemo::commands::devmem::format_read;
use physdemo::kernel::addr::{parse_u64, PhysAddr};
use physdemo::physmem::width::{check_alignment, check_value_fits, Width};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(v) = parse_u64(&text) {
        assert_eq!(parse_u64(&format!("{v:#x}")), Ok(v));
        assert_eq!(parse_u64(&v.to_string()), Ok(v));
    }
    if let Some(v) = parse_c_u64(&text) {
        assert_eq!(parse_c_u64(&format!("{v:#x}")), Some(v));
        assert_eq!(
            parse_c_u64(&format!("{v:#o}").replacen("0o", "0", 1)),
            Some(v)
        );
    }
    if let Ok(w) = Width::parse(&text) {
        assert_eq!(Width::parse(&w.bits().to_string()).ok(), Some(w));
        assert_eq!(Width::from_bits(u64::from(w.bits())), Some(w));
    }
    if let Ok(w) = parse_devmem_width(&text) {
        assert_eq!(parse_devmem_width(&w.bits().to_string()).ok(), Some(w));
    }
    let words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    let _ = parse_poke_args(&words);
    let _ = parse_peek_args(&words);
    let request = parse_request(
        words.first().map_or("", String::as_str),
        words.get(1).map(String::as_str),
        words.get(2).map(String::as_str),
    );
    if let Ok(req) = request {
        assert!(check_alignment(req.addr, req.width).is_ok());
        if let Some(value) = req.value {
            assert!(check_value_fits(value, req.width).is_ok());
            assert_eq!(parse_c_u64(&format_read(value, req.width)), Some(value));
        }
    }
    if data.len() >= 9 {
        let v = u64::from_le_bytes(data[..8].try_into().unwrap());
        let w = Width::ALL[usize::from(data[8]) % 4];
        let _ = check_alignment(PhysAddr(v), w);
        assert_eq!(check_value_fits(v, w).is_ok(), v <= w.max_value());
        assert_eq!(parse_u64(&w.hex(v & w.max_value())), Ok(v & w.max_value()));
    }
});
