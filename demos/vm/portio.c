// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * demos/vm/portio.c: exactly one x86 I/O port access of 8, 16 or 32 bits,
 * for the VM's tests: an independent cross-check of `physdemo port`, as
 * busybox devmem is for memory (busybox has nothing for 16/32-bit ports, and
 * /dev/port moves one byte per port). demos/vm/initramfs builds it static
 * and installs it as /bin/portio.
 *
 * Usage: portio PORT WIDTH [VALUE]
 *   PORT, VALUE  numbers in C syntax (0x hex, 0 octal, decimal)
 *   WIDTH        8, 16 or 32
 * Reads the port (prints the value as 0x with WIDTH/4 hex digits) or writes
 * VALUE to it (prints nothing), after ioperm(PORT, WIDTH/8, 1): one
 * inb/inw/inl or outb/outw/outl instruction, nothing else touches the port.
 * Exit status: 0 done; 1 the kernel refused (ENOSYS without
 * CONFIG_X86_IOPL_IOPERM, EPERM without CAP_SYS_RAWIO or under lockdown),
 * with one "portio: error:" line; 2 bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>

static int number(const char *text, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(text, &end, 0);
	return errno == 0 && end != text && *end == '\0' && text[0] != '-' &&
	       *out <= max;
}

static int usage(const char *why)
{
	fprintf(stderr, "portio: error: %s (usage: portio PORT 8|16|32 [VALUE])\n", why);
	return 2;
}

int main(int argc, char **argv)
{
	unsigned long port, width, value = 0;

	if (argc != 3 && argc != 4)
		return usage("wrong number of arguments");
	if (!number(argv[2], 32, &width) || (width != 8 && width != 16 && width != 32))
		return usage("WIDTH must be 8, 16 or 32");
	if (!number(argv[1], 0x10000 - width / 8, &port))
		return usage("PORT must lie in 0..0xffff with all WIDTH bits");
	if (argc == 4 && !number(argv[3], width == 32 ? 0xffffffffUL : (1UL << width) - 1, &value))
		return usage("VALUE must fit in WIDTH bits");

	if (ioperm(port, width / 8, 1) != 0) {
		fprintf(stderr, "portio: error: ioperm(0x%lx, %lu): %s\n", port, width / 8,
			strerror(errno));
		return 1;
	}
	if (argc == 4) {
		if (width == 8)
			outb(value, port);
		else if (width == 16)
			outw(value, port);
		else
			outl(value, port);
		return 0;
	}
	if (width == 8)
		value = inb(port);
	else if (width == 16)
		value = inw(port);
	else
		value = inl(port);
	printf("0x%0*lx\n", (int)(width / 4), value);
	return 0;
}
