// SPDX-License-Identifier: MIT OR Apache-2.0
//! Host tests of `--pci DEVICE --bar N OFFSET` on `peek`, `poke` and `dump`.
//!
//! The host has no /dev/mem and may have no PCI devices, so a crafted sysfs tree stands in
//! for /sys/bus/pci/devices (`PHYSDEMO_PCI_SYSFS`), a regular file for /dev/mem
//! (`PHYSDEMO_DEVICE`) and a crafted map for /proc/iomem (`PHYSDEMO_IOMEM`). The fake
//! device `0000:00:04.0` (1234:11e8) has a 4 KiB memory BAR0 at 0x10000, an I/O BAR1, an
//! unused BAR2 and a memory BAR3 without an address. Every error path is checked against
//! its one-line message and exit code; the real device is tested in the VM
//! (demos/e2e/edu.sh).

use std::os::unix::fs::FileExt;
use std::process::Output;

use crate::common::*;
use serde_json::Value;

const RESOURCE: &str = "\
0x0000000000010000 0x0000000000010fff 0x0000000000040200
0x000000000000c000 0x000000000000c01f 0x0000000000040101
0x0000000000000000 0x0000000000000000 0x0000000000000000
0x0000000000000000 0x0000000000000fff 0x0000000020040200
0x0000000000000000 0x0000000000000000 0x0000000000000000
0x0000000000000000 0x0000000000000000 0x0000000000000000
0x0000000000000000 0x0000000000000000 0x0000000000000000
";

const IOMEM: &str = "\
00000000-00000fff : Reserved
00001000-0000ffff : System RAM
00010000-0001ffff : PCI Bus 0000:00
  00010000-00010fff : 0000:00:04.0
";

/// A scratch sysfs tree, device file and iomem map, removed on drop.
struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new(name: &str) -> Fake {
        let scratch = tempfile::Builder::new()
            .prefix(&format!("physdemo-pci-{name}-"))
            .tempdir()
            .expect("a scratch directory");
        let dir = scratch.path();
        let device = dir.join("sys/0000:00:04.0");
        std::fs::create_dir_all(&device).unwrap();
        std::fs::write(device.join("vendor"), "0x1234\n").unwrap();
        std::fs::write(device.join("device"), "0x11e8\n").unwrap();
        std::fs::write(device.join("resource"), RESOURCE).unwrap();
        let other = dir.join("sys/0000:00:1f.0");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("vendor"), "0x8086\n").unwrap();
        std::fs::write(other.join("device"), "0x2918\n").unwrap();
        std::fs::write(other.join("resource"), "").unwrap();
        std::fs::write(dir.join("iomem"), IOMEM).unwrap();
        let mem = std::fs::File::create(dir.join("mem")).unwrap();
        mem.set_len(0x20000).unwrap();
        // The "identification register" at BAR0 + 0.
        mem.write_all_at(&0x0100_00edu32.to_le_bytes(), 0x10000)
            .unwrap();
        Fake { dir: scratch }
    }

    fn run(&self, args: &[&str]) -> Output {
        physdemo()
            .args(args)
            .env("PHYSDEMO_PCI_SYSFS", self.dir.path().join("sys"))
            .env("PHYSDEMO_DEVICE", self.dir.path().join("mem"))
            .env("PHYSDEMO_IOMEM", self.dir.path().join("iomem"))
            .output()
            .expect("running physdemo")
    }

    fn word(&self, offset: u64) -> u32 {
        let file = std::fs::File::open(self.dir.path().join("mem")).unwrap();
        let mut bytes = [0u8; 4];
        file.read_exact_at(&mut bytes, offset).unwrap();
        u32::from_le_bytes(bytes)
    }
}

#[test]
fn a_device_that_does_not_exist_is_not_found() {
    // The real sysfs: no machine has domain ffff, bus ff, slot 1f, function 7.
    let out = run(&["peek", "--pci", "ffff:ff:1f.7", "--bar", "0", "0x4"]);
    assert_exit(&out, 3, "no PCI device ffff:ff:1f.7");
    let fake = Fake::new("missing");
    let out = fake.run(&["peek", "--pci", "0000:00:09.0", "0x0"]);
    assert_exit(&out, 3, "no PCI device 0000:00:09.0");
    assert!(
        stderr_of(&out)
            .contains("devices here: 0000:00:04.0 (1234:11e8), 0000:00:1f.0 (8086:2918)"),
        "{}",
        stderr_of(&out)
    );
    let out = fake.run(&["poke", "--pci", "1234:ffff", "0x4", "0x1"]);
    assert_exit(&out, 3, "no PCI device with vendor:device 1234:ffff");
    let out = fake.run(&["dump", "--pci", "ffff:ff:1f.7", "0x0", "16"]);
    assert_exit(&out, 3, "no PCI device ffff:ff:1f.7");
}

