// SPDX-License-Identifier: MIT OR Apache-2.0
//! End-to-end tests inside the project's QEMU VM, where /dev/mem really works.
//!
//! Each test boots the VM through `demos/vm/run SCRIPT` (the same contract the demos use)
//! and asserts the exact values the script printed. The VM needs packages that
//! `demos/setup` installs and a kernel that `demos/kernel/build` builds (cached); when a
//! prerequisite is missing these tests fail and name it. `PHYSDEMO_SKIP_VM=1` skips them
//! with a loud message, for a quick local run only (`common::skip_requested`: with CI set
//! it is a failure, and demos/test repeats every skip at the end).
//!
//! The scenarios of issue 14 (forced migrations with and without a pin, races, real swap,
//! KSM and fork sharing, every placement, widths, privileges, namespaces, hidepid, RAM
//! above 4 GiB, KASLR) run through `demos/stress/run NAME`, which knows the VM each needs;
//! their figures are regenerated into demos/STRESS.md by `demos/stress/report`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use crate::common::skip_requested;
use crate::trace::{accesses_to, Access};

mod arm64;
mod devices;

/// One VM at a time: two cores do not run two emulated machines well.
static ONE_VM: Mutex<()> = Mutex::new(());

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `script` in the VM; `None` only when skipping was asked for explicitly.
fn vm_run(script: &Path, args: &[&str]) -> Option<Output> {
    vm_run_with_env(script, args, &[])
}

