// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo explain` on this host's real /proc: a running target's variable (its pid,
//! virtual address, physical address, page-table walk and frame class against the target's
//! own report and /proc/PID/pagemap, /proc/kpageflags and /proc/kpagecount read here), an
//! address no region of /proc/iomem holds (found here by reading /proc/iomem), a PCI BAR
//! (sysfs read here), an ECAM register, the kernel's code, and the doors this host has (none:
//! no /dev/mem, no module), which peek then really finds closed; and, run as nobody, the
//! parts it cannot know named with the reason.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use serde_json::Value;

use crate::common::*;

fn explain_json(args: &[&str]) -> Value {
    let mut all = vec!["explain"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = run(&all);
    assert!(out.status.success(), "explain failed: {}", stderr_of(&out));
    serde_json::from_str(&stdout_of(&out)).expect("explain --json prints one JSON object")
}

/// The /proc/kpagecount word of a frame, read with plain std I/O.
fn independent_kpagecount(pfn: u64) -> u64 {
    let mut word = [0u8; 8];
    File::open("/proc/kpagecount")
        .and_then(|f| f.read_exact_at(&mut word, pfn * 8))
        .expect("read kpagecount");
    u64::from_ne_bytes(word)
}

/// kpageflags bits (include/uapi/linux/kernel-page-flags.h).
const KPF_ANON: u64 = 1 << 12;
const KPF_THP: u64 = 1 << 22;
const KPF_RESERVED: u64 = 1 << 32;

/// The target's variable, explained: its pid, vaddr, frame and class, as the target's own
/// ready report and this process's reads of pagemap, kpageflags and kpagecount give them.
fn check_target_variable(placement: &str) {
    require_root();
    let target = Target::start(&["--where", placement]);
    let (pid, vaddr) = (target.pid(), target.vaddr());
    let pfn = independent_pfn(pid, vaddr);
    let paddr = pfn * page_size() + vaddr % page_size();
    let flags = independent_kpageflags(pfn);
    // The class the target's own report gives: a THP when it says so, else plain anonymous
    // memory (--where mmap is a private anonymous mapping).
    let (class, bits) = if target.ready["huge_page"].is_null() {
        ("anonymous", KPF_ANON)
    } else {
        ("huge", KPF_ANON | KPF_THP)
    };
    assert_eq!(
        flags & bits,
        bits,
        "kpageflags {flags:#x} of frame {pfn:#x}"
    );
    assert_eq!(hex(&target.ready["paddr"]), paddr, "{}", target.ready);
    let json = explain_json(&[&pid.to_string(), &format!("{vaddr:#x}")]);
    assert_eq!(json["process"]["pid"], pid, "{json}");
    assert_eq!(hex(&json["process"]["vaddr"]), vaddr);
    assert_eq!(json["process"]["target"], true);
    assert_eq!(
        json["process"]["mapping"]["path"], target.ready["mapping"],
        "{json}"
    );
    assert_eq!(hex(&json["paddr"]), paddr);
    assert_eq!(json["ram"], true);
    let frame = &json["frame"];
    assert_eq!(hex(&frame["pfn"]), pfn);
    assert_eq!(frame["class"], class, "{json}");
    assert_eq!(frame["map_count"], independent_kpagecount(pfn), "{json}");
    let owners = frame["owners"].as_array().expect("owners listed");
    assert!(
        owners
            .iter()
            .any(|o| o["pid"] == pid && hex(&o["vaddr"]) == vaddr),
        "the target is among the owners: {json}"
    );
    assert!(json["regions"][0]["name"] == "System RAM", "{json}");
    if cfg!(target_arch = "x86_64") {
        // The 4-level walk, its indices computed here from the address.
        let idx = |shift: u32| (vaddr >> shift) & 511;
        let walk = format!(
            "PGD[{}] -> PUD[{}] -> PMD[{}] -> PTE[{}] + offset {:#05x}",
            idx(39),
            idx(30),
            idx(21),
            idx(12),
            vaddr & 0xfff
        );
        let shown = json["process"]["walk"].as_str().unwrap_or_default();
        assert!(shown.starts_with(&walk), "{shown} vs {walk}");
    }
    // The text names the same.
    let out = run(&["explain", &pid.to_string(), &format!("{vaddr:#x}")]);
    let text = stdout_of(&out);
    assert!(
        text.contains(&format!(
            "physdemo target pid {pid} (physdemo), virtual {vaddr:#x}"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("class {class}")), "{text}");
}

#[test]
fn explains_a_target_variable_in_anonymous_memory() {
    check_target_variable("mmap");
}

#[test]
fn explains_a_target_variable_in_a_transparent_huge_page() {
    check_target_variable("thp");
}

/// Top-level ranges of /proc/iomem, read here.
fn top_level_ranges() -> Vec<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/iomem").expect("read /proc/iomem");
    text.lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| {
            let (range, _) = l.split_once(" : ")?;
            let (a, b) = range.split_once('-')?;
            Some((
                u64::from_str_radix(a, 16).ok()?,
                u64::from_str_radix(b, 16).ok()?,
            ))
        })
        .collect()
}

