// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fuzz target: the texts that decide whether a memory device opens: a kernel config,
//! /sys/kernel/security/lockdown, a /proc/<pid>/status CapEff line, /proc/cpuinfo and
//! /proc/cmdline words, debugfs's pat_memtype_list, /proc/modules and a sysfs `dev` file.
//! No decoder panics; a lockdown level found is one that is in brackets in the text; every
//! PAT reservation is a non-empty range that covers itself; a module found is the one asked
//! for; a parsed device number prints back as the text it came from. Device tree `reg`
//! cells decode into exactly as many ranges as the bytes hold; a page-table walk (x86-64,
//! arm64 of any granule and VA bits) puts the address back together from its indices.
//! /proc/zoneinfo's zones: the zone found for a frame spans it; a register name is found
//! only inside a known register.
#![no_main]

use libfuzzer_sys::fuzz_target;
use physdemo::kernel::config::KernelConfig;
use physdemo::kernel::modules::{find_module, parse_dev_number};
use physdemo::kernel::pat::{cmdline_has, cpu_has_pat, parse_memtype_list};
use physdemo::kernel::pci_registers::{bar_register_name, config_register_name, EDU_IDS};
use physdemo::kernel::zoneinfo::{parse_zoneinfo, zone_of};
use physdemo::kernel::capabilities::parse_cap_eff;
use physdemo::kernel::addr::{PageSize, VirtAddr};
use physdemo::kernel::devicetree::{decode_cells, decode_compatible, decode_reg, DtDevice};
use physdemo::kernel::lockdown::parse_lockdown;
use physdemo::kernel::walk::Mmu;

fuzz_target!(|data: &[u8]| {
    let config = KernelConfig::parse(data);
    for name in ["DEVMEM", "STRICT_DEVMEM", "X86_PAT"] {
        let setting = config.get(name);
        let _ = (setting.is_on(), setting.to_string());
    }
    if let Some(mode) = parse_lockdown(data) {
        let text = String::from_utf8_lossy(data);
        assert!(text.contains(&format!("[{mode}]")), "{mode} not bracketed");
    }
    let _ = parse_cap_eff(data).map(|caps| caps.0);
    let _ = (cpu_has_pat(data), cmdline_has(data, "nopat"));
    for memtype in parse_memtype_list(data) {
        assert!(memtype.start < memtype.end && !memtype.cache.is_empty());
        assert!(memtype.covers(memtype.start, memtype.end));
    }
    let zones = parse_zoneinfo(data);
    for zone in &zones {
        if let Some(found) = zone_of(&zones, zone.start_pfn) {
            assert!(found.spans(zone.start_pfn), "{found:?}");
        }
    }
    if data.len() >= 8 {
        let offset = u64::from_le_bytes(data[..8].try_into().unwrap());
        if config_register_name(offset).is_some() {
            assert!(offset < 0x40);
        }
        if bar_register_name(EDU_IDS, 0, offset).is_some() {
            assert!(offset < 0x10_0000);
        }
    }
    if let Some(module) = find_module(data, "physdemo_mem") {
        assert_eq!(module.name, "physdemo_mem");
    }
    if let Some((major, minor)) = parse_dev_number(data) {
        let text = std::str::from_utf8(data).unwrap().trim();
        let (a, b) = text.split_once(':').unwrap();
        assert_eq!((a.parse::<u32>().ok(), b.parse::<u32>().ok()), (Some(major), Some(minor)));
    }
    if let [a, b, rest @ ..] = data {
        let (address_cells, size_cells) = (u32::from(a % 4), u32::from(b % 4));
        if let Some(reg) = decode_reg(rest, address_cells, size_cells) {
            assert_eq!(reg.len() * 4 * (address_cells + size_cells) as usize, rest.len());
            let names = decode_compatible(rest);
            if let Some(first) = reg.first() {
                let _ = DtDevice::at(first.start, "/node", names, &reg).map(|d| d.to_string());
            }
        }
        let _ = decode_cells(rest);
    }
    if data.len() >= 10 {
        let addr = u64::from_le_bytes(data[..8].try_into().unwrap());
        let page = PageSize::new(1 << (12 + (data[8] % 5))).unwrap();
        let mmu = match data[9] % 3 {
            0 => Mmu::X86_64,
            1 => Mmu::Arm64 { va_bits: u32::from(data[9] % 64) },
            _ => Mmu::Other,
        };
        if let Some(walk) = mmu.walk(VirtAddr(addr), page) {
            let rebuilt = walk.levels.iter().fold(walk.offset, |acc, l| acc | l.index << l.low);
            assert_eq!(rebuilt, addr, "{walk:?}");
            let _ = (walk.chain(), walk.bit_ranges());
        }
    }
});
