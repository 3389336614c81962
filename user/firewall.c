// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE	/* pipe2 */
/*
 * The firewall reader behind `doctor`: the rules that drop Packet Too Big, read from nftables
 * (libnftables' JSON) and from iptables (iptables-save, legacy and nft). hostcfg's hc_read calls
 * it; it is the only user of jansson and libnftables, so the rest of the host reading needs
 * neither. Over 800 lines on purpose: both readers feed one private chain model and judgement
 * (fw_chain, fw_judge); split, those would be published in a header.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <jansson.h>
#include <nftables/libnftables.h>
#include "dynlib.h"
#include "firewall.h"
#include "hostcfg.h"
#include "netutil.h"

/*
 * Each rule is reduced to what matters for a Packet Too Big: its verdict, whether it matches
 * ICMP / ICMPv6 only, whether an ICMP type match covers frag-needed (type 3 code 4) or PTB
 * (ICMPv6 type 2), and whether it accepts RELATED (ICMP errors of tracked flows are RELATED).
 * A chain is walked in order: an accept of RELATED or of PTB ahead of a drop admits PTB.
 */
enum fw_verdict { FV_NONE, FV_ACCEPT, FV_DROP, FV_REJECT };

struct fw_sem {
	enum fw_verdict verdict;
	bool icmp4, icmp6;	/* a protocol match that includes ICMP / ICMPv6 */
	bool proto_other;	/* a protocol match without either */
	bool type_match;	/* an ICMP type or code match */
	bool type_ptb;		/* ... that covers frag-needed / Packet Too Big */
	bool type_seen;		/* a type match (not only a code match) was read */
	bool code_miss;		/* an ICMP code match that excludes frag-needed */
	bool ct_match, ct_related;
	bool other_match;	/* anything else that narrows the rule */
	bool mss;		/* sets the TCP MSS option */
	char jump[32];		/* jump / goto target, "" when none */
	bool jump_admits;	/* ... and that chain accepts RELATED (set by the caller) */
};

struct fw_chain {
	char table[32], chain[32];
	uint8_t families;
	bool base;		/* hooked on input, forward or output */
	bool policy_drop;
	uint8_t admitted;	/* families whose PTB an earlier rule accepts */
	bool owned;		/* a table iptables-nft made: judged from iptables-nft-save */
	bool admits;		/* accepts RELATED itself or in a chain it jumps to */
};

/* A jump between chains of one table, for finding the chains that admit ICMP errors. */
struct fw_edge {
	int from;
	char to[32];
};

static int fw_chain_idx(const struct fw_chain *c, int nch, const char *table, const char *name)
{
	for (int i = 0; i < nch; i++)
		if (!strcmp(c[i].chain, name) && (!table || !strcmp(c[i].table, table)))
			return i;
	return -1;
}

/* Docker-style rulesets accept RELATED in a chain that FORWARD jumps to: a jump to a chain
 * that admits (transitively) admits too. */
static void fw_propagate(struct fw_chain *c, int nch, const struct fw_edge *e, int ne)
{
	bool changed = true;

	while (changed) {
		changed = false;
		for (int i = 0; i < ne; i++) {
			int to = fw_chain_idx(c, nch, c[e[i].from].table, e[i].to);

			if (to >= 0 && c[to].admits && !c[e[i].from].admits)
				c[e[i].from].admits = changed = true;
		}
	}
}

static void fw_add(struct hc_host *h, const char *backend, const struct fw_chain *c,
		   uint8_t fams, enum hc_fw_what what, const char *rule)
{
	struct hc_fw_rule *r;

	if (h->nfw >= HC_MAX_FW)
		return;
	r = &h->fw[h->nfw++];
	snprintf(r->backend, sizeof(r->backend), "%s", backend);
	snprintf(r->table, sizeof(r->table), "%s", c->table);
	snprintf(r->chain, sizeof(r->chain), "%s", c->chain);
	snprintf(r->rule, sizeof(r->rule), "%s", rule);
	r->families = fams;
	r->what = what;
}

