#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""ptb-many.py TO N: N ICMP frag-needed (MTU 1400) to TO, each quoting a TCP packet from TO to
another destination of 198.18.0.0/15 (RFC 2544): N new kinds of Packet Too Big, sent at once.
Prints "sent K". Bounded: N at most 60000."""
import ipaddress
import socket
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


to, n = sys.argv[1], min(int(sys.argv[2]), 60000)
base = int(ipaddress.ip_address("198.18.0.1"))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
sent = 0
for i in range(n):
    dst = ipaddress.ip_address(base + i).packed
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 1500, 0, 0x4000, 64, 6, 0,
                     socket.inet_aton(to), dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    quote = ip + struct.pack("!HHI", 40000, 443, 1000)
    icmp = struct.pack("!BBHHH", 3, 4, 0, 0, 1400) + quote
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    sent += s.sendto(icmp, (to, 0)) > 0
print("sent", sent, flush=True)
