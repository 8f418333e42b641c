// SPDX-License-Identifier: MIT OR Apache-2.0
//! `dump` against the real `hexdump -C` (util-linux's, Debian's bsdextrautils), byte for
//! byte: on random bytes (every byte value, every column), on runs of identical lines (the
//! `*` folding, a run that reaches the end, a partial last line), from an odd start; and
//! `--raw` and `--output` against the stand-in file's own bytes. A file stands in for
//! /dev/mem (`PHYSDEMO_DEVICE`), a crafted map for /proc/iomem (`PHYSDEMO_IOMEM`). How
//! fast it is belongs to demos/bench/dump.sh, not here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

/// A stand-in device holding `bytes` and a map calling it all RAM, removed on drop.
struct StandIn {
    dir: tempfile::TempDir,
}

impl StandIn {
    fn new(name: &str, bytes: &[u8]) -> StandIn {
        let dir = tempfile::Builder::new()
            .prefix(&format!("physdemo-it-{name}-"))
            .tempdir()
            .expect("a scratch directory");
        std::fs::write(dir.path().join("mem"), bytes).unwrap();
        std::fs::write(dir.path().join("iomem"), "00000000-ffffffff : System RAM\n").unwrap();
        StandIn { dir }
    }

    fn device(&self) -> PathBuf {
        self.dir.path().join("mem")
    }

    fn run(&self, args: &[&str]) -> Output {
        physdemo()
            .args(args)
            .env("PHYSDEMO_DEVICE", self.device())
            .env("PHYSDEMO_IOMEM", self.dir.path().join("iomem"))
            .output()
            .expect("running physdemo")
    }

    /// The real `hexdump -C` of `len` bytes at `start` of the file (`-s` keeps the
    /// addresses the file's offsets, as dump's are the physical addresses).
    fn hexdump(&self, start: u64, len: u64, extra: &[&str]) -> Vec<u8> {
        let out = Command::new("hexdump")
            .arg("-C")
            .args(extra)
            .args(["-s", &start.to_string(), "-n", &len.to_string()])
            .arg(self.device())
            .output()
            .expect("hexdump(1) is needed for this test (demos/setup installs bsdextrautils)");
        assert!(out.status.success(), "{}", stderr_of(&out));
        out.stdout
    }

    /// Asserts that `dump START LEN` (and `--all` against `hexdump -C -v`) prints exactly
    /// what hexdump prints.
    fn assert_same_as_hexdump(&self, start: u64, len: u64) {
        for (ours, theirs) in [(None, &[][..]), (Some("--all"), &["-v"][..])] {
            let (start_arg, len_arg) = (format!("{start:#x}"), len.to_string());
            let mut args = vec!["dump", start_arg.as_str(), len_arg.as_str()];
            args.extend(ours);
            let out = self.run(&args);
            assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
            let expected = self.hexdump(start, len, theirs);
            assert!(expected.len() > 9, "hexdump printed almost nothing");
            if out.stdout != expected {
                let at = out
                    .stdout
                    .iter()
                    .zip(&expected)
                    .position(|(a, b)| a != b)
                    .unwrap_or(out.stdout.len().min(expected.len()));
                let show = |b: &[u8]| {
                    String::from_utf8_lossy(&b[at.saturating_sub(160)..(at + 80).min(b.len())])
                        .into_owned()
                };
                panic!(
                    "{args:?} differs from hexdump -C {theirs:?} at byte {at}:\nours:\n{}\nhexdump:\n{}",
                    show(&out.stdout),
                    show(&expected)
                );
            }
        }
    }
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    let mut urandom = std::fs::File::open("/dev/urandom").unwrap();
    std::io::Read::read_exact(&mut urandom, &mut bytes).unwrap();
    bytes
}

#[test]
fn dump_of_random_bytes_is_hexdump_c_byte_for_byte() {
    // 3 MiB and a bit: several read batches, every byte value many times over
    let bytes = random_bytes((3 << 20) + 4099);
    let s = StandIn::new("dump-random", &bytes);
    s.assert_same_as_hexdump(0, bytes.len() as u64);
    // an odd start and length: partial first and last lines, batches off their boundaries
    s.assert_same_as_hexdump(0xf_fff3, (1 << 20) + 37);
    s.assert_same_as_hexdump(7, 9);
}

