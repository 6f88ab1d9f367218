#!/usr/bin/env bash
# Restart scenario: each proxy is upgraded or reloaded N times during a bounded wrk run in front of
# the same four nginx backends; counts the errors clients see. See README.md in this directory.
set -euo pipefail
BENCH_SCRIPT=restart.sh
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: Benchmarks/proxy/restart.sh [options]
  --duration S        seconds of each wrk run (default 60)
  --times N           upgrades or reloads per run, spread evenly over it (default 20)
  --only LIST         rows to run, comma-separated:
                      switchyard-upgrade,switchyard-reload,nginx,haproxy (default all)
  --switchyard PATH   Switchyard binary (default $SWITCHYARD_BIN, else .build/release/switchyard)
  --out FILE          results file (default Benchmarks/proxy/results/<UTC time>-restart.md)
  --keep              keep the scratch directory (configs, logs) after exit
Environment: SWITCHYARD_BIN, SWITCHYARD_EXTRA_ARGS (appended to `switchyard start`).
Rows:
  switchyard-upgrade  `switchyard start … --control-socket PATH --takeover` replaces the running
                      node; the old process must exit within 15 s
  switchyard-reload   the --config file is rewritten (backend 4: weight 50, 100, removed, added
                      back, …) and the node gets SIGHUP
  nginx               SIGHUP to the master (what `nginx -s reload` sends)
  haproxy             SIGUSR2 to the master of `haproxy -W` (master-worker), listeners passed on
                      through a stats socket with `expose-fd listeners`
EOF
}

duration=60
times=20
only="switchyard-upgrade,switchyard-reload,nginx,haproxy"
sy_arg=""
out=""
while (($#)); do
    case "$1" in
        --duration) duration="${2:?}"; shift 2 ;;
        --times) times="${2:?}"; shift 2 ;;
        --only) only="${2:?}"; shift 2 ;;
        --switchyard) sy_arg="${2:?}"; shift 2 ;;
        --out) out="${2:?}"; shift 2 ;;
        --keep) BENCH_KEEP=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; bench_die "unknown argument: $1" ;;
    esac