/// As [`vm_run`], with settings for demos/vm/run (PHYSDEMO_VM_KERNEL, PHYSDEMO_VM_TRACE, ...).
fn vm_run_with_env(script: &Path, args: &[&str], env: &[(&str, &str)]) -> Option<Output> {
    if skip_requested(
        "PHYSDEMO_SKIP_VM",
        &format!(
            "VM test {}: /dev/mem writes are NOT tested",
            script.display()
        ),
    ) {
        return None;
    }
    let qemu = Command::new("qemu-system-x86_64").arg("--version").output();
    assert!(
        qemu.is_ok_and(|o| o.status.success()),
        "VM tests need qemu-system-x86_64: run `sudo demos/setup` (or PHYSDEMO_SKIP_VM=1 to skip them loudly)"
    );
    let _one = ONE_VM
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let output = Command::new(repo().join("demos/vm/run"))
        .arg(script)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("running demos/vm/run");
    eprintln!(
        "--- {} {env:?} (exit {:?}) ---\n{}{}",
        script.display(),
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(output)
}

#[test]
fn the_userland_demo_target_reacts_to_a_poke_with_the_exact_value() {
    let Some(out) = vm_run(&repo().join("demos/userland.sh"), &["0xc0ffee0123456789"]) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the demo failed in the VM");
    assert!(
        text.contains("changed 0x1122334455667788 -> 0xc0ffee0123456789"),
        "the target did not report the exact poked value"
    );
    assert!(text.contains("the target saw exactly 0xc0ffee0123456789"));
}

#[test]
fn the_vm_passes_its_own_busybox_smoke_test() {
    let Some(out) = vm_run(&repo().join("demos/vm/smoke.sh"), &[]) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demos/vm/smoke.sh failed in the VM");
    assert!(text
        .lines()
        .any(|l| l.starts_with("smoke: ") && l.ends_with(" passed, 0 failed")));
    assert!(
        text.contains("0x010000ED"),
        "the edu ID register, read by busybox devmem"
    );
}

#[test]
fn every_end_to_end_script_passes_in_the_vm() {
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(repo().join("demos/e2e"))
        .expect("demos/e2e exists")
        .map(|entry| entry.expect("readable dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sh"))
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty(), "no end-to-end scripts in demos/e2e");
    // Asked once, before files_for builds anything for the guest.
    if skip_requested(
        "PHYSDEMO_SKIP_VM",
        "VM end-to-end scripts demos/e2e/*.sh: /dev/mem writes are NOT tested",
    ) {
        return;
    }
    let mut failures = Vec::new();
    for script in &scripts {
        // The project's modules (demos/e2e/kmod.sh uses physdemo_buf.ko) are in every VM
        // under /lib/modules/$(uname -r)/extra: demos/vm/run builds and adds them.
        let run = match files_for(script) {
            Ok(Some(files)) => vm_run_with_env(
                script,
                &[],
                &[
                    ("PHYSDEMO_VM_FILES", files.as_str()),
                    ("PHYSDEMO_VM_APPEND", PHYSMEM_BOOT),
                ],
            ),
            Ok(None) => vm_run(script, &[]),
            Err(why) => {
                failures.push(format!("{}: {why}", script.display()));
                continue;
            }
        };
        let Some(out) = run else {
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let summary_ok = text.lines().any(|l| l.contains(" passed, 0 failed"));
        // physmem.sh's hostile list ends with the kernel log: no WARN, BUG or Oops.
        let log_ok =
            script.file_name() != Some("physmem.sh".as_ref()) || text.contains(PHYSMEM_LOG_CLEAN);
        if !out.status.success() || text.contains("FAIL") || !summary_ok || !log_ok {
            failures.push(script.display().to_string());
        }
    }
    assert!(failures.is_empty(), "failed in the VM: {failures:?}");
}

/// The boot parameters demos/e2e/physmem.sh's hostile list needs: memfd_secret(2) on, and
/// 1 MiB of RAM at 768 MiB (above the 512 MiB the torture reads in one piece) turned into e820 "Unusable memory" (type 1 to type 5).
const PHYSMEM_BOOT: &str = "secretmem.enable=1 memmap=1M%0x30000000-1+5";

/// physmem.sh's last check: the kernel log after the hostile list.
const PHYSMEM_LOG_CLEAN: &str =
    "ok   - the kernel log has no WARN, BUG, Oops or general protection after everything";

/// Host files an end-to-end script needs in the guest, for PHYSDEMO_VM_FILES (the modules
/// are in every VM already): demos/e2e/physmem.sh needs its static test program, which
/// demos/kmod/torture/build builds (cached) and whose path it prints. `None` for a script
/// that needs none. The callers ask `skip_requested` first: a skip has one place.
fn files_for(script: &Path) -> Result<Option<String>, String> {
    if script.file_name() != Some("physmem.sh".as_ref()) {
        return Ok(None);
    }
    let build = "demos/kmod/torture/build";
    let out = Command::new(repo().join(build))
        .output()
        .map_err(|err| format!("could not run {build}: {err}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprint!("{stderr}");
    if !out.status.success() {
        return Err(format!(
            "{build} failed (exit {:?}): {}",
            out.status.code(),
            stderr.trim()
        ));
    }
    Ok(Some(
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    ))
}

/// The physdemo_mem.ko that DKMS built and installed for the distro VM kernel, in the
/// private root `demos/kmod/build` (distro flavour, cached) keeps beside its `extra/`.
fn dkms_installed_physdemo_mem() -> PathBuf {
    let out = Command::new(repo().join("demos/kmod/build"))
        .env("PHYSDEMO_VM_KERNEL", "distro")
        .output()
        .expect("running demos/kmod/build");
    assert!(
        out.status.success(),
        "demos/kmod/build (distro) failed: {out:?}"
    );
    let first = String::from_utf8_lossy(&out.stdout);
    let extra = Path::new(first.lines().next().expect("a module path"))
        .parent()
        .expect("extra/");
    let modules = extra.join("../dkms/lib/modules");
    let release = std::fs::read_dir(&modules)
        .expect("the DKMS root's lib/modules")
        .next()
        .expect("one kernel release")
        .expect("a directory entry")
        .file_name();
    modules.join(release).join("updates/dkms/physdemo_mem.ko")
}

/// Runs `demos/stress/run NAME ARGS` (a scenario in the VM it needs, with the helpers it
/// needs); asserts it exited 0 and printed no FAIL line, and returns its output. `None`
/// only when skipping was asked for explicitly.
fn scenario_output(name: &str, args: &[&str]) -> Option<String> {
    if skip_requested(
        "PHYSDEMO_SKIP_VM",
        &format!("VM scenario {name}: /dev/mem writes are NOT tested"),
    ) {
        return None;
    }
    let _one = ONE_VM
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let out = Command::new(repo().join("demos/stress/run"))
        .arg(name)
        .args(args)
        .output()
        .expect("running demos/stress/run");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!(
        "--- demos/stress/run {name} {args:?} (exit {:?}) ---\n{text}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "scenario {name} failed in the VM");
    assert!(!text.contains("FAIL"), "scenario {name} printed FAIL lines");
    Some(text)
}

/// As [`scenario_output`], for a test scenario: its summary must say "0 failed" (and the
/// script's own `summary NAME MIN` already failed it if fewer checks than its minimum ran).
fn scenario(name: &str, args: &[&str]) -> Option<String> {
    let text = scenario_output(name, args)?;
    assert!(text.lines().any(|l| l.contains(" passed, 0 failed")));
    Some(text)
}

/// The line of `text` that starts with `prefix`.
fn line_starting<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?}"))
}

/// The numbers of a line, in order: "migrate window: 6 pokes: 0 landed, ..." gives 6, 0, ...
fn numbers(line: &str) -> Vec<u64> {
    line.split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// One case of demos/stress/migrate.sh: `[pokes, landed, refused, stale, stale uncaught,
/// unclear, moves requested, moves observed, moves refused by the kernel]`. Each poke's
/// outcome is one the script confirmed with /proc/PID/mem and a /dev/mem reader that is
/// not physdemo (else it is unclear); "stale uncaught" is a stale write the process never
/// saw whose value no reader caught at the frame before the kernel reused it. The moves
/// are movepage's own counts.
fn migrate_case(text: &str, case: &str) -> [u64; 9] {
    let line = line_starting(text, &format!("migrate {case}: "));
    numbers(line)
        .try_into()
        .unwrap_or_else(|_| panic!("9 numbers in {line:?}"))
}

#[test]
fn without_a_pin_a_page_moved_between_check_and_store_is_a_reported_stale_write() {
    let Some(text) = scenario("migrate", &["dev-mem"]) else {
        return;
    };
    // [pokes, landed, refused, stale, unclear, requested, observed, refused by the kernel]
    for case in ["before", "after"] {
        assert_eq!(
            migrate_case(&text, case),
            [6, 6, 0, 0, 0, 0, 6, 6, 0],
            "{case}"
        );
    }
    assert_eq!(migrate_case(&text, "window"), [6, 0, 0, 6, 0, 0, 6, 6, 0]);
    let [pokes, landed, refused, stale, uncaught, unclear, requested, observed, _] =
        migrate_case(&text, "random");
    assert_eq!((pokes, unclear), (40, 0));
    assert_eq!(landed + refused + stale + uncaught, 40);
    assert!(
        observed > 0 && observed <= requested,
        "random moves {observed}/{requested}"
    );
    // Each stale write was reported, naming the frame the value went to.
    let reported = text
        .lines()
        .filter(|l| l.contains("STALE WRITE: the value 0x5eed"))
        .count();
    assert_eq!(
        reported as u64,
        6 + stale + uncaught,
        "stale writes reported"
    );
    assert!(text.contains("the target saw exactly the"));
}

#[test]
fn with_dev_physmem_poke_pins_the_page_and_no_write_is_ever_stale() {
    let Some(text) = scenario("migrate", &["physmem"]) else {
        return;
    };
    for case in ["before", "after"] {
        assert_eq!(
            migrate_case(&text, case),
            [6, 6, 0, 0, 0, 0, 6, 6, 0],
            "{case}"
        );
    }
    // Inside the window the pin holds the page: the kernel refuses the forced moves, every
    // poke lands.
    assert_eq!(migrate_case(&text, "window"), [6, 6, 0, 0, 0, 0, 6, 0, 6]);
    let [pokes, landed, refused, stale, uncaught, unclear, _, observed, _] =
        migrate_case(&text, "random");
    assert_eq!((pokes, stale, uncaught, unclear), (40, 0, 0, 0));
    assert_eq!(landed + refused, 40);
    assert!(observed > 0, "no forced move happened between the pokes");
}

#[test]
fn a_target_that_holds_its_page_never_moves_and_every_poke_lands() {
    let Some(text) = scenario("migrate", &["held"]) else {
        return;
    };
    // Every forced move refused by the kernel itself, not merely a frame that stayed.
    for case in ["before", "window", "after"] {
        assert_eq!(
            migrate_case(&text, case),
            [6, 6, 0, 0, 0, 0, 6, 0, 6],
            "{case}"
        );
    }
    let [pokes, landed, _, stale, uncaught, unclear, requested, observed, declined] =
        migrate_case(&text, "random");
    assert_eq!(
        (pokes, landed, stale, uncaught, unclear, observed),
        (40, 40, 0, 0, 0, 0)
    );
    assert_eq!(declined, requested, "moves the kernel refused");
    assert!(requested > 100, "only {requested} forced moves requested");
}

#[test]
fn races_around_the_store_are_provoked_and_each_ends_as_it_must() {
    let Some(text) = scenario("races", &[]) else {
        return;
    };
    assert_eq!(
        line_starting(&text, "races: 8 races provoked"),
        "races: 8 races provoked: 5 refused, 2 reported stale, 1 reported after the write; 5 forged targets refused"
    );
    // Each of the 8 races' outcomes, and the shared frame's refusal, confirmed by busybox
    // devmem and /proc/PID/mem, not by physdemo's word.
    let witnessed = text
        .lines()
        .filter(|l| l.starts_with("ok   - ") && l.contains(": witnessed"))
        .count();
    assert_eq!(witnessed, 9, "outcomes witnessed without physdemo");
}

#[test]
fn mlock_does_not_hold_a_page_still_an_io_uring_fixed_buffer_does() {
    let Some(text) = scenario("holdstill", &[]) else {
        return;
    };
    // The counts are movepage's own; a held page needs the kernel's refusal of each move.
    let moved = "8 forced moves requested, 8 observed, 0 refused by the kernel";
    let held = "8 forced moves requested, 0 observed, 8 refused by the kernel";
    assert!(text.contains(&format!("holdstill mmap: {moved}")));
    assert!(text.contains(&format!("holdstill mlock: {moved}")));
    assert!(text.contains(&format!("holdstill uring: {held}")));
    assert!(text.contains("ok   - uring: none of 8 forced moves happened, each refused by the kernel (the kernel could not migrate it"));
    for home in ["mmap", "heap", "stack", "static", "thp"] {
        assert!(
            text.contains(&format!(
                "holdstill target --where {home}: held=true; {held} ("
            )),
            "{home}"
        );
    }
    assert!(text.contains(&format!(
        "holdstill target --movable: held=false; {moved} ("
    )));
    assert!(text.contains(&format!(
        "holdstill target --where thp --movable: held=false; {moved} ("
    )));
}

#[test]
fn a_page_in_real_swap_is_shown_as_the_kernel_has_it_and_never_poked() {
    let Some(text) = scenario("swap", &[]) else {
        return;
    };
    assert!(text.contains("maps --mapping 0x"));
    assert!(text.contains("swapped 16 pages = smaps Swap: 64 kB"));
    assert!(text.contains("ok   - poke --force: exit 3:"));
}

#[test]
fn a_frame_shared_by_ksm_or_fork_is_refused_and_forced_writes_reach_both_processes() {
    let Some(text) = scenario("sharing", &[]) else {
        return;
    };
    for label in ["KSM", "fork"] {
        assert!(
            text.contains(&format!("ok   - {label}: BOTH processes saw it")),
            "{label}"
        );
        assert!(text.contains(&format!(
            "ok   - {label}: poke without --force refused, exit 6"
        )));
    }
    assert!(text.contains("ok   - KSM merged the two pages within"));
}

#[test]
fn the_sharing_demo_shows_one_write_seen_by_two_processes() {
    let Some(text) = scenario_output("sharing-demo", &[]) else {
        return;
    };
    assert!(text.contains("==> Done: one write to one frame changed two processes"));
}

#[test]
fn pokes_reach_every_placement_and_the_process_sees_the_exact_value() {
    let Some(text) = scenario("placements", &[]) else {
        return;
    };
    for home in ["mmap", "heap", "stack", "static", "thp", "hugetlb"] {
        assert!(
            text.contains(&format!("ok   - target --where {home}: poke 0x")),
            "{home}"
        );
    }
    assert!(text.contains(
        "ok   - target --where thp: the target and inspect say transparent huge page (THP), the word 0x5040 in, subpage 5 of the huge page"
    ));
    assert!(text.contains(
        "ok   - target --where hugetlb: the target and inspect say hugetlbfs huge page, the word 0x5040 in, subpage 5 of the huge page"
    ));
    assert!(text.contains(
        "ok   - target --where thp with THP [never]: the target says NOT a huge page (NOT a huge page: THP is disabled"
    ));
    for kind in ["heap", "stack", "static", "thp", "hugetlb"] {
        assert!(
            text.contains(&format!("ok   - holdpage {kind}: poke 0x")),
            "{kind}"
        );
    }
    assert!(text.contains("ok   - holdpage thp: a real THP"));
}

#[test]
fn every_width_and_method_changes_exactly_its_bytes() {
    let Some(text) = scenario("widths", &["/dev/mem", "/dev/physmem"]) else {
        return;
    };
    assert_eq!(text.matches("untouched").count(), 16);
    assert_eq!(text.matches(" via /dev/physmem at +").count(), 8);
    // poke --json named the device and method each poke was asked to use.
    for (device, method, reported) in [
        ("/dev/mem", "mmap", "/dev/mem mmap, "),
        ("/dev/mem", "rw", "/dev/mem pread/pwrite, "),
        ("/dev/physmem", "mmap", "/dev/physmem (physdemo_mem) mmap'"),
        (
            "/dev/physmem",
            "rw",
            "/dev/physmem (physdemo_mem) pread/pwrite'",
        ),
    ] {
        let lines = text
            .lines()
            .filter(|l| {
                l.starts_with("ok   - ") && l.contains(&format!(" {method} via {device} at +"))
            })
            .filter(|l| l.contains(&format!("poke --json: device '{reported}")))
            .filter(|l| l.ends_with(", no detour"))
            .count();
        assert_eq!(
            lines, 4,
            "{device} --method {method}: 4 widths reported as {reported:?}"
        );
    }
}

#[test]
fn without_privileges_or_behind_namespaces_and_hidepid_physdemo_refuses_in_one_line() {
    let Some(text) = scenario("privilege", &[]) else {
        return;
    };
    assert!(text.contains("ok   - root without CAP_SYS_RAWIO: poke: exit 4:"));
    assert!(text.contains("in this PID namespace (pid:["));
    assert!(text.contains("hidepid=invisible, which hides the processes of other users"));
    assert!(text.contains("ok   - root's target saw exactly one change"));
}

#[test]
fn a_frame_above_4_gib_is_poked_and_read_back() {
    let Some(text) = scenario("highmem", &[]) else {
        return;
    };
    assert!(text.contains("above 4 GiB, = dd's frame"));
    assert!(text.contains("ok   - busybox devmem 0x1"));
}

#[test]
fn with_kaslr_the_kernel_buffer_test_reads_the_direct_map_base() {
    let Some(text) = scenario("kaslr", &[]) else {
        return;
    };
    assert!(text.contains("ok   - KASLR: the direct map starts at 0x"));
}

#[test]
fn maps_counts_transparent_huge_pages_as_the_kernel_does() {
    let Some(text) = scenario("huge", &[]) else {
        return;
    };
    assert!(text.contains("maps summary: huge 4096 pages = AnonHugePages"));
    // The 6.1 guest has no PAGEMAP_SCAN, as the kernel itself answers: maps falls back.
    assert!(text.contains(
        "ok   - maps --json: \"pagemap_scan\":false, as the kernel answered (the fallback: plain pagemap reads)"
    ));
    assert!(text.contains(", asked directly: PAGEMAP_SCAN: refused ("));
}

#[test]
fn usage_matches_smaps_rollup_in_the_vm_for_ksm_fork_thp_and_shared_text() {
    let Some(text) = scenario("usage", &[]) else {
        return;
    };
    assert!(text.contains("ok   - KSM merged the two pages"));
    assert!(text.contains("ok   - the THP holder has a huge page"));
}

/// What a run of demos/vm/plumbing.sh left: its output, QEMU's trace of every device read
/// and write, and the bytes that arrived on the debug console (port 0xe9).
struct Plumbing {
    text: String,
    trace: String,
    debugcon: Vec<u8>,
}

/// Runs `demos/vm/plumbing.sh MODE` with `env` (the VM MODE needs), tracing device
/// accesses into files of this test's own (other checkouts share the cache's defaults).
fn plumbing_run(mode: &str, env: &[(&str, &str)]) -> Option<Plumbing> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("plumbing-{mode}"));
    std::fs::create_dir_all(&dir).expect("creating the trace directory");
    let trace = dir.join("trace.log");
    let debugcon = dir.join("debugcon.log");
    for file in [&trace, &debugcon] {
        std::fs::remove_file(file)
            .or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            })
            .expect("removing an old log");
    }
    let trace_str = trace.to_str().expect("a UTF-8 path");
    let debugcon_str = debugcon.to_str().expect("a UTF-8 path");
    let mut all = vec![
        (
            "PHYSDEMO_VM_TRACE",
            "memory_region_ops_read,memory_region_ops_write",
        ),
        ("PHYSDEMO_VM_TRACE_LOG", trace_str),
        ("PHYSDEMO_VM_DEBUGCON_LOG", debugcon_str),
    ];
    all.extend_from_slice(env);
    let out = vm_run_with_env(&repo().join("demos/vm/plumbing.sh"), &[mode], &all)?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "demos/vm/plumbing.sh {mode} failed in the VM"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with(&format!("plumbing-{mode}: "))
                && l.ends_with(" passed, 0 failed")),
        "no passing plumbing-{mode} summary"
    );
    Some(Plumbing {
        text,
        trace: std::fs::read_to_string(&trace).expect("QEMU wrote the trace log"),
        debugcon: std::fs::read(&debugcon).expect("QEMU wrote the debug console log"),
    })
}

