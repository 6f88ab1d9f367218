#!/usr/bin/env bash
# Instructions per request of Switchyard, counted by valgrind's callgrind, with the request metrics and the access
# log off and on. Instruction counts do not depend on what else the machine runs, so small per-request costs
# that wall-clock rounds cannot show (their noise is ±20 %) become visible.
# See README.md in this directory.
set -euo pipefail
BENCH_SCRIPT=instructions.sh
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: Benchmarks/proxy/instructions.sh [options]
  --requests A,B      the two request counts; per request = (I(B) - I(A)) / (B - A) (default 500,2500)
  --connections N     keep-alive client connections the requests are spread over, in turn (default 4)
  --modes LIST        comma-separated subset of base,metrics,log,both (default all four); the first mode
                      listed is the reference and runs twice (first and last) as a repeatability check
  --switchyard PATH   Switchyard binary (default $SWITCHYARD_BIN, else .build/release/switchyard)
  --proxy haproxy     count HAProxy instead (1 thread, the same backend and client; --modes is ignored), for
                      the same figure without the wall clock's noise
  --keep              keep the scratch directory (callgrind files, logs) after exit
Modes: base = request_metrics off, access_log off; metrics = request_metrics on (the default), access_log off;
log = request_metrics off, access_log to a file (JSON lines); both = request_metrics on, access_log to a file.
Environment: SWITCHYARD_EXTRA_ARGS (appended to `switchyard start`).
EOF
}

requests_arg="500,2500"
connections=4
modes_arg="base,metrics,log,both"
sy_arg=""
proxy=switchyard
while (($#)); do
    case "$1" in
        --requests) requests_arg="${2:?}"; shift 2 ;;
        --connections) connections="${2:?}"; shift 2 ;;
        --modes) modes_arg="${2:?}"; shift 2 ;;
        --switchyard) sy_arg="${2:?}"; shift 2 ;;
        --proxy) proxy="${2:?}"; shift 2 ;;
        --keep) BENCH_KEEP=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; bench_die "unknown argument: $1" ;;
    esac
done
IFS=',' read -r n_small n_large extra <<<"$requests_arg"
[[ "${n_small:-}" =~ ^[1-9][0-9]*$ && "${n_large:-}" =~ ^[1-9][0-9]*$ && -z "${extra:-}" ]] &&
    ((n_large > n_small)) || bench_die "--requests takes two counts A,B with B > A, got '$requests_arg'"
[[ "$connections" =~ ^[1-9][0-9]*$ ]] || bench_die "--connections takes a positive integer"
case "$proxy" in
    switchyard) ;;
    haproxy) modes_arg=haproxy ;;
    *) usage >&2; bench_die "--proxy takes switchyard or haproxy, got '$proxy'" ;;
