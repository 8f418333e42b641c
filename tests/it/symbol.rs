// SPDX-License-Identifier: MIT OR Apache-2.0
//! `--symbol NAME[+OFF]` on this host's real /proc/kallsyms and /proc/iomem (root sees
//! both): `_text` and a function placed where the test, reading both files itself, finds
//! them (the symbol's address minus `_text`, plus the start of "Kernel code"). This host
//! has no /dev/mem, so a sparse file stands in for it (`PHYSDEMO_DEVICE`) with bytes
//! planted at those physical addresses; `dump --symbol` is compared with the real
//! `hexdump -C` of that file. The kernel's own bytes are read in the VM
//! (`demos/vm/dump.sh`: linux_banner against /proc/version, jiffies against
//! /proc/timer_list).

use std::io::{Seek, SeekFrom, Write};
use std::process::Command;

use serde_json::Value;

use crate::common::*;

/// The start of "Kernel code" in the host's /proc/iomem.
fn kernel_code_start() -> u64 {
    let iomem = std::fs::read_to_string("/proc/iomem").expect("reading /proc/iomem");
    let line = iomem
        .lines()
        .find(|l| l.trim_end().ends_with(" : Kernel code"))
        .expect("a Kernel code range in /proc/iomem");
    let start = line.trim_start().split('-').next().unwrap();
    let start = u64::from_str_radix(start, 16).unwrap();
    assert_ne!(start, 0, "/proc/iomem shows zeros: these tests need root");
    start
}

/// The kernel virtual address of the image's symbol `name` in the host's /proc/kallsyms.
fn kallsyms_address(name: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/kallsyms").expect("reading /proc/kallsyms");
    let line = text
        .lines()
        .find(|l| l.split(' ').nth(2) == Some(name))
        .unwrap_or_else(|| panic!("{name} in /proc/kallsyms"));
    let addr = u64::from_str_radix(line.split(' ').next().unwrap(), 16).unwrap();
    assert_ne!(addr, 0, "/proc/kallsyms shows zeros: these tests need root");
    addr
}

/// The symbol at which "Kernel code" starts on this architecture.
const ANCHOR: &str = if cfg!(target_arch = "aarch64") {
    "_stext"
} else {
    "_text"
};

/// A sparse stand-in for /dev/mem reaching `end`, with `bytes` planted at `at`.
fn stand_in(end: u64, planted: &[(u64, &[u8])]) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .prefix("physdemo-it-symbol-")
        .tempfile()
        .expect("a scratch file");
    file.as_file().set_len(end).unwrap();
    for (at, bytes) in planted {
        file.seek(SeekFrom::Start(*at)).unwrap();
        file.write_all(bytes).unwrap();
    }
    file.flush().unwrap();
    file
}

#[test]
fn the_kernel_image_start_is_placed_at_kernel_code_by_the_real_kallsyms_and_iomem() {
    let code = kernel_code_start();
    let anchor = kallsyms_address(ANCHOR);
    let value: u64 = 0x1122_3344_5566_7788;
    let device = stand_in(code + 0x10000, &[(code, &value.to_ne_bytes())]);
    let out = physdemo()
        .args(["peek", "--symbol", ANCHOR, "--width", "64", "--json"])
        .env("PHYSDEMO_DEVICE", device.path())
        .output()
        .expect("running physdemo");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["paddr"], format!("{code:#x}"));
    assert_eq!(json["value"], format!("{value:#018x}"));
    assert_eq!(json["symbol"]["name"], ANCHOR);
    assert_eq!(json["symbol"]["offset"], "0x0");
    assert_eq!(json["symbol"]["vaddr"], format!("{anchor:#x}"));
    assert_eq!(json["symbol"]["section"], "text");
    assert_eq!(json["symbol"]["region"], "Kernel code");
    assert_eq!(json["region"]["name"], "Kernel code");
    // the text report names the symbol first
    let out = physdemo()
        .args(["peek", "--symbol", &format!("{ANCHOR}+8"), "--width", "32"])
        .env("PHYSDEMO_DEVICE", device.path())
        .output()
        .expect("running physdemo");
    let text = stdout_of(&out);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        text.starts_with(&format!(
            "symbol    {ANCHOR} (+0x8) at kernel {:#x}: T in text (Kernel code)",
            anchor + 8
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("\nphysical  {:#x}\n", code + 8)),
        "{text}"
    );
}

#[test]
fn dump_of_a_function_by_name_is_hexdump_c_of_its_place_in_the_image() {
    // a global function of every kernel, listed without CONFIG_KALLSYMS_ALL too
    let name = "schedule";
    let code = kernel_code_start();
    let paddr = kallsyms_address(name) - kallsyms_address(ANCHOR) + code;
    let bytes: Vec<u8> = (0..=255u8).collect();
    let device = stand_in(paddr + 0x10000, &[(paddr, &bytes)]);
    let out = physdemo()
        .args(["dump", "--symbol", name, "100"])
        .env("PHYSDEMO_DEVICE", device.path())
        .output()
        .expect("running physdemo");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let hexdump = Command::new("hexdump")
        .args(["-C", "-s", &paddr.to_string(), "-n", "100"])
        .arg(device.path())
        .output()
        .expect("running hexdump");
    assert!(hexdump.status.success());
    assert_eq!(stdout_of(&out), stdout_of(&hexdump));
    let note = stderr_of(&out);
    assert!(
        note.starts_with(&format!(
            "physdemo: dump: 100 bytes of {name} (+0x0) at kernel "
        )) && note.trim_end().ends_with(&format!("physical {paddr:#x}")),
        "{note}"
    );
    // with no length, the symbol to the next one, at most 256 bytes: the note says how much
    let out = physdemo()
        .args(["dump", "--symbol", name])
        .env("PHYSDEMO_DEVICE", device.path())
        .output()
        .expect("running physdemo");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let note = stderr_of(&out);
    let shown: u64 = note
        .strip_prefix("physdemo: dump: ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{note}"));
    assert!((1..=256).contains(&shown), "{note}");
    let last = stdout_of(&out)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert_eq!(last, format!("{:08x}", paddr + shown));
}
