#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# A small TLS server whose sockets set IP_MTU_DISCOVER / IPV6_MTU_DISCOVER to a chosen mode, so
# that the lab has a sender with Linux's per-socket PMTU settings (DONT and PROBE clear DF).
# Answers every HTTP-ish request with a short body and closes. Bounded by the caller's timeout.
#
#   tls-pmtu-server.py ADDR PORT CERTFILE KEYFILE {dont|want|do|probe}
# CERTFILE holds the leaf followed by its chain (the first flight is then several kB).
import socket
import ssl
import sys
import threading

# linux/in.h and linux/in6.h; Python's socket module does not export them everywhere
IP_MTU_DISCOVER = 10
IPV6_MTU_DISCOVER = 23
MODES = {"dont": 0, "want": 1, "do": 2, "probe": 3}


def set_mode(sock, fam, mode):
    if fam == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, mode)
    else:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, mode)


def serve(conn, ctx, fam, mode):
    try:
        set_mode(conn, fam, mode)
        conn.settimeout(10)
        with ctx.wrap_socket(conn, server_side=True) as tls:
            try:
                tls.recv(4096)
            except (OSError, ssl.SSLError):
                pass
            tls.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()


def main():
    if len(sys.argv) != 6 or sys.argv[5] not in MODES:
        sys.stderr.write("usage: tls-pmtu-server.py ADDR PORT CERTFILE KEYFILE {dont|want|do|probe}\n")
        return 2
    addr, port, cert, key, mname = sys.argv[1:]
    mode = MODES[mname]
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # on the listener too: the SYN-ACK is built from the listening socket
    set_mode(ls, fam, mode)
    ls.bind((addr, int(port)))
    ls.listen(64)
    print("listening %s %s mode=%s" % (addr, port, mname), flush=True)
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve, args=(conn, ctx, fam, mode), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
