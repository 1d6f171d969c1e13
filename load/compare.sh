#!/usr/bin/env bash
# Compares two builds of msnd on this machine: the same commands, the two servers alternated
# ROUNDS times (default 2) so that drift in the host hits both alike. Each directory holds a
# release `msnd` and `msnd-load` (e.g. copies of target/release/ before and after a change);
# the load tool of AFTER drives both.
#
#     load/compare.sh BEFORE_DIR AFTER_DIR [logins] [presence] [chat]
#
# Every server start gets a copy of the same prepared database, made by BEFORE's msnd (a
# newer AFTER migrates its copy as it starts). Result lines go to
# load/results/compare-<scenario>.jsonl, labelled `before` and `after`, and a summary table
# is printed. Takes about 25 minutes for all three scenarios on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 2 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
BEFORE=$1 AFTER=$2
shift 2
ROUNDS=${ROUNDS:-2}
BENCH=target/compare
RESULTS=load/results
CONFIG=load/msnd-load.toml
LOAD="$AFTER/msnd-load"
mkdir -p "$BENCH" "$RESULTS"
# shellcheck source=load/server.sh
source load/server.sh

# The database path is the one load/msnd-load.toml names.
db=$(sed -n 's/^database_url *= *"sqlite:\/\/\([^"?]*\).*/\1/p' "$CONFIG")
[ -n "$db" ] || { echo "compare: no database path in $CONFIG" >&2; exit 1; }
mkdir -p "$(dirname "$db")"


# prepare ACCOUNTS CONTACTS: the database every run of a scenario starts from.
prepare() {
    stop_server
    [ -s "$BENCH/accounts-$1.txt" ] || "$LOAD" accounts --count "$1" --output "$BENCH/accounts-$1.txt"
    rm -f "$db" "$db-wal" "$db-shm"
    # BEFORE's schema: AFTER migrates its own copy if it is newer (not the other way round).
    "$BEFORE/msnd" --config "$CONFIG" user import "$BENCH/accounts-$1.txt" --md5-only --contacts "$2" >&2
    cp "$db" "$BENCH/prepared.db"
}

# start DIR: that build's server on a fresh copy of the prepared database.
start_server() {
    stop_server
    rm -f "$db" "$db-wal" "$db-shm"
    cp "$BENCH/prepared.db" "$db"
    launch_server "$1/msnd"
}

# measure SCENARIO ARGS..: each build in turn, ROUNDS times, one run each.
measure() {
    local scenario=$1
    shift
    for round in $(seq "$ROUNDS"); do
        for side in before after; do
            local dir=$BEFORE
            [ "$side" = after ] && dir=$AFTER
            start_server "$dir"
            echo "== $scenario $* ($side, round $round)" >&2
            "$LOAD" "$scenario" --server-pid "$server_pid" --label "$side" "$@" \
                >>"$RESULTS/compare-$scenario.jsonl"
            stop_server
        done
    done
}

scenario_logins() {
    prepare 100000 20
    for concurrency in 32 64; do
        measure logins --accounts "$BENCH/accounts-100000.txt" --concurrency "$concurrency" --duration 20
    done
}

scenario_presence() {
    prepare 10000 100
    for rate in 1000 750; do
        measure presence --accounts "$BENCH/accounts-10000.txt" --users 10000 --rate "$rate" --duration 20
    done
}

scenario_chat() {
    prepare 100000 0
    measure chat --accounts "$BENCH/accounts-100000.txt" --chats 1000 --duration 20
    measure chat --accounts "$BENCH/accounts-100000.txt" --chats 1000 --rate 20000 --duration 20
}

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(logins presence chat)
for scenario in "${scenarios[@]}"; do
    : >"$RESULTS/compare-$scenario.jsonl"
    "scenario_$scenario"
done

# One line per run: the figures BENCHMARKS.md quotes.
python3 - "${scenarios[@]}" <<'EOF'
import json, sys
for scenario in sys.argv[1:]:
    print(f"\n{scenario}")
    for line in open(f"load/results/compare-{scenario}.jsonl"):
        r = json.loads(line)
        p, cpu = r["params"], r["cpu"]["server_cores"]
        if scenario == "logins":
            l = r["latency"]
            print(f"  {r['label']:6} c={p['concurrency']:<4} {r['logins_per_sec']:8.0f} logins/s  "
                  f"p99 {l['p99_ms']:.1f} ms  server {cpu} cores")
        elif scenario == "presence":
            a = r["arrival_latency"]
            print(f"  {r['label']:6} rate={p['rate']:<6.0f} p50/p99/p99.9 at arrival {a['p50_ms']:.2f} / "
                  f"{a['p99_ms']:.1f} / {a['p999_ms']:.1f} ms  lost {r['sessions_lost']}  server {cpu} cores")
        else:
            t = r["round_trip"]
            print(f"  {r['label']:6} rate={p['rate']:<7.0f} {r['messages_per_sec']:8.0f} msg/s  "
                  f"p50/p99 {t['p50_ms']:.2f} / {t['p99_ms']:.1f} ms  server {cpu} cores")
EOF