done
for v in "$duration" "$times"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || bench_die "--duration and --times take positive integers"
done
((duration >= 2)) || bench_die "--duration must be at least 2 s"
((times <= 1000)) || bench_die "--times takes at most 1000"
IFS=',' read -r -a rows <<<"$only"
((${#rows[@]} > 0)) || bench_die "--only needs at least one row"
for r in "${rows[@]}"; do
    case "$r" in
        switchyard-upgrade | switchyard-reload | nginx | haproxy) ;;
        *) bench_die "--only: unknown row '$r' (switchyard-upgrade, switchyard-reload, nginx, haproxy)" ;;
    esac
done

connections=64
workers=1
takeover_wait=15 # seconds the old Switchyard may take to exit after a takeover
reload_wait=5    # seconds for Switchyard to log a reload
worker_wait=10   # seconds for nginx or HAProxy to start a new worker after the signal

# nginx also serves the backends, so it is needed for every row; HAProxy only for its own row.
bench_need_tools wrk nginx curl ss timeout
PATH="$PATH:/usr/sbin:/sbin"
bench_init
bench_wait_quiet 0

sy_bin="$(bench_switchyard_bin "$sy_arg")"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
[[ -n "$out" ]] || out="$BENCH_HOME/results/$stamp-restart.md"
mkdir -p "$(dirname "$out")"

bench_start_backends
bench_pick_port; stats_port="$REPLY"

haproxy_servers="" nginx_servers=""
for i in 0 1 2 3; do
    haproxy_servers+="    server b$((i + 1)) 127.0.0.1:${BACKEND_PORTS[i]}"$'\n'
    nginx_servers+="        server 127.0.0.1:${BACKEND_PORTS[i]};"$'\n'
done

# Target lines of the Switchyard configuration: backends 1-3 at weight 100, backend 4 at weight $1
# (0: backend 4 is not a target).
sy_target_lines() {
    local w4="$1" i w lines=""
    for i in 0 1 2 3; do
        w=100
        if ((i == 3)); then
            ((w4 > 0)) || continue
            w="$w4"
        fi
        lines+="  - target: 127.0.0.1:${BACKEND_PORTS[i]}"$'\n'"    weight: $w"$'\n'
    done
    printf '%s' "${lines%$'\n'}"
}

# Writes the Switchyard configuration FILE with backend 4 at weight W4 (0: absent), through a
# rename so that a reload never reads a half-written file.
sy_write_config() {
    local file="$1" w4="$2"
    bench_switchyard_yaml "$file.new" "$(sy_target_lines "$w4")" "" ""
    mv -f -- "$file.new" "$file"
}

declare -A row_label=(
    [switchyard-upgrade]="switchyard upgrade"
    [switchyard-reload]="switchyard reload"
    [nginx]="nginx reload"
    [haproxy]="haproxy reload"
)
declare -A row_action=(
    [switchyard-upgrade]="new \`switchyard start … --control-socket PATH --takeover\`; old PID exits"
    [switchyard-reload]="rewrite --config (backend 4: weight 50, 100, removed, added back), SIGHUP"
    [nginx]="SIGHUP to the master (\`nginx -s reload\`)"
    [haproxy]="SIGUSR2 to the master (\`-W\`, \`expose-fd listeners\`)"
)
summary=()
notes=()
actions=()

# --- per-row state -------------------------------------------------------------------------

row=""          # row being run
row_port=""     # its proxy port
row_pid=""      # the process serving (Switchyard node, nginx or HAProxy master)
row_pids=()     # every other process of the row (workers, earlier Switchyard generations)
row_log=""      # the serving process's log
row_conf=""     # its configuration file
sy_gen=0        # Switchyard generation (upgrade row)
sy_ctl=""       # control socket (upgrade row)
old_exits=""    # exit statuses of the old Switchyard nodes after takeovers (upgrade row)
ACTION_DETAIL=""

# Children of PID, one per line.
children_of() {
    local f="/proc/$1/task/$1/children"
    [[ -r "$f" ]] || return 0
    tr ' ' '\n' <"$f" | sed '/^$/d'
}

# Records the children of PID not recorded yet (new nginx or HAProxy workers).
record_new_children() {
    local pid="$1" name="$2" child
    for child in $(children_of "$pid"); do
        [[ -n "${BENCH_PID_START[$child]:-}" ]] && continue
        bench_record "$child" "$name"
        row_pids+=("$child")
    done
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# Waits up to SECONDS for PID (a recorded master) to have a child that is not in BEFORE (a
# space-separated list): the new worker of a reload.
wait_new_child() {
    local pid="$1" before=" $2 " secs="$3" deadline child
    deadline=$((SECONDS + secs))
    while ((SECONDS < deadline)); do
        bench_alive "$pid" || return 1
        for child in $(children_of "$pid"); do
            [[ "$before" == *" $child "* ]] || return 0
        done
        sleep 0.1
    done
    return 1
}

# --- actions: each returns 0 on success, 1 on failure, with ACTION_DETAIL set ---------------

# Switchyard takeover: a new node takes the listening sockets from the running one over the
# control socket; the old one drains and exits by itself.
action_switchyard_upgrade() {
    local old="$row_pid" new rc=0 old_rc=0 deadline t
    sy_gen=$((sy_gen + 1))
    local name="switchyard-upgrade-$sy_gen"
    t="$(now)"
    bench_start_switchyard "$name" "$sy_bin" "$row_conf" "$row_port" "$workers" \
        --control-socket "$sy_ctl" --takeover
    new="$BENCH_LAST_PID"
    row_pids+=("$new")
    deadline=$((SECONDS + takeover_wait))
    while ((SECONDS < deadline)) && bench_alive "$old" && bench_alive "$new"; do
        sleep 0.1
    done
    if ! bench_alive "$new"; then
        wait "$new" 2>/dev/null || rc=$?
        bench_forget "$new"
        ACTION_DETAIL="new process (pid $new) exited with status $rc after $(since "$t") s"
        bench_tail_log "$BENCH_DIR/$name.log" 5
        if ! bench_alive "$old"; then
            ACTION_DETAIL+="; the old one (pid $old) is gone too"
        fi
        return 1
    fi
    if bench_alive "$old"; then
        # The new node runs but the old one did not let go: serve on with the new one and leave the
        # old one to the end of the row.
        ACTION_DETAIL="old process (pid $old) still running ${takeover_wait} s after the takeover started"
        row_pids+=("$old")
        row_pid="$new"
        row_log="$BENCH_DIR/$name.log"
        return 1
    fi
    wait "$old" 2>/dev/null || old_rc=$?
    bench_forget "$old"
    old_exits+=" $old_rc"
    row_pid="$new"
    row_log="$BENCH_DIR/$name.log"
    ACTION_DETAIL="old pid $old exited (status $old_rc) $(since "$t") s after the new pid $new started"
    return 0
}

# Switchyard reload: rewrite the file, SIGHUP, and wait for the node to log the reload.
action_switchyard_reload() {
    local k="$1" w4 ok_before bad_before deadline t
    case $(((k - 1) % 4)) in
        0) w4=50 ;;
        1) w4=100 ;;
        2) w4=0 ;;
        *) w4=100 ;;
    esac
    ok_before="$(grep -c 'switchyard: reloaded' "$row_log" || true)"
    bad_before="$(grep -c 'switchyard: reload failed' "$row_log" || true)"
    sy_write_config "$row_conf" "$w4"
    t="$(now)"
    local change="backend 4 at weight $w4"
    ((w4 > 0)) || change="backend 4 removed"
    if ! bench_alive "$row_pid" || ! kill -HUP "$row_pid" 2>/dev/null; then
        ACTION_DETAIL="$change; the node (pid $row_pid) is gone"
        return 1
    fi
    deadline=$((SECONDS + reload_wait))
    while ((SECONDS < deadline)); do
        if (($(grep -c 'switchyard: reload failed' "$row_log" || true) > bad_before)); then
            ACTION_DETAIL="$change; the node logged: reload failed"
            return 1
        fi
        if (($(grep -c 'switchyard: reloaded' "$row_log" || true) > ok_before)); then
            ACTION_DETAIL="$change; reloaded after $(since "$t") s"
            return 0
        fi
        bench_alive "$row_pid" || break
        sleep 0.05
    done
    if bench_alive "$row_pid"; then
        ACTION_DETAIL="$change; no reload logged within $reload_wait s"
    else
        ACTION_DETAIL="$change; the node (pid $row_pid) exited"
    fi
    return 1
}

