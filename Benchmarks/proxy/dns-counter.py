#!/usr/bin/env python3
"""A UDP DNS relay that counts queries: proxies under test ask it, it asks BIND, so the queries each proxy
sends are measured rather than guessed. Usage: dns-counter.py LISTEN_PORT SERVER_PORT COUNT_FILE.
Every 0.2 s it writes the number of queries relayed so far to COUNT_FILE. Loopback only."""
import os
import select
import socket
import sys
import time

listen_port, server_port, count_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
front.bind(("127.0.0.1", listen_port))
back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
back.bind(("127.0.0.1", 0))
pending = {}  # (query id) -> (client address, time)
count = 0
written = 0.0
while True:
    ready, _, _ = select.select([front, back], [], [], 0.2)
    for sock in ready:
        data, peer = sock.recvfrom(65535)
        if len(data) < 12:
            continue
        key = data[:2]
        if sock is front:
            count += 1
            pending[key] = (peer, time.time())
            back.sendto(data, ("127.0.0.1", server_port))
        elif key in pending:
            front.sendto(data, pending.pop(key)[0])
    now = time.time()
    if now - written >= 0.2:
        for key in [k for k, (_, t) in pending.items() if now - t > 10]:
            del pending[key]
        with open(count_file + ".new", "w") as f:
            f.write(f"{count}\n")
        os.replace(count_file + ".new", count_file)
        written = now
