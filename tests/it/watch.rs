// SPDX-License-Identifier: MIT OR Apache-2.0
//! `watch` on this host: a file stands in for /dev/mem (`PHYSDEMO_DEVICE`), a crafted map for
//! /proc/iomem (`PHYSDEMO_IOMEM`), and the test writes into that file while the real binary
//! polls it. The witness is the test's own sequence of writes (each value, in order, exactly
//! once) and the real `hexdump -C` of the file; SIGINT and SIGTERM are sent with kill(1).
//! The real /dev/mem, the target's variable, the HPET and jiffies are watched in the VM
//! (demos/vm/watch.sh).

use std::io::{BufRead, BufReader};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::common::*;

/// A stand-in device of 64 KiB and a map calling it RAM, but for a device at 0x8000.
struct StandIn {
    dir: tempfile::TempDir,
}

impl StandIn {
    fn new() -> StandIn {
        let dir = tempfile::Builder::new()
            .prefix("physdemo-it-watch-")
            .tempdir()
            .expect("a scratch directory");
        std::fs::write(dir.path().join("mem"), vec![0u8; 0x10000]).unwrap();
        std::fs::write(
            dir.path().join("iomem"),
            "00000000-00007fff : System RAM\n00008000-00008fff : edu-mmio\n00009000-0000ffff : System RAM\n",
        )
        .unwrap();
        StandIn { dir }
    }

    fn device(&self) -> PathBuf {
        self.dir.path().join("mem")
    }

    /// Writes `bytes` at `addr` of the stand-in, as a store to physical memory would land.
    fn write(&self, addr: u64, bytes: &[u8]) {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(self.device())
            .unwrap();
        file.write_all_at(bytes, addr).unwrap();
    }

    fn watch(&self, args: &[&str]) -> Watcher {
        let mut child = physdemo()
            .arg("watch")
            .args(args)
            .env("PHYSDEMO_DEVICE", self.device())
            .env("PHYSDEMO_IOMEM", self.dir.path().join("iomem"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning physdemo watch");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watcher {
            child: Some(child),
            lines,
        }
    }

    /// The real `hexdump -C` of `len` bytes at `start` of the stand-in.
    fn hexdump(&self, start: u64, len: u64) -> String {
        let out = Command::new("hexdump")
            .args(["-C", "-s", &start.to_string(), "-n", &len.to_string()])
            .arg(self.device())
            .output()
            .expect("hexdump(1) is needed for this test (demos/setup installs bsdextrautils)");
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }
}

/// A running `physdemo watch`, its stdout line by line; killed on drop.
struct Watcher {
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
}

impl Watcher {
    fn line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .expect("watch printed a line in time")
    }

    fn event(&self) -> Value {
        let line = self.line();
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"))
    }

    /// The next line starting with `prefix`, after the ones before it.
    fn line_starting(&self, prefix: &str) -> (Vec<String>, String) {
        let mut before = Vec::new();
        loop {
            let line = self.line();
            if line.starts_with(prefix) {
                return (before, line);
            }
            before.push(line);
        }
    }

