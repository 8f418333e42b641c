//! Fuzz target: /proc/<pid>/maps text through our wrapper of the procfs crate's parser
//! ([`parse_maps`], which this target showed must defuse `/SYSV` and `[stack:` names), and
//! our summaries of it; and the `maps --mapping` / `--flag` filter syntax. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use physdemo::explore::options_from_args;
use physdemo::process::{describe_path, parse_maps, MappingSummary};

fuzz_target!(|data: &[u8]| {
    if let Ok(maps) = parse_maps(data) {
        for map in &maps {
            let summary = MappingSummary::from(map);
            assert!(summary.start.starts_with("0x"));
            let _ = describe_path(&map.pathname);
        }
    }
    let text = String::from_utf8_lossy(data);
    let words: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let _ = options_from_args(1, false, false, &words, &[], false);
    let _ = options_from_args(1, true, false, &[], &words, false);
});