/// The device side of plumbing.sh's accesses, where /dev/mem and ioperm are open: exactly
/// one access per busybox devmem / portio call, of its width, at its address, with its
/// value, and nothing else touching pc-testdev; the debug console got exactly the text.
fn assert_devices_saw_exactly_the_guests_accesses(run: &Plumbing, mode: &str) {
    assert_eq!(
        accesses_to(&run.trace, "pc-testdev-iomem"),
        [
            Access::write(0xff000000, 0x12345678, 4),
            Access::read(0xff000000, 0x12345678, 4),
        ],
        "pc-testdev's memory, as QEMU saw it"
    );
    assert_eq!(
        accesses_to(&run.trace, "pc-testdev-ioport"),
        [
            Access::write(0xe0, 0xcafe1234, 4),
            Access::read(0xe0, 0xcafe1234, 4),
            Access::read(0xe0, 0x1234, 2),
            Access::read(0xe2, 0xcafe, 2),
        ],
        "pc-testdev's 32-bit port, as QEMU saw it"
    );
    let text = format!("physdemo debugcon {mode}\n");
    assert_eq!(
        String::from_utf8_lossy(&run.debugcon),
        text,
        "the debug console log"
    );
    let written: Vec<Access> = text
        .bytes()
        .map(|b| Access::write(0xe9, b.into(), 1))
        .collect();
    let debugcon_writes: Vec<Access> = accesses_to(&run.trace, "isa-debugcon")
        .into_iter()
        .filter(|a| a.write)
        .collect();
    assert_eq!(
        debugcon_writes, written,
        "one 1-byte write to port 0xe9 per byte"
    );
}

