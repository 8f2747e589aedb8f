// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_procstat.c: state, parent and flags read back against what this process knows of itself. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "check.h"
#include "procstat.h"

static pid_t worker_tid;
static int up_fd[2], go_fd[2];	/* thread to test, test to thread */

static void *worker(void *arg)
{
	char c;

	worker_tid = syscall(SYS_gettid);
	/* a name that ends early if read up to the first ')' */
	prctl(PR_SET_NAME, "w) S 1 2 3");
	if (write(up_fd[1], "r", 1) != 1 || read(go_fd[0], &c, 1) != 1)
		return NULL;
	return NULL;
}

static void test_self(void)
{
	struct procstat st;

	CHECK(!procstat__read(getpid(), 0, &st), "this process's stat reads");
	CHECK(st.state == 'R', "running while it reads itself: '%c'", st.state);
	CHECK_EQ_U64(st.ppid, getppid(), "its parent");
	CHECK(!(st.flags & TB_PF_KTHREAD) && procstat__alive(&st), "a live user process");
}

static void test_thread_named_with_paren(void)
{
	struct procstat st;
	pthread_t t;
	char c;

	if (pipe(up_fd) || pipe(go_fd) || pthread_create(&t, NULL, worker, NULL)) {
		CHECK(0, "a thread to read");
		return;
	}
	if (read(up_fd[0], &c, 1) != 1)
		CHECK(0, "the thread started");
	CHECK(!procstat__read(getpid(), worker_tid, &st), "the thread's stat reads");
	CHECK_EQ_U64(st.ppid, getppid(), "past a ')' in its name: the process's parent");
	CHECK(strchr("RS", st.state) && procstat__alive(&st), "alive: '%c'", st.state);
	if (write(go_fd[1], "g", 1) != 1)
		CHECK(0, "the thread let go");
	pthread_join(t, NULL);
}

static void test_zombie_and_gone(void)
{
	struct procstat st;
	pid_t child = fork();

	if (child == 0)
		_exit(0);
	/* a zombie until reaped: wait without reaping */
	siginfo_t si;
	waitid(P_PID, child, &si, WEXITED | WNOWAIT);
	CHECK(!procstat__read(child, 0, &st) && st.state == 'Z', "an unreaped child: a zombie");
	CHECK(!procstat__alive(&st), "a zombie is not alive");
	CHECK_EQ_U64(st.ppid, getpid(), "its parent: this process");
	waitpid(child, NULL, 0);
	CHECK(procstat__read(child, 0, &st) == -1, "a reaped child: no stat to read");
}

static void test_kthread(void)
{
	struct procstat st;

	/* kthreadd is pid 2 on the host; in a pid namespace there may be none to read */
	if (procstat__read(2, 0, &st) || st.ppid != 0) {
		CHECK(1, "no kernel thread visible as pid 2 (a pid namespace): skipped");
		return;
	}
	CHECK(st.flags & TB_PF_KTHREAD, "kthreadd carries PF_KTHREAD");
}

int main(void)
{
	test_self();
	test_thread_named_with_paren();
	test_zombie_and_gone();
	test_kthread();
	return check_done();
}
