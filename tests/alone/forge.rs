// SPDX-License-Identifier: MIT OR Apache-2.0
//! Forged targets on the host: `poke` and `peek` with no arguments must find only a real
//! `physdemo target`, never a process that merely copies its header.
//!
//! A Python process writes the header (magic `PHYSDEMO`, its own pid, the address of the
//! variable in that very page) into an anonymous mapping; once as `python3`, once as a copy
//! of the interpreter named `physdemo` with `target` on its command line. Discovery must
//! refuse both, and with a real target beside the forger, pick the real one. Writes go to a
//! scratch file standing in for /dev/mem (`PHYSDEMO_DEVICE`), with `--dry-run` besides.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use crate::common::*;

const FORGER: &str = r#"
import mmap, os, struct, sys, time
page = mmap.mmap(-1, 4096)
import ctypes
addr = ctypes.addressof(ctypes.c_char.from_buffer(page))
page[0:24] = b"PHYSDEMO" + struct.pack("<QQ", os.getpid(), addr + 64)
page[64:72] = struct.pack("<Q", 0x1122334455667788)
print(hex(addr + 64), flush=True)
time.sleep(60)
"#;

struct Forger {
    child: Child,
}

impl Forger {
    fn start(program: &Path) -> Forger {
        let mut child = Command::new(program)
            .args(["-c", FORGER, "target"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the forger");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("the forger prints its address");
        assert!(line.starts_with("0x"), "forger said {line:?}");
        Forger { child }
    }
}

impl Drop for Forger {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> PathBuf {
    let out = Command::new("sh")
        .args([
            "-c",
            "python3 -c 'import os, sys; print(os.path.realpath(sys.executable))'",
        ])
        .output()
        .expect("sh");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// A scratch directory, removed when dropped (even when the test fails).
fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("physdemo-forge-")
        .tempdir()
        .expect("a scratch directory")
}

fn poke_no_args(dir: &Path) -> Output {
    let device = dir.join("mem");
    // Sparse, and big enough to hold any physical address of this machine's RAM.
    std::fs::File::create(&device)
        .unwrap()
        .set_len(1 << 40)
        .unwrap();
    physdemo()
        .args(["poke", "--dry-run"])
        .env("PHYSDEMO_DEVICE", &device)
        .output()
        .expect("running physdemo")
}

fn assert_refused(out: &Output, needle: &str) {
    let err = stderr_of(out);
    assert_eq!(out.status.code(), Some(3), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("physdemo: error: ") && err.contains(needle),
        "{err}"
    );
}

/// The pids of `physdemo … target …` processes already running (this binary starts none
/// before the check).
fn other_targets() -> Vec<String> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        let arg0 = String::from_utf8_lossy(args[0]);
        let program = arg0.rsplit('/').next().unwrap_or_default();
        if program.starts_with("physdemo") && args.iter().any(|a| *a == b"target") {
            pids.push(name);
        }
    }
    pids
}

#[test]
fn forged_headers_are_never_taken_for_a_target() {
    require_root();
    let others = other_targets();
    assert!(
        others.is_empty(),
        "physdemo targets are running (pids {}): discovery would find them, so this test \
         needs them stopped first",
        others.join(", ")
    );
    let scratch = scratch();
    let dir = scratch.path();
    // 1. A process that is not physdemo at all.
    {
        let _forger = Forger::start(&python());
        assert_refused(&poke_no_args(dir), "no running physdemo target found");
    }
    // 2. A copy of another program, named physdemo, with `target` in its command line.
    let fake = dir.join("physdemo");
    std::fs::copy(python(), &fake).expect("copying python3");
    {
        let forger = Forger::start(&fake);
        let out = poke_no_args(dir);
        assert_refused(&out, "runs another executable than this physdemo");
        assert!(stderr_of(&out).contains(&forger.child.id().to_string()));
        // 3. A real target beside it: the real one is chosen.
        let target = Target::start(&[]);
        let out = poke_no_args(dir);
        assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
        assert!(
            stdout_of(&out).contains(&format!("physdemo target pid {} ", target.pid())),
            "{}",
            stdout_of(&out)
        );
    }
}
