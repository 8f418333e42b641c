// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo doctor`: what this machine lets physdemo do to physical memory, and why, each
//! line measured rather than guessed, and the one next step that would open the rest.
//!
//! Gather: the kernel's config (/proc/config.gz or /boot/config-<release>), this process's
//! privileges, and probes. RAM is probed on a page of physdemo's own
//! ([`crate::physmem::probe::OwnPage`]): read through /dev/mem with read(), with a mapping
//! opened O_SYNC and one opened without, and through /dev/physmem; RAM below 1 MiB by
//! comparing what a mapping and read() show of the same page; device memory by mapping a
//! page of each device range of /proc/iomem and unmapping it untouched (a device may act on
//! a read, so none is read); the cache type PAT gives a /dev/mem mapping, from debugfs's
//! `x86/pat_memtype_list` while the mapping is held; /proc/kcore's program headers (the
//! physical ranges it holds) and physdemo's own page read through it. Nothing is written anywhere: the
//! kernel checks writes as it checks reads (see [`crate::physmem::probe`]). /dev/port is
//! opened, never read. Report: [`DoctorJson`], one typed value; render: text lines or
//! `--json`. The command exits 0 whenever it could answer.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use crate::kernel::addr::{Hex, PageSize, PhysAddr};
use crate::kernel::capabilities::Capability;
use crate::kernel::config::KernelConfig;
use crate::kernel::iomem::{IomemMap, RegionKind};
use crate::kernel::lockdown::LockdownMode;
use crate::physmem::device::{identify, DeviceKind, FileKind, DEV_MEM, DEV_PHYSMEM};
use crate::physmem::explain::errno_name;
use crate::physmem::frame_pin::module_info;
use crate::physmem::kcore::{read_layout, reads, PROC_KCORE};
use crate::physmem::probe::{map_page, map_untouched, read_page, OwnPage, Seen};
use crate::proc::capabilities::{is_root, own_capabilities};
use crate::proc::config::{kernel_release, read_kernel_config};
use crate::proc::iomem::read_system_map;
use crate::proc::lockdown::{lockdown, Lockdown, LOCKDOWN_PATH};
use crate::proc::module::{
    dkms_installed_version, installed_module_file, loaded_module, physmem_dev_number,
    PHYSMEM_MODULE,
};
use crate::proc::pat::{memtypes, on_cmdline, pat_state};
use crate::render::json::write_json_line;
use crate::sys::phys_window::PhysWindow;

/// What `doctor` was asked.
#[derive(Debug, Clone)]
pub(crate) struct DoctorOptions {
    pub(crate) json: bool,
}

/// The config symbols that decide what /dev/mem and modules allow.
const SYMBOLS: [&str; 8] = [
    "DEVMEM",
    "STRICT_DEVMEM",
    "IO_STRICT_DEVMEM",
    "X86_PAT",
    "SECURITY_LOCKDOWN_LSM",
    "MODULES",
    "MODULE_SIG",
    "MODULE_SIG_FORCE",
];

/// The kernel's configuration: where it came from and the symbols that matter here.
#[derive(Debug, Serialize)]
struct ConfigJson {
    source: String,
    settings: BTreeMap<&'static str, String>,
}

#[derive(Debug, Serialize)]
struct PrivilegesJson {
    root: bool,
    cap_sys_rawio: bool,
    cap_sys_admin: bool,
    cap_sys_module: bool,
}

/// RAM below 1 MiB: what a mapping and read() show of one page there.
#[derive(Debug, Serialize)]
struct LowRamJson {
    paddr: PhysAddr,
    /// The first 8-byte word that is not zero in the mapping, and its value (`null` when
    /// the mapping showed none).
    word_at: Option<PhysAddr>,
    word: Option<Hex>,
    /// `"data"` (not all zeros), `"zeros"`, or the errno of the mapping.
    mmap: String,
    /// `"same"` (what the mapping shows), `"zeros"` (where the mapping shows data),
    /// `"other"`, or the errno.
    read: String,
}

/// A device range of /proc/iomem and what mapping its first page gave.
#[derive(Debug, Serialize)]
struct DeviceMapJson {
    name: String,
    start: Hex,
    end: Hex,
    /// `"ok"` or the errno.
    map: String,
}

/// /dev/mem: each probe's outcome is `"exact"` (physdemo's own bytes), `"zeros"`,
/// `"other"`, an errno (`"EPERM"`), or `"not tried"`.
#[derive(Debug, Serialize)]
struct DevMemJson {
    present: bool,
    /// `"ok"`, `"absent"`, or the errno of open(2).
    open: String,
    ram_read: String,
    ram_mmap: String,
    ram_mmap_cached: String,
    low_ram: Option<LowRamJson>,
    devices: Vec<DeviceMapJson>,
}

#[derive(Debug, Serialize)]
struct PhysmemJson {
    present: bool,
    /// The module's state in /proc/modules (`"Live"`, with its taints), or `null`.
    module: Option<String>,
    /// Where its file is installed for this kernel (the path `modules.dep` gives, else
    /// `extra/physdemo_mem.ko`), or `null`.
    module_file: Option<String>,
    /// The physdemo-dkms version DKMS installed for this kernel, or `null`.
    dkms: Option<String>,
    /// Whether this kernel loads modules at all (/proc/modules is there, loading is not
    /// switched off, and the config does not say MODULES is not set).
    modules_load: bool,
    open: String,
    ram_read: String,
    ram_mmap: String,
    /// What the module's INFO ioctl says (`"ABI 2, up to 64 pins per open file"`), or why
    /// poke cannot pin through it; `null` when /dev/physmem did not open.
    pinning: Option<String>,
}

/// A physical range, first and last address.
#[derive(Debug, Serialize)]
struct RangeJson {
    start: Hex,
    end: Hex,
}

/// /proc/kcore: the kernel's read-only ELF image of its memory.
#[derive(Debug, Serialize)]
struct KcoreJson {
    present: bool,
    /// `"ok"`, `"absent"`, or the errno of open(2).
    open: String,
    /// Whether lockdown (confidentiality) is what refused the open.
    closed_by_lockdown: bool,
    /// physdemo's own page read at the offset the program headers give its address.
    ram_read: String,
    /// The physical ranges its segments hold (RAM and the kernel image), merged.
    ranges: Vec<RangeJson>,
    /// Why its headers could not be decoded, or `null`.
    error: Option<String>,
}

/// An inference: `on` is `null` when neither a probe nor the config could tell.
#[derive(Debug, Serialize)]
struct VerdictJson {
    on: Option<bool>,
    why: String,
}