#[test]
fn the_default_vm_has_its_modules_testdev_and_debug_console() {
    let Some(run) = plumbing_run("default", &[("PHYSDEMO_VM_KERNEL", "default")]) else {
        return;
    };
    assert!(run
        .text
        .contains("/proc/iomem: ff000000-ff00ffff : physdemo-testdev"));
    assert_devices_saw_exactly_the_guests_accesses(&run, "default");
}

#[test]
fn the_distro_vm_filters_dev_mem_as_distributions_do() {
    let Some(run) = plumbing_run("distro", &[("PHYSDEMO_VM_KERNEL", "distro")]) else {
        return;
    };
    assert!(run.text.contains("STRICT_DEVMEM: read() of RAM at"));
    // The write refused for IO_STRICT_DEVMEM (0x0badf00d) never reached the device.
    assert_devices_saw_exactly_the_guests_accesses(&run, "distro");
}

#[test]
fn the_distro_vm_under_lockdown_refuses_dev_mem_ports_and_unsigned_modules() {
    let Some(run) = plumbing_run(
        "lockdown",
        &[
            ("PHYSDEMO_VM_KERNEL", "distro"),
            ("PHYSDEMO_VM_APPEND", "lockdown=integrity"),
        ],
    ) else {
        return;
    };
    assert!(run
        .text
        .contains("lockdown: none [integrity] confidentiality"));
    assert_eq!(accesses_to(&run.trace, "pc-testdev-iomem"), []);
    assert_eq!(accesses_to(&run.trace, "pc-testdev-ioport"), []);
    // The positive control in the same trace: the lines the guest printed right after the
    // refused /dev/mem and /dev/port accesses reached the serial port, byte by byte, so
    // the trace was recording device accesses while they were refused.
    let serial = crate::trace::serial_output(&run.trace);
    for line in [
        "ok   - lockdown: /dev/mem cannot be opened: ",
        "ok   - lockdown: /dev/port cannot be opened: ",
    ] {
        assert!(
            serial.contains(line),
            "the trace lacks the serial port's {line:?} ({} bytes traced)",
            serial.len()
        );
    }
    assert!(
        run.debugcon.is_empty(),
        "lockdown let bytes reach port 0xe9"
    );
}

