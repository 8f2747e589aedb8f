// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* env.c: option parsing; every error is one line naming the option and what to do. */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "env.h"
#include "../bpf/tlsbpf.h"

#ifndef TLSBPF_VERSION
#define TLSBPF_VERSION "dev"
#endif

static const char usage[] =
	"Usage: tlsbpf [OPTIONS] -- COMMAND [ARG...]\n"
	"       tlsbpf [OPTIONS] -p PID[,PID...]\n"
	"       tlsbpf [OPTIONS] -a [--comm NAME]...\n"
	"       tlsbpf analyze [--summary FILE] [--summary-json FILE] [--report FILE.md]\n"
	"                      [--html FILE]\n"
	"                      [--perfetto FILE] [--pprof FILE] [--folded FILE]\n"
	"                      FILE.csv|-\n"
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
	"      --duration SECONDS  stop after watching for SECONDS, as if interrupted\n"
	"\n"
	"Output:\n"
	"  -q, --quiet             no live view (the line per event); the report and\n"
	"                          every file asked for are written all the same\n"
	"  -o, --output FILE       live view to FILE instead of stdout (every line,\n"
	"                          unless FILE is a terminal)\n"
	"      --live              every event a line: with -a instead of a status line\n"
	"                          a second on stderr, and on a terminal instead of at\n"
	"                          most 40 lines a second and a line summing up the rest\n"
	"      --events LIST       live view: only these events, by their CSV names,\n"
	"                          comma-separated (malloc,free,fork); 'alloc' is every\n"
	"                          allocating call, 'vm' every mapping call\n"
	"      --filter-pid PID[,PID...]  live view: only these processes\n"
	"      --filter-tid TID[,TID...]  live view: only these threads\n"
	"      --csv FILE          every event as CSV schema v1 ('-' for stdout); a file\n"
	"                          NAME.csv gets NAME.stacks.csv beside it, the frames\n"
	"                          of each call stack its rows name\n"
	"      --json-lines FILE   the same rows as JSON, one object a line, the CSV's\n"
	"                          columns as its keys ('-' for stdout)\n"
	"      --summary FILE      end-of-run report to FILE instead of stderr\n"
	"      --summary-json FILE the same report as JSON (no text report then,\n"
	"                          unless --summary names a file for it too)\n"
	"      --report FILE.md    a lab report skeleton: findings and a layout diagram\n"
	"      --html FILE         one self-contained page of pictures: the address\n"
	"                          space, address by time, live bytes over time,\n"
	"                          allocation sites, processes and threads, sizes;\n"
	"                          no network, readable without scripts\n"
	"      --perfetto FILE     the same as a Perfetto trace (ui.perfetto.dev): live\n"
	"                          bytes counters, each block's life as a slice, flows\n"
	"                          from a block's allocation to another thread's free\n"
	"      --pprof FILE        allocations and blocks live at the end per call stack,\n"
	"                          process and thread, as a gzipped profile.proto (go\n"
	"                          tool pprof, Pyroscope, Parca)\n"
	"      --folded FILE       bytes allocated per call stack as folded stacks\n"
	"                          (flamegraph.pl, speedscope)\n"
	"      --top N             the text and Markdown reports show the N processes,\n"
	"                          threads, arenas, arena users and leak sizes with\n"
	"                          the most bytes (default 20) and sum up the rest\n"
	"                          ('and N more ...'); 0 shows all. JSON has everything\n"
	"  Every output file is opened before COMMAND starts, so a bad path fails first.\n"
	"  '-' is stdout, for one output at most: the live view is then off unless -o\n"
	"  FILE, and COMMAND's own stdout goes to stderr. The filters and the fold on a\n"
	"  terminal change only the live view: the CSV and the report get every event.\n"
	"  A report file that cannot be written at the end is printed to stderr instead.\n"
	"\n"
	"Probing:\n"
	"      --lib PATH          also probe the allocator in PATH (repeatable):\n"
	"                          jemalloc, musl's libc, a static binary\n"
	"      --ringbuf-mb N      space for allocator calls in MiB, a power of two\n"
	"                          (default 32), shared equally by the CPUs (1 MiB each\n"
	"                          at least); a quarter more holds the other events\n"
	"      --confine           keep the probes to the watched processes, so other\n"
	"                          processes pay nothing for them: a private copy of\n"
	"                          the command's allocator library, or with -p\n"
	"                          breakpoints placed in the processes alone (Linux\n"
	"                          6.12 or later, tracefs); the default wherever it\n"
	"                          is exact: given, refuse where it cannot apply\n"
	"      --no-confine        probe the library files themselves: every process\n"
	"                          that maps one pays the probes' trap, as under -a\n"
	"      --sample N          record one allocation call in N per thread, and the\n"
	"                          free of each block recorded (flag 'sampled'); every\n"
	"                          call still pays the probes' trap\n"
	"      --sample-by MODE    calls (the default): as above; time: the allocator\n"
	"                          probes are on 1/N of the time, in windows at random\n"
	"                          moments, and off between them, so the cost falls\n"
	"                          with N (Linux 6.6 or later); rows sample_on and\n"
	"                          sample_off mark the windows\n"
	"      --sample-window MS  with --sample-by time, each window's length\n"
	"                          (default 20)\n"
	"      --pages[=MODE]      page faults of the watched processes (x86): on (the\n"
	"                          default MODE) a row per first touch (touch), write\n"
	"                          to a present page (wp), page copied (cow) and\n"
	"                          other fault (page_fault); cow: only the cow rows,\n"
	"                          every fault still counted; off (the default)\n"
	"      --stack-depth N     frames kept of each allocation's and free's call\n"
	"                          stack, 1 to 64: the call site, exact without frame\n"
	"                          pointers, then the frame-pointer chain; default 1,\n"
	"                          the call site alone, and 8 with --stacks=dwarf,\n"
	"                          --pprof, --folded or --html\n"
	"      --stacks=MODE       how the callers are found: fp (the default) as above;\n"
	"                          dwarf: 8 KiB of the stack and the registers copied at\n"
	"                          each call, unwound in tlsbpf by the files' .eh_frame:\n"
	"                          whole without frame pointers, 8 to 19 us a call (see\n"
	"                          --sample)\n"
	"      --no-stacks         keep no call stacks (the stack_id column stays empty)\n"
	"      --no-free-stacks    keep the stacks of allocations only, not of frees:\n"
	"                          a free's stack costs a read of the user stack\n"
	"      --debuginfod        fetch debug info found nowhere on this machine from\n"
	"                          the servers in DEBUGINFOD_URLS (off: no network)\n"
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
	"Report columns (one row per thread):\n"
	"  allocs, frees     calls the thread made; requested: bytes they asked for\n"
	"  live              bytes of the thread's blocks not freed yet, by anyone\n"
	"  peak              the most bytes of the thread's blocks live at one time\n"
	"  spacing           the commonest distance in bytes from one block the thread\n"
	"                    got to the next: size plus the allocator's own overhead\n"
	"  xfree             frees it made of blocks another thread of its process got\n"
	"  inhfree           frees it made of blocks its process inherited at fork\n"
	"  reused            blocks it got at an address handed out and freed before\n"
	"  dblfree, invalid  frees of a block already freed, of an address never\n"
	"                    handed out\n"
	"  unknown           frees of blocks whose allocation tlsbpf did not see (made\n"
	"                    before it watched, or in lost events)\n"
	"  arenas            where it was served: heap (the main arena) or the start\n"
	"                    of a thread arena\n"
	"\n"
	"tlsbpf exits with COMMAND's status (128+N when signal N killed it). SIGINT,\n"
	"SIGTERM or SIGHUP to tlsbpf is passed to COMMAND once, and tlsbpf collects\n"
	"until it ends. If it still runs 2 s later, or at a second signal, tlsbpf\n"
	"stops: the report shows it running, then tlsbpf kills it and every process\n"
	"it started with SIGKILL, as 'timeout -k' does, names their pids on stderr,\n"
	"and exits 128+N for the signal that stopped it. A signal while tlsbpf starts\n"
	"stops the start: COMMAND is not run, and tlsbpf exits 128+N.\n"
	"`tlsbpf analyze` rebuilds the report from a CSV written earlier ('-' reads\n"
	"stdin); it takes only the report options. No root needed.\n";

