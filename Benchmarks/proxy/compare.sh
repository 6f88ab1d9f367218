#!/usr/bin/env bash
# Side-by-side proxy comparison: a direct backend (reference), HAProxy, nginx and Switchyard in
# front of the same four nginx backends on 127.0.0.1, driven by wrk in rotated rounds.
# See README.md in this directory.
set -euo pipefail
BENCH_SCRIPT=compare.sh
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: Benchmarks/proxy/compare.sh [options]
  --workers LIST      worker threads/processes per proxy: 1, 2 or a list like 1,2 (default 1)
  --duration S        seconds per wrk run (default 10)
  --rounds N          rounds per response size; the order rotates each round (default 3)
  --connections N     wrk connections, one wrk thread (default 64)
  --only small|4k     one response size only (default: both)
  --warmup S          seconds of unmeasured load per target before the rounds (default 2)
  --switchyard PATH   Switchyard binary (default $SWITCHYARD_BIN, else .build/release/switchyard
                      from the repository root); skipped with a message if missing
  --out FILE          results file (default Benchmarks/proxy/results/<UTC time>-compare.md)
  --wait-quiet S      first wait up to S seconds for the load average to drop below the
                      number of CPUs (default 0: warn only)
  --keep              keep the scratch directory (configs, logs) after exit
Environment: SWITCHYARD_BIN, SWITCHYARD_EXTRA_ARGS (appended to `switchyard start`).
EOF
}

workers_list="1"
duration=10
rounds=3
connections=64
only=""
warmup=2
sy_arg=""
out=""
wait_quiet=0
while (($#)); do
    case "$1" in
        --workers) workers_list="${2:?}"; shift 2 ;;
        --duration) duration="${2:?}"; shift 2 ;;
        --rounds) rounds="${2:?}"; shift 2 ;;
        --connections) connections="${2:?}"; shift 2 ;;
        --only) only="${2:?}"; shift 2 ;;
        --warmup) warmup="${2:?}"; shift 2 ;;
        --switchyard) sy_arg="${2:?}"; shift 2 ;;
        --out) out="${2:?}"; shift 2 ;;
        --wait-quiet) wait_quiet="${2:?}"; shift 2 ;;
        --keep) BENCH_KEEP=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; bench_die "unknown argument: $1" ;;
    esac
done
IFS=',' read -r -a workers_values <<<"$workers_list"
for w in "${workers_values[@]}"; do
    [[ "$w" =~ ^[1-9][0-9]?$ ]] || bench_die "--workers takes numbers like 1 or 1,2, got '$workers_list'"
done
for v in "$duration" "$rounds" "$connections"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || bench_die "--duration, --rounds and --connections take positive integers"
done
[[ "$warmup" =~ ^[0-9]+$ && "$wait_quiet" =~ ^[0-9]+$ ]] || bench_die "--warmup and --wait-quiet take seconds"
case "$only" in
    "") sizes=(small 4k) ;;
    small | 4k) sizes=("$only") ;;
    *) bench_die "--only takes small or 4k" ;;
esac

bench_need_tools wrk haproxy nginx curl ss timeout
bench_check_haproxy_version
bench_init
bench_wait_quiet "$wait_quiet"

sy_bin="$(bench_switchyard_bin "$sy_arg")"
sy_status=""
if [[ ! -x "$sy_bin" ]]; then
    sy_status="pending: no Switchyard binary at $sy_bin (build: swift build -c release --product switchyard, or set SWITCHYARD_BIN)"
    bench_log "Switchyard skipped; $sy_status"
fi

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
[[ -n "$out" ]] || out="$BENCH_HOME/results/$stamp-compare.md"
mkdir -p "$(dirname "$out")"
raw="$BENCH_DIR/raw.tsv"
: >"$raw"

bench_start_backends

bench_pick_port; haproxy_port="$REPLY"
bench_pick_port; haproxy_stats="$REPLY"
bench_pick_port; nginx_port="$REPLY"
bench_pick_port; sy_port="$REPLY"