    fn pid(&self) -> String {
        self.child.as_ref().unwrap().id().to_string()
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the end: the exit status, the rest of stdout, and stderr.
    fn finish(mut self) -> (std::process::ExitStatus, Vec<String>, String) {
        let out = self.child.take().unwrap().wait_with_output().unwrap();
        let rest: Vec<String> = self.lines.try_iter().collect();
        (
            out.status,
            rest,
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn each_value_the_test_writes_is_one_change_old_to_new_in_order() {
    let mem = StandIn::new();
    let writes = [0x1111_1111u32, 0xdead_beef, 0x1, 0xffff_ffff, 0x0];
    let watcher = mem.watch(&["0x1008", "--interval", "1ms", "--json", "--count", "5"]);
    let start = watcher.event();
    assert_eq!(
        (&start["event"], &start["paddr"], &start["value"]),
        (&"start".into(), &"0x1008".into(), &"0x00000000".into()),
        "{start}"
    );
    assert_eq!(start["reads_device"], false);
    let mut old = 0u32;
    let mut last_ns = start["monotonic_ns"].as_u64().unwrap();
    for (n, &value) in writes.iter().enumerate() {
        mem.write(0x1008, &value.to_le_bytes());
        let change = watcher.event();
        assert_eq!(change["event"], "change", "{change}");
        assert_eq!(change["change"], n as u64 + 1);
        assert_eq!(hex(&change["old"]), u64::from(old), "{change}");
        assert_eq!(hex(&change["new"]), u64::from(value), "{change}");
        let at = change["monotonic_ns"].as_u64().unwrap();
        assert!(at > last_ns, "times go forward: {change}");
        last_ns = at;
        old = value;
    }
    let summary = watcher.event();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["reason"], "count");
    assert_eq!(summary["changes"], 5);
    let rate = summary["per_second"].as_f64().unwrap();
    let duration = summary["duration_s"].as_f64().unwrap();
    assert!((rate * duration - 5.0).abs() < 1e-6, "{summary}");
    let (status, rest, stderr) = watcher.finish();
    assert!(status.success() && rest.is_empty(), "{rest:?} {stderr}");
    assert_eq!(stderr, "", "RAM is watched without a note");
}

#[test]
fn a_range_shows_hexdump_c_lines_with_exactly_the_changed_bytes_marked() {
    let mem = StandIn::new();
    mem.write(0x1003, b"physical memory, watched");
    let (start, len) = (0x1003u64, 40u64);
    let watcher = mem.watch(&["0x1003", "--len", "40", "--interval", "1ms", "--count", "2"]);
    let (_, header) = watcher.line_starting("[");
    assert!(header.contains("first read"), "{header}");
    let initial = mem.hexdump(start, len);
    // one store of three bytes across two lines (0x1013 starts the second), then one byte
    mem.write(0x1012, b"XYZ");
    let (first_read, header) = watcher.line_starting("[");
    assert_eq!(
        first_read,
        initial.lines().collect::<Vec<_>>(),
        "the first read is hexdump -C's"
    );
    assert!(
        header.contains("] 3 bytes changed  (CLOCK_MONOTONIC "),
        "{header}"
    );
    let snapshot = mem.hexdump(start, len);
    mem.write(0x102a, b"\xff");
    let (block, header) = watcher.line_starting("[");
    assert!(
        header.contains("] 1 byte changed  (CLOCK_MONOTONIC "),
        "{header}"
    );
    assert_eq!(block.len(), 4, "two lines, each with its marks: {block:?}");
    check_block(&block, &snapshot, &[0x1012, 0x1013, 0x1014]);
    let (status, rest, stderr) = watcher.finish();
    assert!(status.success(), "{stderr}");
    let (summary, block) = rest.split_last().expect("a summary line");
    assert!(
        summary.starts_with("summary   2 changes in ") && summary.ends_with("stopped by --count)"),
        "{summary}"
    );
    check_block(block, &mem.hexdump(start, len), &[0x102a]);
}

/// A change's lines: each `hexdump -C` line is hexdump's own line at that address, and the
/// `^^` marks stand exactly under the bytes at `changed` (and `^` under their characters).
fn check_block(block: &[String], hexdump: &str, changed: &[u64]) {
    let mut marked = Vec::new();
    for pair in block.chunks(2) {
        let [line, marks] = pair else {
            panic!("a line without its marks: {block:?}")
        };
        assert!(
            hexdump.lines().any(|l| l == line),
            "{line:?} is not a line of hexdump -C:\n{hexdump}"
        );
        assert!(marks.starts_with(' ') && marks.chars().all(|c| c == ' ' || c == '^'));
        let addr = u64::from_str_radix(line.split(' ').next().unwrap(), 16).unwrap();
        let bar = line.find('|').unwrap();
        let (hex_part, chars) = (&line[..bar], &line[bar + 1..line.len() - 1]);
        let (hex_marks, char_marks) = marks.split_at(bar.min(marks.len()));
        let mut here = Vec::new();
        for (col, _) in hex_marks.match_indices("^^") {
            // the byte index is the number of hex pairs before the mark
            let index = hex_part[..col].split_whitespace().count() - 1;
            assert_eq!(
                &line[col..col + 2],
                hex_part.split_whitespace().nth(index + 1).unwrap()
            );
            here.push(index);
        }
        // and one ^ under each changed byte's character, after the bar
        let under: Vec<usize> = char_marks
            .match_indices('^')
            .map(|(col, _)| col - 1)
            .collect();
        assert_eq!(under, here, "{line}\n{marks}");
        assert!(under.iter().all(|&i| i < chars.len()));
        marked.extend(here.iter().map(|&i| addr + i as u64));
    }
    assert_eq!(marked, changed);
}

#[test]
fn sigint_and_sigterm_end_the_watch_with_its_summary() {
    let mem = StandIn::new();
    let watcher = mem.watch(&["0x2000", "--interval", "5ms"]);
    let (_, first) = watcher.line_starting("[");
    assert!(first.contains("0x00000000  (first read"), "{first}");
    mem.write(0x2000, &[7]);
    let (_, change) = watcher.line_starting("[");
    assert!(
        change.contains("0x00000000 -> 0x00000007  (CLOCK_MONOTONIC "),
        "{change}"
    );
    watcher.signal("INT");
    let (status, rest, _) = watcher.finish();
    assert!(status.success());
    let [summary] = rest.as_slice() else {
        panic!("{rest:?}")
    };
    assert!(summary.starts_with("summary   1 change in "), "{summary}");
    assert!(
        summary.ends_with("stopped by SIGINT or SIGTERM)"),
        "{summary}"
    );

    let watcher = mem.watch(&["0x2000", "--json"]);
    assert_eq!(watcher.event()["value"], "0x00000007");
    watcher.signal("TERM");
    let (status, rest, _) = watcher.finish();
    assert!(status.success());
    let summary: Value = serde_json::from_str(&rest[0]).unwrap();
    assert_eq!(
        (&summary["reason"], &summary["changes"]),
        (&"signal".into(), &0.into())
    );
}

#[test]
fn until_stops_at_the_value_and_a_device_is_announced_once() {
    let mem = StandIn::new();
    let watcher = mem.watch(&[
        "0x8004",
        "--width",
        "16",
        "--until",
        "0xbeef",
        "--json",
        "--interval",
        "1ms",
    ]);
    let start = watcher.event();
    assert_eq!(start["reads_device"], true, "{start}");
    for value in [0x1234u16, 0xbeef] {
        mem.write(0x8004, &value.to_le_bytes());
        assert_eq!(hex(&watcher.event()["new"]), u64::from(value));
    }
    let summary = watcher.event();
    assert_eq!(
        (&summary["reason"], &summary["changes"]),
        (&"until".into(), &2.into())
    );
    let (status, _, stderr) = watcher.finish();
    assert!(status.success());
    let [note] = stderr.lines().collect::<Vec<_>>()[..] else {
        panic!("{stderr}")
    };
    assert!(
        note.starts_with("physdemo: watch: 0x8004 is not RAM: each poll, every 1ms, is one 16-bit read of 0x8004"),
        "{note}"
    );
}