/* One rule of a chain, in order. */
static void fw_judge(struct hc_host *h, const char *backend, struct fw_chain *c,
		     const struct fw_sem *s, const char *rule)
{
	bool proto_any = !s->icmp4 && !s->icmp6 && !s->proto_other;
	bool covers = !s->type_match || (s->type_ptb && !s->code_miss);
	uint8_t m = 0;

	if (s->mss)
		h->mss_clamp = true;
	if (s->jump_admits) {
		c->admitted |= c->families;
		return;
	}
	if (s->verdict == FV_ACCEPT) {
		if (s->ct_related)
			c->admitted |= c->families;
		else if (!s->ct_match && covers) {
			if (proto_any && !s->type_match && !s->other_match)
				m = 3;
			m |= (s->icmp4 ? 1 : 0) | (s->icmp6 ? 2 : 0);
			c->admitted |= m & c->families;
		}
		return;
	}
	if ((s->verdict != FV_DROP && s->verdict != FV_REJECT) || s->ct_match)
		return;
	m = (s->icmp4 ? 1 : 0) | (s->icmp6 ? 2 : 0);
	if (s->type_match && !s->icmp4 && !s->icmp6)
		m = 3;
	if (m && covers) {
		m &= c->families & ~c->admitted;
		if (m)
			fw_add(h, backend, c, m, s->type_match ? HC_FW_DROPS_PTB : HC_FW_DROPS_ICMP,
			       rule);
	} else if (proto_any && !s->type_match && !s->other_match && c->base) {
		m = c->families & ~c->admitted;
		if (m)
			fw_add(h, backend, c, m, HC_FW_DROP_ALL, rule);
	}
}

static void fw_chain_end(struct hc_host *h, const char *backend, struct fw_chain *c)
{
	uint8_t m = c->families & ~c->admitted;

	if (c->base && c->policy_drop && m)
		fw_add(h, backend, c, m, HC_FW_POLICY_DROP, "policy drop");
}

/*
 * Runs a program from the system's directories only, its stdout into *out (malloc'd). 0 or
 * -errno; -ENOENT when it is not installed. Never through the caller's PATH: doctor runs as
 * root, and a directory earlier in a user's PATH would run their iptables-save as root. The
 * program gets the same fixed PATH for whatever it runs itself (modprobe).
 */
static int run_capture(const char *prog, char **out)
{
	static const char *const dirs[] = { "/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/" };
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	size_t cap = 65536, n = 0;
	int p[2], st;
	pid_t pid;
	ssize_t r;

	*out = NULL;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		char path[128];

		dup2(p[1], 1);
		if (null >= 0)
			dup2(null, 2);
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			snprintf(path, sizeof(path), "%s%s", dirs[i], prog);
			execve(path, (char *[]){ (char *)prog, NULL }, envp);
		}
		_exit(127);
	}
	close(p[1]);
	*out = malloc(cap);
	while (*out && (r = read(p[0], *out + n, cap - n - 1)) > 0) {
		n += r;
		if (n + 1 == cap) {
			char *b = realloc(*out, cap * 2);

			if (!b)
				break;
			*out = b;
			cap *= 2;
		}
	}
	close(p[0]);
	if (*out)
		(*out)[n] = 0;
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	if (!*out)
		return -ENOMEM;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return -ENOENT;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/* --icmp-type / --icmpv6-type values as iptables-save prints them ("3/4", "2", names). */
static bool ipt_type_ptb(const char *v, bool v6)
{
	char *end;
	long t, code = -1;

	if (!strcmp(v, "any"))
		return true;
	if (!v6 && (!strcmp(v, "destination-unreachable") || !strcmp(v, "fragmentation-needed")))
		return true;
	if (v6 && !strcmp(v, "packet-too-big"))
		return true;
	t = strtol(v, &end, 10);
	if (end == v)
		return false;
	if (*end == '/')
		code = strtol(end + 1, NULL, 10);
	return v6 ? t == 2 : t == 3 && (code < 0 || code == 4);
}

/*
 * The next word of an iptables-save line, unquoted in place: iptables-save writes a value with
 * anything but [A-Za-z0-9_-] in double quotes, '"', '\' and '\'' escaped with a backslash
 * (xtables_save_string), and iptables-restore reads it back the same way. A comment such as
 * "note -j ACCEPT " is one word, never a target. NULL at the end of the line.
 */