/// The cache type a /dev/mem mapping of a device page gets, per pat_memtype_list.
#[derive(Debug, Serialize)]
struct PatMappingJson {
    region: String,
    start: Hex,
    o_sync: Option<String>,
    cached: Option<String>,
}

#[derive(Debug, Serialize)]
struct PatJson {
    on: bool,
    cpu_flag: bool,
    nopat: bool,
    memtype_list: bool,
    mapping: Option<PatMappingJson>,
}

#[derive(Debug, Serialize)]
struct LockdownJson {
    mode: Option<&'static str>,
    why: String,
}

/// `doctor --json`, keys in this order.
#[derive(Debug, Serialize)]
struct DoctorJson {
    release: Option<String>,
    config: Option<ConfigJson>,
    privileges: PrivilegesJson,
    own_page: Option<PhysAddr>,
    own_page_error: Option<String>,
    dev_mem: DevMemJson,
    physmem: PhysmemJson,
    kcore: KcoreJson,
    strict_devmem: VerdictJson,
    io_strict_devmem: VerdictJson,
    pat: PatJson,
    lockdown: LockdownJson,
    /// `"ok"` (opens), `"absent"`, or the errno.
    dev_port: String,
    pagemap_pfns: bool,
    kpageflags: bool,
    kpagecount: bool,
    next_step: String,
}

/// Runs `physdemo doctor`.
pub(crate) fn run(options: &DoctorOptions) -> Result<()> {
    let report = gather();
    let mut out = std::io::stdout().lock();
    if options.json {
        write_json_line(&mut out, &report)?;
    } else {
        render_text(&mut out, &report)?;
    }
    out.flush()?;
    Ok(())
}

/// A probe's outcome as the report names it.
fn seen_code(seen: Option<Seen>) -> String {
    match seen {
        Some(Seen::Exact) => "exact".into(),
        Some(Seen::Zeros) => "zeros".into(),
        Some(Seen::Other) => "other".into(),
        Some(Seen::Refused(errno)) => errno_name(errno).into(),
        None => "not tried".into(),
    }
}

fn errno_code(err: &std::io::Error) -> String {
    errno_name(err.raw_os_error().unwrap_or(0)).to_string()
}

/// Opens a memory device read-only, O_SYNC unless `cached`.
fn open_device(path: &str, cached: bool) -> std::io::Result<File> {
    let mut open = OpenOptions::new();
    open.read(true);
    if !cached {
        open.custom_flags(libc::O_SYNC);
    }
    open.open(path)
}

/// Gather and report: every probe, then the verdicts and the next step.
fn gather() -> DoctorJson {
    let config = read_kernel_config();
    let caps = own_capabilities();
    let own = OwnPage::new();
    let map = read_system_map().ok().filter(|m| !m.is_hidden());
    let dev_mem = probe_dev_mem(own.as_ref().ok(), map.as_ref());
    let config_ref = config.as_ref().map(|(_, c)| c);
    let physmem = probe_physmem(own.as_ref().ok(), config_ref);
    let pat = probe_pat(map.as_ref(), &dev_mem);
    let mut report = DoctorJson {
        release: kernel_release(),
        config: config.as_ref().map(|(source, config)| ConfigJson {
            source: source.display().to_string(),
            settings: SYMBOLS
                .iter()
                .map(|&name| (name, config.get(name).to_string()))
                .collect(),
        }),
        privileges: PrivilegesJson {
            root: is_root(),
            cap_sys_rawio: caps.has(Capability::SysRawio),
            cap_sys_admin: caps.has(Capability::SysAdmin),
            cap_sys_module: caps.has(Capability::SysModule),
        },
        own_page: own.as_ref().ok().map(|o| o.paddr),
        own_page_error: own.as_ref().err().cloned(),
        strict_devmem: strict_verdict(&dev_mem, config_ref),
        io_strict_devmem: io_strict_verdict(&dev_mem, config_ref),
        dev_mem,
        physmem,
        kcore: probe_kcore(own.as_ref().ok()),
        pat,
        lockdown: lockdown_report(config_ref),
        dev_port: probe_dev_port(),
        pagemap_pfns: own.is_ok(),
        kpageflags: frame_file_readable("/proc/kpageflags", own.as_ref().ok()),
        kpagecount: frame_file_readable("/proc/kpagecount", own.as_ref().ok()),
        next_step: String::new(),
    };
    report.next_step = next_step(&report);
    report
}

/// /dev/mem: present, opens, RAM by read() and mapping (on physdemo's own page), low RAM,
/// device ranges mapped untouched.
fn probe_dev_mem(own: Option<&OwnPage>, map: Option<&IomemMap>) -> DevMemJson {
    let present = std::fs::metadata(DEV_MEM).is_ok();
    let mut report = DevMemJson {
        present,
        open: if present {
            String::new()
        } else {
            "absent".into()
        },
        ram_read: seen_code(None),
        ram_mmap: seen_code(None),
        ram_mmap_cached: seen_code(None),
        low_ram: None,
        devices: Vec::new(),
    };
    if !present {
        return report;
    }
    let file = match open_device(DEV_MEM, false) {
        Ok(file) => file,
        Err(err) => {
            report.open = errno_code(&err);
            return report;
        }
    };
    report.open = "ok".into();
    if let Some(own) = own {
        report.ram_read = seen_code(Some(own.read_through(&file)));
        report.ram_mmap = seen_code(Some(own.map_through(&file)));
        if let Ok(cached) = open_device(DEV_MEM, true) {
            report.ram_mmap_cached = seen_code(Some(own.map_through(&cached)));
        }
    }
    if let Some(map) = map {
        report.low_ram = probe_low_ram(&file, map);
        report.devices = device_ranges(map)
            .into_iter()
            .map(|(name, start, end)| DeviceMapJson {
                map: match map_untouched(&file, PhysAddr(start & !0xfff)) {
                    Ok(()) => "ok".into(),
                    Err(err) => errno_code(&err),
                },
                name,
                start: Hex(start),
                end: Hex(end),
            })
            .collect();
    }
    report
}

/// The whole pages of System RAM below 1 MiB, first to last.
fn low_ram_pages(map: &IomemMap) -> Vec<u64> {
    let mut pages = Vec::new();
    for region in map
        .regions
        .iter()
        .filter(|r| r.depth == 0 && r.kind() == RegionKind::SystemRam && r.start < 0x10_0000)
    {
        let mut page = (region.start + 0xfff) & !0xfff;
        while page + 0xfff <= region.end.min(0xf_ffff) {
            pages.push(page);
            page += 0x1000;
        }
    }
    pages
}

