// SPDX-License-Identifier: MIT OR Apache-2.0
//! The physdemo-dkms package as a user's machine meets it, without installing it: built by
//! `demos/package-dkms`, unpacked with `dpkg-deb -x` into a scratch root (nothing on this
//! machine changes), its layout, its control data, its maintainer scripts and its dkms.conf
//! read as DKMS reads it (a shell fragment sourced with `$arch` set), checked by Debian's own
//! tools (dpkg-deb, lintian) and against demos/kmod's files. That DKMS builds these sources
//! and the distro VM loads that build is `vm.rs`'s doors test (`demos/kmod/build`, distro).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a command, asserts it succeeded, returns its stdout.
fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds the package into `dir`, returns the .deb's path.
fn build_package(dir: &Path) -> PathBuf {
    let out = run_ok(
        Command::new(repo().join("demos/package-dkms"))
            .arg("--output")
            .arg(dir),
    );
    PathBuf::from(out.trim())
}

/// What dkms.conf sets when DKMS reads it for `arch`: the built modules, where they go,
/// the make command.
fn dkms_conf_for(conf: &Path, arch: &str) -> String {
    let script = "kernel_source_dir=/k; dkms_tree=/t; . \"$1\"; \
                  echo \"$PACKAGE_NAME $PACKAGE_VERSION $AUTOINSTALL\"; \
                  echo \"${BUILT_MODULE_NAME[*]}\"; echo \"${DEST_MODULE_LOCATION[*]}\"; \
                  echo \"${MAKE[0]}\"";
    run_ok(
        Command::new("bash")
            .args(["-c", &format!("arch={arch}; {script}"), "dkms.conf"])
            .arg(conf),
    )
}

#[test]
fn the_dkms_package_unpacks_to_what_dkms_and_debian_expect() {
    let version = env!("CARGO_PKG_VERSION");
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let deb = build_package(&scratch.path().join("out"));
    assert_eq!(
        deb.file_name().unwrap().to_string_lossy(),
        format!("physdemo-dkms_{version}-1_all.deb")
    );
    // The control data, as dpkg-deb reads it.
    for (field, want) in [
        ("Package", "physdemo-dkms".to_string()),
        ("Version", format!("{version}-1")),
        ("Architecture", "all".to_string()),
        ("Depends", "dkms (>= 2.1.0.0)".to_string()),
        ("Section", "kernel".to_string()),
    ] {
        let got = run_ok(Command::new("dpkg-deb").arg("-f").arg(&deb).arg(field));
        assert_eq!(got.trim(), want, "control field {field}");
    }
    // Unpacked into a scratch root: exactly these files.
    let root = scratch.path().join("root");
    run_ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    let listed = run_ok(
        Command::new("find")
            .arg(".")
            .arg("-type")
            .arg("f")
            .current_dir(&root),
    );
    let mut files: Vec<&str> = listed.lines().collect();
    files.sort_unstable();
    let src = format!("./usr/src/physdemo-{version}");
    let sources = [
        "Kbuild",
        "physdemo_buf.c",
        "physdemo_mem.c",
        "physdemo_mem.h",
        "physdemo_testdev.c",
    ];
    let mut want: Vec<String> = sources.iter().map(|f| format!("{src}/{f}")).collect();
    want.push(format!("{src}/dkms.conf"));
    want.extend(
        [
            "./usr/share/doc/physdemo-dkms/changelog.Debian.gz",
            "./usr/share/doc/physdemo-dkms/copyright",
            "./usr/share/lintian/overrides/physdemo-dkms",
        ]
        .map(String::from),
    );
    want.sort_unstable();
    assert_eq!(files, want);
    // The sources are demos/kmod's, byte for byte.
    for f in sources {
        let shipped = std::fs::read(root.join(&src[2..]).join(f)).unwrap();
        assert!(
            shipped == std::fs::read(repo().join("demos/kmod").join(f)).unwrap(),
            "{f} differs from demos/kmod/{f}"
        );
    }
    // dkms.conf as DKMS reads it: all three modules on x86-64, physdemo_mem and physdemo_buf
    // on arm64, physdemo_buf alone elsewhere.
    let conf = root.join(&src[2..]).join("dkms.conf");
    let x86 = dkms_conf_for(&conf, "x86_64");
    let x86: Vec<&str> = x86.lines().collect();
    assert_eq!(x86[0], format!("physdemo {version} yes"));
    assert_eq!(x86[1], "physdemo_mem physdemo_buf physdemo_testdev");
    assert_eq!(x86[2], "/updates/dkms /updates/dkms /updates/dkms");
    assert_eq!(x86[3], format!("make -C /k M=/t/physdemo/{version}/build PHYSDEMO_MODULES='physdemo_mem physdemo_buf physdemo_testdev' modules"));
    let arm = dkms_conf_for(&conf, "aarch64");
    let arm: Vec<&str> = arm.lines().collect();
    assert_eq!(
        (arm[1], arm[2]),
        ("physdemo_mem physdemo_buf", "/updates/dkms /updates/dkms")
    );
    let other = dkms_conf_for(&conf, "riscv64");
    let other: Vec<&str> = other.lines().collect();
    assert_eq!((other[1], other[2]), ("physdemo_buf", "/updates/dkms"));
    // The copyright file names the modules' license, GPL-2.0 (the header's with its note).
    let copyright =
        std::fs::read_to_string(root.join("usr/share/doc/physdemo-dkms/copyright")).unwrap();
    assert!(copyright.starts_with(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
    ));
    assert!(
        copyright.contains("Files: *\nCopyright: 2026 the physdemo developers\nLicense: GPL-2.0\n")
    );
    assert!(copyright.contains("License: GPL-2.0 WITH Linux-syscall-note\n"));
    assert!(copyright.contains("/usr/share/common-licenses/GPL-2"));
    // The maintainer scripts: DKMS's common postinst, `dkms remove` before removal.
    let control = scratch.path().join("control");
    run_ok(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&control));
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    assert!(postinst.contains("/usr/lib/dkms/common.postinst"));
    assert!(postinst.contains(&format!("DKMS_VERSION={version}\n")));
    let prerm = std::fs::read_to_string(control.join("prerm")).unwrap();
    assert!(prerm.contains("dkms remove -m $DKMS_NAME -v $DKMS_VERSION --all"));
    for script in ["postinst", "prerm"] {
        run_ok(Command::new("sh").arg("-n").arg(control.join(script)));
    }
    // Rebuilt, the package is the same bytes (file times are the last commit's).
    let again = build_package(&scratch.path().join("again"));
    assert!(
        std::fs::read(&deb).unwrap() == std::fs::read(&again).unwrap(),
        "the .deb is not reproducible"
    );
    // lintian, Debian's package checker: no error, no warning, pedantic tags included.
    let out = Command::new("lintian")
        .args(["--pedantic", "-I"])
        .arg(&deb)
        .output()
        .expect("lintian missing: run demos/setup");
    let tags = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && tags.trim().is_empty(),
        "lintian: {tags}"
    );
}
