/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* report_sites.h: the reports' allocation sites and bad frees, each stack named by its call site. */
#ifndef TB_REPORT_SITES_H
#define TB_REPORT_SITES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "report.h"

enum site_rank { SITE_BY_BYTES, SITE_BY_BLOCKS, SITE_BY_LIVE, SITE_NRANKS };

/* The stack ids that allocated, ranked; at most top (0: all). *n set; NULL (n 0) if none. */
uint32_t *report_sites__ranked(const struct tb_run_info *run, enum site_rank by, uint32_t *n);
/* The same, with *all the count before the cut: v holds all of them, the first *n shown. */
uint32_t *report_sites__ranked_all(const struct tb_run_info *run, enum site_rank by, uint32_t *n,
				   uint32_t *all);
/* The name of a stack's call site: "function (file:line)", else "module+0xoffset". */
void report_sites__name(const struct tb_run_info *run, uint32_t stack, char *buf, size_t cap);
/* The name of the rank's list, and of the key it ranks by. */
const char *report_sites__title(enum site_rank by);
const char *report_sites__key(enum site_rank by);
/*
 * The flag a bad free is listed for: "cross_thread", "inherited", "double_free",
 * "invalid_free", "mismatched_free".
 */
const char *report_sites__bad_kind(uint32_t flags);

/* The text report's sites and bad frees. */
void report_sites__text(const struct tb_run_info *run, FILE *out);

#endif
