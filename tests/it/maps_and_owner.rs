// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo maps` and `physdemo owner` against the real kernel: page lists compared with the
//! kernel's own `page-types -L`, run grouping checked against independent pagemap reads, and
//! a page shared by two processes after fork found in both.
//!
//! The page-types comparison needs the tool built from Debian's linux-source-6.1
//! (`demos/bench/build-page-types.sh`, cached under ~/.cache/physdemo/page-types); the test
//! builds it when missing and fails naming the prerequisite if it cannot.
//! PHYSDEMO_SKIP_PAGE_TYPES=1 skips that one comparison, loudly (`common::skip_requested`: never
//! in CI, and repeated at the end of demos/test).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::common::{
    independent_pfn, page_size, physdemo, require_root, skip_requested, stderr_of, stdout_of,
};
use physdemo::kernel::kpageflags::KPAGEFLAG_NAMES;
use serde_json::Value;

/// A python3 process with `pages` private anonymous pages touched, and (if `fork`) a shared
/// anonymous page written before fork plus a private page its child rewrote after it.
/// Prints one JSON line; both processes are killed on drop.
struct Sleeper {
    child: Child,
    info: Value,
}

const SLEEPER: &str = r#"
import ctypes, json, mmap, os, sys, time
pages, do_fork = int(sys.argv[1]), sys.argv[2] == "1"
page = mmap.PAGESIZE
priv = mmap.mmap(-1, pages * page, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
for off in range(0, pages * page, page):
    priv[off] = 1
addr = lambda m: ctypes.addressof(ctypes.c_char.from_buffer(m))
info = {"pid": os.getpid(), "private": addr(priv), "pages": pages}
if do_fork:
    shared = mmap.mmap(-1, page, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
    shared[0:8] = b"physdemo"
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        priv[0] = 2          # copy-on-write: the child's first private page is its own
        assert shared[0:8] == b"physdemo"  # fork copies no PTEs of shared mappings: fault it in
        os.write(w, b"x")
        while True:
            time.sleep(60)
    os.read(r, 1)
    info.update(child=child, shared=addr(shared))
print(json.dumps(info), flush=True)
while True:
    time.sleep(60)
"#;

impl Sleeper {
    fn start(pages: u64, fork: bool) -> Sleeper {
        let mut child = Command::new("python3")
            .args([
                "-c",
                SLEEPER,
                &pages.to_string(),
                if fork { "1" } else { "0" },
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 is needed for these tests");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("sleeper line");
        let info: Value = serde_json::from_str(&line).expect("sleeper JSON");
        // Let per-CPU LRU batches drain so flags settle.
        std::thread::sleep(std::time::Duration::from_millis(300));
        Sleeper { child, info }
    }

    fn pid(&self) -> i32 {
        self.info["pid"].as_i64().expect("pid") as i32
    }

    fn field(&self, name: &str) -> u64 {
        self.info[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no {name}"))
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        if let Some(child) = self.info["child"].as_i64() {
            let _ = Command::new("kill").arg(child.to_string()).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_ok(args: &[&str], envs: &[(&str, &str)]) -> String {
    let output = physdemo()
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .expect("run physdemo");
    assert!(
        output.status.success(),
        "physdemo {args:?} failed: {}",
        stderr_of(&output)
    );
    stdout_of(&output)
}

fn hex(text: &str) -> u64 {
    u64::from_str_radix(text.trim_start_matches("0x"), 16)
        .unwrap_or_else(|_| panic!("not hex: {text}"))
}

/// page-types -L's flag string position → kpageflags bit (tools/vm/page-types.c in 6.1
/// prints one character per *named* bit: 0-26, 32-41, 47-51, 61-63).
fn page_types_bit(position: usize) -> u32 {
    let p = position as u32;
    match p {
        0..=26 => p,
        27..=36 => p - 27 + 32,
        37..=41 => p - 37 + 47,
        _ => p - 42 + 61,
    }
}

/// What page-types shows without -r: kernel-hacking bits hidden, compound bits only on
/// hugetlb pages.
fn well_known(mut flags: u64) -> u64 {
    flags &= !(0xffff << 32);
    let compound = 1 << 15 | 1 << 16;
    if flags & compound != 0 && flags & 1 << 17 == 0 {
        flags &= !compound;
    }
    flags
}

fn bits_of_names(names: &str) -> u64 {
    names
        .split(',')
        .filter(|n| *n != "-")
        .map(|name| {
            let bit = KPAGEFLAG_NAMES
                .iter()
                .find(|(_, n)| *n == name)
                .map(|(b, _)| *b)
                .unwrap_or_else(|| panic!("unknown flag name {name}"));
            1u64 << bit
        })
        .fold(0, |a, b| a | b)
}

/// Finds (or builds) page-types; `None` only when PHYSDEMO_SKIP_PAGE_TYPES=1.
fn page_types() -> Option<String> {
    if skip_requested(
        "PHYSDEMO_SKIP_PAGE_TYPES",
        "maps --pages compared with the kernel's page-types -L",
    ) {
        return None;
    }
    if let Ok(path) = std::env::var("PHYSDEMO_PAGE_TYPES") {
        return Some(path);
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/demos/bench/build-page-types.sh"
    );
    let output = Command::new("bash")
        .arg(script)
        .output()
        .expect("running demos/bench/build-page-types.sh");
    assert!(
        output.status.success(),
        "missing prerequisite: the kernel's page-types tool, built from Debian's \
         linux-source-6.1 (/usr/src/linux-source-6.1.tar.xz). Build it with \
         `demos/bench/build-page-types.sh` (after `apt-get install linux-source-6.1 make gcc \
         xz-utils`), or set PHYSDEMO_SKIP_PAGE_TYPES=1 to skip this comparison. The build \
         said: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

#[test]
fn maps_pages_agrees_with_page_types_on_pfns_and_flags() {
    require_root();
    let Some(page_types) = page_types() else {
        return;
    };
    let sleeper = Sleeper::start(2048, false);
    let pid = sleeper.pid().to_string();

    let theirs = Command::new(&page_types)
        .args(["-p", &pid, "-L", "-N"])
        .output()
        .expect("running page-types");
    let ours = run_ok(&["maps", &pid, "--pages"], &[]);
    assert!(theirs.status.success(), "page-types failed");

    // page-types: "voffset\toffset\tflags" per page, voffset = virtual page number.
    let mut expected: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for line in String::from_utf8_lossy(&theirs.stdout).lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != 3 || fields[2].len() != 45 {
            continue;
        }
        let (Ok(vpn), Ok(pfn)) = (
            u64::from_str_radix(fields[0], 16),
            u64::from_str_radix(fields[1], 16),
        ) else {
            continue;
        };
        let flags = fields[2]
            .chars()
            .enumerate()
            .filter(|(_, c)| *c != '_')
            .fold(0u64, |acc, (i, _)| acc | 1 << page_types_bit(i));
        expected.insert(vpn, (pfn, flags));
    }
    let mut actual: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for line in ours.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 6, "bad --pages line: {line}");
        if fields[1].starts_with("swap:") {
            continue;
        }
        let vpn = hex(fields[0]) / page_size();
        assert_eq!(hex(fields[2]), hex(fields[1]) * page_size(), "{line}");
        actual.insert(vpn, (hex(fields[1]), bits_of_names(fields[5])));
    }
    assert!(
        expected.len() >= 2048,
        "page-types listed only {} pages",
        expected.len()
    );
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        actual.keys().collect::<Vec<_>>(),
        "the two tools list different virtual pages"
    );
    // Bits that change from one moment to the next (the two reads are not simultaneous).
    let volatile: u64 = [2u32, 4, 5, 6, 8, 9, 25].iter().fold(0, |a, b| a | 1 << b);
    let mut volatile_differences = 0;
    for (vpn, (pfn, flags)) in &expected {
        let (our_pfn, our_flags) = actual[vpn];
        assert_eq!(*pfn, our_pfn, "PFN of page {vpn:#x}");
        let ours = well_known(our_flags);
        assert_eq!(
            flags & !volatile,
            ours & !volatile,
            "stable flags of page {vpn:#x} (page-types {flags:#x}, physdemo {ours:#x})"
        );
        volatile_differences += usize::from(flags & volatile != ours & volatile);
    }
    assert!(
        volatile_differences * 10 < expected.len(),
        "{volatile_differences} of {} pages differ in referenced/lru/active/idle flags",
        expected.len()
    );
}

/// Per mapping of `pid` (start address): pages, resident, swapped, not present, and physical
/// runs, from /proc/<pid>/maps and /proc/<pid>/pagemap read with plain std I/O (the kernel's
/// Documentation/admin-guide/mm/pagemap.rst: bit 63 present, 62 swapped, 0-54 the PFN). A
/// run is a stretch of present pages whose frames follow one another. Mappings above the
/// user address space (the vsyscall page) have no pagemap entries and are left out.
fn independent_counts(pid: i32) -> Vec<(u64, [u64; 5])> {
    use std::io::{Read, Seek, SeekFrom};
    let page = page_size();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
    let mut pagemap = std::fs::File::open(format!("/proc/{pid}/pagemap")).expect("pagemap");
    let mut counts = Vec::new();
    for line in maps.lines() {
        let range = line.split_whitespace().next().expect("a range");
        let (start, end) = range.split_once('-').expect("start-end");
        let (start, end) = (hex(start), hex(end));
        if start >= 0xffff_8000_0000_0000 {
            continue; // [vsyscall]
        }
        let pages = (end - start) / page;
        let mut words = vec![0u8; pages as usize * 8];
        pagemap
            .seek(SeekFrom::Start(start / page * 8))
            .expect("seek");
        pagemap.read_exact(&mut words).expect("read pagemap");
        let (mut resident, mut swapped, mut runs) = (0, 0, 0);
        let mut last: Option<(u64, u64)> = None;
        for (i, word) in words.chunks_exact(8).enumerate() {
            let entry = u64::from_ne_bytes(word.try_into().expect("8 bytes"));
            let (vpn, pfn) = (i as u64, entry & ((1 << 55) - 1));
            if entry >> 63 == 1 {
                resident += 1;
                if last != Some((vpn.wrapping_sub(1), pfn.wrapping_sub(1))) {
                    runs += 1;
                }
                last = Some((vpn, pfn));
            } else {
                swapped += (entry >> 62) & 1;
                last = None;
            }
        }
        counts.push((
            start,
            [pages, resident, swapped, pages - resident - swapped, runs],
        ));
    }
    counts
}

#[test]
fn maps_groups_runs_and_counts_like_an_independent_read() {
    require_root();
    let sleeper = Sleeper::start(512, false);
    let pid = sleeper.pid().to_string();
    let base = sleeper.field("private");
    let page = page_size();
    let json: Value = serde_json::from_str(&run_ok(
        &["maps", &pid, "--json", "--mapping", &format!("{base:#x}")],
        &[],
    ))
    .expect("maps --json");
    let mapping = &json["mappings"][0];
    assert_eq!(json["mappings"].as_array().map(Vec::len), Some(1));
    let start = hex(mapping["selected_start"].as_str().expect("start"));
    assert!(start <= base);
    assert_eq!(mapping["resident"].as_u64(), Some(512));
    assert_eq!(mapping["swapped"].as_u64(), Some(0));
    // Every run maps consecutive pages to consecutive frames, as pagemap says page by page.
    let mut covered = 0;
    for run in mapping["frame_runs"].as_array().expect("runs") {
        let (v, p) = (
            hex(run["vaddr_start"].as_str().expect("v")),
            hex(run["paddr_start"].as_str().expect("p")),
        );
        let pages = run["pages"].as_u64().expect("pages");
        for i in 0..pages {
            assert_eq!(
                independent_pfn(sleeper.pid(), v + i * page),
                p / page + i,
                "page {i} of the run at {v:#x}"
            );
        }
        covered += pages;
    }
    assert_eq!(covered, 512);
    // And the runs are maximal: no run continues the one before it, virtually and physically.
    let runs: Vec<(u64, u64, u64)> = mapping["frame_runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| {
            (
                hex(r["vaddr_start"].as_str().expect("v")),
                hex(r["paddr_start"].as_str().expect("p")),
                r["pages"].as_u64().expect("pages"),
            )
        })
        .collect();
    for pair in runs.windows(2) {
        let ((v0, p0, n0), (v1, p1, _)) = (pair[0], pair[1]);
        assert!(
            !(v1 == v0 + n0 * page && p1 == p0 + n0 * page),
            "runs at {v0:#x} and {v1:#x} should be one"
        );
    }
    assert_eq!(mapping["runs"].as_u64().map(|r| r as usize), {
        mapping["frame_runs"].as_array().map(Vec::len)
    });

    // PAGEMAP_SCAN (where the kernel has it) and the plain-read fallback both give, mapping by
    // mapping, the counts an independent read of /proc/<pid>/maps and pagemap gives.
    let independent = independent_counts(sleeper.pid());
    let scanned: Value =
        serde_json::from_str(&run_ok(&["maps", &pid, "--json"], &[])).expect("maps --json");
    let fallback: Value = serde_json::from_str(&run_ok(
        &["maps", &pid, "--json"],
        &[("PHYSDEMO_NO_PAGEMAP_SCAN", "1")],
    ))
    .expect("maps --json");
    assert_eq!(fallback["pagemap_scan"], false);
    eprintln!("PAGEMAP_SCAN used: {}", scanned["pagemap_scan"]);
    for (path, report) in [("PAGEMAP_SCAN", &scanned), ("plain reads", &fallback)] {
        let mappings = report["mappings"].as_array().expect("mappings");
        let counted: Vec<(u64, [u64; 5])> = mappings
            .iter()
            .filter(|m| m["outside_pagemap"].as_u64() == Some(0))
            .map(|m| {
                let n = |k: &str| m[k].as_u64().unwrap_or_else(|| panic!("{k}"));
                (
                    hex(m["start"].as_str().expect("start")),
                    [
                        n("pages"),
                        n("resident"),
                        n("swapped"),
                        n("not_present"),
                        n("runs"),
                    ],
                )
            })
            .collect();
        assert_eq!(counted, independent, "{path} against an independent read");
    }

    // Filters: nothing is swapped; every private page is anonymous.
    let swapped = run_ok(&["maps", &pid, "--pages", "--flag", "swapped"], &[]);
    assert!(swapped.lines().all(|l| l.starts_with('#')), "{swapped}");
    let anon = run_ok(
        &[
            "maps",
            &pid,
            "--pages",
            "--flag",
            "anonymous",
            "--mapping",
            &format!("{base:#x}"),
        ],
        &[],
    );
    assert_eq!(anon.lines().filter(|l| !l.starts_with('#')).count(), 512);
}

#[test]
fn owner_finds_both_processes_sharing_a_page_after_fork() {
    require_root();
    let sleeper = Sleeper::start(4, true);
    let (parent, child) = (sleeper.pid(), sleeper.field("child") as i32);
    let shared = sleeper.field("shared");
    let page = page_size();
    let pfn = independent_pfn(parent, shared);
    assert_eq!(independent_pfn(child, shared), pfn, "the shared page");

    let json: Value = serde_json::from_str(&run_ok(
        &["owner", &format!("{:#x}", pfn * page + 0x10), "--json"],
        &[],
    ))
    .expect("owner --json");
    assert_eq!(json["map_count"].as_u64(), Some(2), "{json}");
    let mut owners: Vec<(i64, String)> = json["owners"]
        .as_array()
        .expect("owners")
        .iter()
        .map(|o| {
            (
                o["pid"].as_i64().expect("pid"),
                o["vaddr"].as_str().expect("vaddr").to_string(),
            )
        })
        .collect();
    owners.sort();
    let byte = format!("{:#x}", shared + 0x10);
    let mut want = vec![(i64::from(parent), byte.clone()), (i64::from(child), byte)];
    want.sort();
    assert_eq!(owners, want);

    // The child rewrote its first private page after fork: the parent's copy is its own.
    let private = sleeper.field("private");
    let own = independent_pfn(parent, private);
    let text = run_ok(&["owner", "--pfn", &format!("{own:#x}")], &[]);
    assert!(
        text.contains(&format!("{private:#x}")) && text.contains(&parent.to_string()),
        "{text}"
    );
    assert!(
        text.contains("1 mapping found (kpagecount 1: all accounted for"),
        "{text}"
    );
    // The second private page is still shared copy-on-write by both.
    let cow = independent_pfn(parent, private + page);
    let text = run_ok(&["owner", "--pfn", &format!("{cow:#x}")], &[]);
    assert!(text.contains("2 mappings found"), "{text}");
}

#[test]
fn owner_rejects_frames_beyond_ram() {
    require_root();
    let output = physdemo()
        .args(["owner", "--pfn", "0xfffffffffff"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(3), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("beyond the end of RAM"));
}

/// Runs physdemo (as `nobody` when asked, through util-linux's setpriv).
fn run_as(nobody: bool, args: &[&str]) -> std::process::Output {
    let mut cmd = if nobody {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_physdemo"));
        cmd
    } else {
        Command::new(env!("CARGO_BIN_EXE_physdemo"))
    };
    cmd.args(args).output().expect("run physdemo")
}

#[test]
fn owner_gives_the_errors_maps_gives_for_the_processes_it_is_told_to_scan() {
    require_root();
    let sleeper = Sleeper::start(1, false);
    let pid = sleeper.pid().to_string();
    let pfn = format!(
        "{:#x}",
        independent_pfn(sleeper.pid(), sleeper.field("private"))
    );
    // pid_max is at most 2^22: this pid cannot exist; pid 2 is kthreadd, a kernel thread;
    // as nobody, a root process's memory map cannot be read.
    let cases = [
        (false, "4194304", 3, "no process with pid 4194304"),
        (false, "2", 3, "is a kernel thread"),
        (true, pid.as_str(), 4, "permission denied"),
    ];
    for (nobody, victim, code, needle) in cases {
        let maps = run_as(nobody, &["maps", victim]);
        let owner = run_as(nobody, &["owner", "--pfn", &pfn, "--pid", victim]);
        assert_eq!(maps.status.code(), Some(code), "{}", stderr_of(&maps));
        assert_eq!(owner.status.code(), Some(code), "{}", stderr_of(&owner));
        assert!(stderr_of(&owner).contains(needle), "{}", stderr_of(&owner));
        assert_eq!(stderr_of(&owner), stderr_of(&maps), "owner --pid {victim}");
        assert!(owner.stdout.is_empty());
    }
    // A process named twice is scanned once, and its page is found once.
    let text = run_ok(&["owner", "--pfn", &pfn, "--pid", &pid, "--pid", &pid], &[]);
    assert!(
        text.contains("1 mapping found (kpagecount 1: all accounted for; scanned 1 process)"),
        "{text}"
    );
}

#[test]
fn owner_says_the_same_for_every_frame_beyond_ram() {
    require_root();
    for pfn in ["0xfffffffffffff", "0xffffffffffffffff"] {
        let out = physdemo().args(["owner", "--pfn", pfn]).output().unwrap();
        crate::common::assert_exit(&out, 3, "is beyond the end of RAM");
        assert!(
            stderr_of(&out).contains("see /proc/iomem"),
            "{}",
            stderr_of(&out)
        );
    }
}

#[test]
fn maps_and_inspect_give_one_meaning_to_an_address_in_no_mapping() {
    require_root();
    let sleeper = Sleeper::start(1, false);
    let pid = sleeper.pid().to_string();
    let maps = physdemo()
        .args(["maps", &pid, "--mapping", "0xffffffffffffffff"])
        .output()
        .unwrap();
    let inspect = physdemo()
        .args(["inspect", &pid, "0xffffffffffffffff"])
        .output()
        .unwrap();
    crate::common::assert_exit(&maps, 3, "is in no mapping of pid");
    crate::common::assert_exit(&inspect, 3, "is in no mapping of pid");
    assert_eq!(stderr_of(&maps), stderr_of(&inspect));
    let by_name = physdemo()
        .args(["maps", &pid, "--mapping", "[no such mapping]"])
        .output()
        .unwrap();
    crate::common::assert_exit(&by_name, 3, "matches the --mapping filters");
}

#[test]
fn a_range_copied_from_proc_maps_or_maps_itself_selects_that_mapping() {
    require_root();
    let sleeper = Sleeper::start(1, false);
    let pid = sleeper.pid().to_string();
    let proc_maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    // The first mapping, as the kernel prints it: hex without 0x.
    let first = proc_maps.split_whitespace().next().unwrap().to_string();
    let out = run_ok(&["maps", &pid, "--mapping", &first], &[]);
    let header = out.lines().next().unwrap();
    assert!(
        header.starts_with(&format!("{first} ")),
        "--mapping {first} printed {header:?}"
    );
    let mapping_lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with(' ') && !l.starts_with("total:"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(mapping_lines(&out).len(), 1, "one mapping: {out}");
    assert!(out.contains("\ntotal: 1 mappings,"), "{out}");
    // A range from maps' own output: the last mapping with resident frames.
    let all = run_ok(&["maps", &pid], &[]);
    let last = mapping_lines(&all)
        .last()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let again = run_ok(&["maps", &pid, "--mapping", &last], &[]);
    assert!(again.starts_with(&format!("{last} ")), "{again}");
    // The same range with 0x on both ends is the same filter.
    let (a, b) = last.split_once('-').unwrap();
    let prefixed = run_ok(&["maps", &pid, "--mapping", &format!("0x{a}-0x{b}")], &[]);
    assert_eq!(prefixed, again);
}

#[test]
fn owner_of_an_address_in_no_ram_says_so_and_names_its_region() {
    require_root();
    // /proc/iomem read here: a top-level range that is not System RAM, below RAM's end.
    let iomem = std::fs::read_to_string("/proc/iomem").unwrap();
    let top: Vec<(u64, u64, String)> = iomem
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| {
            let (range, name) = l.split_once(" : ")?;
            let (a, b) = range.split_once('-')?;
            Some((hex(a), hex(b), name.to_string()))
        })
        .collect();
    let ram_end = top
        .iter()
        .filter(|(_, _, n)| n == "System RAM")
        .map(|&(_, end, _)| end)
        .max()
        .unwrap();
    let page = page_size();
    let (start, end, name) = top
        .iter()
        .find(|(start, end, n)| {
            n != "System RAM" && *start >= 0x10_0000 && *end < ram_end && end - start >= page
        })
        .expect("a range that is not RAM between RAM ranges")
        .clone();
    let paddr = format!("{:#x}", start.div_ceil(page) * page);
    let out = run_ok(&["owner", &paddr], &[]);
    let want = format!("not RAM: {paddr} is in {name} [{start:#x}-{end:#x}], not System RAM");
    assert!(
        out.lines().any(|l| l.starts_with(&want)),
        "want {want:?} in {out}"
    );
    let json: Value = serde_json::from_str(&run_ok(&["owner", &paddr, "--json"], &[])).unwrap();
    assert_eq!(json["ram"], Value::Bool(false));
    assert_eq!(json["region"], format!("{name} [{start:#x}-{end:#x}]"));
    // And a page of RAM says nothing of the kind.
    let sleeper = Sleeper::start(1, false);
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", sleeper.pid())).unwrap();
    let vaddr = hex(maps.split('-').next().unwrap());
    let pfn = independent_pfn(sleeper.pid(), vaddr);
    let ram = run_ok(&["owner", "--pfn", &format!("{pfn:#x}"), "--json"], &[]);
    let ram: Value = serde_json::from_str(&ram).unwrap();
    assert_eq!(ram["ram"], Value::Bool(true), "{ram}");
}

#[test]
fn the_vsyscall_page_is_outside_pagemap_and_every_report_says_so() {
    require_root();
    let sleeper = Sleeper::start(1, false);
    let pid = sleeper.pid().to_string();
    let maps_text = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let line = maps_text
        .lines()
        .find(|l| l.ends_with("[vsyscall]"))
        .expect("this test needs the vsyscall page (vsyscall=xonly, the x86-64 default)");
    let start = hex(line.split('-').next().unwrap());
    // Independently: pagemap returns no bytes at all for that page.
    let pagemap = std::fs::File::open(format!("/proc/{pid}/pagemap")).unwrap();
    let mut word = [0u8; 8];
    let got =
        std::os::unix::fs::FileExt::read_at(&pagemap, &mut word, start / page_size() * 8).unwrap();
    assert_eq!(got, 0, "pagemap has an entry for the vsyscall page");

    let addr = format!("{start:#x}");
    let inspect = physdemo().args(["inspect", &pid, &addr]).output().unwrap();
    crate::common::assert_exit(
        &inspect,
        3,
        "has no pagemap entry: it is in the vsyscall page",
    );
    let report = stdout_of(&inspect);
    assert!(!report.contains("entry 0x0000000000000000"), "{report}");
    assert!(!report.contains("never touched"), "{report}");
    assert!(
        report.contains("pagemap   no entry: the vsyscall page"),
        "{report}"
    );

    let summary = run_ok(&["maps", &pid, "--mapping", "[vsyscall]"], &[]);
    assert!(
        summary.contains("not present 0 ")
            && summary.contains("outside pagemap 1 (the vsyscall page"),
        "{summary}"
    );
    let pages = run_ok(&["maps", &pid, "--mapping", "[vsyscall]", "--pages"], &[]);
    assert_eq!(pages.lines().filter(|l| !l.starts_with('#')).count(), 0);
    assert!(pages.contains("[vsyscall]  (the vsyscall page"), "{pages}");
    assert!(pages.contains("0 pages listed") && pages.contains("1 outside pagemap, not listed"));
    let json: Value = serde_json::from_str(&run_ok(
        &["maps", &pid, "--mapping", "[vsyscall]", "--json"],
        &[],
    ))
    .unwrap();
    assert_eq!(json["total"]["outside_pagemap"], 1);
    assert_eq!(json["total"]["not_present"], 0);
}

/// Whether the running kernel has the PAGEMAP_SCAN ioctl: Linux 6.7 and later.
fn kernel_has_pagemap_scan() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
    let mut parts = release
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (6, 7)
}

/// `physdemo maps PID --json` under strace (`-y`: each fd with its path): the JSON's
/// `pagemap_scan`, the PAGEMAP_SCAN ioctls on the pagemap file and the plain reads of it.
fn maps_under_strace(pid: i32, envs: &[(&str, &str)]) -> (Value, usize, usize) {
    let log = tempfile::NamedTempFile::new().expect("a strace log");
    let output = Command::new("strace")
        .args(["-f", "-y", "-qq", "-e", "trace=ioctl,pread64,read", "-o"])
        .arg(log.path())
        .arg(env!("CARGO_BIN_EXE_physdemo"))
        .args(["maps", &pid.to_string(), "--json"])
        .env_remove("NO_COLOR")
        .envs(envs.iter().copied())
        .output()
        .expect("strace: run `sudo demos/setup` (it installs strace)");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let json: Value = serde_json::from_str(&stdout_of(&output)).expect("maps --json");
    let trace = std::fs::read_to_string(log.path()).expect("strace's log");
    let pagemap = format!("</proc/{pid}/pagemap>");
    // PAGEMAP_SCAN is _IOWR('f', 16, struct pm_scan_arg): strace before 6.7 prints it raw.
    let scans = trace
        .lines()
        .filter(|l| l.contains(&pagemap) && l.contains("ioctl("))
        .filter(|l| l.contains("PAGEMAP_SCAN") || l.contains("0x66, 0x10, 0x60)"))
        .count();
    let reads = trace
        .lines()
        .filter(|l| l.contains(&pagemap) && (l.contains("pread64(") || l.contains("read(")))
        .count();
    (json, scans, reads)
}

/// PAGEMAP_SCAN is used where the kernel has it, and never where it was turned off, as
/// strace sees the system calls (not physdemo's word): a broken detection cannot pass.
/// The 6.1 VM, which lacks it, checks the fallback (demos/stress/huge.sh).
#[test]
fn maps_uses_pagemap_scan_where_the_kernel_has_it_as_strace_sees() {
    require_root();
    // 1 GiB reserved, only its last page touched: more than one 64 Ki-page batch that
    // begins empty, which maps skips with PAGEMAP_SCAN where it can.
    let mut sparse = Command::new("python3")
        .args([
            "-c",
            "import mmap, os, time\n\
             m = mmap.mmap(-1, 1 << 30, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x4000)\n\
             m[(1 << 30) - 1] = 1\n\
             print(os.getpid(), flush=True)\n\
             time.sleep(600)\n",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    BufReader::new(sparse.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("the pid line");
    let pid: i32 = line.trim().parse().expect("a pid");
    let has = kernel_has_pagemap_scan();
    let (json, scans, reads) = maps_under_strace(pid, &[]);
    // Turned off: no ioctl, plain reads of pagemap instead (the positive control: strace
    // sees the file's system calls in this very run).
    let (off_json, off_scans, off_reads) =
        maps_under_strace(pid, &[("PHYSDEMO_NO_PAGEMAP_SCAN", "1")]);
    let _ = sparse.kill();
    let _ = sparse.wait();
    eprintln!(
        "strace: kernel has PAGEMAP_SCAN: {has}; with it {scans} ioctls and {reads} reads of pagemap, turned off {off_scans} ioctls and {off_reads} reads"
    );
    assert_eq!(json["pagemap_scan"], has, "the JSON's pagemap_scan");
    if has {
        // the probe, then at least one scan of the sparse mapping, which saves reads
        assert!(
            scans >= 2,
            "kernel with PAGEMAP_SCAN, yet {scans} such ioctls"
        );
        assert!(
            reads < off_reads,
            "PAGEMAP_SCAN saved no read: {reads} vs {off_reads}"
        );
    } else {
        assert_eq!(scans, 0, "PAGEMAP_SCAN ioctls on a kernel without it");
    }
    assert_eq!(off_json["pagemap_scan"], false);
    assert_eq!(off_scans, 0, "PAGEMAP_SCAN used though turned off");
    assert!(off_reads > 0, "no plain read of pagemap seen");
}
