// SPDX-License-Identifier: MIT OR Apache-2.0
//! The device's side of every access, in the VM: QEMU's trace of each device access checked
//! against what each command asked for (the trace oracle, [`crate::trace`]).
//!
//! The steps are a table here: the command, its exit status, and the accesses the devices
//! must see, no more. demos/vm/oracle.sh runs them in the guest between trace marks; the
//! test then reads QEMU's trace on the host and holds each step to its list: `peek`, `poke`,
//! `devmem` and `dump` on pc-testdev's scratch memory (8, 16 and 32 bits) and on edu's
//! registers (32 bits: edu answers no narrower access), `port` on pc-testdev's ports (8,
//! 16 and 32 bits), and busybox devmem and portio as independent cross-checks. And "IO ports
//! still work without those": in the distro VM, where /dev/mem refuses RAM, `port` reads
//! fw_cfg and writes a line the host finds on the debug console; under lockdown it is
//! refused, says so, and the console stays empty (demos/vm/ports.sh). And demos/device, the
//! narrated demo whose host side checks each step's trace lines itself, passes.

use std::path::PathBuf;

use super::{repo, vm_run_with_env};
use crate::trace::{check_exactly, parse_trace, step, Access, Traced};

/// pc-testdev's scratch memory (QEMU `-device pc-testdev`, claimed by physdemo_testdev).
const T: u64 = 0xff00_0000;
const IOMEM: &str = "pc-testdev-iomem";
const IOPORT: &str = "pc-testdev-ioport";
const IOPORT_BYTE: &str = "pc-testdev-ioport-byte";
const EDU: &str = "edu-mmio";
const DEBUGCON: &str = "isa-debugcon";

/// Every device a step may touch: anything in these that a step's list lacks fails it.
const WATCHED: &[&str] = &[
    IOMEM,
    IOPORT,
    IOPORT_BYTE,
    "pc-testdev-flush-page",
    "pc-testdev-irq-line",
    EDU,
    DEBUGCON,
];

/// One command and the only accesses the devices may see while it runs.
struct Step {
    command: &'static str,
    exit: i32,
    want: Vec<(&'static str, Access)>,
}

fn step_of(command: &'static str, want: Vec<(&'static str, Access)>) -> Step {
    Step {
        command,
        exit: 0,
        want,
    }
}

fn r(region: &'static str, addr: u64, value: u64, size: u32) -> (&'static str, Access) {
    (region, Access::read(addr, value, size))
}

fn w(region: &'static str, addr: u64, value: u64, size: u32) -> (&'static str, Access) {
    (region, Access::write(addr, value, size))
}

