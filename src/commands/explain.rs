// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo explain`: everything physdemo can learn about one physical address, layer by
//! layer, in one report.
//!
//! The subject is named as peek names it (a physical address, `<pid> <vaddr>`, the running
//! target, or a `--pci` register). Gather: the process, its mapping and translation (for a
//! virtual address); the nested /proc/iomem regions holding the address, outermost first;
//! the PCI function and BAR (sysfs) or the configuration register (ECAM), with the register's
//! name where physdemo knows it; for RAM the frame's kpageflags, its class
//! ([`crate::kernel::frame_class`]), map count, NUMA node and zone (/proc/zoneinfo) and who
//! maps it (the `owner` engine, stopped once the map count is accounted for); the kernel
//! image's section; PAT's cache type (debugfs); and which door reads and writes it
//! ([`crate::physmem::doors`]: the kernel asked by opening and mapping, nothing accessed,
//! then physdemo's write policy). Nothing is written, no device register is read. A part
//! that cannot be known is listed with the reason. Report: [`ExplainJson`]; render: text or
//! `--json`.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::commands::owner::render_summary;
use crate::kernel::addr::{Hex, PageSize, Pfn, PhysAddr, VirtAddr};
use crate::kernel::frame_class::{Classifier, FrameClass};
use crate::kernel::iomem::{Placement, Region, RegionKind};
use crate::kernel::maps::MappingSummary;
use crate::kernel::pci::PciDevice;
use crate::kernel::pci_registers::{bar_register_name, config_register_name};
use crate::kernel::zoneinfo::{zone_of, Zone};
use crate::physmem::device::DEV_MEM;
use crate::physmem::doors::{
    default_route, doors, judge, kcore_verdict, physmem_present, probe, strict_devmem_measured,
    Door, DoorVerdict, Machine, Probed, Route, Spot,
};
use crate::physmem::policy::{check_config_space_write, check_region_write_judged};
use crate::proc::capabilities::is_root;
use crate::proc::kpage::FrameInfoReader;
use crate::proc::lockdown::lockdown_mode;
use crate::proc::pat::{memtypes, pat_state, MEMTYPE_LIST};
use crate::proc::pci::device_with_bar_at;
use crate::proc::zoneinfo::zones;
use crate::render::json::write_json_line;
use crate::render::physmap::kind_key;
use crate::render::subject::PciId;
use crate::resolve::destination::Destination;
use crate::resolve::register::Register;
use crate::resolve::subject::{locate, Located, Subject};
use crate::resolve::symbol::nearest;
use crate::scan::owners::{every_pid, search, FrameQuery, OwnerHit, SearchScope};

/// What `explain` was asked.
#[derive(Debug, Clone)]
pub(crate) struct ExplainOptions {
    pub(crate) subject: Subject,
    pub(crate) json: bool,
}

/// A part of the report that could not be known, and why.
#[derive(Debug, Clone, Serialize)]
struct UnknownJson {
    part: &'static str,
    why: String,
}

/// The process whose virtual address was named.
#[derive(Debug, Serialize)]
struct ProcessJson {
    pid: i32,
    command: String,
    vaddr: VirtAddr,
    /// Whether it is a verified physdemo target (its page's header checked).
    target: bool,
    mapping: MappingSummary,
    /// The pagemap entry's flags (`present`, `exclusive`, `soft-dirty`, ...).
    pagemap: Vec<&'static str>,
    pfn: Option<Pfn>,
    page_size: u64,
    /// The page-table walk of the virtual address (`PGD[255] -> PUD[99] -> PMD[120] ->
    /// PTE[458] + offset 0x040`), `null` where physdemo does not know the MMU.
    walk: Option<String>,
}

/// One /proc/iomem region holding the address.
#[derive(Debug, Serialize)]
struct RegionJson {
    name: String,
    start: Hex,
    end: Hex,
    /// `system_ram`, `kernel_image`, `reserved`, `firmware`, `bus_window`, `device`,
    /// `pci_config`.
    kind: &'static str,
}

/// The PCI function and BAR holding the address.
#[derive(Debug, Serialize)]
struct PciJson {
    address: String,
    vendor: PciId,
    device: PciId,
    bar: u8,
    bar_start: Hex,
    bar_size: u64,
    offset: Hex,
    /// The register's name, where physdemo knows the device (QEMU's edu).
    register: Option<String>,
}