esac
IFS=',' read -r -a modes <<<"$modes_arg"
((${#modes[@]} > 0)) || bench_die "--modes is empty"
declare -A mode_label=(
    [haproxy]="HAProxy, 1 thread"
    [base]="metrics off, log off"
    [metrics]="metrics on, log off"
    [log]="metrics off, log to file"
    [both]="metrics on, log to file"
)
for m in "${modes[@]}"; do
    [[ -n "${mode_label[$m]:-}" && ("$m" != haproxy || "$proxy" == haproxy) ]] ||
        bench_die "--modes takes base, metrics, log and both, got '$m'"
done

bench_need_tools nginx curl ss timeout valgrind python3 gcc
[[ "$proxy" == haproxy ]] && bench_need_tools haproxy
command -v objcopy >/dev/null 2>&1 || bench_die "missing objcopy; install with: sudo apt-get install -y binutils"
bench_init

sy_src="$(bench_switchyard_bin "$sy_arg")"
[[ "$proxy" == haproxy || -x "$sy_src" ]] || bench_die "no Switchyard binary at $sy_src (swift build -c release --product switchyard)"

# Two things valgrind 3.19 (Debian 12) needs to run a Swift 6.3 binary:
# - the binary without its DWARF 5 debug sections: valgrind's reader gives up on them ("unhandled dwarf2 abbrev
#   form code 0x25"). The symbol table stays, so callgrind_annotate still names functions; the code is the same.
# - sigsuspend(2) on a copy of its mask: libdispatch's dispatchMain() passes a mask in read-only memory, and
#   valgrind's rt_sigsuspend wrapper writes to it (to keep its own signal unblocked) and dies of SIGSEGV. The
#   shim is preloaded; it runs once, on the main thread, which then sleeps.
sy_bin="$BENCH_DIR/switchyard"
if [[ "$proxy" == switchyard ]]; then
    objcopy --strip-debug "$sy_src" "$sy_bin" || bench_die "objcopy --strip-debug $sy_src failed"
fi
cat >"$BENCH_DIR/sigsuspend-copy.c" <<'EOF'
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, _NSIG / 8);
}
EOF
gcc -O2 -shared -fPIC -o "$BENCH_DIR/sigsuspend-copy.so" "$BENCH_DIR/sigsuspend-copy.c" ||
    bench_die "could not compile the sigsuspend shim"

# One backend, as in profile.sh (a single-process nginx with keep-alive serving /small).
bench_make_bodies
bench_pick_port
BACKEND_PORTS[0]="$REPLY"
bench_start_backend 0
bench_log "backend on 127.0.0.1:${BACKEND_PORTS[0]}"
bench_switchyard_yaml "$BENCH_DIR/switchyard.yaml" "  - target: 127.0.0.1:${BACKEND_PORTS[0]}"$'\n'"    weight: 100" "" ""

# Per run, TAG being MODE-N or MODE-again-N: instructions of the requests' window and of the whole run, and the
# client's seconds for its requests.
declare -A window=() whole=() seconds=()

# Stops the process under valgrind with SIGTERM; callgrind writes its file on the way out, which takes a while.
stop_valgrind() { bench_stop "$1" 120; }

# wait_answer NAME PID PORT ADMIN_PORT: waits (up to 180 s) until the proxy answers GET /small with "ok" and the
# Admin API answers GET /status, then 2 s more: the Admin API starts after the proxy, and what start-up leaves
# running must not fall into the counts of the requests. Under valgrind code is translated on first use, so the
# first request is slow: curl gets 60 s, so that exactly one probe request answers in every run rather than a
# varying number that time out.
wait_answer() {
    local name="$1" pid="$2" port="$3" admin="$4" deadline=$((SECONDS + 180)) body proxy_ok=0 status=/status
    [[ "$proxy" == haproxy ]] && status="/stats"
    while ((SECONDS < deadline)); do
        bench_alive "$pid" || { bench_tail_log "$BENCH_DIR/$name.log" 30; bench_die "$name exited during start-up"; }
        if ((!proxy_ok)) && bench_listening "$port" &&
            body="$(curl -fsS -m 60 "http://127.0.0.1:$port/small" 2>/dev/null)" && [[ "$body" == ok* ]]; then
            proxy_ok=1
        fi
        if ((proxy_ok)) && bench_listening "$admin" && curl -fsS -m 60 -o /dev/null "http://127.0.0.1:$admin$status"; then
            sleep 2
            return 0
        fi
        sleep 0.5
    done
    bench_tail_log "$BENCH_DIR/$name.log" 30
    bench_die "$name did not answer on 127.0.0.1:$port (proxy) and 127.0.0.1:$admin (Admin API) within 180 s"
}

# callgrind_dump PID: asks callgrind (through vgdb) to write the counts since the last dump to OUT.K and zero them.
callgrind_dump() {
    local reply
    reply="$(timeout -k 5 60 callgrind_control --dump "$1" 2>&1)" && [[ "$reply" == *OK* ]] ||
        bench_die "callgrind_control --dump $1 failed: $reply"
}

# Instruction count of one callgrind file ("summary:", what callgrind counted).
callgrind_total() {
    awk '$1 == "summary:" { s = $2 } $1 == "totals:" && s == "" { s = $2 } END { print s }' "$1"
}

# run_one MODE N TAG: one Switchyard under callgrind, N requests, SIGTERM. Callgrind's counts are dumped when it
# first answers and 1 s after the client's last request, so the run splits into start-up, the requests (with the
# 100 ms hand-overs to the writer and the recorder thread that follow them) and shutdown. Sets window[TAG] to the
# requests' instructions and whole[TAG] to the whole run's.
run_one() {
    local mode="$1" n="$2" tag="$3" port admin metrics=on log=off name pid out lines rc=0 f sum=0
    case "$mode" in
        base) metrics=off ;;
        log) metrics=off; log="$BENCH_DIR/access-$tag.log" ;;
        both) log="$BENCH_DIR/access-$tag.log" ;;
    esac
    name="switchyard-$tag"
    out="$BENCH_DIR/callgrind-$tag.out"
    local -a extra=()
    # shellcheck disable=SC2206 # word splitting of the user's extra arguments is intended
    [[ -n "${SWITCHYARD_EXTRA_ARGS:-}" ]] && extra=($SWITCHYARD_EXTRA_ARGS)
    bench_pick_port; port="$REPLY"
    bench_pick_port; admin="$REPLY"
    if [[ "$mode" == haproxy ]]; then
        name="haproxy-$tag"
        bench_render "$BENCH_HOME/templates/haproxy.cfg" "$BENCH_DIR/$name.cfg" "PORT=$port" "WORKERS=1" \
            "SERVERS=    server b1 127.0.0.1:${BACKEND_PORTS[0]}" "BACKEND_OPTS=" "RESOLVERS=" "STATS_PORT=$admin"
        bench_start "$name" "$BENCH_DIR/$name.log" \
            valgrind --tool=callgrind --callgrind-out-file="$out" haproxy -db -f "$BENCH_DIR/$name.cfg"
    else
    bench_start "$name" "$BENCH_DIR/$name.log" env -C "$BENCH_DIR" \
        LD_PRELOAD="$BENCH_DIR/sigsuspend-copy.so" \
        SWITCHYARD_ADMIN_LISTEN="127.0.0.1:$admin" \
        SWITCHYARD_DATABASE="${SWITCHYARD_DATABASE:-$BENCH_DIR/$name.db}" \
        SWITCHYARD_REQUEST_METRICS="$metrics" SWITCHYARD_ACCESS_LOG="$log" \
        valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$sy_bin" start --config "$BENCH_DIR/switchyard.yaml" \
        --proxy-listen "127.0.0.1:$port" --workers 1 "${extra[@]}"
    fi
    pid="$BENCH_LAST_PID"
    wait_answer "$name" "$pid" "$port" "$admin"
    callgrind_dump "$pid"
    bench_start client "$BENCH_DIR/client-$tag.log" timeout -k 5 "$((60 + n / 5))" \
        python3 "$BENCH_HOME/sequential-client.py" "$port" "$n" "$connections"
    wait "$BENCH_LAST_PID" || rc=$?
    bench_forget "$BENCH_LAST_PID"
    if ((rc != 0)); then
        bench_tail_log "$BENCH_DIR/client-$tag.log"
        bench_die "the client failed against $name (exit $rc)"
    fi
    sleep 1
    callgrind_dump "$pid"
    stop_valgrind "$pid"
    for f in "$out.1" "$out.2" "$out"; do
        [[ -s "$f" ]] || { bench_tail_log "$BENCH_DIR/$name.log" 30; bench_die "no callgrind file $f from $name"; }
        [[ "$(callgrind_total "$f")" =~ ^[0-9]+$ ]] || bench_die "no instruction count in $f"
        sum=$((sum + $(callgrind_total "$f")))
    done
    if [[ "$log" != off ]]; then
        lines="$(wc -l <"$log")"
        ((lines > n)) || bench_log "warning: $name wrote $lines access-log lines for $n requests + 1 (dropped?)"
    fi
    window[$tag]="$(callgrind_total "$out.2")"
    whole[$tag]="$sum"
    seconds[$tag]="$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$BENCH_DIR/client-$tag.log")"
}