static char *ipt_token(char **pos)
{
	char *p = *pos, *w, *tok;
	bool quoted = false;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p) {
		*pos = p;
		return NULL;
	}
	tok = w = p;
	for (; *p && (quoted || (*p != ' ' && *p != '\t')); p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == '\\' && p[1])
			*w++ = *++p;
		else
			*w++ = *p;
	}
	if (*p)
		p++;
	*w = 0;
	*pos = p;
	return tok;
}

static void ipt_rule(struct fw_sem *s, char *line, bool v6)
{
	char *pos = line, *tok, *val;
	bool neg = false;

	memset(s, 0, sizeof(*s));
	ipt_token(&pos);	/* -A */
	ipt_token(&pos);	/* chain */
	while ((tok = ipt_token(&pos))) {
		if (!strcmp(tok, "!")) {
			neg = true;
			continue;
		}
		if (tok[0] != '-') {
			neg = false;
			continue;
		}
		if (!strcmp(tok, "-m") || !strcmp(tok, "--comment")) {
			ipt_token(&pos);
		} else if (!strcmp(tok, "-p") || !strcmp(tok, "--protocol")) {
			val = ipt_token(&pos);
			if (!val || neg)
				s->other_match = true;
			else if (!strcmp(val, "icmp") || !strcmp(val, "1"))
				s->icmp4 = true;
			else if (!strcmp(val, "ipv6-icmp") || !strcmp(val, "icmpv6") ||
				 !strcmp(val, "58"))
				s->icmp6 = true;
			else if (strcmp(val, "all") && strcmp(val, "0"))
				s->proto_other = true;
		} else if (!strcmp(tok, "--icmp-type") || !strcmp(tok, "--icmpv6-type")) {
			val = ipt_token(&pos);
			s->type_match = true;
			s->type_ptb = val && ipt_type_ptb(val, v6);
			if (neg)
				s->type_ptb = !s->type_ptb;
		} else if (!strcmp(tok, "--ctstate") || !strcmp(tok, "--state")) {
			val = ipt_token(&pos);
			s->ct_match = true;
			s->ct_related = !neg && val && strstr(val, "RELATED");
		} else if (!strcmp(tok, "-j") || !strcmp(tok, "--jump")) {
			val = ipt_token(&pos);
			if (!val)
				break;
			if (!strcmp(val, "ACCEPT"))
				s->verdict = FV_ACCEPT;
			else if (!strcmp(val, "DROP"))
				s->verdict = FV_DROP;
			else if (!strcmp(val, "REJECT"))
				s->verdict = FV_REJECT;
			else if (!strcmp(val, "TCPMSS"))
				s->mss = true;
			else
				snprintf(s->jump, sizeof(s->jump), "%s", val);
			break;	/* the target's own options follow */
		} else if (!strcmp(tok, "-g") || !strcmp(tok, "--goto")) {
			val = ipt_token(&pos);
			if (val)
				snprintf(s->jump, sizeof(s->jump), "%s", val);
			break;
		} else {
			s->other_match = true;
		}
		neg = false;
	}
}

static bool ipt_base_chain(const char *c)
{
	return !strcmp(c, "INPUT") || !strcmp(c, "FORWARD") || !strcmp(c, "OUTPUT");
}

/* One table of iptables-save output: find the admitting chains, then judge in order. */
static void ipt_table(struct hc_host *h, const char *backend, struct fw_chain *c, int nch,
		      char **rules, int nrules, bool v6)
{
	struct fw_edge edges[128];
	int ne = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < nrules; i++) {
			char name[32] = "", *copy;
			struct fw_sem s;
			int k;

			sscanf(rules[i] + 3, "%31s", name);
			/* Whole: a long comment must not cut off the -j that follows it. */
			copy = strdup(rules[i]);
			if (!copy)
				continue;
			ipt_rule(&s, copy, v6);
			free(copy);
			k = fw_chain_idx(c, nch, NULL, name);
			if (k < 0)
				continue;
			if (pass == 0) {
				if (s.verdict == FV_ACCEPT && s.ct_related)
					c[k].admits = true;
				if (s.jump[0] && ne < 128) {
					edges[ne].from = k;
					snprintf(edges[ne++].to, sizeof(edges[0].to), "%s", s.jump);
				}
				continue;
			}
			if (s.jump[0]) {
				int t = fw_chain_idx(c, nch, NULL, s.jump);

				s.jump_admits = t >= 0 && c[t].admits;
			}
			fw_judge(h, backend, &c[k], &s, rules[i]);
		}
		if (pass == 0)
			fw_propagate(c, nch, edges, ne);
	}
	for (int i = 0; i < nch; i++)
		fw_chain_end(h, backend, &c[i]);
}

