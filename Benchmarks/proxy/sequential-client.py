# N sequential GET /small on 127.0.0.1:PORT, taking CONNS keep-alive connections in turn; exits non-zero unless
# every answer is 200 "ok\n". One request at a time keeps the proxy's work the same from run to run.
# Usage: python3 sequential-client.py PORT N CONNS   (used by instructions.sh and prototype/instructions.sh)
import http.client, sys, time
port, n, conns = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
cs = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(conns)]
bad = 0
start = time.monotonic()
for i in range(n):
    c = cs[i % conns]
    c.request("GET", "/small")
    r = c.getresponse()
    if r.status != 200 or r.read() != b"ok\n":
        bad += 1
for c in cs:
    c.close()
print(f"requests={n} bad={bad} seconds={time.monotonic() - start:.2f}")
sys.exit(1 if bad else 0)