runs=()
for m in "${modes[@]}"; do runs+=("$m"); done
runs+=("${modes[0]}-again")
bench_log "$((${#runs[@]} * 2)) runs under callgrind: ${runs[*]}, each with $n_small and $n_large requests"
for r in "${runs[@]}"; do
    m="${r%-again}"
    for n in "$n_small" "$n_large"; do
        tag="$r-$n"
        run_one "$m" "$n" "$tag"
        bench_log "$(printf '%-14s %5d requests: %s instructions (whole run %s), client %s s' "$r" "$n" \
            "${window[$tag]}" "${whole[$tag]}" "${seconds[$tag]}")"
    done
done

# per_request ARRAY RUN: (I(B) - I(A)) / (B - A) from window or whole.
per_request() {
    local -n counts="$1"
    awk -v a="${counts[$2-$n_small]}" -v b="${counts[$2-$n_large]}" -v d="$((n_large - n_small))" \
        'BEGIN { printf "%.0f", (b - a) / d }'
}
ref="$(per_request window "${runs[0]}")"
printf '\nvalgrind --tool=callgrind, 1 worker, sequential GET /small over %s keep-alive connections.\n' "$connections"
printf 'I(N): instructions of the whole process (every thread) from the first answer to 1 s after the last of N\n'
printf 'requests; per request = (I(%s) - I(%s)) / %s. "whole run" does the same with start-up and shutdown counted.\n\n' \
    "$n_large" "$n_small" "$((n_large - n_small))"
printf '| mode | I(%s) | I(%s) | instructions/request | vs %s | whole run, per request |\n' \
    "$n_small" "$n_large" "${mode_label[${modes[0]}]}"
printf '|---|---:|---:|---:|---:|---:|\n'
for r in "${runs[@]}"; do
    m="${r%-again}"
    label="${mode_label[$m]}"
    [[ "$r" == *-again ]] && label="$label (again)"
    awk -v l="$label" -v a="${window[$r-$n_small]}" -v b="${window[$r-$n_large]}" -v p="$(per_request window "$r")" \
        -v w="$(per_request whole "$r")" -v ref="$ref" -v first="$([[ "$r" == "${runs[0]}" ]] && echo 1 || echo 0)" '
        function commas(x,   s, sign) {
            sign = x < 0 ? "-" : ""; s = sprintf("%.0f", x < 0 ? -x : x)
            while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
            return sign s }
        BEGIN {
            d = p - ref
            printf "| %s | %s | %s | %s | %s | %s |\n", l, commas(a), commas(b), commas(p),
                first ? "reference" : sprintf("%s%s (%+.1f %%)", d >= 0 ? "+" : "", commas(d), 100 * d / ref), commas(w) }'
done
((BENCH_KEEP)) && bench_log "callgrind files in $BENCH_DIR (callgrind_annotate FILE; .2 is the requests' window)"
exit 0
