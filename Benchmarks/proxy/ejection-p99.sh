#!/usr/bin/env bash
# Latency while a large upstream keeps ejecting: one upstream of N addresses (4 live nginx backends,
# one address that refuses connections, and N-5 disabled weight-0 addresses that every ring rebuild
# still walks), passive health ejecting the refusing address on its first failure for 1 s, so it is
# tried (half-open) and ejected again about once a second. wrk measures p50/p99/max through Switchyard
# with the refusing address and without it (no ejections), for each binary given, in alternated rounds.
set -euo pipefail
BENCH_SCRIPT=ejection-p99.sh
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: Benchmarks/proxy/ejection-p99.sh [options]
  --binary LABEL=PATH  a Switchyard binary to measure (repeatable; default: current=$SWITCHYARD_BIN,
                       else .build/release/switchyard)
  --addresses N        addresses in the upstream (default 10000)
  --duration S         seconds of each wrk run (default 20)
  --rounds N           alternated rounds per binary and scenario (default 2)
  --connections N      wrk connections, one wrk thread (default 64)
  --workers N          Switchyard workers (default 1)
  --out FILE           results file (default Benchmarks/proxy/results/<UTC time>-ejection-p99.md)
  --keep               keep the scratch directory after exit
EOF
}

binaries=()
addresses=10000
duration=20
rounds=2
connections=64
workers=1
out=""
while (($#)); do
    case "$1" in
        --binary) binaries+=("${2:?}"); shift 2 ;;
        --addresses) addresses="${2:?}"; shift 2 ;;
        --duration) duration="${2:?}"; shift 2 ;;
        --rounds) rounds="${2:?}"; shift 2 ;;
        --connections) connections="${2:?}"; shift 2 ;;
        --workers) workers="${2:?}"; shift 2 ;;
        --out) out="${2:?}"; shift 2 ;;
        --keep) BENCH_KEEP=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; bench_die "unknown argument: $1" ;;
    esac