/// pc-testdev's memory, fresh (zeros) at boot.
fn memory_steps() -> Vec<Step> {
    vec![
        step_of(
            "physdemo poke 0xff000010 0x12345678",
            vec![w(IOMEM, T + 0x10, 0x1234_5678, 4)],
        ),
        step_of(
            "physdemo peek 0xff000010",
            vec![r(IOMEM, T + 0x10, 0x1234_5678, 4)],
        ),
        step_of(
            "physdemo poke 0xff000020 0xbeef --width 16",
            vec![w(IOMEM, T + 0x20, 0xbeef, 2)],
        ),
        step_of(
            "physdemo peek 0xff000020 --width 16",
            vec![r(IOMEM, T + 0x20, 0xbeef, 2)],
        ),
        step_of(
            "physdemo poke 0xff000023 0x5a --width 8",
            vec![w(IOMEM, T + 0x23, 0x5a, 1)],
        ),
        step_of(
            "physdemo peek 0xff000023 --width 8",
            vec![r(IOMEM, T + 0x23, 0x5a, 1)],
        ),
        step_of(
            "physdemo poke 0xff000030 0x1111 --width 16 --read-back",
            vec![
                r(IOMEM, T + 0x30, 0, 2),
                w(IOMEM, T + 0x30, 0x1111, 2),
                r(IOMEM, T + 0x30, 0x1111, 2),
            ],
        ),
        step_of("physdemo poke 0xff000040 0x1 --dry-run", vec![]),
        step_of(
            "physdemo devmem 0xff000044 32 0xcafef00d",
            vec![w(IOMEM, T + 0x44, 0xcafe_f00d, 4)],
        ),
        step_of(
            "physdemo devmem 0xff000044",
            vec![r(IOMEM, T + 0x44, 0xcafe_f00d, 4)],
        ),
        step_of(
            "physdemo devmem 0xff000048 16 0xabcd",
            vec![w(IOMEM, T + 0x48, 0xabcd, 2)],
        ),
        step_of(
            "physdemo devmem 0xff000048 16",
            vec![r(IOMEM, T + 0x48, 0xabcd, 2)],
        ),
        step_of(
            "physdemo devmem 0xff00004b 8 0x77",
            vec![w(IOMEM, T + 0x4b, 0x77, 1)],
        ),
        step_of(
            "physdemo devmem 0xff00004b 8",
            vec![r(IOMEM, T + 0x4b, 0x77, 1)],
        ),
        step_of(
            "busybox devmem 0xff000050 32 0x600dcafe",
            vec![w(IOMEM, T + 0x50, 0x600d_cafe, 4)],
        ),
        step_of(
            "busybox devmem 0xff000050 32",
            vec![r(IOMEM, T + 0x50, 0x600d_cafe, 4)],
        ),
        step_of(
            "busybox devmem 0xff000054 16 0x1234",
            vec![w(IOMEM, T + 0x54, 0x1234, 2)],
        ),
        step_of(
            "busybox devmem 0xff000054 16",
            vec![r(IOMEM, T + 0x54, 0x1234, 2)],
        ),
        step_of(
            "busybox devmem 0xff000057 8 0x42",
            vec![w(IOMEM, T + 0x57, 0x42, 1)],
        ),
        step_of(
            "busybox devmem 0xff000057 8",
            vec![r(IOMEM, T + 0x57, 0x42, 1)],
        ),
        step_of(
            "physdemo dump 0xff000010 16",
            vec![
                r(IOMEM, T + 0x10, 0x1234_5678, 4),
                r(IOMEM, T + 0x14, 0, 4),
                r(IOMEM, T + 0x18, 0, 4),
                r(IOMEM, T + 0x1c, 0, 4),
            ],
        ),
        step_of(
            "physdemo dump 0xff000020 4 --width 16",
            vec![r(IOMEM, T + 0x20, 0xbeef, 2), r(IOMEM, T + 0x22, 0x5a00, 2)],
        ),
        step_of(
            "physdemo dump 0xff000020 4 --width 8",
            vec![
                r(IOMEM, T + 0x20, 0xef, 1),
                r(IOMEM, T + 0x21, 0xbe, 1),
                r(IOMEM, T + 0x22, 0, 1),
                r(IOMEM, T + 0x23, 0x5a, 1),
            ],
        ),
        // pc-testdev takes at most 4 bytes at a time: QEMU splits the one 8-byte load
        step_of(
            "physdemo peek 0xff000048 --width 64",
            vec![r(IOMEM, T + 0x48, 0x7700_abcd, 4), r(IOMEM, T + 0x4c, 0, 4)],
        ),
    ]
}

