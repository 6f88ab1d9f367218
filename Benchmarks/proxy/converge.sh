#!/usr/bin/env bash
# Convergence scenario: how fast each proxy follows a DNS change. Two steady backends and a third that is
# added to and removed from an SRV name in a real BIND9 (testdns/, nsupdate), CYCLES times, at each TTL.
# A probe (converge-probe.py) sends one request every 10 ms on a new connection and notes which backend
# answered; add -> first request and removal -> last request are measured from the moment nsupdate returns. DNS queries per second are
# counted by a relay between the proxy and BIND (dns-counter.py). See README.md in this directory.
set -euo pipefail
BENCH_SCRIPT=converge.sh
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: Benchmarks/proxy/converge.sh [options]
  --ttls LIST         SRV TTLs to run, comma-separated seconds (default 5,300)
  --cycles N          add/remove cycles per proxy and TTL (default 3)
  --cap S             longest wait for one change to show, seconds (default 20); a change not seen
                      by then is reported as "> S"
  --only LIST         haproxy, switchyard-ttl (TTLs alone), switchyard-notify (DNS NOTIFY)
                      (default all three)
  --switchyard PATH   Switchyard binary (default $SWITCHYARD_BIN, else .build/release/switchyard)
  --out FILE          results file (default Benchmarks/proxy/results/<UTC time>-converge.md)
  --keep              keep the scratch directory (configs, logs) after exit
HAProxy runs at its resolver defaults (re-resolve every 1 s, TTL ignored).
EOF
}

ttls="5,300"
cycles=3
cap=20
only="haproxy,switchyard-ttl,switchyard-notify"
sy_arg=""
out=""
while (($#)); do
    case "$1" in
        --ttls) ttls="${2:?}"; shift 2 ;;
        --cycles) cycles="${2:?}"; shift 2 ;;
        --cap) cap="${2:?}"; shift 2 ;;
        --only) only="${2:?}"; shift 2 ;;
        --switchyard) sy_arg="${2:?}"; shift 2 ;;
        --out) out="${2:?}"; shift 2 ;;
        --keep) BENCH_KEEP=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; bench_die "unknown argument: $1" ;;
    esac
done
IFS=',' read -r -a ttl_list <<<"$ttls"
for v in "${ttl_list[@]}" "$cycles" "$cap"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || bench_die "numeric options take positive integers"
done
((cycles <= 20 && cap <= 600)) || bench_die "--cycles is at most 20 and --cap at most 600"
IFS=',' read -r -a cases <<<"$only"
for c in "${cases[@]}"; do
    [[ "$c" == haproxy || "$c" == switchyard-ttl || "$c" == switchyard-notify ]] ||
        bench_die "--only: unknown case '$c' (haproxy, switchyard-ttl, switchyard-notify)"
done

testdns="$BENCH_REPO/testdns"
bench_need_tools haproxy curl python3 timeout
bench_check_haproxy_version
bench_init
sy_bin="$(bench_switchyard_bin "$sy_arg")"
[[ -x "$sy_bin" ]] || bench_die "no Switchyard binary at $sy_bin (swift build -c release --product switchyard)"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
[[ -n "$out" ]] || out="$BENCH_HOME/results/$stamp-converge.md"
mkdir -p "$(dirname "$out")"

# --- backends: the demo backend answers with its own name ----------------------------------
names=(steady1 steady2 moving)
declare -A port_of=()
for n in "${names[@]}"; do
    bench_pick_port; port_of[$n]="$REPLY"
    bench_start "$n" "$BENCH_DIR/$n.log" "$sy_bin" demo-backend --port "$REPLY" --name "$n"
done
for n in "${names[@]}"; do
    for _ in $(seq 1 100); do
        curl -fsS --max-time 1 "http://127.0.0.1:${port_of[$n]}/" >/dev/null 2>&1 && break
        sleep 0.1
    done
done

