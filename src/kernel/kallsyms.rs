// SPDX-License-Identifier: MIT OR Apache-2.0
//! /proc/kallsyms decoded, and the kernel image's symbols placed in physical memory.
//!
//! Each line is what `kernel/kallsyms.c` (`s_show`) prints: `%px %c %s\n` for the kernel
//! image (vmlinux) and `%px %c %s\t[%s]\n` for a module (or a BPF program, an ftrace
//! trampoline), the type being nm's letter (T/t text, D/d data, B/b bss, R/r read-only data,
//! A absolute, W/V weak; lower case: local). [`Kallsyms::parse`] takes the bytes and borrows
//! the names; a malformed line makes the whole table unusable, reported as one
//! [`KallsymsParseError`] naming it. Two ways a table says nothing useful are told apart:
//! every address 0 ([`Kallsyms::is_hidden`]: kptr_restrict, or a reader without
//! CAP_SYSLOG), and no data symbol at all ([`Kallsyms::lists_data`]: a kernel built without
//! CONFIG_KALLSYMS_ALL lists only text and the `__start_`/`__stop_` section markers).
//!
//! The kernel image is physically contiguous, so a symbol's physical address is its
//! distance from the image's start plus where /proc/iomem puts "Kernel code"
//! ([`ImageLayout`]: `_text` on x86-64, `_stext` on arm64, whose "Kernel code" starts
//! there): KASLR moves both alike and does not matter. [`Kallsyms::locate`] and
//! [`Kallsyms::nearest`] go each way; the image's section (text, rodata, data, bss, init)
//! comes from the kallsyms markers and the iomem "Kernel …" ranges. Everything here is pure,
//! tested on literals and fuzzed (`fuzz/fuzz_targets/kallsyms.rs`); reading the file is
//! [`crate::proc::kallsyms`], the errors a user sees are [`crate::resolve::symbol`]'s.

use std::fmt;

use crate::kernel::iomem::IomemMap;

/// One line of /proc/kallsyms, its name borrowed from the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbol<'a> {
    /// The kernel virtual address (0 where kallsyms hides it).
    pub addr: u64,
    /// nm's type letter: T text, D data, B bss, R read-only data, A absolute, ...
    pub kind: char,
    pub name: &'a str,
    /// The module holding it (`bpf` and `__builtin__ftrace` too); `None` for the kernel image.
    pub module: Option<&'a str>,
}

impl Symbol<'_> {
    /// A data object (data, bss, read-only data, small data, weak object), not code.
    pub fn is_data(&self) -> bool {
        matches!(
            self.kind.to_ascii_lowercase(),
            'd' | 'b' | 'r' | 'g' | 's' | 'v'
        )
    }

    /// One of the markers the kernel lists even without CONFIG_KALLSYMS_ALL.
    fn is_section_marker(&self) -> bool {
        self.name.starts_with("__start_") || self.name.starts_with("__stop_")
    }
}

/// A line of /proc/kallsyms that is not `ADDRESS TYPE NAME[\t[MODULE]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KallsymsParseError {
    /// 1-based line number.
    pub line: usize,
    /// The line, escaped and cut to 80 characters so the message stays one line.
    pub text: String,
    pub why: &'static str,
}

impl fmt::Display for KallsymsParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} is not `ADDRESS TYPE NAME` ({}): '{}'",
            self.line, self.why, self.text
        )
    }
}

impl std::error::Error for KallsymsParseError {}

