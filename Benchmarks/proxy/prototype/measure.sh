#!/usr/bin/env bash
# CPU cost per request of the epoll-relay prototype in front of the same four nginx backends as
# profile.sh: requests/s, user and kernel CPU microseconds per request read from /proc around one
# wrk run (-t1, after a warm-up). Output line in profile.sh's format. See README.md.
set -euo pipefail
BENCH_SCRIPT=measure.sh
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

usage() {
    cat <<'EOF2'
Usage: Benchmarks/proxy/prototype/measure.sh [options]
  --mode raw|parse    relay bytes only (default), or also frame HTTP messages (epoll-relay --parse)
  --duration S        seconds of measured load (default 8)
  --warmup S          seconds of unmeasured load first (default 2)
  --connections N     wrk connections, one wrk thread (default 64)
  --size small|4k     response size (default small)
  --syscalls          also count the relay's system calls per request (perf syscall tracepoints)
  --bin PATH          epoll-relay binary (default /tmp/proto-build/release/epoll-relay; build with
                      swift build -c release --package-path Benchmarks/proxy/prototype --scratch-path /tmp/proto-build)
EOF2
}

mode=raw
duration=8
warmup=2
connections=64
size=small
bin=/tmp/proto-build/release/epoll-relay
syscalls=0
while (($#)); do
    case "$1" in
        --mode) mode="${2:?}"; shift 2 ;;
        --duration) duration="${2:?}"; shift 2 ;;
        --warmup) warmup="${2:?}"; shift 2 ;;
        --connections) connections="${2:?}"; shift 2 ;;
        --size) size="${2:?}"; shift 2 ;;
        --bin) bin="${2:?}"; shift 2 ;;
        --syscalls) syscalls=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; bench_die "unknown argument: $1" ;;
    esac
done
case "$mode" in raw | parse) ;; *) bench_die "--mode takes raw or parse" ;; esac
case "$size" in small | 4k) ;; *) bench_die "--size takes small or 4k" ;; esac
for v in "$duration" "$warmup" "$connections"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || bench_die "--duration, --warmup and --connections take positive integers"
done
[[ -x "$bin" ]] || bench_die "no epoll-relay at $bin (see --help for the build command)"

bench_need_tools wrk nginx curl ss timeout
[[ "$syscalls" == 0 ]] || bench_need_tools perf
bench_init
bench_start_backends

bench_pick_port; port="$REPLY"
flags=()
[[ "$mode" == parse ]] && flags=(--parse)
bench_start epoll-relay "$BENCH_DIR/epoll-relay.log" "$bin" "${flags[@]}" "$port" "${BACKEND_PORTS[@]}"
pid="$BENCH_LAST_PID"
bench_wait_proxy epoll-relay "$pid" "$port" 10 || bench_die "epoll-relay did not start"

# CPU ticks (user, system) of the relay (one process, one thread).
cpu_ticks() {
    local fields
    read -r -a fields < <(sed 's/^.*) //' "/proc/$pid/stat")
    echo "${fields[11]} ${fields[12]}"
}

bench_wrk "$BENCH_DIR/warmup.txt" "$warmup" "$connections" "$BENCH_HOME/lua/report.lua" "http://127.0.0.1:$port/$size" || true
read -r u0 s0 < <(cpu_ticks)
stat_pid=""
if [[ "$syscalls" == 1 ]]; then
    perf stat -x, -e 'syscalls:sys_enter_*' -p "$pid" -o "$BENCH_DIR/syscalls.csv" \
        -- sleep "$duration" >"$BENCH_DIR/perf-stat.log" 2>&1 &
    stat_pid=$!
fi
bench_wrk "$BENCH_DIR/wrk.txt" "$duration" "$connections" "$BENCH_HOME/lua/report.lua" "http://127.0.0.1:$port/$size"
read -r u1 s1 < <(cpu_ticks)
[[ -z "$stat_pid" ]] || wait "$stat_pid" || true

requests="$(bench_wrk_field "$BENCH_DIR/wrk.txt" requests)"
rps="$(bench_wrk_field "$BENCH_DIR/wrk.txt" rps)"
p50="$(bench_wrk_field "$BENCH_DIR/wrk.txt" p50_us)"
p99="$(bench_wrk_field "$BENCH_DIR/wrk.txt" p99_us)"
bad="$(bench_wrk_field "$BENCH_DIR/wrk.txt" status)"
errors="$(bench_socket_error_total "$BENCH_DIR/wrk.txt")"
hz="$(getconf CLK_TCK)"
awk -v n="$requests" -v u="$((u1 - u0))" -v s="$((s1 - s0))" -v hz="$hz" -v rps="$rps" -v p50="$p50" -v p99="$p99" \
    -v proxy="epoll-relay-$mode" -v size="$size" 'BEGIN {
        if (n <= 0) { print "no requests completed"; exit 1 }
        printf "%s workers=1 size=%s: %.0f req/s, p50 %s us, p99 %s us; CPU per request: %.1f us user + %.1f us kernel = %.1f us\n",
            proxy, size, rps, p50, p99, u / hz * 1e6 / n, s / hz * 1e6 / n, (u + s) / hz * 1e6 / n }'
if [[ "$syscalls" == 1 ]]; then
    awk -F, -v n="$requests" '$1 ~ /^[0-9]+$/ {
            name = $3; sub("^syscalls:sys_enter_", "", name); total += $1; count[name] = $1 }
        END {
            if (n <= 0) exit
            printf "system calls per request: %.2f (", total / n
            sep = ""
            for (k in count) if (count[k] / n >= 0.01) { printf "%s%s %.2f", sep, k, count[k] / n; sep = ", " }
            print ")" }' "$BENCH_DIR/syscalls.csv"
fi
((bad == 0 && errors == 0)) || bench_log "warning: $bad non-2xx responses, $errors socket errors"
# Stop the relay (SIGTERM) and show its summary line: connections, reads, heads framed.
bench_stop "$pid"
grep 'stopped' "$BENCH_DIR/epoll-relay.log" >&2 || bench_log "warning: epoll-relay printed no summary on SIGTERM"
