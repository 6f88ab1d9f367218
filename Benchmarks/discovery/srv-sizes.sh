#!/usr/bin/env bash
# Resolves one SRV name holding N records that all point at one host, with `switchyard resolve`, R times
# per N over UDP and R times over TCP, against a BIND9 from testdns/. Prints a table of how many runs
# exited 0 with all N entries, and how many crashed (killed by a signal). Release builds before the fix
# of the task-group tuple miscompile crashed here from N = 20 (docs/testing.md).
#
# Usage: Benchmarks/discovery/srv-sizes.sh [--runs 6] [--sizes "1 10 20 30 60 90 150 300"] [--switchyard PATH]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=6
sizes="1 10 20 30 60 90 150 300"
bin=${SWITCHYARD_BIN:-$root/.build/release/switchyard}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --switchyard) bin=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -x "$bin" ]] || { echo "no switchyard binary at $bin: run 'swift build -c release --product switchyard' first" >&2; exit 1; }
"$root/scripts/install-deps"
eval "$("$root/testdns/start" --owner $$)"
trap '"$root/testdns/stop" --remove "$TESTDNS_DIR" >/dev/null 2>&1 || true' EXIT
"$root/testdns/register" "$TESTDNS_DIR" backend1.svc.test A 127.0.0.1 --ttl 30 2>/dev/null

echo "| N | UDP: intact | UDP: crashed | TCP: intact | TCP: crashed |"
echo "|---:|---:|---:|---:|---:|"
crashes=0
for n in $sizes; do
  {
    echo "update delete _big._tcp.svc.test. SRV"
    for ((i = 1; i <= n; i++)); do echo "update add _big._tcp.svc.test. 30 IN SRV 10 10 $((7000 + i)) backend1.svc.test."; done
  } | "$root/testdns/register-batch" "$TESTDNS_DIR" >/dev/null 2>&1
  row="| $n |"
  for transport in udp tcp; do
    intact=0 crashed=0
    flags=()
    [[ $transport == tcp ]] && flags=(--tcp)
    for ((r = 0; r < runs; r++)); do
      set +e
      out=$(SWIFT_BACKTRACE=enable=no "$bin" resolve _big._tcp.svc.test --type SRV --server "$TESTDNS_SERVER" \
        --family ipv4 --timeout-ms 3000 "${flags[@]}" 2>&1)
      rc=$?
      set -e
      if ((rc >= 128)); then
        crashed=$((crashed + 1))
      elif ((rc == 0)) && [[ $(grep -c $'\tIN\tSRV\t' <<<"$out") -eq $n ]] && [[ $(grep -c 'IN	A	127.0.0.1' <<<"$out") -eq $n ]]; then
        intact=$((intact + 1))
      fi
    done
    crashes=$((crashes + crashed))
    row+=" $intact of $runs | $crashed |"
  done
  echo "$row"
done
echo "binary: $bin"
((crashes == 0))
