// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo doctor` on this host: every line of its report checked against what the host
//! shows when asked independently (the files themselves, read with std and `zcat`), and the
//! next step it names. This host has no /dev/mem (CONFIG_DEVMEM is off) and no module
//! support, so the report must say so and send the user to the VM; the VM's three reports
//! (permissive, distro, distro under lockdown) are checked in `tests/it/vm.rs`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::*;

/// The value of `CONFIG_NAME` in the gzip'd config, as `zcat | grep` sees it.
fn config_value(config_gz: &str, name: &str) -> String {
    let out = Command::new("zcat").arg(config_gz).output().expect("zcat");
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        if let Some(value) = line.strip_prefix(&format!("CONFIG_{name}=")) {
            return value.to_string();
        }
        if line == format!("# CONFIG_{name} is not set") {
            return "not set".to_string();
        }
    }
    "absent".to_string()
}

fn doctor_json() -> Value {
    let out = run(&["doctor", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "", "doctor printed on stderr");
    serde_json::from_str(stdout_of(&out).trim()).expect("one JSON object")
}

#[test]
fn doctor_reports_this_host_as_it_is() {
    require_root();
    let report = doctor_json();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(report["release"], release.trim());
    // The config: every symbol as zcat shows it, when /proc/config.gz is there.
    if Path::new("/proc/config.gz").exists() {
        assert_eq!(report["config"]["source"], "/proc/config.gz");
        let settings = report["config"]["settings"].as_object().unwrap();
        assert_eq!(settings.len(), 8);
        for (name, value) in settings {
            assert_eq!(
                value,
                &config_value("/proc/config.gz", name),
                "CONFIG_{name}"
            );
        }
    }
    // /dev/mem, /dev/port, /dev/physmem: present or not, as the file system says.
    let dev_mem = &report["dev_mem"];
    assert_eq!(dev_mem["present"], Path::new("/dev/mem").exists());
    assert_eq!(
        report["physmem"]["present"],
        Path::new("/dev/physmem").exists()
    );
    assert_eq!(
        report["dev_port"] == "absent",
        !Path::new("/dev/port").exists()
    );
    // DKMS: the version its install link for this kernel names (readlink), or none.
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
    let link = format!(
        "/var/lib/dkms/physdemo/kernel-{}-{}",
        release.trim(),
        std::env::consts::ARCH
    );
    let target = Command::new("readlink")
        .arg(&link)
        .output()
        .expect("readlink");
    let target = String::from_utf8_lossy(&target.stdout);
    let version = target.split('/').next().filter(|v| !v.trim().is_empty());
    assert_eq!(
        report["physmem"]["dkms"],
        version.map_or(Value::Null, |v| Value::from(v.trim())),
        "{link} -> {target}"
    );
    // Modules: this host's kernel has no /proc/modules.
    assert_eq!(
        report["physmem"]["modules_load"],
        Path::new("/proc/modules").exists()
    );
    // As root, pagemap shows frames, and physdemo's own page is RAM above 1 MiB.
    assert_eq!(report["privileges"]["root"], true);
    assert_eq!(report["pagemap_pfns"], true);
    let own = hex(&report["own_page"]);
    assert!(own >= 0x10_0000 && own % page_size() == 0, "{own:#x}");
    let iomem = std::fs::read_to_string("/proc/iomem").unwrap();
    let in_ram = iomem.lines().any(|line| {
        let Some((range, name)) = line.trim_start().split_once(" : ") else {
            return false;
        };
        let (start, end) = range.split_once('-').unwrap();
        let (start, end) = (
            u64::from_str_radix(start, 16).unwrap(),
            u64::from_str_radix(end, 16).unwrap(),
        );
        name == "System RAM" && start <= own && own <= end
    });
    assert!(in_ram, "{own:#x} is in no System RAM range of /proc/iomem");
    assert_eq!(
        report["kpageflags"],
        std::fs::File::open("/proc/kpageflags").is_ok()
    );
    // Lockdown, as securityfs shows it, or unknown where it is not mounted.
    match std::fs::read_to_string("/sys/kernel/security/lockdown") {
        Ok(text) => {
            let mode = text
                .split_whitespace()
                .find_map(|w| w.strip_prefix('[')?.strip_suffix(']'))
                .unwrap();
            assert_eq!(report["lockdown"]["mode"], mode);
        }
        Err(_) => assert!(
            report["lockdown"]["mode"].is_null() || report["lockdown"]["mode"] == "none",
            "{}",
            report["lockdown"]
        ),
    }
    // No /dev/mem and no modules here: the next step is the VM, and says why.
    if !Path::new("/dev/mem").exists() && !Path::new("/proc/modules").exists() {
        assert_eq!(dev_mem["open"], "absent");
        assert_eq!(dev_mem["ram_read"], "not tried");
        assert_eq!(report["strict_devmem"]["on"], false);
        assert_eq!(
            report["next_step"],
            "use the project's VM (demos/vm/run): RAM is out of reach here (there is no /dev/mem) and this kernel cannot load modules, so physdemo_mem cannot help"
        );
    }
}

#[test]
fn doctor_text_says_what_its_json_says() {
    require_root();
    let report = doctor_json();
    let out = run(&["doctor"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout_of(&out);
    let line = |label: &str| -> String {
        text.lines()
            .find(|l| l.starts_with(&format!("{label:<18}")))
            .unwrap_or_else(|| panic!("no {label} line in\n{text}"))[18..]
            .to_string()
    };
    assert_eq!(line("next step"), report["next_step"].as_str().unwrap());
    if report["dev_mem"]["open"] == "absent" {
        assert!(line("/dev/mem").starts_with("absent (the kernel has no CONFIG_DEVMEM"));
    }
    assert!(line("pagemap").starts_with("shows frame numbers to this process"));
    assert!(line("own page").starts_with("physdemo's probe page is at physical 0x"));
    // /proc/kcore, as the file system has it (this host has none: no CONFIG_PROC_KCORE)
    if !Path::new("/proc/kcore").exists() {
        assert_eq!(report["kcore"]["present"], false);
        assert_eq!(report["kcore"]["open"], "absent");
        assert_eq!(
            line("/proc/kcore"),
            "absent (the kernel has no CONFIG_PROC_KCORE)"
        );
    }
    assert_eq!(text.lines().count(), 15, "{text}");
}
