// SPDX-License-Identifier: MIT OR Apache-2.0
//! The x86 I/O port space: `/proc/ioports`, and the ports that reset or reconfigure a PC.
//!
//! `/proc/ioports` is printed by the same code as `/proc/iomem` (`kernel/resource.c`,
//! `r_show`, with four hex digits for ports: `0510-051b : QEMU0002:00`, two spaces of indent
//! per level), so [`IoportMap`] is parsed by [`IomemMap::parse`] and places a port exactly as
//! an address is placed: the innermost range that holds it says who claims it. A range named
//! `PCI Bus ...` is a bus window no device inside claims (as in /proc/iomem); `PCI conf1` is
//! configuration mechanism 1.
//!
//! [`MACHINE_PORTS`] lists the legacy PC ports a write to which resets the machine or
//! reconfigures what the kernel relies on: the ranges `arch/x86/kernel/setup.c` reserves as
//! `standard_io_resources` (DMA, PIC, PIT, keyboard), the RTC/CMOS, the system control ports A
//! and B, the ELCR, and PCI configuration mechanism 1 with the reset control register 0xcf9
//! (`arch/x86/kernel/reboot.c` resets through 0x64, 0xcf9 and 0x92). They are listed here
//! because a kernel need not claim them: the project's VM has no RTC driver, so 0x70 is in
//! no range of its /proc/ioports. Pure: the write policy built on it is
//! [`crate::physmem::policy::check_port_write`], reading the file is [`crate::proc::ioports`].

use std::fmt;

use serde::{Serialize, Serializer};

use crate::kernel::iomem::{IomemMap, IomemParseError, Placement};

/// An x86 I/O port number, 0 to 0xffff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port(pub u16);

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// In JSON, as in text: a hex string with `0x`.
impl Serialize for Port {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The parsed I/O port map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoportMap {
    pub map: IomemMap,
}

impl IoportMap {
    /// Parses /proc/ioports text (the format of /proc/iomem).
    pub fn parse(text: &[u8]) -> Result<IoportMap, IomemParseError> {
        IomemMap::parse(text).map(|map| IoportMap { map })
    }

    /// The innermost range holding `port`, with the ranges around it.
    pub fn place(&self, port: Port) -> Placement {
        self.map
            .place(crate::kernel::addr::PhysAddr(u64::from(port.0)))
    }
}

/// One phrase for reports, as [`Placement::describe`] says it for /proc/iomem:
/// `QEMU0002:00 [0x510-0x51b] in PCI Bus 0000:00`.
pub fn describe_port_placement(placement: &Placement) -> String {
    match placement {
        Placement::In { .. } | Placement::Unreadable(_) => placement.describe(),
        Placement::Nowhere => "no range of /proc/ioports".to_string(),
        Placement::Hidden => "unknown (/proc/ioports shows zeros without root)".to_string(),
    }
}

/// Whether a range of /proc/ioports is ACPI's power management registers (`ACPI
/// PM1a_CNT_BLK` and its kin, as drivers/acpi names them): a write there can put the machine
/// to sleep or power it off.
pub fn is_acpi_power_block(name: &str) -> bool {
    name.starts_with("ACPI ")
}

/// A legacy PC port range a write to which resets the machine or reconfigures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachinePort {
    pub first: u16,
    /// Inclusive.
    pub last: u16,
    /// What the ports are.
    pub what: &'static str,
    /// What a write does.
    pub effect: &'static str,
}

impl MachinePort {
    fn contains(&self, port: u16) -> bool {
        self.first <= port && port <= self.last
    }

    fn overlaps(&self, first: u16, last: u16) -> bool {
        self.first <= last && first <= self.last
    }
}