/// One line without its newline.
pub fn parse_line(line: &[u8]) -> Result<Symbol<'_>, &'static str> {
    let space = line
        .iter()
        .position(|&b| b == b' ')
        .ok_or("no blank after the address")?;
    let hex = &line[..space];
    if hex.is_empty() || hex.len() > 16 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return Err("the address is not 1 to 16 hex digits");
    }
    let addr = hex
        .iter()
        .fold(0u64, |acc, &b| (acc << 4) | u64::from(hex_value(b)));
    let rest = &line[space + 1..];
    let (kind, rest) = match rest {
        [kind, b' ', rest @ ..] if kind.is_ascii_graphic() => (char::from(*kind), rest),
        _ => return Err("no one-letter type between blanks"),
    };
    let (name, module) = match rest.iter().position(|&b| b == b'\t') {
        Some(tab) => (&rest[..tab], Some(&rest[tab + 1..])),
        None => (rest, None),
    };
    let name = std::str::from_utf8(name).map_err(|_| "the name is not UTF-8")?;
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err("the name is empty or holds a blank");
    }
    let module = match module {
        None => None,
        Some(text) => {
            let inner = text
                .strip_prefix(b"[")
                .and_then(|t| t.strip_suffix(b"]"))
                .filter(|t| !t.is_empty())
                .ok_or("the module is not `[NAME]`")?;
            let inner = std::str::from_utf8(inner).map_err(|_| "the module is not UTF-8")?;
            if inner
                .chars()
                .any(|c| c.is_whitespace() || c == '[' || c == ']')
            {
                return Err("the module name holds a blank or a bracket");
            }
            Some(inner)
        }
    };
    Ok(Symbol {
        addr,
        kind,
        name,
        module,
    })
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// The parsed table, borrowing the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kallsyms<'a> {
    pub symbols: Vec<Symbol<'a>>,
}

/// A section of the kernel image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSection {
    /// Code: `_stext`..`_etext`, iomem's "Kernel code".
    Text,
    /// Read-only data: `__start_rodata`..`__end_rodata`, "Kernel rodata".
    Rodata,
    /// Initialised data: `_sdata`..`_edata`, "Kernel data".
    Data,
    /// Zeroed data: `__bss_start`..`__bss_stop`, "Kernel bss".
    Bss,
    /// Init code and data, freed after boot: `__init_begin`..`__init_end`.
    Init,
    /// Elsewhere in the image (between the sections above).
    Image,
}

impl ImageSection {
    /// The lower-case name used in reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            ImageSection::Text => "text",
            ImageSection::Rodata => "rodata",
            ImageSection::Data => "data",
            ImageSection::Bss => "bss",
            ImageSection::Init => "init",
            ImageSection::Image => "image",
        }
    }
}

impl ImageSection {
    /// The section in a sentence: `init memory (freed after boot)` for init.
    pub fn describe(self) -> &'static str {
        match self {
            ImageSection::Init => "init memory (freed after boot)",
            ImageSection::Image => "the image, between its sections",
            other => other.name(),
        }
    }
}

impl fmt::Display for ImageSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Sections by their kallsyms markers, searched in this order (init first: x86 puts
/// `__init_begin` at `_sinittext`).
const MARKERS: [(&str, &str, ImageSection); 6] = [
    ("__init_begin", "__init_end", ImageSection::Init),
    ("_sinittext", "_einittext", ImageSection::Init),
    ("__start_rodata", "__end_rodata", ImageSection::Rodata),
    ("_stext", "_etext", ImageSection::Text),
    ("__bss_start", "__bss_stop", ImageSection::Bss),
    ("_sdata", "_edata", ImageSection::Data),
];

/// Sections by /proc/iomem's names, where no marker says.
const IOMEM_SECTIONS: [(&str, ImageSection); 4] = [
    ("Kernel code", ImageSection::Text),
    ("Kernel rodata", ImageSection::Rodata),
    ("Kernel data", ImageSection::Data),
    ("Kernel bss", ImageSection::Bss),
];

/// How the image's virtual addresses map to physical ones: the anchor symbol lies at the
/// start of /proc/iomem's "Kernel code".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageLayout {
    /// `_text` (x86-64) or `_stext` (arm64).
    pub anchor: &'static str,
    /// The anchor's kernel virtual address.
    pub anchor_addr: u64,
    /// The physical start of "Kernel code".
    pub code_start: u64,
    /// The iomem "Kernel …" ranges, `(name, start, end inclusive)`.
    pub regions: Vec<(String, u64, u64)>,
    /// The image's end (`_end`), where listed.
    pub end_addr: Option<u64>,
}

impl ImageLayout {
    /// The physical address of kernel virtual address `vaddr` of the image.
    pub fn phys_of(&self, vaddr: u64) -> Option<u64> {
        vaddr
            .checked_sub(self.anchor_addr)?
            .checked_add(self.code_start)
    }

