// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_symbols.c: the symbolizer against the truth of the programs it symbolizes (each call
 * site prints its own __LINE__ and return address) and of elfutils' eu-addr2line at the same
 * addresses: with inlining and without, a shared library, a stripped copy with its
 * .gnu_debuglink, a build-id debug directory, a replaced and a deleted file, and no network.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "symbols.h"

#define MAX_SITES 16
#define MAX_LINES 8

struct site { /* what a site said of itself */
	char func[128], module[4096];
	int line, call_line;
	unsigned long offset, vaddr;
};

struct chain { /* one answer: eu-addr2line's or ours */
	int n;
	char func[MAX_LINES][256], file[MAX_LINES][4096];
	int line[MAX_LINES];
};

static const char *output_dir;
static char tmpdir[] = "/tmp/tlsbpf-test-symbols.XXXXXX";

/* A shell command the test needs (objcopy, cp): a failure ends the test. */
__attribute__((format(printf, 1, 2))) static void run(const char *fmt, ...)
{
	char cmd[16384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0) {
		printf("not ok - could not run: %s\n", cmd);
		exit(1);
	}
}

/* The first line of a shell command's output. */
static void capture(char *buf, size_t len, const char *fmt, const char *arg)
{
	char cmd[8192];
	FILE *p;

	snprintf(cmd, sizeof(cmd), fmt, arg);
	p = popen(cmd, "r");
	buf[0] = '\0';
	if (p && fgets(buf, len, p))
		buf[strcspn(buf, "\n")] = '\0';
	if (p)
		pclose(p);
}

/* The build-id of FILE as binutils' readelf reads it. */
static void build_id_of(const char *file, char *hex, size_t len)
{
	capture(hex, len, "readelf -n '%s' | awk '/Build ID:/ {print $3; exit}'", file);
}

static int run_sites(const char *prog, struct site *sites)
{
	char cmd[8192], line[8192];
	FILE *p;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "%s %s/syms/libsites.so", prog, output_dir);
	p = popen(cmd, "r");
	while (p && n < MAX_SITES && fgets(line, sizeof(line), p)) {
		struct site *s = &sites[n];

		if (sscanf(line, "%127s %d %d %4095s %lx %lx", s->func, &s->line, &s->call_line,
			   s->module, &s->offset, &s->vaddr) == 6)
			n++;
	}
	if (p)
		pclose(p);
	return n;
}

/* TOOL (eu-addr2line -A or binutils' addr2line) -C -f -i at address vaddr. */
static void symbolizer(const char *tool, const char *file, unsigned long vaddr, struct chain *c)
{
	char cmd[8192], buf[8192];
	FILE *p;
	int i = 0;

	snprintf(cmd, sizeof(cmd), "%s -C -f -i -e '%s' %#lx", tool, file, vaddr);
	p = popen(cmd, "r");
	c->n = 0;
	while (p && c->n < MAX_LINES && fgets(buf, sizeof(buf), p)) {
		buf[strcspn(buf, "\n")] = '\0';
		if (i++ % 2 == 0) {
			/* "inner2 inlined at FILE:LINE in outer2": the name is the first word */
			char *cut = strstr(buf, " inlined at ");

			if (cut)
				*cut = '\0';
			snprintf(c->func[c->n], sizeof(c->func[0]), "%.255s", buf);
		} else {
			char *colon = strchr(buf, ':');

			c->line[c->n] = colon ? atoi(colon + 1) : 0;
			if (colon)
				*colon = '\0';
			snprintf(c->file[c->n], sizeof(c->file[0]), "%.4095s", buf);
			c->n++;
		}
	}
	if (p)
		pclose(p);
}

/* eu-addr2line at the call instruction (return address - 1). */
static void addr2line(const char *file, unsigned long vaddr, struct chain *c)
{
	symbolizer("eu-addr2line -A", file, vaddr - 1, c);
}