#[test]
fn the_vm_knobs_give_two_numa_nodes_ram_above_4_gib_and_kaslr() {
    let Some(run) = plumbing_run(
        "knobs",
        &[
            ("PHYSDEMO_VM_KERNEL", "default"),
            ("PHYSDEMO_VM_NUMA", "2"),
            ("PHYSDEMO_VM_MEM", "5G"),
            ("PHYSDEMO_VM_KASLR", "on"),
        ],
    ) else {
        return;
    };
    assert!(run
        .text
        .contains("System RAM above 4 GiB: 100000000-1bfffffff : System RAM"));
    assert!(run.text.contains("two NUMA nodes from the SRAT: 0-1"));
    assert_devices_saw_exactly_the_guests_accesses(&run, "knobs");
}

#[test]
fn a_device_register_gets_exactly_the_accesses_asked_for_as_qemu_traces_them() {
    let trace = tempfile::Builder::new()
        .prefix("physdemo-trace-")
        .suffix(".log")
        .tempfile()
        .expect("a trace file");
    let trace_path = trace.path().to_str().expect("a UTF-8 temp path");
    let Some(out) = vm_run_with_env(
        &repo().join("demos/vm/accesses.sh"),
        &[],
        &[
            (
                "PHYSDEMO_VM_TRACE",
                "memory_region_ops_read,memory_region_ops_write",
            ),
            ("PHYSDEMO_VM_TRACE_LOG", trace_path),
        ],
    ) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "demos/vm/accesses.sh failed in the VM"
    );
    let log = std::fs::read_to_string(trace.path()).expect("QEMU wrote the trace");
    let hex_after = |key: &str| -> u64 {
        let rest = text.split(key).nth(1).expect(key);
        let word = rest.split([' ', ',', '\n']).next().unwrap();
        u64::from_str_radix(word.trim_start_matches("0x"), 16).expect(key)
    };
    let (bar0, config) = (hex_after("BAR0 "), hex_after("config byte 0x3c at "));
    let live = bar0 + 4;
    // Split edu's accesses at the fences (busybox reading BAR0 + 0): the accesses after
    // fence N are step N + 1's.
    let mut steps: Vec<Vec<Access>> = Vec::new();
    for access in accesses_to(&log, "edu-mmio") {
        if !access.write && access.addr == bar0 {
            steps.push(Vec::new());
        } else if let Some(step) = steps.last_mut() {
            step.push(access);
        } else {
            panic!("an access before the first fence: {access:?}");
        }
    }
    let read = Access {
        write: false,
        addr: live,
        value: 0,
        size: 4,
    };
    let write = |value| Access {
        write: true,
        addr: live,
        value,
        size: 4,
    };
    // reads compared without their value (the register's answer)
    let shape = |step: &[Access]| -> Vec<Access> {
        step.iter()
            .map(|a| {
                if a.write {
                    *a
                } else {
                    Access { value: 0, ..*a }
                }
            })
            .collect()
    };
    let want: Vec<(&str, Vec<Access>)> = vec![
        ("poke (device): one write", vec![write(0x1111_1111)]),
        ("poke --read-back", vec![read, write(0x2222_2222), read]),
        ("poke --dry-run: nothing", vec![]),
        ("poke --pci: one write", vec![write(0x4444_4444)]),
        ("devmem write: one write", vec![write(0x5555_5555)]),
        ("devmem --dry-run: nothing", vec![]),
        ("peek: one read", vec![read]),
        ("devmem read: one read", vec![read]),
        ("poke --read-back --dry-run: nothing", vec![]),
        ("poke --method rw (refused by the kernel): nothing", vec![]),
        ("poke into config space (refused): nothing", vec![]),
        ("devmem into config space (refused): nothing", vec![]),
    ];
    // the last fence closes the last step
    assert_eq!(steps.len(), want.len() + 1, "{steps:x?}\n{text}");
    for (i, (what, expected)) in want.iter().enumerate() {
        assert_eq!(shape(&steps[i]), *expected, "step {}: {what}", i + 1);
    }
    assert!(steps[want.len()].is_empty(), "{steps:x?}");
    eprintln!(
        "traced: {} accesses to edu-mmio in {} steps, each exactly as asked",
        accesses_to(&log, "edu-mmio").len(),
        want.len()
    );
    // The refused writes never reached PCI configuration space; the positive control in
    // the same trace: busybox's read of that very byte, last, did.
    let config_space = accesses_to(&log, "pcie-mmcfg-mmio");
    let config_writes: Vec<&Access> = config_space
        .iter()
        .filter(|a| a.write && a.value == 0x5a)
        .collect();
    assert!(
        config_writes.is_empty(),
        "{config:#x}: refused writes reached config space: {config_writes:x?}"
    );
    let busybox_read = hex_after("config byte 0x3c read by busybox devmem: ");
    assert!(
        config_space.contains(&Access::read(config, busybox_read, 1)),
        "the trace lacks busybox's 1-byte read of {config:#x} ({busybox_read:#x}): {config_space:x?}"
    );
}