/// PCI configuration space (ECAM) at the address.
#[derive(Debug, Serialize)]
struct ConfigJson {
    function: String,
    ids: Option<String>,
    register: Hex,
    /// The standard header's register name (`null` past the header).
    name: Option<String>,
    window: String,
}

/// The frame of RAM holding the address.
#[derive(Debug, Serialize)]
struct FrameJson {
    pfn: Pfn,
    flags: Vec<String>,
    class: FrameClass,
    map_count: u64,
    /// NUMA node and zone (`null` when /proc/zoneinfo says nothing of the frame).
    node: Option<u32>,
    zone: Option<String>,
    owners: Option<Vec<OwnerHit>>,
    /// The owner search's summary line, as `physdemo owner` prints it.
    owners_summary: Option<String>,
}

/// Which door peek and poke would take by themselves.
#[derive(Debug, Serialize)]
struct RoutesJson {
    peek: Route,
    poke: Route,
}

/// `explain --json`, keys in this order.
#[derive(Debug, Serialize)]
struct ExplainJson {
    paddr: PhysAddr,
    process: Option<ProcessJson>,
    /// Outermost first; empty when no region holds the address (or iomem is unknown).
    regions: Vec<RegionJson>,
    /// `Placement::describe`: the innermost region, or `no region of /proc/iomem`.
    region: String,
    pci: Option<PciJson>,
    config: Option<ConfigJson>,
    /// System RAM or the kernel's image in it; `null` when /proc/iomem cannot say.
    ram: Option<bool>,
    frame: Option<FrameJson>,
    /// The kernel image's section (`Kernel code`, `Kernel data`, ...).
    kernel_section: Option<String>,
    /// Inside the kernel image: the symbol at or before the address, by /proc/kallsyms.
    symbol: Option<KernelSymbolJson>,
    /// PAT's cache type for the address's page (debugfs `x86/pat_memtype_list`).
    cache: Option<String>,
    doors: Vec<DoorVerdict>,
    routes: RoutesJson,
    unknown: Vec<UnknownJson>,
}

/// The kernel symbol at or before an address of the kernel image.
#[derive(Debug, Serialize)]
struct KernelSymbolJson {
    /// The symbol's name; `null` where the kernel lists none there (`unnamed` says why).
    name: Option<String>,
    /// From the symbol's start to the address.
    offset: Option<Hex>,
    /// The symbol's type letter in /proc/kallsyms (`T`, `D`, `b`, ...).
    kind: Option<char>,
    /// The address as the kernel sees it (its virtual address in the image).
    vaddr: Hex,
    /// `text`, `rodata`, `data`, `bss`, `init` or `image`, by kallsyms' section markers.
    section: &'static str,
    unnamed: Option<String>,
}

/// Runs `physdemo explain`.
pub(crate) fn run(options: &ExplainOptions) -> Result<()> {
    let report = gather(options)?;
    let mut out = std::io::stdout().lock();
    if options.json {
        write_json_line(&mut out, &report)?;
    } else {
        render_text(&mut out, &report)?;
    }
    out.flush()?;
    Ok(())
}

/// Gather: the subject resolved, then every layer.
fn gather(options: &ExplainOptions) -> Result<ExplainJson> {
    let named = options.subject.clone().into_named(1)?;
    let register = named.register;
    let mut located = locate(named.reference)?;
    located.symbol = named.symbol;
    let paddr = located.paddr;
    let destination = Destination::of(paddr);
    let ram = destination.is_ram(register.as_ref());
    let placement = &destination.placement;
    let mut unknown = Vec::new();
    if let Some(why) = placement_unknown(placement) {
        unknown.push(UnknownJson {
            part: "regions",
            why,
        });
    }
    // Where /proc/iomem cannot say whether it is RAM, kpageflags may (or says why not).
    let frame = (ram || placement_unknown(placement).is_some())
        .then(|| frame_part(paddr, &mut unknown))
        .flatten();
    let page = PageSize::of_system();
    let doors = door_verdicts(paddr, ram, &destination, page);
    Ok(ExplainJson {
        paddr,
        process: process_part(&located),
        regions: regions_of(placement),
        region: placement.describe(),
        pci: pci_part(paddr, register.as_ref(), ram),
        config: destination.config.as_ref().map(|c| ConfigJson {
            function: c.address.to_string(),
            ids: c.ids.map(|(v, d)| format!("{v:04x}:{d:04x}")),
            register: Hex(u64::from(c.address.register)),
            name: config_register_name(u64::from(c.address.register)),
            window: c.window.to_string(),
        }),
        ram: placement_unknown(placement).is_none().then_some(ram),
        frame,
        kernel_section: kernel_section(placement),
        symbol: kernel_section(placement).and_then(|_| kernel_symbol(paddr, &mut unknown)),
        cache: cache_part(paddr, page, ram, &mut unknown),
        routes: doors.1,
        doors: doors.0,
        unknown,
    })
}