/// RAM below 1 MiB: the first page whose mapping shows data, and what read() shows of
/// it (the same bytes, or zeros where STRICT_DEVMEM hides it). Both are reads of RAM.
fn probe_low_ram(file: &File, map: &IomemMap) -> Option<LowRamJson> {
    let pages = low_ram_pages(map);
    let first = *pages.first()?;
    for &page in pages.iter().rev().take(64) {
        let mapped = match map_page(file, PhysAddr(page)) {
            Ok(bytes) => bytes,
            Err(err) => {
                return Some(LowRamJson {
                    paddr: PhysAddr(page),
                    word_at: None,
                    word: None,
                    mmap: errno_code(&err),
                    read: seen_code(None),
                })
            }
        };
        let Some((offset, word)) = mapped
            .chunks(8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap_or([0; 8])))
            .enumerate()
            .find(|&(_, w)| w != 0)
        else {
            continue;
        };
        let read = match read_page(file, PhysAddr(page)) {
            Ok(bytes) if bytes == mapped => "same".into(),
            Ok(bytes) if bytes.iter().all(|&b| b == 0) => "zeros".into(),
            Ok(_) => "other".into(),
            Err(err) => errno_code(&err),
        };
        return Some(LowRamJson {
            paddr: PhysAddr(page),
            word_at: Some(PhysAddr(page + 8 * offset as u64)),
            word: Some(Hex(word)),
            mmap: "data".into(),
            read,
        });
    }
    Some(LowRamJson {
        paddr: PhysAddr(first),
        word_at: None,
        word: None,
        mmap: "zeros".into(),
        read: seen_code(None),
    })
}

/// The innermost device ranges of /proc/iomem (a driver's claim rather than the device
/// around it), at most 12: `(name, start, end)`.
fn device_ranges(map: &IomemMap) -> Vec<(String, u64, u64)> {
    let regions = &map.regions;
    regions
        .iter()
        .enumerate()
        .filter(|(i, r)| {
            let has_child = regions.get(i + 1).is_some_and(|next| next.depth > r.depth);
            r.kind() == RegionKind::Device && !has_child
        })
        .map(|(_, r)| (r.name.clone(), r.start, r.end))
        .take(12)
        .collect()
}

/// /dev/physmem: present (physdemo_mem's device), the module, and RAM through it.
fn probe_physmem(own: Option<&OwnPage>, config: Option<&KernelConfig>) -> PhysmemJson {
    let present = std::fs::metadata(DEV_PHYSMEM).is_ok_and(|meta| {
        matches!(
            identify(
                Path::new(DEV_PHYSMEM),
                FileKind::of(&meta),
                physmem_dev_number()
            ),
            Ok(DeviceKind::PhysMem)
        )
    });
    let module = match loaded_module(PHYSMEM_MODULE) {
        Ok(Some(line)) if line.taints.is_empty() => Some(line.state),
        Ok(Some(line)) => Some(format!("{} ({})", line.state, line.taints)),
        _ => None,
    };
    let mut report = PhysmemJson {
        present,
        module,
        module_file: installed_module_file().map(|p| p.display().to_string()),
        dkms: dkms_installed_version(),
        modules_load: loaded_module(PHYSMEM_MODULE).is_ok()
            && std::fs::read_to_string("/proc/sys/kernel/modules_disabled")
                .map_or(true, |v| v.trim() != "1")
            && config.is_none_or(|c| c.get("MODULES").is_on()),
        open: if present {
            String::new()
        } else {
            "absent".into()
        },
        ram_read: seen_code(None),
        ram_mmap: seen_code(None),
        pinning: None,
    };
    if present {
        match open_device(DEV_PHYSMEM, true) {
            Ok(file) => {
                report.open = "ok".into();
                report.ram_read = seen_code(own.map(|o| o.read_through(&file)));
                report.ram_mmap = seen_code(own.map(|o| o.map_through(&file)));
                report.pinning = Some(match module_info(&file) {
                    Ok(info) => format!(
                        "ABI {}, up to {} pins per open file",
                        info.abi_version, info.max_pins
                    ),
                    Err(problem) => format!("unavailable: {DEV_PHYSMEM} {problem}"),
                });
            }
            Err(err) => report.open = errno_code(&err),
        }
    }
    report
}

/// /proc/kcore: present, opens, its ranges, and physdemo's own page read through it.
fn probe_kcore(own: Option<&OwnPage>) -> KcoreJson {
    let present = std::fs::metadata(PROC_KCORE).is_ok();
    let mut report = KcoreJson {
        present,
        open: "absent".into(),
        closed_by_lockdown: false,
        ram_read: seen_code(None),
        ranges: Vec::new(),
        error: None,
    };
    if !present {
        return report;
    }
    let file = match File::open(PROC_KCORE) {
        Ok(file) => file,
        Err(err) => {
            report.open = errno_code(&err);
            report.closed_by_lockdown = err.raw_os_error() == Some(libc::EPERM)
                && matches!(lockdown(), Lockdown::Mode(LockdownMode::Confidentiality));
            return report;
        }
    };
    report.open = "ok".into();
    match read_layout(&file, Path::new(PROC_KCORE)) {
        Ok(layout) => {
            report.ranges = layout
                .ranges()
                .into_iter()
                .map(|(start, end)| RangeJson {
                    start: Hex(start.0),
                    end: Hex(end.0),
                })
                .collect();
        }
        Err(err) => report.error = Some(err.to_string()),
    }
    if let Some(own) = own {
        let page = PageSize::of_system().bytes();
        report.ram_read = match reads(own.paddr, page) {
            Ok(offset) => seen_code(Some(own.read_at_offset(&file, offset))),
            Err(err) => format!("no offset: {}", err.message),
        };
    }
    report
}

