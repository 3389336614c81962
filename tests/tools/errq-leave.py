#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Send one too-big DF datagram and close the socket with its ICMP error left unread.

A UDP socket with IP_RECVERR / IPV6_RECVERR in PMTU mode "do" sends SIZE bytes to ADDR:PORT.
The router answers with a Packet Too Big; the kernel learns the path MTU and queues a copy of
the ICMP error on the socket's error queue. The socket is polled (POLLERR says the copy is
there) but never read, then closed: the kernel purges the queue. Prints
"pending-at-close N" (N: 1 if the error was queued when the socket closed) and exits 0 if so.
"""
import argparse
import select
import socket
import time

IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_RECVERR = 10, 2, 11
IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO, IPV6_RECVERR = 23, 2, 25


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("addr")
    ap.add_argument("--port", type=int, default=9)
    ap.add_argument("--size", type=int, default=2000)
    ap.add_argument("--wait", type=float, default=2.0)
    a = ap.parse_args()
    v6 = ":" in a.addr
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    if v6:
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO)
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
    else:
        s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
        s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    s.sendto(b"x" * a.size, (a.addr, a.port))
    p = select.poll()
    p.register(s, select.POLLERR)
    end = time.monotonic() + a.wait
    pending = 0
    while time.monotonic() < end and not pending:
        for _, ev in p.poll(100):
            if ev & select.POLLERR:
                pending = 1
    s.close()
    print(f"pending-at-close {pending}", flush=True)
    return 0 if pending else 1


if __name__ == "__main__":
    raise SystemExit(main())
