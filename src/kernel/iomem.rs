// SPDX-License-Identifier: MIT OR Apache-2.0
//! Which region of the physical address map holds an address (`/proc/iomem`).
//!
//! `/proc/iomem` is a tree: top-level ranges (System RAM, Reserved, PCI bus windows) with
//! nested ones (Kernel code inside System RAM, a device's BAR inside its bus window). The
//! *innermost* range holding an address says what the address really is. [`IomemMap::parse`]
//! is a pure parser of the text (bytes in, regions out) written against what the kernel
//! prints (`kernel/resource.c`, `r_show`: `"%*s%0*llx-%0*llx : %s\n"`, two spaces of indent
//! per level); procfs's parser is not used because it prints its own "Internal error" lines
//! on a malformed file. A malformed line makes the whole map unusable (the write policy
//! cannot trust a map with a line missing), reported as one [`IomemParseError`].
//! Classification is a pure function of the parsed list, tested on text literals (the write
//! policy built on it is [`crate::physmem::policy`]; reading the file is
//! [`crate::proc::iomem`]). Non-root readers see every range as `00000000-00000000`:
//! [`IomemMap::is_hidden`] tells that case apart.

use std::fmt;

use crate::kernel::addr::PhysAddr;

/// What kind of thing a region of the physical address map is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionKind {
    /// Ordinary RAM the kernel hands out (process pages live here).
    SystemRam,
    /// The running kernel's own image: `Kernel code`, `rodata`, `data`, `bss`.
    KernelImage,
    /// Set aside by firmware or the kernel: `Reserved`, `Crash kernel`, unknown E820 types.
    Reserved,
    /// Firmware tables and ROMs: ACPI tables and NVS, System/Video/Adapter ROM.
    Firmware,
    /// A bus address window (`PCI Bus 0000:00`) that no device inside it claims.
    BusWindow,
    /// A device's registers or memory (a PCI BAR, IOAPIC, HPET, a driver's name).
    Device,
    /// PCI configuration space mapped into memory: `PCI MMCONFIG …`, `PCI ECAM` (see
    /// [`crate::kernel::ecam`]).
    PciConfig,
}

impl RegionKind {
    /// Classifies an iomem range by its name.
    pub(crate) fn of_name(name: &str) -> RegionKind {
        let lower = name.to_ascii_lowercase();
        if lower == "system ram" {
            RegionKind::SystemRam
        } else if lower.starts_with("kernel ") {
            RegionKind::KernelImage
        } else if lower.contains("reserved")
            || lower.starts_with("crash kernel")
            || lower.starts_with("unknown e820")
        {
            RegionKind::Reserved
        } else if crate::kernel::ecam::is_config_space_name(name) {
            RegionKind::PciConfig
        } else if lower.starts_with("acpi ") || lower.ends_with(" rom") {
            RegionKind::Firmware
        } else if lower.starts_with("pci bus") {
            RegionKind::BusWindow
        } else {
            RegionKind::Device
        }
    }

    /// What a region of this kind is, for the write policy's refusals.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            RegionKind::SystemRam => "System RAM",
            RegionKind::KernelImage => "the kernel's own image",
            RegionKind::Reserved => "a reserved range",
            RegionKind::Firmware => "firmware tables or ROM",
            RegionKind::BusWindow => "a bus window no device claims",
            RegionKind::Device => "a device",
            RegionKind::PciConfig => "PCI configuration space (ECAM)",
        }
    }
}

/// One range of the map, with how deep it is nested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub start: u64,
    /// Inclusive, as /proc/iomem prints it.
    pub end: u64,
    pub name: String,
    pub depth: usize,
}

impl Region {
    pub(crate) fn kind(&self) -> RegionKind {
        RegionKind::of_name(&self.name)
    }

    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr <= self.end
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{:#x}-{:#x}]", self.name, self.start, self.end)
    }
}

/// The parsed physical address map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IomemMap {
    pub regions: Vec<Region>,
}

/// Where an address falls: the innermost region and the chain of regions around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// The innermost region, and its enclosing regions from outermost inward.
    In { region: Region, outer: Vec<Region> },
    /// No region holds the address.
    Nowhere,
    /// The map shows only zeros (read without root): nothing can be said.
    Hidden,
    /// The map could not be read at all.
    Unreadable(String),
}

/// A line of /proc/iomem text that is not `START-END : NAME` at a sensible depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IomemParseError {
    /// 1-based line number.
    pub line: usize,
    /// The line, escaped and cut to 80 characters so the message stays one line.
    pub text: String,
    pub why: &'static str,
}

