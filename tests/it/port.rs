// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo port` on the host, where a regular file stands in for /dev/port
//! (`PHYSDEMO_PORT_DEVICE`: every width one pread/pwrite at the port's offset) and a crafted
//! /proc/ioports (`PHYSDEMO_IOPORTS`) says who claims what. The values are checked against
//! the file's bytes, read independently; what real ports do is tests/it/vm.rs's, in the VM.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::{assert_exit, physdemo, stdout_of, VM_IOPORTS};

/// A scratch directory with the stand-in (64 KiB, fw_cfg's signature at 0x511) and the map.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("physdemo-port-")
        .tempdir()
        .expect("a scratch directory");
    let mut ports = vec![0u8; 0x1_0000];
    ports[0x511..0x515].copy_from_slice(b"QEMU");
    std::fs::write(dir.path().join("port"), ports).unwrap();
    std::fs::write(dir.path().join("ioports"), VM_IOPORTS).unwrap();
    dir
}

fn port(dir: &Path, args: &[&str]) -> Output {
    physdemo()
        .env("PHYSDEMO_PORT_DEVICE", dir.join("port"))
        .env("PHYSDEMO_IOPORTS", dir.join("ioports"))
        .arg("port")
        .args(args)
        .output()
        .expect("running physdemo port")
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn stand_in(dir: &Path, at: usize, len: usize) -> Vec<u8> {
    std::fs::read(dir.join("port")).unwrap()[at..at + len].to_vec()
}

#[test]
fn reads_show_the_port_its_range_and_each_value() {
    let dir = scratch();
    let out = port(dir.path(), &["0x511", "--read", "4"]);
    assert!(out.status.success(), "{out:?}");
    let file = dir.path().join("port");
    assert_eq!(
        stdout_of(&out),
        format!(
            "port      0x511\n\
             region    QEMU0002:00 [0x510-0x51b] in PCI Bus 0000:00\n\
             read      0x51 0x51 0x51 0x51  |QQQQ|\n\
             accesses  4 reads, 8-bit each, via {} pread (a file standing in for /dev/port)\n",
            file.display()
        ),
        "a stand-in file is no FIFO: four reads of port 0x511 give its byte four times"
    );
    let value = json(&port(dir.path(), &["0x510", "--width", "32", "--json"]));
    let want_word = u32::from_le_bytes(stand_in(dir.path(), 0x510, 4).try_into().unwrap());
    assert_eq!(value["values"][0], format!("{want_word:#010x}"));
    assert_eq!(want_word, 0x4d45_5100, "'\\0QEM' as a little-endian word");
    assert_eq!(value["port"], "0x510");
    assert_eq!(value["width"], 32);
    assert_eq!(value["direction"], "read");
    assert_eq!(value["accesses"], 1);
    assert_eq!(value["region"]["name"], "QEMU0002:00");
    assert_eq!(value["region"]["start"], "0x510");
    assert_eq!(value["region"]["end"], "0x51b");
    assert_eq!(value["machine"], Value::Null);
    assert_eq!(value["dry_run"], false);
    let keyboard = json(&port(dir.path(), &["0x64", "--json"]));
    assert!(keyboard["machine"]
        .as_str()
        .unwrap()
        .contains("writing 0xfe to it resets the machine"));
}

#[test]
fn writes_land_exactly_and_a_dry_run_writes_nothing() {
    let dir = scratch();
    let out = port(dir.path(), &["0xe0", "0xcafe1234", "--width", "32"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stand_in(dir.path(), 0xe0, 4), 0xcafe_1234u32.to_le_bytes());
    assert!(stdout_of(&out).contains("wrote     0xcafe1234\naccesses  1 write, 32-bit, via "));
    // several values are written in turn to the same port: the last one stays
    let value = json(&port(
        dir.path(),
        &["0xe2", "0x68", "0x69", "0x0a", "--json"],
    ));
    assert_eq!(value["values"], serde_json::json!(["0x68", "0x69", "0x0a"]));
    assert_eq!(value["ascii"], "hi.");
    assert_eq!(value["accesses"], 3);
    assert_eq!(stand_in(dir.path(), 0xe0, 4), [0x34, 0x12, 0x0a, 0xca]);
    // a dry run of a forced write to an unclaimed port: the same checks, nothing written
    let before = std::fs::read(dir.path().join("port")).unwrap();
    let dry = port(
        dir.path(),
        &["0xe9", "0x41", "0x0a", "--force", "--dry-run"],
    );
    assert!(dry.status.success(), "{dry:?}");
    let text = stdout_of(&dry);
    assert!(text.starts_with("dry run   would write 0x41 0x0a  |A.| (8-bit) at port 0xe9"));
    assert!(text.contains("region    PCI Bus 0000:00 [0x0-0xcf7]\n"));
    assert!(text.contains("accesses  none; the command would make 2 writes, 8-bit each"));
    assert!(text.ends_with("nothing was written (--dry-run)\n"));
    let dry_json = json(&port(
        dir.path(),
        &["0x64", "0xfe", "--force", "--dry-run", "--json"],
    ));
    assert_eq!(dry_json["dry_run"], true);
    assert_eq!(dry_json["accesses"], 0);
    assert_eq!(dry_json["would_access"], 1);
    assert_eq!(std::fs::read(dir.path().join("port")).unwrap(), before);
    // without --force the unclaimed port is refused, and nothing is written
    assert_exit(
        &port(dir.path(), &["0xe9", "0x41"]),
        6,
        "no driver claims port 0xe9",
    );
    assert_eq!(std::fs::read(dir.path().join("port")).unwrap(), before);
}
