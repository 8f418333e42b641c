// SPDX-License-Identifier: MIT OR Apache-2.0
//! End-to-end tests of `poke`, `peek`, `dump` and `devmem` against a file device.
//!
//! This host has no /dev/mem, so a regular file stands in for it (`--device`, or the
//! `PHYSDEMO_DEVICE` variable) and a crafted map stands in for /proc/iomem
//! (`PHYSDEMO_IOMEM`). Every write is checked by reading the file back independently; every
//! bad input against its one-line message and exit code. The `<pid> <vaddr>` forms run
//! against a real target: the physical address comes from the real pagemap, the write goes
//! to a sparse file big enough to hold that offset.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::common::*;
use serde_json::Value;

/// A scratch device file (and iomem map) that is removed on drop.
struct Scratch {
    dir: tempfile::TempDir,
}

const IOMEM: &str = "\
00000000-00000fff : Reserved
00001000-0000ffff : System RAM
  00004000-00004fff : Kernel code
  00005000-00005fff : Kernel data
00010000-00010fff : edu-mmio
";

impl Scratch {
    fn new(name: &str, len: u64) -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix(&format!("physdemo-it-{name}-"))
            .tempdir()
            .expect("a scratch directory");
        let file = std::fs::File::create(dir.path().join("mem")).unwrap();
        file.set_len(len).unwrap();
        std::fs::write(dir.path().join("iomem"), IOMEM).unwrap();
        Scratch { dir }
    }

    fn device(&self) -> PathBuf {
        self.dir.path().join("mem")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("running physdemo")
    }

    /// The command `run` runs: the stand-in device and map, and an ACPI MCFG table that
    /// exists only when a test writes one (never this host's).
    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = physdemo();
        command
            .args(args)
            .env("PHYSDEMO_DEVICE", self.device())
            .env("PHYSDEMO_IOMEM", self.dir.path().join("iomem"))
            .env("PHYSDEMO_MCFG", self.dir.path().join("mcfg"));
        command
    }

    fn bytes(&self, offset: u64, len: usize) -> Vec<u8> {
        let file = std::fs::File::open(self.device()).unwrap();
        let mut out = vec![0u8; len];
        file.read_exact_at(&mut out, offset).unwrap();
        out
    }

    fn put(&self, offset: u64, bytes: &[u8]) {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(self.device())
            .unwrap();
        file.write_all_at(bytes, offset).unwrap();
    }
}