void hc_fw_parse_iptables(struct hc_host *h, const char *backend, char *text, bool v6)
{
	struct fw_chain chains[64];
	char *rules[1024], table[24] = "", *save = NULL;
	int nch = 0, nrules = 0;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '*') {
			snprintf(table, sizeof(table), "%s", line + 1);
			nch = nrules = 0;
		} else if (line[0] == ':' && nch < 64) {
			struct fw_chain *c = &chains[nch++];
			char name[32] = "", pol[16] = "";

			sscanf(line + 1, "%31s %15s", name, pol);
			memset(c, 0, sizeof(*c));
			snprintf(c->table, sizeof(c->table), "%s %s", v6 ? "ip6" : "ip", table);
			snprintf(c->chain, sizeof(c->chain), "%s", name);
			c->families = v6 ? 2 : 1;
			c->base = ipt_base_chain(name);
			c->policy_drop = !strcmp(pol, "DROP");
		} else if (!strncmp(line, "-A ", 3) && nrules < 1024) {
			rules[nrules++] = line;
		} else if (!strcmp(line, "COMMIT")) {
			ipt_table(h, backend, chains, nch, rules, nrules, v6);
			nch = nrules = 0;
		}
	}
}

static void fw_error(struct hc_host *h, const char *fmt, const char *what)
{
	size_t n = strlen(h->fw_error);

	snprintf(h->fw_error + n, sizeof(h->fw_error) - n, "%s", n ? "; " : "");
	n = strlen(h->fw_error);
	snprintf(h->fw_error + n, sizeof(h->fw_error) - n, fmt, what);
}

static void read_iptables(struct hc_host *h, const char *prog, const char *backend, bool v6)
{
	char *out = NULL;
	int err = run_capture(prog, &out);

	if (err)
		fw_error(h, err == -ENOENT ? "%s not installed" : "%s failed", prog);
	else
		hc_fw_parse_iptables(h, backend, out, v6);
	free(out);
}

/* Whether the legacy tables exist in this namespace: reading them would create them. */
static bool legacy_tables(const char *names_file)
{
	char buf[256];

	return read_text(names_file, buf, sizeof(buf)) == 0 && buf[0];
}

/* ---- nftables, through libnftables' JSON ---- */

/* Whether a match's right-hand side has the name or number (sets, lists, ranges). */
static bool nft_val_has(json_t *v, const char *name, long num)
{
	size_t i;
	json_t *e;

	if (json_is_string(v))
		return !strcmp(json_string_value(v), name);
	if (json_is_integer(v))
		return json_integer_value(v) == num;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (nft_val_has(e, name, num))
				return true;
		return false;
	}
	if (json_is_object(v)) {
		json_t *r = json_object_get(v, "range");

		if (json_object_get(v, "set"))
			return nft_val_has(json_object_get(v, "set"), name, num);
		if (json_is_array(r) && json_array_size(r) == 2 &&
		    json_is_integer(json_array_get(r, 0)) && json_is_integer(json_array_get(r, 1)))
			return json_integer_value(json_array_get(r, 0)) <= num &&
			       num <= json_integer_value(json_array_get(r, 1));
	}
	return false;
}

