// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Opens the exporter's and the firewall reader's libraries on first use (see dynlib.h). */
#include <dlfcn.h>
#include <stdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <nftables/libnftables.h>
#define MW_DYNLIB_DEFINE
#include "dynlib.h"

/* The build passes the sonames it linked against; these are Debian 12's. */
#ifndef SONAME_MHD
#define SONAME_MHD "libmicrohttpd.so.12"
#endif
#ifndef SONAME_GNUTLS
#define SONAME_GNUTLS "libgnutls.so.30"
#endif
#ifndef SONAME_NFT
#define SONAME_NFT "libnftables.so.1"
#endif

#define DL_DEFINE(f) __typeof__(&f) dl_##f;
DL_MHD_FUNCS(DL_DEFINE)
DL_GNUTLS_FUNCS(DL_DEFINE)
DL_NFT_FUNCS(DL_DEFINE)

struct dl_sym {
	const char *name;
	void **slot;
};

#define DL_SYM(f) { #f, (void **)&dl_##f },
static const struct dl_sym mhd_syms[] = { DL_MHD_FUNCS(DL_SYM) };
static const struct dl_sym gnutls_syms[] = { DL_GNUTLS_FUNCS(DL_SYM) };
static const struct dl_sym nft_syms[] = { DL_NFT_FUNCS(DL_SYM) };

struct dl_lib {
	const char *soname;
	const char *package;	/* Debian's, for the remedy */
	const struct dl_sym *syms;
	int nsyms;
};

static int dl_bind(const struct dl_lib *lib, char *err, size_t len)
{
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	int i;

	if (!h) {
		snprintf(err, len, "Failed to load %s: %s -- install %s (make deps)", lib->soname,
			 dlerror(), lib->package);
		return -1;
	}
	for (i = 0; i < lib->nsyms; i++) {
		*lib->syms[i].slot = dlsym(h, lib->syms[i].name);
		if (!*lib->syms[i].slot) {
			snprintf(err, len, "Failed to load %s: no symbol %s -- install the %s "
				 "mtuwatch was built against, or rebuild", lib->soname,
				 lib->syms[i].name, lib->package);
			return -1;
		}
	}
	/* Never closed: the handles live as long as the process, like linked libraries. */
	return 0;
}

#define DL_LIB(so, pkg, syms) { so, pkg, syms, sizeof(syms) / sizeof(syms[0]) }

int dl_web_open(char *err, size_t len)
{
	static const struct dl_lib libs[] = {
		DL_LIB(SONAME_MHD, "libmicrohttpd12", mhd_syms),
		DL_LIB(SONAME_GNUTLS, "libgnutls30", gnutls_syms),
	};
	static int done;
	unsigned int i;

	for (i = 0; !done && i < sizeof(libs) / sizeof(libs[0]); i++)
		if (dl_bind(&libs[i], err, len))
			return -1;
	done = 1;
	return 0;
}

int dl_nft_open(char *err, size_t len)
{
	static const struct dl_lib lib = DL_LIB(SONAME_NFT, "libnftables1", nft_syms);
	static int done;

	if (!done && dl_bind(&lib, err, len))
		return -1;
	done = 1;
	return 0;
}