static void to_chain(const struct sym_result *r, struct chain *c)
{
	int i;

	c->n = r->n < MAX_LINES ? r->n : MAX_LINES;
	for (i = 0; i < c->n; i++) {
		snprintf(c->func[i], sizeof(c->func[0]), "%s",
			 r->lines[i].function ? r->lines[i].function : "??");
		snprintf(c->file[i], sizeof(c->file[0]), "%s",
			 r->lines[i].file ? r->lines[i].file : "??");
		c->line[i] = r->lines[i].line;
	}
}

static int chains_equal(const struct chain *a, const struct chain *b)
{
	int i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->func[i], b->func[i]) || strcmp(a->file[i], b->file[i]) ||
		    a->line[i] != b->line[i])
			return 0;
	return 1;
}

static void print_chain(const char *who, const struct chain *c)
{
	int i;

	for (i = 0; i < c->n; i++)
		printf("#   %s[%d] %s %s:%d\n", who, i, c->func[i], c->file[i], c->line[i]);
}

/* Our answer for a site, as a chain; flags into *flags. */
static void resolve(struct symbols *s, const char *module, const char *bid, unsigned long offset,
		    struct chain *c, unsigned int *flags)
{
	struct sym_result r;
	int err = symbols__resolve(s, module, bid, offset, true, &r);

	if (err)
		printf("# symbols__resolve: %s\n", strerror(-err));
	to_chain(&r, c);
	if (flags)
		*flags = r.flags;
}