static void nft_match(struct fw_sem *s, json_t *m)
{
	const char *op = json_string_value(json_object_get(m, "op"));
	json_t *left = json_object_get(m, "left"), *right = json_object_get(m, "right");
	json_t *meta = json_object_get(left, "meta"), *pl = json_object_get(left, "payload");
	json_t *ct = json_object_get(left, "ct");
	const char *key = json_string_value(json_object_get(meta ? meta : ct, "key"));
	const char *proto = json_string_value(json_object_get(pl, "protocol"));
	const char *field = json_string_value(json_object_get(pl, "field"));
	bool neg = op && !strcmp(op, "!=");

	if (!proto)
		proto = "";
	if (!field)
		field = "";
	if ((meta && key && !strcmp(key, "l4proto")) ||
	    (!strcmp(proto, "ip") && !strcmp(field, "protocol")) ||
	    (!strcmp(proto, "ip6") && !strcmp(field, "nexthdr"))) {
		bool i4 = nft_val_has(right, "icmp", 1);
		bool i6 = nft_val_has(right, "ipv6-icmp", 58) || nft_val_has(right, "icmpv6", 58);

		if (neg)
			s->other_match = true;
		else if (i4 || i6) {
			s->icmp4 |= i4;
			s->icmp6 |= i6;
		} else {
			s->proto_other = true;
		}
	} else if (!strcmp(proto, "icmp") && !strcmp(field, "type")) {
		s->icmp4 = s->type_match = s->type_seen = true;
		s->type_ptb = nft_val_has(right, "destination-unreachable", 3) != neg;
	} else if (!strcmp(proto, "icmp") && !strcmp(field, "code")) {
		s->icmp4 = s->type_match = true;
		s->code_miss |= nft_val_has(right, "frag-needed", 4) == neg;
		if (!s->type_seen)
			s->type_ptb = true;	/* a code match alone: judged by the code */
	} else if (!strcmp(proto, "icmpv6") && !strcmp(field, "type")) {
		s->icmp6 = s->type_match = s->type_seen = true;
		s->type_ptb = nft_val_has(right, "packet-too-big", 2) != neg;
	} else if (ct && key && !strcmp(key, "state")) {
		s->ct_match = true;
		s->ct_related = !neg && nft_val_has(right, "related", -1);
	} else {
		s->other_match = true;
	}
}

static void nft_rule(struct fw_sem *s, json_t *exprs, bool *xt)
{
	size_t i;
	json_t *e;

	memset(s, 0, sizeof(*s));
	json_array_foreach(exprs, i, e) {
		json_t *mg = json_object_get(e, "mangle");

		if (json_object_get(e, "match")) {
			nft_match(s, json_object_get(e, "match"));
		} else if (json_object_get(e, "accept")) {
			s->verdict = FV_ACCEPT;
		} else if (json_object_get(e, "drop")) {
			s->verdict = FV_DROP;
		} else if (json_object_get(e, "reject")) {
			s->verdict = FV_REJECT;
		} else if (json_object_get(e, "xt")) {
			*xt = true;
		} else if (json_object_get(e, "jump") || json_object_get(e, "goto")) {
			json_t *j = json_object_get(e, "jump") ? json_object_get(e, "jump") :
								 json_object_get(e, "goto");
			const char *t = json_string_value(json_object_get(j, "target"));

			if (t)
				snprintf(s->jump, sizeof(s->jump), "%s", t);
		} else if (mg) {
			json_t *opt = json_object_get(json_object_get(mg, "key"), "tcp option");
			const char *n = json_string_value(json_object_get(opt, "name"));

			if (n && !strcmp(n, "maxseg"))
				s->mss = true;
		}
	}
}

/* The rule as `nft -a list ruleset` prints it, found by its handle in the text listing. */
static void nft_rule_text(const char *text, const char *family, const char *table,
			  const char *chain, long handle, char *out, size_t len)
{
	char want_t[96], want_c[64], want_h[32], line[512];
	bool in_t = false, in_c = false;
	const char *p = text, *nl;

	snprintf(out, len, "handle %ld", handle);
	if (!text)
		return;
	snprintf(want_t, sizeof(want_t), "table %s %s {", family, table);
	snprintf(want_c, sizeof(want_c), "chain %s {", chain);
	snprintf(want_h, sizeof(want_h), "# handle %ld", handle);
	for (; *p; p = nl + 1) {
		const char *s;
		size_t n;

		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		n = nl - p < (long)sizeof(line) - 1 ? (size_t)(nl - p) : sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = 0;
		for (s = line; *s == '\t' || *s == ' '; s++)
			;
		if (!strncmp(s, "table ", 6))
			in_t = !strncmp(s, want_t, strlen(want_t));
		else if (!strncmp(s, "chain ", 6))
			in_c = in_t && !strncmp(s, want_c, strlen(want_c));
		else if (in_c) {
			char *h = strstr(line, want_h);

			if (h && (h[strlen(want_h)] == 0 || h[strlen(want_h)] == ' ')) {
				while (h > s && h[-1] == ' ')
					h--;
				*h = 0;
				snprintf(out, len, "%s (handle %ld)", s, handle);
				return;
			}
		}
		if (!*nl)
			break;
	}
}

