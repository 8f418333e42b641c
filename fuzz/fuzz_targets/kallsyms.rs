// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fuzz target: /proc/kallsyms text and `--symbol NAME[+OFF]`. Parsing never panics, and
//! either names a malformed line (one line of message) or gives symbols that print back as
//! the kernel prints them and parse to themselves. Placed against a fixed /proc/iomem (the
//! VM's image at 16 MiB), every symbol of the image either fails with a one-line reason or
//! lands at its address minus `_text` plus "Kernel code", inside the image; and the
//! symbol `nearest` names at that physical address lies at or below it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use physdemo::kernel::iomem::IomemMap;
use physdemo::kernel::kallsyms::{Kallsyms, Symbol};
use physdemo::resolve::symbol::SymbolRef;

const IOMEM: &[u8] = b"\
00100000-3ffdffff : System RAM
  01000000-01dfffff : Kernel code
  02000000-020fffff : Kernel rodata
  02200000-023fffff : Kernel data
  02a00000-02afffff : Kernel bss
";

/// A symbol as `s_show` prints it.
fn render(s: &Symbol) -> String {
    match s.module {
        Some(module) => format!("{:016x} {} {}\t[{module}]\n", s.addr, s.kind, s.name),
        None => format!("{:016x} {} {}\n", s.addr, s.kind, s.name),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(named) = SymbolRef::parse(text.lines().next().unwrap_or_default()) {
        assert!(!named.name.is_empty() && !named.name.contains(char::is_whitespace));
        let _ = named.to_string();
    }
    let table = match Kallsyms::parse(data) {
        Ok(table) => table,
        Err(err) => {
            assert_eq!(err.to_string().lines().count(), 1, "{err}");
            assert!(err.line >= 1);
            return;
        }
    };
    let printed: String = table.symbols.iter().map(render).collect();
    assert_eq!(Kallsyms::parse(printed.as_bytes()).as_ref(), Ok(&table));
    let _ = (table.is_hidden(), table.lists_data());
    let iomem = IomemMap::parse(IOMEM).unwrap();
    let layout = match table.layout(&iomem, "_text") {
        Ok(layout) => layout,
        Err(err) => {
            assert_eq!(err.to_string().lines().count(), 1, "{err}");
            return;
        }
    };
    assert_eq!(layout.code_start, 0x0100_0000);
    for (i, symbol) in table.symbols.iter().take(16).enumerate() {
        let offset = (i as u64) * 3;
        match table.locate(&layout, symbol.name, offset) {
            Ok(placed) => {
                assert!(placed.addr >= layout.anchor_addr, "{placed:?}");
                assert_eq!(placed.vaddr, placed.addr + offset);
                assert_eq!(placed.paddr - layout.code_start, placed.vaddr - layout.anchor_addr);
                if let Some(near) = table.nearest(&layout, placed.paddr) {
                    assert_eq!(near.vaddr, placed.vaddr);
                    if let Some(at) = near.symbol {
                        assert!(at.offset <= placed.vaddr - layout.anchor_addr);
                    }
                }
            }
            Err(err) => assert_eq!(err.to_string().lines().count(), 1, "{err}"),
        }
    }
});
