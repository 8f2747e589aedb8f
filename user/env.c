// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* env.c: option parsing; every error is one line naming the option and what to do. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "env.h"

#ifndef TLSBPF_VERSION
#define TLSBPF_VERSION "dev"
#endif

static const char usage[] =
	"Usage: tlsbpf [OPTIONS] -- COMMAND [ARG...]\n"
	"       tlsbpf [OPTIONS] -p PID[,PID...]\n"
	"       tlsbpf [OPTIONS] -a [--comm NAME]...\n"
	"       tlsbpf analyze [OPTIONS] FILE.csv\n"
	"\n"
	"Watch every allocation of COMMAND, its threads and its children: which thread\n"
	"got each block and which freed it, what a child inherited at fork, and which\n"
	"mapping (brk heap, thread arena, mmap chunk, stack) each block lives in.\n"
	"\n"
	"What to watch:\n"
	"  -- COMMAND [ARG...]     start COMMAND and watch it\n"
	"  -p, --pid PID[,PID...]  attach to running processes (repeatable), their\n"
	"                          threads and the children they fork from now on\n"
	"  -a, --all               every process on the machine but tlsbpf itself\n"
	"      --comm NAME         with -a, only processes named NAME (repeatable)\n"
	"      --duration SECONDS  stop after SECONDS, as if interrupted\n"
	"\n"
	"Output:\n"
	"  -q, --quiet             no live view (one line per event)\n"
	"  -o, --output FILE       live view to FILE instead of stdout\n"
	"      --live              with -a, one line per event instead of a status\n"
	"                          line a second on stderr (-o implies it)\n"
	"      --csv FILE          every event as CSV schema v1 ('-' for stdout)\n"
	"      --summary FILE      end-of-run report to FILE instead of stderr\n"
	"      --summary-json FILE the same report as JSON\n"
	"      --report FILE.md    a lab report skeleton: findings and a layout diagram\n"
	"      --top N             the text and Markdown reports show the N processes,\n"
	"                          threads, arenas, arena users and leak sizes with\n"
	"                          the most bytes (default 20) and sum up the rest\n"
	"                          ('and N more ...'); 0 shows all. JSON has everything\n"
	"\n"
	"Probing:\n"
	"      --lib PATH          also probe the allocator in PATH (repeatable):\n"
	"                          jemalloc, musl's libc, a static binary\n"
	"      --ringbuf-mb N      space for allocator calls in MiB, a power of two\n"
	"                          (default 32), shared equally by the CPUs (1 MiB each\n"
	"                          at least); a quarter more holds the other events\n"
	"      --confine           probe a private copy of the command's allocator\n"
	"                          library, so other processes pay nothing for the\n"
	"                          probes (a launched command that loads it by name)\n"
	"      --sample N          record one allocation call in N per thread, and the\n"
	"                          free of each block recorded (flag 'sampled')\n"
	"      --probe-at-entry    probe each function at its first instruction; by\n"
	"                          default a probe moves past leading instructions the\n"
	"                          kernel would single-step, when that changes nothing\n"
	"\n"
	"Running the command:\n"
	"  -u, --user USER         run COMMAND as USER (default: the sudo caller)\n"
	"      --as-root           under sudo, run COMMAND as root\n"
	"\n"
	"Benchmarking:\n"
	"      --empty-probes      attach every probe but make it return at once: the\n"
	"                          kernel's own uprobe cost, with no event recorded\n"
	"\n"
	"  -v, --verbose           say what is probed where, and libbpf's log\n"
	"  -h, --help              this text\n"
	"  -V, --version           the version\n"
	"\n"
	"tlsbpf exits with COMMAND's status (128+N when signal N killed it).\n"
	"`tlsbpf analyze` rebuilds the report from a CSV written earlier; no root needed.\n";

enum {
	OPT_CSV = 256,
	OPT_SUMMARY,
	OPT_SUMMARY_JSON,
	OPT_REPORT,
	OPT_LIB,
	OPT_RINGBUF,
	OPT_AS_ROOT,
	OPT_EMPTY,
	OPT_AT_ENTRY,
	OPT_CONFINE,
	OPT_SAMPLE,
	OPT_COMM,
	OPT_LIVE,
	OPT_DURATION,
	OPT_TOP,
};

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "all", no_argument, NULL, 'a' },
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "live", no_argument, NULL, OPT_LIVE },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "quiet", no_argument, NULL, 'q' },
	{ "output", required_argument, NULL, 'o' },
	{ "csv", required_argument, NULL, OPT_CSV },
	{ "summary", required_argument, NULL, OPT_SUMMARY },
	{ "summary-json", required_argument, NULL, OPT_SUMMARY_JSON },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "lib", required_argument, NULL, OPT_LIB },
	{ "ringbuf-mb", required_argument, NULL, OPT_RINGBUF },
	{ "user", required_argument, NULL, 'u' },
	{ "as-root", no_argument, NULL, OPT_AS_ROOT },
	{ "empty-probes", no_argument, NULL, OPT_EMPTY },
	{ "probe-at-entry", no_argument, NULL, OPT_AT_ENTRY },
	{ "confine", no_argument, NULL, OPT_CONFINE },
	{ "sample", required_argument, NULL, OPT_SAMPLE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{},
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "tlsbpf: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see 'tlsbpf --help')\n");
	return -EINVAL;
}

