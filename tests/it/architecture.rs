// SPDX-License-Identifier: MIT OR Apache-2.0
//! What ARCHITECTURE.md claims, checked against the tree: which layer may use which,
//! `unsafe` only in `src/sys/`, clap only in `src/cli/`, no `json!`, no function over 60
//! lines in `src/commands/`, a `//!` paragraph opening every file (after its SPDX line), every
//! `PHYSDEMO_*` variable the project mentions in its table, and an SPDX license line in every
//! tracked source file: GPL-2.0 for the kernel modules, MIT OR Apache-2.0 for everything else.
//!
//! A layer is a top-level module of `src/` (`error.rs` is one on its own). A use is any
//! `crate::LAYER` path outside comments and `#[cfg(test)]` code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each layer and the layers it may use; `lib.rs` and `main.rs` only declare and start.
const ALLOWED: &[(&str, &[&str])] = &[
    ("error", &[]),
    ("sys", &[]),
    ("kernel", &["error", "sys"]),
    ("proc", &["error", "kernel", "sys"]),
    ("physmem", &["error", "kernel", "proc", "sys"]),
    ("scan", &["error", "kernel", "proc"]),
    ("resolve", &["error", "kernel", "physmem", "proc"]),
    ("render", &["error", "kernel", "physmem", "resolve"]),
    (
        "commands",
        &[
            "error", "kernel", "physmem", "proc", "render", "resolve", "scan", "sys",
        ],
    ),
    (
        "cli",
        &[
            "commands", "error", "kernel", "physmem", "proc", "render", "resolve", "scan",
        ],
    ),
];

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading src/").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The layer a file belongs to: `src/LAYER/...` or `src/LAYER.rs`.
fn layer_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).expect("a file under src/");
    let first = rel.components().next().expect("a path").as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_string()
}

/// The file's lines of code: without comment lines, and without what follows `#[cfg(test)]`.
fn code_lines(text: &str) -> Vec<&str> {
    text.lines()
        .take_while(|line| line.trim() != "#[cfg(test)]")
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect()
}

fn files() -> Vec<(PathBuf, String)> {
    let mut paths = Vec::new();
    rust_files(&src(), &mut paths);
    paths.sort();
    assert!(paths.len() > 50, "only {} files under src/", paths.len());
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("reading a source file");
            (p, text)
        })
        .collect()
}

