#!/usr/bin/env python3
"""Writes changes through node A's Admin API at a steady rate and measures, for each, the time from A's 201
until it takes effect on node C's proxy: a new route answers, or a removed target gets no more traffic.
Usage: propagation.py ADMIN_A PROXY_C BACKEND_ONE_PORT BACKEND_TWO_PORT COUNT RATE"""
import http.client, json, statistics, sys, time

admin_a, proxy_c, one, two, count, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])

def admin(method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", int(admin_a), timeout=5)
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    text = response.read()
    conn.close()
    return response.status, text

proxy = http.client.HTTPConnection("127.0.0.1", proxy_c, timeout=5)
def get(path):
    global proxy
    try:
        proxy.request("GET", path)
        response = proxy.getresponse()
        return response.status, response.read()
    except Exception:
        proxy.close()
        proxy = http.client.HTTPConnection("127.0.0.1", proxy_c, timeout=5)
        return 0, b""

def wait(condition, limit=10.0):
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if condition():
            return True
        time.sleep(0.0005)
    return False

# The upstream whose targets change, behind one route.
assert admin("POST", "/upstreams", {"name": "bench.upstream"})[0] == 201
assert admin("POST", "/services", {"name": "bench", "host": "bench.upstream"})[0] == 201
assert admin("POST", "/services/bench/routes", {"name": "bench", "paths": ["/bench"]})[0] == 201
assert admin("POST", "/services", {"name": "plain", "url": "http://127.0.0.1:%d" % one})[0] == 201
assert admin("POST", "/upstreams/bench.upstream/targets", {"target": "127.0.0.1:%d" % one})[0] == 201

kinds = {"route": [], "target": []}
lost = []
interval = 1.0 / rate
next_at = time.monotonic()
for i in range(count):
    now = time.monotonic()
    if next_at > now:
        time.sleep(next_at - now)
    next_at += interval
    if i % 2 == 0:
        # A new route answers on C.
        status, _ = admin("POST", "/services/plain/routes", {"name": "r%d" % i, "paths": ["/r%d" % i]})
        written = time.monotonic()
        ok = status == 201 and wait(lambda: get("/r%d" % i)[0] == 200)
        kind = "route"
    else:
        # Add target two, then remove it: C stops sending to it (10 answers in a row from one).
        assert admin("PUT", "/upstreams/bench.upstream/targets/127.0.0.1:%d" % two, {"weight": 100})[0] in (200, 201)
        wait(lambda: b"two" in get("/bench")[1] or b"two" in get("/bench")[1], 5)
        status, _ = admin("DELETE", "/upstreams/bench.upstream/targets/127.0.0.1:%d" % two)
        written = time.monotonic()
        def gone():
            return all(b"two" not in get("/bench")[1] for _ in range(10))
        ok = status == 204 and wait(gone)
        kind = "target"
    if ok:
        kinds[kind].append((time.monotonic() - written) * 1000)
    else:
        lost.append(i)

def summary(values):
    if not values:
        return "none"
    values = sorted(values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return "n=%d median %.1f ms, p99 %.1f ms, max %.1f ms" % (len(values), statistics.median(values), p99, values[-1])

print("routes:  " + summary(kinds["route"]))
print("targets: " + summary(kinds["target"]))
print("all:     " + summary(kinds["route"] + kinds["target"]))
print("not seen within 10 s: %d" % len(lost))
