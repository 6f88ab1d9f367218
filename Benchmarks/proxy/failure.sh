#!/usr/bin/env bash
# Failure scenario: one of four backends is killed (SIGKILL) during a bounded wrk run against
# each proxy, then restarted; counts the errors clients see. See README.md in this directory.
set -euo pipefail
BENCH_SCRIPT=failure.sh
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: Benchmarks/proxy/failure.sh [options]
  --workers N         worker threads/processes per proxy (default 1)
  --duration S        seconds of each wrk run (default 20)
  --kill-at S         second of the run at which backend 2 is killed with SIGKILL (default 5)
  --restart-at S      second at which it is started again (default 12)
  --connections N     wrk connections, one wrk thread (default 64)
  --only LIST         proxies to run, comma-separated: haproxy,nginx,switchyard (default all)
  --switchyard PATH   Switchyard binary (default $SWITCHYARD_BIN, else .build/release/switchyard)
  --out FILE          results file (default Benchmarks/proxy/results/<UTC time>-failure.md)
  --keep              keep the scratch directory (configs, logs) after exit
Environment: SWITCHYARD_BIN, SWITCHYARD_EXTRA_ARGS (appended to `switchyard start`).
EOF
}

workers=1
duration=20
kill_at=5
restart_at=12
connections=64
only="haproxy,nginx,switchyard"
sy_arg=""
out=""
while (($#)); do
    case "$1" in
        --workers) workers="${2:?}"; shift 2 ;;
        --duration) duration="${2:?}"; shift 2 ;;
        --kill-at) kill_at="${2:?}"; shift 2 ;;
        --restart-at) restart_at="${2:?}"; shift 2 ;;
        --connections) connections="${2:?}"; shift 2 ;;
        --only) only="${2:?}"; shift 2 ;;
        --switchyard) sy_arg="${2:?}"; shift 2 ;;
        --out) out="${2:?}"; shift 2 ;;
        --keep) BENCH_KEEP=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; bench_die "unknown argument: $1" ;;
    esac
done
for v in "$workers" "$duration" "$kill_at" "$restart_at" "$connections"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || bench_die "numeric options take positive integers"
done
((kill_at < restart_at && restart_at < duration)) ||
    bench_die "need --kill-at < --restart-at < --duration (got $kill_at, $restart_at, $duration)"
IFS=',' read -r -a proxies <<<"$only"
for p in "${proxies[@]}"; do
    [[ "$p" == haproxy || "$p" == nginx || "$p" == switchyard ]] || bench_die "--only: unknown proxy '$p'"
done

bench_need_tools wrk haproxy nginx curl ss timeout
bench_check_haproxy_version
bench_init

sy_bin="$(bench_switchyard_bin "$sy_arg")"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
[[ -n "$out" ]] || out="$BENCH_HOME/results/$stamp-failure.md"
mkdir -p "$(dirname "$out")"

bench_start_backends
victim=1 # backend2
bench_pick_port; proxy_port="$REPLY"
bench_pick_port; stats_port="$REPLY"

haproxy_servers="" nginx_servers="" sy_targets=""
for i in 0 1 2 3; do
    haproxy_servers+="    server b$((i + 1)) 127.0.0.1:${BACKEND_PORTS[i]}"$'\n'
    nginx_servers+="        server 127.0.0.1:${BACKEND_PORTS[i]} max_fails=1 fail_timeout=10s;"$'\n'
    sy_targets+="  - target: 127.0.0.1:${BACKEND_PORTS[i]}"$'\n'"    weight: 100"$'\n'
done
# HAProxy: HTTP checks every second, and any layer-7 error observed on live traffic marks the
# server down at once; failed connections are retried on another server.
haproxy_opts="    option httpchk GET /
    http-check expect status 200
    retries 3
    option redispatch 1
    default-server check inter 1s observe layer7 on-error mark-down"
nginx_opts="            proxy_next_upstream error timeout;"
# Switchyard: Kong's passive health counters (one failure ejects), active probes every second
# to bring the target back (as HAProxy's checks do), and Kong's default of 5 retries.
sy_upstream="  healthchecks:
    passive:
      type: http
      healthy:
        successes: 1
      unhealthy:
        tcp_failures: 1
        timeouts: 1
        http_failures: 1
        http_statuses: [500, 502, 503, 504]
    active:
      type: http
      http_path: /
      timeout: 1
      healthy:
        interval: 1
        successes: 2
      unhealthy:
        interval: 1
        tcp_failures: 1
        timeouts: 1
        http_failures: 1"
sy_service="  retries: 5
  connect_timeout: 2000
  read_timeout: 10000
  write_timeout: 10000"
sy_config="$BENCH_DIR/switchyard.yaml"
bench_switchyard_yaml "$sy_config" "${sy_targets%$'\n'}" "$sy_upstream" "$sy_service"

{
    printf '# Failure scenario, %s\n\n' "$stamp"
    printf 'Command: `Benchmarks/proxy/failure.sh --workers %s --duration %s --kill-at %s --restart-at %s --connections %s`\n\n' \
        "$workers" "$duration" "$kill_at" "$restart_at" "$connections"
    printf 'wrk -t1 -c%s -d%ss GET /small per proxy; backend2 of 4 killed with SIGKILL at %s s, restarted at %s s.\n\n' \
        "$connections" "$duration" "$kill_at" "$restart_at"
    bench_versions
    printf '\n| proxy | settings | requests | req/s | non-2xx | socket errors | non-2xx kill→restart | non-2xx after restart | non-2xx by status |\n'
    printf '|---|---|---:|---:|---:|---:|---:|---:|---|\n'
} >"$out"