enum {
	TB_OPT_CSV = 256,
	TB_OPT_JSON_LINES,
	TB_OPT_SUMMARY,
	TB_OPT_SUMMARY_JSON,
	TB_OPT_REPORT,
	TB_OPT_HTML,
	TB_OPT_PERFETTO,
	TB_OPT_PPROF,
	TB_OPT_FOLDED,
	TB_OPT_LIB,
	TB_OPT_RINGBUF,
	TB_OPT_AS_ROOT,
	TB_OPT_EMPTY,
	TB_OPT_AT_ENTRY,
	TB_OPT_CONFINE,
	TB_OPT_NO_CONFINE,
	TB_OPT_SAMPLE,
	TB_OPT_SAMPLE_BY,
	TB_OPT_SAMPLE_WINDOW,
	TB_OPT_PAGES,
	TB_OPT_COMM,
	TB_OPT_LIVE,
	TB_OPT_DURATION,
	TB_OPT_TOP,
	TB_OPT_EVENTS,
	TB_OPT_FILTER_PID,
	TB_OPT_FILTER_TID,
	TB_OPT_STACK_DEPTH,
	TB_OPT_NO_STACKS,
	TB_OPT_NO_FREE_STACKS,
	TB_OPT_STACKS,
	TB_OPT_DEBUGINFOD,
};

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "all", no_argument, NULL, 'a' },
	{ "comm", required_argument, NULL, TB_OPT_COMM },
	{ "live", no_argument, NULL, TB_OPT_LIVE },
	{ "events", required_argument, NULL, TB_OPT_EVENTS },
	{ "filter-pid", required_argument, NULL, TB_OPT_FILTER_PID },
	{ "filter-tid", required_argument, NULL, TB_OPT_FILTER_TID },
	{ "duration", required_argument, NULL, TB_OPT_DURATION },
	{ "quiet", no_argument, NULL, 'q' },
	{ "output", required_argument, NULL, 'o' },
	{ "csv", required_argument, NULL, TB_OPT_CSV },
	{ "json-lines", required_argument, NULL, TB_OPT_JSON_LINES },
	{ "summary", required_argument, NULL, TB_OPT_SUMMARY },
	{ "summary-json", required_argument, NULL, TB_OPT_SUMMARY_JSON },
	{ "report", required_argument, NULL, TB_OPT_REPORT },
	{ "html", required_argument, NULL, TB_OPT_HTML },
	{ "perfetto", required_argument, NULL, TB_OPT_PERFETTO },
	{ "pprof", required_argument, NULL, TB_OPT_PPROF },
	{ "folded", required_argument, NULL, TB_OPT_FOLDED },
	{ "top", required_argument, NULL, TB_OPT_TOP },
	{ "lib", required_argument, NULL, TB_OPT_LIB },
	{ "ringbuf-mb", required_argument, NULL, TB_OPT_RINGBUF },
	{ "user", required_argument, NULL, 'u' },
	{ "as-root", no_argument, NULL, TB_OPT_AS_ROOT },
	{ "empty-probes", no_argument, NULL, TB_OPT_EMPTY },
	{ "probe-at-entry", no_argument, NULL, TB_OPT_AT_ENTRY },
	{ "confine", no_argument, NULL, TB_OPT_CONFINE },
	{ "no-confine", no_argument, NULL, TB_OPT_NO_CONFINE },
	{ "sample", required_argument, NULL, TB_OPT_SAMPLE },
	{ "sample-by", required_argument, NULL, TB_OPT_SAMPLE_BY },
	{ "sample-window", required_argument, NULL, TB_OPT_SAMPLE_WINDOW },
	{ "pages", optional_argument, NULL, TB_OPT_PAGES },
	{ "stack-depth", required_argument, NULL, TB_OPT_STACK_DEPTH },
	{ "no-stacks", no_argument, NULL, TB_OPT_NO_STACKS },
	{ "no-free-stacks", no_argument, NULL, TB_OPT_NO_FREE_STACKS },
	{ "stacks", required_argument, NULL, TB_OPT_STACKS },
	{ "debuginfod", no_argument, NULL, TB_OPT_DEBUGINFOD },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{},
};