#[test]
fn each_layer_uses_only_the_layers_below_it() {
    let allowed: BTreeMap<&str, BTreeSet<&str>> = ALLOWED
        .iter()
        .map(|(layer, uses)| (*layer, uses.iter().copied().collect()))
        .collect();
    let mut seen = BTreeSet::new();
    let mut wrong = Vec::new();
    for (path, text) in files() {
        let layer = layer_of(&path);
        if layer == "lib" || layer == "main" {
            continue;
        }
        let Some(may_use) = allowed.get(layer.as_str()) else {
            wrong.push(format!(
                "{}: layer '{layer}' is not in ALLOWED",
                path.display()
            ));
            continue;
        };
        seen.insert(layer.clone());
        for line in code_lines(&text) {
            for (at, _) in line.match_indices("crate::") {
                let used: String = line[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if used != layer && !may_use.contains(used.as_str()) {
                    wrong.push(format!(
                        "{}: {layer} uses {used}: {}",
                        path.display(),
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(seen.len(), ALLOWED.len(), "layers found: {seen:?}");
}

#[test]
fn unsafe_lives_in_sys_and_clap_in_cli_and_json_comes_from_types() {
    let mut wrong = Vec::new();
    let mut unsafe_blocks = 0;
    for (path, text) in files() {
        let layer = layer_of(&path);
        for line in code_lines(&text) {
            let has_unsafe = line.contains("unsafe {") || line.contains("unsafe impl");
            if has_unsafe {
                unsafe_blocks += 1;
                if layer != "sys" {
                    wrong.push(format!("{}: unsafe outside src/sys/", path.display()));
                }
            }
            if line.contains("clap") && layer != "cli" {
                wrong.push(format!("{}: clap outside src/cli/", path.display()));
            }
            if line.contains("json!") {
                wrong.push(format!("{}: json! instead of a type", path.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(
        unsafe_blocks > 10,
        "only {unsafe_blocks} unsafe blocks found in sys/"
    );
}

#[test]
fn no_function_in_commands_is_over_60_lines() {
    let mut long = Vec::new();
    let mut functions = 0;
    for (path, text) in files() {
        if layer_of(&path) != "commands" {
            continue;
        }
        let lines = code_lines(&text);
        for (start, line) in lines.iter().enumerate() {
            let head = line.trim_start();
            let is_fn = ["fn ", "pub fn ", "pub(crate) fn "]
                .iter()
                .any(|p| head.starts_with(p));
            if !is_fn {
                continue;
            }
            functions += 1;
            let mut depth = 0i32;
            let mut opened = false;
            let mut end = start;
            for (i, l) in lines.iter().enumerate().skip(start) {
                depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
                opened |= l.contains('{');
                end = i;
                if opened && depth <= 0 {
                    break;
                }
            }
            if end - start + 1 > 60 {
                long.push(format!(
                    "{}: {} ({} lines)",
                    path.display(),
                    head,
                    end - start + 1
                ));
            }
        }
    }
    assert!(
        functions > 50,
        "only {functions} functions found in commands/"
    );
    assert!(long.is_empty(), "{}", long.join("\n"));
}

/// A Rust file's text after its first line, the SPDX license line (checked on its own below).
fn after_spdx_line(text: &str) -> &str {
    match text.split_once('\n') {
        Some((first, rest)) if first.starts_with("// SPDX-License-Identifier: ") => rest,
        _ => text,
    }
}

#[test]
fn every_file_opens_with_a_paragraph_saying_what_it_is_for() {
    let bare: Vec<String> = files()
        .into_iter()
        .filter(|(_, text)| !after_spdx_line(text).starts_with("//!"))
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(bare.is_empty(), "no //! paragraph: {bare:?}");
}

/// The `PHYSDEMO_*` names a file of the project mentions (the C headers' include guards are
/// no variables).
fn physdemo_variables(dir: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir)
        .expect("reading a directory")
        .flatten()
    {
        let path = entry.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with('.') || name == "target" || name == "seeds" {
            continue;
        }
        if path.is_dir() {
            physdemo_variables(&path, found);
            continue;
        }
        if name.ends_with(".c") || name.ends_with(".h") || name.ends_with(".md") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // not text
        };
        for (at, _) in text.match_indices("PHYSDEMO_") {
            let word: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if word.len() > "PHYSDEMO_".len() {
                found.insert(word.trim_end_matches('_').to_string());
            }
        }
    }
}

#[test]
fn every_physdemo_variable_is_in_the_table_of_architecture_md() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut found = BTreeSet::new();
    for dir in ["src", "tests", "demos", ".ci", "fuzz"] {
        physdemo_variables(&repo.join(dir), &mut found);
    }
    assert!(found.len() > 20, "only {found:?}");
    let doc = std::fs::read_to_string(repo.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let missing: Vec<&String> = found
        .iter()
        .filter(|name| !doc.contains(&format!("`{name}`")))
        .collect();
    assert!(missing.is_empty(), "not in ARCHITECTURE.md: {missing:?}");
}

#[test]
fn every_skip_goes_through_the_one_guarded_function() {
    // `common::skip_requested` fails under CI and logs every skip for demos/test's summary;
    // a test that read a PHYSDEMO_SKIP_* variable itself would skip past both.
    let tests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut paths = Vec::new();
    rust_files(&tests, &mut paths);
    assert!(paths.len() > 10, "only {} files under tests/", paths.len());
    let mut ad_hoc = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("reading a test file");
        for line in code_lines(&text) {
            let squeezed: String = line.split_whitespace().collect();
            let squeezed = squeezed.replace("PHYSDEMO_SKIP_LOG", "the skip log");
            if squeezed.contains("var(\"PHYSDEMO_SKIP")
                || squeezed.contains("var_os(\"PHYSDEMO_SKIP")
            {
                ad_hoc.push(format!("{}: {}", path.display(), line.trim()));
            }
        }
    }
    assert!(
        ad_hoc.is_empty(),
        "read a skip variable outside common::skip_requested: {ad_hoc:?}"
    );
}

/// The license each tracked file must declare, by path; `None` for what carries no SPDX
/// line: data (fuzz seeds, pictures, text and JSON files, Cargo.lock), the license texts
/// themselves, Markdown (README.md's License section covers docs), .gitignore files, Debian
/// files whose format has no comments (changelog, copyright, source/format, compat), and
/// Cargo.toml files (their `license` field says it, checked below).
fn expected_license(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let data = [".md", ".png", ".svg", ".txt", ".json"];
    let debian = ["changelog", "copyright", "format", "compat"];
    let exempt = path.starts_with("fuzz/seeds/")
        || data.iter().any(|ext| name.ends_with(ext))
        || ["Cargo.lock", "Cargo.toml", "COPYING", ".gitignore"].contains(&name)
        || name.starts_with("LICENSE-")
        || (path.contains("debian/") && debian.contains(&name));
    if exempt {
        None
    } else if path == "demos/kmod/physdemo_mem.h" {
        // The ioctl ABI header: userland (physdemo's sys/, the torture program) may use it.
        Some("GPL-2.0 WITH Linux-syscall-note")
    } else if path.starts_with("demos/kmod/") && !path.starts_with("demos/kmod/torture/") {
        // The modules and their kbuild files; demos/kmod/build is a project script.
        Some(if name == "build" {
            "MIT OR Apache-2.0"
        } else {
            "GPL-2.0"
        })
    } else {
        Some("MIT OR Apache-2.0")
    }
}

/// The SPDX line of a file's header: the comment lines at its top (after a shebang), where
/// a script whose `--help` prints its header keeps the line just after `set -euo pipefail`.
fn spdx_of(text: &str) -> Option<String> {
    for line in text.lines() {
        let line = line.trim();
        let body = ["// ", "/* ", "# "]
            .iter()
            .find_map(|mark| line.strip_prefix(mark));
        if let Some(id) = body.and_then(|b| b.strip_prefix("SPDX-License-Identifier: ")) {
            return Some(id.trim_end_matches("*/").trim().to_string());
        }
        let header = line.is_empty()
            || line.starts_with('#')
            || line.starts_with("//")
            || line.starts_with("/*")
            || line.starts_with('*')
            || line == "set -euo pipefail";
        if !header {
            return None;
        }
    }
    None
}

#[test]
fn every_tracked_source_file_names_its_license_in_an_spdx_line() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(&repo)
        .output()
        .expect("running git ls-files (this test reads the tracked files of a git checkout)");
    assert!(out.status.success(), "git ls-files failed: {out:?}");
    let tracked = String::from_utf8(out.stdout).expect("UTF-8 paths");
    let mut checked = BTreeMap::new();
    let mut wrong = Vec::new();
    for path in tracked.split('\0').filter(|p| !p.is_empty()) {
        let Some(want) = expected_license(path) else {
            continue;
        };
        let text = std::fs::read_to_string(repo.join(path)).expect("a tracked text file");
        match spdx_of(&text) {
            Some(got) if got == want => *checked.entry(want).or_insert(0) += 1,
            got => wrong.push(format!("{path}: {got:?}, want {want:?}")),
        }
    }
    assert!(
        wrong.is_empty(),
        "SPDX lines missing or wrong:\n{}",
        wrong.join("\n")
    );
    let count = |license| checked.get(license).copied().unwrap_or(0);
    assert!(count("MIT OR Apache-2.0") > 150, "only {checked:?}");
    assert!(
        count("GPL-2.0") >= 5,
        "the modules and kbuild files: {checked:?}"
    );
    assert_eq!(count("GPL-2.0 WITH Linux-syscall-note"), 1, "{checked:?}");
    for manifest in ["Cargo.toml", "fuzz/Cargo.toml"] {
        let text = std::fs::read_to_string(repo.join(manifest)).expect("a Cargo.toml");
        assert!(
            text.lines().any(|l| l == "license = \"MIT OR Apache-2.0\""),
            "{manifest} has no license = \"MIT OR Apache-2.0\""
        );
    }
}
