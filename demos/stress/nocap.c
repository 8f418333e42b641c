// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * demos/stress/nocap.c: run a command as root but without some capabilities,
 * for the VM's privilege tests (root without CAP_SYS_RAWIO must get exit 4
 * and one line from physdemo, not a crash or a write). busybox has no
 * capsh, and its setpriv cannot drop from the bounding set; this can. Built
 * static on the host by demos/stress/build, copied in as /files/nocap.
 *
 * Usage: nocap CAP[,CAP...] COMMAND [ARGS...]
 *   CAP  sys_rawio, sys_admin, sys_ptrace, dac_override, dac_read_search,
 *        or a capability number (include/uapi/linux/capability.h)
 * Drops each CAP from the bounding set (PR_CAPBSET_DROP), the ambient set,
 * and the effective, permitted and inheritable sets (capset), then execs
 * COMMAND (searched in PATH). Since the bounding set limits what an exec
 * grants, even a root COMMAND starts without them: /proc/self/status shows
 * them missing from CapBnd, CapEff and CapPrm.
 * Exit status: COMMAND's; 2 bad usage; 1 a prctl/capset/exec failed, with
 * one "nocap: error:" line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct {
	const char *name;
	int number;
} names[] = {
	{ "sys_rawio", CAP_SYS_RAWIO },
	{ "sys_admin", CAP_SYS_ADMIN },
	{ "sys_ptrace", CAP_SYS_PTRACE },
	{ "dac_override", CAP_DAC_OVERRIDE },
	{ "dac_read_search", CAP_DAC_READ_SEARCH },
};

static int cap_number(const char *text)
{
	char *end;
	long n;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(text, names[i].name))
			return names[i].number;
	n = strtol(text, &end, 10);
	if (*text && !*end && n >= 0 && n <= CAP_LAST_CAP)
		return n;
	fprintf(stderr, "nocap: error: unknown capability '%s'\n", text);
	exit(2);
}

static _Noreturn void fail(const char *what)
{
	fprintf(stderr, "nocap: error: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	char *list, *cap;

	if (argc < 3) {
		fprintf(stderr, "usage: nocap CAP[,CAP...] COMMAND [ARGS...]\n");
		return 2;
	}
	if (syscall(SYS_capget, &header, data) != 0)
		fail("capget");
	list = strdup(argv[1]);
	for (cap = strtok(list, ","); cap; cap = strtok(NULL, ",")) {
		int n = cap_number(cap);
		unsigned int bit = 1U << (n % 32);

		if (prctl(PR_CAPBSET_DROP, n, 0, 0, 0) != 0)
			fail("prctl PR_CAPBSET_DROP");
		data[n / 32].effective &= ~bit;
		data[n / 32].permitted &= ~bit;
		data[n / 32].inheritable &= ~bit;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		fail("prctl PR_CAP_AMBIENT_CLEAR_ALL");
	if (syscall(SYS_capset, &header, data) != 0)
		fail("capset");
	execvp(argv[2], argv + 2);
	fail(argv[2]);
}
