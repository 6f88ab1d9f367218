#!/usr/bin/env python3
"""Probe for converge.sh: one GET /small every 10 ms (a new connection each, so every request is a fresh
pick), reading which backend answered (the demo backend's body starts with its name).
Usage: converge-probe.py PORT first|last NAME CAP_SECONDS T0
  first: seconds until NAME first answers; prints "> CAP" if it never does within CAP.
  last:  seconds to NAME's last answer, printed once NAME has been absent for 3 s (0.000 if it never
         answered); "> CAP" if it still answers at CAP.
Time counts from T0 (seconds since 1970, taken when nsupdate returned), so start-up is counted. Bounded by CAP and by 100 requests per second."""
import http.client
import sys
import time

port, mode, name, cap = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
# Wall clock for the offset from T0 only; monotonic from here on.
start = time.monotonic() - (time.time() - float(sys.argv[5]))
last = 0.0


def answered_by():
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", "/small")
        body = conn.getresponse().read().decode(errors="replace")
        conn.close()
        return body.split(":", 1)[0]
    except (OSError, http.client.HTTPException):
        return "-"


while True:
    sent = time.monotonic()
    elapsed = sent - start
    if elapsed >= cap:
        print(f"> {cap:g}")
        break
    who = answered_by()
    at = time.monotonic() - start
    if mode == "first" and who == name:
        print(f"{at:.3f}")
        break
    if mode == "last":
        if who == name:
            last = at
        elif at - last >= 3:
            print(f"{last:.3f}")
            break
    time.sleep(max(0.0, 0.01 - (time.monotonic() - sent)))