/// The ports that reset or reconfigure a PC (see the module's documentation for sources).
/// More specific entries come first: 0xcf9 before the rest of 0xcf8-0xcff.
pub const MACHINE_PORTS: &[MachinePort] = &[
    MachinePort {
        first: 0x00,
        last: 0x1f,
        what: "the first DMA controller (8237, dma1)",
        effect: "a write reprograms DMA transfers into memory",
    },
    MachinePort {
        first: 0x20,
        last: 0x21,
        what: "the first interrupt controller (8259 PIC, pic1)",
        effect: "a write remaps or masks interrupts",
    },
    MachinePort {
        first: 0x40,
        last: 0x43,
        what: "the timer (8254 PIT, timer0)",
        effect: "a write reprograms the system timer",
    },
    MachinePort {
        first: 0x50,
        last: 0x53,
        what: "the second timer (timer1)",
        effect: "a write reprograms it",
    },
    MachinePort {
        first: 0x60,
        last: 0x60,
        what: "the keyboard controller's data port (8042)",
        effect:
            "a write completes a controller command, such as setting its output port (A20, reset)",
    },
    MachinePort {
        first: 0x61,
        last: 0x61,
        what: "system control port B (timer 2 gate, speaker, NMI)",
        effect: "a write gates the timer the kernel calibrates with and masks NMIs",
    },
    MachinePort {
        first: 0x64,
        last: 0x64,
        what: "the keyboard controller's command port (8042)",
        effect: "writing 0xfe to it resets the machine",
    },
    MachinePort {
        first: 0x70,
        last: 0x77,
        what: "the real-time clock and CMOS (0x70 also masks NMIs)",
        effect: "a write changes the clock, the firmware's settings or the NMI mask",
    },
    MachinePort {
        first: 0x80,
        last: 0x8f,
        what: "the DMA page registers",
        effect: "a write redirects DMA transfers",
    },
    MachinePort {
        first: 0x92,
        last: 0x92,
        what: "system control port A (fast A20 and fast reset)",
        effect: "setting its bit 0 resets the machine",
    },
    MachinePort {
        first: 0xa0,
        last: 0xa1,
        what: "the second interrupt controller (8259 PIC, pic2)",
        effect: "a write remaps or masks interrupts",
    },
    MachinePort {
        first: 0xc0,
        last: 0xdf,
        what: "the second DMA controller (8237, dma2)",
        effect: "a write reprograms DMA transfers into memory",
    },
    MachinePort {
        first: 0x4d0,
        last: 0x4d1,
        what: "the interrupt controllers' edge/level control (ELCR)",
        effect: "a write changes how interrupts are triggered",
    },
    MachinePort {
        first: 0xcf9,
        last: 0xcf9,
        what: "the reset control register",
        effect: "writing 0x06 or 0x0e to it resets the machine",
    },
    MachinePort {
        first: 0xcf8,
        last: 0xcff,
        what: "PCI configuration mechanism 1 (address 0xcf8, data 0xcfc; 0xcf9 resets)",
        effect: "a write reprograms a PCI device behind its driver's back",
    },
];