static const char *base(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

static struct symbols *new_symbols(const char *root)
{
	struct symbols_opts o = { .debug_root = root };
	struct symbols *s = symbols__new(&o);

	if (!s) {
		printf("not ok - symbols__new: %s\n", strerror(errno));
		exit(1);
	}
	return s;
}

/* Every site of one build: our chain against the site's own lines and against eu-addr2line. */
static int check_build(const char *prog, int inlined, struct site *sites, struct chain *ours)
{
	struct symbols *s = new_symbols(tmpdir);
	int n = run_sites(prog, sites), i, chains = 0;

	CHECK(n == 6, "%s: 6 sites ran (%d)", base(prog), n);
	for (i = 0; i < n; i++) {
		struct site *st = &sites[i];
		struct chain theirs, *c = &ours[i];
		char bid[256];
		const char *want_file = strstr(st->module, "libsites") ? "sites_lib.c" : "sites.c";

		build_id_of(st->module, bid, sizeof(bid));
		resolve(s, st->module, bid, st->offset, c, NULL);
		addr2line(st->module, st->vaddr, &theirs);
		CHECK(c->n >= 1 && strcmp(c->func[0], st->func) == 0 && c->line[0] == st->line &&
			      strcmp(base(c->file[0]), want_file) == 0,
		      "%s %s: %s at %s:%d (the site says %s:%d)", base(prog), st->func, c->func[0],
		      base(c->file[0]), c->line[0], want_file, st->line);
		if (st->call_line && (inlined || c->n >= 2))
			CHECK(c->n >= 2 && c->line[1] == st->call_line,
			      "%s %s: inlined at line %d of its caller (the site says %d)", base(prog),
			      st->func, c->n >= 2 ? c->line[1] : 0, st->call_line);
		chains += c->n > 1;
		CHECK(chains_equal(c, &theirs), "%s %s: %d functions, as eu-addr2line -f -i says",
		      base(prog), st->func, c->n);
		if (!chains_equal(c, &theirs)) {
			print_chain("ours", c);
			print_chain("eu-addr2line", &theirs);
		}
	}
	if (inlined)
		CHECK(chains >= 3, "%s: %d sites inlined into callers", base(prog), chains);
	else
		CHECK(chains == 1, "%s: only the library's site (built -O2) inlined (%d)", base(prog),
		      chains);
	symbols__free(s);
	return n;
}

static void path_in_tmp(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* Each site of the main program in file, by its offsets, against the original's chains. */
static void check_same(struct symbols *s, const char *file, const char *bid, const struct site *sites,
		       const struct chain *want, int n, const char *what, unsigned int want_flags)
{
	int i, same = 0, total = 0;
	unsigned int flags = 0, all = 0;

	for (i = 0; i < n; i++) {
		struct chain c;

		if (strstr(sites[i].module, "libsites"))
			continue;
		resolve(s, file, bid, sites[i].offset, &c, &flags);
		all |= flags;
		total++;
		same += chains_equal(&c, &want[i]);
		if (!chains_equal(&c, &want[i]))
			print_chain(what, &c);
	}
	CHECK(total == 4 && same == total, "%s: %d of %d sites resolve as the original", what, same,
	      total);
	CHECK(all == want_flags, "%s: flags %#x (want %#x)", what, all, want_flags);
}

/* A stripped copy finds its DWARF through .gnu_debuglink, or Debian's build-id directory. */
static void check_debug_files(const char *prog, const char *bid, const struct site *sites,
			      const struct chain *want, int n)
{
	char debug[4096], linked[4096], bare[4096], root[4096], dir[8192], demangled[512];
	struct symbols *s;
	struct sym_result r;
	int i;

	path_in_tmp(debug, sizeof(debug), "sites.debug");
	path_in_tmp(linked, sizeof(linked), "sites.linked");
	path_in_tmp(bare, sizeof(bare), "sites.bare");
	run("objcopy --only-keep-debug '%s' '%s'", prog, debug);
	run("objcopy --strip-debug --add-gnu-debuglink='%s' '%s' '%s'", debug, prog, linked);
	run("objcopy --strip-debug '%s' '%s'", prog, bare);

	s = new_symbols("/nonexistent");
	check_same(s, linked, bid, sites, want, n, "stripped copy, .gnu_debuglink beside it", 0);
	symbols__free(s);

	/* no debug info anywhere: names from the symbol table, demangled as c++filt does */
	s = new_symbols("/nonexistent");
	for (i = 0; i < n && strcmp(sites[i].func, "plain_site"); i++)
		;
	symbols__resolve(s, bare, bid, sites[i].offset, true, &r);
	CHECK(r.n == 1 && r.lines[0].function && strcmp(r.lines[0].function, "plain_site") == 0 &&
		      !r.lines[0].file && (r.flags & SYM_NO_DEBUG),
	      "stripped copy, no debug file: plain_site from the symbol table, no line");
	capture(demangled, sizeof(demangled), "echo %s | c++filt", "_ZN6tlsbpf4site7mangledEi");
	for (i = 0; i < n && !strstr(sites[i].func, "::"); i++)
		;
	symbols__resolve(s, bare, bid, sites[i].offset, true, &r);
	CHECK(r.n == 1 && r.lines[0].function && strcmp(r.lines[0].function, demangled) == 0,
	      "symbol table name demangled: '%s' (c++filt: '%s')",
	      r.n ? r.lines[0].function : "", demangled);
	symbols__free(s);

	/* ROOT/.build-id/xx/rest.debug */
	path_in_tmp(root, sizeof(root), "root");
	snprintf(dir, sizeof(dir), "%s/.build-id/%.2s", root, bid);
	run("mkdir -p '%s' && cp '%s' '%s'", dir, debug, dir);
	run("mv '%s/sites.debug' '%s/%s.debug'", dir, dir, bid + 2);
	s = new_symbols(root);
	check_same(s, bare, bid, sites, want, n, "stripped copy, debug file in ROOT/.build-id", 0);
	symbols__free(s);
}

/* Debug info shared out by dwz into a file of its own, named by .gnu_debugaltlink. */
static void check_dwz(const char *prog, const char *bid, const struct site *sites,
		      const struct chain *want, int n)
{
	char a[4096], b[4096], common[4096];
	struct symbols *s;
	int i, same = 0;

	path_in_tmp(a, sizeof(a), "dwz-a");
	path_in_tmp(b, sizeof(b), "dwz-b");
	path_in_tmp(common, sizeof(common), "dwz-common.debug");
	run("cp '%s' '%s' && cp '%s' '%s' && dwz -m '%s' -M '%s' '%s' '%s'", prog, a, prog, b,
	    common, common, a, b);
	s = new_symbols("/nonexistent");
	check_same(s, a, bid, sites, want, n, "dwz: shared debug info by .gnu_debugaltlink", 0);
	symbols__free(s);

	/* and without that file the answers are not whole: the test above needed it */
	run("mv '%s' '%s.away'", common, common);
	s = new_symbols("/nonexistent");
	for (i = 0; i < n; i++) {
		struct chain c;

		if (strstr(sites[i].module, "libsites"))
			continue;
		resolve(s, a, bid, sites[i].offset, &c, NULL);
		same += chains_equal(&c, &want[i]);
	}
	CHECK(same < 4, "dwz: without the shared file, %d of 4 sites resolve whole", same);
	symbols__free(s);
}

/* A file replaced after its mapping was seen: kept, or found again by build-id, or said. */
static void check_replaced(const char *prog, const char *other, const char *bid,
			   const struct site *sites, const struct chain *want, int n)
{
	char victim[4096], gone[4096], root[4096];
	struct symbols *kept = new_symbols("/nonexistent"), *s;
	struct sym_result r;
	int fd;

	path_in_tmp(victim, sizeof(victim), "victim");
	path_in_tmp(root, sizeof(root), "root");
	run("cp '%s' '%s'", prog, victim);
	CHECK(symbols__keep(kept, victim, bid, -1) == 0, "symbols__keep of a file there");
	run("cp '%s' '%s.new' && mv -f '%s.new' '%s'", other, victim, victim, victim);
	check_same(kept, victim, bid, sites, want, n, "replaced after symbols__keep", 0);
	symbols__free(kept);

	s = new_symbols(root);
	check_same(s, victim, bid, sites, want, n, "replaced, debug file by build-id",
		   SYM_NOT_AT_PATH | SYM_GUESSED_OFFSET);
	symbols__free(s);

	s = new_symbols("/nonexistent");
	symbols__resolve(s, victim, bid, sites[0].offset, true, &r);
	CHECK(r.n == 0 && r.flags == (SYM_NOT_AT_PATH | SYM_NO_FILE),
	      "replaced, no debug file: nothing, and said (flags %#x)", r.flags);
	symbols__free(s);

	/* deleted, with the descriptor the caller kept when it saw the mapping */
	path_in_tmp(gone, sizeof(gone), "gone");
	run("cp '%s' '%s'", prog, gone);
	fd = open(gone, O_RDONLY);
	unlink(gone);
	s = new_symbols("/nonexistent");
	CHECK(symbols__keep(s, gone, bid, fd) == 0, "symbols__keep of a deleted file's descriptor");
	close(fd);
	check_same(s, gone, bid, sites, want, n, "deleted, through the kept descriptor", 0);
	symbols__free(s);
}

/* A listening socket on localhost for a debuginfod server that is not there; its port. */
static int listener(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		printf("not ok - listening socket: %s\n", strerror(errno));
		exit(1);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* Answer one request with 404, in a child; its exit status says whether one came. */
static pid_t answer_once(int fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		const char *nf = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
		char buf[4096];
		int c;

		alarm(20);
		c = accept(fd, NULL, NULL);
		if (c < 0)
			_exit(1);
		if (read(c, buf, sizeof(buf)) < 0 || write(c, nf, strlen(nf)) < 0)
			_exit(1);
		close(c);
		_exit(0);
	}
	return pid;
}

/* DEBUGINFOD_URLS set: no connection unless the caller asked for debuginfod. */
static void check_network(const char *prog, const char *bid, const struct site *sites)
{
	char url[128], bare[4096], cache[4096], dwz[4096];
	struct symbols_opts o = { .debug_root = "/nonexistent" };
	struct pollfd p;
	struct symbols *s;
	struct sym_result r;
	int port, fd = listener(&port), status = 1;
	pid_t child;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	path_in_tmp(bare, sizeof(bare), "sites.bare");
	path_in_tmp(cache, sizeof(cache), "debuginfod-cache");
	setenv("DEBUGINFOD_URLS", url, 1);
	setenv("DEBUGINFOD_CACHE_PATH", cache, 1);
	setenv("DEBUGINFOD_TIMEOUT", "10", 1);

	s = symbols__new(&o);
	symbols__resolve(s, bare, bid, sites[0].offset, true, &r);
	/* and a file whose dwz file is missing: libdw looks for that one itself */
	path_in_tmp(dwz, sizeof(dwz), "dwz-a");
	symbols__resolve(s, dwz, bid, sites[1].offset, true, &r);
	symbols__free(s);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	CHECK(poll(&p, 1, 0) == 0,
	      "DEBUGINFOD_URLS set, debuginfod not asked: no connection (no debug file, no dwz file)");

	child = answer_once(fd);
	o.debuginfod = true;
	s = symbols__new(&o);
	symbols__resolve(s, bare, bid, sites[0].offset, true, &r);
	symbols__free(s);
	/* once it has answered it ends at once, but maybe after the client has read the answer:
	 * a while for that, and if nothing came, no wait for the alarm */
	for (int i = 0; i < 500 && waitpid(child, &status, WNOHANG) == 0; i++)
		usleep(10000);
	if (kill(child, SIGKILL) == 0)
		waitpid(child, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "debuginfod asked: the server of DEBUGINFOD_URLS was asked");
	unsetenv("DEBUGINFOD_URLS");
	close(fd);
}

/* Files that are not what a mapping was: text, a cut-short ELF, none; said, never a crash. */
static void check_bad_files(const struct site *sites)
{
	struct symbols *s = new_symbols("/nonexistent");
	char text[4096], cut[4096];
	struct sym_result r;
	int err;

	path_in_tmp(text, sizeof(text), "not-elf");
	path_in_tmp(cut, sizeof(cut), "cut-elf");
	run("echo 'not an ELF file' > '%s' && head -c 200 '%s' > '%s'", text, sites[0].module, cut);
	err = symbols__resolve(s, text, "", 0x1000, true, &r);
	CHECK(err == 0 && r.n == 0 && r.flags == (SYM_NOT_AT_PATH | SYM_NO_FILE),
	      "a text file: nothing, flags %#x", r.flags);
	err = symbols__resolve(s, cut, "", sites[0].offset, true, &r);
	CHECK(err == 0 && r.n == 0 && (r.flags & SYM_NO_FILE), "an ELF file cut at 200 bytes: nothing");
	err = symbols__resolve(s, "/nonexistent/lib.so", "ab", 0x1000, true, &r);
	CHECK(err == 0 && r.n == 0 && r.flags == (SYM_NOT_AT_PATH | SYM_NO_FILE),
	      "no file there: nothing, flags %#x", r.flags);
	err = symbols__resolve(s, sites[0].module, "", 1ULL << 40, true, &r);
	CHECK(err == 0 && r.n == 0, "an offset past the file's code: nothing");
	symbols__free(s);
}

/* Cached answers, anonymous code, a build-id that is not hex. */
static void check_api(const char *bid, const struct site *sites)
{
	struct symbols *s = new_symbols("/nonexistent");
	struct sym_result a, b;
	size_t modules, cached, cached2;

	symbols__resolve(s, sites[0].module, bid, sites[0].offset, true, &a);
	symbols__stats(s, &modules, &cached);
	symbols__resolve(s, sites[0].module, bid, sites[0].offset, true, &b);
	symbols__stats(s, &modules, &cached2);
	CHECK(a.n > 0 && a.lines == b.lines && cached == 1 && cached2 == 1 && modules == 1,
	      "an offset asked twice is resolved once (cached %zu then %zu)", cached, cached2);
	symbols__resolve(s, sites[0].module, bid, sites[0].offset, false, &b);
	CHECK(b.lines != a.lines && cached2 + 1 == (symbols__stats(s, &modules, &cached), cached),
	      "the same offset as a call address is another lookup");
	CHECK(symbols__resolve(s, "[anon]", "", 0x1234, true, &a) == 0 && a.n == 0,
	      "[anon]: nothing looked up");
	CHECK(symbols__resolve(s, sites[0].module, "xyz", 1, true, &a) == -EINVAL,
	      "a build-id that is not hex: -EINVAL");
	symbols__free(s);
	check_bad_files(sites);
}

/* The executable segment of file as binutils' readelf lists it: file offset, address, size. */
static int code_segment(const char *file, unsigned long *off, unsigned long *vaddr,
			unsigned long *size)
{
	char cmd[8192], buf[512];
	FILE *p;
	int found = 0;

	snprintf(cmd, sizeof(cmd), "readelf -lW '%s' | awk '$1 == \"LOAD\" && / E /'", file);
	p = popen(cmd, "r");
	while (p && fgets(buf, sizeof(buf), p))
		found = sscanf(buf, " LOAD %lx %lx %*x %lx", off, vaddr, size) == 3;
	if (p)
		pclose(p);
	return found ? 0 : -1;
}

/*
 * Many addresses of a larger -O2 program (this test, which holds the symbolizer itself):
 * each chain against eu-addr2line's, all addresses in one eu-addr2line run.
 */
static void check_many(const char *self, int n, const char *root)
{
	struct symbols *s = new_symbols(root);
	unsigned long off, vaddr, size;
	char input[4096], cmd[16384], bid[256], line[8192];
	int i, k, same = 0, binutils = 0, padding = 0, deep = 0, shown = 0;
	struct chain *theirs;
	FILE *in, *p;

	build_id_of(self, bid, sizeof(bid));
	if (code_segment(self, &off, &vaddr, &size)) {
		CHECK(0, "readelf finds the code of %s", self);
		return;
	}
	path_in_tmp(input, sizeof(input), "addresses");
	in = fopen(input, "w");
	for (i = 0; in && i < n; i++)
		fprintf(in, "%#lx\n", vaddr + 1 + (unsigned long)i * (size - 1) / n - 1);
	if (in)
		fclose(in);
	/* -a: each answer starts with its address on a line of its own */
	snprintf(cmd, sizeof(cmd), "eu-addr2line -a -A -C -f -i -e '%s' < '%s'", self, input);
	p = popen(cmd, "r");
	theirs = calloc(n, sizeof(*theirs));
	for (i = -1, k = 0; p && theirs && fgets(line, sizeof(line), p);) {
		struct chain *c = &theirs[i >= 0 ? i : 0];

		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "0x", 2) == 0 && strlen(line) == 18) {
			if (++i >= n)
				break;
			k = 0;
		} else if (i >= 0 && k++ % 2 == 0) {
			char *cut = strstr(line, " inlined at ");

			if (cut)
				*cut = '\0';
			snprintf(c->func[c->n], sizeof(c->func[0]), "%.255s", line);
		} else if (i >= 0 && c->n < MAX_LINES) {
			char *colon = strchr(line, ':');

			c->line[c->n] = colon ? atoi(colon + 1) : 0;
			if (colon)
				*colon = '\0';
			snprintf(c->file[c->n++], sizeof(c->file[0]), "%.4095s", line);
		}
	}
	if (p)
		pclose(p);
	for (i = 0; theirs && i < n; i++) {
		struct chain ours;

		resolve(s, self, bid, off + 1 + (unsigned long)i * (size - 1) / n, &ours, NULL);
		/* what eu-addr2line does not know it prints as "??" and "??:0" */
		if (theirs[i].n == 1 && strcmp(theirs[i].func[0], "??") == 0 &&
		    strcmp(theirs[i].file[0], "??") == 0)
			theirs[i].n = 0;
		else if (theirs[i].n == 1 && strcmp(theirs[i].file[0], "??") == 0)
			theirs[i].line[0] = 0;
		if (chains_equal(&ours, &theirs[i])) {
			same++;
		} else {
			/* where elfutils and binutils differ (inline scopes, GCC's f.isra.0 clones),
			 * binutils' answer is the other witness */
			struct chain gnu;
			unsigned long at = vaddr + (unsigned long)i * (size - 1) / n;
			int pad;

			symbolizer("addr2line", self, at, &gnu);
			binutils += chains_equal(&ours, &gnu);
			/* alignment padding after a function: no function holds it, eu-addr2line
			 * agrees ("??") but then names callers of nothing; no call returns there */
			pad = !chains_equal(&ours, &gnu) && ours.n == 1 && theirs[i].n >= 1 &&
			      strcmp(ours.func[0], "??") == 0 && strcmp(theirs[i].func[0], "??") == 0 &&
			      strcmp(ours.file[0], theirs[i].file[0]) == 0 &&
			      ours.line[0] == theirs[i].line[0];
			padding += pad;
			if (!chains_equal(&ours, &gnu) && !pad && shown++ < 3) {
				printf("# at %#lx:\n", at);
				print_chain("ours", &ours);
				print_chain("eu-addr2line", &theirs[i]);
				print_chain("addr2line", &gnu);
			}
		}
		deep += ours.n > 1;
	}
	free(theirs);
	CHECK(same + binutils + padding == n && same > n * 9 / 10,
	      "%s: %d of %d addresses as eu-addr2line -f -i says, %d more as binutils' addr2line, "
	      "%d in padding between functions", base(self), same, n, binutils, padding);
	CHECK(deep > n / 20, "%s: %d of them in inlined code", base(self), deep);
	symbols__free(s);
}

