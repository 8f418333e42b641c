// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fuzz target: /proc/iomem text. Parsing never panics, and either names a malformed line
//! (one line of message) or gives a well-formed tree that prints back as the kernel would
//! and parses to itself; an address placed in the parsed map lies inside its innermost
//! region and every enclosing one, and the write policy answers. The same text read as
//! /proc/ioports (the same format): a port write the policy allows lies in one claimed range
//! and touches no port that resets the machine; and as the lockdown file, its one
//! bracketed level.
#![no_main]

use libfuzzer_sys::fuzz_target;
use physdemo::kernel::addr::PhysAddr;
use physdemo::kernel::iomem::{IomemMap, Placement};
use physdemo::kernel::ioports::{machine_port, IoportMap, Port};
use physdemo::kernel::lockdown::parse_lockdown;
use physdemo::physmem::policy::{check_port_write, check_region_write};

/// The map as the kernel's `r_show` prints it: two spaces per level, `START-END : NAME`.
fn render(map: &IomemMap) -> String {
    map.regions
        .iter()
        .map(|r| {
            format!(
                "{:indent$}{:08x}-{:08x} : {}\n",
                "",
                r.start,
                r.end,
                r.name,
                indent = 2 * r.depth
            )
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let (addr, text) = if data.len() >= 8 {
        (
            u64::from_le_bytes(data[..8].try_into().unwrap()),
            &data[8..],
        )
    } else {
        (0, data)
    };
    if let Some(mode) = parse_lockdown(text) {
        let line = String::from_utf8_lossy(text);
        assert!(line.contains(&format!("[{}]", mode.name())), "{line:?}");
    }
    if let Ok(ports) = IoportMap::parse(text) {
        let port = Port(addr as u16);
        let placement = ports.place(port);
        for bytes in [1u16, 2, 4] {
            let last = port.0.saturating_add(bytes - 1);
            if check_port_write(port, bytes, &placement, false).is_ok() {
                assert!(machine_port(port.0, last).is_none(), "{port} is a machine port");
                match &placement {
                    Placement::In { region, .. } => {
                        assert!(u64::from(last) <= region.end, "{region} {port}+{bytes}")
                    }
                    other => panic!("{port} allowed in {other:?}"),
                }
            }
            assert!(check_port_write(port, bytes, &placement, true).is_ok());
        }
    }
    let map = match IomemMap::parse(text) {
        Ok(map) => map,
        Err(err) => {
            assert_eq!(err.to_string().lines().count(), 1, "{err}");
            assert!(err.line >= 1);
            return;
        }
    };
    let mut deepest = 0;
    for region in &map.regions {
        assert!(region.start <= region.end, "{region}");
        assert!(region.depth <= deepest, "{region} nested too deep");
        deepest = region.depth + 1;
        assert!(!region.name.contains('\n'));
    }
    assert_eq!(IomemMap::parse(render(&map).as_bytes()).as_ref(), Ok(&map));
    for addr in [addr, 0, u64::MAX] {
        let placement = map.place(PhysAddr(addr));
        let _ = placement.describe();
        if let Placement::In { region, outer } = &placement {
            assert!(region.contains(addr), "{region} does not hold {addr:#x}");
            assert!(outer.iter().all(|r| r.contains(addr)));
            let _ = region.to_string();
        }
        for len in [1, 8] {
            if let (Ok(()), Placement::In { region, .. }) = (
                check_region_write(PhysAddr(addr), len, &placement, false),
                &placement,
            ) {
                // an allowed access lies wholly inside its region
                assert!(
                    addr.saturating_add(len - 1) <= region.end,
                    "{region} {addr:#x}+{len}"
                );
            }
            assert!(check_region_write(PhysAddr(addr), len, &placement, true).is_ok());
        }
    }
});