const struct env_output env_outputs[] = {
	{ "-o", offsetof(struct env, live_path), NULL },
	{ "--csv", offsetof(struct env, csv_path), NULL },
	{ "--json-lines", offsetof(struct env, json_lines_path), NULL },
	{ "--summary", offsetof(struct env, summary_path), report__text },
	{ "--summary-json", offsetof(struct env, summary_json_path), report__json },
	{ "--report", offsetof(struct env, report_md_path), report__markdown },
	{ "--html", offsetof(struct env, html_path), report__html },
	{ "--perfetto", offsetof(struct env, perfetto_path), report__perfetto },
	{ "--pprof", offsetof(struct env, pprof_path), report__pprof },
	{ "--folded", offsetof(struct env, folded_path), report__folded },
	{},
};

/* What `tlsbpf analyze` takes: the reports; everything else is about watching. */
static const int analyze_opts[] = { TB_OPT_SUMMARY, TB_OPT_SUMMARY_JSON, TB_OPT_REPORT, TB_OPT_HTML, TB_OPT_PERFETTO, TB_OPT_PPROF, TB_OPT_FOLDED, TB_OPT_TOP, 'h', 'V' };

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "tlsbpf: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see 'tlsbpf --help')\n");
	return -EINVAL;
}

/* A whole decimal number from min to max: no sign, no suffix, nothing after it. */
static bool whole_number(const char *arg, unsigned long min, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(arg, &end, 10);
	return !errno && !*end && arg[0] != '-' && *arg && *v >= min && *v <= max;
}