#[test]
fn peek_poke_and_dump_reach_a_register_by_bar_and_offset() {
    let fake = Fake::new("ok");
    for device in ["0000:00:04.0", "00:04.0", "1234:11e8"] {
        let out = fake.run(&["peek", "--pci", device, "--bar", "0", "0x0"]);
        assert!(out.status.success(), "{}", stderr_of(&out));
        let text = stdout_of(&out);
        assert!(text.contains("device    pci 0000:00:04.0 (1234:11e8) BAR0 [0x10000-0x10fff], 4 KiB, 32-bit non-prefetchable memory + 0x0"), "{text}");
        assert!(text.contains("physical  0x10000\n"), "{text}");
        assert!(
            text.contains("region    0000:00:04.0 [0x10000-0x10fff] in PCI Bus 0000:00"),
            "{text}"
        );
        assert!(text.contains("value     0x010000ed"), "{text}");
    }
    let out = fake.run(&["poke", "--pci", "1234:11e8", "0x8", "0xcafef00d", "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(json["paddr"], "0x10008");
    assert_eq!(json["pci"]["address"], "0000:00:04.0");
    assert_eq!(json["pci"]["bar"], 0);
    assert_eq!(json["pci"]["offset"], "0x8");
    assert_eq!(json["pci"]["bar_size"], 4096);
    assert_eq!(fake.word(0x10008), 0xcafe_f00d);
    let out = fake.run(&["peek", "--pci", "00:04.0", "0x8", "--width", "16"]);
    assert!(
        stdout_of(&out).contains("value     0xf00d"),
        "{}",
        stdout_of(&out)
    );
    let out = fake.run(&["dump", "--pci", "00:04.0", "0x0", "16"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        stdout_of(&out),
        "00010000  ed 00 00 01 00 00 00 00  0d f0 fe ca 00 00 00 00  |................|\n00010010\n"
    );
}

#[test]
fn bad_bars_offsets_and_forms_are_refused_with_their_exit_codes() {
    let fake = Fake::new("bad");
    let peek = |args: &[&str]| {
        let mut all = vec!["peek", "--pci", "0000:00:04.0"];
        all.extend_from_slice(args);
        fake.run(&all)
    };
    assert_exit(&peek(&["--bar", "1", "0x0"]), 5, "I/O ports, not memory");
    assert_exit(
        &peek(&["--bar", "2", "0x0"]),
        3,
        "has no BAR2 (it is unused)",
    );
    assert_exit(&peek(&["--bar", "3", "0x0"]), 3, "no address assigned");
    assert_exit(&peek(&["--bar", "6", "0x0"]), 2, "--bar");
    assert_exit(
        &peek(&["0x1000"]),
        2,
        "outside BAR0 of 0000:00:04.0, which is 4 KiB",
    );
    assert_exit(
        &peek(&["0xffc", "--width", "64"]),
        2,
        "offset 0xffc + 8 bytes",
    );
    assert_exit(&peek(&["0x2"]), 2, "not aligned");
    assert_exit(
        &peek(&[]),
        2,
        "peek --pci DEVICE takes one argument, <offset>",
    );
    assert_exit(&peek(&["0x0", "0x4"]), 2, "takes one argument");
    assert_exit(&peek(&["zz"]), 2, "bad offset 'zz'");
    let out = fake.run(&["poke", "--pci", "0000:00:04.0", "0x4"]);
    assert_exit(&out, 2, "poke --pci DEVICE takes <offset> <value>");
    let out = fake.run(&["peek", "--pci", "00:04", "0x0"]);
    assert_exit(&out, 2, "bad PCI device '00:04'");
    let out = fake.run(&["peek", "--bar", "0", "0x10000"]);
    assert_exit(&out, 2, "--bar 0 needs --pci DEVICE");
    let out = fake.run(&["dump", "--pci", "00:04.0", "0xff0", "32"]);
    assert_exit(&out, 2, "outside BAR0");
    let out = fake.run(&["dump", "--pci", "00:04.0", "0x2", "4"]);
    assert_exit(&out, 2, "multiples of 4");
    assert_eq!(fake.word(0x10004), 0, "nothing was written");
}

#[test]
fn watch_of_a_pci_register_needs_its_width_and_reads_it_only() {
    let fake = Fake::new("watch");
    let out = fake.run(&["watch", "--pci", "1234:11e8", "--bar", "0", "0x0"]);
    assert_exit(&out, 2, "0x10000 is not RAM");
    // the identification register already holds the value: the first read ends the watch
    let out = fake.run(&[
        "watch",
        "--pci",
        "1234:11e8",
        "--bar",
        "0",
        "0x0",
        "--width",
        "32",
        "--until",
        "0x010000ed",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines: Vec<Value> = stdout_of(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let [start, summary] = lines.as_slice() else {
        panic!("{lines:?}")
    };
    assert_eq!(start["pci"]["address"], "0000:00:04.0");
    assert_eq!(
        (&start["paddr"], &start["value"], &start["reads_device"]),
        (&"0x10000".into(), &"0x010000ed".into(), &true.into())
    );
    assert_eq!(
        (&summary["reason"], &summary["changes"]),
        (&"until".into(), &0.into())
    );
    assert_eq!(summary["reads"], 1, "one read of the register, no more");
    assert_eq!(fake.word(0x10000), 0x0100_00ed, "nothing was written");
    assert!(stderr_of(&out).contains("is one 32-bit read of 0x10000"));
}
