// SPDX-License-Identifier: MIT OR Apache-2.0
//! physdemo's own memory device as the system shows it: `/dev/physmem`'s device number
//! (`/sys/class/misc/physmem/dev`, registered by `physdemo_mem.ko`), the module's line in
//! `/proc/modules`, where its file is installed for the running kernel (the line of
//! `/lib/modules/<release>/modules.dep` that names it, as `modprobe` finds it: DKMS's
//! `updates/dkms/`; else `/lib/modules/<release>/extra/`, where `demos/kmod/build`'s modules
//! go), and the version DKMS installed for this kernel (`/var/lib/dkms/physdemo/`, the
//! physdemo-dkms package). Decoded by [`crate::kernel::modules`].

use std::path::{Path, PathBuf};

use crate::kernel::modules::{
    dkms_link_version, find_in_modules_dep, find_module, parse_dev_number, ModuleLine,
};
use crate::proc::arch::machine_name;
use crate::proc::config::kernel_release;

/// The DKMS package that holds physdemo_mem (physdemo-dkms's dkms.conf, PACKAGE_NAME).
const DKMS_PACKAGE: &str = "physdemo";

/// The module that creates `/dev/physmem`.
pub(crate) const PHYSMEM_MODULE: &str = "physdemo_mem";

/// `/dev/physmem`'s device number as the misc class registered it, when the module is
/// loaded.
pub(crate) fn physmem_dev_number() -> Option<(u32, u32)> {
    let text = std::fs::read("/sys/class/misc/physmem/dev").ok()?;
    parse_dev_number(&text)
}

/// The module's line in `/proc/modules`; `Err` when the kernel has no module support (no
/// `/proc/modules`).
pub(crate) fn loaded_module(name: &str) -> Result<Option<ModuleLine>, std::io::Error> {
    let modules = std::fs::read("/proc/modules")?;
    Ok(find_module(&modules, name))
}

/// physdemo_mem's file for the running kernel, when it is there: where `modules.dep` puts
/// it, else `/lib/modules/<release>/extra/physdemo_mem.ko`.
pub(crate) fn installed_module_file() -> Option<PathBuf> {
    let dir = PathBuf::from(format!("/lib/modules/{}", kernel_release()?));
    let listed = std::fs::read(dir.join("modules.dep"))
        .ok()
        .and_then(|dep| find_in_modules_dep(&dep, PHYSMEM_MODULE))
        .map(|path| dir.join(Path::new(&path)));
    listed
        .filter(|path| path.is_file())
        .or_else(|| Some(dir.join(format!("extra/{PHYSMEM_MODULE}.ko"))))
        .filter(|path| path.is_file())
}

/// The version of physdemo-dkms that DKMS installed for the running kernel (its link
/// `/var/lib/dkms/physdemo/kernel-<release>-<arch>`), `None` when DKMS installed none.
pub(crate) fn dkms_installed_version() -> Option<String> {
    let (release, arch) = (kernel_release()?, machine_name());
    let link = format!("/var/lib/dkms/{DKMS_PACKAGE}/kernel-{release}-{arch}");
    let target = std::fs::read_link(link).ok()?;
    dkms_link_version(target.to_str()?, &release, arch)
}
