// SPDX-License-Identifier: MIT OR Apache-2.0
//! physdemo on arm64 (QEMU `virt`, TCG), 4 KiB, 16 KiB and 64 KiB pages: `demos/arm64`, the
//! command docs/arm64.md shows, run whole. Its witnesses are not physdemo: pagemap read with
//! dd, busybox devmem (the arm64 busybox), /proc/PID/mem, `date +%s`, the PL011's serial
//! log on the host and QEMU's trace of every device access. physdemo_mem (/dev/physmem)
//! is built for each arm64 kernel and proven there: doctor against /proc/modules, a poke
//! of a target through it against /proc/PID/mem, the PL031 through it against `date +%s`
//! and QEMU's trace, the kernel's code refused with busybox devmem reading it unchanged.

use std::process::Command;

use crate::common::skip_requested;

use super::{repo, ONE_VM};

#[test]
fn on_arm64_with_4k_16k_and_64k_pages_the_story_and_the_virt_boards_devices_check_out() {
    if skip_requested(
        "PHYSDEMO_SKIP_VM",
        "VM test demos/arm64: arm64 is NOT tested",
    ) {
        return;
    }
    let _one = ONE_VM
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let out = Command::new(repo().join("demos/arm64"))
        .env("NO_COLOR", "1")
        .output()
        .expect("running demos/arm64");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "demos/arm64 failed");
    // The three VMs ran all 24 of their checks, and the host all 21 of its own.
    assert_eq!(text.matches("\narm64: 24 passed, 0 failed\n").count(), 3);
    for page in [4096, 16384, 65536] {
        assert!(
            text.contains(&format!("page size {page} bytes (/proc/self/smaps)")),
            "{text}"
        );
    }
    assert!(
        text.ends_with("arm64 (host): 21 passed, 0 failed\n"),
        "{text}"
    );
    assert!(text.contains(
        "the serial line carried exactly \"physdemo wrote this line to the PL011, byte by byte\""
    ));
}
