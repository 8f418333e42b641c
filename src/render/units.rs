// SPDX-License-Identifier: MIT OR Apache-2.0
//! Quantities as people read them: bytes in binary units, latencies in ns/µs/ms.

/// Formats a byte count as `4.0 GiB`, `12 KiB`.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A latency in the unit that reads best: ns, µs or ms.
pub(crate) fn format_latency(ns: u64) -> String {
    if ns < 1_000 {
        format!("{ns} ns")
    } else if ns < 1_000_000 {
        format!("{:.1} µs", ns as f64 / 1e3)
    } else {
        format!("{:.3} ms", ns as f64 / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_read_well() {
        assert_eq!(format_latency(950), "950 ns");
        assert_eq!(format_latency(12_345), "12.3 µs");
        assert_eq!(format_latency(2_500_000), "2.500 ms");
    }
}
