// SPDX-License-Identifier: MIT OR Apache-2.0
//! What can hide a process from `/proc` although it runs: the `hidepid` mount option of
//! procfs (Documentation/filesystems/proc.rst, "Mount options": `hidepid=1`/`noaccess`,
//! `2`/`invisible`, `4`/`ptraceable`), and PID namespaces (pid_namespaces(7): a process sees
//! only the processes of its own namespace and those below it, numbered as its namespace
//! numbers them; the initial namespace's `/proc/self/ns/pid` inode is `PROC_PID_INIT_INO`,
//! include/linux/proc_ns.h). Pure: text in, facts out.

/// `PROC_PID_INIT_INO`: the inode of the initial PID namespace (0xEFFFFFFC).
pub const INITIAL_PID_NAMESPACE_INODE: u64 = 0xEFFF_FFFC;

/// The `hidepid` option of the procfs mounted at `/proc`, from `/proc/mounts` text, when it
/// hides anything: `"invisible"` (or `"2"`), `"noaccess"` (`"1"`), `"ptraceable"` (`"4"`).
/// `None` when /proc is mounted without it (or with `hidepid=0`/`off`).
pub fn proc_hidepid(mounts: &str) -> Option<String> {
    let options = mounts.lines().rev().find_map(|line| {
        let mut fields = line.split_whitespace();
        let (_, dir, kind, options) = (
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
        );
        (dir == "/proc" && kind == "proc").then_some(options)
    })?;
    let value = options
        .split(',')
        .find_map(|o| o.strip_prefix("hidepid="))?;
    (!matches!(value, "0" | "off")).then(|| value.to_string())
}

/// The inode of a namespace link's target as `readlink` shows it: `pid:[4026531836]`.
pub fn namespace_inode(link: &str) -> Option<u64> {
    link.split_once(":[")?.1.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_hidepid_option_of_the_proc_mount() {
        let plain =
            "sysfs /sys sysfs rw,nosuid 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n";
        assert_eq!(proc_hidepid(plain), None);
        let hidden = "proc /proc proc rw,relatime,hidepid=invisible 0 0\n";
        assert_eq!(proc_hidepid(hidden).as_deref(), Some("invisible"));
        assert_eq!(
            proc_hidepid("proc /proc proc rw,hidepid=2,gid=10 0 0").as_deref(),
            Some("2")
        );
        assert_eq!(proc_hidepid("proc /proc proc rw,hidepid=off 0 0"), None);
        // Another procfs elsewhere does not count; the last /proc mount does.
        let two = "proc /mnt/proc proc rw,hidepid=2 0 0\nproc /proc proc rw,hidepid=2 0 0\nproc /proc proc rw 0 0\n";
        assert_eq!(proc_hidepid(two), None);
        assert_eq!(proc_hidepid("garbage\n\n  \n"), None);
    }

    #[test]
    fn reads_namespace_inodes() {
        assert_eq!(
            namespace_inode("pid:[4026531836]"),
            Some(INITIAL_PID_NAMESPACE_INODE)
        );
        assert_eq!(namespace_inode("pid:[4026532043]"), Some(4026532043));
        assert_eq!(namespace_inode("pid:4026532043"), None);
        assert_eq!(namespace_inode(""), None);
    }
}
