// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fuzz target: sysfs PCI `resource` files, `--pci` selectors and ids, the BAR offset
//! check, and the ACPI MCFG table. Nothing panics; a parsed address selector re-parses to
//! itself; an offset accepted in a BAR lies inside it; an address inside an ECAM window
//! decodes to the function and register that encode back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use physdemo::kernel::ecam::parse_mcfg;
use physdemo::kernel::pci::{locate_in_bar, parse_id, parse_resource, parse_selector, Selector};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(Selector::Address(address)) = parse_selector(&text) {
        assert_eq!(
            parse_selector(&address).ok(),
            Some(Selector::Address(address.clone()))
        );
    }
    let _ = parse_id(&text);
    if let Ok(resources) = parse_resource(&text) {
        for r in &resources {
            let _ = (r.describe(), r.size(), r.is_mem(), r.is_io(), r.is_unused());
        }
        let n = data.len() as u64;
        for (bar, offset, len) in [(0u8, n, 4u64), (1, 0, 1), (5, n * 7, 8), (2, u64::MAX, 4)] {
            if let Ok(paddr) = locate_in_bar(&resources, "fuzz", bar, offset, len) {
                let r = &resources[usize::from(bar)];
                assert!(r.start <= paddr.0 && paddr.0 - r.start == offset);
                assert!(offset.checked_add(len).is_some_and(|end| end <= r.size()));
            }
        }
    }
    if let Ok(windows) = parse_mcfg(data) {
        for window in &windows {
            let n = data.len() as u64;
            for addr in [
                window.first(),
                window.last(),
                window.first().wrapping_add(n * 4097),
            ] {
                if let Some(f) = window.decode(addr) {
                    assert!(window.contains(addr));
                    let encoded = window.base
                        + (u64::from(f.bus) << 20)
                        + (u64::from(f.device) << 15)
                        + (u64::from(f.function) << 12)
                        + u64::from(f.register);
                    assert_eq!(encoded, addr, "{window}");
                    assert!(f.bus >= window.start_bus && f.bus <= window.end_bus);
                }
            }
        }
    }
});