/// PAT: the flag, `nopat`, and the cache type of a /dev/mem mapping of a device page that
/// maps, with O_SYNC and (only where the kernel already maps that range, so that PAT keeps
/// its type) without.
fn probe_pat(map: Option<&IomemMap>, dev_mem: &DevMemJson) -> PatJson {
    let state = pat_state();
    let mut report = PatJson {
        on: state.on(),
        cpu_flag: state.cpu_flag,
        nopat: state.nopat,
        memtype_list: state.memtype_list,
        mapping: None,
    };
    if !state.memtype_list || map.is_none() {
        return report;
    }
    // A range the kernel maps itself (listed already) shows what PAT does to a second,
    // cached mapping; any range that maps shows the O_SYNC type.
    let listed = memtypes().unwrap_or_default();
    let maps: Vec<&DeviceMapJson> = dev_mem.devices.iter().filter(|d| d.map == "ok").collect();
    let Some(device) = maps
        .iter()
        .find(|d| {
            listed
                .iter()
                .any(|m| m.covers(d.start.0 & !0xfff, (d.start.0 & !0xfff) + 0x1000))
        })
        .or(maps.first())
    else {
        return report;
    };
    let page = PhysAddr(device.start.0 & !0xfff);
    let type_while_mapped = |cached: bool| -> Option<String> {
        let file = open_device(DEV_MEM, cached).ok()?;
        let window = PhysWindow::map(&file, page.0, 0x1000, false).ok()?;
        let types = memtypes()?;
        drop(window);
        let entry = types.iter().find(|m| m.covers(page.0, page.0 + 0x1000))?;
        Some(entry.cache.clone())
    };
    let o_sync = type_while_mapped(false);
    let kernel_maps_it =
        memtypes().is_some_and(|types| types.iter().any(|m| m.covers(page.0, page.0 + 0x1000)));
    report.mapping = Some(PatMappingJson {
        region: device.name.clone(),
        start: device.start,
        o_sync,
        cached: if kernel_maps_it {
            type_while_mapped(true)
        } else {
            None
        },
    });
    report
}

/// STRICT_DEVMEM: from the probes of physdemo's own page, else the config.
fn strict_verdict(dev_mem: &DevMemJson, config: Option<&KernelConfig>) -> VerdictJson {
    let from_config = config.map(|c| c.get("STRICT_DEVMEM"));
    let config_words = from_config
        .as_ref()
        .map_or_else(String::new, |s| format!("; the config says {s}"));
    let low_hidden = dev_mem.low_ram.as_ref().is_some_and(|l| l.read == "zeros");
    if dev_mem.ram_read == "EPERM" || dev_mem.ram_mmap == "EPERM" || low_hidden {
        return VerdictJson {
            on: Some(true),
            why: format!(
                "measured: /dev/mem refuses RAM above 1 MiB (EPERM){}{config_words}",
                if low_hidden {
                    " and its read() shows RAM below 1 MiB as zeros"
                } else {
                    ""
                }
            ),
        };
    }
    if dev_mem.ram_read == "exact" {
        return VerdictJson {
            on: Some(false),
            why: format!("measured: read() of /dev/mem gives physdemo's own page{config_words}"),
        };
    }
    VerdictJson {
        on: from_config.as_ref().map(|s| s.is_on()),
        why: match from_config {
            Some(s) => format!(
                "not measured (/dev/mem {}); the config says {s}",
                dev_mem.open
            ),
            None => format!(
                "not measured (/dev/mem {}) and no config to read",
                dev_mem.open
            ),
        },
    }
}

/// IO_STRICT_DEVMEM: a device range whose mapping /dev/mem refuses says yes.
fn io_strict_verdict(dev_mem: &DevMemJson, config: Option<&KernelConfig>) -> VerdictJson {
    let from_config = config.map(|c| c.get("IO_STRICT_DEVMEM"));
    let config_words = from_config
        .as_ref()
        .map_or_else(String::new, |s| format!("; the config says {s}"));
    let relaxed = if on_cmdline("iomem=relaxed") {
        " (iomem=relaxed is on the command line)"
    } else {
        ""
    };
    let refused: Vec<&str> = dev_mem
        .devices
        .iter()
        .filter(|d| d.map == "EPERM")
        .map(|d| d.name.as_str())
        .collect();
    if !refused.is_empty() {
        return VerdictJson {
            on: Some(true),
            why: format!(
                "measured: /dev/mem refuses to map ranges drivers claimed ({}){config_words}",
                refused.join(", ")
            ),
        };
    }
    let mapped = dev_mem.devices.iter().filter(|d| d.map == "ok").count();
    VerdictJson {
        on: from_config
            .as_ref()
            .map(|s| s.is_on() && relaxed.is_empty()),
        why: if mapped > 0 {
            format!("every device range tried maps ({mapped}){relaxed}{config_words}")
        } else {
            format!("not measured{relaxed}{config_words}")
        },
    }
}

fn lockdown_report(config: Option<&KernelConfig>) -> LockdownJson {
    match lockdown() {
        Lockdown::Mode(mode) => LockdownJson {
            mode: Some(mode.name()),
            why: format!(
                "{LOCKDOWN_PATH}: {}",
                std::fs::read_to_string(LOCKDOWN_PATH)
                    .unwrap_or_default()
                    .trim()
            ),
        },
        Lockdown::Unknown(_) if config.is_some_and(|c| !c.get("SECURITY_LOCKDOWN_LSM").is_on()) => {
            LockdownJson {
                mode: Some("none"),
                why: format!(
                    "this kernel has no lockdown LSM (the config says SECURITY_LOCKDOWN_LSM {})",
                    config.map_or_else(String::new, |c| c.get("SECURITY_LOCKDOWN_LSM").to_string())
                ),
            }
        }
        Lockdown::Unknown(why) => LockdownJson { mode: None, why },
    }
}

/// /dev/port: opened read-only (a read would be an `inb` of port 0), never read.
fn probe_dev_port() -> String {
    if std::fs::metadata("/dev/port").is_err() {
        return "absent".into();
    }
    match File::open("/dev/port") {
        Ok(_) => "ok".into(),
        Err(err) => errno_code(&err),
    }
}

/// Whether `path` (kpageflags, kpagecount) reads the entry of physdemo's own frame.
fn frame_file_readable(path: &str, own: Option<&OwnPage>) -> bool {
    let pfn = own.map_or(0, |o| o.paddr.0 >> PageSize::of_system().shift());
    let mut word = [0u8; 8];
    File::open(path).is_ok_and(|f| f.read_exact_at(&mut word, pfn * 8).is_ok())
}