static int parse_ringbuf(struct env *env, const char *arg)
{
	unsigned long v;

	/* the kernel wants a power-of-two number of pages; 1 MiB to 1 GiB is sane */
	if (!whole_number(arg, 1, 1024, &v) || (v & (v - 1)))
		return usage_error("--ringbuf-mb wants a power of two from 1 to 1024, not '%s'", arg);
	env->ringbuf_mb = v;
	return 0;
}

static int parse_duration(struct env *env, const char *arg)
{
	unsigned long v;

	if (!whole_number(arg, 1, 31 * 24 * 3600, &v))
		return usage_error("--duration wants whole seconds from 1 to 2678400, not '%s'", arg);
	env->duration_s = v;
	return 0;
}

static int parse_sample(struct env *env, const char *arg)
{
	unsigned long v;

	if (!whole_number(arg, 1, 1000000, &v))
		return usage_error("--sample wants a whole number from 1 to 1000000, not '%s'", arg);
	env->sample = v;
	return 0;
}

static int parse_sample_by(struct env *env, const char *arg)
{
	if (strcmp(arg, "calls") && strcmp(arg, "time"))
		return usage_error("--sample-by wants calls or time, not '%s'", arg);
	env->sample_by_time = !strcmp(arg, "time");
	return 0;
}

static int parse_sample_window(struct env *env, const char *arg)
{
	unsigned long v;

	if (!whole_number(arg, 1, 60000, &v))
		return usage_error("--sample-window wants milliseconds from 1 to 60000, not '%s'",
				   arg);
	env->sample_window_ms = v;
	return 0;
}

static int parse_pages(struct env *env, const char *arg)
{
	if (!arg || !strcmp(arg, "on"))
		env->pages = TB_PAGES_ON;
	else if (!strcmp(arg, "cow"))
		env->pages = TB_PAGES_COW;
	else if (!strcmp(arg, "off"))
		env->pages = TB_PAGES_OFF;
	else
		return usage_error("--pages wants on, cow or off, not '%s'", arg);
	return 0;
}

