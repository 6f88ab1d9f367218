#!/usr/bin/env bash
# Soak of the discovery loop under traffic: one SRV name whose record set changes every second, cycling
# through sizes 1, 20, 50, 90, 150 and 300 records (from 90 on the answer no longer fits UDP and comes
# over TCP), every record's target an in-zone name (BIND adds glue when it fits) and every tenth target a
# name that does not exist (NXDOMAIN). wrk drives GET /small through `switchyard start` all the while.
#
# Reports: crashes of the node (must be 0), failed requests (non-2xx and socket errors; must be 0, since
# every target that exists answers), the node's RSS after warm-up and at the end, and the resolver's
# queries per second (from /metrics).
#
# Usage: Benchmarks/discovery/soak.sh [--duration 600] [--connections 16] [--switchyard PATH] [--out FILE]
# Needs a release build: swift build -c release --product switchyard
set -euo pipefail
BENCH_SCRIPT=soak.sh
# shellcheck source=../proxy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../proxy/lib.sh"

duration=600
connections=16
sizes=(1 20 50 90 150 300)
sy_arg=""
out=""
while (($#)); do
    case "$1" in
        --duration) duration="${2:?}"; shift 2 ;;
        --connections) connections="${2:?}"; shift 2 ;;
        --switchyard) sy_arg="${2:?}"; shift 2 ;;
        --out) out="${2:?}"; shift 2 ;;
        --keep) BENCH_KEEP=1; shift ;;
        -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
        *) bench_die "unknown argument: $1" ;;
    esac
done
[[ "$duration" =~ ^[1-9][0-9]*$ && "$connections" =~ ^[1-9][0-9]*$ ]] || bench_die "--duration and --connections take positive integers"
"$BENCH_REPO/scripts/install-deps"
bench_need_tools wrk nginx curl ss timeout
bench_init
sy_bin="$(bench_switchyard_bin "$sy_arg")"
[[ -x "$sy_bin" ]] || bench_die "no switchyard binary at $sy_bin: run 'swift build -c release --product switchyard' first"
testdns="$BENCH_REPO/testdns"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"

bench_start_backends

dns_dir=""
trap '[[ -z "$dns_dir" ]] || "$testdns/stop" --remove "$dns_dir" >/dev/null 2>&1 || true; bench_cleanup' EXIT
env_out="$("$testdns/start" --owner $$)" || bench_die "testdns/start failed"
while IFS= read -r line; do
    case "$line" in
        TESTDNS_PORT=*) dns_port="${line#*=}" ;;
        TESTDNS_DIR=*) dns_dir="${line#*=}" ;;
    esac
done <<<"$env_out"
srv_name="_soak._tcp.svc.test"
max=${sizes[-1]}
# Targets t1..tN: every tenth does not exist; the others are A 127.0.0.1, served on one of the backends.
for ((i = 1; i <= max; i++)); do
    ((i % 10 == 0)) || echo "update add t$i.svc.test. 30 IN A 127.0.0.1"
done | "$testdns/register-batch" "$dns_dir" >/dev/null
# record_set N: one update message that replaces the SRV set with N records (TTL 1 s).
record_set() {
    local n="$1" i
    echo "update delete $srv_name. SRV"
    for ((i = 1; i <= n; i++)); do
        echo "update add $srv_name. 1 IN SRV 10 10 ${BACKEND_PORTS[i % 4]} t$i.svc.test."
    done
}
record_set 20 | "$testdns/register-batch" "$dns_dir" >/dev/null

bench_pick_port; proxy_port="$REPLY"
bench_pick_port; admin_port="$REPLY"
bench_switchyard_yaml "$BENCH_DIR/soak.yaml" "  - target: $srv_name"$'\n'"    weight: 100" "" ""
SWITCHYARD_ADMIN_LISTEN="127.0.0.1:$admin_port" bench_start_switchyard soak "$sy_bin" "$BENCH_DIR/soak.yaml" \
    "$proxy_port" 1 --dns-server "127.0.0.1:$dns_port"
