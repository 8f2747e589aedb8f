/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* parload.h: one BPF program verified on a thread of its own while libbpf loads the others. */
#ifndef TLSBPF_PARLOAD_H
#define TLSBPF_PARLOAD_H

#include <stdbool.h>
#include <bpf/libbpf.h>

/* Once per process, before any object is opened: the section whose programs may go aside. */
int parload__register(const char *sec, enum bpf_prog_type type);
/* Before bpf_object__load(): the program of that name is loaded aside. */
void parload__arm(const char *name, const char *license, bool verbose);
/*
 * After bpf_object__load(), whatever it returned (loaded: it succeeded): waits for the
 * program loaded aside and, if loaded, gives its fd prog's number; 0, or -errno if it
 * failed to load (after a failed object load, which closes the maps it names, maybe
 * only because of that).
 */
int parload__finish(struct bpf_program *prog, bool loaded);

#endif
