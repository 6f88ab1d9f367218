#!/usr/bin/env bash
# Propagation through a three-node cluster on loopback: a private PostgreSQL 15, three `switchyard start`
# nodes on it, two demo backends; propagation.py writes COUNT changes (routes and target removals) through node A
# at RATE per second and measures each one's time from A's 201 until it takes effect on node C.
# Usage: Benchmarks/cluster/propagation.sh [COUNT (1000)] [RATE (20)]   (SWITCHYARD_BIN: the binary)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
count=${1:-1000}
rate=${2:-20}
bin=${SWITCHYARD_BIN:-$root/.build/release/switchyard}
[[ -x "$bin" ]] || { echo "propagation: no binary at $bin (swift build -c release)" >&2; exit 1; }
work=$(mktemp -d)
chmod 755 "$work"
pids=()
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_postgres() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ -f "$work/pg/data/postmaster.pid" ]] && kill -INT "$(head -1 "$work/pg/data/postmaster.pid")" 2>/dev/null || true
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir "$work/pg"
[[ $(id -u) -eq 0 ]] && chown postgres "$work/pg"
pg_port=$(free_port)
as_postgres "$pgbin/initdb" -D "$work/pg/data" -U switchyard -A trust --no-sync -E UTF8 >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
  -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1" start >/dev/null
psql -X -h 127.0.0.1 -p "$pg_port" -U switchyard -d postgres -qc 'CREATE DATABASE switchyard'
database="postgres://switchyard@127.0.0.1:$pg_port/switchyard"
"$bin" migrations up --database "$database" >/dev/null

one=$(free_port); two=$(free_port)
"$bin" demo-backend --port "$one" --name one >/dev/null & pids+=($!)
"$bin" demo-backend --port "$two" --name two >/dev/null & pids+=($!)
declare -A proxy admin
for node in a b c; do
  proxy[$node]=$(free_port); admin[$node]=$(free_port)
  SWITCHYARD_DB_CACHE_FILE="$work/$node-cache.json" SWITCHYARD_CONTROL_SOCKET=off SWITCHYARD_WORKERS=1 \
    "$bin" start --database "$database" --proxy-listen "127.0.0.1:${proxy[$node]}" \
    --admin-listen "127.0.0.1:${admin[$node]}" >"$work/$node.log" 2>&1 & pids+=($!)
done
for node in a b c; do
  for _ in $(seq 100); do grep -q "proxy listening" "$work/$node.log" && break; sleep 0.1; done
done
echo "3 nodes on $database; $count changes at $rate/s through A, measured on C"
python3 "$root/Benchmarks/cluster/propagation.py" "${admin[a]}" "${proxy[c]}" "$one" "$two" "$count" "$rate"
