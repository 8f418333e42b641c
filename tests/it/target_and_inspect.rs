// SPDX-License-Identifier: MIT OR Apache-2.0
//! End-to-end tests of `target` and `inspect` on this host's real /proc.
//!
//! Every physical address is checked against an independent read of /proc/<pid>/pagemap,
//! every watch-loop event against the exact value written through /proc/<pid>/mem, and
//! every bad input against its one-line message and exit code.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;
use serde_json::Value;

fn inspect_json(pid: i32, vaddr: u64) -> Value {
    let out = run(&[
        "inspect",
        &pid.to_string(),
        &format!("{vaddr:#x}"),
        "--json",
    ]);
    assert!(out.status.success(), "inspect failed: {}", stderr_of(&out));
    serde_json::from_str(&stdout_of(&out)).expect("inspect --json prints one JSON object")
}

fn check_placement(placement: &str, expected_path: impl Fn(&str) -> bool) {
    require_root();
    let target = Target::start(&["--where", placement]);
    let (pid, vaddr) = (target.pid(), target.vaddr());
    let json = inspect_json(pid, vaddr);

    let pfn = independent_pfn(pid, vaddr);
    let offset = vaddr % page_size();
    assert_eq!(
        hex(&json["pfn"]),
        pfn,
        "{placement}: PFN differs from pagemap"
    );
    assert_eq!(hex(&json["paddr"]), pfn * page_size() + offset);
    assert_eq!(json["present"], true);
    assert_eq!(
        hex(&target.ready["paddr"]),
        pfn * page_size() + offset,
        "target's own paddr"
    );
    let path = json["mapping"]["path"].as_str().unwrap();
    assert!(
        expected_path(path),
        "{placement}: variable in unexpected mapping {path}"
    );
    let start = hex(&json["mapping"]["start"]);
    let end = hex(&json["mapping"]["end"]);
    assert!(start <= vaddr && vaddr < end);
    assert!(json["mapping"]["perms"].as_str().unwrap().starts_with("rw"));

    // The frame is an ordinary, mapped, anonymous (private, written) 4 KiB page, mapped once.
    let flags = independent_kpageflags(pfn);
    let names: Vec<&str> = json["kpageflags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        flags & (1 << 11) != 0 && names.contains(&"mmap"),
        "{names:?}"
    );
    assert!(
        flags & (1 << 12) != 0 && names.contains(&"anonymous"),
        "{names:?}"
    );
    assert!(
        flags & (1 << 22) == 0 && !names.contains(&"thp"),
        "{names:?}"
    );
    assert_eq!(json["kpagecount"], 1);
    assert_eq!(json["pagemap"]["exclusive"], true);
}

#[test]
fn mmap_target_is_inspected_to_the_frame_pagemap_reports() {
    check_placement("mmap", |p| p == "[anonymous]");
}

#[test]
fn heap_target_lives_in_the_heap() {
    check_placement("heap", |p| p == "[heap]");
}

#[test]
fn stack_target_lives_on_the_stack() {
    check_placement("stack", |p| p == "[stack]");
}

#[test]
fn static_target_lives_in_the_binarys_data() {
    check_placement("static", |p| p.contains("physdemo"));
}

/// What the target's ready line and inspect say of a `--where thp|hugetlb` page, checked
/// against an independent pagemap and kpageflags read: the frame, the subpage (the variable
/// is 0x5040 bytes into a 2 MiB aligned block, so its frame is the head frame + 5 when the
/// block is one huge page), and the huge page kind only when kpageflags shows it. Then a
/// write through /proc/<pid>/mem, seen exactly by the target. Returns whether the frame is
/// a huge page of `kpf_bit`.
fn check_huge_placement(placement: &str, kpf_bit: u32, kind: &str, path: &str) -> bool {
    const HUGE: u64 = 2 << 20;
    let target = Target::start(&["--where", placement, "--value", "0x1111"]);
    let (pid, vaddr) = (target.pid(), target.vaddr());
    assert_eq!(
        vaddr % HUGE,
        0x5040,
        "{placement}: the variable's place in the block"
    );
    let json = inspect_json(pid, vaddr);
    let pfn = independent_pfn(pid, vaddr);
    assert_eq!(
        hex(&json["pfn"]),
        pfn,
        "{placement}: PFN differs from pagemap"
    );
    assert_eq!(
        hex(&target.ready["pfn"]),
        pfn,
        "{placement}: the target's own PFN"
    );
    assert_eq!(hex(&json["paddr"]), pfn * 4096 + 0x40);
    assert_eq!(json["mapping"]["path"], path, "{placement}");
    assert_eq!(target.ready["where"], placement);
    let huge = independent_kpageflags(pfn) & (1 << kpf_bit) != 0;
    let note = target.ready["huge_page_note"].as_str().unwrap().to_string();
    if huge {
        assert_eq!(
            pfn % 512,
            5,
            "{placement}: the variable's frame is subpage 5"
        );
        assert_eq!(json["huge_page"], kind);
        assert_eq!(target.ready["huge_page"], kind);
        let head = format!("subpage 5 of the huge page at frame {:#x}", pfn - 5);
        assert!(note.contains(&head), "{note}");
    } else {
        assert_eq!(json["huge_page"], Value::Null);
        assert_eq!(target.ready["huge_page"], Value::Null, "{note}");
        assert!(note.starts_with("NOT a huge page: "), "{note}");
    }
    let mem = OpenOptions::new()
        .write(true)
        .open(format!("/proc/{pid}/mem"))
        .unwrap();
    mem.write_all_at(&0x7ee7_0000_0000_0005u64.to_ne_bytes(), vaddr)
        .unwrap();
    let event = target.next_event(Duration::from_secs(5)).expect("a change");
    assert_eq!(event["event"], "change");
    assert_eq!(event["new"], "0x7ee7000000000005");
    huge
}