declare -A settings=(
    [haproxy]="check inter 1s, observe layer7, on-error mark-down, retries 3, redispatch"
    [nginx]="max_fails=1 fail_timeout=10s, proxy_next_upstream error timeout"
    [switchyard]="retries 5, passive tcp/http/timeouts 1, active interval 1 s"
)
summary=()

run_proxy() {
    local proxy="$1" pid log t0 kill_epoch restart_epoch rc=0
    case "$proxy" in
        haproxy)
            bench_start_haproxy haproxy "$proxy_port" "$workers" "${haproxy_servers%$'\n'}" \
                "$haproxy_opts" "" "$stats_port"
            pid="$BENCH_LAST_PID"
            bench_wait_proxy haproxy "$pid" "$proxy_port" || bench_die "HAProxy did not start"
            bench_wait_haproxy_up "$stats_port" 4 15 || bench_log "warning: HAProxy shows fewer than 4 servers UP"
            ;;
        nginx)
            bench_start_nginx_proxy nginx "$proxy_port" "$workers" "${nginx_servers%$'\n'}" "$nginx_opts"
            pid="$BENCH_LAST_PID"
            bench_wait_proxy nginx "$pid" "$proxy_port" || bench_die "nginx did not start"
            bench_record_nginx_workers "$pid" nginx
            ;;
        switchyard)
            if [[ ! -x "$sy_bin" ]]; then
                bench_log "Switchyard skipped: no binary at $sy_bin (build: swift build -c release --product switchyard, or set SWITCHYARD_BIN)"
                summary+=("| switchyard | ${settings[switchyard]} | pending: binary not built | | | | | | |")
                return 0
            fi
            bench_start_switchyard switchyard "$sy_bin" "$sy_config" "$proxy_port" "$workers"
            pid="$BENCH_LAST_PID"
            if ! bench_wait_proxy switchyard "$pid" "$proxy_port" 30; then
                bench_stop "$pid"
                summary+=("| switchyard | ${settings[switchyard]} | failed to start | | | | | | |")
                return 0
            fi
            sleep 2 # let the first active probes finish
            ;;
    esac

    log="$BENCH_DIR/wrk-$proxy.log"
    t0="$(date +%s.%N)"
    bench_start wrk "$log" timeout -k 5 "$((duration + 30))" \
        wrk -t1 -c"$connections" -d"${duration}s" --timeout 5s -s "$BENCH_HOME/lua/status.lua" \
        "http://127.0.0.1:$proxy_port/small"
    local wrk_pid="$BENCH_LAST_PID"

    bench_sleep_until "$(awk -v t="$t0" -v d="$kill_at" 'BEGIN { printf "%.3f", t + d }')"
    kill_epoch="$(date +%s)"
    bench_log "$proxy: killing backend2 (pid ${BACKEND_PIDS[victim]}, port ${BACKEND_PORTS[victim]})"
    bench_kill_hard "${BACKEND_PIDS[victim]}"
    if [[ "$proxy" == haproxy ]]; then
        sleep 1.5
        bench_log "haproxy: servers UP 1.5 s after the kill: $(bench_haproxy_up "$stats_port") of 4"
    fi

    bench_sleep_until "$(awk -v t="$t0" -v d="$restart_at" 'BEGIN { printf "%.3f", t + d }')"
    restart_epoch="$(date +%s)"
    bench_log "$proxy: restarting backend2"
    bench_start_backend "$victim"

    wait "$wrk_pid" || rc=$?
    bench_forget "$wrk_pid"
    bench_stop "$pid"
    if ((rc != 0)) || [[ -z "$(bench_wrk_field "$log" requests)" ]]; then
        bench_log "wrk against $proxy failed (exit $rc):"
        bench_tail_log "$log"
        summary+=("| $proxy | ${settings[$proxy]} | wrk failed | | | | | | |")
        return 0
    fi

    local requests rps non2xx sockets down after
    requests="$(bench_wrk_field "$log" requests)"
    rps="$(bench_wrk_field "$log" rps)"
    read -r _ non2xx < <(bench_window "$log" 0 9999999999)
    sockets="$(bench_socket_error_total "$log")"
    read -r _ down < <(bench_window "$log" "$kill_epoch" "$restart_epoch")
    read -r _ after < <(bench_window "$log" "$restart_epoch" 9999999999)
    summary+=("$(printf '| %s | %s | %s | %.0f | %s | %s (%s) | %s | %s | %s |' "$proxy" "${settings[$proxy]}" \
        "$requests" "$rps" "$non2xx" "$sockets" "$(bench_socket_errors "$log")" "$down" "$after" \
        "$(bench_bad_statuses "$log")")")
    bench_log "$proxy: $requests requests, $non2xx non-2xx, $sockets socket errors"
    sleep 1
}

for proxy in "${proxies[@]}"; do
    run_proxy "$proxy"
done

{
    printf '%s\n' "${summary[@]}"
    printf '\nNon-2xx windows use wrk'"'"'s per-second status counts (1 s resolution); socket errors are totals.\n'
    printf 'Load average at end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$out"

printf '\n| proxy | settings | requests | req/s | non-2xx | socket errors | non-2xx kill→restart | non-2xx after restart | non-2xx by status |\n'
printf '|---|---|---:|---:|---:|---:|---:|---:|---|\n'
printf '%s\n' "${summary[@]}"
printf 'Results written to %s\n' "$out"
