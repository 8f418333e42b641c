// SPDX-License-Identifier: MIT OR Apache-2.0
//! The page-table walk the MMU makes for a user virtual address: which table it starts
//! from and which entry each level picks, for the machine and page size that run.
//!
//! The one place that knows page-table geometry, behind one small type, [`Mmu`]:
//! - x86-64 (`Documentation/arch/x86/x86_64/mm.rst`): CR3, then PGD, PUD, PMD and PTE,
//!   9 bits each above a 12-bit offset (4 KiB pages, four levels; 47-bit user space).
//! - arm64 (`Documentation/arch/arm64/memory.rst`, the Arm ARM's VMSAv8-64 translation
//!   tables): TTBR0_EL1 for user addresses, then levels L0..L3 with the last always L3;
//!   a granule of 2^s bytes gives s-3 index bits per level, and as many levels as cover
//!   the kernel's VA bits: 4 levels of 9 bits with 4 KiB pages and 48-bit VA, 3 levels
//!   (6 + 13 + 13 bits) with 64 KiB pages and 48-bit VA, 2 levels with 64 KiB and 42 bits.
//!
//! Which [`Mmu`] runs is read by [`crate::proc::arch`]; everything here is pure.

use serde::Serialize;

use crate::kernel::addr::{PageSize, VirtAddr};

/// The memory management unit whose walk a report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mmu {
    /// x86-64 with four-level paging.
    X86_64,
    /// arm64 (AArch64) with `va_bits`-bit virtual addresses (CONFIG_ARM64_VA_BITS).
    Arm64 { va_bits: u32 },
    /// Anything else: no walk is shown, only page and offset.
    Other,
}

/// One level of the walk: the table's name and the entry the address picks in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Level {
    /// `PGD`..`PTE` on x86-64, `L0`..`L3` on arm64.
    pub table: &'static str,
    /// The entry's index in that table.
    pub index: u64,
    /// The address bits that index it, `high` down to `low`.
    pub high: u32,
    pub low: u32,
}

impl Level {
    /// How many entries the table has (2^bits).
    pub fn entries(&self) -> u64 {
        1 << (self.high - self.low + 1)
    }
}

/// The whole walk of one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Walk {
    /// The register holding the first table's frame: `CR3` or `TTBR0_EL1`.
    pub root: &'static str,
    /// The virtual address bits the tables cover (48 with 4-level x86-64 paging).
    pub va_bits: u32,
    pub levels: Vec<Level>,
    /// The offset in the page: the address bits below the last level.
    pub offset: u64,
    pub offset_bits: u32,
}

const X86_TABLES: [&str; 4] = ["PGD", "PUD", "PMD", "PTE"];
const ARM64_TABLES: [&str; 4] = ["L0", "L1", "L2", "L3"];

impl Mmu {
    /// The walk of `addr` with pages of `page`; `None` when this MMU has no such
    /// geometry (x86-64 with other than 4 KiB pages, an arm64 granule other than 4, 16 or
    /// 64 KiB, VA bits that do not fit) or the address lies above the VA bits.
    pub fn walk(self, addr: VirtAddr, page: PageSize) -> Option<Walk> {
        let shift = page.shift();
        let (root, va_bits, tables) = match self {
            Mmu::X86_64 if shift == 12 => ("CR3", 48, &X86_TABLES),
            Mmu::Arm64 { va_bits } if matches!(shift, 12 | 14 | 16) => {
                ("TTBR0_EL1", va_bits, &ARM64_TABLES)
            }
            _ => return None,
        };
        if va_bits <= shift || va_bits > 52 || (va_bits < 64 && addr.0 >> va_bits != 0) {
            return None;
        }
        let per_level = shift - 3;
        let count = (va_bits - shift).div_ceil(per_level) as usize;
        if count > tables.len() {
            return None;
        }
        let levels = (0..count)
            .map(|i| {
                let low = shift + per_level * (count - 1 - i) as u32;
                let high = (low + per_level - 1).min(va_bits - 1);
                Level {
                    table: tables[tables.len() - count + i],
                    index: (addr.0 >> low) & ((1 << (high - low + 1)) - 1),
                    high,
                    low,
                }
            })
            .collect();
        Some(Walk {
            root,
            va_bits,
            levels,
            offset: page.offset_in_page(addr.0),
            offset_bits: shift,
        })
    }
}

impl Walk {
    /// `PGD[254] -> PUD[72] -> PMD[418] -> PTE[359] + offset 0x040`, the offset with as
    /// many hex digits as its bits take.
    pub fn chain(&self) -> String {
        let steps: Vec<String> = self
            .levels
            .iter()
            .map(|l| format!("{}[{}]", l.table, l.index))
            .collect();
        let digits = self.offset_bits.div_ceil(4) as usize + 2;
        format!("{} + offset {:#0digits$x}", steps.join(" -> "), self.offset)
    }