/// Where THP is enabled (`[always]` or `[madvise]`: the target asks with MADV_HUGEPAGE), the
/// target's page must be one, as kpageflags tells; where it is `[never]`, it must not be.
#[test]
fn thp_target_is_in_a_transparent_huge_page_where_thp_is_enabled() {
    require_root();
    let mode = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .expect("/sys/kernel/mm/transparent_hugepage/enabled (a kernel with THP)");
    let enabled = mode.contains("[always]") || mode.contains("[madvise]");
    assert!(
        enabled || mode.contains("[never]"),
        "unknown THP mode {mode:?}"
    );
    let huge = check_huge_placement("thp", 22, "transparent huge page (THP)", "[anonymous]");
    assert_eq!(
        huge,
        enabled,
        "THP mode {}: kpageflags says the target's frame is a THP: {huge}",
        mode.trim()
    );
}

/// The 2 MiB hugetlbfs pool's `nr_hugepages` and `free_hugepages`.
fn hugetlb_pool() -> (u64, u64) {
    let read = |name: &str| -> u64 {
        std::fs::read_to_string(format!("/sys/kernel/mm/hugepages/hugepages-2048kB/{name}"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    (read("nr_hugepages"), read("free_hugepages"))
}

/// Puts `nr_hugepages` back as it was, whatever happens.
struct RestoreHugepages(u64);

impl Drop for RestoreHugepages {
    fn drop(&mut self) {
        let path = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
        std::fs::write(path, self.0.to_string()).expect("restoring nr_hugepages");
    }
}

#[test]
fn hugetlb_target_needs_a_reserved_page_and_lives_in_it() {
    require_root();
    let (reserved, free) = hugetlb_pool();
    if free == 0 {
        assert_one_line_error(
            &["target", "--where", "hugetlb", "--timeout", "1"],
            5,
            "echo 1 > /proc/sys/vm/nr_hugepages",
        );
    }
    // One more page reserved for the test, and the pool put back as it was.
    let _restore = RestoreHugepages(reserved);
    std::fs::write(
        "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
        (reserved + 1).to_string(),
    )
    .unwrap();
    assert!(
        hugetlb_pool().1 >= 1,
        "the kernel reserved no hugetlbfs page"
    );
    let huge = check_huge_placement(
        "hugetlb",
        17,
        "hugetlbfs huge page",
        "/anon_hugepage (deleted)",
    );
    assert!(
        huge,
        "a MAP_HUGETLB page whose frame kpageflags does not call HUGE"
    );
}

#[test]
fn inspect_without_address_finds_the_targets_variable() {
    require_root();
    let target = Target::start(&[]);
    let out = run(&["inspect", &target.pid().to_string(), "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(hex(&json["vaddr"]), target.vaddr());
    assert_eq!(
        hex(&json["pfn"]),
        independent_pfn(target.pid(), target.vaddr())
    );
}

#[test]
fn human_inspect_shows_mapping_bits_and_the_physical_address() {
    require_root();
    let target = Target::start(&[]);
    let (pid, vaddr) = (target.pid(), target.vaddr());
    let out = run(&[
        "inspect",
        &pid.to_string(),
        &format!("{vaddr:#x}"),
        "--color",
        "never",
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    let pfn = independent_pfn(pid, vaddr);
    let paddr = pfn * page_size() + vaddr % page_size();
    assert!(text.contains(&format!("{paddr:#x}")), "{text}");
    assert!(
        text.contains("[anonymous]") && text.contains("PTE["),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour when told never: {text}");
    let coloured = run(&[
        "inspect",
        &pid.to_string(),
        &format!("{vaddr:#x}"),
        "--color",
        "always",
    ]);
    assert!(stdout_of(&coloured).contains('\x1b'));
    // decimal addresses work too
    let decimal = run(&["inspect", &pid.to_string(), &vaddr.to_string(), "--json"]);
    assert!(decimal.status.success());
}

#[test]
fn target_reports_a_change_written_through_proc_mem_exactly() {
    let target = Target::start(&["--value", "0x1111"]);
    let mem = OpenOptions::new()
        .write(true)
        .open(format!("/proc/{}/mem", target.pid()))
        .unwrap();
    mem.write_all_at(&0xdead_beef_cafe_f00du64.to_ne_bytes(), target.vaddr())
        .unwrap();
    let event = target
        .next_event(Duration::from_secs(5))
        .expect("a change event");
    assert_eq!(event["event"], "change");
    assert_eq!(event["old"], "0x1111");
    assert_eq!(event["new"], "0xdeadbeefcafef00d");
    assert!(event["monotonic_ns"].as_u64().unwrap() > 0);
}

#[test]
fn target_exits_when_the_until_value_arrives() {
    let mut target = Target::start(&["--until", "7"]);
    let mem = OpenOptions::new()
        .write(true)
        .open(format!("/proc/{}/mem", target.pid()))
        .unwrap();
    mem.write_all_at(&7u64.to_ne_bytes(), target.vaddr())
        .unwrap();
    let change = target.next_event(Duration::from_secs(5)).unwrap();
    assert_eq!(change["new"], "0x7");
    let exit = target.next_event(Duration::from_secs(5)).unwrap();
    assert_eq!(
        (exit["event"].as_str(), exit["reason"].as_str()),
        (Some("exit"), Some("until"))
    );
    assert!(target.child.wait().unwrap().success());
}

#[test]
fn target_exits_cleanly_on_sigterm() {
    let mut target = Target::start(&[]);
    Command::new("kill")
        .args(["-TERM", &target.pid().to_string()])
        .status()
        .unwrap();
    let exit = target.next_event(Duration::from_secs(5)).unwrap();
    assert_eq!(exit["reason"], "signal");
    assert!(target.child.wait().unwrap().success());
}

#[test]
fn target_timeout_before_until_is_an_error() {
    let out = run(&["target", "--json", "--until", "5", "--timeout", "0.2"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr_of(&out).contains("timed out"));
}

/// Runs physdemo with `args` and asserts one clear error line, the exit code, and no panic.
fn assert_one_line_error(args: &[&str], code: i32, needle: &str) {
    let out = run(args);
    assert_exit(&out, code, needle);
    assert!(!stderr_of(&out).contains("panicked"));
}

#[test]
fn bad_inputs_give_one_clear_line_and_a_stable_exit_code() {
    assert_one_line_error(
        &["inspect", "999999999", "0x1000"],
        3,
        "no process with pid 999999999",
    );
    assert_one_line_error(&["inspect", "0", "0x1000"], 2, "pid 0 is not a process");
    assert_one_line_error(&["inspect", "-5", "0x1000"], 2, "");
    assert_one_line_error(&["inspect", "99999999999", "0x1000"], 2, "out of range");
    assert_one_line_error(&["inspect", "abc"], 2, "invalid value 'abc'");
    assert_one_line_error(&["inspect", "1", "zz"], 2, "not a number");
    assert_one_line_error(
        &["inspect", "1", "0xfffffffffffffffff"],
        2,
        "does not fit in 64 bits",
    );
    assert_one_line_error(&["inspect", "1", "0xg"], 2, "not a hex number");
    assert_one_line_error(&["target", "--where", "moon"], 2, "invalid value 'moon'");
    assert_one_line_error(
        &["target", "--timeout", "soon"],
        2,
        "not a number of seconds",
    );
    assert_one_line_error(&["frobnicate"], 2, "unrecognized subcommand");
}

#[test]
fn kernel_threads_zombies_and_unmapped_addresses_are_explained() {
    require_root();
    // kthreadd is pid 2 on every Linux system with kernel threads visible
    assert_one_line_error(&["inspect", "2", "0x1000"], 3, "is a kernel thread");

    let mut zombie = Command::new("true").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300)); // it exits; we do not reap it yet
    assert_one_line_error(
        &["inspect", &zombie.id().to_string(), "0x1000"],
        3,
        "is a zombie",
    );
    zombie.wait().unwrap();

    let target = Target::start(&[]);
    assert_one_line_error(
        &["inspect", &target.pid().to_string(), "0x10"],
        3,
        "is in no mapping",
    );
    assert_one_line_error(
        &["inspect", &target.pid().to_string(), "0x10"],
        3,
        "nearest above",
    );
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    assert_one_line_error(
        &["inspect", &sleeper.id().to_string()],
        3,
        "is not a physdemo target",
    );
    let _ = sleeper.kill();
    let _ = sleeper.wait();
}

#[test]
fn untouched_page_is_reported_not_present() {
    require_root();
    // python maps 1 MiB it never touches and prints its address
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import mmap,ctypes,sys,time\nm=mmap.mmap(-1,1<<20)\nprint(ctypes.addressof(ctypes.c_char.from_buffer(m)),flush=True)\ntime.sleep(30)",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is needed for this test");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr: u64 = line.trim().parse().unwrap();
    let untouched = format!("{:#x}", addr + 512 * 1024);
    let pid = child.id().to_string();
    let out = run(&["inspect", &pid, &untouched, "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let json: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(json["present"], false);
    assert!(json["pfn"].is_null() && json["paddr"].is_null());
    assert!(stderr_of(&out).contains("never touched"));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn without_cap_sys_admin_the_pfn_is_hidden_never_shown_as_zero() {
    require_root();
    // Run both the target and inspect as `nobody`: pagemap is readable, PFNs read as 0.
    let nobody = ["--reuid=65534", "--regid=65534", "--clear-groups"];
    let mut target = Command::new("setpriv")
        .args(nobody)
        .args([
            env!("CARGO_BIN_EXE_physdemo"),
            "target",
            "--json",
            "--timeout",
            "20",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("setpriv (util-linux) is needed for this test");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(target.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let ready: Value = serde_json::from_str(&line).unwrap();
    assert!(
        ready["pfn"].is_null(),
        "an unprivileged target cannot know its frame: {line}"
    );
    let out = Command::new("setpriv")
        .args(nobody)
        .args([
            env!("CARGO_BIN_EXE_physdemo"),
            "inspect",
            &ready["pid"].to_string(),
            ready["vaddr"].as_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("run with sudo"), "{err}");
    assert!(stdout_of(&out).contains("hidden (run with sudo)"));
    assert!(!stdout_of(&out).contains("PFN 0x0"));
    let _ = target.kill();
    let _ = target.wait();
}

#[test]
fn inspect_piped_into_head_exits_quietly() {
    require_root();
    let target = Target::start(&[]);
    let script = format!(
        "{} inspect {} {:#x} | head -1",
        env!("CARGO_BIN_EXE_physdemo"),
        target.pid(),
        target.vaddr()
    );
    let out = Command::new("bash")
        .args(["-o", "pipefail", "-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "");
}

#[test]
fn help_completions_and_man_page_come_from_one_definition() {
    for sub in ["target", "inspect", "completions", "man"] {
        let out = run(&[sub, "--help"]);
        assert!(out.status.success());
        assert!(
            stdout_of(&out).contains("Example"),
            "{sub} --help has an example"
        );
    }
    // peek and devmem read `010` differently, and each --help says so.
    let peek = stdout_of(&run(&["peek", "--help"]));
    assert!(peek.contains("010 is ten here"), "{peek}");
    assert!(peek.contains("reads 010 as octal, eight"), "{peek}");
    let devmem = stdout_of(&run(&["devmem", "--help"]));
    assert!(devmem.contains("010 is octal, eight"), "{devmem}");
    assert!(devmem.contains("read 010 as decimal ten"), "{devmem}");
    let bash = run(&["completions", "bash"]);
    assert!(stdout_of(&bash).contains("inspect"));
    let man = run(&["man"]);
    assert!(stdout_of(&man).starts_with(".ie") || stdout_of(&man).contains(".TH physdemo"));
}

/// `man --dir` writes the command's page and one per subcommand --help lists, each a page
/// of its own command (its .TH), and prints each path; `physdemo man` is the first of them.
#[test]
fn man_dir_writes_a_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let help = stdout_of(&run(&["--help"]));
    let subs: Vec<&str> = help
        .lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .collect();
    assert!(subs.len() >= 14, "{subs:?}");
    let mut expected: Vec<String> = vec!["physdemo".into()];
    expected.extend(subs.iter().map(|sub| format!("physdemo-{sub}")));
    let printed: Vec<String> = stdout_of(&out).lines().map(str::to_string).collect();
    let mut written: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    let mut want: Vec<String> = expected.iter().map(|name| format!("{name}.1")).collect();
    want.sort();
    assert_eq!(written, want);
    assert_eq!(printed.len(), want.len(), "{printed:?}");
    for name in &expected {
        let page = std::fs::read_to_string(dir.path().join(format!("{name}.1"))).unwrap();
        assert!(page.contains(&format!(".TH {name} 1")), "{name}: {page}");
    }
    // `physdemo man` prints the first page, which names no page that is not there.
    let main = std::fs::read_to_string(dir.path().join("physdemo.1")).unwrap();
    assert_eq!(main, stdout_of(&run(&["man"])));
    assert!(!main.contains("physdemo\\-help(1)"), "{main}");
    assert!(main.contains("physdemo\\-poke(1)"), "{main}");
}
