// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* html_sites.c: each stack_id's frames named for the pictures, from the run's stack table. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "html_sites.h"
#include "idmap.h"
#include "stacktab.h"

#define SITE_LABEL 256		/* a frame's label, at most */

struct site {
	char **label;		/* innermost first */
	int n;
};

struct tb_sites {
	struct tb_idmap ids;	/* stack_id -> index in s */
	struct site *s;
	uint32_t n, cap;
};

struct tb_sites *html_sites__new(void)
{
	return calloc(1, sizeof(struct tb_sites));
}

void html_sites__free(struct tb_sites *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->n; i++) {
		for (int j = 0; j < s->s[i].n; j++)
			free(s->s[i].label[j]);
		free(s->s[i].label);
	}
	free(s->s);
	idmap_free(&s->ids);
	free(s);
}

static struct site *site_of(struct tb_sites *s, uint32_t id)
{
	uint32_t i = idmap_get(&s->ids, id);

	if (i != IDMAP_NONE)
		return &s->s[i];
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? 2 * s->cap : 64;
		struct site *ns = realloc(s->s, cap * sizeof(*ns));

		if (!ns)
			return NULL;
		s->s = ns;
		s->cap = cap;
	}
	if (idmap_put(&s->ids, id, s->n))
		return NULL;
	s->s[s->n] = (struct site){};
	return &s->s[s->n++];
}

/* Frame i of stack id labelled; frames may come in any order, a gap stays "?". */
static int set_frame(struct tb_sites *s, uint32_t id, int i, const char *label)
{
	struct site *st = site_of(s, id);
	char *copy = strndup(label, SITE_LABEL);

	if (!st || !copy || i < 0 || i >= TB_MAX_STACK) {
		free(copy);
		return st && copy ? -EINVAL : -ENOMEM;
	}
	if (i >= st->n) {
		char **nl = realloc(st->label, (i + 1) * sizeof(*nl));

		if (!nl) {
			free(copy);
			return -ENOMEM;
		}
		for (int j = st->n; j <= i; j++)
			nl[j] = NULL;
		st->label = nl;
		st->n = i + 1;
	}
	free(st->label[i]);
	st->label[i] = copy;
	return 0;
}

int html_sites__set(struct tb_sites *s, uint32_t stack_id, const char *const *labels, int n)
{
	int err = 0;

	for (int i = 0; i < n && !err; i++)
		err = set_frame(s, stack_id, i, labels[i]);
	return err;
}

int html_sites__get(const struct tb_sites *s, uint32_t stack_id, const char *const **labels)
{
	uint32_t i = s ? idmap_get(&s->ids, stack_id) : IDMAP_NONE;

	if (i == IDMAP_NONE)
		return 0;
	*labels = (const char *const *)s->s[i].label;
	return s->s[i].n;
}

/* ---- the run's stack table ------------------------------------------------------------------- */

int html_sites__from_tab(struct tb_sites *s, struct stacktab *t)
{
	char label[SITE_LABEL];
	uint32_t n = stacktab__count(t);

	for (uint32_t id = 1; id <= n; id++) {
		const struct stacktab_stack *st = stacktab__get(t, id);

		for (int f = 0; st && f < st->nr; f++) {
			int err;

			stacktab__frame_name(t, id, f, label, sizeof(label));
			err = set_frame(s, id, f, label);
			if (err)
				return err;
		}
	}
	return 0;
}
