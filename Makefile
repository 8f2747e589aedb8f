# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# tlsbpf: eBPF allocator observer. `make` builds, `sudo make demo` shows it, `sudo make test` checks it.
# `make test SANITIZE=1` builds and tests under AddressSanitizer and UBSan, in .output/sanitize.
SANITIZE ?=
ifeq ($(SANITIZE),1)
OUTPUT ?= .output/sanitize
BIN := $(OUTPUT)/tlsbpf
else
OUTPUT ?= .output
BIN := tlsbpf
endif
PREFIX ?= /usr/local
DESTDIR ?=
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION := 0.1.0

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS ?= -O2 -g
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif
WARN := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
INCLUDES := -I$(OUTPUT) -Iuser -Iuser/out -Ibpf
# libdw reads debug info for the symbolizer; libiberty (static) demangles C++ names.
SYM_LIBS := -ldw -lelf -lz -liberty
LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz) -lelf -lcapstone $(SYM_LIBS) -lpthread
ALL_CFLAGS := -D_GNU_SOURCE $(CPPFLAGS) $(CFLAGS) $(WARN) $(INCLUDES) -DTLSBPF_VERSION='"$(VERSION)"' -MMD -MP

# Modules that need no BPF (the unit tests link these) and the ones that drive the kernel side.
CORE_SRCS := event idmap tables registry arena pages faults forkexec correlate placement dwarf_index \
	symbols procmaps procstat stacks stacktab unwind sites out/stacks_write out/stacks_read out/prof_frame \
	out/folded out/pprof out/report out/report_md out/report_sites out/report_prof out/html \
	out/html_map out/html_grid out/html_chart out/html_flame out/html_sites out/perfetto \
	out/history out/series out/report_files out/csv_write out/csv_read out/jsonl out/live \
	out/outfile
LOADER_SRCS := env libc_resolve kfeatures signals release perfprobe pidprobe confine parload loader launcher attach probe_policy decode consumer pipeline timesample session analyze main
CORE_OBJS := $(CORE_SRCS:%=$(OUTPUT)/user/%.o)
LOADER_OBJS := $(LOADER_SRCS:%=$(OUTPUT)/user/%.o)