/// The one step that would open what is closed, most basic first.
fn next_step(report: &DoctorJson) -> String {
    let (mem, phys) = (&report.dev_mem, &report.physmem);
    let ram_open = |read: &str, mmap: &str| read == "exact" && mmap == "exact";
    if !report.privileges.root {
        return "run as root (sudo physdemo doctor): physical memory needs CAP_SYS_RAWIO, frame numbers CAP_SYS_ADMIN".into();
    }
    let kcore = kcore_words(report);
    if let Some(mode) = report.lockdown.mode.filter(|m| *m != "none") {
        let closed = if report.kcore.closed_by_lockdown {
            ", /dev/physmem and /proc/kcore"
        } else {
            " and /dev/physmem"
        };
        return format!("lockdown ({mode}) closes /dev/mem, /dev/port{closed} to root too: boot without it (Secure Boot off, no lockdown= on the command line), or use the project's VM: demos/vm/run{kcore}");
    }
    if ram_open(&mem.ram_read, &mem.ram_mmap) {
        return "none: /dev/mem reaches RAM by read() and by mapping; physdemo works as it is"
            .into();
    }
    if ram_open(&phys.ram_read, &phys.ram_mmap) {
        return format!("none: /dev/physmem reaches RAM by read() and by mapping, and physdemo goes through it wherever /dev/mem refuses ({})", refusal_words(mem));
    }
    if mem.ram_read == "exact" && phys.present {
        return "none for RAM by read(): --method rw reaches it through /dev/mem".into();
    }
    format!("{}{kcore}", physmem_step(report))
}

/// The clause a next step adds when /proc/kcore is the one door that reads RAM.
fn kcore_words(report: &DoctorJson) -> &'static str {
    let (mem, phys) = (&report.dev_mem, &report.physmem);
    let reads_ram = |code: &str| code == "exact";
    if reads_ram(&report.kcore.ram_read) && !reads_ram(&mem.ram_read) && !reads_ram(&phys.ram_read)
    {
        "; meanwhile peek and dump read RAM through /proc/kcore (read-only), the one door to RAM open here"
    } else {
        ""
    }
}

/// Why /dev/mem does not reach RAM, in a few words.
fn refusal_words(mem: &DevMemJson) -> String {
    match (
        mem.open.as_str(),
        mem.ram_read.as_str(),
        mem.ram_mmap.as_str(),
    ) {
        ("absent", ..) => "there is no /dev/mem".into(),
        ("ok", "EPERM", _) | ("ok", _, "EPERM") => "STRICT_DEVMEM".into(),
        ("ok", "exact", "EINVAL") => "PAT refuses mappings of RAM".into(),
        (open, read, mmap) => format!("/dev/mem: open {open}, read() {read}, mmap {mmap}"),
    }
}

/// The next step when neither device reaches RAM: physdemo_mem, or the VM.
fn physmem_step(report: &DoctorJson) -> String {
    let mem = &report.dev_mem;
    let why = refusal_words(mem);
    let pat_only = mem.ram_read == "exact" && mem.ram_mmap == "EINVAL";
    if !report.physmem.modules_load {
        return format!(
            "use the project's VM (demos/vm/run): RAM is out of reach here ({why}) and this kernel cannot load modules, so physdemo_mem cannot help{}",
            if pat_only { "; meanwhile --method rw reaches RAM through read()/write()" } else { "" }
        );
    }
    let phys = &report.physmem;
    let load = match (&phys.module, &phys.module_file, &phys.dkms) {
        (Some(state), ..) => format!("physdemo_mem is loaded ({state}) but /dev/physmem does not answer: reload it (rmmod physdemo_mem; insmod it again)"),
        (None, Some(_), Some(version)) => format!("load physdemo_mem: modprobe physdemo_mem (installed by DKMS, version {version})"),
        (None, Some(file), None) => format!("load physdemo_mem: insmod {file}"),
        (None, None, _) => "install physdemo_mem for this kernel and load it: the physdemo-dkms package (demos/package-dkms builds it; DKMS needs linux-headers-$(uname -r)), then modprobe physdemo_mem; or demos/kmod/build --host, then insmod the physdemo_mem.ko it prints; under Secure Boot sign it with a key the kernel trusts first".into(),
    };
    format!("{load}; physdemo then goes through /dev/physmem wherever /dev/mem refuses ({why})")
}

/// Render: the text report, one line per finding.
fn render_text(out: &mut impl Write, r: &DoctorJson) -> Result<()> {
    writeln!(
        out,
        "physdemo doctor: what this machine lets physdemo do, measured (Linux {}, {})",
        r.release.as_deref().unwrap_or("?"),
        if r.privileges.root {
            "root"
        } else {
            "not root"
        }
    )?;
    for (label, text) in text_lines(r) {
        writeln!(out, "{label:<18}{text}")?;
    }
    Ok(())
}

/// The label and sentence of every line of the text report.
fn text_lines(r: &DoctorJson) -> Vec<(&'static str, String)> {
    let mut lines = vec![
        ("kernel config", config_line(r)),
        ("privileges", privileges_line(r)),
        (
            "own page",
            match (&r.own_page, &r.own_page_error) {
                (Some(paddr), _) => format!("physdemo's probe page is at physical {paddr} (/proc/self/pagemap); every RAM probe reads it, nothing is written"),
                (None, Some(why)) => format!("no probe page: {why}"),
                (None, None) => "no probe page".into(),
            },
        ),
    ];
    lines.extend(dev_mem_lines(&r.dev_mem));
    lines.push(("STRICT_DEVMEM", verdict_line(&r.strict_devmem)));
    lines.push(("IO_STRICT_DEVMEM", verdict_line(&r.io_strict_devmem)));
    lines.push(("PAT", pat_line(&r.pat)));
    lines.push((
        "lockdown",
        match r.lockdown.mode {
            Some(mode) => format!("{mode} ({})", r.lockdown.why),
            None => format!("unknown: {}", r.lockdown.why),
        },
    ));
    lines.push(("/dev/port", port_line(&r.dev_port)));
    lines.push(("/dev/physmem", physmem_line(&r.physmem)));
    lines.push(("/proc/kcore", kcore_line(&r.kcore)));
    lines.push((
        "pagemap",
        if r.pagemap_pfns {
            "shows frame numbers to this process (CAP_SYS_ADMIN)".into()
        } else {
            "hides frame numbers from this process (it reads PFN 0 without CAP_SYS_ADMIN)".into()
        },
    ));
    lines.push((
        "kpageflags",
        format!(
            "{}; kpagecount {}",
            readable(r.kpageflags),
            readable(r.kpagecount)
        ),
    ));
    lines.push(("next step", r.next_step.clone()));
    lines
}

fn readable(ok: bool) -> &'static str {
    if ok {
        "readable"
    } else {
        "not readable"
    }
}