/// Why /proc/iomem says nothing, when it does not.
fn placement_unknown(placement: &Placement) -> Option<String> {
    match placement {
        Placement::Hidden => Some("/proc/iomem shows only zeros to a user without root".into()),
        Placement::Unreadable(why) => Some(format!("/proc/iomem: {why}")),
        _ => None,
    }
}

fn process_part(located: &Located) -> Option<ProcessJson> {
    let r = located.process.as_ref()?;
    Some(ProcessJson {
        pid: r.pid,
        command: r.command.clone(),
        vaddr: r.vaddr,
        target: located.target.is_some(),
        mapping: r.mapping.clone(),
        pagemap: r.entry.flag_names(),
        pfn: r.pfn(),
        page_size: r.page.bytes(),
        walk: r
            .mmu
            .walk(r.vaddr, r.page)
            .map(|w| format!("{} ({})", w.chain(), w.bit_ranges())),
    })
}

/// The regions holding the address, outermost first.
fn regions_of(placement: &Placement) -> Vec<RegionJson> {
    let Placement::In { region, outer } = placement else {
        return Vec::new();
    };
    outer
        .iter()
        .chain(std::iter::once(region))
        .map(|r: &Region| RegionJson {
            name: r.name.clone(),
            start: Hex(r.start),
            end: Hex(r.end),
            kind: kind_key(r.kind()),
        })
        .collect()
}

/// The PCI function and BAR: the `--pci` register named, or the device one of whose
/// memory BARs holds the address (sysfs).
fn pci_part(paddr: PhysAddr, register: Option<&Register>, ram: bool) -> Option<PciJson> {
    let (device, bar): (PciDevice, u8) = match register {
        Some(r) => (r.device.clone(), r.bar),
        None if !ram => device_with_bar_at(paddr.0)?,
        None => return None,
    };
    let resource = *device.resources.get(usize::from(bar))?;
    let offset = paddr.0 - resource.start;
    Some(PciJson {
        register: bar_register_name((device.vendor, device.device), bar, offset),
        address: device.address,
        vendor: PciId(device.vendor),
        device: PciId(device.device),
        bar,
        bar_start: Hex(resource.start),
        bar_size: resource.size(),
        offset: Hex(offset),
    })
}

/// The symbol at or before an address of the kernel image (`resolve::symbol::nearest`);
/// what keeps it unknown (not root, kptr_restrict) goes to `unknown` as part `symbol`.
fn kernel_symbol(paddr: PhysAddr, unknown: &mut Vec<UnknownJson>) -> Option<KernelSymbolJson> {
    match nearest(paddr) {
        Ok(near) => near.map(|near| KernelSymbolJson {
            name: near.symbol.as_ref().map(|s| s.name.clone()),
            offset: near.symbol.as_ref().map(|s| Hex(s.offset)),
            kind: near.kind,
            vaddr: Hex(near.vaddr),
            section: near.section.name(),
            unnamed: near.unnamed,
        }),
        Err(err) => {
            unknown.push(UnknownJson {
                part: "symbol",
                why: format!("{err:#}"),
            });
            None
        }
    }
}

/// The kernel image's section holding the address, by /proc/iomem's children of System RAM.
fn kernel_section(placement: &Placement) -> Option<String> {
    match placement {
        Placement::In { region, .. } if region.kind() == RegionKind::KernelImage => {
            Some(region.name.clone())
        }
        _ => None,
    }
}

