// SPDX-License-Identifier: GPL-2.0
/*
 * physdemo_buf: a kernel buffer whose physical address user space can see.
 *
 * For physdemo's kernel-memory demo (demos/kernel-buffer.sh). On load it
 * kmallocs a small buffer, stores a known 64-bit value in its first word and
 * creates /sys/kernel/debug/physdemo_buf. Reading that file prints, one
 * `key=value` per line (machine-readable):
 *
 *   vaddr=0xffff888003a1b2c0    the buffer's kernel virtual address (%px)
 *   paddr=0x3a1b2c0             virt_to_phys() of it: where /dev/mem finds it
 *   value=0xfeedfacecafebeef    the first 64-bit word, read now (READ_ONCE)
 *   size=64                     bytes allocated
 *   page_offset=0xffff888000000000  PAGE_OFFSET, where the kernel's direct
 *                               map of all RAM starts (vaddr = paddr +
 *                               page_offset); randomized at boot with KASLR
 *                               (CONFIG_RANDOMIZE_MEMORY)
 *
 * so `physdemo peek`/`poke <paddr> ... --width 64` can read and change the
 * value behind the kernel's back, and a second read of the file shows what the
 * kernel now sees. Writing a number (C syntax: 0x hex, 0 octal, decimal) to
 * the file stores it with WRITE_ONCE, to reset the value.
 *
 * The file is root's only (mode 0600); the kernel log names the buffer by a
 * hashed pointer (%p) and never by a raw address.
 *
 * Parameter: initial=VALUE (default 0xfeedfacecafebeef). Unloading removes the
 * file and kfree()s the buffer. Build: demos/kmod/build (against the VM kernel).
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#define BUF_SIZE 64

static unsigned long long initial = 0xfeedfacecafebeefULL;
module_param(initial, ullong, 0444);
MODULE_PARM_DESC(initial, "the value stored in the buffer at load time");

static u64 *buf;
static struct dentry *file;

static ssize_t buf_read(struct file *f, char __user *ubuf, size_t len,
			loff_t *pos)
{
	char text[192];
	int n;

	n = scnprintf(text, sizeof(text),
		      "vaddr=0x%lx\npaddr=0x%llx\nvalue=0x%016llx\nsize=%d\npage_offset=0x%lx\n",
		      (unsigned long)buf,
		      (unsigned long long)virt_to_phys(buf),
		      (unsigned long long)READ_ONCE(*buf), BUF_SIZE,
		      (unsigned long)PAGE_OFFSET);
	return simple_read_from_buffer(ubuf, len, pos, text, n);
}

static ssize_t buf_write(struct file *f, const char __user *ubuf, size_t len,
			 loff_t *pos)
{
	u64 value;
	int err;

	err = kstrtou64_from_user(ubuf, len, 0, &value);
	if (err)
		return err;
	WRITE_ONCE(*buf, value);
	return len;
}

static const struct file_operations buf_fops = {
	.owner = THIS_MODULE,
	.read = buf_read,
	.write = buf_write,
	.llseek = default_llseek,
};

static int __init physdemo_buf_init(void)
{
	buf = kzalloc(BUF_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	WRITE_ONCE(*buf, (u64)initial);
	file = debugfs_create_file("physdemo_buf", 0600, NULL, NULL, &buf_fops);
	if (IS_ERR(file)) {
		kfree(buf);
		return PTR_ERR(file);
	}
	/* A hashed pointer: the addresses are in debugfs, for root only. */
	pr_info("physdemo_buf: buffer %p ready, its addresses in /sys/kernel/debug/physdemo_buf\n",
		buf);
	return 0;
}

static void __exit physdemo_buf_exit(void)
{
	debugfs_remove(file);
	kfree(buf);
	pr_info("physdemo_buf: buffer freed\n");
}

module_init(physdemo_buf_init);
module_exit(physdemo_buf_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("physdemo: a kmalloc buffer with its physical address in debugfs");