#[test]
fn with_pat_on_only_method_rw_reaches_ram_and_physdemo_says_so() {
    let Some(out) = vm_run_with_env(
        &repo().join("demos/vm/pat.sh"),
        &[],
        &[("PHYSDEMO_VM_PAT", "on")],
    ) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demos/vm/pat.sh failed in the VM");
    assert!(!text.contains("FAIL"));
    assert!(text.contains("the target saw exactly 0xc0ffee0123456789"));
    // With physdemo_mem, the way around PAT for RAM is taken and named.
    assert!(text.contains("ok   - with physdemo_mem, peek goes through /dev/physmem and says PAT refused /dev/mem's mapping"));
    assert!(text.contains(
        "ok   - poke through /dev/physmem under PAT: the target saw exactly 0x0ddba11cafe0f00d"
    ));
    assert!(text
        .lines()
        .any(|l| l.starts_with("pat: ") && l.ends_with(" passed, 0 failed")));
}

/// Runs `demos/vm/doors.sh MODE` in the VM `env` describes; asserts it passed and returns
/// its output.
fn doors_run(mode: &str, env: &[(&str, &str)]) -> Option<String> {
    let out = vm_run_with_env(&repo().join("demos/vm/doors.sh"), &[mode], env)?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "demos/vm/doors.sh {mode} failed in the VM"
    );
    assert!(!text.contains("FAIL"), "doors.sh {mode} printed FAIL lines");
    assert!(text
        .lines()
        .any(|l| l.starts_with(&format!("doors-{mode}: ")) && l.ends_with(" passed, 0 failed")));
    Some(text)
}

#[test]
fn where_dev_mem_is_locked_physdemo_names_why_and_goes_through_dev_physmem() {
    let Some(text) = doors_run("distro", &[("PHYSDEMO_VM_KERNEL", "distro")]) else {
        return;
    };
    // The refusals, each with its cause and way around, before the module is loaded.
    assert!(text.contains("it is System RAM above 1 MiB, and CONFIG_STRICT_DEVMEM keeps RAM out of /dev/mem (load physdemo_mem (insmod /lib/modules/6.1."));
    assert!(text.contains("under CONFIG_STRICT_DEVMEM the kernel shows RAM below 1 MiB to read() as zeros, whatever it holds"));
    assert!(text.contains(
        "is claimed by 'physdemo-testdev' [0xff000000-0xff00ffff], inside physdemo-testdev"
    ));
    // The doctor's report of the distro VM, measured.
    for line in [
        "|   RAM read()      refused (EPERM)",
        "| STRICT_DEVMEM     on: measured: /dev/mem refuses RAM above 1 MiB (EPERM) and its read() shows RAM below 1 MiB as zeros; the config says y",
        "| lockdown          none (/sys/kernel/security/lockdown: [none] integrity confidentiality)",
        &format!("| next step         load physdemo_mem: modprobe physdemo_mem (installed by DKMS, version {})", env!("CARGO_PKG_VERSION")),
    ] {
        assert!(text.lines().any(|l| l.trim_start().starts_with(line)), "no {line:?}");
    }
    // The module the guest loaded is the file DKMS built and installed on the host side
    // (demos/kmod/build's private DKMS root), byte for byte.
    let installed = dkms_installed_physdemo_mem();
    let sha = Command::new("sha256sum")
        .arg(&installed)
        .output()
        .expect("sha256sum");
    let sha = String::from_utf8_lossy(&sha.stdout);
    let sha = sha.split_whitespace().next().expect("a sha256sum line");
    assert!(
        text.lines().any(|l| l.starts_with(&format!(
            "ok   - DKMS installed physdemo/{}: ",
            env!("CARGO_PKG_VERSION")
        )) && l.ends_with(&format!("sha256 {sha}"))),
        "the guest's DKMS-installed physdemo_mem.ko is not {} (sha256 {sha})",
        installed.display()
    );
    assert!(text.contains(
        "ok   - modprobe physdemo_mem (DKMS's build, signed): /dev/physmem, Live in /proc/modules"
    ));
    // Through /dev/physmem: the exact value, the kmalloc buffer, edu.
    assert!(text
        .contains("ok   - poke through /dev/physmem: the target saw exactly 0xc0ffee0123456789"));
    assert!(text.contains("the module saw 0x1357924680acebdf"));
    assert!(text.contains("ok   - demos/edu.sh through --device /dev/physmem: ident 0x010000ed"));
    // Never around a driver, whatever brought physdemo to /dev/physmem (issue 18).
    assert!(text.contains("ok   - no /dev/mem: poke 0xff000004 0x77 refused (exit 6), dd through /dev/physmem still reads 0x"));
    assert!(text.contains("ok   - peek 0xfec00000 (IOAPIC 0, 1 KiB) --device /dev/physmem: pread/pwrite chosen by itself"));
    // Without the module, RAM is read through /proc/kcore (issue 20): the target's variable,
    // linux_banner (= /proc/version) at the address kallsyms and iomem give; never written.
    for line in [
        "ok   - doctor: /proc/kcore opens, reads physdemo's page exactly, holds 0x1000-0x9efff 0x100000-",
        "ok   - peek of the target without physdemo_mem: ",
        "ok   - peek of linux_banner (",
        "ok   - dump of linux_banner, ",
        "ok   - poke --device /proc/kcore: exit 5, physdemo: error: /proc/kcore is read-only",
        "ok   - peek 0xfec00000 --device /proc/kcore: exit 3, ",
        "ok   - peek --method rw of low RAM 0x",
        "ok   - dump of linux_banner with physdemo_mem loaded: exactly /proc/version, through /dev/physmem",
        "| /proc/kcore       present, opens read-only; read(): reads physdemo's own page exactly; holds 0x1000-0x9efff, 0x100000-",
    ] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(line)),
            "no {line:?}"
        );
    }
}

