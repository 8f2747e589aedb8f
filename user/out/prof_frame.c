// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* prof_frame.c: a captured stack's frames made into profile frames, each inline chain expanded. */
#include <errno.h>
#include <string.h>
#include "prof_frame.h"

/* Entries [i, end) of raw are one address: its entry and the inlined functions given with it. */
static int address_end(const struct prof_frame *raw, int n, int i)
{
	int end = i + 1;

	while (end < n && raw[end].inline_depth > 0)
		end++;
	return end;
}

int prof_frame__symbolize(struct symbols *s, const struct prof_frame *raw, int n,
			  struct prof_frame *out, int max)
{
	int i, j, end, k = 0;

	for (i = 0; i < n; i = end) {
		struct sym_result r = { NULL, 0, 0 };
		int err;

		end = address_end(raw, n, i);
		/* every frame of a user stack is a return address, the call site's included */
		err = symbols__resolve(s, raw[i].module, raw[i].build_id, raw[i].offset, true, &r);
		if (err)
			return err;
		if (k + (r.n ? r.n : end - i) > max)
			return -ENOSPC;
		if (!r.n) { /* nothing known here: what the frame came with, as it came */
			memcpy(&out[k], &raw[i], (end - i) * sizeof(*out));
			k += end - i;
			continue;
		}
		for (j = 0; j < r.n; j++, k++) {
			out[k] = raw[i];
			out[k].function = r.lines[j].function;
			out[k].file = r.lines[j].file;
			out[k].line = r.lines[j].line;
			out[k].inline_depth = j;
		}
	}
	return k;
}