static int parse_stack_depth(struct env *env, const char *arg)
{
	unsigned long v;

	if (!whole_number(arg, 1, TB_MAX_STACK, &v))
		return usage_error("--stack-depth wants a whole number from 1 to 64, not '%s'", arg);
	env->stack_depth = v;
	env->stack_depth_given = true;
	return 0;
}

static int parse_stacks(struct env *env, const char *arg)
{
	if (!strcmp(arg, "fp"))
		env->stacks_mode = TB_STACKS_FP;
#if defined(__x86_64__)
	else if (!strcmp(arg, "dwarf"))
		env->stacks_mode = TB_STACKS_DWARF;
#else
	else if (!strcmp(arg, "dwarf"))
		return usage_error("--stacks=dwarf unwinds x86-64's registers only%s", "");
#endif
	else
		return usage_error("--stacks wants fp or dwarf, not '%s'", arg);
	return 0;
}

static int parse_top(struct env *env, const char *arg)
{
	unsigned long v;

	if (!whole_number(arg, 0, 1000000, &v))
		return usage_error("--top wants a whole number from 0 (all) to 1000000, not '%s'",
				   arg);
	env->top = v;
	return 0;
}

/* "alloc" and "vm" stand for families; any other word is an event's CSV name. */
static uint32_t event_bits(const char *name, size_t len)
{
	enum tb_event_type t = tb_event_from_name(name, len);
	uint32_t bits = 0;

	if (t != TB_EV_NONE)
		return 1u << t;
	for (t = TB_EV_MALLOC; t < TB_EV_MAX; t++)
		if ((len == 5 && !memcmp(name, "alloc", 5) && tb_ev_allocates(t)) ||
		    (len == 2 && !memcmp(name, "vm", 2) && tb_ev_is_vm(t)))
			bits |= 1u << t;
	return bits;
}

static int parse_events(struct env *env, const char *arg)
{
	char known[512];
	const char *p = arg, *end;
	size_t off = 0;

	for (;; p = end + 1) {
		uint32_t bits;

		end = p + strcspn(p, ",");
		bits = event_bits(p, end - p);
		if (!bits)
			break;
		env->filter.events |= bits;
		if (!*end)
			return 0;
	}
	for (int t = TB_EV_MALLOC; t < TB_EV_MAX; t++)
		if (tb_ev_is_row(t))	/* a thread's name is a column, never a row of its own */
			off += snprintf(known + off, sizeof(known) - off, "%s, ", tb_event_name(t));
	snprintf(known + off, sizeof(known) - off, "alloc or vm");
	fprintf(stderr, "tlsbpf: --events: no event is called '%.*s': choose from %s\n",
		(int)(end - p), p, known);
	return -EINVAL;
}