/// The frame's flags, class, map count, node and zone, and who maps it.
fn frame_part(paddr: PhysAddr, unknown: &mut Vec<UnknownJson>) -> Option<FrameJson> {
    let page = PageSize::of_system();
    let pfn = page.pfn_of(paddr);
    let reader = match FrameInfoReader::open() {
        Ok(reader) => reader,
        Err(err) => {
            unknown.push(UnknownJson {
                part: "frame",
                why: format!("{err:#}"),
            });
            return None;
        }
    };
    let flags = reader.flags(pfn, 1).ok()?[0];
    let map_count = reader.map_counts(pfn, 1).ok()?[0];
    let zone = match zones() {
        Ok(zones) => zone_of(&zones, pfn.0).cloned(),
        Err(why) => {
            unknown.push(UnknownJson { part: "zone", why });
            None
        }
    };
    let query = FrameQuery {
        pfn,
        offset: page.offset_in_page(paddr.0),
        flags,
        map_count,
    };
    let (owners, owners_summary) = owners_of(&query, page, unknown);
    Some(FrameJson {
        pfn,
        flags: flags.names(),
        class: class_of(&reader, pfn),
        map_count,
        node: zone.as_ref().map(|z: &Zone| z.node),
        zone: zone.map(|z| z.zone),
        owners,
        owners_summary,
    })
}

/// Frames read before the one classified, to find a compound tail's head.
const HEAD_LOOKBACK: u64 = 511;

/// The frame's class as physmap gives it: a bare compound tail takes its head's class.
fn class_of(reader: &FrameInfoReader, pfn: Pfn) -> FrameClass {
    let first = pfn.0.saturating_sub(HEAD_LOOKBACK);
    let words = reader
        .flags(Pfn(first), (pfn.0 - first + 1) as usize)
        .unwrap_or_default();
    let mut classifier = Classifier::default();
    let mut class = FrameClass::Other;
    for flags in words {
        class = classifier.next(flags.0);
    }
    class
}

/// Who maps the frame: every process scanned until its map count is accounted for.
fn owners_of(
    query: &FrameQuery,
    page: PageSize,
    unknown: &mut Vec<UnknownJson>,
) -> (Option<Vec<OwnerHit>>, Option<String>) {
    if query.map_count == 0 {
        return (
            Some(Vec::new()),
            Some(
                "kpagecount is 0: nothing maps it through a page table the kernel counts (no scan)"
                    .into(),
            ),
        );
    }
    let found = every_pid().and_then(|pids| {
        let scope = SearchScope {
            pids: &pids,
            named: false,
            exhaustive: false,
        };
        search(query, scope, page, || {})
    });
    match found {
        Ok(owners) => {
            let summary = render_summary(
                owners.hits.len(),
                query.map_count,
                owners.stopped_early,
                owners.scanned,
                owners.total,
            );
            (Some(owners.hits), Some(summary))
        }
        Err(err) => {
            unknown.push(UnknownJson {
                part: "owners",
                why: format!("{err:#}"),
            });
            (None, None)
        }
    }
}

/// PAT's cache type for the page, where debugfs lists it.
fn cache_part(
    paddr: PhysAddr,
    page: PageSize,
    ram: bool,
    unknown: &mut Vec<UnknownJson>,
) -> Option<String> {
    let state = pat_state();
    let why = if !state.cpu_flag {
        "no PAT: the CPU flag `pat` is not in /proc/cpuinfo (not x86, or PAT is off)".to_string()
    } else if state.nopat {
        "PAT is off (nopat on the kernel command line): the MTRRs alone decide".to_string()
    } else {
        let base = page.page_base(paddr.0);
        match memtypes() {
            Some(list) => match list.iter().find(|m| m.covers(base, base + page.bytes())) {
                Some(entry) => return Some(entry.cache.clone()),
                None if ram => "PAT lists no mapping of this RAM page: RAM keeps its type in its page flags (write-back unless a driver changed it)".to_string(),
                None => "PAT lists no mapping of this page now (nothing maps it with a tracked type)".to_string(),
            },
            None => format!(
                "{MEMTYPE_LIST} cannot be read ({}debugfs must be mounted: mount -t debugfs none /sys/kernel/debug)",
                if is_root() { "" } else { "not root; " }
            ),
        }
    };
    unknown.push(UnknownJson { part: "cache", why });
    None
}

