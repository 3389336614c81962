#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""ptb-inject.py -- forge ICMP frag-needed / ICMPv6 Packet Too Big quoting a live TCP flow.

Lab tool of tests/scenarios-ptb.sh (documentation addresses only; count and rate bounded). It
first sniffs one data segment of the flow SRC:SPORT -> DST on IFACE (AF_PACKET) to learn the
peer's port, the segment's sequence number and size, then sends COUNT PTBs to SRC at RATE per
second, each quoting that segment's IP header and TCP header with the chosen sequence number:

  inwin   the sniffed sequence: inside [snd_una, snd_nxt] of a stuck flow (the sender
          retransmits snd_una), so the kernel takes the PTB as genuine
  outwin  sniffed + 2^31: outside the window, TcpExtOutOfWindowIcmps rises (RFC 5927 check)

--quote-src/--quote-sport replace the sender's address and port in the quoted header, as a NAT
or load balancer does when it translates the outer packet but not the header inside the ICMP
error: the quote then matches no socket (Icmp(6)InErrors rises).
--mark sets SO_MARK, so the lab's router can drop its own PTBs and let these through.

  ptb-inject.py --iface IF --flow SRC SPORT DST --from ADDR --mtu N [--seq-mode inwin|outwin]
                [--count N] [--rate PPS] [--mark M] [--quote-src A] [--quote-sport P]
"""
import argparse
import ipaddress
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
MAX_COUNT = 200000
MAX_RATE = 50000


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def sniff(iface, src, sport, dst, wait):
    """First TCP segment with payload of SRC:SPORT -> DST seen on IFACE: (dport, seq, iplen)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    src, dst = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    end = time.monotonic() + wait
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return None
        pkt, addr = s.recvfrom(65535)
        if addr[1] == ETH_P_IP and len(pkt) >= 40 and pkt[9] == 6:
            ihl = (pkt[0] & 15) * 4
            psrc, pdst = pkt[12:16], pkt[16:20]
            iplen = struct.unpack("!H", pkt[2:4])[0]
            paylen = iplen - ihl
        elif addr[1] == ETH_P_IPV6 and len(pkt) >= 60 and pkt[6] == 6:
            ihl = 40
            psrc, pdst = pkt[8:24], pkt[24:40]
            paylen = struct.unpack("!H", pkt[4:6])[0]
            iplen = paylen + 40
        else:
            continue
        if psrc != src.packed or pdst != dst.packed or len(pkt) < ihl + 20:
            continue
        sp, dp, seq = struct.unpack("!HHI", pkt[ihl:ihl + 8])
        doff = (pkt[ihl + 12] >> 4) * 4
        if sp == sport and paylen > doff:
            return dp, seq, iplen


def build4(frm, to, mtu, qsrc, qsport, qdst, qdport, seq, qlen):
    tcp = struct.pack("!HHIIBBHHH", qsport, qdport, seq, 0, 5 << 4, 0x18, 502, 0, 0)
    qip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, min(qlen, 65535), 0x4d57, 0x4000, 63, 6, 0,
                      ipaddress.ip_address(qsrc).packed, ipaddress.ip_address(qdst).packed)
    qip = qip[:10] + struct.pack("!H", csum(qip)) + qip[12:]
    icmp = struct.pack("!BBHHH", 3, 4, 0, 0, mtu) + qip + tcp
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(icmp), 0, 0, 64, 1, 0,
                     ipaddress.ip_address(frm).packed, ipaddress.ip_address(to).packed)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + icmp


def build6(frm, to, mtu, qsrc, qsport, qdst, qdport, seq, qlen):
    tcp = struct.pack("!HHIIBBHHH", qsport, qdport, seq, 0, 5 << 4, 0x18, 502, 0, 0)
    qip = struct.pack("!IHBB16s16s", 6 << 28, min(qlen - 40, 65535), 6, 63,
                      ipaddress.ip_address(qsrc).packed, ipaddress.ip_address(qdst).packed)
    body = struct.pack("!BBHI", 2, 0, 0, mtu) + qip + tcp
    src, dst = ipaddress.ip_address(frm).packed, ipaddress.ip_address(to).packed
    pseudo = src + dst + struct.pack("!I3xB", len(body), 58)
    body = body[:2] + struct.pack("!H", csum(pseudo + body)) + body[4:]
    ip = struct.pack("!IHBB16s16s", 6 << 28, len(body), 58, 64, src, dst)
    return ip + body


def main():
    ap = argparse.ArgumentParser(description="forge PTBs quoting a live TCP flow")
    ap.add_argument("--iface", required=True, help="where to sniff the flow")
    ap.add_argument("--flow", nargs=3, required=True, metavar=("SRC", "SPORT", "DST"))
    ap.add_argument("--from", dest="frm", required=True, help="source of the PTBs")
    ap.add_argument("--mtu", type=int, required=True)
    ap.add_argument("--seq-mode", choices=("inwin", "outwin"), default="inwin")
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--rate", type=float, default=10)
    ap.add_argument("--mark", type=lambda x: int(x, 0), default=0)
    ap.add_argument("--quote-src")
    ap.add_argument("--quote-sport", type=int)
    ap.add_argument("--wait", type=float, default=10, help="seconds to wait for the flow")
    a = ap.parse_args()
    if not 0 < a.count <= MAX_COUNT or not 0 < a.rate <= MAX_RATE:
        print(f"ptb-inject: --count must be 1..{MAX_COUNT}, --rate 1..{MAX_RATE}", file=sys.stderr)
        return 2
    src, sport, dst = a.flow[0], int(a.flow[1]), a.flow[2]
    v6 = ":" in src
    got = sniff(a.iface, src, sport, dst, a.wait)
    if got is None:
        print(f"ptb-inject: no data segment of {src}:{sport} -> {dst} seen on {a.iface} "
              f"within {a.wait:g} s", file=sys.stderr)
        return 1
    dport, seq, iplen = got
    qseq = seq if a.seq_mode == "inwin" else (seq + (1 << 31)) & 0xFFFFFFFF
    build = build6 if v6 else build4
    pkt = build(a.frm, src, a.mtu, a.quote_src or src, a.quote_sport or sport, dst, dport,
                qseq, iplen)
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_RAW)
    if a.mark:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, a.mark)
    to = (src, 0, 0, 0) if v6 else (src, 0)
    # Bounded rate: send in batches of up to 100, each batch on its own schedule.
    batch = max(1, min(100, int(a.rate / 100)))
    t0 = time.monotonic()
    tried = sent = 0
    while tried < a.count:
        n = min(batch, a.count - tried)
        for _ in range(n):
            try:
                s.sendto(pkt, to)
            except OSError:
                pass  # a full queue at flood rate: "sent" below says what left
            else:
                sent += 1
        tried += n
        due = t0 + tried / a.rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
    print(f"sent {sent} PTB mtu {a.mtu} from {a.frm} to {src} quoting "
          f"{a.quote_src or src}:{a.quote_sport or sport} -> {dst}:{dport} seq {qseq} "
          f"(flow seq {seq}, length {iplen})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