/* --filter-pid/--filter-tid: PID[,PID...], repeatable, up to TB_FILTER_IDS in all. */
static int parse_ids(const char *opt, const char *arg, uint32_t *ids, int *n)
{
	const char *p = arg;
	char *end;
	unsigned long v;

	for (;;) {
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || end == p || *p == '-' || *p == '+' || !v || v > 0x7fffffff ||
		    (*end && *end != ','))
			break;
		if (*n == TB_FILTER_IDS) {
			fprintf(stderr, "tlsbpf: %s: at most %d ids in all\n", opt, TB_FILTER_IDS);
			return -EINVAL;
		}
		ids[(*n)++] = v;
		if (!*end)
			return 0;
		p = end + 1;
	}
	fprintf(stderr, "tlsbpf: %s wants ids, as in 1234 or 1234,1240, not '%s' "
			"(see 'tlsbpf --help')\n", opt, arg);
	return -EINVAL;
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
	case TB_OPT_COMM:
		if (env->ncomms == TB_MAX_COMMS)
			return usage_error("too many --comm options (at most %s)", "8");
		if (!*arg || strlen(arg) > 15)
			return usage_error("--comm wants a thread name of 1 to 15 bytes, not '%s'", arg);
		env->comms[env->ncomms++] = arg;
		return 0;
	case TB_OPT_LIVE: env->live = true; return 0;
	case TB_OPT_EVENTS: return parse_events(env, arg);
	case TB_OPT_FILTER_PID:
		return parse_ids("--filter-pid", arg, env->filter.pids, &env->filter.npids);
	case TB_OPT_FILTER_TID:
		return parse_ids("--filter-tid", arg, env->filter.tids, &env->filter.ntids);
	case TB_OPT_DURATION: return parse_duration(env, arg);
	case 'q': env->quiet = true; return 0;
	case 'o': env->live_path = arg; return 0;
	case TB_OPT_CSV: env->csv_path = arg; return 0;
	case TB_OPT_JSON_LINES: env->json_lines_path = arg; return 0;
	case TB_OPT_SUMMARY: env->summary_path = arg; return 0;
	case TB_OPT_SUMMARY_JSON: env->summary_json_path = arg; return 0;
	case TB_OPT_REPORT: env->report_md_path = arg; return 0;
	case TB_OPT_HTML: env->html_path = arg; return 0;
	case TB_OPT_PERFETTO: env->perfetto_path = arg; return 0;
	case TB_OPT_PPROF: env->pprof_path = arg; return 0;
	case TB_OPT_FOLDED: env->folded_path = arg; return 0;
	case TB_OPT_TOP: return parse_top(env, arg);
	case TB_OPT_LIB:
		if (env->nlibs == TB_MAX_USER_LIBS)
			return usage_error("too many --lib options (at most %s)", "16");
		env->libs[env->nlibs++] = arg;
		return 0;
	case TB_OPT_RINGBUF: return parse_ringbuf(env, arg);
	case 'u': env->user = arg; return 0;
	case TB_OPT_AS_ROOT: env->as_root = true; return 0;
	case TB_OPT_EMPTY: env->empty_probes = true; return 0;
	case TB_OPT_AT_ENTRY: env->probe_at_entry = true; return 0;
	case TB_OPT_CONFINE: env->confine = true; return 0;
	case TB_OPT_NO_CONFINE: env->no_confine = true; return 0;
	case TB_OPT_SAMPLE: return parse_sample(env, arg);
	case TB_OPT_SAMPLE_BY: return parse_sample_by(env, arg);
	case TB_OPT_SAMPLE_WINDOW: return parse_sample_window(env, arg);
	case TB_OPT_PAGES: return parse_pages(env, arg);
	case TB_OPT_STACK_DEPTH: return parse_stack_depth(env, arg);
	case TB_OPT_NO_STACKS:
		env->stack_depth = 0;
		env->stack_depth_given = true;
		return 0;
	case TB_OPT_NO_FREE_STACKS: env->no_free_stacks = true; return 0;
	case TB_OPT_STACKS: return parse_stacks(env, arg);
	case TB_OPT_DEBUGINFOD: env->debuginfod = true; return 0;
	case 'v': env->verbose = true; return 0;
	case 'h': fputs(usage, stdout); return 1;
	case 'V': printf("tlsbpf %s\n", TLSBPF_VERSION); return 1;
	default: return -EINVAL;	/* getopt already said what was wrong */
	}
}

const char *env__output_path(const struct env *env, const struct env_output *o)
{
	return *(const char *const *)((const char *)env + o->field);
}

const char *env__stdout_output(const struct env *env)
{
	for (const struct env_output *o = env_outputs; o->option; o++) {
		const char *path = env__output_path(env, o);

		if (o->field != offsetof(struct env, live_path) && path && !strcmp(path, "-"))
			return o->option;
	}
	return NULL;
}

/* Two outputs interleaved on stdout would make both unreadable. */
static int check_stdout(const struct env *env)
{
	const char *first = NULL, *path;

	for (const struct env_output *o = env_outputs; o->option; o++) {
		path = env__output_path(env, o);
		if (!path || strcmp(path, "-"))
			continue;
		if (first) {
			fprintf(stderr, "tlsbpf: %s - and %s - both write to stdout: give one of "
					"them a FILE\n", first, o->option);
			return -EINVAL;
		}
		first = o->option;
	}
	return 0;
}