    /// The kernel virtual address of physical address `paddr` of the image.
    pub fn virt_of(&self, paddr: u64) -> Option<u64> {
        paddr
            .checked_sub(self.code_start)?
            .checked_add(self.anchor_addr)
    }

    /// The iomem "Kernel …" range holding `paddr`.
    pub fn region_of(&self, paddr: u64) -> Option<&str> {
        self.regions
            .iter()
            .find(|(_, start, end)| (*start..=*end).contains(&paddr))
            .map(|(name, _, _)| name.as_str())
    }

    /// Whether `vaddr` lies in the image: from the anchor to `_end` included (or the last "Kernel …"
    /// range, where `_end` is not listed).
    fn holds(&self, vaddr: u64) -> bool {
        let last = self.regions.iter().map(|(_, _, end)| *end).max();
        let by_regions = self
            .phys_of(vaddr)
            .is_some_and(|p| last.is_some_and(|last| p <= last));
        vaddr >= self.anchor_addr && (self.end_addr.is_some_and(|end| vaddr <= end) || by_regions)
    }
}

/// Why a name or an address could not be placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymbolError {
    /// Every address reads 0.
    Hidden,
    /// The table lacks the anchor symbol (`_text`).
    NoAnchor(&'static str),
    /// /proc/iomem has no "Kernel code" range.
    NoKernelCode,
    /// No symbol of that name; `data_listed` is false when the table lists no data symbol
    /// at all (no CONFIG_KALLSYMS_ALL); close names, if any.
    Unknown {
        name: String,
        data_listed: bool,
        close: Vec<String>,
    },
    /// Only in a module (not in the kernel image).
    InModule { name: String, module: String },
    /// Several different symbols of the image have this name: their physical addresses.
    Ambiguous { name: String, paddrs: Vec<u64> },
    /// The symbol lies outside the image (a per-CPU offset, an absolute value).
    OutsideImage { name: String, addr: u64, kind: char },
    /// NAME+OFF runs past the end of the address space.
    Overflow { name: String },
}

impl fmt::Display for SymbolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SymbolError::Hidden => f.write_str("/proc/kallsyms shows every address as 0"),
            SymbolError::NoAnchor(anchor) => {
                write!(f, "/proc/kallsyms lists no {anchor}, the kernel image's start")
            }
            SymbolError::NoKernelCode => f.write_str("/proc/iomem has no \"Kernel code\" range"),
            SymbolError::Unknown {
                name,
                data_listed,
                close,
            } => {
                write!(f, "no kernel symbol '{name}' in /proc/kallsyms")?;
                if !close.is_empty() {
                    write!(f, " (close names: {})", close.join(", "))?;
                }
                if !data_listed {
                    f.write_str("; it lists no data symbols at all: the kernel was built without CONFIG_KALLSYMS_ALL")?;
                }
                Ok(())
            }
            SymbolError::InModule { name, module } => write!(
                f,
                "'{name}' is in module [{module}], not in the kernel image: a module lives in vmalloc'd pages with no fixed physical address"
            ),
            SymbolError::Ambiguous { name, paddrs } => {
                let list: Vec<String> = paddrs.iter().map(|p| format!("{p:#x}")).collect();
                write!(
                    f,
                    "{} kernel symbols are named '{name}', at physical {}",
                    paddrs.len(),
                    list.join(", ")
                )
            }
            SymbolError::OutsideImage { name, addr, kind } => write!(
                f,
                "'{name}' ({kind}) is at {addr:#x}, outside the kernel image: a per-CPU variable's offset or an absolute value, not a place in memory"
            ),
            SymbolError::Overflow { name } => {
                write!(f, "the offset from '{name}' runs past the end of the address space")
            }
        }
    }
}

impl std::error::Error for SymbolError {}

