// SPDX-License-Identifier: MIT OR Apache-2.0
//! Which NUMA node and zone hold a frame, from `/proc/zoneinfo`.
//!
//! `zoneinfo_show_print()` (`mm/vmstat.c`) prints, per zone, a header `Node N, zone NAME`,
//! then among its counters `        spanned  S` and, after the per-CPU sets,
//! `  start_pfn:           P`. A zone spans the frames `[P, P + S)` (holes included:
//! `present` counts the frames that exist). An empty zone (spanned 0) spans nothing.
//! Pure: text in, zones out, tested on literals.

use serde::Serialize;

/// One zone of one node: the frames it spans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Zone {
    pub node: u32,
    /// `DMA`, `DMA32`, `Normal`, `Movable`, `Device`, ...
    pub zone: String,
    pub start_pfn: u64,
    /// Frames spanned from `start_pfn`, holes included.
    pub spanned: u64,
}

impl Zone {
    /// Whether the zone spans frame `pfn`.
    pub fn spans(&self, pfn: u64) -> bool {
        pfn >= self.start_pfn && pfn - self.start_pfn < self.spanned
    }
}

/// Parses `/proc/zoneinfo`; a zone missing its `spanned` or `start_pfn` line is left out.
pub fn parse_zoneinfo(text: &[u8]) -> Vec<Zone> {
    let text = String::from_utf8_lossy(text);
    let mut zones = Vec::new();
    let mut current: Option<(u32, String, Option<u64>, Option<u64>)> = None;
    let mut finish = |current: Option<(u32, String, Option<u64>, Option<u64>)>| {
        if let Some((node, zone, Some(spanned), Some(start_pfn))) = current {
            zones.push(Zone {
                node,
                zone,
                start_pfn,
                spanned,
            });
        }
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Node ") {
            finish(current.take());
            current = rest.split_once(", zone").and_then(|(node, zone)| {
                let zone = zone.trim();
                Some((node.trim().parse().ok()?, zone.to_string(), None, None))
                    .filter(|z| !z.1.is_empty())
            });
            continue;
        }
        let Some((_, _, spanned, start)) = current.as_mut() else {
            continue;
        };
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("spanned"), Some(n), None) => *spanned = n.parse().ok(),
            (Some("start_pfn:"), Some(n), None) => *start = n.parse().ok(),
            _ => {}
        }
    }
    finish(current);
    zones
}

/// The zone spanning `pfn`, if any (the first, in file order).
pub fn zone_of(zones: &[Zone], pfn: u64) -> Option<&Zone> {
    zones.iter().find(|z| z.spans(pfn))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-node QEMU guest's /proc/zoneinfo (6.1), counters cut.
    const TWO_NODES: &str = "\
Node 0, zone      DMA
  per-node stats
      nr_inactive_anon 12
  pages free     3840
        min      0
        spanned  4095
        present  3998
        managed  3840
  pagesets
    cpu: 0
              count: 0
  node_unreclaimable:  0
  start_pfn:           1
Node 0, zone    DMA32
  pages free     100
        spanned  126976
        present  126976
  start_pfn:           4096
Node 0, zone   Normal
  pages free     0
        spanned  0
        present  0
Node 1, zone    DMA32
  pages free     120000
        spanned  131072
        present  131040
  start_pfn:           131072
Node 1, zone  Movable
        spanned  0
        present  0
  start_pfn:           0
";

    #[test]
    fn finds_the_node_and_zone_of_a_frame() {
        let zones = parse_zoneinfo(TWO_NODES.as_bytes());
        assert_eq!(zones.len(), 4, "{zones:?}");
        let at = |pfn| zone_of(&zones, pfn).map(|z| (z.node, z.zone.as_str()));
        assert_eq!(at(0), None);
        assert_eq!(at(1), Some((0, "DMA")));
        assert_eq!(at(4095), Some((0, "DMA")));
        assert_eq!(at(4096), Some((0, "DMA32")));
        assert_eq!(at(131_071), Some((0, "DMA32")));
        assert_eq!(at(131_072), Some((1, "DMA32")));
        assert_eq!(at(262_143), Some((1, "DMA32")));
        assert_eq!(at(262_144), None);
        // The empty Movable zone at 0 spans nothing.
        assert!(!zones[3].spans(0));
    }

    #[test]
    fn skips_what_is_not_a_zone() {
        assert!(parse_zoneinfo(b"").is_empty());
        assert!(parse_zoneinfo(b"Node x, zone DMA\n spanned 5\n start_pfn: 1\n").is_empty());
        assert!(parse_zoneinfo(b"Node 0, zone \n spanned 5\n start_pfn: 1\n").is_empty());
        assert!(parse_zoneinfo(b"Node 0, zone DMA\n start_pfn: 1\n").is_empty());
        assert!(parse_zoneinfo(b"  start_pfn: 1\n spanned 3\n").is_empty());
        let one = parse_zoneinfo(b"Node 2, zone Normal\n spanned 10\n start_pfn: 20\n");
        assert_eq!(
            one,
            vec![Zone {
                node: 2,
                zone: "Normal".into(),
                start_pfn: 20,
                spanned: 10
            }]
        );
        assert!(one[0].spans(29) && !one[0].spans(30));
        // No overflow at the top of the frame numbers.
        let top = parse_zoneinfo(
            b"Node 0, zone N\n spanned 18446744073709551615\n start_pfn: 18446744073709551615\n",
        );
        assert!(top[0].spans(u64::MAX));
    }
}
