#!/usr/bin/env bash
# DNS outage scenario: the four backends are registered in a real BIND9 (testdns/) as A and SRV
# records; each proxy finds them through DNS; BIND is stopped for a while during a bounded wrk
# run, and the errors clients see in that window are counted. See README.md in this directory.
set -euo pipefail
BENCH_SCRIPT=dns-outage.sh
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: Benchmarks/proxy/dns-outage.sh [options]
  --duration S        seconds of each wrk run (default 75)
  --outage-at S       second of the run at which BIND is stopped (default 15)
  --outage S          seconds BIND stays stopped (default 45)
  --records LIST      how proxies find the backends: a, srv or a,srv (default a,srv)
  --ttl S             TTL of the registered records (default 5)
  --workers N         worker threads per proxy (default 1)
  --connections N     wrk connections, one wrk thread (default 64)
  --only LIST         proxies: haproxy,switchyard (default both)
  --switchyard PATH   Switchyard binary (default $SWITCHYARD_BIN, else .build/release/switchyard)
  --out FILE          results file (default Benchmarks/proxy/results/<UTC time>-dns-outage.md)
  --keep              keep the scratch directory (configs, logs) after exit
Environment: SWITCHYARD_BIN, SWITCHYARD_EXTRA_ARGS (appended to `switchyard start`).
nginx is not run: nginx OSS 1.22 cannot re-resolve upstream server names (the `resolve`
parameter of `server` reached nginx OSS only in 1.27.3); it resolves them once at start.
EOF
}

duration=75
outage_at=15
outage=45
records="a,srv"
ttl=5
workers=1
connections=64
only="haproxy,switchyard"
sy_arg=""
out=""
while (($#)); do
    case "$1" in
        --duration) duration="${2:?}"; shift 2 ;;
        --outage-at) outage_at="${2:?}"; shift 2 ;;
        --outage) outage="${2:?}"; shift 2 ;;
        --records) records="${2:?}"; shift 2 ;;
        --ttl) ttl="${2:?}"; shift 2 ;;
        --workers) workers="${2:?}"; shift 2 ;;
        --connections) connections="${2:?}"; shift 2 ;;
        --only) only="${2:?}"; shift 2 ;;
        --switchyard) sy_arg="${2:?}"; shift 2 ;;
        --out) out="${2:?}"; shift 2 ;;
        --keep) BENCH_KEEP=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; bench_die "unknown argument: $1" ;;
    esac
done
for v in "$duration" "$outage_at" "$outage" "$ttl" "$workers" "$connections"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || bench_die "numeric options take positive integers"
done
((outage_at + outage < duration)) ||
    bench_die "the outage must end before the run does (--outage-at + --outage < --duration)"
IFS=',' read -r -a record_kinds <<<"$records"
for r in "${record_kinds[@]}"; do
    [[ "$r" == a || "$r" == srv ]] || bench_die "--records takes a, srv or a,srv"
done
IFS=',' read -r -a proxies <<<"$only"
for p in "${proxies[@]}"; do
    [[ "$p" == haproxy || "$p" == switchyard ]] || bench_die "--only: unknown proxy '$p' (haproxy, switchyard)"
done

testdns="$BENCH_REPO/testdns"
for script in start stop register-batch; do
    [[ -x "$testdns/$script" ]] || bench_die "missing $testdns/$script"
done
bench_need_tools wrk haproxy nginx curl ss timeout
bench_check_haproxy_version
bench_init

sy_bin="$(bench_switchyard_bin "$sy_arg")"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
[[ -n "$out" ]] || out="$BENCH_HOME/results/$stamp-dns-outage.md"
mkdir -p "$(dirname "$out")"

bench_log "nginx: not run; nginx OSS 1.22 resolves upstream server names once at start (no 'resolve' parameter before 1.27.3), so a DNS outage does not touch it, and it does not follow DNS changes either"

bench_start_backends