# nginx or HAProxy: SIGNAL to the master, then wait for a new worker.
action_master_signal() {
    local signal="$1" before t
    before="$(children_of "$row_pid" | tr '\n' ' ')"
    t="$(now)"
    if ! bench_alive "$row_pid" || ! kill -"$signal" "$row_pid" 2>/dev/null; then
        ACTION_DETAIL="the master (pid $row_pid) is gone"
        return 1
    fi
    if wait_new_child "$row_pid" "$before" "$worker_wait"; then
        record_new_children "$row_pid" "$row worker"
        ACTION_DETAIL="new worker after $(since "$t") s"
        return 0
    fi
    if bench_alive "$row_pid"; then
        ACTION_DETAIL="no new worker within $worker_wait s"
    else
        ACTION_DETAIL="the master (pid $row_pid) exited"
    fi
    return 1
}

run_action() {
    case "$row" in
        switchyard-upgrade) action_switchyard_upgrade ;;
        switchyard-reload) action_switchyard_reload "$1" ;;
        nginx) action_master_signal HUP ;;
        haproxy) action_master_signal USR2 ;;
    esac
}

# --- starting each proxy -------------------------------------------------------------------

# Starts the row's proxy on row_port; returns 1 (with a summary line added) if it cannot run.
start_row() {
    local label="${row_label[$row]}"
    case "$row" in
        switchyard-upgrade | switchyard-reload)
            if [[ ! -x "$sy_bin" ]]; then
                bench_log "$label skipped: no Switchyard binary at $sy_bin (build: swift build -c release --product switchyard, or set SWITCHYARD_BIN)"
                summary+=("| $label | ${row_action[$row]} | pending: binary not built | | | | | | |")
                return 1
            fi
            row_conf="$BENCH_DIR/$row.yaml"
            sy_write_config "$row_conf" 100
            local -a extra=()
            if [[ "$row" == switchyard-upgrade ]]; then
                sy_gen=0
                sy_ctl="$BENCH_DIR/control.sock"
                extra=(--control-socket "$sy_ctl")
            fi
            local name="$row"
            [[ "$row" == switchyard-upgrade ]] && name+="-0"
            bench_start_switchyard "$name" "$sy_bin" "$row_conf" "$row_port" "$workers" "${extra[@]}"
            row_pid="$BENCH_LAST_PID"
            row_log="$BENCH_DIR/$name.log"
            if ! bench_wait_proxy "$name" "$row_pid" "$row_port" 30; then
                bench_stop "$row_pid"
                summary+=("| $label | ${row_action[$row]} | failed to start | | | | | | |")
                return 1
            fi
            if [[ "$row" == switchyard-upgrade ]]; then
                local deadline=$((SECONDS + 10))
                while ((SECONDS < deadline)) && [[ ! -S "$sy_ctl" ]]; do
                    sleep 0.1
                done
                [[ -S "$sy_ctl" ]] ||
                    bench_log "warning: no control socket at $sy_ctl 10 s after start; takeovers will likely fail"
            fi
            ;;
        nginx)
            bench_start_nginx_proxy nginx "$row_port" "$workers" "${nginx_servers%$'\n'}" ""
            row_pid="$BENCH_LAST_PID"
            row_log="$BENCH_DIR/nginx.error.log"
            if ! bench_wait_proxy nginx "$row_pid" "$row_port"; then
                bench_stop "$row_pid"
                summary+=("| $label | ${row_action[$row]} | failed to start | | | | | | |")
                return 1
            fi
            record_new_children "$row_pid" "nginx worker"
            ;;
        haproxy)
            if ! command -v haproxy >/dev/null 2>&1; then
                bench_log "$label skipped: haproxy is not installed (sudo apt-get install -y haproxy)"
                summary+=("| $label | ${row_action[$row]} | skipped: haproxy not installed | | | | | | |")
                return 1
            fi
            local v major
            v="$(haproxy -v 2>/dev/null | sed -n 1p)"
            major="$(sed -n 's/^HA-\{0,1\}Proxy version \([0-9]\{1,\}\)\..*/\1/p' <<<"$v")"
            if [[ ! "$major" =~ ^[0-9]+$ ]] || ((major < 2)); then
                bench_log "$label skipped: needs HAProxy 2.x or later, found: $v"
                summary+=("| $label | ${row_action[$row]} | skipped: needs HAProxy 2.x+ | | | | | | |")
                return 1
            fi
            row_conf="$BENCH_DIR/haproxy.cfg"
            bench_render "$BENCH_HOME/templates/haproxy.cfg" "$row_conf.base" "PORT=$row_port" \
                "WORKERS=$workers" "SERVERS=${haproxy_servers%$'\n'}" "BACKEND_OPTS=" "RESOLVERS=" \
                "STATS_PORT=$stats_port"
            # The admin socket hands the listening sockets to the next worker on each reload.
            awk -v line="    stats socket $BENCH_DIR/admin.sock mode 600 level admin expose-fd listeners" \
                '{ print } $0 == "global" { print line }' "$row_conf.base" >"$row_conf"
            grep -q 'expose-fd listeners' "$row_conf" || bench_die "no global section in templates/haproxy.cfg"
            haproxy -c -q -f "$row_conf" >"$BENCH_DIR/haproxy.check.log" 2>&1 || {
                bench_tail_log "$BENCH_DIR/haproxy.check.log" 30
                bench_die "haproxy rejected $row_conf"
            }
            bench_start haproxy "$BENCH_DIR/haproxy.log" haproxy -W -db -f "$row_conf" \
                -S "$BENCH_DIR/master.sock"
            row_pid="$BENCH_LAST_PID"
            row_log="$BENCH_DIR/haproxy.log"
            if ! bench_wait_proxy haproxy "$row_pid" "$row_port"; then
                bench_stop "$row_pid"
                summary+=("| $label | ${row_action[$row]} | failed to start | | | | | | |")
                return 1
            fi
            record_new_children "$row_pid" "haproxy worker"
            ;;
    esac
    return 0
}

