/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Libraries only some commands need, opened when first needed instead of at exec.
 *
 * Measured over 300 runs, linking every library directly costs +2.7 ms of start-up and
 * +3.5 MB of peak memory in every process, and `mtuwatch live` uses none of the web ones.
 * Of that, libmicrohttpd with GnuTLS (which pull in p11-kit, nettle, gmp...) are 2.1 ms and
 * 2.6 MB: they, and libnftables, are opened here. libyaml and libcrypt (the web config and
 * its bcrypt) are 0.27 ms and 0.23 MB together: not worth a layer, they are linked (Makefile).
 *
 * A file that calls an opened library includes its headers, then this one, which turns each
 * call into a call through a pointer that dl_web_open() / dl_nft_open() fill. A call before
 * the open is a NULL call, so every entry point of those files opens first (webconfig_load,
 * httpd_new_on, the firewall reader).
 *
 * The sonames are the ones the build linked against (Makefile, from the -dev symlinks).
 */
#ifndef MW_DYNLIB_H
#define MW_DYNLIB_H

#include <stddef.h>

/* Returns 0, or -1 with a one-line "what failed -- what to do" in err. Idempotent. */
int dl_web_open(char *err, size_t len);
int dl_nft_open(char *err, size_t len);

#define DL_MHD_FUNCS(X)                                                                            \
	X(MHD_add_connection) X(MHD_add_response_header)                                           \
	X(MHD_create_response_from_buffer)                                                         \
	X(MHD_create_response_from_buffer_with_free_callback) X(MHD_destroy_response) X(MHD_free)  \
	X(MHD_get_connection_info) X(MHD_get_daemon_info) X(MHD_get_timeout)                       \
	X(MHD_is_feature_supported) X(MHD_lookup_connection_value)                                 \
	X(MHD_queue_basic_auth_fail_response) X(MHD_queue_response) X(MHD_resume_connection)       \
	X(MHD_run) X(MHD_start_daemon) X(MHD_stop_daemon) X(MHD_suspend_connection)
#define DL_GNUTLS_FUNCS(X)                                                                         \
	X(gnutls_certificate_allocate_credentials) X(gnutls_certificate_free_credentials)         \
	X(gnutls_certificate_get_peers) X(gnutls_certificate_set_x509_key_mem2)                   \
	X(gnutls_certificate_set_x509_trust_mem) X(gnutls_certificate_verify_peers)               \
	X(gnutls_hash_fast) X(gnutls_rnd) X(gnutls_strerror)
#define DL_NFT_FUNCS(X)                                                                            \
	X(nft_ctx_buffer_error) X(nft_ctx_buffer_output) X(nft_ctx_free)                           \
	X(nft_ctx_get_output_buffer) X(nft_ctx_new) X(nft_ctx_output_set_flags)                    \
	X(nft_run_cmd_from_buffer)

#define DL_DECLARE(f) extern __typeof__(&f) dl_##f;

/* In dynlib.c the names stay the libraries' own, for __typeof__. */
#ifndef MW_DYNLIB_DEFINE
#ifdef MHD_VERSION
DL_MHD_FUNCS(DL_DECLARE)
#define MHD_add_connection (*dl_MHD_add_connection)
#define MHD_add_response_header (*dl_MHD_add_response_header)
#define MHD_create_response_from_buffer (*dl_MHD_create_response_from_buffer)
#define MHD_create_response_from_buffer_with_free_callback (*dl_MHD_create_response_from_buffer_with_free_callback)
#define MHD_destroy_response (*dl_MHD_destroy_response)
#define MHD_free (*dl_MHD_free)
#define MHD_get_connection_info (*dl_MHD_get_connection_info)
#define MHD_get_daemon_info (*dl_MHD_get_daemon_info)
#define MHD_get_timeout (*dl_MHD_get_timeout)
#define MHD_is_feature_supported (*dl_MHD_is_feature_supported)
#define MHD_lookup_connection_value (*dl_MHD_lookup_connection_value)
#define MHD_queue_basic_auth_fail_response (*dl_MHD_queue_basic_auth_fail_response)
#define MHD_queue_response (*dl_MHD_queue_response)
#define MHD_resume_connection (*dl_MHD_resume_connection)
#define MHD_run (*dl_MHD_run)
#define MHD_start_daemon (*dl_MHD_start_daemon)
#define MHD_stop_daemon (*dl_MHD_stop_daemon)
#define MHD_suspend_connection (*dl_MHD_suspend_connection)
#endif
#ifdef GNUTLS_VERSION
#include <gnutls/crypto.h>	/* gnutls_hash_fast, gnutls_rnd */
DL_GNUTLS_FUNCS(DL_DECLARE)
#define gnutls_certificate_allocate_credentials (*dl_gnutls_certificate_allocate_credentials)
#define gnutls_certificate_free_credentials (*dl_gnutls_certificate_free_credentials)
#define gnutls_certificate_get_peers (*dl_gnutls_certificate_get_peers)
#define gnutls_certificate_set_x509_key_mem2 (*dl_gnutls_certificate_set_x509_key_mem2)
#define gnutls_certificate_set_x509_trust_mem (*dl_gnutls_certificate_set_x509_trust_mem)
#define gnutls_certificate_verify_peers (*dl_gnutls_certificate_verify_peers)
#define gnutls_hash_fast (*dl_gnutls_hash_fast)
#define gnutls_rnd (*dl_gnutls_rnd)
#define gnutls_strerror (*dl_gnutls_strerror)
#endif
#ifdef LIB_NFTABLES_H
DL_NFT_FUNCS(DL_DECLARE)
#define nft_ctx_buffer_error (*dl_nft_ctx_buffer_error)
#define nft_ctx_buffer_output (*dl_nft_ctx_buffer_output)
#define nft_ctx_free (*dl_nft_ctx_free)
#define nft_ctx_get_output_buffer (*dl_nft_ctx_get_output_buffer)
#define nft_ctx_new (*dl_nft_ctx_new)
#define nft_ctx_output_set_flags (*dl_nft_ctx_output_set_flags)
#define nft_run_cmd_from_buffer (*dl_nft_run_cmd_from_buffer)
#endif
#endif

#endif