/// A symbol placed in physical memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub name: String,
    pub kind: char,
    /// The symbol's kernel virtual address.
    pub addr: u64,
    /// The offset asked for, from the symbol.
    pub offset: u64,
    /// `addr + offset`, and its physical address.
    pub vaddr: u64,
    pub paddr: u64,
    /// Bytes from the symbol to the next symbol of the image at a higher address.
    pub size: Option<u64>,
    pub section: ImageSection,
    /// The iomem "Kernel …" range holding `paddr`.
    pub region: Option<String>,
}

impl Placed {
    /// Bytes from `vaddr` to the next symbol.
    pub fn remaining(&self) -> Option<u64> {
        self.size.map(|size| size.saturating_sub(self.offset))
    }
}

/// The symbol at or before an address of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolAt {
    pub name: String,
    pub kind: char,
    pub offset: u64,
    /// Bytes from the symbol to the next one.
    pub size: Option<u64>,
}

/// A physical address of the kernel image, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Near {
    pub vaddr: u64,
    pub section: ImageSection,
    pub region: Option<String>,
    /// The symbol at or before the address; `None` when the table cannot name it.
    pub symbol: Option<SymbolAt>,
    /// Why `symbol` is `None`.
    pub unnamed: Option<&'static str>,
}

impl<'a> Kallsyms<'a> {
    /// Parses /proc/kallsyms text; empty lines are skipped, any other line not of the
    /// kernel's form is an error naming it.
    pub fn parse(text: &'a [u8]) -> Result<Kallsyms<'a>, KallsymsParseError> {
        let mut symbols = Vec::with_capacity(text.len() / 40);
        for (index, line) in text.split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            symbols.push(parse_line(line).map_err(|why| {
                KallsymsParseError {
                    line: index + 1,
                    text: String::from_utf8_lossy(line)
                        .escape_debug()
                        .take(80)
                        .collect(),
                    why,
                }
            })?);
        }
        Ok(Kallsyms { symbols })
    }

    /// Every address reads 0 (kptr_restrict, or a reader without CAP_SYSLOG).
    pub fn is_hidden(&self) -> bool {
        !self.symbols.is_empty() && self.symbols.iter().all(|s| s.addr == 0)
    }

    fn image(&self) -> impl Iterator<Item = &Symbol<'a>> + '_ {
        self.symbols.iter().filter(|s| s.module.is_none())
    }

    /// The address of the image's first symbol named `name`.
    pub fn marker(&self, name: &str) -> Option<u64> {
        self.image().find(|s| s.name == name).map(|s| s.addr)
    }

    /// Whether the image lists data symbols: without CONFIG_KALLSYMS_ALL the only data
    /// symbols are the `__start_`/`__stop_` markers and those inside the text ranges.
    pub fn lists_data(&self) -> bool {
        let text: Vec<(u64, u64)> = [("_stext", "_etext"), ("_sinittext", "_einittext")]
            .iter()
            .filter_map(|(start, end)| Some((self.marker(start)?, self.marker(end)?)))
            .collect();
        let in_text = |addr: u64| text.iter().any(|(s, e)| (*s..=*e).contains(&addr));
        self.image()
            .any(|s| s.is_data() && !s.is_section_marker() && !in_text(s.addr))
    }

    /// The lowest address of the image above `addr`.
    fn next_above(&self, addr: u64) -> Option<u64> {
        self.image().map(|s| s.addr).filter(|&a| a > addr).min()
    }

    /// The layout: `anchor`'s address and "Kernel code"'s start in `iomem`.
    pub fn layout(
        &self,
        iomem: &IomemMap,
        anchor: &'static str,
    ) -> Result<ImageLayout, SymbolError> {
        if self.is_hidden() {
            return Err(SymbolError::Hidden);
        }
        let anchor_addr = self.marker(anchor).ok_or(SymbolError::NoAnchor(anchor))?;
        let regions: Vec<(String, u64, u64)> = iomem
            .regions
            .iter()
            .filter(|r| r.name.starts_with("Kernel "))
            .map(|r| (r.name.clone(), r.start, r.end))
            .collect();
        let code_start = regions
            .iter()
            .find(|(name, _, _)| name == "Kernel code")
            .map(|(_, start, _)| *start)
            .ok_or(SymbolError::NoKernelCode)?;
        Ok(ImageLayout {
            anchor,
            anchor_addr,
            code_start,
            regions,
            end_addr: self.marker("_end"),
        })
    }

