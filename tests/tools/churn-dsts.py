#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Connections to many distinct destinations (issue 28 item 1), and one bulk flow.

churn-dsts.py serve PORT: on every address of the namespace (::, both families, with a
    `local` route of 198.18.0.0/15 or an IPv6 prefix on lo for the AnyIP addresses), answer a
    "q" on PORT with one byte and close first; on PORT + 1 read until the peer closes (a sink
    for the bulk flow).
churn-dsts.py churn PREFIX N PORT [THREADS [big|mid]]: N connections, one each to the N first
    addresses after PREFIX (198.18.0.0, or IPv6: 2001:db8:ff00::), THREADS at a time (4); prints
    "done K" (exchanges that completed) and the rate. With big each sends 3000 bytes first
    (segments larger than a 1400-byte hop lets through), with mid 1000 (a segment that fits
    1280 but is larger than tc egress ignores: every destination enters the kernel's map).
churn-dsts.py bulk ADDR PORT BYTES: one connection, sends BYTES (blocks while black-holed);
    prints "connected NS" (CLOCK_MONOTONIC) first; SIGTERM resets it.
"""
import ipaddress
import signal
import socket
import struct
import sys
import threading
import time


def listener(port):
    # Both families on one socket: IPv4 arrives v4-mapped.
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.bind(("::", port))
    srv.listen(4096)
    return srv


def drain(c):
    while c.recv(65536):
        pass
    c.close()


def sink(srv):
    while True:
        c, _ = srv.accept()
        threading.Thread(target=drain, args=(c,), daemon=True).start()


def serve(port):
    srv = listener(port)
    threading.Thread(target=sink, args=(listener(port + 1),), daemon=True).start()
    print("listening", flush=True)
    while True:
        c, _ = srv.accept()
        # The client sends "q" with its connect: a black-holed sender is on port + 1.
        c.settimeout(5)
        try:
            first = c.recv(1)
            # "Q" / "M": a large request (BIG / MID bytes in all), read whole before the answer.
            left = {b"Q": BIG, b"M": MID}.get(first, 1) - 1
            while left > 0:
                got = c.recv(left)
                if not got:
                    break
                left -= len(got)
            if first in (b"q", b"Q", b"M") and left <= 0:
                c.sendall(b"a")
        except OSError:
            pass
        c.close()


BIG = 3000
MID = 1000


def churn(prefix, n, port, threads, size=""):
    ip = ipaddress.ip_address(prefix)
    fam = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    base = int(ip)
    done = [0] * threads

    def worker(t):
        for i in range(t, n, threads):
            addr = str(ipaddress.ip_address(base + 1 + i))
            c = socket.socket(fam, socket.SOCK_STREAM)
            c.settimeout(5)
            try:
                c.connect((addr, port))
                if size == "big":
                    c.sendall(b"Q" + b"x" * (BIG - 1))
                elif size == "mid":
                    c.sendall(b"M" + b"x" * (MID - 1))
                else:
                    c.sendall(b"q")
                if c.recv(1) == b"a" and c.recv(1) == b"":
                    done[t] += 1
            except OSError:
                pass
            c.close()

    t0 = time.monotonic()
    ws = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for w in ws:
        w.start()
    for w in ws:
        w.join()
    secs = time.monotonic() - t0
    print("done", sum(done), flush=True)
    print("rate %.0f/s" % (sum(done) / secs if secs else 0), flush=True)


def bulk(addr, port, size):
    c = socket.create_connection((addr, port), timeout=60)
    # CLOCK_MONOTONIC, the clock of the kernel's event times (a finding's ts_ns).
    print("connected", time.monotonic_ns(), flush=True)

    def stop(*_):
        raise SystemExit(0)

    # Stopped (SIGTERM): reset, so that no orphaned re-send of the data touches the path again.
    signal.signal(signal.SIGTERM, stop)
    try:
        c.sendall(b"b" * size)
        print("sent", size, flush=True)
    finally:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(int(sys.argv[2]))
    elif cmd == "churn":
        churn(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
              int(sys.argv[5]) if len(sys.argv) > 5 else 4,
              sys.argv[6] if len(sys.argv) > 6 else "")
    elif cmd == "bulk":
        bulk(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("usage: churn-dsts.py serve PORT | churn PREFIX N PORT [THREADS] | "
                 "bulk ADDR PORT BYTES")