#[test]
fn under_lockdown_every_door_is_closed_and_physdemo_names_lockdown() {
    let Some(text) = doors_run(
        "lockdown",
        &[
            ("PHYSDEMO_VM_KERNEL", "distro"),
            ("PHYSDEMO_VM_APPEND", "lockdown=integrity"),
        ],
    ) else {
        return;
    };
    assert!(text.contains("| lockdown          integrity (/sys/kernel/security/lockdown: none [integrity] confidentiality)"));
    assert!(text.contains("physdemo: error: the kernel refused to open /dev/mem (EPERM): kernel lockdown is in force (integrity, /sys/kernel/security/lockdown)"));
    assert!(
        text.contains("the kernel is locked down, and /dev/physmem allows no more than /dev/mem")
    );
    // Integrity leaves /proc/kcore open, confidentiality closes it (issue 20).
    assert!(text.contains("ok   - peek under lockdown=integrity: "));
    assert!(text.contains("ok   - dump of linux_banner (0x"));
    assert!(text.contains("ok   - lockdown raised to confidentiality (none integrity [confidentiality]): dd cannot open /proc/kcore either"));
    assert!(text.contains(
        "ok   - doctor under confidentiality: /proc/kcore open EPERM, closed by lockdown"
    ));
}

#[test]
fn physdemo_mem_survives_hostile_use_in_the_distro_vm_too() {
    let script = repo().join("demos/e2e/physmem.sh");
    if skip_requested(
        "PHYSDEMO_SKIP_VM",
        "VM test demos/e2e/physmem.sh in the distro VM: physdemo_mem is NOT tested there",
    ) {
        return;
    }
    let files = match files_for(&script) {
        Ok(Some(files)) => files,
        Ok(None) => panic!(
            "{} needs no files, yet it needs physmem_torture",
            script.display()
        ),
        Err(why) => panic!("{why}"),
    };
    let Some(out) = vm_run_with_env(
        &script,
        &[],
        &[
            ("PHYSDEMO_VM_KERNEL", "distro"),
            ("PHYSDEMO_VM_FILES", files.as_str()),
            ("PHYSDEMO_VM_APPEND", PHYSMEM_BOOT),
        ],
    ) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demos/e2e/physmem.sh failed in the distro VM"
    );
    // The hostile list ran, as root and as uid 1000, and lockdown closed the open file.
    for line in [
        "ok   - root: writable mmap of Kernel code",
        "ok   - uid 1000, fd inherited: writable mmap of Kernel code",
        "ok   - root: pread of the memfd_secret frame",
        "ok   - root: pread of Unusable memory",
        "ok   - root: 2 threads x 40 pins on one file: ",
        "ok   - after rmmod physdemo_testdev: a new pread at 0xff000000 (no resource there now): ENXIO",
        "ok   - after lockdown: pread of Kernel code on the open file: EPERM",
        "ok   - after lockdown: pin on the open file: EPERM",
    ] {
        assert!(text.contains(line), "missing from physmem.sh's output: {line}");
    }
    assert!(!text.contains("FAIL"), "physmem.sh printed FAIL lines");
    // STRICT_DEVMEM was met, and RAM was checked against the target's own memory and the
    // module's other path instead of /dev/mem.
    assert!(text.contains("/dev/mem refuses RAM: STRICT_DEVMEM"));
    assert!(text.contains("= /dev/physmem's mmap (/dev/mem: EPERM, STRICT_DEVMEM), byte for byte"));
    assert!(text.contains(PHYSMEM_LOG_CLEAN));
    assert!(text
        .lines()
        .any(|l| l.starts_with("physmem: ") && l.ends_with(" passed, 0 failed")));
}

#[test]
fn the_locked_demo_completes_through_dev_physmem_and_lockdown_closes_every_door() {
    let script = repo().join("demos/locked.sh");
    let Some(out) = vm_run_with_env(
        &script,
        &["distro", "0xfeedc0dedeadf00d"],
        &[("PHYSDEMO_VM_KERNEL", "distro")],
    ) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demos/locked.sh distro failed");
    // busybox devmem and physdemo meet STRICT_DEVMEM, physdemo explains, the doctor says why.
    assert!(text.contains("devmem: mmap: Operation not permitted"));
    assert!(
        text.contains("CONFIG_STRICT_DEVMEM keeps RAM out of /dev/mem (load physdemo_mem (insmod")
    );
    assert!(text
        .contains("next step         load physdemo_mem: modprobe physdemo_mem (installed by DKMS"));
    assert!(text.contains("$ modprobe physdemo_mem"));
    // The userland demo through /dev/physmem: the target saw the exact value.
    assert!(text.contains("changed 0x1122334455667788 -> 0xfeedc0dedeadf00d"));
    assert!(text.contains("via       /dev/physmem (physdemo_mem) mmap, because /dev/mem refused"));
    let Some(out) = vm_run_with_env(
        &script,
        &["lockdown"],
        &[
            ("PHYSDEMO_VM_KERNEL", "distro"),
            ("PHYSDEMO_VM_APPEND", "lockdown=integrity"),
        ],
    ) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demos/locked.sh lockdown failed");
    assert!(text.contains("lockdown          integrity (/sys/kernel/security/lockdown: none [integrity] confidentiality)"));
    assert!(text.contains("devmem: can't open '/dev/mem': Operation not permitted"));
    assert!(text.contains("unsigned/physdemo_mem.ko': Operation not permitted"));
    assert!(text.contains("dd: can't open '/dev/physmem': Operation not permitted"));
}