fn config_line(r: &DoctorJson) -> String {
    match &r.config {
        Some(config) => format!(
            "{}: {}",
            config.source,
            SYMBOLS
                .iter()
                .filter_map(|name| Some(format!("{name}={}", config.settings.get(name)?)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        None => {
            "not found (no /proc/config.gz, no /boot/config-<release>): the probes below decide"
                .into()
        }
    }
}

fn privileges_line(r: &DoctorJson) -> String {
    let p = &r.privileges;
    let caps: Vec<&str> = [
        (p.cap_sys_rawio, "CAP_SYS_RAWIO"),
        (p.cap_sys_admin, "CAP_SYS_ADMIN"),
        (p.cap_sys_module, "CAP_SYS_MODULE"),
    ]
    .iter()
    .map(|&(has, name)| if has { name } else { "" })
    .filter(|name| !name.is_empty())
    .collect();
    format!(
        "{}, capabilities: {}",
        if p.root { "root" } else { "not root" },
        if caps.is_empty() {
            "none of CAP_SYS_RAWIO, CAP_SYS_ADMIN, CAP_SYS_MODULE".into()
        } else {
            caps.join(", ")
        }
    )
}

/// A probe's outcome on physdemo's own page, in words.
fn outcome_words(code: &str) -> String {
    match code {
        "exact" => "reads physdemo's own page exactly".into(),
        "zeros" => "shows zeros where physdemo's page holds data".into(),
        "other" => "shows other bytes (the page moved?)".into(),
        "not tried" => "not tried".into(),
        errno => format!("refused ({errno})"),
    }
}

fn dev_mem_lines(mem: &DevMemJson) -> Vec<(&'static str, String)> {
    let head = match mem.open.as_str() {
        "absent" => "absent (the kernel has no CONFIG_DEVMEM, or /dev is incomplete)".to_string(),
        "ok" => "present (char 1:1), opens read-only".to_string(),
        errno => format!("present (char 1:1), open refused ({errno})"),
    };
    let mut lines = vec![("/dev/mem", head)];
    if mem.open != "ok" {
        return lines;
    }
    lines.push(("  RAM read()", outcome_words(&mem.ram_read)));
    lines.push((
        "  RAM mmap",
        format!(
            "O_SYNC: {}; cached: {}",
            outcome_words(&mem.ram_mmap),
            outcome_words(&mem.ram_mmap_cached)
        ),
    ));
    if let Some(low) = &mem.low_ram {
        lines.push(("  low RAM", low_ram_words(low)));
    }
    if !mem.devices.is_empty() {
        let devices: Vec<String> = mem
            .devices
            .iter()
            .map(|d| {
                format!(
                    "{} [{}-{}] {}",
                    d.name,
                    d.start,
                    d.end,
                    if d.map == "ok" {
                        "maps".to_string()
                    } else {
                        format!("refused ({})", d.map)
                    }
                )
            })
            .collect();
        lines.push((
            "  devices",
            format!(
                "{} (each mapped and unmapped, never read)",
                devices.join("; ")
            ),
        ));
    }
    lines
}

fn low_ram_words(low: &LowRamJson) -> String {
    match (low.mmap.as_str(), low.read.as_str()) {
        ("data", "same") => format!("{}: read() shows what a mapping shows", low.paddr),
        ("data", "zeros") => format!(
            "{}: a mapping shows data ({} at {}), read() shows zeros: the kernel hides RAM below 1 MiB from read() (STRICT_DEVMEM)",
            low.paddr,
            low.word.map_or_else(String::new, |w| w.to_string()),
            low.word_at.map_or_else(String::new, |a| a.to_string())
        ),
        ("data", read) => format!("{}: a mapping shows data, read() {read}", low.paddr),
        ("zeros", _) => format!("{} and the pages after it map as zeros: nothing to compare", low.paddr),
        (errno, _) => format!("{}: mapping refused ({errno})", low.paddr),
    }
}

fn verdict_line(verdict: &VerdictJson) -> String {
    let on = match verdict.on {
        Some(true) => "on",
        Some(false) => "off",
        None => "unknown",
    };
    format!("{on}: {}", verdict.why)
}

fn pat_line(pat: &PatJson) -> String {
    let state = match (pat.cpu_flag, pat.nopat) {
        (_, true) => "off (nopat on the command line)".to_string(),
        (false, false) => "off (no pat flag in /proc/cpuinfo)".to_string(),
        (true, false) => "on (pat in /proc/cpuinfo, no nopat)".to_string(),
    };
    let mapping = match &pat.mapping {
        Some(m) => format!(
            "; a /dev/mem mapping of {} at {} gets {} with O_SYNC, and {} (x86/pat_memtype_list)",
            m.region,
            m.start,
            m.o_sync.as_deref().unwrap_or("no listed type"),
            match &m.cached {
                Some(cache) => format!("{cache} without"),
                None => "without O_SYNC is not tried: nothing else maps that range, so it would be write-back device memory".into(),
            }
        ),
        None if pat.on && !pat.memtype_list => "; debugfs x86/pat_memtype_list is not readable (mount -t debugfs none /sys/kernel/debug)".into(),
        None => String::new(),
    };
    format!("{state}{mapping}")
}

fn port_line(code: &str) -> String {
    match code {
        "ok" => "present (char 1:4), opens (never read here: a read is an inb)".into(),
        "absent" => "absent".into(),
        errno => format!("present, open refused ({errno})"),
    }
}

fn physmem_line(p: &PhysmemJson) -> String {
    let dkms = p.dkms.as_ref().map_or_else(String::new, |version| {
        format!(", installed by DKMS (version {version})")
    });
    let module = match (&p.module, &p.module_file) {
        (Some(state), _) => format!("physdemo_mem loaded ({state}){dkms}"),
        (None, Some(file)) => format!("physdemo_mem not loaded{dkms}; {file} is there"),
        (None, None) => "physdemo_mem not loaded, not installed for this kernel".into(),
    };
    if !p.present {
        return format!("absent; {module}");
    }
    if p.open != "ok" {
        return format!("present, open refused ({}); {module}", p.open);
    }
    format!(
        "present; {module}; read(): {}; mmap: {}; pinning: {}",
        outcome_words(&p.ram_read),
        outcome_words(&p.ram_mmap),
        p.pinning.as_deref().unwrap_or("not asked")
    )
}

fn kcore_line(k: &KcoreJson) -> String {
    match k.open.as_str() {
        "absent" => "absent (the kernel has no CONFIG_PROC_KCORE)".into(),
        "EPERM" if k.closed_by_lockdown => {
            "present, open refused (EPERM): lockdown=confidentiality closes it".into()
        }
        "ok" => {
            let ranges: Vec<String> = k
                .ranges
                .iter()
                .map(|r| format!("{}-{}", r.start, r.end))
                .collect();
            let holds = match &k.error {
                Some(err) => format!("its headers do not decode: {err}"),
                None => format!(
                    "holds {} (RAM and the kernel image, no device memory)",
                    ranges.join(", ")
                ),
            };
            format!(
                "present, opens read-only; read(): {}; {holds}",
                outcome_words(&k.ram_read)
            )
        }
        errno => format!("present, open refused ({errno})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report as `gather` would make it on a machine where /dev/mem opens with `open`
    /// and reads RAM as `read`/`mmap`, /dev/physmem reads it as `physmem` (`None`: absent),
    /// under `lockdown`.
    fn machine(
        open: &str,
        (read, mmap): (&str, &str),
        physmem: Option<&str>,
        lockdown: Option<&'static str>,
        modules_load: bool,
    ) -> DoctorJson {
        DoctorJson {
            release: Some("6.1.192-physdemo-distro".into()),
            config: None,
            privileges: PrivilegesJson {
                root: true,
                cap_sys_rawio: true,
                cap_sys_admin: true,
                cap_sys_module: true,
            },
            own_page: Some(PhysAddr(0x0199_e000)),
            own_page_error: None,
            dev_mem: DevMemJson {
                present: open != "absent",
                open: open.into(),
                ram_read: read.into(),
                ram_mmap: mmap.into(),
                ram_mmap_cached: mmap.into(),
                low_ram: None,
                devices: vec![DeviceMapJson {
                    name: "IOAPIC 0".into(),
                    start: Hex(0xfec0_0000),
                    end: Hex(0xfec0_03ff),
                    map: if read == "EPERM" { "EPERM" } else { "ok" }.into(),
                }],
            },
            physmem: PhysmemJson {
                present: physmem.is_some(),
                module: physmem.map(|_| "Live (O)".into()),
                module_file: Some(
                    "/lib/modules/6.1.192-physdemo-distro/extra/physdemo_mem.ko".into(),
                ),
                dkms: None,
                modules_load,
                open: if physmem.is_some() { "ok" } else { "absent" }.into(),
                ram_read: physmem.unwrap_or("not tried").into(),
                ram_mmap: physmem.unwrap_or("not tried").into(),
                pinning: physmem.map(|_| "ABI 2, up to 64 pins per open file".into()),
            },
            kcore: KcoreJson {
                present: false,
                open: "absent".into(),
                closed_by_lockdown: false,
                ram_read: "not tried".into(),
                ranges: Vec::new(),
                error: None,
            },
            strict_devmem: VerdictJson {
                on: None,
                why: String::new(),
            },
            io_strict_devmem: VerdictJson {
                on: None,
                why: String::new(),
            },
            pat: PatJson {
                on: true,
                cpu_flag: true,
                nopat: false,
                memtype_list: true,
                mapping: None,
            },
            lockdown: LockdownJson {
                mode: lockdown,
                why: String::new(),
            },
            dev_port: "ok".into(),
            pagemap_pfns: true,
            kpageflags: true,
            kpagecount: true,
            next_step: String::new(),
        }
    }

    #[test]
    fn names_one_next_step_per_machine() {
        let host = machine("absent", ("not tried", "not tried"), None, None, false);
        assert!(next_step(&host).starts_with("use the project's VM (demos/vm/run): RAM is out of reach here (there is no /dev/mem) and this kernel cannot load modules"), "{}", next_step(&host));
        let permissive = machine("ok", ("exact", "exact"), None, Some("none"), true);
        assert_eq!(
            next_step(&permissive),
            "none: /dev/mem reaches RAM by read() and by mapping; physdemo works as it is"
        );
        let distro = machine("ok", ("EPERM", "EPERM"), None, Some("none"), true);
        assert_eq!(next_step(&distro), "load physdemo_mem: insmod /lib/modules/6.1.192-physdemo-distro/extra/physdemo_mem.ko; physdemo then goes through /dev/physmem wherever /dev/mem refuses (STRICT_DEVMEM)");
        let loaded = machine("ok", ("EPERM", "EPERM"), Some("exact"), Some("none"), true);
        assert!(
            next_step(&loaded)
                .starts_with("none: /dev/physmem reaches RAM by read() and by mapping"),
            "{}",
            next_step(&loaded)
        );
        let locked = machine(
            "EPERM",
            ("not tried", "not tried"),
            Some("not tried"),
            Some("integrity"),
            true,
        );
        assert!(
            next_step(&locked).starts_with(
                "lockdown (integrity) closes /dev/mem, /dev/port and /dev/physmem to root too"
            ),
            "{}",
            next_step(&locked)
        );
        let pat = machine("ok", ("exact", "EINVAL"), None, Some("none"), true);
        assert!(
            next_step(&pat).contains("load physdemo_mem")
                && next_step(&pat).contains("(PAT refuses mappings of RAM)"),
            "{}",
            next_step(&pat)
        );
        let mut user = permissive;
        user.privileges.root = false;
        assert!(next_step(&user).starts_with("run as root"));
    }

    /// `machine` with /proc/kcore reading RAM as `read`, or refusing to open with `open`.
    fn with_kcore(mut report: DoctorJson, open: &str, read: &str) -> DoctorJson {
        report.kcore = KcoreJson {
            present: true,
            open: open.into(),
            closed_by_lockdown: open == "EPERM" && report.lockdown.mode == Some("confidentiality"),
            ram_read: read.into(),
            ranges: vec![
                RangeJson {
                    start: Hex(0x1000),
                    end: Hex(0x9efff),
                },
                RangeJson {
                    start: Hex(0x10_0000),
                    end: Hex(0x3ffd_ffff),
                },
            ],
            error: None,
        };
        report
    }

    #[test]
    fn names_proc_kcore_when_it_is_the_one_door_to_ram() {
        let distro = machine("ok", ("EPERM", "EPERM"), None, Some("none"), true);
        let distro = with_kcore(distro, "ok", "exact");
        assert_eq!(next_step(&distro), "load physdemo_mem: insmod /lib/modules/6.1.192-physdemo-distro/extra/physdemo_mem.ko; physdemo then goes through /dev/physmem wherever /dev/mem refuses (STRICT_DEVMEM); meanwhile peek and dump read RAM through /proc/kcore (read-only), the one door to RAM open here");
        // with /dev/physmem reading RAM, kcore is no news
        let loaded = machine("ok", ("EPERM", "EPERM"), Some("exact"), Some("none"), true);
        assert!(!next_step(&with_kcore(loaded, "ok", "exact")).contains("kcore"));
        let integrity = machine(
            "EPERM",
            ("not tried", "not tried"),
            None,
            Some("integrity"),
            true,
        );
        let integrity = next_step(&with_kcore(integrity, "ok", "exact"));
        assert!(
            integrity.starts_with(
                "lockdown (integrity) closes /dev/mem, /dev/port and /dev/physmem to root too"
            ) && integrity
                .ends_with("through /proc/kcore (read-only), the one door to RAM open here"),
            "{integrity}"
        );
        let secret = machine(
            "EPERM",
            ("not tried", "not tried"),
            None,
            Some("confidentiality"),
            true,
        );
        let secret = with_kcore(secret, "EPERM", "not tried");
        assert!(next_step(&secret).starts_with("lockdown (confidentiality) closes /dev/mem, /dev/port, /dev/physmem and /proc/kcore to root too"), "{}", next_step(&secret));
        assert_eq!(
            kcore_line(&secret.kcore),
            "present, open refused (EPERM): lockdown=confidentiality closes it"
        );
        assert_eq!(kcore_line(&distro.kcore), "present, opens read-only; read(): reads physdemo's own page exactly; holds 0x1000-0x9efff, 0x100000-0x3ffdffff (RAM and the kernel image, no device memory)");
        let absent = machine("ok", ("exact", "exact"), None, Some("none"), true);
        assert_eq!(
            kcore_line(&absent.kcore),
            "absent (the kernel has no CONFIG_PROC_KCORE)"
        );
    }

    #[test]
    fn names_modprobe_for_a_module_dkms_installed() {
        let mut distro = machine("ok", ("EPERM", "EPERM"), None, Some("none"), true);
        distro.physmem.module_file =
            Some("/lib/modules/6.1.192-physdemo-distro/updates/dkms/physdemo_mem.ko".into());
        distro.physmem.dkms = Some("0.1.0".into());
        assert_eq!(next_step(&distro), "load physdemo_mem: modprobe physdemo_mem (installed by DKMS, version 0.1.0); physdemo then goes through /dev/physmem wherever /dev/mem refuses (STRICT_DEVMEM)");
        assert_eq!(physmem_line(&distro.physmem), "absent; physdemo_mem not loaded, installed by DKMS (version 0.1.0); /lib/modules/6.1.192-physdemo-distro/updates/dkms/physdemo_mem.ko is there");
        let mut loaded = machine("ok", ("EPERM", "EPERM"), Some("exact"), Some("none"), true);
        loaded.physmem.dkms = Some("0.1.0".into());
        assert!(
            physmem_line(&loaded.physmem)
                .starts_with("present; physdemo_mem loaded (Live (O)), installed by DKMS (version 0.1.0); read(): "),
            "{}",
            physmem_line(&loaded.physmem)
        );
        let mut bare = machine("ok", ("EPERM", "EPERM"), None, Some("none"), true);
        bare.physmem.module_file = None;
        assert!(
            next_step(&bare).starts_with(
                "install physdemo_mem for this kernel and load it: the physdemo-dkms package"
            ),
            "{}",
            next_step(&bare)
        );
    }

    #[test]
    fn infers_strict_devmem_from_the_probes_before_the_config() {
        let config = KernelConfig::parse(b"CONFIG_STRICT_DEVMEM=y\nCONFIG_IO_STRICT_DEVMEM=y\n");
        let distro = machine("ok", ("EPERM", "EPERM"), None, Some("none"), true);
        let strict = strict_verdict(&distro.dev_mem, Some(&config));
        assert_eq!(strict.on, Some(true));
        assert_eq!(
            strict.why,
            "measured: /dev/mem refuses RAM above 1 MiB (EPERM); the config says y"
        );
        let io = io_strict_verdict(&distro.dev_mem, None);
        assert_eq!(
            (io.on, io.why.as_str()),
            (
                Some(true),
                "measured: /dev/mem refuses to map ranges drivers claimed (IOAPIC 0)"
            )
        );
        // The probe outweighs a config that says otherwise.
        let off = KernelConfig::parse(b"# CONFIG_STRICT_DEVMEM is not set\n");
        let permissive = machine("ok", ("exact", "exact"), None, None, true);
        assert_eq!(
            strict_verdict(&permissive.dev_mem, Some(&off)).on,
            Some(false)
        );
        assert_eq!(strict_verdict(&distro.dev_mem, Some(&off)).on, Some(true));
        let closed = machine("EPERM", ("not tried", "not tried"), None, None, true);
        let unknown = strict_verdict(&closed.dev_mem, None);
        assert_eq!(
            (unknown.on, unknown.why.as_str()),
            (None, "not measured (/dev/mem EPERM) and no config to read")
        );
        assert_eq!(
            strict_verdict(&closed.dev_mem, Some(&config)).on,
            Some(true)
        );
    }

    #[test]
    fn renders_every_line_of_a_report() {
        let mut distro = machine("ok", ("EPERM", "EPERM"), None, Some("none"), true);
        distro.dev_mem.low_ram = Some(LowRamJson {
            paddr: PhysAddr(0x9e000),
            word_at: Some(PhysAddr(0x9e010)),
            word: Some(Hex(0xf000_ff53)),
            mmap: "data".into(),
            read: "zeros".into(),
        });
        distro.next_step = next_step(&distro);
        let mut text = Vec::new();
        render_text(&mut text, &distro).unwrap();
        let text = String::from_utf8(text).unwrap();
        for line in [
            "physdemo doctor: what this machine lets physdemo do, measured (Linux 6.1.192-physdemo-distro, root)",
            "/dev/mem          present (char 1:1), opens read-only",
            "  RAM read()      refused (EPERM)",
            "  low RAM         0x9e000: a mapping shows data (0xf000ff53 at 0x9e010), read() shows zeros: the kernel hides RAM below 1 MiB from read() (STRICT_DEVMEM)",
            "  devices         IOAPIC 0 [0xfec00000-0xfec003ff] refused (EPERM) (each mapped and unmapped, never read)",
            "/dev/physmem      absent; physdemo_mem not loaded; /lib/modules/6.1.192-physdemo-distro/extra/physdemo_mem.ko is there",
            "next step         load physdemo_mem: insmod",
        ] {
            assert!(text.lines().any(|l| l.starts_with(line)), "no line {line:?} in\n{text}");
        }
    }
}
