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

/// Host files an end-to-end script needs in the guest (a list for PHYSDEMO_VM_FILES):
/// demos/e2e/kmod.sh needs the physdemo_buf module and demos/e2e/physmem.sh the
/// physdemo_mem module, which demos/kmod/build builds (cached, printing their paths);
/// physmem.sh also needs its static test program, from demos/kmod/torture/build.
fn files_for(script: &Path) -> Result<Option<String>, String> {
    let skipping = std::env::var_os("PHYSDEMO_SKIP_VM").is_some_and(|v| v == "1");
    let builds: &[&str] = match script.file_name().and_then(|name| name.to_str()) {
        _ if skipping => &[],
        Some("kmod.sh") => &["demos/kmod/build"],
        Some("physmem.sh") => &["demos/kmod/build", "demos/kmod/torture/build"],
        _ => &[],
    };
    if builds.is_empty() {
        return Ok(None);
    }
    let mut files = Vec::new();
    for build in builds {
        files.push(built_paths(build)?);
    }
    Ok(Some(files.join(" ")))
}

/// Runs a build script that prints the paths it built; they, whitespace-separated.
fn built_paths(build: &str) -> Result<String, String> {
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
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" "))
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
