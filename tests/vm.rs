//! End-to-end tests inside the project's QEMU VM, where /dev/mem really works.
//!
//! Each test boots the VM through `demos/vm/run SCRIPT` (the same contract the demos use)
//! and asserts the exact values the script printed. The VM needs packages that
//! `demos/setup` installs and a kernel that `demos/kernel/build` builds (cached); when a
//! prerequisite is missing these tests fail and name it. `PHYSDEMO_SKIP_VM=1` skips them
//! with a loud message, for a quick local run only: CI never sets it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// One VM at a time: two cores do not run two emulated machines well.
static ONE_VM: Mutex<()> = Mutex::new(());

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `script` in the VM; `None` only when skipping was asked for explicitly.
fn vm_run(script: &Path, args: &[&str]) -> Option<Output> {
    vm_run_with_files(script, args, None)
}

/// As [`vm_run`], with host paths (space-separated) copied to /files in the guest.
fn vm_run_with_files(script: &Path, args: &[&str], files: Option<&str>) -> Option<Output> {
    vm_run_with_env(script, args, files, &[])
}

/// As [`vm_run_with_files`], with variables for demos/vm/run (PHYSDEMO_VM_PAT, …).
fn vm_run_with_env(
    script: &Path,
    args: &[&str],
    files: Option<&str>,
    env: &[(&str, &str)],
) -> Option<Output> {
    if std::env::var_os("PHYSDEMO_SKIP_VM").is_some_and(|v| v == "1") {
        eprintln!("\n!!! SKIPPED VM TEST {} because PHYSDEMO_SKIP_VM=1: /dev/mem writes are NOT tested !!!\n", script.display());
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
        .envs(files.map(|files| ("PHYSDEMO_VM_FILES", files)))
        .envs(env.iter().copied())
        .output()
        .expect("running demos/vm/run");
    eprintln!(
        "--- {} (exit {:?}) ---\n{}{}",
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
    let mut failures = Vec::new();
    for script in &scripts {
        let files = match files_for(script) {
            Ok(files) => files,
            Err(why) => {
                failures.push(format!("{}: {why}", script.display()));
                continue;
            }
        };
        let Some(out) = vm_run_with_files(script, &[], files.as_deref()) else {
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let summary_ok = text.lines().any(|l| l.contains(" passed, 0 failed"));
        if !out.status.success() || text.contains("FAIL") || !summary_ok {
            failures.push(script.display().to_string());
        }
    }
    assert!(failures.is_empty(), "failed in the VM: {failures:?}");
}

/// Host files an end-to-end script needs in the guest: demos/e2e/kmod.sh needs the
/// physdemo_buf module, which demos/kmod/build builds (cached) and whose path it prints.
fn files_for(script: &Path) -> Result<Option<String>, String> {
    let skipping = std::env::var_os("PHYSDEMO_SKIP_VM").is_some_and(|v| v == "1");
    if skipping || script.file_name() != Some("kmod.sh".as_ref()) {
        return Ok(None);
    }
    let build = Command::new(repo().join("demos/kmod/build"))
        .output()
        .map_err(|err| format!("could not run demos/kmod/build: {err}"))?;
    let stderr = String::from_utf8_lossy(&build.stderr);
    eprint!("{stderr}");
    if !build.status.success() {
        return Err(format!(
            "the kernel module did not build (demos/kmod/build exit {:?}): {}",
            build.status.code(),
            stderr.trim()
        ));
    }
    Ok(Some(
        String::from_utf8_lossy(&build.stdout).trim().to_string(),
    ))
}

/// The stress helper (demos/stress/memhog.c, built static and cached by demos/stress/build),
/// for PHYSDEMO_VM_FILES; `None` when VM tests are skipped.
fn stress_helper() -> Option<String> {
    if std::env::var_os("PHYSDEMO_SKIP_VM").is_some_and(|v| v == "1") {
        return None;
    }
    let build = Command::new(repo().join("demos/stress/build"))
        .output()
        .expect("running demos/stress/build");
    assert!(
        build.status.success(),
        "demos/stress/build failed: {}",
        String::from_utf8_lossy(&build.stderr)
    );
    Some(String::from_utf8_lossy(&build.stdout).trim().to_string())
}

/// Runs a demos/stress script with the helper; asserts it passed and returns its output.
fn stress_run(script: &str) -> Option<String> {
    let helper = stress_helper()?;
    let out = vm_run_with_files(&repo().join(script), &[], Some(&helper))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{script} failed in the VM");
    assert!(!text.contains("FAIL"), "{script} printed FAIL lines");
    assert!(text.lines().any(|l| l.contains(" passed, 0 failed")));
    Some(text)
}

#[test]
fn pokes_under_page_migration_land_on_the_target_or_are_refused_never_elsewhere() {
    let Some(text) = stress_run("demos/stress/migrate.sh") else {
        return;
    };
    let summary = text
        .lines()
        .find(|l| l.starts_with("stress: "))
        .expect("a stress: summary line");
    assert!(summary.contains(" 0 unclear, "), "{summary}");
    assert!(summary.contains(" 0 corruptions"), "{summary}");
}

#[test]
fn races_around_the_write_and_forged_targets_are_refused_in_the_vm() {
    let Some(text) = stress_run("demos/stress/races.sh") else {
        return;
    };
    assert!(text.contains("races provoked and refused"));
}

#[test]
fn maps_counts_transparent_huge_pages_as_the_kernel_does() {
    let Some(text) = stress_run("demos/stress/huge.sh") else {
        return;
    };
    assert!(text.contains("maps summary: huge 4096 pages = AnonHugePages"));
}

/// One device access in QEMU's trace: `memory_region_ops_write cpu 0 mr 0x… addr 0xfea00004
/// value 0x11111111 size 4 name 'edu-mmio'`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Access {
    write: bool,
    addr: u64,
    value: u64,
    size: u64,
}

/// The accesses to the region named `region` in a trace, in order.
fn traced_accesses(trace: &str, region: &str) -> Vec<Access> {
    let name = format!("name '{region}'");
    trace
        .lines()
        .filter(|line| line.ends_with(&name))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let field = |key: &str| {
                let at = fields.iter().position(|f| *f == key)?;
                u64::from_str_radix(fields.get(at + 1)?.trim_start_matches("0x"), 16).ok()
            };
            Some(Access {
                write: fields.first()? == &"memory_region_ops_write",
                addr: field("addr")?,
                value: field("value")?,
                size: field("size")?,
            })
        })
        .collect()
}