# Stops the serving process first (nginx and HAProxy masters take their workers along), then
# whatever is left of the row.
stop_row() {
    local pid
    [[ -n "$row_pid" ]] && bench_stop "$row_pid"
    for pid in "${row_pids[@]}"; do
        bench_stop "$pid"
    done
    row_pid="" row_pids=()
}

# Adds a note when old processes crashed on their way out (the clients may not have noticed):
# HAProxy's master logs each former worker's exit code, nginx's logs a worker killed by a signal,
# and the Switchyard upgrade row collects the old nodes' exit statuses (EXITS, space-separated).
note_crashes() {
    local label="$1" exits="$2" n=0 what="" rc
    case "$row" in
        haproxy)
            # Code 143 is SIGTERM: a worker still draining when this script stopped the master.
            read -r n what < <(awk '
                /Former worker .* exited with code / {
                    s = $0; sub(/.*exited with code /, "", s)
                    if (s !~ /^(0|143)( |$)/) { n++; c[s]++ }
                }
                END { w = ""; for (k in c) w = w (w == "" ? "" : ", ") c[k] "× code " k; print n + 0, w }' \
                "$BENCH_DIR/haproxy.log")
            ;;
        nginx)
            n="$(grep -c 'exited on signal' "$BENCH_DIR/nginx.error.log" || true)"
            what="see nginx.error.log"
            ;;
        switchyard-upgrade)
            for rc in $exits; do
                ((rc == 0)) || n=$((n + 1))
            done
            what="statuses:$exits"
            ;;
    esac
    if ((n > 0)); then
        notes+=("$label: $n old process(es) exited abnormally after handing over ($what)")
        bench_log "$label: $n old process(es) exited abnormally ($what)"
    fi
}

