#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target into OUTDIR/<target>/: well-formed inputs of every kind the
parser must handle, and the classic malformed ones (compression loops, truncated records, smuggling
attempts). Usage: seeds.py OUTDIR"""
import os
import struct
import sys


def name(text, pointers=None, offset=0):
    """A DNS name in wire form; `pointers` maps a suffix to an earlier offset for compression."""
    out = b""
    labels = text.rstrip(".").split(".") if text not in ("", ".") else []
    for i in range(len(labels)):
        suffix = ".".join(labels[i:])
        if pointers is not None and suffix in pointers:
            return out + struct.pack(">H", 0xC000 | pointers[suffix])
        if pointers is not None:
            pointers[suffix] = offset + len(out)
        label = labels[i].encode()
        out += bytes([len(label)]) + label
    return out + b"\x00"


class Message:
    def __init__(self, qname, qtype, rcode=0, tc=False, ident=0x1234):
        self.buf = b""
        self.ptrs = {}
        flags = 0x8400 | rcode | (0x0200 if tc else 0)
        self.counts = [1, 0, 0, 0]
        self.header = [ident, flags]
        self.body = name(qname, self.ptrs, 12) + struct.pack(">HH", qtype, 1)

    def rr(self, section, owner, rtype, ttl, rdata_fn, rclass=1):
        self.counts[section] += 1
        start = 12 + len(self.body)
        head = name(owner, self.ptrs, start) + struct.pack(">HHI", rtype, rclass, ttl)
        rdata = rdata_fn(start + len(head) + 2)
        self.body += head + struct.pack(">H", len(rdata)) + rdata
        return self

    def a(self, section, owner, ttl, ip):
        return self.rr(section, owner, 1, ttl, lambda _o: bytes(int(x) for x in ip.split(".")))

    def aaaa(self, section, owner, ttl, last):
        return self.rr(section, owner, 28, ttl, lambda _o: b"\x00" * 15 + bytes([last]))

    def cname(self, section, owner, ttl, target):
        return self.rr(section, owner, 5, ttl, lambda o: name(target, self.ptrs, o))

    def srv(self, section, owner, ttl, prio, weight, port, target):
        return self.rr(section, owner, 33, ttl,
                       lambda o: struct.pack(">HHH", prio, weight, port) + name(target, self.ptrs, o + 6))

    def soa(self, section, owner, ttl, minimum):
        def rdata(o):
            mname = name("ns1.svc.test", self.ptrs, o)
            rname = name("hostmaster.svc.test", self.ptrs, o + len(mname))
            return mname + rname + struct.pack(">IIIII", 1, 3600, 600, 86400, minimum)
        return self.rr(section, owner, 6, ttl, rdata)

    def wire(self):
        return struct.pack(">HHHHHH", *self.header, *self.counts) + self.body


def dns_seeds():
    s = {}
    s["a"] = Message("api.svc.test", 1).a(1, "api.svc.test", 30, "127.0.0.1").a(1, "api.svc.test", 20, "127.0.0.2").wire()
    s["aaaa"] = Message("api.svc.test", 28).aaaa(1, "api.svc.test", 30, 1).wire()
    srv = Message("_http._tcp.api.svc.test", 33)
    for i, target in enumerate(["b1.svc.test", "b2.svc.test", "b3.svc.test"]):
        srv.srv(1, "_http._tcp.api.svc.test", 30, 10 + i // 2, 5, 9000 + i, target)
    srv.a(3, "b1.svc.test", 30, "127.0.0.11").aaaa(3, "b2.svc.test", 30, 2)
    s["srv-glue"] = srv.wire()
    big = Message("_big._tcp.svc.test", 33)
    for i in range(40):
        big.srv(1, "_big._tcp.svc.test", 30, 10, 10, 7000 + i, "backend1.svc.test")
    s["srv-40"] = big.wire()
    s["srv-unavailable"] = Message("_http._tcp.gone.svc.test", 33).srv(1, "_http._tcp.gone.svc.test", 30, 0, 0, 0, ".").wire()
    chain = Message("www.svc.test", 1).cname(1, "www.svc.test", 60, "edge.svc.test").cname(1, "edge.svc.test", 50, "lb.svc.test")
    s["cname-chain"] = chain.a(1, "lb.svc.test", 40, "127.0.0.9").wire()
    s["cname-loop"] = Message("x.svc.test", 1).cname(1, "x.svc.test", 60, "y.svc.test").cname(1, "y.svc.test", 60, "x.svc.test").wire()
    s["nxdomain-soa"] = Message("missing.svc.test", 1, rcode=3).soa(2, "svc.test", 5, 2).wire()
    s["nodata-soa"] = Message("api.svc.test", 28).soa(2, "svc.test", 5, 0x80000001).wire()
    s["truncated-flag"] = Message("_big._tcp.svc.test", 33, tc=True).wire()
    whole = s["a"]
    s["truncated-record"] = whole[:-3]
    bad_len = bytearray(whole)
    bad_len[-6:-4] = struct.pack(">H", 200)  # rdlength past the end
    s["rdlength-past-end"] = bytes(bad_len)
    loop = struct.pack(">HHHHHH", 1, 0x8400, 1, 0, 0, 0) + struct.pack(">H", 0xC00C) + struct.pack(">HH", 1, 1)
    s["compression-loop"] = loop
    forward = struct.pack(">HHHHHH", 1, 0x8400, 1, 0, 0, 0) + b"\x03api" + struct.pack(">H", 0xC020) + struct.pack(">HH", 1, 1)
    s["compression-forward"] = forward
    # NOTIFY (opcode 4) for svc.test with an SOA serial, unsigned and signed (hmac-sha256 TSIG, as BIND sends it).
    notify = Message("svc.test", 6).soa(1, "svc.test", 0, 2)
    notify.header[1] = 0x2400
    s["notify"] = notify.wire()
    signed = Message("svc.test", 6).soa(1, "svc.test", 0, 2)
    signed.header[1] = 0x2400
    signed.rr(3, "testdns-key", 250, 0, lambda _o: name("hmac-sha256") + struct.pack(">HIHH", 0, 1796302634, 300, 32)
              + bytes(range(32)) + struct.pack(">HHH", 0x1234, 0, 0), rclass=255)
    s["notify-tsig"] = signed.wire()
    return s


def request_seeds():
    s = {
        "get": b"GET /api/users?id=1 HTTP/1.1\r\nHost: api\r\nAccept: */*\r\n\r\n",
        "post-length": b"POST /submit HTTP/1.1\r\nHost: api\r\nContent-Length: 11\r\n\r\nhello world",
        "post-chunked": b"POST /up HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
        "pipelined": b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n",
        "upgrade": b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x05hello",
        "http10": b"GET / HTTP/1.0\r\n\r\n",
        "cl-te": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "two-cl": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
        "obs-fold": b"GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n",
        "bare-lf": b"GET / HTTP/1.1\nHost: a\n\n",
        "space-colon": b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        "absolute-form": b"GET http://api.svc.test/x HTTP/1.1\r\nHost: api.svc.test\r\n\r\n",
        "h2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    }
    # The first byte of each input is the read size minus one.
    return {k: bytes([i * 37 % 256]) + v for i, (k, v) in enumerate(s.items())}


def response_seeds():
    s = {
        "length": (0, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
        "chunked": (0, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        "dechunk": (2, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX: y\r\n\r\n"),
        "no-content": (0, b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"),
        "continue": (0, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        "until-close": (0, b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nall the rest until close"),
        "switching": (0, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi"),
        "head": (1, b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"),
        "keep-alive-two": (0, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
        "conflicting-length": (0, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        "bad-chunk": (0, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
    }
    return {k: bytes([flags | ((i * 11 % 64) << 2)]) + v for i, (k, (flags, v)) in enumerate(s.items())}


def client_connection_seeds():
    """Inputs for FuzzClientConnection: 4 control bytes, the client's stream, the marker 00 3d 00, the upstream
    script (response bytes; 00 and a letter is a command: c close, e error, i to an idle connection, t 5 ms pass,
    x client closes, d drain; any other letter just ends a read)."""
    def seed(client, upstream=b"", client_read=0, upstream_read=0, flags=0, more=0):
        return bytes([client_read, upstream_read, flags, more]) + client + b"\x00=\x00" + upstream

    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    get = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
    end = b"\x00|"  # a no-op command: ends the upstream read
    retries_two = (2 << 3) | 0x20  # two retries, two addresses
    s = {
        "get": seed(get, ok),
        "keep-alive-pair": seed(get + b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n", ok + end + b"HTTP/1.1 204 No Content\r\n\r\n",
                                client_read=len(get)),
        "pipelined-three": seed(b"".join(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(3)),
                                ok + end + b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n" + end
                                + b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
        "post-length": seed(b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world",
                            b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", client_read=20, upstream_read=7),
        "post-chunked": seed(b"POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n6\r\n world\r\n0\r\nT: x\r\n\r\n",
                             b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone", client_read=9),
        "upgrade": seed(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
                        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x02hi"
                        + end + b"raw bytes back\x00\x00" + b"\x00c", client_read=40),
        "malformed-head": seed(b"GET /a HTTP/1.1\r\nHo st: x\r\n\r\n"),
        "cl-te": seed(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + get),
        "garbage": seed(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(32))),
        "http10": seed(b"GET /old HTTP/1.0\r\n\r\n",
                       b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
        "http10-keep-alive": seed(b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + get, ok + end + ok),
        "retry-after-close": seed(get, b"\x00c" + ok, flags=retries_two),
        "error-then-next": seed(get + get, b"\x00e" + ok, flags=retries_two),
        "close-mid-response": seed(get + get, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial\x00c", flags=retries_two),
        "until-close": seed(get, b"HTTP/1.0 200 OK\r\n\r\nuntil " + end + b"close\x00c"),
        "continue": seed(b"PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\ndata",
                         b"HTTP/1.1 100 Continue\r\n\r\n" + end + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                         client_read=70),
        "early-413": seed(b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789" + b"x" * 40,
                          b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\n\r\ntoo big!", client_read=64),
        "body-limit": seed(b"POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n",
                           ok, client_read=30, flags=1),
        "head": seed(b"HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n" + get,
                     b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n" + end + ok),
        "routes-by-target": seed(b"".join(b"GET /%c HTTP/1.1\r\nHost: x\r\n\r\n" % c for c in b"abcd"),
                                 ok + end + ok, flags=4),
        "refused-with-body": seed(b"POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + get, flags=3),
        "timeouts": seed(b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab", b"\x00t\x00t" + ok, more=0x0b),
        "head-timeout": seed(b"GET /partial HTTP/1.1\r\nHo", b"\x00t", more=0x01),
        "client-gone": seed(get, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345\x00x"),
        "stray-idle": seed(get, b"\x00iHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" + end + ok, flags=0x20),
        "drain": seed(get + get, ok + end + ok, more=0x80),
        "one-request-per-connection": seed(get + get, ok + end + ok, flags=0x40),
    }
    return s


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for target, seeds in (("FuzzDNSMessage", dns_seeds()), ("FuzzRequestFramer", request_seeds()),
                          ("FuzzResponseFramer", response_seeds()),
                          ("FuzzClientConnection", client_connection_seeds())):
        folder = os.path.join(sys.argv[1], target)
        os.makedirs(folder, exist_ok=True)
        for key, data in seeds.items():
            with open(os.path.join(folder, "seed-" + key), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
