# Shared by the testdns scripts; sourced, never run.
# shellcheck shell=bash

# named and tsig-keygen live in sbin, which is not on every user's PATH.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac

TESTDNS_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Port claims live here so that concurrent instances (and stopped ones awaiting restart) never
# share a port: BIND binds with SO_REUSEADDR, so a second server on the same port would not fail,
# it would silently receive part of the queries.
TESTDNS_CLAIMS="${TESTDNS_CLAIMS:-${TMPDIR:-/tmp}/testdns-ports}"

die() {
    echo "testdns: $*" >&2
    exit 1
}

need_tools() {
    local missing=() tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if ((${#missing[@]})); then
        die "missing ${missing[*]}; install BIND9 and its tools with: apt-get install -y bind9 bind9-dnsutils"
    fi
}

# Loads DIR/env (written by start) into TESTDNS_* variables.
load_instance() {
    local dir="$1"
    [[ -f "$dir/env" ]] || die "$dir is not a testdns instance (no $dir/env); run testdns/start first"
    local line key value
    while IFS= read -r line; do
        [[ "$line" == TESTDNS_*=* ]] || continue
        key="${line%%=*}"
        value="${line#*=}"
        case "$key" in
            TESTDNS_PORT | TESTDNS_DIR | TESTDNS_ZONE | TESTDNS_TTL | TESTDNS_KEYFILE | TESTDNS_NOTIFY | TESTDNS_NOTIFY_HOST \
                | TESTDNS_NOTIFY_PORT | TESTDNS_NOTIFY_KEY) printf -v "$key" "%s" "$value" ;;
        esac
    done <"$dir/env"
    [[ -n "${TESTDNS_PORT:-}" && -n "${TESTDNS_ZONE:-}" && -n "${TESTDNS_KEYFILE:-}" ]] ||
        die "$dir/env is incomplete"
}

# Makes NAME absolute: names already ending in "." are kept, names inside the zone get a dot,
# and anything else is taken as relative to the zone ("backend1" -> "backend1.svc.test.").
qualify() {
    local name="$1" zone="${TESTDNS_ZONE%.}"
    if [[ "$name" == *. ]]; then
        printf '%s' "$name"
    elif [[ "$name" == "@" ]]; then
        printf '%s.' "$zone"
    elif [[ "$name" == "$zone" || "$name" == *".$zone" ]]; then
        printf '%s.' "$name"
    else
        printf '%s.%s.' "$name" "$zone"
    fi
}

# Sends the nsupdate commands on stdin to the instance, signed with its TSIG key, over TCP.
# A failure that is not the server's answer to the update (a TSIG error on the reply, a refused or dropped
# connection, seen rarely on a loaded machine) is retried twice, 0.3 s apart; re-sending an update is
# harmless (adding a record that exists, or deleting one that does not, changes nothing).
# Fails with nsupdate's own message.
send_update() {
    local commands out status attempt
    commands="$(cat)"
    for attempt in 1 2 3; do
        set +e
        out="$({
            printf 'server 127.0.0.1 %s\n' "$TESTDNS_PORT"
            printf 'zone %s.\n' "${TESTDNS_ZONE%.}"
            printf 'ttl %s\n' "${TESTDNS_TTL:-5}"
            printf '%s\n' "$commands"
            printf 'send\n'
        } | nsupdate -v -t 5 -k "$TESTDNS_KEYFILE" 2>&1)"
        status=$?
        set -e
        ((status == 0)) && [[ "$out" != *"update failed"* ]] && break
        [[ "$out" == *"update failed"* ]] && break  # the server refused the update itself: not transient
        ((attempt < 3)) && sleep 0.3
    done
    if ((status != 0)) || [[ "$out" == *"update failed"* ]]; then
        die "nsupdate to 127.0.0.1:$TESTDNS_PORT failed (exit $status): ${out:-no output}"
    fi
    [[ -z "$out" ]] || printf '%s\n' "$out" >&2
}

valid_ttl() {
    [[ "$1" =~ ^[0-9]{1,10}$ ]] || die "TTL must be a number of seconds, got '$1'"
}

# Runs "$@" in the background in its own session, appending its output to LOG, holding none of
# the caller's file descriptors: a caller that waits for EOF on a pipe or socket it passed in
# (Foundation's Process does) must see the script end, not wait for the long-lived child.
spawn_detached() { # LOG COMMAND [ARGS...]
    local log="$1"
    shift
    (
        for fd in /proc/self/fd/*; do
            fd="${fd##*/}"
            if [[ "$fd" =~ ^[0-9]+$ ]] && ((fd > 2)); then
                eval "exec $fd>&-" 2>/dev/null || true
            fi
        done
        exec setsid "$@" </dev/null >>"$log" 2>&1
    ) &
}

# True if PID runs (is not a zombie) and its command line contains MARKER. Builtins only: the
# scripts poll this, and forks are slow on a busy machine.
pid_alive() { # PID MARKER
    local pid="$1" marker="$2" stat rest args
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
    rest="${stat##*) }"
    [[ "${rest%% *}" != Z ]] || return 1
    { mapfile -d '' args <"/proc/$pid/cmdline"; } 2>/dev/null || return 1
    [[ " ${args[*]} " == *"$marker"* ]]
}