/* An option analyze has no use for is refused rather than silently ignored. */
static int check_analyze_opt(int opt, int longindex)
{
	char name[32];

	for (size_t i = 0; i < sizeof(analyze_opts) / sizeof(analyze_opts[0]); i++)
		if (analyze_opts[i] == opt)
			return 0;
	if (longindex >= 0)
		snprintf(name, sizeof(name), "--%s", long_opts[longindex].name);
	else
		snprintf(name, sizeof(name), "-%c", opt);
	fprintf(stderr, "tlsbpf: analyze: %s is for watching programs, not for reading a CSV "
			"back: drop it\n", name);
	return -EINVAL;
}

static int check_operands(struct env *env)
{
	if (check_stdout(env))
		return -EINVAL;
	if (env->analyze) {
		if (env->argc != 1)
			return usage_error("analyze wants one CSV file%s", "");
		return 0;
	}
	if ((env->argc > 0) + (env->npid_lists > 0) + env->all > 1)
		return usage_error("give one of a command, -p or -a%s", "");
	if (env->confine && env->all)
		return usage_error("--confine is for a launched command or -p, not -a%s", "");
	if (env->no_confine && env->all)
		return usage_error("--no-confine is for a launched command or -p, not -a%s", "");
	if (env->confine && env->no_confine)
		return usage_error("--confine and --no-confine contradict each other%s", "");
	if (env->ncomms && !env->all)
		return usage_error("--comm goes with -a%s", "");
	/* the call site alone by default; outputs made of whole stacks, and dwarf, want callers */
	if (!env->stack_depth_given && (env->stacks_mode == TB_STACKS_DWARF || env->pprof_path ||
					env->folded_path || env->html_path))
		env->stack_depth = TB_WHOLE_STACK;
	if (!env->stack_depth && env->stacks_mode == TB_STACKS_DWARF)
		return usage_error("--stacks=dwarf finds call stacks, which %s keeps none of",
				   "--no-stacks");
	if (!env->stack_depth && (env->pprof_path || env->folded_path))
		return usage_error("--pprof and --folded are made of call stacks, which %s keeps none "
				   "of", "--no-stacks");
	if ((env->sample_by_time || env->sample_window_ms) && env->sample < 2)
		return usage_error("--sample-by time and --sample-window go with --sample N (N "
				   "from 2)%s", "");
	if (env->sample_window_ms && !env->sample_by_time)
		return usage_error("--sample-window goes with --sample-by time%s", "");
	if (env->npid_lists || env->all)
		return 0;
	if (env->argc == 0)
		return usage_error("no command given: put it after '--', as in 'tlsbpf -- ./prog'%s",
				   "");
	if (env->user && env->as_root)
		return usage_error("--user and --as-root contradict each other%s", "");
	if (env->quiet && env->live_path)
		return usage_error("-q turns off the live view that -o '%s' would write", env->live_path);
	return 0;
}

int env__parse(struct env *env, int argc, char **argv)
{
	int opt, err, longindex = -1;

	memset(env, 0, sizeof(*env));
	env->ringbuf_mb = 32;
	env->top = TB_TOP_DEFAULT;
	env->stack_depth = TB_DEF_STACK;
	if (argc > 1 && strcmp(argv[1], "analyze") == 0) {
		env->analyze = true;
		argc--;
		argv++;
	}
	optind = 1;
	opterr = 0;
	/* '+': stop at the command's first word, so its own options stay its own */
	while ((opt = getopt_long(argc, argv, "+:p:aqo:u:vhV", long_opts, &longindex)) != -1) {
		if (opt == '?' || opt == ':') {
			if (optopt && optopt < 256)
				return usage_error(opt == ':' ? "option '-%c' needs a value"
							      : "unknown option '-%c'",
						   (char[]){ (char)optopt, 0 });
			return usage_error(opt == ':' ? "option '%s' needs a value"
						      : "unknown option '%s'",
					   argv[optind - 1]);
		}
		err = env->analyze ? check_analyze_opt(opt, longindex) : 0;
		if (!err)
			err = parse_one(env, opt, optarg);
		if (err)
			return err;
		longindex = -1;
	}
	env->argv = argv + optind;
	env->argc = argc - optind;
	return check_operands(env);
}