# --- one row -------------------------------------------------------------------------------

run_row() {
    row="$1"
    row_pid="" row_pids=() row_log="" row_conf=""
    local label="${row_label[$row]}" log="$BENCH_DIR/wrk-$row.log" t0 end at k rc=0
    local done_n=0 failed_n=0 started
    old_exits=""
    bench_pick_port; row_port="$REPLY"
    bench_log "$label: starting"
    start_row || return 0
    sleep 1

    t0="$(now)"
    bench_start wrk "$log" timeout -k 5 "$((duration + 30))" \
        wrk -t1 -c"$connections" -d"${duration}s" --timeout 5s -s "$BENCH_HOME/lua/status.lua" \
        "http://127.0.0.1:$row_port/small"
    local wrk_pid="$BENCH_LAST_PID"
    end="$(awk -v t="$t0" -v d="$duration" 'BEGIN { printf "%.3f", t + d }')"

    for ((k = 1; k <= times; k++)); do
        at="$(awk -v t="$t0" -v d="$duration" -v n="$times" -v k="$k" 'BEGIN { printf "%.3f", t + k * d / (n + 1) }')"
        if awk -v a="$(now)" -v e="$end" 'BEGIN { exit !(a >= e) }'; then
            bench_log "$label: the run ended before action $k; $((times - k + 1)) not done"
            notes+=("$label: $((times - k + 1)) of $times actions not done (the run ended while earlier ones were still waiting)")
            break
        fi
        bench_sleep_until "$at"
        bench_alive "$wrk_pid" || break
        if ! bench_alive "$row_pid"; then
            bench_log "$label: the proxy (pid $row_pid) is gone; no more actions"
            notes+=("$label: the proxy (pid $row_pid) exited before action $k; the remaining actions were not done")
            break
        fi
        started="$(awk -v a="$(now)" -v t="$t0" 'BEGIN { printf "%.1f", a - t }')"
        done_n=$((done_n + 1))
        ACTION_DETAIL=""
        if run_action "$k"; then
            bench_log "$label: action $k at $started s: ok, $ACTION_DETAIL"
            actions+=("| $label | $k | $started | ok | $ACTION_DETAIL |")
        else
            failed_n=$((failed_n + 1))
            bench_log "$label: action $k at $started s: FAILED, $ACTION_DETAIL"
            actions+=("| $label | $k | $started | failed | $ACTION_DETAIL |")
        fi
    done

    wait "$wrk_pid" || rc=$?
    bench_forget "$wrk_pid"
    if ! bench_alive "$row_pid"; then
        notes+=("$label: the proxy (pid $row_pid) was not running at the end of the run")
    fi
    stop_row
    note_crashes "$label" "$old_exits"
    if ((rc != 0)) || [[ -z "$(bench_wrk_field "$log" requests)" ]]; then
        bench_log "wrk against $label failed (exit $rc):"
        bench_tail_log "$log"
        summary+=("| $label | ${row_action[$row]} | wrk failed | | | | | $done_n | $failed_n |")
        return 0
    fi

    local requests rps non2xx sockets
    requests="$(bench_wrk_field "$log" requests)"
    rps="$(bench_wrk_field "$log" rps)"
    read -r _ non2xx < <(bench_window "$log" 0 9999999999)
    sockets="$(bench_socket_error_total "$log")"
    summary+=("$(printf '| %s | %s | %s | %.0f | %s | %s | %s (%s) | %s | %s |' "$label" "${row_action[$row]}" \
        "$requests" "$rps" "$non2xx" "$(bench_bad_statuses "$log")" "$sockets" \
        "$(bench_socket_errors "$log")" "$done_n" "$failed_n")")
    bench_log "$label: $requests requests, $non2xx non-2xx, $sockets socket errors, $done_n actions ($failed_n failed)"
    sleep 1
}