static int parse_ringbuf(struct env *env, const char *arg)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	/* the kernel wants a power-of-two number of pages; 1 MiB to 1 GiB is sane */
	if (errno || *end || arg[0] == '-' || v < 1 || v > 1024 || (v & (v - 1)))
		return usage_error("--ringbuf-mb wants a power of two from 1 to 1024, not '%s'", arg);
	env->ringbuf_mb = v;
	return 0;
}

static int parse_duration(struct env *env, const char *arg)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || arg[0] == '-' || !*arg || v < 1 || v > 31 * 24 * 3600)
		return usage_error("--duration wants whole seconds from 1 to 2678400, not '%s'", arg);
	env->duration_s = v;
	return 0;
}

static int parse_sample(struct env *env, const char *arg)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || arg[0] == '-' || !*arg || v < 1 || v > 1000000)
		return usage_error("--sample wants a whole number from 1 to 1000000, not '%s'", arg);
	env->sample = v;
	return 0;
}

static int parse_top(struct env *env, const char *arg)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || arg[0] == '-' || !*arg || v > 1000000)
		return usage_error("--top wants a whole number from 0 (all) to 1000000, not '%s'",
				   arg);
	env->top = v;
	return 0;
}

static int parse_one(struct env *env, int opt, const char *arg)
{
	switch (opt) {
	case 'p':
		if (env->npid_lists == TB_MAX_PID_LISTS)
			return usage_error("too many -p options (at most %s; use PID,PID,...)", "16");
		env->pid_lists[env->npid_lists++] = arg;
		return 0;
	case 'a': env->all = true; return 0;
	case OPT_COMM:
		if (env->ncomms == TB_MAX_COMMS)
			return usage_error("too many --comm options (at most %s)", "8");
		if (!*arg || strlen(arg) > 15)
			return usage_error("--comm wants a thread name of 1 to 15 bytes, not '%s'", arg);
		env->comms[env->ncomms++] = arg;
		return 0;
	case OPT_LIVE: env->live = true; return 0;
	case OPT_DURATION: return parse_duration(env, arg);
	case 'q': env->quiet = true; return 0;
	case 'o': env->live_path = arg; return 0;
	case OPT_CSV: env->csv_path = arg; return 0;
	case OPT_SUMMARY: env->summary_path = arg; return 0;
	case OPT_SUMMARY_JSON: env->summary_json_path = arg; return 0;
	case OPT_REPORT: env->report_md_path = arg; return 0;
	case OPT_TOP: return parse_top(env, arg);
	case OPT_LIB:
		if (env->nlibs == TB_MAX_USER_LIBS)
			return usage_error("too many --lib options (at most %s)", "16");
		env->libs[env->nlibs++] = arg;
		return 0;
	case OPT_RINGBUF: return parse_ringbuf(env, arg);
	case 'u': env->user = arg; return 0;
	case OPT_AS_ROOT: env->as_root = true; return 0;
	case OPT_EMPTY: env->empty_probes = true; return 0;
	case OPT_AT_ENTRY: env->probe_at_entry = true; return 0;
	case OPT_CONFINE: env->confine = true; return 0;
	case OPT_SAMPLE: return parse_sample(env, arg);
	case 'v': env->verbose = true; return 0;
	case 'h': fputs(usage, stdout); return 1;
	case 'V': printf("tlsbpf %s\n", TLSBPF_VERSION); return 1;
	default: return -EINVAL;	/* getopt already said what was wrong */
	}
}

static int check_operands(struct env *env)
{
	if (env->analyze) {
		if (env->argc != 1)
			return usage_error("analyze wants one CSV file%s", "");
		return 0;
	}
	if ((env->argc > 0) + (env->npid_lists > 0) + env->all > 1)
		return usage_error("give one of a command, -p or -a%s", "");
	if (env->confine && (env->npid_lists || env->all))
		return usage_error("--confine is for a launched command, not -p or -a%s", "");
	if (env->ncomms && !env->all)
		return usage_error("--comm goes with -a%s", "");
	if (env->npid_lists || env->all)
		return 0;
	if (env->argc == 0)
		return usage_error("no command given: put it after '--', as in 'tlsbpf -- ./prog'%s",
				   "");
	if (env->user && env->as_root)
		return usage_error("--user and --as-root contradict each other%s", "");
	return 0;
}

int env__parse(struct env *env, int argc, char **argv)
{
	int opt, err;

	memset(env, 0, sizeof(*env));
	env->ringbuf_mb = 32;
	env->top = TB_TOP_DEFAULT;
	if (argc > 1 && strcmp(argv[1], "analyze") == 0) {
		env->analyze = true;
		argc--;
		argv++;
	}
	optind = 1;
	opterr = 0;
	/* '+': stop at the command's first word, so its own options stay its own */
	while ((opt = getopt_long(argc, argv, "+:p:aqo:u:vhV", long_opts, NULL)) != -1) {
		if (opt == '?' || opt == ':') {
			if (optopt && optopt < 256)
				return usage_error(opt == ':' ? "option '-%c' needs a value"
							      : "unknown option '-%c'",
						   (char[]){ (char)optopt, 0 });
			return usage_error(opt == ':' ? "option '%s' needs a value"
						      : "unknown option '%s'",
					   argv[optind - 1]);
		}
		err = parse_one(env, opt, optarg);
		if (err)
			return err;
	}
	env->argv = argv + optind;
	env->argc = argc - optind;
	return check_operands(env);
}