# Server lines shared by every proxy: the same four backends.
haproxy_servers=""
nginx_servers=""
sy_targets=""
for i in 0 1 2 3; do
    haproxy_servers+="    server b$((i + 1)) 127.0.0.1:${BACKEND_PORTS[i]}"$'\n'
    nginx_servers+="        server 127.0.0.1:${BACKEND_PORTS[i]};"$'\n'
    sy_targets+="  - target: 127.0.0.1:${BACKEND_PORTS[i]}"$'\n'"    weight: 100"$'\n'
done
sy_config="$BENCH_DIR/switchyard.yaml"
bench_switchyard_yaml "$sy_config" "${sy_targets%$'\n'}" "" ""

# Port of each target; empty when the target is not running in this pass.
declare -A target_port=()
declare -A target_pid=()
targets=(direct haproxy nginx switchyard)

start_proxies() {
    local workers="$1"
    target_port=([direct]="${BACKEND_PORTS[0]}")
    bench_start_haproxy "haproxy-w$workers" "$haproxy_port" "$workers" "${haproxy_servers%$'\n'}" "" "" "$haproxy_stats"
    target_pid[haproxy]="$BENCH_LAST_PID"
    bench_start_nginx_proxy "nginx-w$workers" "$nginx_port" "$workers" "${nginx_servers%$'\n'}" ""
    target_pid[nginx]="$BENCH_LAST_PID"
    bench_wait_proxy "haproxy-w$workers" "${target_pid[haproxy]}" "$haproxy_port" ||
        bench_die "HAProxy did not start"
    target_port[haproxy]="$haproxy_port"
    bench_wait_proxy "nginx-w$workers" "${target_pid[nginx]}" "$nginx_port" ||
        bench_die "nginx did not start"
    bench_record_nginx_workers "${target_pid[nginx]}" "nginx-w$workers"
    target_port[nginx]="$nginx_port"
    if [[ -x "$sy_bin" ]]; then
        bench_start_switchyard "switchyard-w$workers" "$sy_bin" "$sy_config" "$sy_port" "$workers"
        target_pid[switchyard]="$BENCH_LAST_PID"
        if bench_wait_proxy "switchyard-w$workers" "$BENCH_LAST_PID" "$sy_port" 30; then
            target_port[switchyard]="$sy_port"
            sy_status=""
        else
            sy_status="failed: Switchyard did not relay requests with $workers worker(s); see the log above"
            bench_stop "$BENCH_LAST_PID"
        fi
    fi
}

stop_proxies() {
    local t
    for t in switchyard nginx haproxy; do
        [[ -n "${target_pid[$t]:-}" ]] && bench_stop "${target_pid[$t]}"
        target_pid[$t]=""
    done
}

run_one() {
    local workers="$1" size="$2" round="$3" target="$4" port="${target_port[$4]:-}"
    local log="$BENCH_DIR/wrk-w$workers-$size-r$round-$target.log" rps p50 p99 errs
    [[ -n "$port" ]] || return 0
    if ! bench_wrk "$log" "$duration" "$connections" "$BENCH_HOME/lua/report.lua" \
        "http://127.0.0.1:$port/$size"; then
        bench_log "wrk against $target failed:"
        bench_tail_log "$log"
        return 0
    fi
    rps="$(bench_wrk_field "$log" rps)"
    p50="$(bench_wrk_field "$log" p50_us)"
    p99="$(bench_wrk_field "$log" p99_us)"
    errs=$(($(bench_wrk_field "$log" connect) + $(bench_wrk_field "$log" read) + \
        $(bench_wrk_field "$log" write) + $(bench_wrk_field "$log" status) + \
        $(bench_wrk_field "$log" timeout)))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$workers" "$size" "$round" "$target" "$rps" "$p50" "$p99" "$errs" >>"$raw"
    printf '  w%s %-5s round %s %-10s %10.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %s\n' \
        "$workers" "$size" "$round" "$target" "$rps" "$(awk -v v="$p50" 'BEGIN{print v/1000}')" \
        "$(awk -v v="$p99" 'BEGIN{print v/1000}')" "$errs" >&2
}

# Median of column COL (5 rps, 6 p50, 7 p99) for one workers/size/target; errors are summed.
median_of() {
    awk -F'\t' -v w="$1" -v s="$2" -v t="$3" -v c="$4" '$1 == w && $2 == s && $4 == t { print $c }' "$raw" | bench_median
}
errors_of() {
    awk -F'\t' -v w="$1" -v s="$2" -v t="$3" '$1 == w && $2 == s && $4 == t { n += $8 } END { print n + 0 }' "$raw"
}

