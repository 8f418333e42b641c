// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fuzz target: `--pci DEVICE --bar N OFFSET` resolved end to end, as `peek`/`poke` resolve
//! it, against a sysfs tree written from the input (`PHYSDEMO_PCI_SYSFS`): two devices,
//! 0000:00:01.0 (QEMU's edu, 1234:11e8, one 1 MiB BAR) and 0000:00:04.0 whose vendor, device
//! and resource files are the input's. The input is NUL-separated: selector, BAR (0-5),
//! offset, vendor, device, resource text. Nothing panics, whatever sysfs holds; an address
//! that resolves belongs to the device the selector names (by address, or the first in
//! address order with those ids) and lies inside its BAR, `offset` bytes in, the whole
//! access inside it.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use physdemo::kernel::addr::parse_u64;
use physdemo::kernel::pci::{parse_id, parse_resource, parse_selector, Resource, Selector};
use physdemo::resolve::register::{resolve_address, RegisterRef};

const EDU: &str = "0000:00:01.0";
const FUZZED: &str = "0000:00:04.0";
const EDU_RESOURCE: &str = "0x00000000fea00000 0x00000000feafffff 0x0000000000040200\n";

/// The sysfs tree of this fuzzing process, made once; the fuzzed device's files are
/// rewritten for every input.
fn sysfs() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("physdemo-fuzz-pci-{}", std::process::id()));
        let edu = root.join(EDU);
        std::fs::create_dir_all(&edu).unwrap();
        std::fs::create_dir_all(root.join(FUZZED)).unwrap();
        std::fs::write(edu.join("vendor"), "0x1234\n").unwrap();
        std::fs::write(edu.join("device"), "0x11e8\n").unwrap();
        std::fs::write(edu.join("resource"), EDU_RESOURCE).unwrap();
        std::env::set_var("PHYSDEMO_PCI_SYSFS", &root);
        root
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let fields: Vec<&str> = text.split('\0').collect();
    let [selector, bar, offset, vendor, device, resource] = fields[..] else {
        return;
    };
    let dir = sysfs().join(FUZZED);
    std::fs::write(dir.join("vendor"), vendor).unwrap();
    std::fs::write(dir.join("device"), device).unwrap();
    std::fs::write(dir.join("resource"), resource).unwrap();
    let (Ok(parsed), Ok(bar), Ok(offset)) = (
        parse_selector(selector),
        bar.parse::<u8>(),
        parse_u64(offset),
    ) else {
        return;
    };
    if bar > 5 {
        return; // clap allows --bar 0 to 5 only
    }
    let named = RegisterRef {
        selector: parsed.clone(),
        bar,
        offset,
    };
    for len in [1u64, 2, 4, 8] {
        let Ok(paddr) = resolve_address(&named, len) else {
            continue;
        };
        let fuzzed_ids = (parse_id(vendor), parse_id(device));
        let chosen = match &parsed {
            Selector::Address(address) => address.as_str(),
            Selector::Ids {
                vendor: 0x1234,
                device: 0x11e8,
            } => EDU,
            Selector::Ids {
                vendor: v,
                device: d,
            } => {
                assert_eq!(
                    fuzzed_ids,
                    (Some(*v), Some(*d)),
                    "resolved ids no device has"
                );
                FUZZED
            }
        };
        let resources: Vec<Resource> = if chosen == EDU {
            parse_resource(EDU_RESOURCE).unwrap()
        } else {
            assert_eq!(chosen, FUZZED, "resolved a device that does not exist");
            parse_resource(resource).expect("resolved, so its resource file parsed")
        };
        let r = &resources[usize::from(bar)];
        assert!(
            r.start <= paddr.0 && paddr.0 - r.start == offset,
            "{paddr} outside BAR{bar}"
        );
        assert!(offset.checked_add(len).is_some_and(|end| end <= r.size()));
    }
});