#[test]
fn an_address_in_no_region_is_said_to_be_in_none() {
    require_root();
    let ranges = top_level_ranges();
    // The first byte after a top-level range that no range holds.
    let gap = ranges
        .iter()
        .map(|&(_, end)| end + 1)
        .find(|&a| !ranges.iter().any(|&(s, e)| s <= a && a <= e))
        .expect("a gap in /proc/iomem");
    let json = explain_json(&[&format!("{gap:#x}")]);
    assert_eq!(json["regions"], serde_json::json!([]), "{json}");
    assert_eq!(json["region"], "no region of /proc/iomem");
    assert_eq!(json["ram"], false);
    assert!(json["frame"].is_null());
    let text = stdout_of(&run(&["explain", &format!("{gap:#x}")]));
    assert!(
        text.contains(&format!(
            "iomem     none: {gap:#x} is in no region of /proc/iomem"
        )),
        "{text}"
    );
}

#[test]
fn the_kernels_code_is_named_and_its_frame_reserved() {
    require_root();
    let text = std::fs::read_to_string("/proc/iomem").unwrap();
    let start = text
        .lines()
        .find(|l| l.ends_with(" : Kernel code"))
        .and_then(|l| u64::from_str_radix(l.trim().split('-').next()?, 16).ok())
        .expect("Kernel code in /proc/iomem");
    let json = explain_json(&[&format!("{start:#x}")]);
    assert_eq!(json["kernel_section"], "Kernel code", "{json}");
    let names: Vec<&str> = json["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["System RAM", "Kernel code"]);
    let flags = independent_kpageflags(start / page_size());
    assert_ne!(flags & KPF_RESERVED, 0, "{flags:#x}");
    assert_eq!(json["frame"]["class"], "kernel", "{json}");
}

#[test]
fn a_pci_bar_is_named_by_device_bar_and_offset() {
    require_root();
    // The first device (in address order) with a memory BAR, read from sysfs here.
    let mut devices: Vec<_> = std::fs::read_dir("/sys/bus/pci/devices")
        .expect("sysfs PCI")
        .map(|e| e.unwrap().path())
        .collect();
    devices.sort();
    let (device, bar, start) = devices
        .iter()
        .find_map(|dir| {
            let text = std::fs::read_to_string(dir.join("resource")).ok()?;
            text.lines().take(6).enumerate().find_map(|(i, line)| {
                let w: Vec<u64> = line
                    .split_whitespace()
                    .map(|x| u64::from_str_radix(x.trim_start_matches("0x"), 16).unwrap())
                    .collect();
                (w[0] != 0 && w[2] & 0x200 != 0).then(|| (dir.clone(), i, w[0]))
            })
        })
        .expect("a PCI device with a memory BAR");
    let name = device.file_name().unwrap().to_str().unwrap();
    let json = explain_json(&[&format!("{:#x}", start + 0x10)]);
    assert_eq!(json["pci"]["address"], name, "{json}");
    assert_eq!(json["pci"]["bar"], bar);
    assert_eq!(hex(&json["pci"]["offset"]), 0x10);
    assert_eq!(json["ram"], false);
    // The same through --pci.
    let named = explain_json(&["--pci", name, "--bar", &bar.to_string(), "0x10"]);
    assert_eq!(named["paddr"], json["paddr"]);
    assert_eq!(named["pci"]["address"], name);
}

#[test]
fn the_doors_of_this_host_are_closed_and_peek_finds_them_so() {
    require_root();
    // This host has neither /dev/mem nor physdemo_mem nor /proc/kcore: every verdict says
    // so, and a peek (without --device) really fails.
    assert!(["/dev/mem", "/dev/physmem", "/proc/kcore"]
        .iter()
        .all(|door| !Path::new(door).exists()));
    let target = Target::start(&[]);
    let paddr = hex(&target.ready["paddr"]);
    let json = explain_json(&[&format!("{paddr:#x}")]);
    let doors = json["doors"].as_array().unwrap();
    assert_eq!(doors.len(), 3, "{json}");
    for door in doors {
        for way in ["read", "write"] {
            assert_eq!(door[way]["ok"], false, "{json}");
            let why = door[way]["why"].as_str().unwrap();
            let absent = match door["door"].as_str().unwrap() {
                "/proc/kcore" if way == "write" => why.starts_with("/proc/kcore is read-only"),
                "/proc/kcore" => why.starts_with("/proc/kcore does not exist"),
                _ => why.starts_with("there is no "),
            };
            assert!(absent, "{json}");
        }
    }
    assert!(json["routes"]["peek"]["door"].is_null(), "{json}");
    let peek = physdemo()
        .args(["peek", &format!("{paddr:#x}")])
        .env_remove("PHYSDEMO_DEVICE")
        .output()
        .unwrap();
    assert!(!peek.status.success());
    assert!(
        stderr_of(&peek).contains("/dev/mem"),
        "{}",
        stderr_of(&peek)
    );
}

#[test]
fn without_root_the_parts_it_cannot_know_are_named_with_the_reason() {
    require_root();
    let ram = top_level_ranges()
        .into_iter()
        .map(|(start, _)| start)
        .max()
        .expect("a range");
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_physdemo"))
        .args(["explain", &format!("{ram:#x}"), "--json"])
        .output()
        .expect("setpriv runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert!(json["ram"].is_null(), "{json}");
    let unknown: Vec<(String, String)> = json["unknown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["part"].to_string(), u["why"].to_string()))
        .collect();
    let why = |part: &str| {
        unknown
            .iter()
            .find(|(p, _)| p == &format!("\"{part}\""))
            .map(|(_, w)| w.clone())
            .unwrap_or_default()
    };
    assert!(why("regions").contains("without root"), "{unknown:?}");
    assert!(why("frame").contains("permission denied"), "{unknown:?}");
}

#[test]
fn an_ecam_address_is_named_by_function_and_configuration_register() {
    require_root();
    // The ECAM window's base, from /proc/iomem read here; function 00:01.0's interrupt line
    // register (0x3c) is 1 << 15 plus 0x3c into it.
    let text = std::fs::read_to_string("/proc/iomem").unwrap();
    let base = text
        .lines()
        .find(|l| l.contains(" : PCI ECAM") || l.contains(" : PCI MMCONFIG"))
        .and_then(|l| u64::from_str_radix(l.trim().split('-').next()?, 16).ok())
        .expect("an ECAM window in /proc/iomem");
    assert!(Path::new("/sys/bus/pci/devices/0000:00:01.0").is_dir());
    let json = explain_json(&[&format!("{:#x}", base + (1 << 15) + 0x3c)]);
    assert_eq!(json["config"]["function"], "0000:00:01.0", "{json}");
    assert_eq!(json["config"]["register"], "0x3c");
    assert_eq!(json["config"]["name"], "interrupt line");
    assert_eq!(json["ram"], false);
}