#[test]
fn a_device_register_gets_exactly_the_accesses_asked_for_as_qemu_traces_them() {
    let trace = std::env::temp_dir().join(format!("physdemo-trace-{}.log", std::process::id()));
    let trace_path = trace.to_str().expect("a UTF-8 temp path");
    let Some(out) = vm_run_with_env(
        &repo().join("demos/vm/accesses.sh"),
        &[],
        None,
        &[("PHYSDEMO_VM_TRACE", trace_path)],
    ) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "demos/vm/accesses.sh failed in the VM"
    );
    let log = std::fs::read_to_string(&trace).expect("QEMU wrote the trace");
    let _ = std::fs::remove_file(&trace);
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
    for access in traced_accesses(&log, "edu-mmio") {
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
        traced_accesses(&log, "edu-mmio").len(),
        want.len()
    );
    // The refused writes never reached PCI configuration space.
    let config_writes: Vec<Access> = traced_accesses(&log, "pcie-mmcfg-mmio")
        .into_iter()
        .filter(|a| a.write && a.value == 0x5a)
        .collect();
    assert!(
        config_writes.is_empty(),
        "{config:#x}: refused writes reached config space: {config_writes:x?}"
    );
}

#[test]
fn with_pat_on_only_method_rw_reaches_ram_and_physdemo_says_so() {
    let Some(out) = vm_run_with_env(
        &repo().join("demos/vm/pat.sh"),
        &[],
        None,
        &[("PHYSDEMO_VM_PAT", "on")],
    ) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demos/vm/pat.sh failed in the VM");
    assert!(!text.contains("FAIL"));
    assert!(text.contains("the target saw exactly 0xc0ffee0123456789"));
    assert!(text
        .lines()
        .any(|l| l.starts_with("pat: ") && l.ends_with(" passed, 0 failed")));
}
