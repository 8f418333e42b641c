//! What `peek` and `poke` name, resolved to a physical address.
//!
//! A *subject* is the running physdemo target (no arguments), a process's virtual address
//! (`<pid> <vaddr>`), or a raw physical address. The first two resolve exactly as `inspect`
//! does ([`crate::resolve::translate::resolve`]: maps, then pagemap) and never take a physical
//! address from a file or message; the target form also verifies the target's header through
//! `/proc/<pid>/mem` ([`crate::proc::target_process::the_only_target`]).

use anyhow::Result;

use crate::error::{not_found, UserError};
use crate::kernel::addr::{Pfn, PhysAddr, VirtAddr};
use crate::kernel::target_header::TargetHeader;
use crate::physmem::width::{check_alignment, check_virtual_alignment, Width};
use crate::proc::pagemap::PagemapFile;
use crate::proc::pin::{start_time, Pinned};
use crate::proc::target_process;
use crate::resolve::translate::{resolve, Resolution};

/// Default width for a process's variable (physdemo targets hold a 64-bit variable).
pub const PROCESS_WIDTH: Width = Width::W64;
/// Default width for a raw physical address, as busybox devmem.
pub const PHYSICAL_WIDTH: Width = Width::W32;

/// What the user named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The one running physdemo target.
    Target,
    Process {
        pid: i32,
        vaddr: VirtAddr,
    },
    Physical(PhysAddr),
}

/// A subject resolved to a physical address.
pub struct Located {
    pub paddr: PhysAddr,
    pub process: Option<Resolution>,
    pub target: Option<TargetHeader>,
    /// The process, pinned while it was verified (for the `<pid> <vaddr>` and target forms).
    pub pin: Option<Pinned>,
}

impl Located {
    pub fn pfn(&self) -> Option<Pfn> {
        self.process.as_ref().and_then(Resolution::pfn)
    }
}

/// Resolves a subject to its physical address; a process (and a target) is pinned while it
/// is verified, so that everything read is of one and the same process.
pub fn locate(subject: Subject) -> Result<Located> {
    let (pid, vaddr, mut target) = match subject {
        Subject::Physical(paddr) => {
            return Ok(Located {
                paddr,
                process: None,
                target: None,
                pin: None,
            })
        }
        Subject::Target => {
            let header = target_process::the_only_target()?;
            (header.pid, header.value_addr, Some(header))
        }
        Subject::Process { pid, vaddr } => (pid, vaddr, None),
    };
    // Everything read between the two start-time reads is of one and the same process.
    let started = start_time(pid);
    if let Subject::Process { .. } = subject {
        // A header alone proves nothing: only a process that runs `physdemo target` counts.
        target = target_process::looks_like_target(pid)
            .then(|| target_process::read_header(pid, vaddr).ok().flatten())
            .flatten();
    }
    let resolution = resolve(pid, vaddr)?;
    let paddr = resolution.require_paddr()?;
    let pagemap = PagemapFile::open(pid)?;
    let still_target = match subject {
        Subject::Target => {
            target_process::looks_like_target(pid)
                && target_process::read_header(pid, vaddr)
                    .ok()
                    .flatten()
                    .is_some()
        }
        _ => true,
    };
    let start_time = match (started, start_time(pid)) {
        (Some(before), Some(after)) if before == after && still_target => before,
        _ => {
            return Err(not_found(format!(
                "pid {pid} exited while its address was being resolved{}",
                if start_time(pid).is_some() {
                    " (the pid now belongs to another process)"
                } else {
                    ""
                }
            ))
            .hint("nothing was written; run the command again")
            .into())
        }
    };
    let page_index = resolution.page.page_index(vaddr);
    Ok(Located {
        paddr,
        process: Some(resolution),
        target,
        pin: Some(Pinned {
            pid,
            start_time,
            pagemap,
            page_index,
        }),
    })
}

/// Refuses a misaligned address before anything is resolved or touched.
pub fn check_subject_alignment(subject: Subject, width: Width) -> Result<(), UserError> {
    match subject {
        Subject::Physical(paddr) => check_alignment(paddr, width),
        Subject::Process { vaddr, .. } => check_virtual_alignment(vaddr, width),
        Subject::Target => Ok(()),
    }
}
