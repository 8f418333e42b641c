//! Fuzz target: /proc/iomem text. Parsing never panics; an address placed in the parsed map
//! lies inside its innermost region and every enclosing one, and the write policy answers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use physdemo::addr::PhysAddr;
use physdemo::iomem::{check_write, IomemMap, Placement};

fuzz_target!(|data: &[u8]| {
    let (addr, text) = if data.len() >= 8 {
        (
            u64::from_le_bytes(data[..8].try_into().unwrap()),
            &data[8..],
        )
    } else {
        (0, data)
    };
    let Ok(map) = IomemMap::parse(text) else {
        return;
    };
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
                check_write(PhysAddr(addr), len, &placement, false),
                &placement,
            ) {
                // an allowed access lies wholly inside its region
                assert!(
                    addr.saturating_add(len - 1) <= region.end,
                    "{region} {addr:#x}+{len}"
                );
            }
            assert!(check_write(PhysAddr(addr), len, &placement, true).is_ok());
        }
    }
});