    /// The section of the image at `vaddr` (physical `paddr`): the kallsyms markers first,
    /// then the iomem range.
    pub fn section(&self, layout: &ImageLayout, vaddr: u64, paddr: u64) -> ImageSection {
        let by_marker = MARKERS.iter().find(|(start, end, _)| {
            matches!((self.marker(start), self.marker(end)), (Some(s), Some(e)) if s <= vaddr && vaddr < e)
        });
        if let Some((_, _, section)) = by_marker {
            return *section;
        }
        layout
            .region_of(paddr)
            .and_then(|name| IOMEM_SECTIONS.iter().find(|(n, _)| *n == name))
            .map_or(ImageSection::Image, |(_, section)| *section)
    }

    /// Places `name + offset` in physical memory.
    pub fn locate(
        &self,
        layout: &ImageLayout,
        name: &str,
        offset: u64,
    ) -> Result<Placed, SymbolError> {
        let mut found: Vec<&Symbol> = self.image().filter(|s| s.name == name).collect();
        found.sort_by_key(|s| s.addr);
        found.dedup_by_key(|s| s.addr);
        let symbol = match found.as_slice() {
            [one] => *one,
            [] => return Err(self.not_in_image(name)),
            many => {
                return Err(SymbolError::Ambiguous {
                    name: name.to_string(),
                    paddrs: many.iter().filter_map(|s| layout.phys_of(s.addr)).collect(),
                })
            }
        };
        if !layout.holds(symbol.addr) {
            return Err(SymbolError::OutsideImage {
                name: name.to_string(),
                addr: symbol.addr,
                kind: symbol.kind,
            });
        }
        let overflow = || SymbolError::Overflow {
            name: name.to_string(),
        };
        let vaddr = symbol.addr.checked_add(offset).ok_or_else(overflow)?;
        let paddr = layout.phys_of(vaddr).ok_or_else(overflow)?;
        Ok(Placed {
            name: name.to_string(),
            kind: symbol.kind,
            addr: symbol.addr,
            offset,
            vaddr,
            paddr,
            size: self.next_above(symbol.addr).map(|next| next - symbol.addr),
            section: self.section(layout, vaddr, paddr),
            region: layout.region_of(paddr).map(str::to_string),
        })
    }

    /// Why `name` is not a symbol of the image: a module's, or unknown.
    fn not_in_image(&self, name: &str) -> SymbolError {
        if let Some(module) = self
            .symbols
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.module)
        {
            return SymbolError::InModule {
                name: name.to_string(),
                module: module.to_string(),
            };
        }
        SymbolError::Unknown {
            name: name.to_string(),
            data_listed: self.lists_data(),
            close: self.close_names(name, 3),
        }
    }

    /// Up to `most` names of the image close to `name` (the same but for case, or a few
    /// letters apart), closest first.
    pub fn close_names(&self, name: &str, most: usize) -> Vec<String> {
        let limit = (name.chars().count() / 4).clamp(1, 3);
        let mut close: Vec<(usize, &str)> = self
            .image()
            .filter_map(|s| {
                let distance = if s.name.eq_ignore_ascii_case(name) {
                    0
                } else {
                    bounded_distance(name.as_bytes(), s.name.as_bytes(), limit)?
                };
                Some((distance, s.name))
            })
            .collect();
        close.sort_unstable();
        close.dedup_by_key(|(_, n)| *n);
        close
            .into_iter()
            .take(most)
            .map(|(_, n)| n.to_string())
            .collect()
    }

    /// Names the image's address `paddr`: its section, and the symbol at or before it.
    /// `None` outside the image.
    pub fn nearest(&self, layout: &ImageLayout, paddr: u64) -> Option<Near> {
        let vaddr = layout.virt_of(paddr)?;
        let in_region = layout.region_of(paddr).is_some();
        if !in_region && !layout.holds(vaddr) {
            return None;
        }
        let section = self.section(layout, vaddr, paddr);
        let text = matches!(section, ImageSection::Text);
        // the highest address at or below, and of the names there, the first listed
        let below = self
            .image()
            .filter(|s| s.addr <= vaddr && s.addr >= layout.anchor_addr)
            .fold(None, |best: Option<&Symbol>, s| match best {
                Some(b) if b.addr >= s.addr => Some(b),
                _ => Some(s),
            });
        let (symbol, unnamed) = match below {
            _ if !text && !self.lists_data() => (
                None,
                Some("/proc/kallsyms lists no data symbols (no CONFIG_KALLSYMS_ALL)"),
            ),
            None => (None, Some("no symbol of the image lies at or before it")),
            Some(s) => (
                Some(SymbolAt {
                    name: s.name.to_string(),
                    kind: s.kind,
                    offset: vaddr - s.addr,
                    size: self.next_above(s.addr).map(|next| next - s.addr),
                }),
                None,
            ),
        };
        Some(Near {
            vaddr,
            section,
            region: layout.region_of(paddr).map(str::to_string),
            symbol,
            unnamed,
        })
    }
}

