// SPDX-License-Identifier: MIT OR Apache-2.0
//! /proc/kcore as a read-only door to RAM: its headers read from an open file, what it
//! refuses explained, and, for one physical address, whether it reads it and why not.
//!
//! The kernel builds /proc/kcore (`fs/proc/kcore.c`) for root with CAP_SYS_RAWIO, outside
//! lockdown=confidentiality (`LOCKDOWN_KCORE`, above `LOCKDOWN_INTEGRITY_MAX`: integrity
//! leaves it open while it closes /dev/mem). It holds every range of System RAM and the
//! kernel's text, at the offsets its ELF program headers give ([`crate::kernel::kcore`]);
//! no device memory. It has no write and no mmap: physdemo reads it with `pread` at the
//! offset of the physical address, and only for reads ([`crate::physmem::access`] goes there
//! where /dev/mem refuses RAM and /dev/physmem is absent, or with `--device /proc/kcore`).
//! A page the kernel does not map (offline, hwpoisoned) reads as zeros there, as in the
//! kernel's own `read_kcore_iter`.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{not_found, unsupported, usage, UserError};
use crate::kernel::addr::PhysAddr;
use crate::kernel::capabilities::Capability;
use crate::kernel::iomem::{Placement, RegionKind};
use crate::kernel::kcore::{ElfHeader, KcoreLayout, KcoreMiss, ELF_HEADER_LEN};
use crate::physmem::access::physmem_way;
use crate::physmem::device::DeviceKind;
use crate::physmem::explain::{explain, FailureContext, PhysmemWay, Step};
use crate::proc::capabilities::{is_root, own_capabilities};
use crate::proc::iomem::read_system_map;
use crate::proc::lockdown::{lockdown, Lockdown};

/// The kernel's ELF image of its memory.
pub(crate) const PROC_KCORE: &str = "/proc/kcore";

/// Whether the regular file at `path` starts as an ELF core file does (the magic, and
/// `e_type` 4 in either byte order): such a file is read by its program headers, as
/// /proc/kcore is, not as a stand-in for /dev/mem.
pub(crate) fn is_elf_core(path: &Path) -> bool {
    let mut head = [0u8; 18];
    File::open(path).is_ok_and(|file| file.read_exact_at(&mut head, 0).is_ok())
        && &head[..4] == b"\x7fELF"
        && matches!((head[5], head[16], head[17]), (1, 4, 0) | (2, 0, 4))
}

/// Reads the ELF header and the program header table of an open ELF core file.
pub(crate) fn read_layout(file: &File, path: &Path) -> Result<KcoreLayout, UserError> {
    let unreadable = |why: String| {
        unsupported(format!(
            "{} is not an ELF core file physdemo can read: {why}",
            path.display()
        ))
        .hint("name /proc/kcore itself (or an intact copy of it) with --device")
    };
    let read = |len: u64| -> Result<Vec<u8>, UserError> {
        let mut bytes = vec![0u8; len as usize];
        let mut done = 0;
        while done < bytes.len() {
            match file.read_at(&mut bytes[done..], done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(unreadable(format!("reading its headers: {err}"))),
            }
        }
        bytes.truncate(done);
        Ok(bytes)
    };
    let head = read(ELF_HEADER_LEN as u64)?;
    let header = ElfHeader::parse(&head).map_err(|err| unreadable(err.to_string()))?;
    let end = header
        .table_end()
        .map_err(|err| unreadable(err.to_string()))?;
    KcoreLayout::parse(&read(end)?).map_err(|err| unreadable(err.to_string()))
}

/// The refusal of a write (poke, devmem with a value) through an ELF core file, with what
/// would work: physdemo_mem's /dev/physmem, or a kernel whose /dev/mem writes RAM.
pub(crate) fn read_only(path: &Path, physmem: &PhysmemWay) -> UserError {
    let without = "boot a kernel without CONFIG_STRICT_DEVMEM, whose /dev/mem writes RAM (the project's VM: demos/vm/run)";
    unsupported(format!(
        "{} is read-only: the kernel offers its memory there to be read (an ELF core file), never written; nothing was written",
        path.display()
    ))
    .hint(match physmem {
        PhysmemWay::Loaded => "to write RAM, leave --device out: physdemo goes through /dev/physmem, which is loaded".to_string(),
        PhysmemWay::Installed(file) => format!(
            "to write RAM, load physdemo_mem (modprobe physdemo_mem, or insmod {}) and physdemo goes through /dev/physmem; or {without}",
            file.display()
        ),
        PhysmemWay::Build => format!("to write RAM, build and load physdemo_mem (demos/kmod/build --host, then insmod the physdemo_mem.ko it prints, or modprobe physdemo_mem once installed) and physdemo goes through /dev/physmem; or {without}"),
        PhysmemWay::NoModules => format!("to write RAM, {without}: this kernel loads no modules (no /proc/modules), so physdemo_mem cannot help"),
    })
}

/// The refusal of `--method mmap` with an ELF core file: the kernel gives /proc/kcore no mmap.
pub(crate) fn not_mappable(path: &Path) -> UserError {
    usage(format!(
        "{} cannot be mapped: physdemo reads it with pread at the offset of each physical address",
        path.display()
    ))
    .hint("leave --method out, or use --method rw")
}

