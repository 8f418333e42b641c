// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo usage`: who really uses memory. RSS, PSS, USS and swap of every process, or of
//! every mapped file and kind of mapping (`--by mapping`, librank's view), from pagemap and
//! `/proc/kpagecount` ([`crate::scan::usage`]), counted as the kernel's `smaps_rollup` does.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::kernel::addr::PageSize;
use crate::kernel::usage::{Usage, UsageJson};
use crate::proc::process::uid_of_user;
use crate::render::json::write_json_line;
use crate::render::progress::Progress;
use crate::scan::owners::every_pid;
use crate::scan::usage::{account, MappingUsage, ProcessUsage, UsageReport, UsageScope};

/// The column a table is sorted by (largest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SortKey {
    Rss,
    Pss,
    Uss,
    Swap,
}

/// What `usage` was asked.
#[derive(Debug, Clone)]
pub(crate) struct UsageOptions {
    /// Only these processes; all when empty.
    pub(crate) pids: Vec<i32>,
    /// Only the processes of this user (a name or a uid).
    pub(crate) user: Option<String>,
    pub(crate) by_mapping: bool,
    pub(crate) sort: SortKey,
    pub(crate) json: bool,
}

/// The one line said when PSS and USS cannot be computed.
pub(crate) const NO_FRAMES_NOTE: &str = "physdemo: usage: PSS not computed, USS only from pagemap's exclusive bit: without CAP_SYS_ADMIN pagemap hides frame numbers and /proc/kpagecount cannot be read (run with sudo); RSS counts every present page";

/// A process in `usage --json`.
#[derive(Serialize)]
struct ProcessJson<'a> {
    pid: i32,
    command: &'a str,
    #[serde(flatten)]
    usage: UsageJson,
}

/// A mapping in `usage --by mapping --json`.
#[derive(Serialize)]
struct MappingJson<'a> {
    mapping: &'a str,
    processes: u64,
    #[serde(flatten)]
    usage: UsageJson,
}

/// `usage --json`: one object.
#[derive(Serialize)]
struct UsageReportJson<'a> {
    sort: SortKey,
    pss_computed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    processes: Option<Vec<ProcessJson<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mappings: Option<Vec<MappingJson<'a>>>,
    total: UsageJson,
    processes_counted: usize,
    processes_skipped: usize,
}

/// Runs `physdemo usage`.
pub(crate) fn run(options: &UsageOptions) -> Result<()> {
    let page = PageSize::of_system();
    let mut report = gather(options, page)?;
    if !report.frames_known {
        eprintln!("{NO_FRAMES_NOTE}");
    }
    sort_report(&mut report, options.sort);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if options.json {
        write_json_line(&mut out, &to_json(&report, options))?;
    } else if options.by_mapping {
        render_mappings(&mut out, &report)?;
    } else {
        render_processes(&mut out, &report)?;
    }
    out.flush()?;
    Ok(())
}

/// Gather: the processes asked for, scanned with a progress bar.
fn gather(options: &UsageOptions, page: PageSize) -> Result<UsageReport> {
    let uid = options.user.as_deref().map(uid_of_user).transpose()?;
    let named = !options.pids.is_empty();
    let pids = if named {
        options.pids.clone()
    } else {
        every_pid()?
    };
    let scope = UsageScope {
        pids,
        named,
        uid,
        by_mapping: options.by_mapping,
    };
    let mut progress = Progress::new("usage", scope.pids.len() as u64, "processes");
    let mut shown = 0;
    let report = account(&scope, page, |done| {
        progress.advance((done as u64).saturating_sub(shown));
        shown = shown.max(done as u64);
    });
    progress.finish();
    report
}

/// Largest first by the key, then by pid or name for a stable order.
fn sort_report(report: &mut UsageReport, key: SortKey) {
    let value = |u: &Usage| match key {
        SortKey::Rss => u.rss,
        SortKey::Pss => u.pss.0,
        SortKey::Uss => u.uss,
        SortKey::Swap => u.swap,
    };
    report.processes.sort_by(|a, b| {
        value(&b.usage)
            .cmp(&value(&a.usage))
            .then(a.pid.cmp(&b.pid))
    });
    report.mappings.sort_by(|a, b| {
        value(&b.usage)
            .cmp(&value(&a.usage))
            .then(a.name.cmp(&b.name))
    });
}

/// The sum of the processes (or mappings).
fn total(report: &UsageReport) -> Usage {
    let mut total = Usage::default();
    for p in &report.processes {
        total.add(&p.usage);
    }
    total
}

fn usage_json(usage: &Usage, frames_known: bool) -> UsageJson {
    UsageJson {
        rss: usage.rss,
        pss: frames_known.then_some(usage.pss.bytes()),
        uss: Some(usage.uss),
        swap: usage.swap,
        hugetlb: usage.hugetlb,
    }
}

