#!/usr/bin/env bash
# User-space instructions per proxied request of epoll-relay (raw and --parse) under callgrind,
# the same method as ../instructions.sh uses for Switchyard: one nginx backend, sequential
# `GET /small` over 4 keep-alive connections, per request = (I(B) - I(A)) / (B - A) where I is the
# relay's whole-process count from start to SIGTERM (start-up and the readiness probe cancel out).
set -euo pipefail
BENCH_SCRIPT=instructions.sh
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

bin=/tmp/proto-build/release/epoll-relay
requests="500,2500"
while (($#)); do
    case "$1" in
        --bin) bin="${2:?}"; shift 2 ;;
        --requests) requests="${2:?}"; shift 2 ;;
        -h | --help) echo "Usage: Benchmarks/proxy/prototype/instructions.sh [--bin PATH] [--requests 500,2500]"; exit 0 ;;
        *) bench_die "unknown argument: $1" ;;
    esac
done
IFS=, read -r n_small n_large <<<"$requests"
[[ "$n_small" =~ ^[1-9][0-9]*$ && "$n_large" =~ ^[1-9][0-9]*$ ]] && ((n_large > n_small)) ||
    bench_die "--requests takes A,B with B > A"
[[ -x "$bin" ]] || bench_die "no epoll-relay at $bin"
bench_need_tools nginx curl ss timeout valgrind python3
bench_init
# valgrind 3.19 cannot read the DWARF 5 debug sections Swift emits.
objcopy --strip-debug "$bin" "$BENCH_DIR/epoll-relay" || bench_die "objcopy --strip-debug failed"

bench_make_bodies
bench_pick_port
BACKEND_PORTS[0]="$REPLY"
bench_start_backend 0


# run_one MODE N: total instructions of one relay process that served N requests.
run_one() {
    local mode="$1" n="$2" port pid out
    local -a flags=()
    [[ "$mode" == parse ]] && flags=(--parse)
    bench_pick_port; port="$REPLY"
    out="$BENCH_DIR/callgrind-$mode-$n.out"
    bench_start "relay-$mode-$n" "$BENCH_DIR/relay-$mode-$n.log" \
        valgrind --tool=callgrind --callgrind-out-file="$out" "$BENCH_DIR/epoll-relay" "${flags[@]}" "$port" "${BACKEND_PORTS[0]}"
    pid="$BENCH_LAST_PID"
    bench_wait_proxy "relay-$mode-$n" "$pid" "$port" 60 || bench_die "relay under callgrind did not start"
    timeout -k 5 120 python3 "$BENCH_HOME/sequential-client.py" "$port" "$n" 4 >&2 || bench_die "client failed ($mode, $n)"
    bench_stop "$pid" 60
    awk '$1 == "summary:" { s = $2 } $1 == "totals:" && s == "" { s = $2 } END { print s }' "$out"
}

for mode in raw parse; do
    a="$(run_one "$mode" "$n_small")"
    b="$(run_one "$mode" "$n_large")"
    awk -v m="$mode" -v a="$a" -v b="$b" -v na="$n_small" -v nb="$n_large" \
        'BEGIN { printf "epoll-relay %s: %.0f instructions/request (I(%d) = %d, I(%d) = %d)\n", m, (b - a) / (nb - na), na, a, nb, b }'
done