LABS := $(patsubst %.c,%,$(wildcard labs/08*.c))
PROGS := $(patsubst tests/progs/%.c,$(OUTPUT)/progs/%,$(filter-out tests/progs/tp_stacks.c,$(wildcard tests/progs/*.c)))
# tp_stacks twice, as the stacks it reports must come out of either: with frame pointers at -O0,
# and at -O2 without them; -fno-plt, so it can find its own calls of malloc and free
STACKS_fp_CFLAGS := -O0 -g -fno-omit-frame-pointer -fno-plt -pthread -fno-builtin -Wall -Wextra
STACKS_nofp_CFLAGS := -O2 -g -fomit-frame-pointer -fno-plt -pthread -fno-builtin -Wall -Wextra
STACK_PROGS := $(foreach v,fp nofp,$(OUTPUT)/progs/tp_stacks_$(v) $(OUTPUT)/progs/tp_stacks_lib_$(v).so)
# tp_cxx: C++'s operators, -fno-plt as tp_stacks, -fno-builtin so no new/delete pair is elided
CXX_PROGS := $(OUTPUT)/progs/tp_cxx
CXX_PROG_FLAGS := -O1 -g -fno-omit-frame-pointer -fno-plt -pthread -fno-builtin \
	-fsized-deallocation -Wall -Wextra -Wno-use-after-free
SHIMS := $(patsubst tests/shims/%.c,$(OUTPUT)/progs/%.so,$(wildcard tests/shims/*.c))
UNIT := $(patsubst tests/unit/%.c,$(OUTPUT)/unit/%,$(wildcard tests/unit/test_*.c))
BENCH := $(patsubst bench/%.c,$(OUTPUT)/bench/%,$(filter-out bench/symbolize.c,$(wildcard bench/*.c))) \
	$(OUTPUT)/bench/symbolize $(OUTPUT)/bench/newdelete
PROG_CFLAGS := -O1 -g -pthread -fno-builtin -Wall -Wextra

.DELETE_ON_ERROR:
.PHONY: all deps test-deps bench-deps labs lab-pictures progs unit test test-vm demo bench install uninstall deb deb-check clean

all: $(BIN) labs progs $(BENCH)

deps:
	$(Q)scripts/install-deps.sh build

test-deps:
	$(Q)scripts/install-deps.sh test

bench-deps:
	$(Q)scripts/install-deps.sh bench

# A package build has its Build-Depends already and must not run apt: NO_DEPS=1.
$(OUTPUT)/.deps-ok: scripts/install-deps.sh | $(OUTPUT)
	$(Q)[ "$(NO_DEPS)" = 1 ] || scripts/install-deps.sh build
	$(Q)touch $@

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/user/out $(OUTPUT)/progs $(OUTPUT)/unit $(OUTPUT)/bench $(OUTPUT)/syms:
	$(Q)mkdir -p $@

# CO-RE needs the running kernel's types when it has them; the committed copy serves otherwise.
$(OUTPUT)/vmlinux.h: | $(OUTPUT)/.deps-ok
	$(call msg,GEN,$@)
	$(Q)if [ -r /sys/kernel/btf/vmlinux ] && $(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp 2>/dev/null; \
	then mv $@.tmp $@; else rm -f $@.tmp; cp vmlinux/$(ARCH)/vmlinux.h $@; fi

# -mcpu=v3: the allocation ring's compare-and-swap is a BPF v3 atomic (kernel 5.12 on, below our 5.15 floor).
$(OUTPUT)/tlsbpf.bpf.o: bpf/tlsbpf.bpf.c bpf/tlsbpf.h $(OUTPUT)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -I$(OUTPUT) -Ibpf -c $< -o $@

$(OUTPUT)/tlsbpf.skel.h: $(OUTPUT)/tlsbpf.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name tlsbpf_bpf > $@

$(OUTPUT)/user/%.o: user/%.c | $(OUTPUT)/user $(OUTPUT)/user/out $(OUTPUT)/.deps-ok
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# The loader needs the skeleton before it compiles.
$(OUTPUT)/user/loader.o: $(OUTPUT)/tlsbpf.skel.h

$(BIN): $(CORE_OBJS) $(LOADER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

labs: $(LABS)

# The labs' pictures in docs/labs/ from real runs (root, Chromium): `sudo make lab-pictures`.
lab-pictures: $(BIN) $(LABS)
	$(Q)scripts/lab-pictures.sh

labs/%: labs/%.c $(wildcard labs/*.h) | $(OUTPUT)/.deps-ok
	$(call msg,CC,$@)
	$(Q)$(CC) $(PROG_CFLAGS) $< -o $@ -ldl

progs: $(PROGS) $(SHIMS) $(STACK_PROGS) $(CXX_PROGS)

$(OUTPUT)/progs/tp_%: tests/progs/tp_%.cc | $(OUTPUT)/progs
	$(call msg,CXX,$@)
	$(Q)$(CXX) $(CXX_PROG_FLAGS) $< -o $@ -ldl

$(OUTPUT)/progs/tp_stacks_%: tests/progs/tp_stacks.c | $(OUTPUT)/progs
	$(call msg,CC,$@)
	$(Q)$(CC) $(STACKS_$*_CFLAGS) $< -o $@ -ldl

$(OUTPUT)/progs/tp_stacks_lib_%.so: tests/progs/tp_stacks.c | $(OUTPUT)/progs
	$(call msg,CC,$@)
	$(Q)$(CC) $(STACKS_$*_CFLAGS) -DTP_STACKS_LIB -shared -fPIC $< -o $@

$(OUTPUT)/progs/%: tests/progs/%.c $(wildcard tests/progs/*.h) | $(OUTPUT)/progs
	$(call msg,CC,$@)
	$(Q)$(CC) $(PROG_CFLAGS) $< -o $@ -ldl

# libraries the tests preload into tlsbpf to stand in for another kernel
$(OUTPUT)/progs/%.so: tests/shims/%.c $(wildcard tests/shims/*.h) | $(OUTPUT)/progs
	$(call msg,CC,$@)
	$(Q)$(CC) $(PROG_CFLAGS) -shared -fPIC $< -o $@ -ldl

unit: $(UNIT)

# The test's own source and the objects: a .c its .d lists was #included, not linked.
$(OUTPUT)/unit/%: tests/unit/%.c $(CORE_OBJS) $(OUTPUT)/user/env.o | $(OUTPUT)/unit
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< $(filter %.o,$^) -lcapstone $(SYM_LIBS) -o $@

# The symbolizer's test asks about call sites whose lines these programs know: built with
# inlining (-O2, position-independent) and without (-O0, at fixed addresses), and a library.
SYMS := $(OUTPUT)/syms/sites-O2 $(OUTPUT)/syms/sites-O0 $(OUTPUT)/syms/libsites.so
$(OUTPUT)/unit/test_symbols $(OUTPUT)/unit/test_prof_frame: $(SYMS)

$(OUTPUT)/syms/sites-O2: tests/syms/sites.c tests/syms/sites.h | $(OUTPUT)/syms
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -fno-builtin -Wall -Wextra $< -o $@ -ldl

$(OUTPUT)/syms/sites-O0: tests/syms/sites.c tests/syms/sites.h | $(OUTPUT)/syms
	$(call msg,CC,$@)
	$(Q)$(CC) -O0 -g -no-pie -fno-builtin -Wall -Wextra $< -o $@ -ldl

$(OUTPUT)/syms/libsites.so: tests/syms/sites_lib.c tests/syms/sites.h | $(OUTPUT)/syms
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -fno-builtin -Wall -Wextra -shared -fPIC $< -o $@

# Everything a test needs, then the suite: unit tests always, BPF tests as root.
test: all unit
	$(Q)scripts/install-deps.sh test
	$(Q)OUTPUT=$(OUTPUT) TLSBPF=./$(BIN) TLSBPF_SANITIZE=$(SANITIZE) tests/run

# The same tests on Debian 12's own kernels, each booted under qemu (tests/vm/).
test-vm: all unit
	$(Q)scripts/install-deps.sh vm
	$(Q)OUTPUT=$(OUTPUT) TLSBPF=./$(BIN) tests/vm/test.sh $(KERNELS)

demo: all
	@echo '$$ ./tlsbpf --csv $(OUTPUT)/demo.csv -- ./labs/08c_fork_inject'
	$(Q)./tlsbpf --csv $(OUTPUT)/demo.csv -- ./labs/08c_fork_inject

$(OUTPUT)/bench/%: bench/%.c | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(PROG_CFLAGS) -O2 $< -o $@

$(OUTPUT)/bench/newdelete: bench/newdelete.cc | $(OUTPUT)/bench
	$(call msg,CXX,$@)
	$(Q)$(CXX) -O2 -g -pthread -fno-builtin -fno-omit-frame-pointer -Wall -Wextra $< -o $@

# the symbolizer's benchmark links the symbolizer itself
SYMBOLIZE_OBJS := $(patsubst %,$(OUTPUT)/user/%.o,symbols dwarf_index procmaps out/prof_frame out/pprof \
	out/folded out/outfile)
$(OUTPUT)/bench/symbolize: bench/symbolize.c $(SYMBOLIZE_OBJS) | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< $(SYMBOLIZE_OBJS) $(SYM_LIBS) -o $@

# the same workload with frame pointers: a stack walk then has every frame to go through
$(OUTPUT)/bench/workload_fp: bench/workload.c | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(PROG_CFLAGS) -O2 -fno-omit-frame-pointer $< -o $@

bench: all $(BENCH) $(OUTPUT)/bench/workload_fp
	$(Q)scripts/install-deps.sh bench
	$(Q)bench/run

# What a package or `make install` puts where Debian keeps it: the tool, its manual page and
# completion, the docs, and the labs (programs in lib/tlsbpf/labs, sources beside their reports).
BINDIR := $(DESTDIR)$(PREFIX)/bin
MANDIR := $(DESTDIR)$(PREFIX)/share/man/man1
COMPDIR := $(DESTDIR)$(PREFIX)/share/bash-completion/completions
DOCDIR := $(DESTDIR)$(PREFIX)/share/doc/tlsbpf
LABDIR := $(DESTDIR)$(PREFIX)/lib/tlsbpf/labs
DOCS := README.md $(filter-out docs/tlsbpf.1,$(wildcard docs/*.md))

install: $(BIN) labs
	install -d $(BINDIR) $(MANDIR) $(COMPDIR) $(DOCDIR)/labs $(LABDIR)
	install -m 0755 $(BIN) $(BINDIR)/tlsbpf
	gzip -9n <docs/tlsbpf.1 >$(MANDIR)/tlsbpf.1.gz
	chmod 0644 $(MANDIR)/tlsbpf.1.gz
	install -m 0644 completions/tlsbpf.bash $(COMPDIR)/tlsbpf
	install -m 0644 $(DOCS) $(DOCDIR)
	install -m 0644 docs/labs/* labs/*.c $(wildcard labs/*.h) $(DOCDIR)/labs
	install -m 0755 $(LABS) $(LABDIR)

uninstall:
	rm -f $(BINDIR)/tlsbpf $(MANDIR)/tlsbpf.1.gz $(COMPDIR)/tlsbpf
	rm -rf $(DOCDIR) $(DESTDIR)$(PREFIX)/lib/tlsbpf

# The Debian package, from debian/, into $(OUTPUT)/deb: `make deb`.
deb:
	$(Q)scripts/install-deps.sh deb
	$(Q)dpkg-buildpackage -us -uc -b
	$(Q)mkdir -p $(OUTPUT)/deb
	$(Q)mv ../tlsbpf_$(VERSION)_*.deb ../tlsbpf_$(VERSION)_*.buildinfo ../tlsbpf_$(VERSION)_*.changes \
		$(wildcard ../tlsbpf-dbgsym_$(VERSION)_*.deb) $(OUTPUT)/deb/
	$(Q)ls $(OUTPUT)/deb/*.deb

# The package judged by lintian, unpacked and run: what CI checks of it.
deb-check:
	$(Q)scripts/install-deps.sh deb
	$(Q)OUTPUT=$(OUTPUT) scripts/check-deb.sh

clean:
	$(call msg,CLEAN,)
	$(Q)rm -rf $(OUTPUT) tlsbpf $(LABS)

-include $(wildcard $(OUTPUT)/user/*.d $(OUTPUT)/user/out/*.d $(OUTPUT)/unit/*.d)

# The labs built against musl, to compare its allocator with glibc's: `make labs-musl`.
MUSL_CC ?= musl-gcc
MUSL_LABS := $(patsubst labs/%.c,$(OUTPUT)/musl/%,$(wildcard labs/08*.c))

.PHONY: labs-musl
labs-musl: $(MUSL_LABS)

$(OUTPUT)/musl/%: labs/%.c $(wildcard labs/*.h)
	$(call msg,MUSL-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(MUSL_CC) -O1 -pthread -fno-builtin $< -o $@
