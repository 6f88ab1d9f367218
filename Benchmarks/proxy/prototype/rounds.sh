#!/usr/bin/env bash
# Alternating rounds of measure.sh (epoll-relay raw and --parse) and profile.sh (HAProxy, nginx,
# Switchyard), one worker, /small, then the median per target of req/s and of user and kernel CPU
# microseconds per request. In round r the order of targets is rotated by r - 1. See README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"

rounds=3
duration=8
targets="raw,parse,haproxy,nginx,switchyard"
switchyard=/tmp/switchyard-after6
while (($#)); do
    case "$1" in
        --rounds) rounds="${2:?}"; shift 2 ;;
        --duration) duration="${2:?}"; shift 2 ;;
        --targets) targets="${2:?}"; shift 2 ;;
        --switchyard) switchyard="${2:?}"; shift 2 ;;
        -h | --help)
            echo "Usage: Benchmarks/proxy/prototype/rounds.sh [--rounds 3] [--duration 8] [--targets raw,parse,haproxy,nginx,switchyard] [--switchyard PATH]"
            exit 0 ;;
        *) echo "rounds.sh: unknown argument: $1" >&2; exit 1 ;;
    esac
done
[[ -x "$switchyard" ]] || switchyard="$repo/.build/release/switchyard"
IFS=, read -r -a order <<<"$targets"
mkdir -p "$here/results"
out="$here/results/$(date -u +%Y%m%dT%H%M%SZ)-rounds.txt"
{
    echo "# rounds.sh $(date -u +%FT%TZ), $rounds rounds of ${duration} s, switchyard $switchyard"
    echo "# $(uname -r), $(nproc) CPUs, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out"

run() {
    case "$1" in
        raw | parse) "$here/measure.sh" --mode "$1" --duration "$duration" ;;
        switchyard) "$repo/Benchmarks/proxy/profile.sh" --proxy switchyard --duration "$duration" --switchyard "$switchyard" ;;
        *) "$repo/Benchmarks/proxy/profile.sh" --proxy "$1" --duration "$duration" ;;
    esac
}

n=${#order[@]}
for ((r = 0; r < rounds; r++)); do
    for ((k = 0; k < n; k++)); do
        t="${order[(k + r) % n]}"
        line="$(run "$t" 2>>"$out.log" | grep 'CPU per request' || true)"
        echo "round $((r + 1)) $t load $(cut -d' ' -f1 /proc/loadavg) | ${line:-FAILED}" | tee -a "$out"
    done
done

# Medians per target of req/s, user and kernel µs per request.
echo | tee -a "$out"
echo "| target | user µs/request | kernel µs/request | total µs/request | req/s |" | tee -a "$out"
echo "|---|---:|---:|---:|---:|" | tee -a "$out"
for t in "${order[@]}"; do
    grep "^round [0-9]* $t load" "$out" | grep -v FAILED |
        sed -E 's/.*: ([0-9]+) req\/s.*CPU per request: ([0-9.]+) us user \+ ([0-9.]+) us kernel = ([0-9.]+) us.*/\1 \2 \3 \4/' |
        awk -v t="$t" '
            function median(a, m,   i, j, x) {
                for (i = 2; i <= m; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
                return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }
            { m++; rps[m] = $1; u[m] = $2; s[m] = $3; tot[m] = $4 }
            END { if (m == 0) { printf "| %s | - | - | - | - |\n", t; exit }
                  printf "| %s | %.1f | %.1f | %.1f | %.0f |\n", t, median(u, m), median(s, m), median(tot, m), median(rps, m) }'
done | tee -a "$out"
echo "results in $out (stderr of the runs in $out.log)" >&2