static const char *nft_list(struct nft_ctx *ctx, unsigned int flags)
{
	int saved = dup(2), null = open("/dev/null", O_WRONLY | O_CLOEXEC), err;

	nft_ctx_output_set_flags(ctx, flags);
	if (nft_ctx_buffer_output(ctx) || nft_ctx_buffer_error(ctx))
		err = -1;
	else {
		/* libnftables prints some netlink errors straight to stderr, not to its error
		 * buffer: the caller says what failed, in one line. */
		if (saved >= 0 && null >= 0)
			dup2(null, 2);
		err = nft_run_cmd_from_buffer(ctx, "list ruleset");
		if (saved >= 0 && null >= 0)
			dup2(saved, 2);
	}
	if (saved >= 0)
		close(saved);
	if (null >= 0)
		close(null);
	return err ? NULL : nft_ctx_get_output_buffer(ctx);
}

static uint8_t nft_families(const char *f)
{
	if (!strcmp(f, "ip"))
		return 1;
	if (!strcmp(f, "ip6"))
		return 2;
	if (!strcmp(f, "inet"))
		return 3;
	return 0;	/* arp, bridge, netdev: not where PTB is filtered for this host */
}

static bool nft_ipt_chain(const char *c)
{
	return ipt_base_chain(c) || !strcmp(c, "PREROUTING") || !strcmp(c, "POSTROUTING");
}

int hc_fw_parse_nft_json(struct hc_host *h, const char *js, const char *text)
{
	struct fw_chain *chains = NULL;
	struct fw_edge edges[256];
	json_t *root, *arr, *e;
	int nch = 0, nedges = 0, owned = -1;
	size_t i;

	root = json_loads(js, 0, NULL);
	arr = json_object_get(root, "nftables");
	chains = calloc(256, sizeof(*chains));
	if (!json_is_array(arr) || !chains)
		goto out;
	owned = 0;
	/* Chains first (the listing has them ahead of their rules, but do not rely on it). */
	json_array_foreach(arr, i, e) {
		json_t *c = json_object_get(e, "chain");
		const char *fam, *tab, *name, *hook, *pol;
		struct fw_chain *fc;

		if (!c || nch >= 256)
			continue;
		fam = json_string_value(json_object_get(c, "family"));
		tab = json_string_value(json_object_get(c, "table"));
		name = json_string_value(json_object_get(c, "name"));
		hook = json_string_value(json_object_get(c, "hook"));
		pol = json_string_value(json_object_get(c, "policy"));
		if (!fam || !tab || !name || !nft_families(fam))
			continue;
		fc = &chains[nch++];
		snprintf(fc->table, sizeof(fc->table), "%s %s", fam, tab);
		snprintf(fc->chain, sizeof(fc->chain), "%s", name);
		fc->families = nft_families(fam);
		fc->base = hook && (!strcmp(hook, "input") || !strcmp(hook, "forward") ||
				    !strcmp(hook, "output"));
		fc->policy_drop = pol && !strcmp(pol, "drop");
		if (fc->families != 3 && nft_ipt_chain(name))
			fc->owned = true;
	}
	/* A table with one iptables-nft chain is iptables-nft's throughout. */
	for (int a = 0; a < nch; a++)
		for (int b = 0; b < nch; b++)
			if (chains[b].owned && !strcmp(chains[a].table, chains[b].table))
				chains[a].owned = true;
	/* Which chains accept RELATED, themselves or through the chains they jump to. */
	json_array_foreach(arr, i, e) {
		json_t *r = json_object_get(e, "rule");
		const char *fam = json_string_value(json_object_get(r, "family"));
		const char *tab = json_string_value(json_object_get(r, "table"));
		const char *name = json_string_value(json_object_get(r, "chain"));
		char tname[32];
		struct fw_sem s;
		bool xt = false;
		int k;

		if (!r || !fam || !tab || !name)
			continue;
		snprintf(tname, sizeof(tname), "%s %s", fam, tab);
		k = fw_chain_idx(chains, nch, tname, name);
		if (k < 0)
			continue;
		nft_rule(&s, json_object_get(r, "expr"), &xt);
		if (s.verdict == FV_ACCEPT && s.ct_related)
			chains[k].admits = true;
		if (s.jump[0] && nedges < 256) {
			edges[nedges].from = k;
			snprintf(edges[nedges++].to, sizeof(edges[0].to), "%s", s.jump);
		}
	}
	fw_propagate(chains, nch, edges, nedges);
	json_array_foreach(arr, i, e) {
		json_t *r = json_object_get(e, "rule");
		const char *fam, *tab, *name;
		char tname[32];
		struct fw_sem s;
		bool xt = false;

		if (!r)
			continue;
		fam = json_string_value(json_object_get(r, "family"));
		tab = json_string_value(json_object_get(r, "table"));
		name = json_string_value(json_object_get(r, "chain"));
		if (!fam || !tab || !name)
			continue;
		snprintf(tname, sizeof(tname), "%s %s", fam, tab);
		nft_rule(&s, json_object_get(r, "expr"), &xt);
		if (s.jump[0]) {
			int t = fw_chain_idx(chains, nch, tname, s.jump);

			s.jump_admits = t >= 0 && chains[t].admits;
		}
		for (int k = 0; k < nch; k++) {
			struct fw_chain *c = &chains[k];
			int before = h->nfw;

			if (strcmp(c->table, tname) || strcmp(c->chain, name))
				continue;
			if (xt)
				c->owned = true;
			if (c->owned)
				break;
			fw_judge(h, "nftables", c, &s, "");
			if (h->nfw > before)
				nft_rule_text(text, fam, tab, name,
					      json_integer_value(json_object_get(r, "handle")),
					      h->fw[h->nfw - 1].rule, sizeof(h->fw[0].rule));
			break;
		}
	}
	for (int k = 0; k < nch; k++) {
		if (chains[k].owned)
			owned |= chains[k].families;
		else
			fw_chain_end(h, "nftables", &chains[k]);
	}
out:
	json_decref(root);
	free(chains);
	return owned;
}

