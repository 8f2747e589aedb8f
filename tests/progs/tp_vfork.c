// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tp_vfork: children that share their parent's memory (vfork, clone(CLONE_VM)
 * without CLONE_THREAD) allocate and free in it. The child writes what it did
 * into the shared memory; the parent prints it after the child is gone:
 *   alloc pid=P tid=T addr=0x... size=N region=heap|arena|mmap_chunk
 *   free pid=P tid=T addr=0x... alloc_pid=P
 *   leak pid=P addr=0x... size=N        (allocated by a child, never freed)
 */
#include "../../labs/common.h"
#include <sched.h>
#include <sys/wait.h>

#define CHILD_SIZE 555
#define PARENT_SIZE 333
#define STACK_SIZE (256 * 1024)

/* What the child did, in the memory it shares with the parent. */
struct shared {
	pid_t pid;
	void *got, *kept;
	void *freed;	/* the parent's block it freed */
	const char *got_region, *kept_region;
};

static struct shared sh;
static void *parent_block;

static void say_alloc(pid_t pid, void *p, size_t size, const char *region)
{
	printf("alloc pid=%d tid=%d addr=%#lx size=%zu region=%s\n", pid, pid, LAB_ADDR(p), size,
	       region);
}

/* The child's whole life: no stdio, which would take the parent's locks mid-call. */
static int child_body(void *arg)
{
	(void)arg;
	sh.pid = getpid();
	sh.got = malloc(CHILD_SIZE);
	sh.got_region = lab_region(sh.got);
	sh.kept = malloc(CHILD_SIZE);
	sh.kept_region = lab_region(sh.kept);
	free(parent_block);
	sh.freed = parent_block;
	return 0;
}

/* Before the child: the parent's own block, which the child frees. */
static void parent_before(void)
{
	parent_block = malloc(PARENT_SIZE);
	say_alloc(getpid(), parent_block, PARENT_SIZE, lab_region(parent_block));
	memset(&sh, 0, sizeof(sh));
}

/* After the child: what it did, and the parent freeing one of its blocks. */
static void parent_after(void)
{
	say_alloc(sh.pid, sh.got, CHILD_SIZE, sh.got_region);
	say_alloc(sh.pid, sh.kept, CHILD_SIZE, sh.kept_region);
	printf("free pid=%d tid=%d addr=%#lx alloc_pid=%d\n", sh.pid, sh.pid, LAB_ADDR(sh.freed),
	       getpid());
	free(sh.got);
	printf("free pid=%d tid=%d addr=%#lx alloc_pid=%d\n", getpid(), getpid(), LAB_ADDR(sh.got),
	       sh.pid);
	printf("leak pid=%d addr=%#lx size=%d\n", getpid(), LAB_ADDR(sh.kept), CHILD_SIZE);
}

static void run_vfork(void)
{
	pid_t pid;

	parent_before();
	fflush(stdout);
	pid = vfork();
	if (pid < 0)
		lab_die("vfork failed: %s", strerror(errno));
	if (pid == 0) {
		child_body(NULL);
		_exit(0);
	}
	if (lab_wait(pid) != 0)
		lab_die("vfork child failed");
	parent_after();
}

static void run_clone(void)
{
	char *stack = malloc(STACK_SIZE);
	pid_t pid;
	int status;

	if (!stack)
		lab_die("malloc failed");
	printf("alloc pid=%d tid=%d addr=%#lx size=%d region=%s\n", getpid(), getpid(),
	       LAB_ADDR(stack), STACK_SIZE, lab_region(stack));
	parent_before();
	fflush(stdout);
	pid = clone(child_body, stack + STACK_SIZE, CLONE_VM | SIGCHLD, NULL);
	if (pid < 0)
		lab_die("clone failed: %s", strerror(errno));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		lab_die("clone child failed");
	parent_after();
	free(stack);
	printf("free pid=%d tid=%d addr=%#lx alloc_pid=%d\n", getpid(), getpid(), LAB_ADDR(stack),
	       getpid());
}

int main(int argc, char **argv)
{
	lab_init(argv[0]);
	if (argc != 2 || (strcmp(argv[1], "vfork") && strcmp(argv[1], "clone"))) {
		printf("usage: %s vfork|clone\n", lab_prog);
		return 2;
	}
	if (strcmp(argv[1], "vfork") == 0)
		run_vfork();
	else
		run_clone();
	return 0;
}