#[test]
fn physmap_in_the_vm_marks_the_targets_frame_and_the_kernel_image_exactly() {
    let Some(out) = vm_run(&repo().join("demos/vm/physmap.sh"), &[]) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demos/vm/physmap.sh failed in the VM");
    assert!(text
        .lines()
        .any(|l| l.starts_with("physmap: ") && l.ends_with(" passed, 0 failed")));
    let target = text
        .lines()
        .find_map(|l| l.strip_prefix("target: "))
        .expect("a target line");
    let pfn = u64::from_str_radix(
        target.rsplit(' ').next().unwrap().trim_start_matches("0x"),
        16,
    )
    .unwrap();
    let picture = text
        .split("--- physmap ---\n")
        .nth(1)
        .and_then(|rest| rest.split("--- end ---").next())
        .expect("the picture");
    let iomem: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("iomem: "))
        .map(|l| format!("{l}\n"))
        .collect();
    crate::pictures::check_text_picture(picture, &iomem, pfn, 64);
    // nokaslr: the kernel's code starts at 16 MiB, frame 0x1000, drawn as reserved/kernel.
    assert!(iomem.contains("  01000000-"), "{iomem}");
}

#[test]
fn dump_of_ram_through_dev_mem_is_hexdump_c_of_dd_s_bytes() {
    // The first MiB of the kernel's code, the kernel's variables by name (--symbol), and a
    // 1 MiB timing run (the figures of docs/dump.md
    // are from `demos/vm/dump.sh 64`; here only that the timed commands run clean).
    let Some(out) = vm_run(&repo().join("demos/vm/dump.sh"), &["1", "1024"]) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demos/vm/dump.sh failed in the VM");
    assert!(
        text.contains("witness: kernel code 0x1000000, 1048576 bytes\n"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l == "dump: 5 passed, 0 failed"),
        "{text}"
    );
    // by name: linux_banner against /proc/version, jiffies against /proc/timer_list
    assert!(
        text.contains("ok   - dump --symbol linux_banner is the text of /proc/version and its NUL"),
        "{text}"
    );
    assert!(text.contains("ok   - peek --symbol jiffies: "), "{text}");
}

#[test]
fn watch_sees_each_poke_the_hpet_at_its_period_and_jiffies_at_config_hz() {
    // demos/vm/watch.sh: the target's variable while five pokes land (witnesses: the values
    // poked, the target's own change lines), the HPET's main counter against its stated
    // period, jiffies found by hand from /proc/kallsyms and /proc/iomem against CONFIG_HZ
    // and /proc/timer_list.
    // and a target's page moved by move_pages(2) to the other NUMA node while watched.
    let helpers = Command::new(repo().join("demos/stress/build"))
        .output()
        .expect("running demos/stress/build");
    assert!(helpers.status.success(), "demos/stress/build failed");
    let helpers = String::from_utf8(helpers.stdout).unwrap();
    let movepage = helpers
        .split_whitespace()
        .find(|path| path.ends_with("/movepage"))
        .expect("demos/stress/build names movepage");
    let env = [("PHYSDEMO_VM_NUMA", "2"), ("PHYSDEMO_VM_FILES", movepage)];
    let Some(out) = vm_run_with_env(&repo().join("demos/vm/watch.sh"), &[], &env) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demos/vm/watch.sh failed in the VM");
    assert!(
        text.lines().any(|l| l == "watch: 10 passed, 0 failed"),
        "{text}"
    );
    let line = |prefix: &str| line_starting(&text, prefix)[prefix.len()..].to_string();
    assert_eq!(
        line("watch saw: "),
        "1111111111111111 deadbeefcafef00d 0 123456789abcdef fffffffffffffffe"
    );
    assert_eq!(line("target saw: "), line("watch saw: "));
}

/// Runs `demos/vm/explain.sh MODE` in the VM `env` describes; asserts it passed and returns
/// its output.
fn explain_run(mode: &str, env: &[(&str, &str)]) -> Option<String> {
    let out = vm_run_with_env(&repo().join("demos/vm/explain.sh"), &[mode], env)?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "demos/vm/explain.sh {mode} failed in the VM"
    );
    assert!(
        !text.contains("FAIL"),
        "explain.sh {mode} printed FAIL lines"
    );
    assert!(text.lines().any(|l| {
        l.starts_with(&format!("explain-{mode}: ")) && l.ends_with(" passed, 0 failed")
    }));
    Some(text)
}

#[test]
fn explain_names_the_hpet_edu_and_a_target_and_its_door_verdicts_hold_in_the_default_vm() {
    let Some(text) = explain_run("default", &[]) else {
        return;
    };
    assert!(text.contains("ok   - explain 0xfed00000: HPET 0 [0xfed00000-0xfed003ff]"));
    assert!(text.contains(" BAR0 [0xfe"), "edu's BAR0 line");
    assert!(text.contains(": card liveness check"));
    assert!(
        text.contains(": in no region of /proc/iomem (no top-level range of /proc/iomem holds it)")
    );
    // The permissive kernel: /dev/mem reads and writes the target's RAM, and poke did.
    assert!(text.contains("through /dev/mem: explain says write true"));
    assert!(text.contains("ok   - the target saw exactly 0x5eed0001"));
}

#[test]
fn explain_door_verdicts_hold_in_the_distro_vm_before_and_after_physdemo_mem() {
    let Some(text) = explain_run("distro", &[("PHYSDEMO_VM_KERNEL", "distro")]) else {
        return;
    };
    assert!(text.contains(
        "ok   - without physdemo_mem, /dev/mem: STRICT_DEVMEM: /dev/mem refuses System RAM above 1 MiB (mmap: EPERM)"
    ));
    assert!(text.contains("and peek --device /dev/mem"));
    assert!(text.contains("really fails with EPERM"));
    assert!(text.contains("ok   - with physdemo_mem, /dev/physmem reads and writes"));
    assert!(text.contains("by mmap: STRICT_DEVMEM lets /dev/mem map RAM below 1 MiB"));
}