/* Returns which iptables-nft families own tables here (1 ip, 2 ip6). */
static uint8_t read_nftables(struct hc_host *h)
{
	struct nft_ctx *jctx, *tctx = NULL;
	const char *js, *text = NULL;
	char err[160];
	int owned = 0;

	if (dl_nft_open(err, sizeof(err))) {
		fw_error(h, "nftables: %s", err);
		return 0;
	}
	jctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!jctx) {
		fw_error(h, "%s", "nftables: no libnftables context");
		return 0;
	}
	js = nft_list(jctx, NFT_CTX_OUTPUT_JSON);
	if (!js) {
		fw_error(h, "nftables: 'list ruleset' failed%s",
			 geteuid() ? " (not root)" : "");
		goto out;
	}
	/* The text listing only quotes the rules found: read when there are rules at all. */
	if (strstr(js, "\"rule\"") && (tctx = nft_ctx_new(NFT_CTX_DEFAULT)))
		text = nft_list(tctx, NFT_CTX_OUTPUT_HANDLE);
	owned = hc_fw_parse_nft_json(h, js, text);
	if (owned < 0) {
		fw_error(h, "%s", "nftables: unreadable JSON ruleset");
		owned = 0;
	}
out:
	if (tctx)
		nft_ctx_free(tctx);
	nft_ctx_free(jctx);
	return owned;
}

void hc_read_firewall(struct hc_host *h)
{
	uint8_t owned = read_nftables(h);

	if (owned & 1)
		read_iptables(h, "iptables-nft-save", "iptables-nft", false);
	if (owned & 2)
		read_iptables(h, "ip6tables-nft-save", "iptables-nft", true);
	if (legacy_tables("/proc/net/ip_tables_names"))
		read_iptables(h, "iptables-legacy-save", "iptables-legacy", false);
	if (legacy_tables("/proc/net/ip6_tables_names"))
		read_iptables(h, "ip6tables-legacy-save", "iptables-legacy", true);
}