#[test]
fn poke_writes_one_byte_and_reports_old_and_new() {
    let s = Scratch::new("poke8", 0x20000);
    s.put(0x1000, &[0x11, 0x22]);
    let out = s.run(&[
        "poke",
        "0x1000",
        "0xAB",
        "--width",
        "8",
        "--device",
        s.device().to_str().unwrap(),
        "--force",
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(text.contains("old       0x11"), "{text}");
    assert!(text.contains("new       0xab"), "{text}");
    assert!(
        text.contains("region    System RAM [0x1000-0xffff]"),
        "{text}"
    );
    assert!(text.contains("CLOCK_MONOTONIC"), "{text}");
    assert_eq!(s.bytes(0x1000, 2), [0xab, 0x22], "only one byte written");
}

#[test]
fn every_width_round_trips_through_poke_peek_and_both_methods_and_leaves_the_neighbours() {
    let s = Scratch::new("widths", 0x20000);
    for method in ["mmap", "rw"] {
        for (bits, addr, value) in [
            (8, 0x2001u64, 0x5au64),
            (16, 0x2002, 0xbeef),
            (32, 0x2004, 0xcafe_f00d),
            (64, 0x2008, 0xdead_beef_cafe_f00d),
        ] {
            let (b, a, v) = (
                bits.to_string(),
                format!("{addr:#x}"),
                format!("{value:#x}"),
            );
            // Known, distinct bytes on both sides: a widened or shifted store shows.
            let around = addr - 8;
            let pattern: Vec<u8> = (0..24u8).map(|i| 0xa5 ^ i.wrapping_mul(37)).collect();
            s.put(around, &pattern);
            let out = s.run(&["poke", &a, &v, "--width", &b, "--method", method, "--json"]);
            assert!(out.status.success(), "{}", stderr_of(&out));
            let after = s.bytes(around, pattern.len());
            for (i, (&now, &was)) in after.iter().zip(&pattern).enumerate() {
                let at = around + i as u64;
                if at < addr || at >= addr + bits as u64 / 8 {
                    assert_eq!(
                        now, was,
                        "{method} {bits}: byte {at:#x} beside the store changed"
                    );
                }
            }
            let json: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
            assert_eq!(hex(&json["new"]), value);
            assert_eq!(hex(&json["readback"]), value);
            assert_eq!(json["width"], bits);
            let on_disk = s.bytes(addr, bits / 8);
            let mut word = [0u8; 8];
            word[..bits / 8].copy_from_slice(&on_disk);
            assert_eq!(u64::from_le_bytes(word), value, "{method} {bits}");
            let peek = s.run(&["peek", &a, "--width", &b, "--method", method, "--json"]);
            let json: Value = serde_json::from_str(&stdout_of(&peek)).unwrap();
            assert_eq!(hex(&json["value"]), value, "peek {method} {bits}");
        }
    }
}

#[test]
fn devmem_matches_busybox_syntax_and_output() {
    let s = Scratch::new("devmem", 0x20000);
    s.put(0x1000, &0x0102_0304_0506_0708u64.to_le_bytes());
    let read = |args: &[&str]| {
        let mut all = vec!["devmem"];
        all.extend_from_slice(args);
        let out = s.run(&all);
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        stdout_of(&out)
    };
    // default width 32, upper-case hex padded to width/4 digits, one line
    assert_eq!(read(&["0x1000"]), "0x05060708\n");
    assert_eq!(read(&["4096", "8"]), "0x08\n");
    assert_eq!(read(&["010000", "h"]), "0x0708\n", "leading 0 is octal");
    assert_eq!(read(&["0x1000", "w"]), "0x05060708\n");
    assert_eq!(read(&["0x1000", "l"]), "0x0102030405060708\n");
    assert_eq!(read(&["0x1000", "64"]), "0x0102030405060708\n");
    // a write prints nothing (busybox 1.35), and lands
    assert_eq!(read(&["0x1000", "b", "0xff"]), "");
    assert_eq!(s.bytes(0x1000, 2), [0xff, 0x07]);
    assert_eq!(read(&["0x1004", "32", "0xABCDEF01"]), "");
    assert_eq!(read(&["0x1004"]), "0xABCDEF01\n");
    // errors: one line, usage exit code
    assert_exit(&s.run(&["devmem", "0x1000", "12"]), 2, "bad width");
    assert_exit(&s.run(&["devmem", "0x1000", "x"]), 2, "bad width");
    assert_exit(
        &s.run(&["devmem", "0x1000", "bb"]),
        2,
        "invalid number 'bb'",
    );
    assert_exit(&s.run(&["devmem", "0x10g0"]), 2, "invalid ADDRESS");
    assert_exit(
        &s.run(&["devmem", "0x1000", "8", "0x100"]),
        2,
        "does not fit",
    );
    assert_exit(&s.run(&["devmem", "0x1002", "32"]), 2, "not aligned");
    // the region policy applies to devmem writes too
    assert_exit(&s.run(&["devmem", "0x4000", "8", "1"]), 6, "Kernel code");
}

#[test]
fn dump_prints_hexdump_c_lines_across_a_page_boundary() {
    let s = Scratch::new("dump", 0x20000);
    s.put(0x1ff8, b"physdemo crosses pages");
    let out = s.run(&["dump", "0x1ff8", "22"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        stdout_of(&out),
        "00001ff8  70 68 79 73 64 65 6d 6f  20 63 72 6f 73 73 65 73  |physdemo crosses|\n\
         00002008  20 70 61 67 65 73                                 | pages|\n\
         0000200e\n"
    );
    let zeros = s.run(&["dump", "0x3000", "64"]);
    assert_eq!(
        stdout_of(&zeros),
        "00003000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n*\n00003040\n"
    );
    let all = s.run(&["dump", "0x3000", "64", "--all"]);
    assert_eq!(stdout_of(&all).lines().count(), 5);
    let rw = s.run(&["dump", "0x1ff8", "22", "--method", "rw"]);
    assert_eq!(stdout_of(&rw), stdout_of(&out));
}

#[test]
fn dump_of_any_length_streams_in_bounded_memory() {
    // A 1 TiB sparse stand-in with a pattern in its first three pages; dump 16 TiB of it
    // under a 64 MiB address-space limit, read the first three pages' lines, then hang up.
    let s = Scratch::new("huge-dump", 1 << 40);
    let pattern: Vec<u8> = (0..3 * 4096u32).map(|i| (i * 7 % 251) as u8).collect();
    s.put(0, &pattern);
    // busybox hexdump (demos/setup installs busybox-static) gives the expected lines.
    let expected = std::process::Command::new("busybox")
        .args(["hexdump", "-C", "-v", "-n", &pattern.len().to_string()])
        .arg(s.device())
        .output()
        .expect("busybox is needed for this test (demos/setup installs it)");
    let expected = stdout_of(&expected);
    let expected = expected.trim_end_matches("00003000\n");
    assert_eq!(expected.lines().count(), 768);
    let mut child = std::process::Command::new("sh")
        .args([
            "-c",
            "ulimit -v 65536 && exec \"$0\" dump 0 0x100000000000 --all",
            env!("CARGO_BIN_EXE_physdemo"),
        ])
        .env("PHYSDEMO_DEVICE", s.device())
        .env("PHYSDEMO_IOMEM", s.dir.path().join("iomem"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut got = vec![0u8; expected.len()];
    let read = std::io::Read::read_exact(&mut stdout, &mut got);
    drop(stdout); // a closed pipe: physdemo's next write fails with EPIPE, which is success
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(
        read.is_ok(),
        "dump died early: {status:?}, stderr: {stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&got), expected);
    assert!(status.success(), "{status:?}, stderr: {stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn dump_of_nothing_prints_nothing_like_hexdump_n_0() {
    let s = Scratch::new("dump0", 0x20000);
    s.put(0x1000, b"physdemo");
    for args in [["dump", "0x1000", "0"], ["dump", "0x1001", "0x0"]] {
        let out = s.run(&args);
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert_eq!(stdout_of(&out), "");
        assert_eq!(stderr_of(&out), "");
    }
    let hexdump = std::process::Command::new("busybox")
        .args(["hexdump", "-C", "-n", "0"])
        .arg(s.device())
        .output()
        .expect("busybox is needed for this test");
    assert_eq!(stdout_of(&hexdump), "");
}

#[test]
fn a_dump_that_fails_midway_names_the_first_address_that_failed_and_its_region() {
    // The stand-in ends 8 bytes into a line: read() gets those 8, then nothing.
    let s = Scratch::new("dump-stop", 0x1ff8);
    s.put(0x1ff0, b"physdemo");
    let out = s.run(&["dump", "0x1ff0", "0x10", "--method", "rw"]);
    assert_exit(
        &out,
        3,
        "dump stopped at 0x1ff8, in System RAM [0x1000-0xffff]: 0x1ff8 is beyond the end of",
    );
    // what was read is shown, up to where it ends, as hexdump shows a short file
    assert_eq!(
        stdout_of(&out),
        "00001ff0  70 68 79 73 64 65 6d 6f                           |physdemo|\n00001ff8\n"
    );
}

#[test]
fn a_malformed_iomem_is_one_line_for_poke_and_one_region_line_for_peek() {
    let s = Scratch::new("bad-iomem", 0x20000);
    std::fs::write(
        s.dir.path().join("iomem"),
        "00000000-00000fff : Reserved\ngarbage\n",
    )
    .unwrap();
    let poke = s.run(&["poke", "0x1000", "1", "--width", "8"]);
    assert_exit(
        &poke,
        6,
        "line 2 is not `START-END : NAME` (no ` : ` after the range): 'garbage'",
    );
    assert!(!stderr_of(&poke).contains("Internal"));
    assert_eq!(s.bytes(0x1000, 1), [0]);
    let peek = s.run(&["peek", "0x1000"]);
    assert!(peek.status.success(), "{}", stderr_of(&peek));
    assert_eq!(stderr_of(&peek), "");
    let text = stdout_of(&peek);
    let region: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("physical") && !l.starts_with("value"))
        .collect();
    assert_eq!(region.len(), 1, "{text}");
    assert!(
        region[0].starts_with("region    unknown (parsing ")
            && region[0].ends_with(
                ": line 2 is not `START-END : NAME` (no ` : ` after the range): 'garbage')"
            ),
        "{text}"
    );
}

#[test]
fn the_region_policy_refuses_the_kernel_image_unless_forced() {
    let s = Scratch::new("policy", 0x20000);
    assert_exit(
        &s.run(&["poke", "0x4000", "1"]),
        6,
        "Kernel code [0x4000-0x4fff]",
    );
    assert_exit(
        &s.run(&["poke", "0x5008", "1", "--width", "64"]),
        6,
        "Kernel data",
    );
    assert_exit(&s.run(&["poke", "0x0", "1"]), 6, "Reserved");
    assert_exit(&s.run(&["poke", "0x11000", "1"]), 6, "no region");
    assert_eq!(s.bytes(0x4000, 1), [0], "nothing written");
    let forced = s.run(&["poke", "0x4000", "0x7", "--force"]);
    assert!(forced.status.success(), "{}", stderr_of(&forced));
    assert_eq!(s.bytes(0x4000, 4), [7, 0, 0, 0]);
    // a device is fine
    let device = s.run(&["poke", "0x10004", "0x12345678"]);
    assert!(device.status.success(), "{}", stderr_of(&device));
    assert!(stdout_of(&device).contains("edu-mmio"));
}

#[test]
fn dry_run_shows_the_write_and_changes_nothing() {
    let s = Scratch::new("dryrun", 0x20000);
    s.put(0x1000, &[0x44, 0x33, 0x22, 0x11]);
    let out = s.run(&["poke", "0x1000", "0xdeadbeef", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(
        text.contains("would write 0xdeadbeef (32-bit) to physical 0x1000"),
        "{text}"
    );
    assert!(text.contains("current   0x11223344"), "{text}");
    assert_eq!(s.bytes(0x1000, 4), [0x44, 0x33, 0x22, 0x11]);
    // the policy still applies to a dry run
    assert_exit(
        &s.run(&["poke", "0x4000", "1", "--dry-run"]),
        6,
        "Kernel code",
    );
    // a dry run ends with the verdict of the real write: without a device, both fail alike
    let missing = s.dir.path().join("no-such-mem");
    for dry_run in [true, false] {
        for args in [
            &["poke", "0x1000", "5"][..],
            &["devmem", "0x1000", "32", "5"],
        ] {
            let mut args = args.to_vec();
            if dry_run {
                args.push("--dry-run");
            }
            let out = s
                .command(&args)
                .env("PHYSDEMO_DEVICE", &missing)
                .output()
                .unwrap();
            assert_exit(&out, 5, "CONFIG_DEVMEM");
        }
    }
    let devmem = s.run(&["devmem", "0x1000", "32", "5", "--dry-run"]);
    assert!(devmem.status.success(), "{}", stderr_of(&devmem));
    assert!(stdout_of(&devmem).contains("nothing was written"));
    assert_eq!(s.bytes(0x1000, 4), [0x44, 0x33, 0x22, 0x11]);
}

#[test]
fn a_device_gets_exactly_one_write_and_ram_a_read_before_and_after() {
    let s = Scratch::new("accesses", 0x20000);
    s.put(0x10004, &0x0bad_f00du32.to_le_bytes());
    // edu-mmio is a device: the one write, no old value, no read-back, no error
    let out = s.run(&["poke", "0x10004", "0x12345678", "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(json["accesses"], serde_json::json!(["write"]), "{json}");
    assert!(
        json["old"].is_null() && json["readback"].is_null(),
        "{json}"
    );
    assert_eq!(s.bytes(0x10004, 4), 0x1234_5678u32.to_le_bytes());
    let text = stdout_of(&s.run(&["poke", "0x10004", "0x1"]));
    assert!(
        text.contains("accesses  1 write (32-bit), no read"),
        "{text}"
    );
    assert!(
        !text.contains("old ") && !text.contains("read back"),
        "{text}"
    );
    // --read-back asks a device for the reads as well
    let out = s.run(&["poke", "0x10004", "0x2", "--read-back", "--json"]);
    let json: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(
        json["accesses"],
        serde_json::json!(["read", "write", "read back"])
    );
    assert_eq!(
        (json["old"].as_str(), json["readback"].as_str()),
        (Some("0x00000001"), Some("0x00000002"))
    );
    // a dry run reads no device, and says what the poke would do
    let out = s.run(&["poke", "0x10004", "0x3", "--dry-run", "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert!(json["current"].is_null(), "{json}");
    assert_eq!(json["accesses"], serde_json::json!([]));
    assert_eq!(json["would_access"], serde_json::json!(["write"]));
    let text = stdout_of(&s.run(&["poke", "0x10004", "0x3", "--dry-run"]));
    assert!(text.contains("current   not read"), "{text}");
    assert!(
        text.contains("accesses  none; the poke would make: 1 write (32-bit)"),
        "{text}"
    );
    assert_eq!(s.bytes(0x10004, 4), 2u32.to_le_bytes());
    // System RAM: old value and read-back, as before
    let out = s.run(&["poke", "0x2000", "0x5", "--json"]);
    let json: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(
        json["accesses"],
        serde_json::json!(["read", "write", "read back"])
    );
    assert_eq!(
        (json["old"].as_str(), json["readback"].as_str()),
        (Some("0x00000000"), Some("0x00000005"))
    );
    let text = stdout_of(&s.run(&["poke", "0x2000", "0x6"]));
    assert!(
        text.contains("accesses  read, write, read back (32-bit each)"),
        "{text}"
    );
}

#[test]
fn pci_configuration_space_is_refused_and_named() {
    let s = Scratch::new("ecam", 0x20000);
    let config_byte = ["poke", "0xb000803c", "0x5a", "--width", "8"];
    let named = "is PCI configuration space (ECAM) of 0000:00:01.0";
    // from the MCFG table alone (a map that says nothing of it)
    std::fs::write(s.dir.path().join("mcfg"), VM_MCFG).unwrap();
    std::fs::write(
        s.dir.path().join("iomem"),
        "00001000-0000ffff : System RAM\nb0000000-bfffffff : pnp 00:04\n",
    )
    .unwrap();
    assert_exit(&s.run(&config_byte), 6, named);
    assert_exit(
        &s.run(&[&config_byte[..], &["--dry-run"]].concat()),
        6,
        named,
    );
    assert_exit(&s.run(&["devmem", "0xb000803c", "8", "0x5a"]), 6, named);
    let peek = stdout_of(&s.run(&["peek", "0x1000"]));
    assert!(!peek.contains("config "), "{peek}");
    // from /proc/iomem alone, as the VM shows it
    std::fs::remove_file(s.dir.path().join("mcfg")).unwrap();
    std::fs::write(
        s.dir.path().join("iomem"),
        "b0000000-bfffffff : PCI MMCONFIG 0000 [bus 00-ff]\n  b0000000-bfffffff : Reserved\n    b0000000-bfffffff : pnp 00:04\n",
    )
    .unwrap();
    let out = s.run(&config_byte);
    assert_exit(&out, 6, named);
    assert!(stderr_of(&out).contains("PCI MMCONFIG 0000 [bus 00-ff] in /proc/iomem"));
    // --force lets it through (here into the stand-in file, past its end: a dry run)
    let forced = s.run(&[&config_byte[..], &["--force", "--dry-run"]].concat());
    assert_eq!(forced.status.code(), Some(0), "{}", stderr_of(&forced));
    assert!(stdout_of(&forced).contains("config    PCI configuration space (ECAM) of 0000:00:01.0"));
}

#[test]
fn bad_input_is_one_line_and_a_usage_exit() {
    let s = Scratch::new("bad", 0x20000);
    assert_exit(&s.run(&["poke", "0x1001", "1"]), 2, "not aligned");
    assert_exit(
        &s.run(&["poke", "0x1000", "0x100", "--width", "8"]),
        2,
        "does not fit in 8 bits",
    );
    assert_exit(
        &s.run(&["poke", "0x1000", "1", "--width", "12"]),
        2,
        "bad width",
    );
    assert_exit(&s.run(&["poke", "0x1000"]), 2, "poke takes");
    assert_exit(&s.run(&["poke", "0x1000", "xyz"]), 2, "bad value 'xyz'");
    assert_exit(
        &s.run(&["peek", "0x1002", "--width", "32"]),
        2,
        "not aligned",
    );
    assert_exit(&s.run(&["poke", "0", "0x7f00", "1"]), 2, "pid 0");
    assert_eq!(s.bytes(0x1000, 8), [0; 8]);
}

#[test]
fn a_missing_device_is_the_config_devmem_error() {
    let s = Scratch::new("missing", 0x20000);
    let missing = s.dir.path().join("no-such-mem");
    let out = physdemo()
        .args(["poke", "0x1000", "0xab", "--width", "8", "--device"])
        .arg(&missing)
        .env("PHYSDEMO_IOMEM", s.dir.path().join("iomem"))
        .output()
        .unwrap();
    assert_exit(&out, 5, "CONFIG_DEVMEM");
    let peek = physdemo()
        .args(["peek", "0x1000"])
        .env("PHYSDEMO_DEVICE", &missing)
        .output()
        .unwrap();
    assert_exit(&peek, 5, "CONFIG_DEVMEM");
    if !Path::new("/dev/mem").exists() {
        let real = physdemo()
            .args(["devmem", "0x1000"])
            .env_remove("PHYSDEMO_DEVICE")
            .output()
            .unwrap();
        assert_exit(
            &real,
            5,
            "/dev/mem does not exist: this kernel was built without CONFIG_DEVMEM",
        );
    }
}

#[test]
fn a_bus_error_is_a_message_not_a_core_dump() {
    let s = Scratch::new("sigbus", 0x2000);
    // mmap beyond the end of a file maps fine, and the access raises SIGBUS
    let out = s.run(&["peek", "0x8000"]);
    assert_exit(&out, 3, "bus error (SIGBUS) accessing 0x8000");
    let dump = s.run(&["dump", "0x1ff0", "0x20"]);
    assert_eq!(dump.status.code(), Some(3), "{}", stderr_of(&dump));
    // pread just reports the end of the file
    assert_exit(
        &s.run(&["peek", "0x8000", "--method", "rw"]),
        3,
        "beyond the end",
    );
}

/// A sparse device file big enough to hold physical address `paddr`.
fn sparse_for(s: &Scratch, paddr: u64) {
    std::fs::File::options()
        .write(true)
        .open(s.device())
        .unwrap()
        .set_len(paddr + 0x10000)
        .unwrap();
}

#[test]
fn poke_resolves_a_real_process_exactly_as_inspect_does() {
    require_root();
    let target = Target::start(&["--timeout", "60"]);
    let (pid, vaddr) = (target.pid(), target.vaddr());
    let inspect = run(&[
        "inspect",
        &pid.to_string(),
        &format!("{vaddr:#x}"),
        "--json",
    ]);
    let json: Value = serde_json::from_str(&stdout_of(&inspect)).unwrap();
    let paddr = hex(&json["paddr"]);
    assert_eq!(
        paddr,
        independent_pfn(pid, vaddr) * page_size() + vaddr % page_size()
    );

    // A crafted map that calls the target's frame System RAM.
    let s = Scratch::new("process", 0x1000);
    std::fs::write(
        s.dir.path().join("iomem"),
        format!("00001000-{:08x} : System RAM\n", paddr | 0xffff_ffff),
    )
    .unwrap();
    sparse_for(&s, paddr);

    // --dry-run: the exact paddr inspect computed, nothing written
    let args = [pid.to_string(), format!("{vaddr:#x}"), "0x42".to_string()];
    let mut dry: Vec<&str> = vec!["poke"];
    dry.extend(args.iter().map(String::as_str));
    dry.push("--dry-run");
    let out = s.run(&dry);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(
        text.contains(&format!(
            "would write 0x0000000000000042 (64-bit) to physical {paddr:#x}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("physdemo target pid {pid}")),
        "{text}"
    );
    assert_eq!(s.bytes(paddr, 8), [0; 8]);

    // no arguments: the same target, the demo value
    let out = s.run(&["poke", "--dry-run", "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(hex(&json["paddr"]), paddr);
    assert_eq!(json["value"], "0xdeadbeefcafef00d");
    assert_eq!(json["process"]["pid"], pid);
    assert_eq!(json["process"]["target"], true);

    // a real write (to the stand-in file): old/new from the file, frame re-checked,
    // and the target, whose real page was not touched, does not react
    s.put(paddr, &0x1122_3344_5566_7788u64.to_ne_bytes());
    let mut real: Vec<&str> = vec!["poke"];
    real.extend(args.iter().map(String::as_str));
    real.extend(["--wait", "0.2", "--json"]);
    let out = s.run(&real);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(json["old"], "0x1122334455667788");
    assert_eq!(json["readback"], "0x0000000000000042");
    assert!(json["target_reaction"].is_null(), "{json}");
    assert_eq!(s.bytes(paddr, 8), 0x42u64.to_ne_bytes());
    assert!(target.next_event(Duration::from_millis(100)).is_none());

    // peek <pid> <vaddr> reads the same place
    let out = s.run(&["peek", &pid.to_string(), &format!("{vaddr:#x}"), "--json"]);
    let json: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(hex(&json["paddr"]), paddr);
    assert_eq!(json["value"], "0x0000000000000042");

    // a pid that is gone
    drop(target);
    assert_exit(&s.run(&dry), 3, &format!("no process with pid {pid}"));
}

/// A child process killed (with any process it names) when dropped.
struct Running(Vec<u32>, std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        }
        let _ = self.1.kill();
        let _ = self.1.wait();
    }
}

/// The first present page of a file mapping (`sleep`'s own executable) of `pid`.
fn present_file_page(pid: u32) -> u64 {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    for line in maps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 6 || !fields[5].starts_with('/') {
            continue;
        }
        let (start, end) = fields[0].split_once('-').unwrap();
        let start = u64::from_str_radix(start, 16).unwrap();
        let end = u64::from_str_radix(end, 16).unwrap();
        for page in (start..end).step_by(page_size() as usize) {
            if independent_pagemap_entry(pid as i32, page) >> 63 == 1 {
                return page;
            }
        }
    }
    panic!("no present file page in pid {pid}:\n{maps}");
}

/// Asserts that `poke PID VADDR 0x42` is refused for a shared frame, with and without
/// --dry-run alike, and that nothing was written.
fn assert_shared_frame_refused(pid: u32, vaddr: u64, why: &str) {
    let paddr = independent_pfn(pid as i32, vaddr) * page_size() + vaddr % page_size();
    let s = Scratch::new(&format!("shared-{pid}"), 0x1000);
    std::fs::write(
        s.dir.path().join("iomem"),
        format!("00001000-{:08x} : System RAM\n", paddr | 0xffff_ffff),
    )
    .unwrap();
    sparse_for(&s, paddr);
    let (pid, vaddr) = (pid.to_string(), format!("{vaddr:#x}"));
    let real = s.run(&["poke", &pid, &vaddr, "0x42"]);
    assert_exit(&real, 6, why);
    let dry = s.run(&["poke", &pid, &vaddr, "0x42", "--dry-run"]);
    assert_exit(&dry, 6, why);
    assert_eq!(stderr_of(&dry), stderr_of(&real));
    assert_eq!(s.bytes(paddr, 8), [0; 8], "nothing written");
}

#[test]
fn a_dry_run_refuses_a_shared_frame_exactly_as_the_write_does() {
    require_root();
    // A page of an executable: the page cache's frame, shared with the file.
    let child = std::process::Command::new("sleep")
        .arg("100")
        .spawn()
        .unwrap();
    let pid = child.id();
    let sleeper = Running(vec![], child);
    let exe_is_sleep = || {
        std::fs::read_link(format!("/proc/{pid}/exe"))
            .is_ok_and(|exe| exe.to_string_lossy().ends_with("sleep"))
    };
    for _ in 0..100 {
        if exe_is_sleep() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(exe_is_sleep(), "sleep did not start");
    std::thread::sleep(Duration::from_millis(100));
    assert_shared_frame_refused(
        pid,
        present_file_page(pid),
        "belongs to a file or shared memory",
    );
    drop(sleeper);

    // A private anonymous page after fork: copy-on-write, mapped by parent and child.
    let script = "import ctypes, mmap, os, sys, time\n\
        m = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)\n\
        m[0:8] = b'physdemo'\n\
        child = os.fork()\n\
        if child == 0:\n    time.sleep(100); os._exit(0)\n\
        print(os.getpid(), child, ctypes.addressof(ctypes.c_char.from_buffer(m)), flush=True)\n\
        time.sleep(100)\n";
    let mut python = std::process::Command::new("python3")
        .args(["-c", script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(python.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let numbers: Vec<u64> = line
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let (parent, forked, vaddr) = (numbers[0] as u32, numbers[1] as u32, numbers[2]);
    let _python = Running(vec![forked], python);
    assert_shared_frame_refused(parent, vaddr, "is mapped more than once");
}

/// A copy of this physdemo anyone may execute, in a scratch directory removed on drop.
fn copy_for_nobody() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("physdemo-nobody-")
        .tempdir()
        .expect("a scratch directory");
    std::fs::copy(env!("CARGO_BIN_EXE_physdemo"), dir.path().join("physdemo")).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Runs the copy in `dir` as user nobody (uid and gid 65534).
fn as_nobody(dir: &tempfile::TempDir, args: &[&str]) -> Output {
    std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(dir.path().join("physdemo"))
        .args(args)
        .env_remove("PHYSDEMO_IOMEM")
        .env_remove("PHYSDEMO_DEVICE")
        .output()
        .expect("running setpriv (util-linux)")
}

#[test]
fn without_root_a_hidden_map_and_an_unreadable_target_are_permission_errors() {
    require_root();
    let copy = copy_for_nobody();
    // /proc/iomem reads as zeros without root: a permission problem, not one --force solves
    let out = as_nobody(&copy, &["poke", "0x1000", "1"]);
    assert_exit(
        &out,
        4,
        "/proc/iomem shows only zeros to a user without root",
    );
    assert!(
        stderr_of(&out).contains("run as root"),
        "{}",
        stderr_of(&out)
    );
    assert!(!stderr_of(&out).contains("--force"), "{}", stderr_of(&out));
    assert_exit(
        &as_nobody(&copy, &["devmem", "0x1000", "32", "1"]),
        4,
        "run as root",
    );
    // a root-owned target exists but cannot be read: say so, not "no target"
    let target = Target::start(&["--timeout", "60"]);
    for args in [&["poke", "--dry-run"][..], &["peek"]] {
        let out = as_nobody(&copy, args);
        assert_exit(&out, 4, "as another user: ");
        // other tests' targets may be running too
        assert!(
            stderr_of(&out).contains(&target.pid().to_string()),
            "{}",
            stderr_of(&out)
        );
    }
    drop(target);
}

#[test]
fn dump_of_device_memory_reads_whole_words_and_says_how_many_on_stderr() {
    let s = Scratch::new("dump-words", 0x20000);
    s.put(0x10000, b"device registers");
    let bytes = s.run(&["dump", "0x2000", "16"]);
    assert_eq!(
        stderr_of(&bytes),
        "",
        "RAM is dumped as before, with no note"
    );
    let words = s.run(&["dump", "0x10000", "16"]);
    assert!(words.status.success(), "{}", stderr_of(&words));
    let want = "00010000  64 65 76 69 63 65 20 72  65 67 69 73 74 65 72 73  |device registers|\n\
                00010010\n";
    assert_eq!(stdout_of(&words), want, "stdout stays hexdump -C's");
    assert_eq!(
        stderr_of(&words),
        "physdemo: dump: 4 32-bit reads from 0x10000, one per word, none repeated (a device region)\n"
    );
    for (width, reads) in [("8", 16), ("16", 8), ("64", 2)] {
        let out = s.run(&["dump", "0x10000", "16", "--width", width]);
        assert_eq!(stdout_of(&out), want, "--width {width}");
        assert_eq!(
            stderr_of(&out),
            format!("physdemo: dump: {reads} {width}-bit reads from 0x10000, one per word, none repeated (--width {width})\n")
        );
    }
    // an unaligned device range is read byte by byte, as before, with no note
    let odd = s.run(&["dump", "0x10001", "3"]);
    assert_eq!(stderr_of(&odd), "");
    assert_exit(
        &s.run(&["dump", "0x10001", "4", "--width", "16"]),
        2,
        "--width 16 reads 16-bit words: 0x10001 and 4 bytes must be multiples of 2",
    );
}