/// Why no segment of the ELF core file at `path` holds `addr` (where /proc/iomem places it).
pub(crate) fn not_covered(path: &Path, addr: PhysAddr, placement: &Placement) -> UserError {
    let ram = matches!(
        placement.kind(),
        Some(RegionKind::SystemRam | RegionKind::KernelImage)
    );
    let why = if ram {
        "no segment of its program headers covers that RAM (the kernel lists only whole pages of System RAM it maps)"
    } else {
        "it maps System RAM and the kernel image only, never device memory (MMIO) or holes"
    };
    not_found(format!(
        "{} holds no memory at {addr} ({}): {why}",
        path.display(),
        placement.describe()
    ))
    .hint("device registers are read through /dev/mem, or /dev/physmem with physdemo_mem loaded (--device /dev/physmem); check the address against /proc/iomem")
}

/// For the layout of an open /proc/kcore: the file offset of `[addr, addr + len)`, or why
/// it has none (no segment holds it, or it runs out of the one that holds its start).
pub(crate) fn locate(
    layout: &KcoreLayout,
    path: &Path,
    addr: PhysAddr,
    len: u64,
    placement: &Placement,
) -> Result<u64, UserError> {
    layout.locate(addr, len).map_err(|miss| match miss {
        KcoreMiss::NotCovered { addr } => not_covered(path, addr, placement),
        KcoreMiss::Crosses { addr, end } => not_found(format!(
            "{} holds {addr} only up to {end}, where its segment ends ({})",
            path.display(),
            placement.describe()
        ))
        .hint("read up to the end of that range of RAM; check the address against /proc/iomem"),
    })
}

/// Whether /proc/kcore reads `[addr, addr + len)` on this machine: the file offset it
/// reads from, or why not, as the one-line error a read would give (no /proc/kcore: a
/// kernel without CONFIG_PROC_KCORE; lockdown=confidentiality; not root or no
/// CAP_SYS_RAWIO; no segment holds the range: a device, a hole, past the end of RAM).
/// Opens /proc/kcore and reads its headers; reads no memory.
pub(crate) fn reads(addr: PhysAddr, len: u64) -> Result<u64, UserError> {
    let path = Path::new(PROC_KCORE);
    let placement = match read_system_map() {
        Ok(map) if !map.is_hidden() => map.place(addr),
        _ => Placement::Unreadable("/proc/iomem could not be read".to_string()),
    };
    let file = File::open(path).map_err(|err| {
        explain(
            Step::Open { writable: false },
            &err,
            &FailureContext {
                device: path,
                kind: DeviceKind::Kcore,
                addr,
                placement: &placement,
                is_root: is_root(),
                rawio: own_capabilities().has(Capability::SysRawio),
                lockdown: match lockdown() {
                    Lockdown::Mode(mode) => Some(mode),
                    Lockdown::Unknown(_) => None,
                },
                physmem: physmem_way(),
            },
        )
    })?;
    let layout = read_layout(&file, path)?;
    locate(&layout, path, addr, len, &placement)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitKind;
    use crate::kernel::iomem::IomemMap;
    use crate::kernel::kcore::encode;

    #[test]
    fn reads_the_headers_of_a_file_and_names_what_it_refuses() {
        let map = IomemMap::parse(
            b"00001000-0009fbff : System RAM\n00100000-3ffdffff : System RAM\nfec00000-fec003ff : IOAPIC 0\n",
        )
        .unwrap();
        let file = tempfile::NamedTempFile::new().unwrap();
        let bytes = encode(
            62,
            &[(0xffff_8880_0010_0000, Some(0x10_0000), 0x2000, 0x3fee_0000)],
        );
        std::fs::write(file.path(), &bytes).unwrap();
        assert!(is_elf_core(file.path()));
        let layout = read_layout(file.as_file(), file.path()).unwrap();
        let path = Path::new(PROC_KCORE);
        let place = |a| map.place(PhysAddr(a));
        assert_eq!(
            locate(&layout, path, PhysAddr(0x10_0010), 8, &place(0x10_0010)).unwrap(),
            0x2010
        );
        let ioapic =
            locate(&layout, path, PhysAddr(0xfec0_0000), 4, &place(0xfec0_0000)).unwrap_err();
        assert_eq!(ioapic.kind, ExitKind::NotFound);
        assert!(
            ioapic.to_string().starts_with(
                "/proc/kcore holds no memory at 0xfec00000 (IOAPIC 0 [0xfec00000-0xfec003ff]"
            ),
            "{ioapic}"
        );
        assert!(
            ioapic.to_string().contains("never device memory (MMIO)"),
            "{ioapic}"
        );
        let crossing = locate(
            &layout,
            path,
            PhysAddr(0x3ffd_fff8),
            16,
            &place(0x3ffd_fff8),
        )
        .unwrap_err();
        assert!(
            crossing
                .to_string()
                .contains("holds 0x3ffdfff8 only up to 0x3ffe0000"),
            "{crossing}"
        );
        // a truncated copy, and a file that is no ELF at all
        std::fs::write(file.path(), &bytes[..80]).unwrap();
        let short = read_layout(file.as_file(), file.path()).unwrap_err();
        assert_eq!(short.kind, ExitKind::Unsupported);
        assert!(short.to_string().contains("is not an ELF core file physdemo can read: it ends after 80 bytes, its headers need 120"), "{short}");
        std::fs::write(file.path(), b"\x7fELF\x02\x01\x01\x00").unwrap();
        assert!(!is_elf_core(file.path()));
        let written = read_only(path, &PhysmemWay::Build);
        assert_eq!(written.kind, ExitKind::Unsupported);
        assert!(
            written.to_string().starts_with("/proc/kcore is read-only"),
            "{written}"
        );
        assert!(
            written.to_string().contains("modprobe physdemo_mem")
                && written.to_string().contains("without CONFIG_STRICT_DEVMEM")
        );
        assert_eq!(not_mappable(path).kind, ExitKind::Usage);
    }
}
