// SPDX-License-Identifier: MIT OR Apache-2.0
//! Which machine runs, asked in one place: the page-table geometry of its MMU
//! ([`running_mmu`], decoded by [`crate::kernel::walk`]) and whether it has I/O ports at
//! all ([`has_io_ports`]: x86 only), and the kernel image symbol at which /proc/iomem's
//! "Kernel code" starts ([`kernel_code_anchor`]). The commands ask these, never `cfg!` themselves.

use crate::kernel::config::Setting;
use crate::kernel::walk::Mmu;

/// The MMU of this machine. On arm64 its VA bits come from the kernel's configuration
/// (CONFIG_ARM64_VA_BITS, /proc/config.gz or /boot/config-*), else from the highest user
/// address mapped in this process (the stack and vDSO sit just below 2^VA_BITS).
pub(crate) fn running_mmu() -> Mmu {
    if cfg!(target_arch = "x86_64") {
        Mmu::X86_64
    } else if cfg!(target_arch = "aarch64") {
        Mmu::Arm64 {
            va_bits: configured_va_bits().or_else(mapped_va_bits).unwrap_or(48),
        }
    } else {
        Mmu::Other
    }
}

/// Whether the CPU has an I/O port space (in/out instructions): x86 only. Elsewhere
/// /dev/port, where it exists, reads a bus's I/O window through memory.
pub(crate) fn has_io_ports() -> bool {
    cfg!(any(target_arch = "x86_64", target_arch = "x86"))
}

/// The kernel image's symbol at which /proc/iomem's "Kernel code" starts: `_stext` on
/// arm64 (`kernel_code.start = __pa_symbol(_stext)`, after the image header), `_text`
/// elsewhere (x86's `code_resource.start = __pa_symbol(_text)`).
pub(crate) fn kernel_code_anchor() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "_stext"
    } else {
        "_text"
    }
}

/// The architecture's name as `uname -m` says it.
pub(crate) fn machine_name() -> &'static str {
    std::env::consts::ARCH
}

fn configured_va_bits() -> Option<u32> {
    let (_, config) = crate::proc::config::read_kernel_config()?;
    match config.get("ARM64_VA_BITS") {
        Setting::Value(v) => v.parse().ok(),
        _ => None,
    }
}

fn mapped_va_bits() -> Option<u32> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let top = maps
        .lines()
        .filter_map(|l| l.split(['-', ' ']).nth(1))
        .filter_map(|end| u64::from_str_radix(end, 16).ok())
        .max()?;
    Some(64 - (top - 1).leading_zeros())
}
