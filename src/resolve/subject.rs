// SPDX-License-Identifier: MIT OR Apache-2.0
//! What `peek` and `poke` name, resolved to a physical address.
//!
//! A *subject* is the running physdemo target (no arguments), a process's virtual address
//! (`<pid> <vaddr>`), a raw physical address, a `--pci` device register, or a kernel symbol
//! (`--symbol NAME[+OFF]`, placed by [`crate::resolve::symbol::locate`]). The first two resolve exactly as `inspect`
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
use crate::resolve::register::{Register, RegisterRef};
use crate::resolve::symbol::{self, SymbolLocation, SymbolRef};
use crate::resolve::translate::{resolve, Resolution};

/// Default width for a process's variable (physdemo targets hold a 64-bit variable).
const PROCESS_WIDTH: Width = Width::W64;
/// Default width for a raw physical address, as busybox devmem.
const PHYSICAL_WIDTH: Width = Width::W32;

/// What the user named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// The one running physdemo target.
    Target,
    /// A process's variable: `<pid> <vaddr>`.
    Process { pid: i32, vaddr: VirtAddr },
    /// A raw physical address.
    Physical(PhysAddr),
    /// A device register: `--pci DEVICE --bar N OFFSET`.
    Register(RegisterRef),
    /// A variable of the kernel image: `--symbol NAME[+OFF]`.
    Symbol(SymbolRef),
}

/// A subject resolved as far as its physical address: the reference to locate, and the
/// `--pci` register or kernel symbol it was named by, for the report.
#[derive(Debug, Clone)]
pub(crate) struct Named {
    pub(crate) reference: Reference,
    pub(crate) register: Option<Register>,
    pub(crate) symbol: Option<SymbolLocation>,
}

/// Where a subject's physical address comes from: the running target's variable, a
/// process's virtual address, or the address itself (a `--pci` register, once resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reference {
    Target,
    Process { pid: i32, vaddr: VirtAddr },
    Physical(PhysAddr),
}

impl Subject {
    /// The subject with a `--pci` register (an access of `len` bytes) or a kernel symbol
    /// resolved to its physical address; the register or symbol comes along.
    pub(crate) fn into_named(self, len: u64) -> Result<Named> {
        let (reference, register, symbol) = match self {
            Subject::Target => (Reference::Target, None, None),
            Subject::Process { pid, vaddr } => (Reference::Process { pid, vaddr }, None, None),
            Subject::Physical(paddr) => (Reference::Physical(paddr), None, None),
            Subject::Register(named) => {
                let register = Register::resolve(&named, len)?;
                (Reference::Physical(register.paddr), Some(register), None)
            }
            Subject::Symbol(named) => {
                let location = symbol::locate(&named)?;
                (Reference::Physical(location.paddr), None, Some(location))
            }
        };
        Ok(Named {
            reference,
            register,
            symbol,
        })
    }

    /// The access width when none is given: 32 bits for a physical address (as busybox
    /// devmem), 64 for a process's variable (a physdemo target holds a 64-bit variable);
    /// for a kernel symbol, 64 until it is placed (then [`Named::width`]).
    pub(crate) fn default_width(&self) -> Width {
        match self {
            Subject::Physical(_) | Subject::Register(_) => PHYSICAL_WIDTH,
            Subject::Target | Subject::Process { .. } | Subject::Symbol(_) => PROCESS_WIDTH,
        }
    }
}

impl Named {
    /// The width asked for, or the default: a kernel symbol's natural width (what is left
    /// of it, and its alignment), else `fallback` (the subject's default).
    pub(crate) fn width(&self, asked: Option<Width>, fallback: Width) -> Width {
        match (asked, &self.symbol) {
            (Some(width), _) => width,
            (None, Some(symbol)) => symbol.natural_width(),
            (None, None) => fallback,
        }
    }
}

/// A subject resolved to a physical address.
pub(crate) struct Located {
    pub(crate) paddr: PhysAddr,
    pub(crate) process: Option<Resolution>,
    pub(crate) target: Option<TargetHeader>,
    /// The process, pinned while it was verified (for the `<pid> <vaddr>` and target forms).
    pub(crate) pin: Option<Pinned>,
    /// The kernel symbol it was named by (`--symbol`), set by the command after [`locate`].
    pub(crate) symbol: Option<SymbolLocation>,
}

impl Located {
    pub(crate) fn pfn(&self) -> Option<Pfn> {
        self.process.as_ref().and_then(Resolution::pfn)
    }
}

/// Resolves a reference to its physical address; a process (and a target) is pinned while
/// it is verified, so that everything read is of one and the same process.
pub(crate) fn locate(reference: Reference) -> Result<Located> {
    let (pid, vaddr, mut target) = match reference {
        Reference::Physical(paddr) => {
            return Ok(Located {
                paddr,
                process: None,
                target: None,
                pin: None,
                symbol: None,
            })
        }
        Reference::Target => {
            let header = target_process::the_only_target()?;
            (header.pid, header.value_addr, Some(header))
        }
        Reference::Process { pid, vaddr } => (pid, vaddr, None),
    };
    // Everything read between the two start-time reads is of one and the same process.
    let started = start_time(pid);
    if let Reference::Process { .. } = reference {
        // A header alone proves nothing: only a process that runs `physdemo target` counts.
        target = target_process::looks_like_target(pid)
            .then(|| target_process::read_header(pid, vaddr).ok().flatten())
            .flatten();
    }
    let resolution = resolve(pid, vaddr)?;
    let paddr = resolution.require_paddr()?;
    let pagemap = PagemapFile::open(pid)?;
    let still_target = match reference {
        Reference::Target => {
            target_process::looks_like_target(pid)
                && target_process::read_header(pid, vaddr)
                    .ok()
                    .flatten()
                    .is_some()
        }
        _ => true,
    };
    let start_time = same_process(pid, started, still_target)?;
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
        symbol: None,
    })
}

/// The start time of `pid`, when it is the one read at `started` (and, for the target
/// form, the process still is a target): else the process exited while it was resolved.
fn same_process(pid: i32, started: Option<u64>, still_target: bool) -> Result<u64> {
    match (started, start_time(pid)) {
        (Some(before), Some(after)) if before == after && still_target => Ok(before),
        _ => Err(not_found(format!(
            "pid {pid} exited while its address was being resolved{}",
            if start_time(pid).is_some() {
                " (the pid now belongs to another process)"
            } else {
                ""
            }
        ))
        .hint("nothing was written; run the command again")
        .into()),
    }
}

/// Refuses a misaligned address before anything is resolved or touched.
pub(crate) fn check_reference_alignment(
    reference: Reference,
    width: Width,
) -> Result<(), UserError> {
    match reference {
        Reference::Physical(paddr) => check_alignment(paddr, width),
        Reference::Process { vaddr, .. } => check_virtual_alignment(vaddr, width),
        Reference::Target => Ok(()),
    }
}