# --- BIND ----------------------------------------------------------------------------------
dns_dir=""
stop_dns() {
    [[ -n "$dns_dir" && -d "$dns_dir" ]] || return 0
    "$testdns/stop" --remove "$dns_dir" >&2 || bench_log "warning: testdns/stop --remove $dns_dir failed"
    dns_dir=""
}
# The testdns instance is stopped before the processes of lib.sh are; --owner makes its own
# watchdog stop it as well if this script is killed outright.
trap 'stop_dns; bench_cleanup' EXIT
env_out="$("$testdns/start" --owner $$)" || bench_die "testdns/start failed"
dns_port="" zone=""
while IFS= read -r line; do
    case "$line" in
        TESTDNS_PORT=*) dns_port="${line#*=}" ;;
        TESTDNS_DIR=*) dns_dir="${line#*=}" ;;
        TESTDNS_ZONE=*) zone="${line#*=}" ;;
    esac
done <<<"$env_out"
[[ -n "$dns_port" && -n "$dns_dir" ]] || bench_die "testdns/start printed no TESTDNS_PORT/TESTDNS_DIR"
zone="${zone:-svc.test}"
srv_name="_http._tcp.bench.$zone"
{
    for i in 0 1 2 3; do
        printf 'update add b%s.%s. %s IN A 127.0.0.1\n' "$((i + 1))" "$zone" "$ttl"
        printf 'update add %s. %s IN SRV 10 10 %s b%s.%s.\n' "$srv_name" "$ttl" "${BACKEND_PORTS[i]}" "$((i + 1))" "$zone"
    done
} | "$testdns/register-batch" "$dns_dir" - 2>/dev/null || bench_die "registering the backends in BIND failed"
bench_log "BIND on 127.0.0.1:$dns_port (zone $zone): b1..b4.$zone A 127.0.0.1, $srv_name SRV to ports ${BACKEND_PORTS[*]}, TTL $ttl s"

bench_pick_port; proxy_port="$REPLY"
bench_pick_port; stats_port="$REPLY"

{
    printf '# DNS outage scenario, %s\n\n' "$stamp"
    printf 'Command: `Benchmarks/proxy/dns-outage.sh --duration %s --outage-at %s --outage %s --records %s --ttl %s --workers %s`\n\n' \
        "$duration" "$outage_at" "$outage" "$records" "$ttl" "$workers"
    printf 'wrk -t1 -c%s -d%ss GET /small per proxy; BIND stopped at %s s for %s s (testdns/stop, then testdns/start on the same directory and port). Records TTL %s s.\n\n' \
        "$connections" "$duration" "$outage_at" "$outage" "$ttl"
    bench_versions
    printf -- '- nginx: not run (OSS 1.22 has no `resolve` for upstream servers; it resolves names once at start)\n'
    printf '\n| proxy | records | requests | non-2xx | socket errors | responses in outage | non-2xx in outage | share | seconds with non-2xx | non-2xx after BIND is back | non-2xx by status |\n'
    printf '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n'
} >"$out"
timelines=()
summary=()

haproxy_config() {
    local kind="$1" servers=""
    if [[ "$kind" == a ]]; then
        for i in 0 1 2 3; do
            servers+="    server b$((i + 1)) b$((i + 1)).$zone:${BACKEND_PORTS[i]} resolvers bench_dns resolve-prefer ipv4 init-addr none"$'\n'
        done
    else
        servers="    server-template b 4 $srv_name resolvers bench_dns resolve-prefer ipv4 init-addr none"
    fi
    HAPROXY_SERVERS="${servers%$'\n'}"
    # Default hold, timeout and retry settings on purpose: this is what a user gets.
    HAPROXY_RESOLVERS="resolvers bench_dns
    nameserver bind 127.0.0.1:$dns_port"
}