    /// `bits 47-39 | 38-30 | 29-21 | 20-12 | 11-0`.
    pub fn bit_ranges(&self) -> String {
        let mut parts: Vec<String> = self
            .levels
            .iter()
            .map(|l| format!("{}-{}", l.high, l.low))
            .collect();
        parts.push(format!("{}-0", self.offset_bits - 1));
        format!("bits {}", parts.join(" | "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(bytes: u64) -> PageSize {
        PageSize::new(bytes).unwrap()
    }

    #[test]
    fn x86_64_is_four_levels_of_nine_bits() {
        let w = Mmu::X86_64
            .walk(VirtAddr(0x7f12_3456_7040), page(4096))
            .unwrap();
        assert_eq!(
            w.chain(),
            "PGD[254] -> PUD[72] -> PMD[418] -> PTE[359] + offset 0x040"
        );
        assert_eq!(w.bit_ranges(), "bits 47-39 | 38-30 | 29-21 | 20-12 | 11-0");
        assert_eq!(w.root, "CR3");
        assert!(w.levels.iter().all(|l| l.entries() == 512));
        assert_eq!(Mmu::X86_64.walk(VirtAddr(0x1000), page(65536)), None);
    }

    #[test]
    fn arm64_4k_48_bits_is_l0_to_l3() {
        let mmu = Mmu::Arm64 { va_bits: 48 };
        let w = mmu.walk(VirtAddr(0xffff_8a3c_5040), page(4096)).unwrap();
        assert_eq!(w.root, "TTBR0_EL1");
        assert_eq!(
            w.chain(),
            "L0[511] -> L1[510] -> L2[81] -> L3[453] + offset 0x040"
        );
        assert_eq!(w.bit_ranges(), "bits 47-39 | 38-30 | 29-21 | 20-12 | 11-0");
    }

    #[test]
    fn arm64_64k_48_bits_is_three_levels_the_first_of_six_bits() {
        let mmu = Mmu::Arm64 { va_bits: 48 };
        let addr = 0xffff_9a3c_5040u64;
        let w = mmu.walk(VirtAddr(addr), page(65536)).unwrap();
        assert_eq!(w.bit_ranges(), "bits 47-42 | 41-29 | 28-16 | 15-0");
        let tables: Vec<_> = w.levels.iter().map(|l| l.table).collect();
        assert_eq!(tables, ["L1", "L2", "L3"]);
        let idx: Vec<_> = w.levels.iter().map(|l| l.index).collect();
        assert_eq!(
            idx,
            [addr >> 42, (addr >> 29) & 0x1fff, (addr >> 16) & 0x1fff]
        );
        assert_eq!(idx, [63, 0x1ffc, 0x1a3c]);
        assert_eq!(w.offset, 0x5040);
        assert!(
            w.chain().ends_with("L3[6716] + offset 0x5040"),
            "{}",
            w.chain()
        );
        assert_eq!(w.levels[0].entries(), 64);
        assert_eq!(w.levels[1].entries(), 8192);
    }

    #[test]
    fn arm64_64k_42_bits_is_two_levels_and_39_bits_on_4k_is_three() {
        let two = Mmu::Arm64 { va_bits: 42 }
            .walk(VirtAddr(0x3ff_f000_1234), page(65536))
            .unwrap();
        assert_eq!(two.bit_ranges(), "bits 41-29 | 28-16 | 15-0");
        assert_eq!(two.levels[0].table, "L2");
        let three = Mmu::Arm64 { va_bits: 39 }
            .walk(VirtAddr(0x7f_f000_1234), page(4096))
            .unwrap();
        assert_eq!(three.bit_ranges(), "bits 38-30 | 29-21 | 20-12 | 11-0");
        assert_eq!(three.levels[0].table, "L1");
        // 16 KiB with 47 bits: three levels of 11 bits.
        let sixteen = Mmu::Arm64 { va_bits: 47 }
            .walk(VirtAddr(0x7fff_0000_4321), page(16384))
            .unwrap();
        assert_eq!(sixteen.bit_ranges(), "bits 46-36 | 35-25 | 24-14 | 13-0");
        assert_eq!(sixteen.levels[0].entries(), 2048);
    }

    #[test]
    fn no_walk_above_the_va_bits_or_for_unknown_geometry() {
        let mmu = Mmu::Arm64 { va_bits: 39 };
        assert_eq!(mmu.walk(VirtAddr(1 << 40), page(4096)), None);
        assert_eq!(mmu.walk(VirtAddr(0x1000), page(8192)), None);
        assert_eq!(Mmu::Other.walk(VirtAddr(0x1000), page(4096)), None);
        assert_eq!(
            Mmu::Arm64 { va_bits: 12 }.walk(VirtAddr(0), page(4096)),
            None
        );
    }
}