/// edu's identification (BAR0 + 0) and liveness (BAR0 + 4, reads back the inverse)
/// registers; `bar0` is 0 while the commands are written out (they use $BAR0).
fn edu_steps(bar0: u64) -> Vec<Step> {
    let live = bar0 + 4;
    vec![
        step_of(
            "physdemo peek --pci $BDF 0x00",
            vec![r(EDU, bar0, 0x0100_00ed, 4)],
        ),
        step_of(
            "physdemo poke --pci $BDF 0x04 0x12345678",
            vec![w(EDU, live, 0x1234_5678, 4)],
        ),
        step_of("physdemo peek $LIVE", vec![r(EDU, live, 0xedcb_a987, 4)]),
        step_of(
            "physdemo devmem $LIVE 32 0x0f0f0f0f",
            vec![w(EDU, live, 0x0f0f_0f0f, 4)],
        ),
        step_of("physdemo devmem $LIVE", vec![r(EDU, live, 0xf0f0_f0f0, 4)]),
        step_of(
            "busybox devmem $LIVE 32 0x11111111",
            vec![w(EDU, live, 0x1111_1111, 4)],
        ),
        step_of(
            "busybox devmem $LIVE 32",
            vec![r(EDU, live, 0xeeee_eeee, 4)],
        ),
        step_of(
            "physdemo dump --pci $BDF 0x00 8",
            vec![r(EDU, bar0, 0x0100_00ed, 4), r(EDU, live, 0xeeee_eeee, 4)],
        ),
        step_of(
            "physdemo dump $BAR0 8",
            vec![r(EDU, bar0, 0x0100_00ed, 4), r(EDU, live, 0xeeee_eeee, 4)],
        ),
        step_of("physdemo poke $LIVE 0x1 --dry-run", vec![]),
    ]
}

/// pc-testdev's 32-bit port 0xe0-0xe3 (claimed by physdemo_testdev) and its byte view at
/// 0xe8-0xeb (0xe9 is the debug console's), fresh (zero) at boot.
fn port_steps() -> Vec<Step> {
    vec![
        step_of(
            "physdemo port 0xe0 0x11223344 --width 32",
            vec![w(IOPORT, 0xe0, 0x1122_3344, 4)],
        ),
        step_of(
            "physdemo port 0xe0 --width 32",
            vec![r(IOPORT, 0xe0, 0x1122_3344, 4)],
        ),
        step_of(
            "physdemo port 0xe2 0xbeef --width 16",
            vec![w(IOPORT, 0xe2, 0xbeef, 2)],
        ),
        step_of(
            "physdemo port 0xe2 --width 16",
            vec![r(IOPORT, 0xe2, 0xbeef, 2)],
        ),
        step_of("physdemo port 0xe1 0x5a", vec![w(IOPORT, 0xe1, 0x5a, 1)]),
        step_of(
            "physdemo port 0xe1 --read 3",
            vec![
                r(IOPORT, 0xe1, 0x5a, 1),
                r(IOPORT, 0xe1, 0x5a, 1),
                r(IOPORT, 0xe1, 0x5a, 1),
            ],
        ),
        step_of(
            "physdemo port 0xea 0x33 --force",
            vec![w(IOPORT_BYTE, 0xea, 0x33, 1)],
        ),
        step_of(
            "physdemo port 0xe0 --width 32",
            vec![r(IOPORT, 0xe0, 0xbe33_5a44, 4)],
        ),
        step_of("physdemo port 0xe0 0x1 --width 32 --dry-run", vec![]),
        Step {
            command: "physdemo port 0xe9 0x41",
            exit: 6,
            want: vec![],
        },
        step_of(
            "portio 0xe0 32 0x01020304",
            vec![w(IOPORT, 0xe0, 0x0102_0304, 4)],
        ),
        step_of("portio 0xe2 16", vec![r(IOPORT, 0xe2, 0x0102, 2)]),
    ]
}

fn all_steps(bar0: u64) -> Vec<Step> {
    let mut steps = memory_steps();
    steps.extend(edu_steps(bar0));
    steps.extend(port_steps());
    steps
}