sy_pid="$BENCH_LAST_PID"
bench_wait_proxy soak "$sy_pid" "$proxy_port" 30 || bench_die "switchyard did not start"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# Every query the resolver sent: SRV refreshes and the lookups of their targets' addresses.
queries() {
    curl -fsS -m 2 "http://127.0.0.1:$admin_port/metrics" 2>/dev/null |
        awk '$1 == "switchyard_dns_resolver_queries_total" { print $2 }'
}

log="$BENCH_DIR/wrk.log"
bench_start wrk "$log" timeout -k 5 "$((duration + 30))" \
    wrk -t1 -c"$connections" -d"${duration}s" --timeout 5s -s "$BENCH_HOME/lua/status.lua" \
    "http://127.0.0.1:$proxy_port/small"
wrk_pid="$BENCH_LAST_PID"
t0=$(date +%s.%N)
start_queries=""
rss_start=0
changes=0 sec=0 crashed=0
while bench_alive "$wrk_pid"; do
    if ! bench_alive "$sy_pid"; then
        crashed=1
        bench_log "switchyard (pid $sy_pid) died at +${sec}s; its log:"
        bench_tail_log "$BENCH_DIR/soak.log" 40
        break
    fi
    n=${sizes[$((sec % ${#sizes[@]}))]}
    record_set "$n" | "$testdns/register-batch" "$dns_dir" >/dev/null 2>&1 && changes=$((changes + 1)) ||
        bench_log "warning: update to $n records failed at +${sec}s"
    if ((sec == 30)); then
        rss_start=$(rss_kib "$sy_pid")
        start_queries=$(queries)
        q_t0=$(date +%s.%N)
    fi
    ((sec % 60 == 0)) && bench_log "+${sec}s: RSS $(rss_kib "$sy_pid") KiB, $(queries) resolver queries so far"
    sec=$((sec + 1))
    bench_sleep_until "$(awk -v t="$t0" -v s="$sec" 'BEGIN { printf "%.3f", t + s }')"
done
rss_end=$(rss_kib "$sy_pid")
end_queries=$(queries)
q_t1=$(date +%s.%N)
wait "$wrk_pid" || true
bench_forget "$wrk_pid"
bench_alive "$sy_pid" || crashed=1

requests="$(bench_wrk_field "$log" requests)"
read -r _ non2xx < <(bench_window "$log" 0 9999999999)
sockets="$(bench_socket_error_total "$log")"
qps="n/a"
if [[ -n "$start_queries" && -n "$end_queries" ]]; then
    qps=$(awk -v a="$start_queries" -v b="$end_queries" -v t0="$q_t0" -v t1="$q_t1" 'BEGIN { printf "%.1f", (b - a) / (t1 - t0) }')
fi
[[ -n "$out" ]] || out="$BENCH_HOME/../proxy/results/$stamp-discovery-soak.md"
mkdir -p "$(dirname "$out")"
{
    printf '# Discovery soak, %s\n\n' "$stamp"
    printf 'Command: `Benchmarks/discovery/soak.sh --duration %s --connections %s`; binary %s\n\n' "$duration" "$connections" "$sy_bin"
    printf '| seconds | record-set changes | crashes | requests | non-2xx | socket errors | RSS after 30 s | RSS at end | resolver queries/s |\n'
    printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
    printf '| %s | %s | %s | %s | %s | %s | %s MiB | %s MiB | %s |\n' "$sec" "$changes" "$crashed" "${requests:-0}" \
        "$non2xx" "$sockets" "$((rss_start / 1024))" "$((rss_end / 1024))" "$qps"
    printf '\nnon-2xx by status: %s\n' "$(bench_bad_statuses "$log")"
} | tee "$out"
bench_log "results in $out"
((crashed == 0 && non2xx == 0 && sockets == 0)) || exit 1