impl fmt::Display for IomemParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} is not `START-END : NAME` ({}): '{}'",
            self.line, self.why, self.text
        )
    }
}

impl std::error::Error for IomemParseError {}

/// At most 16 hex digits, nothing else.
fn parse_hex_address(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 16 || !text.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(text).ok()?, 16).ok()
}

/// One line without its indent: `(start, end, name)`.
fn parse_range_line(rest: &[u8]) -> Result<(u64, u64, String), &'static str> {
    // The name follows the first " : " and may hold anything (colons, spaces) or be empty;
    // a line cut right after " :" (an empty name whose trailing blank was lost) is accepted.
    let (range, name) = match rest.windows(3).position(|w| w == b" : ") {
        Some(at) => (&rest[..at], &rest[at + 3..]),
        None => match rest.strip_suffix(b" :") {
            Some(range) => (range, &b""[..]),
            None => return Err("no ` : ` after the range"),
        },
    };
    let dash = range
        .iter()
        .position(|&b| b == b'-')
        .ok_or("no `-` between start and end")?;
    let start = parse_hex_address(&range[..dash]).ok_or("the start is not a hex address")?;
    let end = parse_hex_address(&range[dash + 1..]).ok_or("the end is not a hex address")?;
    if start > end {
        return Err("the start is after the end");
    }
    Ok((start, end, String::from_utf8_lossy(name).into_owned()))
}

impl IomemMap {
    /// Parses /proc/iomem text: one `START-END : NAME` per line, indented two spaces per
    /// level of nesting. Empty lines are skipped; any other line that is not of that form,
    /// or nested more than one level below the line before, is an error naming it.
    pub fn parse(text: &[u8]) -> Result<IomemMap, IomemParseError> {
        let mut regions: Vec<Region> = Vec::new();
        for (index, line) in text.split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let fail = |why| IomemParseError {
                line: index + 1,
                text: String::from_utf8_lossy(line)
                    .escape_debug()
                    .take(80)
                    .collect(),
                why,
            };
            let indent = line.iter().take_while(|&&b| b == b' ').count();
            if indent % 2 != 0 {
                return Err(fail("indented by an odd number of spaces"));
            }
            let depth = indent / 2;
            let deepest = regions.last().map_or(0, |r| r.depth + 1);
            if depth > deepest {
                return Err(fail("nested deeper than the line before allows"));
            }
            let (start, end, name) = parse_range_line(&line[indent..]).map_err(fail)?;
            regions.push(Region {
                start,
                end,
                name,
                depth,
            });
        }
        Ok(IomemMap { regions })
    }

    /// True when every range reads as zero, as it does for a reader without root.
    pub(crate) fn is_hidden(&self) -> bool {
        !self.regions.is_empty() && self.regions.iter().all(|r| r.start == 0 && r.end == 0)
    }

    /// The whole frames of the top-level System RAM ranges, as `[first, end)` frame
    /// numbers in address order (`page_bytes` a frame).
    pub(crate) fn system_ram_frames(&self, page_bytes: u64) -> Vec<(u64, u64)> {
        let mut ranges: Vec<(u64, u64)> = self
            .regions
            .iter()
            .filter(|r| r.depth == 0 && r.kind() == RegionKind::SystemRam)
            .map(|r| {
                (
                    r.start.div_ceil(page_bytes),
                    r.end.saturating_add(1) / page_bytes,
                )
            })
            .filter(|(first, end)| first < end)
            .collect();
        ranges.sort_unstable();
        ranges
    }

    /// The innermost region holding `addr`, with the regions around it.
    pub fn place(&self, addr: PhysAddr) -> Placement {
        if self.is_hidden() {
            return Placement::Hidden;
        }
        // Walk in file order keeping the chain of open ancestors; ranges nest by depth.
        let mut chain: Vec<&Region> = Vec::new();
        let mut best: Vec<&Region> = Vec::new();
        for region in &self.regions {
            chain.truncate(region.depth);
            chain.push(region);
            if chain.len() > best.len() && chain.iter().all(|r| r.contains(addr.0)) {
                best = chain.clone();
            }
        }
        match best.pop() {
            Some(region) => Placement::In {
                region: region.clone(),
                outer: best.into_iter().cloned().collect(),
            },
            None => Placement::Nowhere,
        }
    }
}

impl Placement {
    /// One phrase for reports: `System RAM [0x100000-0xbfffffff]`, with its parents.
    pub fn describe(&self) -> String {
        match self {
            Placement::In { region, outer } => {
                let mut text = region.to_string();
                if let Some(parent) = outer.last() {
                    text.push_str(&format!(" in {}", parent.name));
                }
                text
            }
            Placement::Nowhere => "no region of /proc/iomem".to_string(),
            Placement::Hidden => "unknown (/proc/iomem shows zeros without root)".to_string(),
            Placement::Unreadable(why) => format!("unknown ({why})"),
        }
    }

