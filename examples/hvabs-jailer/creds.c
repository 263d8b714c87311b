/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The last steps before exec: no fd of the jailer's reaches the VMM, it can
 * never gain privileges again (no_new_privs survives exec and is inherited),
 * and it runs as --uid/--gid with no supplementary groups, so no capability.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jailer.h"

int jail_drop(const struct jail *j)
{
	/* close_range(2) through syscall(): older C libraries lack the wrapper. */
	if (syscall(SYS_close_range, 3U, ~0U, 0U))
		return jail_fail("close_range", "3..", errno);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return jail_fail("prctl", "PR_SET_NO_NEW_PRIVS", errno);
	if (setgroups(0, NULL))
		return jail_fail("setgroups", "", errno);
	if (setresgid(j->gid, j->gid, j->gid))
		return jail_fail("setresgid", "", errno);
	if (setresuid(j->uid, j->uid, j->uid))
		return jail_fail("setresuid", "", errno);
	if (setuid(0) == 0)
		return jail_fail("setresuid (root is still reachable)", "", EPERM);
	/* A credential change clears the parent-death signal; the jailer gone, so is the VMM. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
		return jail_fail("prctl", "PR_SET_PDEATHSIG", errno);
	return 0;
}
