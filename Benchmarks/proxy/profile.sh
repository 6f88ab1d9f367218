#!/usr/bin/env bash
# CPU cost per request of one proxy (Switchyard, HAProxy or nginx) in front of the same four nginx
# backends as compare.sh: requests/s, user and kernel CPU microseconds per request read from
# /proc, and optionally a `perf record` call-graph profile of the proxy process.
# See README.md in this directory.
set -euo pipefail
BENCH_SCRIPT=profile.sh
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: Benchmarks/proxy/profile.sh [options]
  --proxy NAME        switchyard (default), haproxy or nginx
  --duration S        seconds of measured load (default 10)
  --connections N     wrk connections, one wrk thread (default 64)
  --size small|4k     response size (default small)
  --workers N         worker threads/processes (default 1)
  --perf FILE         also record a perf profile (cpu-clock, call graphs) of the proxy into FILE
  --syscalls          also count the proxy's system calls per request (perf syscall tracepoints)
  --sched             also count the proxy's context switches, CPU migrations, page faults and
                      scheduler wake-ups per request (perf software events and sched tracepoints)
  --allocs            also count the proxy's heap allocations per request (perf uprobes on libc's
                      malloc, calloc, realloc, posix_memalign, memalign; needs root; slows the proxy)
  --switchyard PATH   Switchyard binary (default $SWITCHYARD_BIN, else .build/release/switchyard)
Environment: SWITCHYARD_EXTRA_ARGS (appended to `switchyard start`).
EOF
}

proxy=switchyard
duration=10
connections=64
size=small
workers=1
perf_out=""
syscalls=0
allocs=0
sched=0
sy_arg=""
while (($#)); do
    case "$1" in
        --proxy) proxy="${2:?}"; shift 2 ;;
        --duration) duration="${2:?}"; shift 2 ;;
        --connections) connections="${2:?}"; shift 2 ;;
        --size) size="${2:?}"; shift 2 ;;
        --workers) workers="${2:?}"; shift 2 ;;
        --perf) perf_out="${2:?}"; shift 2 ;;
        --syscalls) syscalls=1; shift ;;
        --allocs) allocs=1; shift ;;
        --sched) sched=1; shift ;;
        --switchyard) sy_arg="${2:?}"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; bench_die "unknown argument: $1" ;;
    esac
done
case "$proxy" in switchyard | haproxy | nginx) ;; *) bench_die "--proxy takes switchyard, haproxy or nginx" ;; esac
case "$size" in small | 4k) ;; *) bench_die "--size takes small or 4k" ;; esac
for v in "$duration" "$connections" "$workers"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || bench_die "--duration, --connections and --workers take positive integers"
done

bench_need_tools wrk haproxy nginx curl ss timeout
[[ -z "$perf_out" && "$syscalls" == 0 && "$allocs" == 0 && "$sched" == 0 ]] || bench_need_tools perf

# Uprobes on libc's allocation entry points; the ones this run adds are removed at exit.
alloc_events=()
if [[ "$allocs" == 1 ]]; then
    libc="$(ldconfig -p | awk '/libc\.so\.6 .*x86-64|libc\.so\.6 .*AArch64/ { print $NF; exit }')"
    [[ -n "$libc" && -e "$libc" ]] || bench_die "--allocs: libc.so.6 not found"
    existing="$(perf probe -l 2>/dev/null || true)"
    for fn in malloc calloc realloc posix_memalign memalign; do
        event="probe_libc:$fn"
        if ! grep -q "^ *$event " <<<"$existing"; then
            perf probe -q -x "$libc" --add "$fn" >/dev/null 2>&1 ||
                bench_die "--allocs: perf probe could not add $fn (needs root and uprobes)"
            BENCH_AT_EXIT+=("perf probe -q -d '$event' >/dev/null 2>&1")
        fi
        alloc_events+=("$event")
    done
fi
bench_init
bench_start_backends

bench_pick_port; port="$REPLY"
servers=""
for i in 0 1 2 3; do
    case "$proxy" in
        haproxy) servers+="    server b$((i + 1)) 127.0.0.1:${BACKEND_PORTS[i]}"$'\n' ;;
        nginx) servers+="        server 127.0.0.1:${BACKEND_PORTS[i]};"$'\n' ;;
        switchyard) servers+="  - target: 127.0.0.1:${BACKEND_PORTS[i]}"$'\n'"    weight: 100"$'\n' ;;
    esac
done
case "$proxy" in
    haproxy)
        bench_pick_port
        bench_start_haproxy haproxy "$port" "$workers" "${servers%$'\n'}" "" "" "$REPLY"
        ;;
    nginx)
        bench_start_nginx_proxy nginx "$port" "$workers" "${servers%$'\n'}" ""
        ;;
    switchyard)
        sy_bin="$(bench_switchyard_bin "$sy_arg")"
        [[ -x "$sy_bin" ]] || bench_die "no Switchyard binary at $sy_bin (swift build -c release --product switchyard)"
        bench_switchyard_yaml "$BENCH_DIR/switchyard.yaml" "${servers%$'\n'}" "" ""
        bench_start_switchyard switchyard "$sy_bin" "$BENCH_DIR/switchyard.yaml" "$port" "$workers"
        ;;
esac
pid="$BENCH_LAST_PID"
bench_wait_proxy "$proxy" "$pid" "$port" 30 ||
    bench_die "$proxy did not start"
