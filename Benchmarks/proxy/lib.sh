# Shared by compare.sh, failure.sh and dns-outage.sh; sourced, never run.
# shellcheck shell=bash
#
# Every process a script starts goes through bench_start, which records its PID (and its start
# time, so a recycled PID is never signalled); bench_cleanup, installed as the EXIT trap, stops
# each recorded PID and nothing else. All listeners bind 127.0.0.1 only.

BENCH_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH_REPO="$(cd "$BENCH_HOME/../.." && pwd)"
BENCH_SCRIPT="${BENCH_SCRIPT:-$(basename "$0")}"
BENCH_PIDS=()           # recorded PIDs, in start order
declare -A BENCH_PID_NAME=()
declare -A BENCH_PID_START=()
declare -A BENCH_USED_PORTS=()
BENCH_DIR=""            # scratch directory of this run (configs, logs)
BENCH_KEEP=0            # 1: keep BENCH_DIR after exit
BENCH_CLEANED=0
BENCH_AT_EXIT=()         # commands bench_cleanup runs first (e.g. removing perf probes this run added)

bench_log() { printf '%s: %s\n' "$BENCH_SCRIPT" "$*" >&2; }
bench_die() {
    bench_log "error: $*"
    exit 1
}

# --- tools ---------------------------------------------------------------------------------

