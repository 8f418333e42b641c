// SPDX-License-Identifier: MIT OR Apache-2.0
//! physdemo's own memory device as the system shows it: `/dev/physmem`'s device number
//! (`/sys/class/misc/physmem/dev`, registered by `physdemo_mem.ko`), the module's line in
//! `/proc/modules`, and where its file would be (`/lib/modules/<release>/extra/`, where the
//! project's VM and `demos/kmod/build` put it). Decoded by [`crate::kernel::modules`].

use std::path::PathBuf;

use crate::kernel::modules::{find_module, parse_dev_number, ModuleLine};
use crate::proc::config::kernel_release;

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

/// `/lib/modules/<release>/extra/physdemo_mem.ko` when it is there.
pub(crate) fn installed_module_file() -> Option<PathBuf> {
    let path = PathBuf::from(format!(
        "/lib/modules/{}/extra/{PHYSMEM_MODULE}.ko",
        kernel_release()?
    ));
    path.is_file().then_some(path)
}