/// Each door's verdicts, and the door peek and poke would take by themselves.
fn door_verdicts(
    paddr: PhysAddr,
    ram: bool,
    destination: &Destination,
    page: PageSize,
) -> (Vec<DoorVerdict>, RoutesJson) {
    let placement = &destination.placement;
    let policy = check_config_space_write(paddr, destination.config.as_ref(), false)
        .and_then(|()| check_region_write_judged(paddr, 1, placement, destination.judged(), false))
        .map_err(|e| e.message);
    let spot = Spot {
        paddr,
        ram,
        placement,
        policy,
        page,
    };
    let absent = Probed {
        open_read: Err(libc::ENOENT),
        map_read: None,
        open_write: Err(libc::ENOENT),
        map_write: None,
    };
    let probes: Vec<(Door, Probed)> = doors()
        .into_iter()
        .map(|door| match door {
            Door::PhysMem if !physmem_present() => (door, absent),
            _ => (door, probe(door, paddr, page)),
        })
        .collect();
    let machine = Machine {
        lockdown: lockdown_mode()
            .map(|m| m.name())
            .filter(|&name| name != "none"),
        root: is_root(),
        strict_devmem: (ram && paddr.0 < 0x10_0000)
            .then(strict_devmem_measured)
            .flatten(),
    };
    let mut verdicts: Vec<DoorVerdict> = probes
        .iter()
        .map(|(door, probed)| judge(*door, probed, &spot, &machine))
        .collect();
    verdicts.push(kcore_verdict(paddr));
    let (dev_mem, physmem, kcore) = (&verdicts[0], &verdicts[1], &verdicts[2]);
    let physmem = physmem_present().then_some(physmem);
    let routes = RoutesJson {
        peek: default_route(false, (&probes[0].1, dev_mem), physmem, Some(kcore), &spot),
        poke: default_route(true, (&probes[0].1, dev_mem), physmem, Some(kcore), &spot),
    };
    (verdicts, routes)
}

/// Render: one labelled line per finding.
fn render_text(out: &mut impl Write, report: &ExplainJson) -> Result<()> {
    for (label, text) in text_lines(report) {
        writeln!(out, "{label:<10}{text}")?;
    }
    Ok(())
}

