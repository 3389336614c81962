#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""ptb-server.py -- the big sender of the Packet-Too-Big scenarios (tests/scenarios-ptb.sh).

A TLS (or plain TCP) server that answers every connection with its certificate chain and then
BYTES of payload, on a socket whose path-MTU-discovery mode is set explicitly: openssl s_server
and iperf3 cannot set IP_MTU_DISCOVER / IPV6_MTU_DISCOVER, and several scenarios need DF forced
(IP_PMTUDISC_DO under ip_no_pmtu_disc=2 or a locked route) or PMTU ignored
(IPV6_PMTUDISC_INTERFACE).

  ptb-server.py --addr A --port P [--pmtudisc MODE] [--tls CERT KEY] [--bytes N] [--seconds S]

MODE: dont|want|do|probe|interface|omit (the same numbers for IPv4 and IPv6), or unset (leave the
kernel's default). Prints "listening A P MODE" once the socket listens. Serves connections in
threads until SECONDS (default 60) have passed: bounded by itself, and callers add `timeout`.
"""
import argparse
import socket
import ssl
import sys
import threading
import time

IP_MTU_DISCOVER = 10        # <linux/in.h>
IPV6_MTU_DISCOVER = 23      # <linux/in6.h>
MODES = {"dont": 0, "want": 1, "do": 2, "probe": 3, "interface": 4, "omit": 5}


def serve(conn, ctx, nbytes):
    try:
        conn.settimeout(30)
        if ctx is not None:
            conn = ctx.wrap_socket(conn, server_side=True)
        chunk = b"m" * 65536
        left = nbytes
        while left > 0:
            n = conn.send(chunk[:min(left, len(chunk))])
            left -= n
        if ctx is not None:
            conn.unwrap()
    except (OSError, ssl.SSLError):
        pass  # a stalled or reset peer is what the scenarios are about
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser(description="big sender with an explicit PMTU discovery mode")
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pmtudisc", choices=sorted(MODES))
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"),
                    help="CERT holds the leaf followed by its chain")
    ap.add_argument("--bytes", type=int, default=1 << 20)
    ap.add_argument("--seconds", type=float, default=60)
    a = ap.parse_args()

    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.pmtudisc:
        # Accepted sockets inherit the listener's mode (the child is a clone of it).
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, MODES[a.pmtudisc])
        # A dual-stack socket's IPv4 peers (bound to ::) go out by IPv4's rules: its mode too.
        if fam == socket.AF_INET or a.addr == "::":
            s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, MODES[a.pmtudisc])
    try:
        s.bind((a.addr, a.port))
    except OSError as e:
        print(f"ptb-server: cannot bind {a.addr} port {a.port}: {e.strerror}", file=sys.stderr)
        return 1
    s.listen(16)
    ctx = None
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
    print("listening", a.addr, a.port, a.pmtudisc or "default", flush=True)
    end = time.monotonic() + a.seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return 0
        s.settimeout(left)
        try:
            conn, _ = s.accept()
        except socket.timeout:
            return 0
        threading.Thread(target=serve, args=(conn, ctx, a.bytes), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
