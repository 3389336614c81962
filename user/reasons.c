// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include "reasons.h"

#define PREFIX "SKB_DROP_REASON_"

int reasons_set(struct mw_reasons *r, uint32_t value, const char *name)
{
	if (value >= MW_MAX_REASONS)
		return -ERANGE;
	if (!strncmp(name, PREFIX, strlen(PREFIX)))
		name += strlen(PREFIX);
	free(r->name[value]);
	r->name[value] = strdup(name);
	if (!r->name[value])
		return -ENOMEM;
	if (value + 1 > r->n)
		r->n = value + 1;
	return 0;
}

int reasons_from_btf(struct mw_reasons *r, const struct btf *btf)
{
	struct btf *own = NULL;
	const struct btf_type *t;
	const struct btf_enum *e;
	int id, err = 0;

	if (!btf) {
		own = btf__load_vmlinux_btf();
		if (!own)
			return -errno;
		btf = own;
	}
	id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
	if (id < 0) {
		err = -ENOENT;
		goto out;
	}
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	for (int i = 0; i < btf_vlen(t) && !err; i++, e++) {
		const char *n = btf__name_by_offset(btf, e->name_off);

		/* SKB_DROP_REASON_MAX and subsystem markers are not reasons a drop carries. */
		if (!n || (uint32_t)e->val >= MW_MAX_REASONS)
			continue;
		err = reasons_set(r, e->val, n);
	}
out:
	btf__free(own);
	return err;
}

const char *reasons_name(uint32_t value, void *ctx)
{
	struct mw_reasons *r = ctx;

	if (!r || value >= r->n)
		return NULL;
	return r->name[value];
}

void reasons_free(struct mw_reasons *r)
{
	for (uint32_t i = 0; i < r->n; i++)
		free(r->name[i]);
	memset(r, 0, sizeof(*r));
}