# --- BIND, sending NOTIFY to the port the NOTIFY case listens on, and the counting relay ----
bench_pick_port; notify_port="$REPLY"
bench_pick_port; counter_port="$REPLY"
dns_dir=""
stop_dns() {
    [[ -n "$dns_dir" && -d "$dns_dir" ]] || return 0
    "$testdns/stop" --remove "$dns_dir" >&2 || bench_log "warning: testdns/stop --remove $dns_dir failed"
    dns_dir=""
}
trap 'stop_dns; bench_cleanup' EXIT
env_out="$("$testdns/start" --owner $$ --notify "127.0.0.1:$notify_port")" || bench_die "testdns/start failed"
dns_port="$(sed -n 's/^TESTDNS_PORT=//p' <<<"$env_out")"
dns_dir="$(sed -n 's/^TESTDNS_DIR=//p' <<<"$env_out")"
zone="$(sed -n 's/^TESTDNS_ZONE=//p' <<<"$env_out")"
[[ -n "$dns_port" && -n "$dns_dir" ]] || bench_die "testdns/start printed no TESTDNS_PORT/TESTDNS_DIR"
# Until the NOTIFY case listens there, a sink answers BIND's NOTIFYs (see notify-sink.py).
start_sink() { bench_start notify-sink "$BENCH_DIR/notify-sink.log" python3 "$BENCH_HOME/notify-sink.py" "$notify_port"; sink_pid="$BENCH_LAST_PID"; }
start_sink
count_file="$BENCH_DIR/dns-queries"
bench_start dns-counter "$BENCH_DIR/dns-counter.log" python3 "$BENCH_HOME/dns-counter.py" "$counter_port" "$dns_port" "$count_file"
srv="_http._tcp.conv.$zone"
queries() { cat "$count_file" 2>/dev/null || echo 0; }

