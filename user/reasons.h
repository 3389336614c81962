/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Drop reason names. enum skb_drop_reason is renumbered between kernels, so the names come
 * from the running kernel's BTF (or, on replay, from the names the record file carries).
 */
#ifndef MW_REASONS_H
#define MW_REASONS_H

#include <stdint.h>

#define MW_MAX_REASONS 1024

struct mw_reasons {
	char *name[MW_MAX_REASONS];	/* without the SKB_DROP_REASON_ prefix */
	uint32_t n;			/* highest value + 1 */
};

struct btf;

/* Fill from a BTF object (NULL: the running kernel's). Returns 0, or -errno. */
int reasons_from_btf(struct mw_reasons *r, const struct btf *btf);
int reasons_set(struct mw_reasons *r, uint32_t value, const char *name);
const char *reasons_name(uint32_t value, void *r);
void reasons_free(struct mw_reasons *r);

#endif
