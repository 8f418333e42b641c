// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fuzz target: /proc/<pid>/maps text through our wrapper of the procfs crate's parser
//! ([`parse_maps`], which this target showed must defuse `/SYSV` and `[stack:` names), and
//! our summaries of it; and the `maps --mapping` / `--flag` filter syntax. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use physdemo::kernel::maps::{describe_path, parse_maps, MappingSummary};
use physdemo::scan::filter::{FlagFilter, MappingFilter};

fuzz_target!(|data: &[u8]| {
    if let Ok(maps) = parse_maps(data) {
        for map in &maps {
            let summary = MappingSummary::from(map);
            assert!(summary.start.to_string().starts_with("0x"));
            let _ = describe_path(&map.pathname);
        }
    }
    let text = String::from_utf8_lossy(data);
    let words: Vec<String> = text.split('\n').map(str::to_owned).collect();
    for word in &words {
        let _ = MappingFilter::parse(word);
    }
    let _ = FlagFilter::parse(&words);
});