fn to_json<'a>(report: &'a UsageReport, options: &UsageOptions) -> UsageReportJson<'a> {
    let known = report.frames_known;
    let processes = (!options.by_mapping).then(|| {
        report
            .processes
            .iter()
            .map(|p: &'a ProcessUsage| ProcessJson {
                pid: p.pid,
                command: &p.command,
                usage: usage_json(&p.usage, known),
            })
            .collect()
    });
    let mappings = options.by_mapping.then(|| {
        report
            .mappings
            .iter()
            .map(|m: &'a MappingUsage| MappingJson {
                mapping: &m.name,
                processes: m.processes,
                usage: usage_json(&m.usage, known),
            })
            .collect()
    });
    UsageReportJson {
        sort: options.sort,
        pss_computed: known,
        processes,
        mappings,
        total: usage_json(&total(report), known),
        processes_counted: report.processes.len(),
        processes_skipped: report.skipped,
    }
}

/// Kibibytes as a table cell (`-` where not computed).
fn kib(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "-".to_string(), |b| format!("{}K", b / 1024))
}

/// The four size cells of a line.
fn cells(usage: &Usage, known: bool) -> String {
    format!(
        "{:>10} {:>10} {:>10} {:>10}",
        kib(Some(usage.rss)),
        kib(known.then_some(usage.pss.bytes())),
        kib(Some(usage.uss)),
        kib(Some(usage.swap)),
    )
}

/// Render: procrank's table, a line a process, the totals last.
fn render_processes(out: &mut impl Write, report: &UsageReport) -> Result<()> {
    let known = report.frames_known;
    writeln!(
        out,
        "{:>8} {:>10} {:>10} {:>10} {:>10}  command",
        "pid", "rss", "pss", "uss", "swap"
    )?;
    for p in &report.processes {
        writeln!(
            out,
            "{:>8} {}  {}",
            p.pid,
            cells(&p.usage, known),
            p.command
        )?;
    }
    writeln!(
        out,
        "{:>8} {}  ({} processes{})",
        "total",
        cells(&total(report), known),
        report.processes.len(),
        skipped_words(report.skipped)
    )?;
    Ok(())
}

/// Render: librank's view, a line a file or kind of mapping.
fn render_mappings(out: &mut impl Write, report: &UsageReport) -> Result<()> {
    let known = report.frames_known;
    writeln!(
        out,
        "{:>10} {:>10} {:>10} {:>10} {:>6}  mapping",
        "rss", "pss", "uss", "swap", "procs"
    )?;
    for m in &report.mappings {
        writeln!(
            out,
            "{} {:>6}  {}",
            cells(&m.usage, known),
            m.processes,
            m.name
        )?;
    }
    writeln!(
        out,
        "{} {:>6}  total ({} mappings{})",
        cells(&total(report), known),
        report.processes.len(),
        report.mappings.len(),
        skipped_words(report.skipped)
    )?;
    Ok(())
}

fn skipped_words(skipped: usize) -> String {
    if skipped == 0 {
        String::new()
    } else {
        format!("; {skipped} exited or unreadable during the scan")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::usage::PssFixed;

    fn report() -> UsageReport {
        let usage = |rss: u64, pss: u64| Usage {
            rss,
            pss: PssFixed(pss << 12),
            uss: pss / 2,
            swap: 0,
            hugetlb: 0,
        };
        UsageReport {
            processes: vec![
                ProcessUsage {
                    pid: 7,
                    command: "small".into(),
                    usage: usage(8192, 4096),
                },
                ProcessUsage {
                    pid: 9,
                    command: "big".into(),
                    usage: usage(4096, 8192),
                },
            ],
            mappings: Vec::new(),
            frames_known: true,
            skipped: 1,
        }
    }

    #[test]
    fn sorts_largest_first_and_totals_last() {
        let mut report = report();
        sort_report(&mut report, SortKey::Pss);
        let mut text = Vec::new();
        render_processes(&mut text, &report).unwrap();
        let text = String::from_utf8(text).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[1].ends_with("big") && lines[2].ends_with("small"),
            "{text}"
        );
        assert!(lines[3].contains("12K") && lines[3].contains("(2 processes; 1 exited"));
        sort_report(&mut report, SortKey::Rss);
        assert_eq!(report.processes[0].pid, 7);
    }

    #[test]
    fn json_leaves_pss_out_when_it_could_not_be_computed() {
        let mut report = report();
        report.frames_known = false;
        let options = UsageOptions {
            pids: Vec::new(),
            user: None,
            by_mapping: false,
            sort: SortKey::Pss,
            json: true,
        };
        let json = serde_json::to_value(to_json(&report, &options)).unwrap();
        assert_eq!(json["processes"][0]["pss"], serde_json::Value::Null);
        assert_eq!(json["processes"][0]["rss"], 8192);
        assert_eq!(json["total"]["rss"], 12288);
        assert!(json.get("mappings").is_none());
    }
}