    pub(crate) fn kind(&self) -> Option<RegionKind> {
        match self {
            Placement::In { region, .. } => Some(region.kind()),
            _ => None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A q35 guest's /proc/iomem, cut down: RAM with the kernel in it, ROM, a PCI window
    /// with edu's BAR, the IOAPIC, RAM above 4 GiB (shared with the write policy's tests).
    pub(crate) const SAMPLE: &str = "\
00000000-00000fff : Reserved
00001000-0009fbff : System RAM
0009fc00-000fffff : Reserved
  000f0000-000fffff : System ROM
00100000-bfffffff : System RAM
  01000000-02209987 : Kernel code
  02400000-02e09fff : Kernel rodata
  03000000-0327c0ff : Kernel data
  03b34000-03c57fff : Kernel bss
c0001000-febfffff : PCI Bus 0000:00
  fe000000-fe0fffff : 0000:00:03.0
    fe000000-fe0fffff : edu-mmio
fec00000-fec003ff : IOAPIC 0
100000000-63fffffff : System RAM
";

    pub(crate) fn map() -> IomemMap {
        IomemMap::parse(SAMPLE.as_bytes()).unwrap()
    }

    fn innermost(addr: u64) -> Option<String> {
        match map().place(PhysAddr(addr)) {
            Placement::In { region, .. } => Some(region.name),
            _ => None,
        }
    }

    #[test]
    fn finds_the_innermost_region() {
        assert_eq!(innermost(0x1000).as_deref(), Some("System RAM"));
        assert_eq!(innermost(0x1200_0000).as_deref(), Some("System RAM"));
        assert_eq!(innermost(0x0100_0000).as_deref(), Some("Kernel code"));
        assert_eq!(innermost(0x0220_9987).as_deref(), Some("Kernel code"));
        assert_eq!(innermost(0x0220_9988).as_deref(), Some("System RAM"));
        assert_eq!(innermost(0x000f_0010).as_deref(), Some("System ROM"));
        assert_eq!(innermost(0xfe00_0004).as_deref(), Some("edu-mmio"));
        assert_eq!(innermost(0xd000_0000).as_deref(), Some("PCI Bus 0000:00"));
        assert_eq!(innermost(0x2_0000_0000).as_deref(), Some("System RAM"));
        assert_eq!(map().place(PhysAddr(0xc000_0000)), Placement::Nowhere);
        assert_eq!(map().place(PhysAddr(0x64_0000_0000)), Placement::Nowhere);
        match map().place(PhysAddr(0x0300_0000)) {
            Placement::In { region, outer } => {
                assert_eq!(region.kind(), RegionKind::KernelImage);
                assert_eq!(outer.len(), 1);
                assert_eq!(outer[0].name, "System RAM");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn classifies_region_names() {
        for (name, kind) in [
            ("System RAM", RegionKind::SystemRam),
            ("Kernel code", RegionKind::KernelImage),
            ("Kernel rodata", RegionKind::KernelImage),
            ("Kernel bss", RegionKind::KernelImage),
            ("Reserved", RegionKind::Reserved),
            ("reserved", RegionKind::Reserved),
            ("Soft Reserved", RegionKind::Reserved),
            ("Crash kernel", RegionKind::Reserved),
            ("ACPI Tables", RegionKind::Firmware),
            ("ACPI Non-volatile Storage", RegionKind::Firmware),
            ("Video ROM", RegionKind::Firmware),
            ("PCI Bus 0000:00", RegionKind::BusWindow),
            ("0000:00:03.0", RegionKind::Device),
            ("IOAPIC 0", RegionKind::Device),
            ("virtio-pci-modern", RegionKind::Device),
        ] {
            assert_eq!(RegionKind::of_name(name), kind, "{name}");
        }
    }

    fn region(start: u64, end: u64, name: &str, depth: usize) -> Region {
        Region {
            start,
            end,
            name: name.into(),
            depth,
        }
    }

    #[test]
    fn parses_nesting_wide_addresses_and_any_name() {
        let text = b"\
00000000-00000fff : Reserved
00001000-0009fbff : System RAM
b0000000-bfffffff : PCI MMCONFIG 0000 [bus 00-ff]
  b0000000-bfffffff : Reserved
    b0000000-bfffffff : pnp 00:04
  b0000000-b0000fff : name : with : colons
c0000000-febfffff : PCI Bus 0000:00
  fea00000-feafffff : 0000:00:01.0
fd00000000-ffffffffff : Reserved
100000000-8ffffffff : \n\
fffffffffffff000-ffffffffffffffff :
  fffffffffffff000-fffffffffffff0ff :   leading blanks kept
";
        let map = IomemMap::parse(text).unwrap();
        assert_eq!(
            map.regions,
            [
                region(0, 0xfff, "Reserved", 0),
                region(0x1000, 0x9fbff, "System RAM", 0),
                region(0xb000_0000, 0xbfff_ffff, "PCI MMCONFIG 0000 [bus 00-ff]", 0),
                region(0xb000_0000, 0xbfff_ffff, "Reserved", 1),
                region(0xb000_0000, 0xbfff_ffff, "pnp 00:04", 2),
                region(0xb000_0000, 0xb000_0fff, "name : with : colons", 1),
                region(0xc000_0000, 0xfebf_ffff, "PCI Bus 0000:00", 0),
                region(0xfea0_0000, 0xfeaf_ffff, "0000:00:01.0", 1),
                region(0xfd_0000_0000, 0xff_ffff_ffff, "Reserved", 0),
                region(0x1_0000_0000, 0x8_ffff_ffff, "", 0),
                region(u64::MAX - 0xfff, u64::MAX, "", 0),
                region(
                    u64::MAX - 0xfff,
                    u64::MAX - 0xf00,
                    "  leading blanks kept",
                    1
                ),
            ]
        );
        // no trailing newline, upper-case digits, an empty file
        assert_eq!(
            IomemMap::parse(b"0000ABCD-0000FFFF : x").unwrap().regions,
            [region(0xabcd, 0xffff, "x", 0)]
        );
        assert!(IomemMap::parse(b"").unwrap().regions.is_empty());
        assert!(IomemMap::parse(b"\n\n").unwrap().regions.is_empty());
    }

    #[test]
    fn a_malformed_line_is_one_error_naming_it() {
        for (text, line, why) in [
            (&b"garbage\n"[..], 1, "no ` : `"),
            (b"00000000-00000fff : Reserved\ngarbage", 2, "no ` : `"),
            (b"00000000 : Reserved", 1, "no `-`"),
            (b"0000zzzz-00000fff : Reserved", 1, "the start is not"),
            (b"+0000000-00000fff : Reserved", 1, "the start is not"),
            (b"00000000-0000 fff : x", 1, "the end is not"),
            (b"00000000-10000000000000000 : x", 1, "the end is not"),
            (b"00001000-00000fff : x", 1, "the start is after the end"),
            (b" 00000000-00000fff : x", 1, "odd number"),
            (b"  00000000-00000fff : x", 1, "nested deeper"),
            (
                b"00000000-00000fff : a\n    00000000-000000ff : b",
                2,
                "nested deeper",
            ),
        ] {
            let err = IomemMap::parse(text).unwrap_err();
            assert_eq!(err.line, line, "{err}");
            assert!(err.why.contains(why), "{err}");
            let shown = err.to_string();
            assert_eq!(shown.lines().count(), 1, "{shown}");
        }
        // the offending text is escaped and cut: the message is one short line
        let long = format!("{}\r\x1b[2J", "x".repeat(500));
        let err = IomemMap::parse(long.as_bytes()).unwrap_err();
        assert_eq!(err.text.chars().count(), 80);
        assert!(!err.to_string().contains('\x1b'));
        assert_eq!(
            IomemMap::parse(b"garbage").unwrap_err().to_string(),
            "line 1 is not `START-END : NAME` (no ` : ` after the range): 'garbage'"
        );
    }

    #[test]
    fn system_ram_is_whole_frames_of_the_top_level_ranges() {
        assert_eq!(
            map().system_ram_frames(4096),
            [(0x1, 0x9f), (0x100, 0xc0000), (0x100000, 0x640000)]
        );
        let odd =
            IomemMap::parse(b"00000800-00002fff : System RAM\n00004000-00004ffe : System RAM\n")
                .unwrap();
        assert_eq!(
            odd.system_ram_frames(4096),
            [(1, 3)],
            "partial frames are left out"
        );
    }

    #[test]
    fn a_map_read_without_root_is_hidden() {
        let hidden = IomemMap::parse("00000000-00000000 : Reserved\n00000000-00000000 : System RAM\n  00000000-00000000 : Kernel code\n".as_bytes()).unwrap();
        assert!(hidden.is_hidden());
        assert_eq!(hidden.place(PhysAddr(0x1000)), Placement::Hidden);
        assert!(!map().is_hidden());
    }
}