/// The bytes a `hexdump -C` listing shows, in order.
fn hexdump_bytes(lines: &[&str]) -> Vec<u8> {
    lines
        .iter()
        .filter_map(|line| line.split_once("  "))
        .flat_map(|(_, rest)| {
            let hex = rest.split('|').next().unwrap_or("");
            hex.split_whitespace()
                .map(|b| u8::from_str_radix(b, 16).expect("a hex byte"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The guest's report of step `n`: its line, then its output (without the indent).
fn guest_step(text: &str, n: usize) -> (String, Vec<&str>) {
    let head = format!("step {n}: ");
    let mut lines = text.lines().skip_while(|l| !l.starts_with(&head));
    let line = lines
        .next()
        .unwrap_or_else(|| panic!("no '{head}' line"))
        .to_string();
    let output = lines.map_while(|l| l.strip_prefix("    | ")).collect();
    (line, output)
}

/// A dump's own account of its loads must agree with the device's: the note names as many
/// loads of the width as the device saw, and the bytes shown are the bytes the device gave.
fn check_dump(output: &[&str], seen: &[&Traced]) -> Result<(), String> {
    let size = seen.first().map_or(0, |t| t.access.size);
    let note = format!(
        "physdemo: dump: {} {}-bit reads from ",
        seen.len(),
        8 * size
    );
    if !output.iter().any(|l| l.starts_with(&note)) {
        return Err(format!("no '{note}...' note in {output:?}"));
    }
    let device: Vec<u8> = seen
        .iter()
        .flat_map(|t| t.access.value.to_le_bytes()[..t.access.size as usize].to_vec())
        .collect();
    let hex: Vec<&str> = output
        .iter()
        .copied()
        .filter(|l| !l.starts_with("physdemo"))
        .collect();
    let shown = hexdump_bytes(&hex);
    if shown == device {
        Ok(())
    } else {
        Err(format!(
            "dump showed {shown:02x?}, the device gave {device:02x?}"
        ))
    }
}

#[test]
fn each_access_is_exactly_one_access_of_its_width_as_the_device_saw_it() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("oracle");
    std::fs::create_dir_all(&dir).expect("a directory for the trace");
    let steps_file = dir.join("steps");
    let trace_file = dir.join("trace.log");
    let listing: String = all_steps(0)
        .iter()
        .map(|s| format!("{}\t{}\n", s.exit, s.command))
        .collect();
    std::fs::write(&steps_file, listing).expect("writing the steps");
    let _ = std::fs::remove_file(&trace_file);
    let Some(out) = vm_run_with_env(
        &repo().join("demos/vm/oracle.sh"),
        &["/files/steps"],
        &[
            (
                "PHYSDEMO_VM_TRACE",
                "memory_region_ops_read,memory_region_ops_write",
            ),
            (
                "PHYSDEMO_VM_TRACE_LOG",
                trace_file.to_str().expect("a UTF-8 path"),
            ),
            (
                "PHYSDEMO_VM_FILES",
                steps_file.to_str().expect("a UTF-8 path"),
            ),
        ],
    ) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "demos/vm/oracle.sh failed in the VM");
    let bar0 = text
        .lines()
        .find_map(|l| l.strip_prefix("edu ")?.split(" BAR0 ").nth(1))
        .and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok())
        .expect("the guest's 'edu BDF BAR0 ADDRESS' line");
    let trace = std::fs::read_to_string(&trace_file).expect("QEMU wrote the trace");
    let all = parse_trace(&trace);
    let steps = all_steps(bar0);
    let mut failures = Vec::new();
    let mut accesses = 0;
    for (i, s) in steps.iter().enumerate() {
        let n = i + 1;
        let (line, output) = guest_step(&text, n);
        assert_eq!(line, format!("step {n}: {} (exit {})", s.command, s.exit));
        let seen = step(&all, n as u64).unwrap_or_else(|| panic!("no marks of step {n}"));
        if let Err(why) = check_exactly(seen, WATCHED, &s.want) {
            failures.push(format!("step {n}, `{}`: {why}", s.command));
        }
        let watched: Vec<&Traced> = seen
            .iter()
            .filter(|t| WATCHED.contains(&t.region.as_str()))
            .collect();
        accesses += watched.len();
        if s.command.starts_with("physdemo dump") {
            if let Err(why) = check_dump(&output, &watched) {
                failures.push(format!("step {n}, `{}`: {why}", s.command));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!(
        "trace oracle: {} steps, {accesses} device accesses, each exactly as asked ({} trace lines)",
        steps.len(),
        all.len()
    );
    // Exact counts, not floors: a step dropped from the table, or a device access lost
    // from every list at once, changes them.
    assert_eq!(
        (steps.len(), accesses),
        (46, 56),
        "steps and device accesses checked"
    );
}

/// Runs demos/vm/ports.sh MODE with the debug console in a file of this test's own;
/// returns the guest's output and what arrived on the console.
fn ports_run(mode: &str, env: &[(&str, &str)]) -> Option<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("ports-{mode}"));
    std::fs::create_dir_all(&dir).expect("a directory for the debug console log");
    let debugcon = dir.join("debugcon.log");
    let _ = std::fs::remove_file(&debugcon);
    let mut all = vec![(
        "PHYSDEMO_VM_DEBUGCON_LOG",
        debugcon.to_str().expect("a UTF-8 path"),
    )];
    all.extend_from_slice(env);
    let out = vm_run_with_env(&repo().join("demos/vm/ports.sh"), &[mode], &all)?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "demos/vm/ports.sh {mode} failed in the VM"
    );
    assert!(text
        .lines()
        .any(|l| l.starts_with(&format!("ports-{mode}: ")) && l.ends_with(" passed, 0 failed")));
    let console = std::fs::read(&debugcon).expect("QEMU wrote the debug console log");
    Some((text, console))
}

#[test]
fn io_ports_still_work_where_dev_mem_is_filtered_and_lockdown_stops_them() {
    let Some((text, console)) = ports_run("distro", &[("PHYSDEMO_VM_KERNEL", "distro")]) else {
        return;
    };
    assert!(text.contains("ok   - peek of RAM: exit 5, STRICT_DEVMEM named"));
    assert!(text.contains("\"ascii\":\"QEMU\""), "fw_cfg's signature");
    assert_eq!(
        String::from_utf8_lossy(&console),
        "physdemo port distro\n",
        "the line physdemo wrote to port 0xe9, as the debug console got it"
    );
    let Some((text, console)) = ports_run(
        "lockdown",
        &[
            ("PHYSDEMO_VM_KERNEL", "distro"),
            ("PHYSDEMO_VM_APPEND", "lockdown=integrity"),
        ],
    ) else {
        return;
    };
    assert!(text.contains("lockdown: none [integrity] confidentiality"));
    assert!(text.contains(
        "opening /dev/port was refused (EPERM): the kernel is locked down (integrity, /sys/kernel/security/lockdown)"
    ));
    assert!(
        console.is_empty(),
        "lockdown let bytes reach port 0xe9: {console:?}"
    );
}

#[test]
fn the_device_demo_shows_each_access_from_the_devices_side_and_passes() {
    if crate::common::skip_requested(
        "PHYSDEMO_SKIP_VM",
        "VM demo demos/device: the devices' side of each access is NOT checked",
    ) {
        return;
    }
    let out = {
        let _one = super::ONE_VM
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        std::process::Command::new(repo().join("demos/device"))
            .output()
            .expect("running demos/device")
    };
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!(
        "--- demos/device (exit {:?}) ---\n{text}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "demos/device failed");
    for line in [
        "device: memory_region_ops_write cpu 0 addr 0xff000000 value 0x12345678 size 4 name 'pc-testdev-iomem'",
        "addr 0x511 value 0x55 size 1 name 'fwcfg'",
        "addr 0xe9 value 0x21 size 1 name 'isa-debugcon'",
        "addr 0xfea00008 value 0x375f00 size 4 name 'edu-mmio'",
        "host: QEMU's debug console received 13 bytes: Hello, host!",
        "guest: 14 passed, 0 failed",
        "host: 17 passed, 0 failed",
    ] {
        let found = if line.starts_with("device: ") {
            // the vCPU that made the access varies
            text.lines().any(|l| l.starts_with("device: ") && l.ends_with(&line[line.find(" addr").unwrap()..]))
        } else {
            text.contains(line)
        };
        assert!(found, "no line with {line:?}");
    }
}