done
for v in "$addresses" "$duration" "$rounds" "$connections" "$workers"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || bench_die "numeric options take positive integers"
done
((addresses >= 5 && addresses <= 60000)) || bench_die "--addresses must be between 5 and 60000"
((${#binaries[@]})) || binaries=("current=$(bench_switchyard_bin "")")
for entry in "${binaries[@]}"; do
    [[ "$entry" == *=* ]] || bench_die "--binary takes LABEL=PATH, got '$entry'"
    [[ -x "${entry#*=}" ]] || bench_die "no executable at ${entry#*=} (build: swift build -c release --product switchyard)"
done

bench_need_tools wrk nginx curl ss timeout
bench_init
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
[[ -n "$out" ]] || out="$BENCH_HOME/results/$stamp-ejection-p99.md"
mkdir -p "$(dirname "$out")"

bench_start_backends
bench_pick_port; proxy_port="$REPLY"
bench_pick_port; refused_port="$REPLY" # nothing listens there: every connection is refused

live=""
for i in 0 1 2 3; do live+="  - target: 127.0.0.1:${BACKEND_PORTS[i]}"$'\n'"    weight: 100"$'\n'; done
filler="$BENCH_DIR/filler.yaml"
# Disabled addresses 127.2.x.y:9: never picked, but part of every ring rebuild.
awk -v n="$((addresses - 5))" 'BEGIN { for (i = 0; i < n; i++) printf "  - target: 127.2.%d.%d:9\n    weight: 0\n", int(i / 250), i % 250 + 1 }' >"$filler"
upstream="  healthchecks:
    passive:
      type: http
      unhealthy:
        tcp_failures: 1
        ejection_time: 1
        max_ejection_time: 1"
service="  retries: 5
  connect_timeout: 1000"
for scenario in ejecting quiet; do
    targets="${live%$'\n'}"
    [[ "$scenario" == ejecting ]] && targets+=$'\n'"  - target: 127.0.0.1:$refused_port"$'\n'"    weight: 100"
    targets+=$'\n'"$(cat "$filler")"
    bench_switchyard_yaml "$BENCH_DIR/$scenario.yaml" "$targets" "$upstream" "$service"
done

{
    printf '# Latency while an upstream of %s addresses keeps ejecting, %s\n\n' "$addresses" "$stamp"
    printf 'Command: `Benchmarks/proxy/ejection-p99.sh --addresses %s --duration %s --rounds %s --connections %s --workers %s' \
        "$addresses" "$duration" "$rounds" "$connections" "$workers"
    for entry in "${binaries[@]}"; do printf ' --binary %s' "$entry"; done
    printf '`\n\n'
    printf 'wrk -t1 -c%s -d%ss GET /small through Switchyard (%s worker); "ejecting": one of 5 weighted addresses refuses\n' \
        "$connections" "$duration" "$workers"
    printf 'connections and is ejected for 1 s on its first failure, then tried again (about one ejection a second);\n'
    printf '"quiet": the same upstream without it. Latencies in ms; medians over the rounds.\n\n'
    bench_versions
    printf '\n| binary | scenario | round | req/s | p50 | p90 | p99 | max | non-2xx + socket errors | ejections |\n'
    printf '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
} >"$out"

declare -A p99s rpss maxs
run_one() {
    local label="$1" bin="$2" scenario="$3" round="$4" pid log rc=0
    bench_start_switchyard "sy-$label-$scenario-$round" "$bin" "$BENCH_DIR/$scenario.yaml" "$proxy_port" "$workers"
    pid="$BENCH_LAST_PID"
    if ! bench_wait_proxy "sy-$label" "$pid" "$proxy_port" 60; then
        bench_stop "$pid"
        printf '| %s | %s | %s | failed to start | | | | | | |\n' "$label" "$scenario" "$round" >>"$out"
        return 0
    fi
    log="$BENCH_DIR/wrk-$label-$scenario-$round.log"
    bench_wrk "$log" "$duration" "$connections" "$BENCH_HOME/lua/report.lua" "http://127.0.0.1:$proxy_port/small" || rc=$?
    bench_stop "$pid"
    if ((rc != 0)) || [[ -z "$(bench_wrk_field "$log" requests)" ]]; then
        bench_log "wrk against $label failed (exit $rc)"
        bench_tail_log "$log"
        return 0
    fi
    local rps p50 p90 p99 max errors ejections
    rps="$(bench_wrk_field "$log" rps)"
    p50="$(awk -v v="$(bench_wrk_field "$log" p50_us)" 'BEGIN { printf "%.2f", v / 1000 }')"
    p90="$(awk -v v="$(bench_wrk_field "$log" p90_us)" 'BEGIN { printf "%.2f", v / 1000 }')"
    p99="$(awk -v v="$(bench_wrk_field "$log" p99_us)" 'BEGIN { printf "%.2f", v / 1000 }')"
    max="$(awk -v v="$(bench_wrk_field "$log" max_us)" 'BEGIN { printf "%.2f", v / 1000 }')"
    errors=$(($(bench_wrk_field "$log" status) + $(bench_wrk_field "$log" connect) + $(bench_wrk_field "$log" read) \
        + $(bench_wrk_field "$log" write) + $(bench_wrk_field "$log" timeout)))
    ejections="$(grep -c 'address ejected' "$BENCH_DIR/sy-$label-$scenario-$round.log" || true)"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
        "$label" "$scenario" "$round" "$rps" "$p50" "$p90" "$p99" "$max" "$errors" "$ejections" >>"$out"
    p99s["$label/$scenario"]+="$p99 "
    rpss["$label/$scenario"]+="$rps "
    maxs["$label/$scenario"]+="$max "
}

for ((round = 1; round <= rounds; round++)); do
    for scenario in ejecting quiet; do
        for entry in "${binaries[@]}"; do
            bench_log "round $round: ${entry%%=*}, $scenario"
            run_one "${entry%%=*}" "${entry#*=}" "$scenario" "$round"
        done
    done
done

{
    printf '\n| binary | scenario | median req/s | median p99 (ms) | median max (ms) |\n|---|---|---:|---:|---:|\n'
    for entry in "${binaries[@]}"; do
        for scenario in ejecting quiet; do
            key="${entry%%=*}/$scenario"
            printf '| %s | %s | %s | %s | %s |\n' "${entry%%=*}" "$scenario" \
                "$(tr ' ' '\n' <<<"${rpss[$key]:-}" | grep . | bench_median)" \
                "$(tr ' ' '\n' <<<"${p99s[$key]:-}" | grep . | bench_median)" \
                "$(tr ' ' '\n' <<<"${maxs[$key]:-}" | grep . | bench_median)"
        done
    done
} >>"$out"
bench_log "results: $out"
cat "$out"