# Markdown summary table for one worker count.
summary_table() {
    local workers="$1" size t rps p50 p99 hrps hp99 drps
    printf '| workers | size | target | req/s | vs HAProxy | vs direct | p50 ms | p99 ms | p99 vs HAProxy | errors |\n'
    printf '|---:|---|---|---:|---:|---:|---:|---:|---:|---:|\n'
    for size in "${sizes[@]}"; do
        hrps="$(median_of "$workers" "$size" haproxy 5)"
        hp99="$(median_of "$workers" "$size" haproxy 7)"
        drps="$(median_of "$workers" "$size" direct 5)"
        for t in "${targets[@]}"; do
            rps="$(median_of "$workers" "$size" "$t" 5)"
            if [[ "$rps" == NA ]]; then
                if [[ "$t" == switchyard ]]; then
                    printf '| %s | %s | switchyard | %s | | | | | | |\n' "$workers" "$size" "${sy_status%%:*}"
                else
                    printf '| %s | %s | %s | not measured | | | | | | |\n' "$workers" "$size" "$t"
                fi
                continue
            fi
            p50="$(median_of "$workers" "$size" "$t" 6)"
            p99="$(median_of "$workers" "$size" "$t" 7)"
            awk -v w="$workers" -v s="$size" -v t="$t" -v r="$rps" -v p50="$p50" -v p99="$p99" \
                -v hr="$hrps" -v hp="$hp99" -v dr="$drps" -v e="$(errors_of "$workers" "$size" "$t")" '
                function ratio(a, b) { return (b == "NA" || b == 0) ? "-" : sprintf("%.2f", a / b) }
                BEGIN {
                    printf "| %s | %s | %s | %.0f | %s | %s | %.2f | %.2f | %s | %d |\n",
                        w, s, (t == "direct" ? "direct (1 backend)" : t), r, ratio(r, hr), ratio(r, dr),
                        p50 / 1000, p99 / 1000, ratio(p99, hp), e
                }'
        done
    done
}

{
    printf '# Proxy comparison, %s\n\n' "$stamp"
    printf 'Command: `Benchmarks/proxy/compare.sh --workers %s --duration %s --rounds %s --connections %s%s`\n\n' \
        "$workers_list" "$duration" "$rounds" "$connections" "${only:+ --only $only}"
    printf 'wrk -t1 -c%s -d%ss per run; medians over %s rounds; order rotated each round.\n\n' "$connections" "$duration" "$rounds"
    bench_versions
    printf -- '- switchyard: %s\n\n' "$([[ -x "$sy_bin" ]] && echo "$sy_bin" || echo "$sy_status")"
} >"$out"

for workers in "${workers_values[@]}"; do
    bench_log "workers=$workers: starting proxies"
    start_proxies "$workers"
    if ((warmup > 0)); then
        for t in "${targets[@]}"; do
            [[ -n "${target_port[$t]:-}" ]] || continue
            for size in "${sizes[@]}"; do
                bench_wrk "$BENCH_DIR/warmup.log" "$warmup" "$connections" "$BENCH_HOME/lua/report.lua" \
                    "http://127.0.0.1:${target_port[$t]}/$size" || true
            done
        done
    fi
    for size in "${sizes[@]}"; do
        for ((round = 1; round <= rounds; round++)); do
            for ((k = 0; k < ${#targets[@]}; k++)); do
                run_one "$workers" "$size" "$round" "${targets[(k + round - 1) % ${#targets[@]}]}"
            done
        done
    done
    stop_proxies
    {
        printf '## Workers: %s\n\n' "$workers"
        summary_table "$workers"
        printf '\n'
    } >>"$out"
done

{
    printf '## Raw runs\n\n| workers | size | round | target | req/s | p50 us | p99 us | errors |\n|---:|---|---:|---|---:|---:|---:|---:|\n'
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %.0f | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$raw"
    printf '\nLoad average at end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$out"

printf '\n'
for workers in "${workers_values[@]}"; do
    summary_table "$workers"
    printf '\n'
done
[[ -z "$sy_status" ]] || printf 'Switchyard: %s\n' "$sy_status"
printf 'Results written to %s\n' "$out"
