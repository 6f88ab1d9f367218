#!/usr/bin/env python3
"""Answers every DNS NOTIFY on 127.0.0.1:PORT with NOERROR (the request echoed with QR and AA set), so BIND
is never left retrying unanswered NOTIFYs while converge.sh runs a case without a NOTIFY listener; an
unanswered NOTIFY is retried for a while and holds up the zone's next one. Usage: notify-sink.py PORT"""
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, peer = sock.recvfrom(65535)
    if len(data) >= 12 and not data[2] & 0x80:
        sock.sendto(data[:2] + bytes([data[2] | 0x84, data[3] & 0xF0]) + data[4:], peer)
