// SPDX-License-Identifier: MIT OR Apache-2.0
//! Shared helpers for integration tests: spawn the real `physdemo` binary and talk to it.
//!
//! Following hyperfine's `tests/common.rs`, tests run the binary exactly as a user would.
//! [`Target`] starts `physdemo target --json`, waits for its "ready" line and kills it on
//! drop; [`independent_pfn`] reads pagemap with plain std I/O, separately from the crate.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// The ACPI MCFG table of the project's VM (QEMU 10 q35), as `od` printed it there: one
/// ECAM window, segment 0, buses 0-255 at 0xb0000000 (edu, 00:01.0, at 0xb0008000).
pub const VM_MCFG: [u8; 60] = [
    0x4d, 0x43, 0x46, 0x47, 0x3c, 0x00, 0x00, 0x00, 0x01, 0x8c, 0x42, 0x4f, 0x43, 0x48, 0x53, 0x20,
    0x42, 0x58, 0x50, 0x43, 0x20, 0x20, 0x20, 0x20, 0x01, 0x00, 0x00, 0x00, 0x42, 0x58, 0x50, 0x43,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb0,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00,
];

/// /proc/ioports of the project's VM around the ports the demos use (the full file is in
/// src/kernel/ioports.rs's tests): pc-testdev's port claimed by physdemo_testdev, fw_cfg,
/// the keyboard controller, and 0xe9 (the debug console) in no device's range.
pub const VM_IOPORTS: &str = "\
0000-0cf7 : PCI Bus 0000:00
  0020-0021 : pic1
  0064-0064 : keyboard
  00e0-00e3 : physdemo-testdev
    00e0-00e3 : physdemo-testdev
  0510-051b : QEMU0002:00
0cf8-0cff : PCI conf1
0d00-ffff : PCI Bus 0000:00
";

pub fn physdemo() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_physdemo"));
    cmd.env_remove("NO_COLOR");
    cmd
}

pub fn run(args: &[&str]) -> Output {
    physdemo().args(args).output().expect("running physdemo")
}

pub fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts the exit code, and exactly one `physdemo: error: …` line on stderr containing `needle`.
pub fn assert_exit(out: &Output, code: i32, needle: &str) {
    let err = stderr_of(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    assert_eq!(err.lines().count(), 1, "one line on stderr: {err}");
    assert!(err.starts_with("physdemo: error: "), "{err}");
}

/// A running `physdemo target --json`, killed when dropped.
pub struct Target {
    pub child: Child,
    pub ready: Value,
    lines: mpsc::Receiver<String>,
}

impl Target {
    pub fn start(extra: &[&str]) -> Target {
        let mut child = physdemo()
            .arg("target")
            .arg("--json")
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawning physdemo target");
        let stdout: ChildStdout = child.stdout.take().expect("stdout piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("target printed its ready line");
        let ready: Value = serde_json::from_str(&first).expect("ready line is JSON");
        assert_eq!(ready["event"], "ready", "{first}");
        Target {
            child,
            ready,
            lines,
        }
    }

    pub fn pid(&self) -> i32 {
        self.ready["pid"].as_i64().expect("pid is a number") as i32
    }

    pub fn vaddr(&self) -> u64 {
        hex(&self.ready["vaddr"])
    }

    /// The next JSON event, waiting at most `timeout`.
    pub fn next_event(&self, timeout: Duration) -> Option<Value> {
        let line = self.lines.recv_timeout(timeout).ok()?;
        Some(serde_json::from_str(&line).expect("event line is JSON"))
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses a `"0x…"` JSON string.
pub fn hex(value: &Value) -> u64 {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not a string"));
    u64::from_str_radix(text.trim_start_matches("0x"), 16).expect("hex string")
}

pub fn page_size() -> u64 {
    procfs::page_size()
}

/// The raw pagemap entry of `vaddr` in `pid`, read with plain std I/O.
pub fn independent_pagemap_entry(pid: i32, vaddr: u64) -> u64 {
    let mut file = File::open(format!("/proc/{pid}/pagemap")).expect("open pagemap");
    file.seek(SeekFrom::Start(vaddr / page_size() * 8))
        .expect("seek");
    let mut word = [0u8; 8];
    file.read_exact(&mut word).expect("read pagemap entry");
    u64::from_ne_bytes(word)
}

/// The PFN of `vaddr` in `pid` (bits 0-54 of its pagemap entry), asserting it is present.
pub fn independent_pfn(pid: i32, vaddr: u64) -> u64 {
    let entry = independent_pagemap_entry(pid, vaddr);
    assert!(entry >> 63 == 1, "page not present: {entry:#x}");
    entry & ((1 << 55) - 1)
}

/// The raw /proc/kpageflags word of a frame.
pub fn independent_kpageflags(pfn: u64) -> u64 {
    let mut file = File::open("/proc/kpageflags").expect("open kpageflags");
    file.seek(SeekFrom::Start(pfn * 8)).expect("seek");
    let mut word = [0u8; 8];
    file.read_exact(&mut word).expect("read kpageflags");
    u64::from_ne_bytes(word)
}

/// Whether we may read PFNs (root / CAP_SYS_ADMIN); tests that need it fail loudly otherwise.
pub fn require_root() {
    assert!(
        procfs::process::Process::myself()
            .and_then(|p| p.status())
            .map(|s| s.euid == 0)
            .unwrap_or(false),
        "these tests read real PFNs from pagemap and need root: run them with sudo"
    );
}

/// Whether the user asked, with `VARIABLE=1`, to skip `what`. A skip is never silent: with
/// `CI` set (anything but empty, `0` or `false`) it is a failure, naming the variable;
/// otherwise it prints a loud line and appends it to the file `PHYSDEMO_SKIP_LOG` names,
/// which `demos/test` repeats at the end of its run.
pub fn skip_requested(variable: &str, what: &str) -> bool {
    if std::env::var(variable).as_deref() != Ok("1") {
        return false;
    }
    let ci = std::env::var("CI").unwrap_or_default();
    assert!(
        matches!(ci.as_str(), "" | "0" | "false"),
        "CI={ci} and {variable}=1: CI never skips ({what}); unset {variable}"
    );
    let line = format!("{what} ({variable}=1)");
    eprintln!("\n!!! SKIPPED: {line} !!!\n");
    if let Ok(log) = std::env::var("PHYSDEMO_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(log)
        {
            let _ = writeln!(file, "{line}");
        }
    }
    true
}