/// The subject's lines: the process and its translation, the address, its regions.
fn subject_lines(r: &ExplainJson, lines: &mut Vec<(&'static str, String)>) {
    if let Some(p) = &r.process {
        let what = if p.target {
            "physdemo target"
        } else {
            "process"
        };
        lines.push((
            "process",
            format!("{what} pid {} ({}), virtual {}", p.pid, p.command, p.vaddr),
        ));
        let m = &p.mapping;
        lines.push((
            "mapping",
            format!(
                "{:x}-{:x} {} {} {} {} {}",
                m.start.0, m.end.0, m.perms, m.offset, m.device, m.inode, m.path
            ),
        ));
        if let Some(walk) = &p.walk {
            lines.push(("walk", walk.clone()));
        }
        lines.push((
            "pagemap",
            format!(
                "{} -> frame {} (page {} bytes)",
                p.pagemap.join(","),
                p.pfn.map_or_else(|| "?".into(), |f| f.to_string()),
                p.page_size
            ),
        ));
    }
    lines.push(("physical", r.paddr.to_string()));
    if r.regions.is_empty() {
        lines.push((
            "iomem",
            if r.region == Placement::Nowhere.describe() {
                format!("none: {} is in no region of /proc/iomem", r.paddr)
            } else {
                r.region.clone()
            },
        ));
    }
    for (depth, region) in r.regions.iter().enumerate() {
        lines.push((
            if depth == 0 { "iomem" } else { "" },
            format!(
                "{:indent$}{} [{}-{}]",
                "",
                region.name,
                region.start,
                region.end,
                indent = 2 * depth
            ),
        ));
    }
}

/// The device lines: the PCI BAR or the configuration register.
fn device_lines(r: &ExplainJson, lines: &mut Vec<(&'static str, String)>) {
    if let Some(p) = &r.pci {
        lines.push((
            "pci",
            format!(
                "{} ({:04x}:{:04x}) BAR{} [{}, {} bytes] + {}{}",
                p.address,
                p.vendor.0,
                p.device.0,
                p.bar,
                p.bar_start,
                p.bar_size,
                p.offset,
                p.register
                    .as_ref()
                    .map_or_else(String::new, |name| format!(": {name}"))
            ),
        ));
    }
    if let Some(c) = &r.config {
        lines.push((
            "config",
            format!(
                "PCI configuration space of {}{}, register {}{} (window {})",
                c.function,
                c.ids
                    .as_ref()
                    .map_or_else(String::new, |ids| format!(" ({ids})")),
                c.register,
                c.name
                    .as_ref()
                    .map_or_else(String::new, |n| format!(": {n}")),
                c.window
            ),
        ));
    }
}

/// The frame's lines: class and flags, node and zone, who maps it.
fn frame_lines(f: &FrameJson, lines: &mut Vec<(&'static str, String)>) {
    lines.push((
        "frame",
        format!(
            "{}: class {}{}, map count {}, flags {}",
            f.pfn,
            f.class.key(),
            if f.class.label() == f.class.key() {
                String::new()
            } else {
                format!(" ({})", f.class.label())
            },
            f.map_count,
            if f.flags.is_empty() {
                "-".to_string()
            } else {
                f.flags.join(",")
            }
        ),
    ));
    if let (Some(node), Some(zone)) = (f.node, &f.zone) {
        lines.push(("numa", format!("node {node}, zone {zone}")));
    }
    for hit in f.owners.iter().flatten() {
        let m = &hit.mapping;
        lines.push((
            "mapped by",
            format!(
                "pid {} ({}) at {}: {:x}-{:x} {} {}",
                hit.pid, hit.command, hit.vaddr, m.start.0, m.end.0, m.perms, m.path
            ),
        ));
    }
    if let Some(summary) = &f.owners_summary {
        lines.push(("owners", summary.clone()));
    }
}

/// `schedule+0x10 (T, in text; kernel 0xffffffff81a4b2c0)`, or why no symbol is named.
fn symbol_words(symbol: &KernelSymbolJson) -> String {
    let at = format!("{}; kernel {:#x}", symbol.section, symbol.vaddr.0);
    match (&symbol.name, symbol.offset, symbol.kind) {
        (Some(name), Some(offset), kind) => format!(
            "{name}+{:#x} ({}in {at}, /proc/kallsyms)",
            offset.0,
            kind.map_or_else(String::new, |k| format!("{k}, "))
        ),
        _ => format!(
            "none named in {at}: {}",
            symbol
                .unnamed
                .as_deref()
                .unwrap_or("kallsyms lists no symbol at or before it")
        ),
    }
}

/// The label and sentence of every line of the text report.
fn text_lines(r: &ExplainJson) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    subject_lines(r, &mut lines);
    device_lines(r, &mut lines);
    if let Some(f) = &r.frame {
        frame_lines(f, &mut lines);
    } else if r.ram == Some(false) && r.config.is_none() {
        lines.push(("frame", "none: not RAM, so no frame, class or owner".into()));
    }
    if let Some(section) = &r.kernel_section {
        lines.push(("kernel", format!("the kernel's image: {section}")));
    }
    if let Some(symbol) = &r.symbol {
        lines.push(("symbol", symbol_words(symbol)));
    }
    if let Some(cache) = &r.cache {
        lines.push(("cache", format!("{cache} (PAT's memtype list)")));
    }
    for d in &r.doors {
        let say = |ok: Option<bool>| match ok {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        };
        lines.push((
            "door",
            format!("{} read: {} ({})", d.door, say(d.read.ok), d.read.why),
        ));
        lines.push((
            "door",
            format!("{} write: {} ({})", d.door, say(d.write.ok), d.write.why),
        ));
    }
    for (label, route) in [("peek", &r.routes.peek), ("poke", &r.routes.poke)] {
        lines.push((
            label,
            match route.door {
                Some(DEV_MEM) => format!("through {DEV_MEM}"),
                Some(_) => route.why.clone(),
                None => format!("no door: {}", route.why),
            },
        ));
    }
    for u in &r.unknown {
        lines.push(("unknown", format!("{}: {}", u.part, u.why)));
    }
    lines
}