switchyard_config() {
    local kind="$1" file="$2" targets=""
    if [[ "$kind" == a ]]; then
        for i in 0 1 2 3; do
            targets+="  - target: b$((i + 1)).$zone:${BACKEND_PORTS[i]}"$'\n'"    weight: 100"$'\n'
        done
    else
        targets="  - target: $srv_name"$'\n'"    weight: 100"
    fi
    bench_switchyard_yaml "$file" "${targets%$'\n'}" "" ""
}

run_case() {
    local proxy="$1" kind="$2" pid log t0 stop_epoch start_epoch rc=0 name="$1-$2"
    case "$proxy" in
        haproxy)
            haproxy_config "$kind"
            bench_start_haproxy "$name" "$proxy_port" "$workers" "$HAPROXY_SERVERS" "" "$HAPROXY_RESOLVERS" "$stats_port"
            pid="$BENCH_LAST_PID"
            bench_wait_haproxy_up "$stats_port" 4 20 || {
                bench_log "HAProxy did not resolve all four servers within 20 s ($(bench_haproxy_up "$stats_port") UP)"
                bench_tail_log "$BENCH_DIR/$name.log"
            }
            bench_wait_proxy "$name" "$pid" "$proxy_port" || bench_die "HAProxy did not start"
            ;;
        switchyard)
            if [[ ! -x "$sy_bin" ]]; then
                bench_log "Switchyard skipped: no binary at $sy_bin (build: swift build -c release --product switchyard, or set SWITCHYARD_BIN)"
                summary+=("| switchyard | $kind | pending: binary not built | | | | | | | | |")
                return 0
            fi
            switchyard_config "$kind" "$BENCH_DIR/$name.yaml"
            bench_start_switchyard "$name" "$sy_bin" "$BENCH_DIR/$name.yaml" "$proxy_port" "$workers" \
                --dns-server "127.0.0.1:$dns_port"
            pid="$BENCH_LAST_PID"
            if ! bench_wait_proxy "$name" "$pid" "$proxy_port" 30; then
                bench_stop "$pid"
                summary+=("| switchyard | $kind | failed to start | | | | | | | | |")
                return 0
            fi
            sleep 2 # all four names resolved, not just the first
            ;;
    esac

    log="$BENCH_DIR/wrk-$name.log"
    local timeline="$BENCH_DIR/timeline-$name.txt"
    : >"$timeline"
    t0="$(date +%s.%N)"
    bench_start wrk "$log" timeout -k 5 "$((duration + 30))" \
        wrk -t1 -c"$connections" -d"${duration}s" --timeout 5s -s "$BENCH_HOME/lua/status.lua" \
        "http://127.0.0.1:$proxy_port/small"
    local wrk_pid="$BENCH_LAST_PID" sec=0
    # One line per second: servers HAProxy shows UP (the other proxies have no such page here).
    local stopped=0 restarted=0 now
    while bench_alive "$wrk_pid"; do
        now="$(date +%s.%N)"
        sec="$(awk -v n="$now" -v t="$t0" 'BEGIN { printf "%d", n - t }')"
        if ((!stopped && sec >= outage_at)); then
            stop_epoch="$(date +%s)"
            bench_log "$name: stopping BIND at +${sec}s"
            "$testdns/stop" "$dns_dir" >&2 || bench_log "warning: testdns/stop failed"
            stopped=1
        fi
        if ((stopped && !restarted && sec >= outage_at + outage)); then
            start_epoch="$(date +%s)"
            bench_log "$name: starting BIND again at +${sec}s"
            "$testdns/start" --dir "$dns_dir" --owner $$ >/dev/null || bench_log "warning: testdns/start (restart) failed"
            restarted=1
        fi
        if [[ "$proxy" == haproxy ]]; then
            printf '%s %s\n' "$sec" "$(bench_haproxy_up "$stats_port")" >>"$timeline"
        fi
        bench_sleep_until "$(awk -v t="$t0" -v s="$sec" 'BEGIN { printf "%.3f", t + s + 1 }')"
    done
    wait "$wrk_pid" || rc=$?
    bench_forget "$wrk_pid"
    bench_stop "$pid"
    if ((!restarted)); then
        "$testdns/start" --dir "$dns_dir" --owner $$ >/dev/null || bench_die "BIND did not restart"
        start_epoch="$(date +%s)"
    fi
    if ((rc != 0)) || [[ -z "$(bench_wrk_field "$log" requests)" ]]; then
        bench_log "wrk against $name failed (exit $rc):"
        bench_tail_log "$log"
        summary+=("| $proxy | $kind | wrk failed | | | | | | | | |")
        return 0
    fi

    local requests non2xx sockets in_n in_bad after_bad share bad_secs
    requests="$(bench_wrk_field "$log" requests)"
    read -r _ non2xx < <(bench_window "$log" 0 9999999999)
    sockets="$(bench_socket_error_total "$log")"
    read -r in_n in_bad < <(bench_window "$log" "$stop_epoch" "$start_epoch")
    read -r _ after_bad < <(bench_window "$log" "$start_epoch" 9999999999)
    bad_secs="$(awk -v from="$stop_epoch" -v to="$start_epoch" '$1 == "WRKSTATUS" && $2 >= from && $2 < to && ($3 < 200 || $3 > 299) { s[$2] = 1 }
        END { n = 0; for (k in s) n++; print n }' "$log") of $((start_epoch - stop_epoch))"
    share="$(awk -v b="$in_bad" -v n="$in_n" 'BEGIN { printf "%.1f %%", (n ? 100 * b / n : 0) }')"
    summary+=("$(printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' "$proxy" "$kind" "$requests" \
        "$non2xx" "$sockets" "$in_n" "$in_bad" "$share" "$bad_secs" "$after_bad" "$(bench_bad_statuses "$log")")")
    bench_log "$name: $requests requests; in the outage $in_bad of $in_n non-2xx ($share); socket errors $sockets"
    if [[ "$proxy" == haproxy ]]; then
        # Compress the timeline into runs: "+0..14s: 4 UP, +15..44s: 4 UP, ..."
        timelines+=("$(printf 'HAProxy (%s records), servers UP by second of the run (BIND down from +%s s to +%s s): %s' "$kind" \
            "$outage_at" "$((outage_at + outage))" \
            "$(awk 'NR == 1 { s = $1; v = $2; next } $2 != v { printf "+%s..%ss: %s UP, ", s, p, v; s = $1; v = $2 } { p = $1 } END { if (NR) printf "+%s..%ss: %s UP", s, p, v }' "$timeline")")")
        bench_log "${timelines[-1]}"
    fi
    # Errors by second relative to the outage start, for the results file.
    timelines+=("$(printf '%s (%s records), non-2xx per second from the outage start: %s' "$proxy" "$kind" \
        "$(awk -v s0="$stop_epoch" '$1 == "WRKSTATUS" && ($3 < 200 || $3 > 299) { c[$2 - s0] += $4 }
            END { out = ""; for (k = -60; k <= 200; k++) if (k in c) out = out sprintf("%+d:%d ", k, c[k]); print (out == "" ? "none" : out) }' "$log")")")
    sleep 2
}

for kind in "${record_kinds[@]}"; do
    for proxy in "${proxies[@]}"; do
        run_case "$proxy" "$kind"
    done
done

{
    printf '%s\n' "${summary[@]}"
    printf '\n'
    for t in "${timelines[@]}"; do printf -- '- %s\n' "$t"; done
    printf '\nWindows use wrk'"'"'s per-second status counts (1 s resolution); socket errors are totals.\n'
    printf 'Load average at end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$out"

printf '\nnginx: not run (nginx OSS 1.22 has no `resolve` for upstream servers).\n'
printf '| proxy | records | requests | non-2xx | socket errors | responses in outage | non-2xx in outage | share | seconds with non-2xx | non-2xx after BIND is back | non-2xx by status |\n'
printf '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n'
printf '%s\n' "${summary[@]}"
printf 'Results written to %s\n' "$out"