# Installs the Debian packages behind missing tools (wrk, haproxy, nginx-light, curl, iproute2)
# when running as root with apt-get; otherwise says what to install and stops.
bench_need_tools() {
    local -A pkg_of=([wrk]=wrk [haproxy]=haproxy [nginx]=nginx-light [curl]=curl [ss]=iproute2
        [timeout]=coreutils)
    local tool missing=() pkgs=()
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null 2>&1 && ! [[ -x "/usr/sbin/$tool" ]]; then
            missing+=("$tool")
            pkgs+=("${pkg_of[$tool]:-$tool}")
        fi
    done
    ((${#missing[@]} == 0)) && return 0
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        bench_log "missing ${missing[*]}; installing: apt-get install -y ${pkgs[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${pkgs[@]}" >&2 ||
            { DEBIAN_FRONTEND=noninteractive apt-get update >&2 &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y "${pkgs[@]}" >&2; } ||
            bench_die "could not install ${pkgs[*]}"
    else
        bench_die "missing ${missing[*]}; install with: sudo apt-get install -y ${pkgs[*]}"
    fi
    PATH="$PATH:/usr/sbin:/sbin"
    for tool in "${missing[@]}"; do
        command -v "$tool" >/dev/null 2>&1 || bench_die "$tool still missing after install"
    done
}

bench_versions() {
    printf -- '- haproxy: %s\n' "$(haproxy -v 2>/dev/null | sed -n 1p)"
    printf -- '- nginx: %s\n' "$(nginx -v 2>&1 | sed -n 1p)"
    printf -- '- wrk: %s\n' "$(wrk -v 2>&1 | sed -n 1p)"
    printf -- '- kernel: %s, %s CPUs, load average at start: %s\n' "$(uname -r)" "$(nproc)" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# Warns when HAProxy is not the 2.6 series the comparison is written for.
bench_check_haproxy_version() {
    local v
    v="$(haproxy -v 2>/dev/null | sed -n 1p)"
    [[ "$v" == *" 2.6."* ]] || bench_log "warning: expected HAProxy 2.6, found: $v"
}

# --- scratch directory and cleanup ---------------------------------------------------------

bench_init() {
    BENCH_DIR="$(mktemp -d "${TMPDIR:-/tmp}/switchyard-bench.XXXXXX")"
    # nginx workers drop to an unprivileged user when run as root; they must reach the files here.
    chmod 0755 "$BENCH_DIR"
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}

bench_cleanup() {
    ((BENCH_CLEANED)) && return 0
    BENCH_CLEANED=1
    local i
    for ((i = ${#BENCH_AT_EXIT[@]} - 1; i >= 0; i--)); do
        eval "${BENCH_AT_EXIT[i]}" || true
    done
    for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
        bench_stop "${BENCH_PIDS[i]}"
    done
    if [[ -n "$BENCH_DIR" && -d "$BENCH_DIR" ]]; then
        if ((BENCH_KEEP)); then
            bench_log "kept scratch directory $BENCH_DIR"
        else
            rm -rf -- "$BENCH_DIR"
        fi
    fi
}

# --- processes -----------------------------------------------------------------------------

# Start time of PID in clock ticks (field 22 of /proc/PID/stat), empty if gone.
bench_starttime() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    stat="${stat##*) }"
    # After "comm)": state is field 3, so starttime (22) is the 20th word here.
    local -a f
    read -r -a f <<<"$stat"
    printf '%s' "${f[19]:-}"
}

# True while PID is the process we recorded and has not exited (zombies count as exited).
bench_alive() {
    local pid="$1" stat state
    [[ -n "${BENCH_PID_START[$pid]:-}" ]] || return 1
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
    state="${stat##*) }"
    state="${state%% *}"
    [[ "$state" != Z && "$state" != X ]] || return 1
    [[ "$(bench_starttime "$pid")" == "${BENCH_PID_START[$pid]}" ]]
}

bench_record() {
    local pid="$1" name="$2" start
    start="$(bench_starttime "$pid")"
    [[ -n "$start" ]] || return 0
    BENCH_PIDS+=("$pid")
    BENCH_PID_NAME[$pid]="$name"
    BENCH_PID_START[$pid]="$start"
}

# Records the current children of PID (e.g. nginx workers) so they are stopped even if their
# parent is killed first.
bench_record_children() {
    local pid="$1" name="$2" child
    local f="/proc/$pid/task/$pid/children"
    [[ -r "$f" ]] || return 0
    for child in $(cat "$f"); do
        bench_record "$child" "$name"
    done
}

# bench_start NAME LOGFILE CMD...: starts CMD in the background with its output in LOGFILE;
# the PID is left in BENCH_LAST_PID.
bench_start() {
    local name="$1" log="$2"
    shift 2
    "$@" >"$log" 2>&1 </dev/null &
    BENCH_LAST_PID=$!
    bench_record "$BENCH_LAST_PID" "$name"
}

# Stops one recorded PID: SIGTERM, then SIGKILL after GRACE seconds (default 5). Never touches unrecorded PIDs.
# Usage: bench_stop PID [GRACE]
bench_stop() {
    local pid="$1" grace="${2:-5}" i
    if bench_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < grace * 10; i++)); do
            bench_alive "$pid" || break
            sleep 0.1
        done
        if bench_alive "$pid"; then
            bench_log "${BENCH_PID_NAME[$pid]:-process} (pid $pid) still running ${grace} s after SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
    bench_forget "$pid"
}

# Kills one recorded PID at once (a crash, for failure scenarios).
bench_kill_hard() {
    local pid="$1"
    bench_alive "$pid" && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
    bench_forget "$pid"
}

bench_forget() {
    local pid="$1" i
    for i in "${!BENCH_PIDS[@]}"; do
        [[ "${BENCH_PIDS[i]}" == "$pid" ]] && unset 'BENCH_PIDS[i]'
    done
    BENCH_PIDS=("${BENCH_PIDS[@]}")
    unset 'BENCH_PID_NAME[$pid]' 'BENCH_PID_START[$pid]'
}

# --- ports ---------------------------------------------------------------------------------

# Picks a free TCP port for 127.0.0.1 that this run has not handed out yet; result in REPLY.
# Ports come from below the kernel's ephemeral range (net.ipv4.ip_local_port_range), so that no
# outgoing connection takes one as its source port while it is unbound (a backend killed and
# restarted on its port, a proxy started for the second worker count).
bench_pick_port() {
    local lo hi p try
    read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
    if ((lo > 21000)); then
        hi=$((lo - 1))
        lo=20000
    elif ((hi < 64000)); then
        lo=$((hi + 1))
        hi=65535
    fi
    for ((try = 0; try < 500; try++)); do
        p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
        [[ -n "${BENCH_USED_PORTS[$p]:-}" ]] && continue
        [[ -n "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]] && continue
        [[ -n "$(ss -Huan "( sport = :$p )" 2>/dev/null)" ]] && continue
        # testdns keeps claims for its instances' ports, including stopped ones awaiting restart.
        [[ -e "${TESTDNS_CLAIMS:-${TMPDIR:-/tmp}/testdns-ports}/$p" ]] && continue
        BENCH_USED_PORTS[$p]=1
        REPLY="$p"
        return 0
    done
    bench_die "no free port found in $lo-$hi"
}

bench_listening() {
    [[ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]]
}

# bench_wait_http URL PID SECONDS [EXPECT]: waits until URL answers 200 (with a body starting
# with EXPECT, if given) while PID lives. Fails with the reason.
bench_wait_http() {
    local url="$1" pid="$2" secs="$3" expect="${4:-}" body deadline
    deadline=$((SECONDS + secs))
    while ((SECONDS < deadline)); do
        if [[ -n "$pid" ]] && ! bench_alive "$pid"; then
            return 2
        fi
        if body="$(curl -fsS -m 2 "$url" 2>/dev/null)" && [[ "$body" == "$expect"* ]]; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

bench_tail_log() {
    [[ -f "$1" ]] || return 0
    tail -n "${2:-15}" "$1" | sed 's/^/    | /' >&2
}

# --- templates -----------------------------------------------------------------------------

# bench_render TEMPLATE OUT KEY=VALUE...: replaces each @KEY@ in TEMPLATE with VALUE (which may
# span lines) and fails if a placeholder is left.
bench_render() {
    local template="$1" out="$2" text pair key value
    shift 2
    text="$(<"$template")"
    for pair in "$@"; do
        key="${pair%%=*}"
        value="${pair#*=}"
        text="${text//"@$key@"/"$value"}"
    done
    if [[ "$text" =~ @[A-Z_]+@ ]]; then
        bench_die "template $template: ${BASH_REMATCH[0]} not filled"
    fi
    printf '%s\n' "$text" >"$out"
}

# --- backends ------------------------------------------------------------------------------

BACKEND_PORTS=()
BACKEND_PIDS=()

# Writes the bodies the backends serve: /small is "ok\n" (3 bytes), /4k is 4096 bytes.
bench_make_bodies() {
    mkdir -p "$BENCH_DIR/www"
    printf 'ok\n' >"$BENCH_DIR/www/small"
    head -c 4095 /dev/zero | tr '\0' 'x' >"$BENCH_DIR/www/4k"
    printf '\n' >>"$BENCH_DIR/www/4k"
    chmod -R a+rX "$BENCH_DIR/www"
}

# Starts backend I (0-based) on BACKEND_PORTS[I]: one single-process nginx with keep-alive.
bench_start_backend() {
    local i="$1" name="backend$(($1 + 1))" port="${BACKEND_PORTS[$1]}" conf
    conf="$BENCH_DIR/$name.conf"
    mkdir -p "$BENCH_DIR/$name-tmp"
    bench_render "$BENCH_HOME/templates/backend.nginx.conf" "$conf" \
        "DIR=$BENCH_DIR" "NAME=$name" "PORT=$port"
    bench_start "$name" "$BENCH_DIR/$name.log" nginx -e "$BENCH_DIR/$name.error.log" \
        -p "$BENCH_DIR/$name-tmp" -c "$conf"
    BACKEND_PIDS[i]="$BENCH_LAST_PID"
    if ! bench_wait_http "http://127.0.0.1:$port/small" "$BENCH_LAST_PID" 10 "ok"; then
        bench_tail_log "$BENCH_DIR/$name.log"
        bench_tail_log "$BENCH_DIR/$name.error.log"
        bench_die "$name did not answer on 127.0.0.1:$port"
    fi
}

bench_start_backends() {
    local i
    bench_make_bodies
    for i in 0 1 2 3; do
        bench_pick_port
        BACKEND_PORTS[i]="$REPLY"
    done
    for i in 0 1 2 3; do
        bench_start_backend "$i"
    done
    bench_log "backends on 127.0.0.1:${BACKEND_PORTS[*]}"
}

# --- proxies -------------------------------------------------------------------------------

# bench_start_haproxy NAME PORT WORKERS SERVER_LINES BACKEND_OPTS RESOLVERS STATS_PORT
bench_start_haproxy() {
    local name="$1" port="$2" workers="$3" servers="$4" opts="$5" resolvers="$6" stats="$7"
    local conf="$BENCH_DIR/$name.cfg"
    bench_render "$BENCH_HOME/templates/haproxy.cfg" "$conf" "PORT=$port" "WORKERS=$workers" \
        "SERVERS=$servers" "BACKEND_OPTS=$opts" "RESOLVERS=$resolvers" "STATS_PORT=$stats"
    haproxy -c -q -f "$conf" >"$BENCH_DIR/$name.check.log" 2>&1 || {
        bench_tail_log "$BENCH_DIR/$name.check.log" 30
        bench_die "haproxy rejected $conf"
    }
    bench_start "$name" "$BENCH_DIR/$name.log" haproxy -db -f "$conf"
}

# bench_start_nginx_proxy NAME PORT WORKERS SERVER_LINES LOCATION_OPTS
bench_start_nginx_proxy() {
    local name="$1" port="$2" workers="$3" servers="$4" opts="$5"
    local conf="$BENCH_DIR/$name.conf"
    mkdir -p "$BENCH_DIR/$name-tmp"
    bench_render "$BENCH_HOME/templates/proxy.nginx.conf" "$conf" "DIR=$BENCH_DIR" "NAME=$name" \
        "PORT=$port" "WORKERS=$workers" "SERVERS=$servers" "LOCATION_OPTS=$opts"
    nginx -t -q -e "$BENCH_DIR/$name.check.log" -p "$BENCH_DIR/$name-tmp" -c "$conf" \
        >>"$BENCH_DIR/$name.check.log" 2>&1 || {
        bench_tail_log "$BENCH_DIR/$name.check.log" 30
        bench_die "nginx rejected $conf"
    }
    bench_start "$name" "$BENCH_DIR/$name.log" nginx -e "$BENCH_DIR/$name.error.log" \
        -p "$BENCH_DIR/$name-tmp" -c "$conf"
}

# Records nginx's worker processes once it serves, so cleanup reaches them even if the master
# dies first.
bench_record_nginx_workers() {
    bench_record_children "$1" "$2 worker"
}

# Switchyard binary: --switchyard PATH, else $SWITCHYARD_BIN, else .build/release/switchyard.
bench_switchyard_bin() {
    local bin="${1:-${SWITCHYARD_BIN:-.build/release/switchyard}}"
    [[ "$bin" == /* ]] || bin="$BENCH_REPO/$bin"
    printf '%s' "$bin"
}

# bench_start_switchyard NAME BIN CONFIG PORT WORKERS [EXTRA ARGS...]
# Extra arguments from $SWITCHYARD_EXTRA_ARGS (word-split) are appended. It runs inside the
# scratch directory, with its Admin API on a free loopback port and its database file in the
# scratch directory (unless the caller's environment sets them), so it touches nothing else.
bench_start_switchyard() {
    local name="$1" bin="$2" config="$3" port="$4" workers="$5"
    shift 5
    local -a extra=()
    # shellcheck disable=SC2206 # word splitting of the user's extra arguments is intended
    [[ -n "${SWITCHYARD_EXTRA_ARGS:-}" ]] && extra=($SWITCHYARD_EXTRA_ARGS)
    bench_pick_port
    bench_start "$name" "$BENCH_DIR/$name.log" env -C "$BENCH_DIR" \
        SWITCHYARD_ADMIN_LISTEN="${SWITCHYARD_ADMIN_LISTEN:-127.0.0.1:$REPLY}" \
        SWITCHYARD_DATABASE="${SWITCHYARD_DATABASE:-$BENCH_DIR/$name.db}" \
        "$bin" start --config "$config" \
        --proxy-listen "127.0.0.1:$port" --workers "$workers" "$@" "${extra[@]}"
}

# bench_wait_proxy NAME PID PORT: waits until the proxy relays /small; on failure prints its log.
bench_wait_proxy() {
    local name="$1" pid="$2" port="$3" rc=0
    bench_wait_http "http://127.0.0.1:$port/small" "$pid" "${4:-20}" "ok" || rc=$?
    if ((rc != 0)); then
        if ((rc == 2)); then
            bench_log "$name (pid $pid) exited during start-up; its log:"
        else
            bench_log "$name did not relay http://127.0.0.1:$port/small in time; its log:"
        fi
        bench_tail_log "$BENCH_DIR/$name.log" 20
        bench_tail_log "$BENCH_DIR/$name.error.log" 10
        return 1
    fi
}

# Kong declarative YAML (format 3.0) for Switchyard: service "bench" -> upstream "bench".
# bench_switchyard_yaml OUT TARGET_LINES UPSTREAM_EXTRA SERVICE_EXTRA
bench_switchyard_yaml() {
    bench_render "$BENCH_HOME/templates/switchyard.yaml" "$1" "TARGETS=$2" \
        "UPSTREAM_EXTRA=$3" "SERVICE_EXTRA=$4"
}

# --- wrk -----------------------------------------------------------------------------------

# bench_wrk OUT DURATION CONNECTIONS SCRIPT URL: one bounded wrk run (-t1), output in OUT.
# Runs in the background so that a signal to this script stops it at once.
bench_wrk() {
    local out="$1" duration="$2" conns="$3" script="$4" url="$5" rc=0
    bench_start wrk "$out" timeout -k 5 "$((duration + 30))" \
        wrk -t1 -c"$conns" -d"${duration}s" --timeout 5s -s "$script" "$url"
    local pid="$BENCH_LAST_PID"
    wait "$pid" || rc=$?
    bench_forget "$pid"
    return "$rc"
}

# Reads KEY from the "WRKRESULT k=v ..." line of a wrk output file.
bench_wrk_field() {
    local file="$1" key="$2"
    awk -v k="$key" '$1 == "WRKRESULT" { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$file"
}

# Median of the numbers on stdin ("NA" when none).
bench_median() {
    sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "NA"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# --- failure scenarios ---------------------------------------------------------------------

# Number of servers of backend "bench" in rotation on HAProxy's stats page (on STATS_PORT):
# status UP, or "no check" for servers without health checks (MAINT and DOWN are out).
bench_haproxy_up() {
    curl -fsS -m 2 "http://127.0.0.1:$1/stats;csv" 2>/dev/null |
        awk -F, '$1 == "bench" && $2 != "BACKEND" && $2 != "FRONTEND" && ($18 ~ /^UP/ || $18 == "no check") { n++ } END { print n + 0 }'
}

# bench_wait_haproxy_up STATS_PORT COUNT SECONDS: waits until COUNT servers are UP.
bench_wait_haproxy_up() {
    local deadline=$((SECONDS + $3))
    while ((SECONDS < deadline)); do
        (($(bench_haproxy_up "$1") >= $2)) && return 0
        sleep 0.5
    done
    return 1
}

# bench_window FILE FROM TO: "<responses> <non-2xx>" counted from the WRKSTATUS lines of a wrk
# output file (status.lua) for epoch seconds FROM <= s < TO.
bench_window() {
    awk -v from="$2" -v to="$3" '
        $1 == "WRKSTATUS" && $2 >= from && $2 < to { n += $4; if ($3 < 200 || $3 > 299) bad += $4 }
        END { print n + 0, bad + 0 }' "$1"
}

# Non-2xx responses by status, e.g. "502:12 503:3" ("none" if there were none).
bench_bad_statuses() {
    awk '$1 == "WRKSTATUS" && ($3 < 200 || $3 > 299) { c[$3] += $4 }
        END { s = ""; for (k in c) s = s (s == "" ? "" : " ") k ":" c[k]; print (s == "" ? "none" : s) }' "$1"
}

# Socket errors of a wrk run: "connect read write timeout" counts.
bench_socket_errors() {
    printf 'connect %s, read %s, write %s, timeout %s' "$(bench_wrk_field "$1" connect)" \
        "$(bench_wrk_field "$1" read)" "$(bench_wrk_field "$1" write)" "$(bench_wrk_field "$1" timeout)"
}

bench_socket_error_total() {
    echo $(($(bench_wrk_field "$1" connect) + $(bench_wrk_field "$1" read) + \
        $(bench_wrk_field "$1" write) + $(bench_wrk_field "$1" timeout)))
}

# Sleeps until epoch second-precision time T (date +%s.%N value) is reached.
bench_sleep_until() {
    local now
    now="$(date +%s.%N)"
    local left
    left="$(awk -v t="$1" -v n="$now" 'BEGIN { d = t - n; print (d > 0 ? d : 0) }')"
    sleep "$left"
}

# --- machine load --------------------------------------------------------------------------

# True when the 1-minute load average is below the number of CPUs.
bench_quiet() {
    awk -v n="$(nproc)" '{ exit !($1 < n) }' /proc/loadavg
}

# bench_wait_quiet SECONDS: waits up to SECONDS for a quiet machine; warns if it stays busy.
# Other work on the cores skews every proxy differently (the single-process direct backend most).
bench_wait_quiet() {
    local deadline=$((SECONDS + $1))
    if ! bench_quiet && (($1 > 0)); then
        bench_log "load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) CPUs; waiting up to $1 s for it to drop below $(nproc)"
        while ((SECONDS < deadline)) && ! bench_quiet; do
            sleep 1
        done
    fi
    bench_quiet ||
        bench_log "warning: the machine is busy (load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs); numbers will be noisy"
}