header="$BENCH_DIR/header.md"
{
    printf '# Restart scenario, %s\n\n' "$stamp"
    printf 'Command: `Benchmarks/proxy/restart.sh --duration %s --times %s --only %s`\n\n' \
        "$duration" "$times" "$only"
    printf 'wrk -t1 -c%s -d%ss GET /small over keep-alive per row; %s actions per run, one every %s s.\n\n' \
        "$connections" "$duration" "$times" "$(awk -v d="$duration" -v n="$times" 'BEGIN { printf "%.2f", d / (n + 1) }')"
    bench_versions
    printf -- '- switchyard: %s\n' "$([[ -x "$sy_bin" ]] && echo "$sy_bin" || echo "not built ($sy_bin)")"
} >"$header"
cp -- "$header" "$out"

for r in "${rows[@]}"; do
    run_row "$r"
done

table_head='| row | action | requests | req/s | non-2xx | non-2xx by status | socket errors (connect, read, write, timeout) | actions done | actions failed |
|---|---|---:|---:|---:|---|---:|---:|---:|'
{
    printf '\n%s\n' "$table_head"
    printf '%s\n' "${summary[@]}"
    if ((${#notes[@]})); then
        printf '\n'
        printf -- '- %s\n' "${notes[@]}"
    fi
    if ((${#actions[@]})); then
        printf '\n## Actions\n\n| row | # | at s | result | detail |\n|---|---:|---:|---|---|\n'
        printf '%s\n' "${actions[@]}"
    fi
    printf '\nLoad average at end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$out"

printf '\n'
cat -- "$header"
printf '\n%s\n' "$table_head"
printf '%s\n' "${summary[@]}"
((${#notes[@]} == 0)) || printf -- '- %s\n' "${notes[@]}"
printf 'Results written to %s\n' "$out"