#[test]
fn runs_of_identical_lines_fold_into_a_star_as_hexdump_c_does() {
    let line: Vec<u8> = (0x40..0x50).collect();
    let mut bytes = Vec::new();
    // a run across a 1 MiB batch boundary
    bytes.extend(std::iter::repeat_n(0u8, (1 << 20) + 4096));
    bytes.extend_from_slice(&line);
    // two identical lines, then three, then a line that differs in its last byte
    bytes.extend(line.iter().chain(&line).chain(&line).copied());
    bytes.extend_from_slice(&random_bytes(16));
    bytes.extend(line.iter().chain(&line).chain(&line).copied());
    let mut almost = line.clone();
    almost[15] ^= 1;
    bytes.extend_from_slice(&almost);
    // a partial last line that matches the start of the line before it
    bytes.extend(std::iter::repeat_n(0xffu8, 16 * 40));
    bytes.extend(std::iter::repeat_n(0xffu8, 9));
    let s = StandIn::new("dump-runs", &bytes);
    s.assert_same_as_hexdump(0, bytes.len() as u64);
    // a run that reaches the end of the range: `*`, then the end address
    let end_in_run = bytes.len() as u64 - 9 - 16 * 10;
    s.assert_same_as_hexdump(0, end_in_run);
    // a run starting mid-line
    s.assert_same_as_hexdump(5, (1 << 20) + 100);
    let ours = stdout_of(&s.run(&["dump", "0", &end_in_run.to_string()]));
    assert!(ours.ends_with(&format!("*\n{end_in_run:08x}\n")), "{ours}");
}

#[test]
fn raw_bytes_and_output_files_hold_exactly_the_range() {
    let bytes = random_bytes((2 << 20) + 513);
    let s = StandIn::new("dump-raw", &bytes);
    let (start, len) = (0x1_0003usize, (1 << 20) + 77);
    let raw = s.run(&["dump", &start.to_string(), &len.to_string(), "--raw"]);
    assert!(raw.status.success(), "{}", stderr_of(&raw));
    assert_eq!(stderr_of(&raw), "");
    assert!(
        raw.stdout == bytes[start..start + len],
        "--raw differs from the file's bytes"
    );
    // --output: the same bytes, or the same lines, in a file; nothing on stdout
    let file = s.dir.path().join("out.bin");
    let to_file = s.run(&[
        "dump",
        &start.to_string(),
        &len.to_string(),
        "--raw",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert!(to_file.status.success(), "{}", stderr_of(&to_file));
    assert!(to_file.stdout.is_empty());
    assert!(std::fs::read(&file).unwrap() == bytes[start..start + len]);
    let text = s.dir.path().join("out.txt");
    let lines = s.run(&["dump", "0", "4096", "-o", text.to_str().unwrap()]);
    assert!(lines.status.success(), "{}", stderr_of(&lines));
    assert_eq!(std::fs::read(&text).unwrap(), s.hexdump(0, 4096, &[]));
}

#[test]
fn raw_bytes_are_refused_on_a_terminal_and_bad_output_paths_are_one_line() {
    let s = StandIn::new("dump-refused", &[0x41; 8192]);
    // script(1) gives the command a pseudo-terminal as stdout
    let device = s.device();
    let iomem = s.dir.path().join("iomem");
    let line = format!(
        "PHYSDEMO_DEVICE={} PHYSDEMO_IOMEM={} {} dump 0 16 --raw; echo exit=$?",
        device.display(),
        iomem.display(),
        env!("CARGO_BIN_EXE_physdemo")
    );
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script(1) (util-linux) is needed for this test");
    let shown = stdout_of(&out);
    assert!(
        shown.contains("dump --raw writes the bytes themselves, and stdout is a terminal")
            && shown.contains("exit=2")
            && !shown.contains("AAAA"),
        "{shown}"
    );
    assert_eq!(
        shown.lines().filter(|l| l.contains("error")).count(),
        1,
        "{shown}"
    );
    for (path, code, words) in [
        (s.dir.path().to_path_buf(), 2, "--output "),
        (
            Path::new("/dev/null").to_path_buf(),
            2,
            "not a regular file",
        ),
        (s.dir.path().join("no/such/file"), 3, "does not exist"),
    ] {
        let out = s.run(&["dump", "0", "16", "--output", path.to_str().unwrap()]);
        assert_exit(&out, code, words);
        assert!(out.stdout.is_empty());
    }
    // a dump that fails midway leaves no file behind
    let partial = s.dir.path().join("partial.txt");
    let out = s.run(&[
        "dump",
        "0x1ff0",
        "0x20",
        "--method",
        "rw",
        "-o",
        partial.to_str().unwrap(),
    ]);
    assert_exit(&out, 3, "dump stopped at 0x2000");
    assert!(!partial.exists());
    assert_eq!(std::fs::read_dir(s.dir.path()).unwrap().count(), 2);
}
