// SPDX-License-Identifier: MIT OR Apache-2.0
//! How far the CPU can address: its physical address bits from /proc/cpuinfo, and the
//! refusal of a range beyond them before anything is read.

use crate::error::{not_found, UserError};
use crate::kernel::addr::PhysAddr;

/// Parses the CPU's physical address width from /proc/cpuinfo text ("address sizes : 46
/// bits physical, 48 bits virtual").
pub(crate) fn physical_address_bits(cpuinfo: &str) -> Option<u32> {
    cpuinfo
        .lines()
        .find(|line| line.starts_with("address sizes"))?
        .split(':')
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Refuses an address the CPU cannot even express (beyond its physical address bits).
pub(crate) fn check_addressable(
    addr: PhysAddr,
    len: u64,
    bits: Option<u32>,
) -> Result<(), UserError> {
    let Some(bits) = bits.filter(|&b| b < 64) else {
        return Ok(());
    };
    let limit = 1u64 << bits;
    if addr.0.checked_add(len).is_some_and(|end| end <= limit) {
        return Ok(());
    }
    let cpu = format!(
        "this CPU has {bits} physical address bits (up to {:#x})",
        limit - 1
    );
    if addr.0 < limit {
        // The start is fine, the end is not: say how much would fit.
        return Err(not_found(format!(
            "{addr} + {len:#x} bytes runs beyond physical memory at {limit:#x}: {cpu}"
        ))
        .hint(format!(
            "at most {:#x} bytes fit from {addr}; take addresses from /proc/iomem",
            limit - addr.0
        )));
    }
    Err(
        not_found(format!("{addr} is beyond physical memory: {cpu}"))
            .hint("take addresses from `physdemo inspect` or /proc/iomem"),
    )
}

/// The CPU's physical address width from /proc/cpuinfo, if it says.
pub(crate) fn cpu_physical_address_bits() -> Option<u32> {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| physical_address_bits(&text))
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitKind;

    #[test]
    fn knows_how_far_the_cpu_can_address() {
        let cpuinfo = "processor\t: 0\naddress sizes\t: 39 bits physical, 48 bits virtual\n";
        assert_eq!(physical_address_bits(cpuinfo), Some(39));
        assert_eq!(physical_address_bits("nothing"), None);
        assert!(check_addressable(PhysAddr(0x1000), 8, Some(39)).is_ok());
        let err = check_addressable(PhysAddr(1 << 39), 1, Some(39)).unwrap_err();
        assert_eq!(err.kind, ExitKind::NotFound);
        assert!(err.to_string().contains("39 physical address bits"));
        assert!(check_addressable(PhysAddr(u64::MAX), 8, None).is_ok());
        // a range that starts inside and ends outside is refused whole, saying how much fits
        let across = check_addressable(PhysAddr(0xff_ffff_fff0), 0x20, Some(40)).unwrap_err();
        assert_eq!(across.kind, ExitKind::NotFound);
        assert!(
            across
                .to_string()
                .contains("runs beyond physical memory at 0x10000000000"),
            "{across}"
        );
        assert!(
            across.to_string().contains("at most 0x10 bytes"),
            "{across}"
        );
        assert!(check_addressable(PhysAddr(0xff_ffff_fff0), 0x10, Some(40)).is_ok());
    }
}
