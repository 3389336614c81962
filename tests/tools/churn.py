#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Open and close N TCP connections to a server of our own, one after the other.

churn.py ADDR PORT N [HOLD]: the server (a thread) answers one byte and closes first, as a busy
web server does, so each client goes CLOSE_WAIT -> LAST_ACK -> CLOSE and each server socket
FIN_WAIT1 -> FIN_WAIT2 -> CLOSE. Prints "done K" with K the exchanges that completed. With HOLD,
then opens HOLD more connections, prints "holding HOLD" and keeps them open until stdin closes.
"""
import socket
import sys
import threading

addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hold = int(sys.argv[4]) if len(sys.argv) > 4 else 0
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
srv = socket.socket(fam, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port))
srv.listen(512)
held = []


def serve():
    while True:
        c, _ = srv.accept()
        if c.recv(1) == b"q":
            c.sendall(b"a")
            c.close()
        else:
            held.append(c)


threading.Thread(target=serve, daemon=True).start()
done = 0
for _ in range(n):
    c = socket.socket(fam, socket.SOCK_STREAM)
    c.settimeout(5)
    try:
        c.connect((addr, port))
        c.sendall(b"q")
        if c.recv(1) == b"a" and c.recv(1) == b"":
            done += 1
    except OSError:
        pass
    c.close()
print("done", done, flush=True)
if hold:
    mine = []
    for _ in range(hold):
        c = socket.create_connection((addr, port), timeout=5)
        c.sendall(b"h")
        mine.append(c)
    print("holding", hold, flush=True)
    sys.stdin.read()