# set_ttl TTL: the two steady SRV records and the A records, at TTL.
set_ttl() {
    {
        printf 'update delete %s. SRV\n' "$srv"
        for n in "${names[@]}"; do
            printf 'update delete %s.%s. A\n' "$n" "$zone"
            printf 'update add %s.%s. %s IN A 127.0.0.1\n' "$n" "$zone" "$1"
        done
        printf 'update add %s. %s IN SRV 10 10 %s steady1.%s.\n' "$srv" "$1" "${port_of[steady1]}" "$zone"
        printf 'update add %s. %s IN SRV 10 10 %s steady2.%s.\n' "$srv" "$1" "${port_of[steady2]}" "$zone"
    } | "$testdns/register-batch" "$dns_dir" - >/dev/null 2>&1 || bench_die "registering the records failed"
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
# probe PORT: the name of the backend that answered one request, or "-".
probe() { curl -s --max-time 1 "http://127.0.0.1:$1/small" 2>/dev/null | sed -n '1s/:.*//p' | grep . || echo -; }
# first_seen PORT / last_seen PORT: see converge-probe.py (a request every 10 ms, bounded by --cap).
first_seen() { python3 "$BENCH_HOME/converge-probe.py" "$1" first moving "$cap" "$2"; }
last_seen() { python3 "$BENCH_HOME/converge-probe.py" "$1" last moving "$cap" "$2"; }

stats() { # "median | max" of the arguments; "> N" (capped) counts as N and marks both
    (($#)) || { printf 'not measured | not measured'; return; }
    printf '%s\n' "$@" | awk '{ print $NF, ($1 == ">") }' | sort -n | awk '{ a[NR] = $1; c = c || $2 } END {
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%s%.2f | %s%.2f", (c && m == a[NR] ? "> " : ""), m, (c ? "> " : ""), a[NR] }'
}

bench_pick_port; proxy_port="$REPLY"
bench_pick_port; stats_port="$REPLY"
rows=()
run_case() {
    local kind="$1" ttl="$2" pid name="$1-ttl$2" adds=() removals=() q0 t_start
    set_ttl "$ttl"
    case "$kind" in
        haproxy)
            bench_start_haproxy "$name" "$proxy_port" 1 \
                "    server-template b 4 $srv resolvers conv_dns resolve-prefer ipv4 init-addr none" "" \
                "resolvers conv_dns
    nameserver bind 127.0.0.1:$counter_port" "$stats_port"
            ;;
        switchyard-*)
            bench_switchyard_yaml "$BENCH_DIR/$name.yaml" "  - target: $srv"$'\n'"    weight: 100" "" ""
            local -a extra=()
            if [[ "$kind" == switchyard-notify ]]; then
                extra=(--dns-notify-listen "127.0.0.1:$notify_port")
                bench_stop "$sink_pid"
            fi
            bench_start_switchyard "$name" "$sy_bin" "$BENCH_DIR/$name.yaml" "$proxy_port" 1 \
                --dns-server "127.0.0.1:$counter_port" "${extra[@]}"
            ;;
    esac
    pid="$BENCH_LAST_PID"
    local ok=0
    for _ in $(seq 1 200); do
        [[ "$(probe "$proxy_port")" == steady* ]] && { ok=1; break; }
        sleep 0.1
    done
    if ((!ok)); then
        bench_tail_log "$BENCH_DIR/$name.log"
        bench_stop "$pid"
        [[ "$kind" == switchyard-notify ]] && start_sink
        rows+=("| $kind | $ttl | failed to start | | | | | |")
        return 0
    fi
    sleep 2
    q0="$(queries)"; t_start="$(now)"
    local i r
    for ((i = 1; i <= cycles; i++)); do
        "$testdns/register" "$dns_dir" "$srv." SRV "10 10 ${port_of[moving]} moving.$zone." --ttl "$ttl" >/dev/null 2>&1 ||
            bench_die "nsupdate add failed"
        r="$(first_seen "$proxy_port" "$(now)")"; adds+=("$r")
        bench_log "$name cycle $i: add -> first request $r s"
        sleep 1
        "$testdns/deregister" "$dns_dir" "$srv." SRV "10 10 ${port_of[moving]} moving.$zone." >/dev/null 2>&1 ||
            bench_die "nsupdate delete failed"
        if [[ "${adds[-1]}" == ">"* ]]; then
            # Never seen, so its removal cannot be timed, and the proxy still waits on the TTL: stop here.
            break
        fi
        r="$(last_seen "$proxy_port" "$(now)")"; removals+=("$r")
        bench_log "$name cycle $i: removal -> last request $r s"
        # Still served at the cap: the next add would find it already there, so stop here.
        [[ "$r" == ">"* ]] && break
    done
    local qps
    qps="$(awk -v q="$(($(queries) - q0))" -v t="$(since "$t_start")" 'BEGIN { printf "%.2f", q / t }')"
    rows+=("| $kind | $ttl | $(stats "${adds[@]}") | $(stats "${removals[@]}") | $qps | ${#adds[@]} |")
    bench_log "${rows[-1]}"
    bench_stop "$pid"
    [[ "$kind" == switchyard-notify ]] && start_sink
    sleep 1
}

for ttl in "${ttl_list[@]}"; do
    for c in "${cases[@]}"; do run_case "$c" "$ttl"; done
done

{
    printf '# Convergence scenario, %s\n\n' "$stamp"
    printf 'Command: `Benchmarks/proxy/converge.sh --ttls %s --cycles %s --cap %s --only %s`\n\n' "$ttls" "$cycles" "$cap" "$only"
    printf 'Two steady backends and a third added to and removed from %s (nsupdate), up to %s cycles per row; a probe\n' "$srv" "$cycles"
    printf 'request every 10 ms on a new connection. Seconds from nsupdate returning. Queries per second counted between\n'
    printf 'the proxy and BIND over each row'"'"'s cycles. A change not seen within --cap stops the row (later cycles would start\n'
    printf 'from a proxy still waiting on the TTL).\n\n'
    bench_versions
    printf -- '- Switchyard binary: %s\n' "$sy_bin"
    printf '\n| proxy | SRV TTL (s) | add → first request, median (s) | max (s) | removal → last request, median (s) | max (s) | DNS queries/s | cycles |\n'
    printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
    printf '%s\n' "${rows[@]}"
    printf '\nLoad average at end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out"
cat "$out"
printf 'Results written to %s\n' "$out"
