/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* html_sites.h: each stack_id's frames as the pictures name them, from the run's stack table. */
#ifndef TB_HTML_SITES_H
#define TB_HTML_SITES_H

#include <stddef.h>
#include <stdint.h>

struct tb_sites;
struct stacktab;

/* NULL with errno set. */
struct tb_sites *html_sites__new(void);
void html_sites__free(struct tb_sites *s);
/* stack_id's frame labels, innermost first (copied); 0 or -ENOMEM. */
int html_sites__set(struct tb_sites *s, uint32_t stack_id, const char *const *labels, int n);
/* stack_id's labels into *labels; returns how many (0: none known). A frame never given is NULL. */
int html_sites__get(const struct tb_sites *s, uint32_t stack_id, const char *const **labels);
/*
 * Every stack of the run's table (a live run's, or the one analyze read from
 * the stacks file), each frame labelled as the reports name it
 * (stacktab__frame_name); 0 or -ENOMEM.
 */
int html_sites__from_tab(struct tb_sites *s, struct stacktab *t);

#endif
