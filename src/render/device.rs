// SPDX-License-Identifier: MIT OR Apache-2.0
//! Which memory device a command went through, and why not /dev/mem when it did not: the
//! `via` line of peek's and poke's text, the note devmem and dump print on stderr (their
//! stdout is busybox's and hexdump's format), and the `device` and `detour` JSON fields.

use crate::physmem::access::PhysMem;

/// The device an access went through, as reports name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceUsed {
    /// `/dev/mem mmap, O_SYNC`, `/dev/physmem (physdemo_mem) mmap`, ...
    pub(crate) device: String,
    /// Why /dev/physmem was used instead of /dev/mem, when it was.
    pub(crate) detour: Option<String>,
}

impl DeviceUsed {
    /// What `mem` went through so far (call it after the accesses).
    pub(crate) fn of(mem: &PhysMem) -> DeviceUsed {
        DeviceUsed {
            device: mem.describe(),
            detour: mem.detour(),
        }
    }

    /// The `via` line of a text report, when physdemo went around /dev/mem.
    pub(crate) fn via_line(&self) -> Option<String> {
        self.detour
            .as_ref()
            .map(|why| format!("{:<10}{}, because {why}", "via", self.device))
    }

    /// The note on stderr, when physdemo went around /dev/mem.
    pub(crate) fn note(&self) -> Option<String> {
        self.detour
            .as_ref()
            .map(|why| format!("physdemo: note: via {}, because {why}", self.device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_why_it_went_around_dev_mem_and_nothing_when_it_did_not() {
        let direct = DeviceUsed {
            device: "/dev/mem mmap, O_SYNC".into(),
            detour: None,
        };
        assert_eq!(direct.via_line(), None);
        assert_eq!(direct.note(), None);
        let detour = DeviceUsed {
            device: "/dev/physmem (physdemo_mem) mmap".into(),
            detour: Some("/dev/mem refused 0x1234000 (EPERM): CONFIG_STRICT_DEVMEM keeps System RAM above 1 MiB out of /dev/mem".into()),
        };
        assert_eq!(
            detour.via_line().unwrap(),
            "via       /dev/physmem (physdemo_mem) mmap, because /dev/mem refused 0x1234000 (EPERM): CONFIG_STRICT_DEVMEM keeps System RAM above 1 MiB out of /dev/mem"
        );
        assert!(detour.note().unwrap().starts_with(
            "physdemo: note: via /dev/physmem (physdemo_mem) mmap, because /dev/mem refused"
        ));
    }
}