/* The C library through Debian's libc6-dbg, its debug file found by build-id, when installed. */
static void check_system_libc(void)
{
	const char *libc = "/lib/x86_64-linux-gnu/libc.so.6";
	char bid[256], debug[512];

	build_id_of(libc, bid, sizeof(bid));
	snprintf(debug, sizeof(debug), "/usr/lib/debug/.build-id/%.2s/%s.debug", bid, bid + 2);
	if (access(debug, R_OK)) {
		printf("ok %d - the C library's debug file # SKIP libc6-dbg not installed\n", ++check_n);
		return;
	}
	check_many(libc, 500, NULL);
}

int main(int argc, char **argv)
{
	struct site o2[MAX_SITES], o0[MAX_SITES];
	struct chain c2[MAX_SITES], c0[MAX_SITES];
	char prog2[4096], prog0[4096], bid[256], self[4096];
	int n;

	output_dir = getenv("OUTPUT") ? getenv("OUTPUT") : ".output";
	snprintf(prog2, sizeof(prog2), "%s/syms/sites-O2", output_dir);
	snprintf(prog0, sizeof(prog0), "%s/syms/sites-O0", output_dir);
	if (access(prog2, X_OK) || !mkdtemp(tmpdir)) {
		printf("not ok - %s not built or no temporary directory\n", prog2);
		return 1;
	}
	n = check_build(prog2, 1, o2, c2);
	check_build(prog0, 0, o0, c0);
	build_id_of(prog2, bid, sizeof(bid));
	CHECK(strlen(bid) == 40, "sites-O2 has a build-id (%s)", bid);
	check_debug_files(prog2, bid, o2, c2, n);
	check_replaced(prog2, prog0, bid, o2, c2, n);
	check_dwz(prog2, bid, o2, c2, n);
	check_network(prog2, bid, o2);
	check_api(bid, o2);
	snprintf(self, sizeof(self), "%s", "/proc/self/exe");
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	check_many(self, 2000, "/nonexistent");
	check_system_libc();
	run("rm -rf '%s'", tmpdir);
	return check_done();
}
