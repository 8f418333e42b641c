// SPDX-License-Identifier: MIT OR Apache-2.0
//! x86 PAT, as the kernel shows it: the `pat` CPU flag (`/proc/cpuinfo`), `nopat` on the
//! command line (`/proc/cmdline`), and the memory types it tracks for non-RAM ranges
//! (debugfs `x86/pat_memtype_list`).
//!
//! `pat_memtype_list` is written by `memtype_seq_start()`/`memtype_seq_show()` in
//! `arch/x86/mm/pat/memtype.c` (6.1): a header `PAT memtype list:`, then one
//! `PAT: [mem 0x%016Lx-0x%016Lx] %s` per reservation, end exclusive, the type named by
//! `cattr_name()` (`arch/x86/mm/pat/memtype.h`): `uncached`, `uncached-minus`,
//! `write-back`, `write-combining`, `write-through`, `write-protected`. RAM's types are kept
//! in its page flags, not in this list, so only device and reserved ranges appear.

/// One reservation of `pat_memtype_list`: `[start, end)` and its cache type's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memtype {
    pub start: u64,
    /// Exclusive.
    pub end: u64,
    pub cache: String,
}

impl Memtype {
    /// Whether the reservation covers all of `[start, end)`.
    pub fn covers(&self, start: u64, end: u64) -> bool {
        self.start <= start && end <= self.end
    }
}

/// Parses `pat_memtype_list`; lines that are not reservations (the header) are skipped.
pub fn parse_memtype_list(text: &[u8]) -> Vec<Memtype> {
    let text = String::from_utf8_lossy(text);
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("PAT: [mem ")?;
            let (range, cache) = rest.split_once("] ")?;
            let (start, end) = range.split_once('-')?;
            let hex = |s: &str| u64::from_str_radix(s.strip_prefix("0x")?, 16).ok();
            let (start, end) = (hex(start)?, hex(end)?);
            let cache = cache.trim();
            (start < end && !cache.is_empty()).then(|| Memtype {
                start,
                end,
                cache: cache.to_string(),
            })
        })
        .collect()
}

/// Whether `/proc/cpuinfo` lists the `pat` flag (on the first processor's `flags` line).
pub fn cpu_has_pat(cpuinfo: &[u8]) -> bool {
    String::from_utf8_lossy(cpuinfo)
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == "flags").then(|| value.split_whitespace().any(|flag| flag == "pat"))
        })
        .unwrap_or(false)
}

/// Whether the kernel command line holds the word `word` (`nopat`, `iomem=relaxed`).
pub fn cmdline_has(cmdline: &[u8], word: &str) -> bool {
    String::from_utf8_lossy(cmdline)
        .split_whitespace()
        .any(|w| w == word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_reservations_and_skips_the_header() {
        let list = parse_memtype_list(
            b"PAT memtype list:\n\
              PAT: [mem 0x00000000b0000000-0x00000000c0000000] uncached-minus\n\
              PAT: [mem 0x00000000fed00000-0x00000000fed01000] uncached-minus\n\
              PAT: [mem 0x00000000fd000000-0x00000000fe000000] write-combining\n\
              PAT: [mem 0x00000000fed00000-0x00000000fed00000] broken\n\
              PAT: [mem zz-0x1] write-back\n",
        );
        assert_eq!(list.len(), 3, "{list:?}");
        assert_eq!(
            list[1],
            Memtype {
                start: 0xfed0_0000,
                end: 0xfed0_1000,
                cache: "uncached-minus".into()
            }
        );
        assert!(list[1].covers(0xfed0_0000, 0xfed0_1000));
        assert!(!list[1].covers(0xfed0_0000, 0xfed0_2000));
        assert_eq!(list[2].cache, "write-combining");
        assert!(parse_memtype_list(b"").is_empty());
    }

    #[test]
    fn a_reservation_whose_cache_type_is_only_blanks_is_skipped() {
        // Found by the `facts` fuzz target: the blank check ran before the trim.
        assert!(parse_memtype_list(b"PAT: [mem 0x0-0x1000]  \t\n").is_empty());
        assert!(parse_memtype_list(b"PAT: [mem 0x0-0x1000] \r\n").is_empty());
    }

    #[test]
    fn finds_the_pat_flag_and_command_line_words() {
        let cpuinfo = b"processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush\n";
        assert!(cpu_has_pat(cpuinfo));
        assert!(!cpu_has_pat(b"flags\t\t: fpu vme patx\n"));
        assert!(!cpu_has_pat(b"processor\t: 0\n"));
        let cmdline = b"console=ttyS0 nokaslr nopat iomem=relaxed\n";
        assert!(cmdline_has(cmdline, "nopat"));
        assert!(cmdline_has(cmdline, "iomem=relaxed"));
        assert!(!cmdline_has(b"console=ttyS0 nopatx\n", "nopat"));
    }
}
