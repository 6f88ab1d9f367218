#!/usr/bin/env bash
# Discovery load: N watched names with TTL T against a local BIND9 from testdns/, for D seconds.
# Prints queries per second sustained and the resolver's CPU share (process CPU time / wall time).
#
# Usage: Benchmarks/discovery/watch-names.sh [--names 1000] [--ttl 1] [--duration 30]
# Needs a release build: swift build -c release --product switchyard
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
names=1000 ttl=1 duration=30
while [[ $# -gt 0 ]]; do
  case "$1" in
    --names) names=$2; shift 2 ;;
    --ttl) ttl=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bin=${SWITCHYARD_BIN:-$root/.build/release/switchyard}
[[ -x "$bin" ]] || { echo "no switchyard binary at $bin: run 'swift build -c release --product switchyard' first" >&2; exit 1; }
"$root/scripts/install-deps"

env_out=$("$root/testdns/start" --owner $$)
eval "$env_out"
trap '"$root/testdns/stop" --remove "$TESTDNS_DIR" >/dev/null 2>&1 || true; rm -f "$list"' EXIT
list=$(mktemp)
for i in $(seq 1 "$names"); do
  echo "update add n$i.svc.test. $ttl IN A 127.0.$(( (i / 250) % 256 )).$(( i % 250 + 1 ))"
  echo "n$i.svc.test" >> "$list"
done | "$root/testdns/register-batch" "$TESTDNS_DIR"

echo "watching $names names, TTL ${ttl}s, for ${duration}s against BIND9 at $TESTDNS_SERVER" >&2
"$bin" watch --names-file "$list" --quiet --summary --duration "$duration" --family ipv4 \
  --server "$TESTDNS_SERVER" --min-ttl 1
named_cpu=$(awk '{print ($14 + $15) / 100}' "/proc/$TESTDNS_PID/stat")
echo "named_cpu_seconds_total=$named_cpu"