/// The edit distance of `a` and `b` (ASCII case folded), if it is at most `limit`.
fn bounded_distance(a: &[u8], b: &[u8], limit: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        let mut best = row[0];
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(!ca.eq_ignore_ascii_case(&cb));
            let next = (diagonal + cost).min(row[j] + 1).min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
            best = best.min(next);
        }
        if best > limit {
            return None;
        }
    }
    Some(row[b.len()]).filter(|&d| d <= limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of an x86-64 6.1 kernel's table with CONFIG_KALLSYMS_ALL (nokaslr), cut.
    const X86: &str = "\
0000000000000000 A fixed_percpu_data
000000000001b000 D cpu_number
ffffffff81000000 T _text
ffffffff81000000 T _stext
ffffffff81001000 T do_one_initcall
ffffffff81001200 t run_init_process
ffffffff81e00000 T _etext
ffffffff82000000 D __start_rodata
ffffffff82000000 R linux_banner
ffffffff82000098 R linux_proc_banner
ffffffff82100000 D __end_rodata
ffffffff82200000 D _sdata
ffffffff82205d00 D jiffies
ffffffff82205d00 D jiffies_64
ffffffff82205d08 d event_exit
ffffffff82205d40 d event_exit
ffffffff82400000 D _edata
ffffffff82600000 T _sinittext
ffffffff82600000 D __init_begin
ffffffff82600100 T start_kernel
ffffffff82700000 T _einittext
ffffffff82800000 D __init_end
ffffffff82a00000 B __bss_start
ffffffff82a00040 b rcu_state_buffer
ffffffff82b00000 B __bss_stop
ffffffff82c00000 B _end
ffffffffc0000000 t edu_probe\t[edu]
ffffffffc0000100 d edu_driver\t[edu]
";

    /// The same kernel's /proc/iomem, nokaslr: the image at 16 MiB.
    const IOMEM: &[u8] = b"\
00100000-3ffdffff : System RAM
  01000000-01dfffff : Kernel code
  02000000-020fffff : Kernel rodata
  02200000-023fffff : Kernel data
  02a00000-02afffff : Kernel bss
";

    fn table(text: &str) -> Kallsyms<'_> {
        Kallsyms::parse(text.as_bytes()).expect("a valid table")
    }

    fn layout(table: &Kallsyms) -> ImageLayout {
        table
            .layout(&IomemMap::parse(IOMEM).unwrap(), "_text")
            .expect("a layout")
    }

    #[test]
    fn parses_the_kernels_lines_with_and_without_a_module() {
        assert_eq!(
            parse_line(b"ffffffff81000000 T _text").unwrap(),
            Symbol {
                addr: 0xffff_ffff_8100_0000,
                kind: 'T',
                name: "_text",
                module: None
            }
        );
        assert_eq!(
            parse_line(b"ffffffffc0201000 t ftrace_trampoline\t[__builtin__ftrace]").unwrap(),
            Symbol {
                addr: 0xffff_ffff_c020_1000,
                kind: 't',
                name: "ftrace_trampoline",
                module: Some("__builtin__ftrace")
            }
        );
        // 32-bit kernels print 8 digits
        assert_eq!(parse_line(b"c1000000 T _text").unwrap().addr, 0xc100_0000);
        for bad in [
            &b""[..],
            b"ffffffff81000000",
            b"ffffffff8100000g T x",
            b"11ffffffff81000000 T x",
            b"ffffffff81000000 TT x",
            b"ffffffff81000000 T ",
            b"ffffffff81000000 T a b",
            b"ffffffff81000000 T x\t[]",
            b"ffffffff81000000 T x\tedu",
            b"ffffffff81000000 T x\t[a b]",
            b"ffffffff81000000 T \xff",
        ] {
            assert!(
                parse_line(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn a_malformed_line_is_named_by_number() {
        let err = Kallsyms::parse(b"ffffffff81000000 T _text\n\nnot a line\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert_eq!(
            err.to_string(),
            "line 3 is not `ADDRESS TYPE NAME` (the address is not 1 to 16 hex digits): 'not a line'"
        );
        assert!(Kallsyms::parse(b"").unwrap().symbols.is_empty());
    }

    #[test]
    fn zero_addresses_mean_hidden_and_text_only_means_no_kallsyms_all() {
        let hidden = table("0000000000000000 T _text\n0000000000000000 D jiffies\n");
        assert!(hidden.is_hidden());
        assert_eq!(
            hidden.layout(&IomemMap::parse(IOMEM).unwrap(), "_text"),
            Err(SymbolError::Hidden)
        );
        assert!(!table(X86).is_hidden());
        assert!(table(X86).lists_data());
        // without KALLSYMS_ALL: text, the __start_/__stop_ markers, and data symbols inside
        // the text ranges (x86's __init_begin at _sinittext), as this host's kernel lists
        let text_only = table(
            "ffffffff81000000 T _text\nffffffff81000000 T _stext\nffffffff81001000 T do_one_initcall\n\
             ffffffff81e00000 T _etext\nffffffff82000000 D __start_rodata\n\
             ffffffff82100000 R __start_pci_fixups_early\nffffffff82600000 T _sinittext\n\
             ffffffff82600000 B __init_begin\nffffffff82700000 T _einittext\n",
        );
        assert!(!text_only.lists_data());
        let layout = layout(&text_only);
        let err = text_only.locate(&layout, "jiffies", 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no kernel symbol 'jiffies' in /proc/kallsyms; it lists no data symbols at all: the kernel was built without CONFIG_KALLSYMS_ALL"
        );
        // an address in data is placed in its section, but not named
        let near = text_only.nearest(&layout, 0x0220_5d00).unwrap();
        assert_eq!(near.section, ImageSection::Data);
        assert_eq!(near.symbol, None);
        assert!(near.unnamed.unwrap().contains("CONFIG_KALLSYMS_ALL"));
        // text still is
        let near = text_only.nearest(&layout, 0x0100_1010).unwrap();
        assert_eq!(near.symbol.unwrap().name, "do_one_initcall");
    }

    #[test]
    fn a_symbol_is_placed_from_text_and_kernel_code() {
        let table = table(X86);
        let layout = layout(&table);
        assert_eq!(layout.anchor_addr, 0xffff_ffff_8100_0000);
        assert_eq!(layout.code_start, 0x0100_0000);
        let jiffies = table.locate(&layout, "jiffies", 0).unwrap();
        assert_eq!(jiffies.paddr, 0x0220_5d00);
        assert_eq!(
            jiffies.size,
            Some(8),
            "to event_exit, past jiffies_64 at the same address"
        );
        assert_eq!(jiffies.section, ImageSection::Data);
        assert_eq!(jiffies.region.as_deref(), Some("Kernel data"));
        let banner = table.locate(&layout, "linux_banner", 4).unwrap();
        assert_eq!(
            (banner.paddr, banner.vaddr),
            (0x0200_0004, 0xffff_ffff_8200_0004)
        );
        assert_eq!((banner.size, banner.remaining()), (Some(0x98), Some(0x94)));
        assert_eq!(banner.section, ImageSection::Rodata);
        let text = table.locate(&layout, "_text", 0).unwrap();
        assert_eq!(text.paddr, layout.code_start);
        assert_eq!(text.section, ImageSection::Text);
        let init = table.locate(&layout, "start_kernel", 0).unwrap();
        assert_eq!(init.section, ImageSection::Init);
        assert_eq!(init.region, None);
        let bss = table.locate(&layout, "rcu_state_buffer", 0).unwrap();
        assert_eq!((bss.section, bss.paddr), (ImageSection::Bss, 0x02a0_0040));
        assert_eq!(
            table.locate(&layout, "_end", 0).unwrap().size,
            None,
            "the last of the image"
        );
    }

    #[test]
    fn modules_per_cpu_offsets_duplicates_and_typos_are_told_apart() {
        let table = table(X86);
        let layout = layout(&table);
        let err = |name: &str| table.locate(&layout, name, 0).unwrap_err();
        assert_eq!(
            err("edu_driver"),
            SymbolError::InModule {
                name: "edu_driver".into(),
                module: "edu".into()
            }
        );
        assert!(matches!(
            err("cpu_number"),
            SymbolError::OutsideImage { addr: 0x1b000, .. }
        ));
        assert_eq!(
            err("event_exit").to_string(),
            "2 kernel symbols are named 'event_exit', at physical 0x2205d08, 0x2205d40"
        );
        assert_eq!(
            err("jiffie"),
            SymbolError::Unknown {
                name: "jiffie".into(),
                data_listed: true,
                close: vec!["jiffies".into()]
            }
        );
        assert_eq!(
            err("JIFFIES_64").to_string(),
            "no kernel symbol 'JIFFIES_64' in /proc/kallsyms (close names: jiffies_64)"
        );
        assert_eq!(
            err("zzzzzzzz").to_string(),
            "no kernel symbol 'zzzzzzzz' in /proc/kallsyms"
        );
        assert_eq!(
            table.locate(&layout, "_text", u64::MAX).unwrap_err(),
            SymbolError::Overflow {
                name: "_text".into()
            }
        );
        let no_code = IomemMap::parse(b"00100000-3ffdffff : System RAM\n").unwrap();
        assert_eq!(
            table.layout(&no_code, "_text"),
            Err(SymbolError::NoKernelCode)
        );
        assert_eq!(
            table.layout(&IomemMap::parse(IOMEM).unwrap(), "_nothing"),
            Err(SymbolError::NoAnchor("_nothing"))
        );
    }

    #[test]
    fn an_address_of_the_image_is_named_by_the_symbol_before_it() {
        let table = table(X86);
        let layout = layout(&table);
        let near = table.nearest(&layout, 0x0100_1210).unwrap();
        assert_eq!(near.vaddr, 0xffff_ffff_8100_1210);
        assert_eq!(near.section, ImageSection::Text);
        assert_eq!(near.region.as_deref(), Some("Kernel code"));
        assert_eq!(
            near.symbol,
            Some(SymbolAt {
                name: "run_init_process".into(),
                kind: 't',
                offset: 0x10,
                size: Some(0xdfee00)
            })
        );
        let data = table.nearest(&layout, 0x0220_5d04).unwrap().symbol.unwrap();
        assert_eq!((data.name.as_str(), data.offset), ("jiffies", 4));
        assert_eq!(
            table.nearest(&layout, 0x0200_0000).unwrap().section,
            ImageSection::Rodata
        );
        // outside the image: below it, and past _end
        assert_eq!(table.nearest(&layout, 0x0010_0000), None);
        assert_eq!(table.nearest(&layout, 0x0400_0000), None);
        assert_eq!(table.nearest(&layout, 0x0), None);
    }

    #[test]
    fn close_names_are_few_and_cheap() {
        assert_eq!(bounded_distance(b"jiffies", b"jiffies_64", 3), Some(3));
        assert_eq!(bounded_distance(b"jiffies", b"jiffies_64", 2), None);
        assert_eq!(bounded_distance(b"abc", b"ABD", 1), Some(1));
        assert_eq!(bounded_distance(b"", b"x", 1), Some(1));
    }
}
