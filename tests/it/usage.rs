// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo usage` against the kernel's own accounting: for processes sharing pages every way
//! Linux shares them (shared libraries, a shared file mapping, fork-shared anonymous pages,
//! KSM-merged pages, transparent huge pages shared after fork), each process's RSS must equal
//! the `Rss:` line of its /proc/PID/smaps_rollup, its PSS be within 0.5 % (or one page) of
//! `Pss:`, and its USS equal `Private_Clean:` + `Private_Dirty:`, read right after.
//!
//! The KSM part turns /sys/kernel/mm/ksm/run on and puts back the value it found (a guard
//! restores it even when the test fails).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{physdemo, require_root, stderr_of, stdout_of};

/// A parent with shared everything, and `CHILDREN` forked children; prints the pids as JSON.
const WORKLOAD: &str = r#"
import ctypes, json, mmap, os, sys, tempfile, time
libc = ctypes.CDLL(None, use_errno=True)
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
page = mmap.PAGESIZE
MADV_MERGEABLE, MADV_HUGEPAGE = 12, 14
addr = lambda m: ctypes.addressof(ctypes.c_char.from_buffer(m))
# Fork-shared anonymous pages, distinct contents.
anon = mmap.mmap(-1, 64 * page, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
for i in range(64):
    anon[i * page:i * page + 8] = i.to_bytes(8, "little") + b""
# KSM: 256 identical non-zero pages, mergeable.
ksm = mmap.mmap(-1, 256 * page, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
ksm[:] = b"\x5a" * (256 * page)
assert libc.madvise(addr(ksm), 256 * page, MADV_MERGEABLE) == 0, ctypes.get_errno()
# A THP: 4 MiB aligned to 2 MiB inside 6 MiB, MADV_HUGEPAGE, written.
huge = mmap.mmap(-1, 6 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
base = (addr(huge) + (2 << 20) - 1) & ~((2 << 20) - 1)
off = base - addr(huge)
assert libc.madvise(base, 4 << 20, MADV_HUGEPAGE) == 0, ctypes.get_errno()
for o in range(off, off + (4 << 20), page):
    huge[o] = 7
# A shared file mapping.
f = tempfile.TemporaryFile()
f.truncate(32 * page)
shared = mmap.mmap(f.fileno(), 32 * page, flags=mmap.MAP_SHARED)
for i in range(32):
    shared[i * page] = 1
children = []
for n in range(int(sys.argv[1])):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        if n == 0:
            anon[0] = 9      # one copy-on-write page of its own
        os.write(w, b"x")
        while True:
            time.sleep(60)
    os.read(r, 1)
    children.append(pid)
print(json.dumps({"pid": os.getpid(), "children": children}), flush=True)
while True:
    time.sleep(60)
"#;

const CHILDREN: usize = 3;

/// The workload's processes, killed on drop.
struct Workload {
    child: Child,
    pids: Vec<i32>,
}

impl Workload {
    fn start() -> Workload {
        let mut child = Command::new("python3")
            .args(["-c", WORKLOAD, &CHILDREN.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 is needed for these tests");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("workload line");
        let info: Value = serde_json::from_str(&line).expect("workload JSON");
        let mut pids = vec![info["pid"].as_i64().expect("pid") as i32];
        pids.extend(
            info["children"]
                .as_array()
                .expect("children")
                .iter()
                .map(|c| c.as_i64().expect("child pid") as i32),
        );
        Workload { child, pids }
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        for pid in &self.pids[1..] {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Turns KSM on; puts back what /sys/kernel/mm/ksm/run held when dropped.
struct KsmOn {
    before: String,
}

const KSM_RUN: &str = "/sys/kernel/mm/ksm/run";

impl KsmOn {
    fn start() -> KsmOn {
        let before = std::fs::read_to_string(KSM_RUN)
            .expect("this test needs KSM (CONFIG_KSM): /sys/kernel/mm/ksm/run");
        std::fs::write(KSM_RUN, "1").expect("turning KSM on");
        KsmOn {
            before: before.trim().to_string(),
        }
    }
}

impl Drop for KsmOn {
    fn drop(&mut self) {
        let _ = std::fs::write(KSM_RUN, &self.before);
    }
}

/// The `kB` fields of a smaps_rollup, in bytes.
fn rollup(pid: i32) -> std::collections::HashMap<String, u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).expect("rollup");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            let kb: u64 = rest.split_whitespace().next()?.parse().ok()?;
            Some((name.to_string(), kb * 1024))
        })
        .collect()
}

/// Runs `usage --json` for the pids; every process's line compared with its rollup read
/// right after. Returns the mismatches (empty when all agree).
fn compare(pids: &[i32]) -> Vec<String> {
    let mut args = vec!["usage".to_string(), "--json".to_string()];
    for pid in pids {
        args.extend(["--pid".to_string(), pid.to_string()]);
    }
    let output = physdemo().args(&args).output().expect("run physdemo");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let json: Value = serde_json::from_str(&stdout_of(&output)).expect("usage JSON");
    let rollups: Vec<_> = pids.iter().map(|&pid| rollup(pid)).collect();
    assert_eq!(json["pss_computed"], true);
    let lines = json["processes"].as_array().expect("processes");
    assert_eq!(lines.len(), pids.len(), "one line a process: {json}");
    let mut wrong = Vec::new();
    for (pid, theirs) in pids.iter().zip(&rollups) {
        let ours = lines
            .iter()
            .find(|p| p["pid"] == *pid)
            .unwrap_or_else(|| panic!("pid {pid} missing from {json}"));
        let field = |name: &str| ours[name].as_u64().expect(name);
        let (rss, pss, uss) = (field("rss"), field("pss"), field("uss"));
        let their_pss = theirs["Pss"];
        let their_uss = theirs["Private_Clean"] + theirs["Private_Dirty"];
        let slack = (their_pss / 200).max(4096);
        // smaps prints kB rounded down: compare at that precision.
        if rss / 1024 != theirs["Rss"] / 1024
            || pss.abs_diff(their_pss) > slack
            || uss / 1024 != their_uss / 1024
        {
            wrong.push(format!(
                "pid {pid}: rss {rss} vs {}, pss {pss} vs {their_pss}, uss {uss} vs {their_uss}",
                theirs["Rss"]
            ));
        }
    }
    wrong
}

#[test]
fn usage_matches_smaps_rollup_for_shared_libs_fork_ksm_and_thp() {
    require_root();
    let _ksm = KsmOn::start();
    let workload = Workload::start();
    // Wait for KSM to merge the mergeable pages and check the THP is there: the cases must
    // really be present, or the comparison proves nothing about them.
    let deadline = Instant::now() + Duration::from_secs(60);
    let least_merged = || workload.pids.iter().map(|&p| rollup(p)["KSM"]).min();
    while least_merged() < Some(200 * 4096) {
        assert!(
            Instant::now() < deadline,
            "KSM merged only {:?} bytes of a process in 60 s",
            least_merged()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for &pid in &workload.pids {
        let theirs = rollup(pid);
        assert!(theirs["AnonHugePages"] >= 2 << 20, "no THP in pid {pid}");
        assert!(theirs["KSM"] >= 200 * 4096, "no KSM pages in pid {pid}");
        assert!(
            theirs["Shared_Dirty"] > 0,
            "nothing fork-shared in pid {pid}"
        );
    }
    // Let KSM finish its pass (no page of ours changes any more), then compare; other
    // processes forking and exiting change the map counts of shared library pages between
    // the two reads, so a mismatch is retried twice before it fails.
    std::thread::sleep(Duration::from_millis(500));
    let mut wrong = Vec::new();
    for _ in 0..3 {
        wrong = compare(&workload.pids);
        if wrong.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        wrong.is_empty(),
        "usage disagrees with smaps_rollup: {wrong:#?}"
    );
}

#[test]
fn usage_by_mapping_counts_each_library_once_with_its_processes() {
    require_root();
    let workload = Workload::start();
    let mut args = vec![
        "usage".to_string(),
        "--by".into(),
        "mapping".into(),
        "--json".into(),
    ];
    for pid in &workload.pids {
        args.extend(["--pid".to_string(), pid.to_string()]);
    }
    let output = physdemo().args(&args).output().expect("run physdemo");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let json: Value = serde_json::from_str(&stdout_of(&output)).expect("JSON");
    let mappings = json["mappings"].as_array().expect("mappings");
    // Every workload process maps python's libc and has a heap and a stack.
    let libc = mappings
        .iter()
        .find(|m| m["mapping"].as_str().is_some_and(|n| n.contains("libc.so")))
        .unwrap_or_else(|| panic!("no libc in {json}"));
    assert_eq!(libc["processes"], workload.pids.len());
    for kind in ["[stack]", "[anon]"] {
        assert!(
            mappings.iter().any(|m| m["mapping"] == kind),
            "no {kind} in {json}"
        );
    }
    // The mappings add up to the processes.
    let sum = |field: &str| -> u64 { mappings.iter().map(|m| m[field].as_u64().unwrap()).sum() };
    assert_eq!(sum("rss"), json["total"]["rss"].as_u64().unwrap());
    assert_eq!(sum("uss"), json["total"]["uss"].as_u64().unwrap());
    let rss: u64 = workload.pids.iter().map(|&p| rollup(p)["Rss"]).sum();
    assert_eq!(
        sum("rss") / 4096,
        rss / 4096,
        "by mapping vs the rollups' Rss"
    );
}

#[test]
fn usage_without_root_says_in_one_line_what_it_cannot_compute() {
    let sleeper = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "sleep",
            "60",
        ])
        .spawn()
        .expect("setpriv");
    let pid = sleeper.id().to_string();
    std::thread::sleep(Duration::from_millis(200));
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_physdemo"))
        .args(["usage", "--json", "--pid", &pid])
        .output()
        .expect("run physdemo");
    let mut sleeper = sleeper;
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("PSS not computed") && stderr.contains("kpagecount"),
        "{stderr}"
    );
    let json: Value = serde_json::from_str(&stdout_of(&output)).expect("JSON");
    assert_eq!(json["pss_computed"], false);
    assert!(json["processes"][0]["pss"].is_null());
    assert!(json["processes"][0]["rss"].as_u64().unwrap() > 0);
}

#[test]
fn usage_gives_one_line_and_an_exit_code_for_each_bad_input() {
    use crate::common::assert_exit;
    assert_exit(
        &crate::common::run(&["usage", "--pid", "0"]),
        2,
        "pid 0 is not a process",
    );
    assert_exit(
        &crate::common::run(&["usage", "--user", "no-such-user-here"]),
        3,
        "no user named",
    );
    assert_exit(
        &crate::common::run(&["usage", "--pid", "2"]),
        3,
        "kernel thread",
    );
    assert_exit(
        &crate::common::run(&["usage", "--sort", "size"]),
        2,
        "--sort",
    );
}