pids=("$pid")
if [[ "$proxy" == nginx ]]; then
    bench_record_nginx_workers "$pid" nginx
    mapfile -t pids < <(pgrep -P "$pid")
fi

# CPU ticks (user, system) summed over the proxy's processes.
cpu_ticks() {
    local p total_u=0 total_s=0 fields
    for p in "${pids[@]}"; do
        read -r -a fields < <(sed 's/^.*) //' "/proc/$p/stat")
        total_u=$((total_u + fields[11]))
        total_s=$((total_s + fields[12]))
    done
    echo "$total_u $total_s"
}

bench_wrk "$BENCH_DIR/warmup.txt" 2 "$connections" "$BENCH_HOME/lua/report.lua" "http://127.0.0.1:$port/$size" || true
read -r u0 s0 < <(cpu_ticks)
perf_pid=""
if [[ -n "$perf_out" ]]; then
    perf record -q -e cpu-clock -F 1999 -g -o "$perf_out" -p "$(IFS=,; echo "${pids[*]}")" \
        -- sleep "$duration" >"$BENCH_DIR/perf.log" 2>&1 &
    perf_pid=$!
fi
alloc_pid=""
if [[ "$allocs" == 1 ]]; then
    perf stat -x, -e "$(IFS=,; echo "${alloc_events[*]}")" -p "$(IFS=,; echo "${pids[*]}")" \
        -o "$BENCH_DIR/allocs.csv" -- sleep "$duration" >"$BENCH_DIR/perf-allocs.log" 2>&1 &
    alloc_pid=$!
fi
stat_pid=""
if [[ "$syscalls" == 1 ]]; then
    perf stat -x, -e 'syscalls:sys_enter_*' -p "$(IFS=,; echo "${pids[*]}")" -o "$BENCH_DIR/syscalls.csv" \
        -- sleep "$duration" >"$BENCH_DIR/perf-stat.log" 2>&1 &
    stat_pid=$!
fi
sched_pid=""
if [[ "$sched" == 1 ]]; then
    perf stat -x, -e 'context-switches,cpu-migrations,page-faults,sched:sched_wakeup,sched:sched_switch' \
        -p "$(IFS=,; echo "${pids[*]}")" -o "$BENCH_DIR/sched.csv" \
        -- sleep "$duration" >"$BENCH_DIR/perf-sched.log" 2>&1 &
    sched_pid=$!
fi
bench_wrk "$BENCH_DIR/wrk.txt" "$duration" "$connections" "$BENCH_HOME/lua/report.lua" "http://127.0.0.1:$port/$size"
read -r u1 s1 < <(cpu_ticks)
[[ -z "$perf_pid" ]] || wait "$perf_pid" || true
[[ -z "$stat_pid" ]] || wait "$stat_pid" || true
[[ -z "$alloc_pid" ]] || wait "$alloc_pid" || true
[[ -z "$sched_pid" ]] || wait "$sched_pid" || true

requests="$(bench_wrk_field "$BENCH_DIR/wrk.txt" requests)"
rps="$(bench_wrk_field "$BENCH_DIR/wrk.txt" rps)"
p50="$(bench_wrk_field "$BENCH_DIR/wrk.txt" p50_us)"
p99="$(bench_wrk_field "$BENCH_DIR/wrk.txt" p99_us)"
hz="$(getconf CLK_TCK)"
awk -v n="$requests" -v u="$((u1 - u0))" -v s="$((s1 - s0))" -v hz="$hz" -v rps="$rps" -v p50="$p50" -v p99="$p99" \
    -v proxy="$proxy" -v size="$size" -v w="$workers" 'BEGIN {
        if (n <= 0) { print "no requests completed"; exit 1 }
        printf "%s workers=%s size=%s: %.0f req/s, p50 %s us, p99 %s us; CPU per request: %.1f us user + %.1f us kernel = %.1f us\n",
            proxy, w, size, rps, p50, p99, u / hz * 1e6 / n, s / hz * 1e6 / n, (u + s) / hz * 1e6 / n }'
[[ -z "$perf_out" ]] || bench_log "perf profile in $perf_out (perf report -i $perf_out --no-children)"
# Per-request counts from a `perf stat -x,` file: a total and each event above 0.01 per request.
# perf counts over the same window as wrk (both run for --duration seconds).
per_request() {
    local file="$1" prefix="$2" label="$3"
    awk -F, -v n="$requests" -v prefix="$prefix" -v label="$label" '$1 ~ /^[0-9]+$/ {
            name = $3; sub("^" prefix, "", name); total += $1; count[name] = $1 }
        END {
            if (n <= 0) exit
            printf "%s per request: %.2f (", label, total / n
            sep = ""
            for (k in count) if (count[k] / n >= 0.01) { printf "%s%s %.2f", sep, k, count[k] / n; sep = ", " }
            print ")" }' "$file"
}
[[ "$syscalls" == 0 ]] || per_request "$BENCH_DIR/syscalls.csv" "syscalls:sys_enter_" "system calls"
[[ "$sched" == 0 ]] || per_request "$BENCH_DIR/sched.csv" "" "scheduler events"
[[ "$allocs" == 0 ]] || per_request "$BENCH_DIR/allocs.csv" "probe_libc:" "heap allocations"