/// The machine port range a write to ports `first..=last` touches: the first entry that
/// holds `first`, else the first that overlaps the range.
pub fn machine_port(first: u16, last: u16) -> Option<&'static MachinePort> {
    MACHINE_PORTS
        .iter()
        .find(|m| m.contains(first))
        .or_else(|| MACHINE_PORTS.iter().find(|m| m.overlaps(first, last)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// /proc/ioports of the project's VM (QEMU 10 q35, Linux 6.1, default kernel), with
    /// physdemo_testdev loaded.
    const VM_IOPORTS: &str = "\
0000-0cf7 : PCI Bus 0000:00
  0000-001f : dma1
  0020-0021 : pic1
  0040-0043 : timer0
  0050-0053 : timer1
  0060-0060 : keyboard
  0064-0064 : keyboard
  0080-008f : dma page reg
  00a0-00a1 : pic2
  00c0-00df : dma2
  00e0-00e3 : physdemo-testdev
    00e0-00e3 : physdemo-testdev
  00f0-00ff : fpu
  03d4-03d5 : cga
  03f8-03ff : serial
  0510-051b : QEMU0002:00
  0600-067f : 0000:00:1f.0
    0600-0603 : ACPI PM1a_EVT_BLK
    0604-0605 : ACPI PM1a_CNT_BLK
    0608-060b : ACPI PM_TMR
    0620-062f : ACPI GPE0_BLK
  0700-073f : 0000:00:1f.3
0cf8-0cff : PCI conf1
0d00-ffff : PCI Bus 0000:00
  c040-c05f : 0000:00:1f.2
";

    fn innermost(port: u16) -> Option<String> {
        match IoportMap::parse(VM_IOPORTS.as_bytes())
            .unwrap()
            .place(Port(port))
        {
            Placement::In { region, .. } => Some(region.name),
            _ => None,
        }
    }

    #[test]
    fn places_ports_in_the_innermost_range_of_proc_ioports() {
        assert_eq!(innermost(0x511).as_deref(), Some("QEMU0002:00"));
        assert_eq!(innermost(0xe2).as_deref(), Some("physdemo-testdev"));
        assert_eq!(innermost(0xe9).as_deref(), Some("PCI Bus 0000:00"));
        assert_eq!(innermost(0x604).as_deref(), Some("ACPI PM1a_CNT_BLK"));
        assert_eq!(innermost(0xcf9).as_deref(), Some("PCI conf1"));
        assert_eq!(innermost(0xffff).as_deref(), Some("PCI Bus 0000:00"));
        let map = IoportMap::parse(VM_IOPORTS.as_bytes()).unwrap();
        match map.place(Port(0xe0)) {
            Placement::In { region, outer } => {
                assert_eq!((region.start, region.end, region.depth), (0xe0, 0xe3, 2));
                assert_eq!(outer.len(), 2);
                assert_eq!(outer[0].name, "PCI Bus 0000:00");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            describe_port_placement(&map.place(Port(0x511))),
            "QEMU0002:00 [0x510-0x51b] in PCI Bus 0000:00"
        );
        let empty = IoportMap::parse(b"").unwrap();
        assert_eq!(empty.place(Port(0x80)), Placement::Nowhere);
        assert_eq!(
            describe_port_placement(&Placement::Nowhere),
            "no range of /proc/ioports"
        );
        assert_eq!(Port(0x510).to_string(), "0x510");
        assert_eq!(serde_json::to_string(&Port(0xe9)).unwrap(), "\"0xe9\"");
    }

    #[test]
    fn names_the_ports_that_reset_or_reconfigure_the_machine() {
        let what = |first, last| machine_port(first, last).map(|m| m.what);
        assert!(what(0x64, 0x64).unwrap().contains("command port (8042)"));
        assert!(machine_port(0x64, 0x64).unwrap().effect.contains("0xfe"));
        assert!(what(0x92, 0x92).unwrap().contains("fast reset"));
        assert_eq!(what(0xcf9, 0xcf9), Some("the reset control register"));
        assert!(what(0xcf8, 0xcfb).unwrap().starts_with("PCI configuration"));
        assert!(what(0xcfc, 0xcff).unwrap().starts_with("PCI configuration"));
        assert!(what(0x20, 0x20).unwrap().contains("8259"));
        assert!(what(0xa1, 0xa1).unwrap().contains("pic2"));
        assert!(what(0x43, 0x43).unwrap().contains("8254"));
        assert!(what(0x70, 0x71).unwrap().contains("real-time clock"));
        assert!(what(0x0, 0x3).unwrap().contains("DMA"));
        assert!(what(0xdf, 0xdf).unwrap().contains("dma2"));
        assert!(what(0x87, 0x87).unwrap().contains("page"));
        // a 32-bit access that starts below a range and reaches into it
        assert!(what(0x5c, 0x5f).is_none());
        assert!(what(0x90, 0x93).unwrap().contains("port A"));
        // ports of the project's VM that are free to write
        for port in [0xe0, 0xe2, 0xe9, 0x510, 0x511, 0x3f8, 0x2000] {
            assert_eq!(what(port, port), None, "{port:#x}");
        }
        assert!(is_acpi_power_block("ACPI PM1a_CNT_BLK"));
        assert!(!is_acpi_power_block("QEMU0002:00"));
    }
}
