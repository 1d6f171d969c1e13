#!/usr/bin/env bash
# Reproduces the figures of BENCHMARKS.md: builds msnd and msnd-load in release mode, and for
# each scenario named (default: all) prepares a fresh database, starts msnd with
# load/msnd-load.toml, runs msnd-load, stops msnd. Result lines are appended to
# load/results/<scenario>.jsonl and the charts redrawn into load/results/.
#
#     load/run-benchmarks.sh [import] [sessions] [logins] [presence] [chat]
#
# Everything runs on this machine's loopback; each run is bounded in time. Takes about
# 40 minutes for all scenarios on 2 cores. LABEL=... tags the results (e.g. a change).
set -euo pipefail
cd "$(dirname "$0")/.."

LABEL=${LABEL:-}
BENCH=target/bench
RESULTS=load/results
MSND=target/release/msnd
LOAD=target/release/msnd-load
CONFIG=load/msnd-load.toml
# shellcheck source=load/server.sh
source load/server.sh

build() {
    cargo build --release --locked -p msnd -p msnd-load
    mkdir -p "$BENCH" "$RESULTS"
}

# accounts FILE COUNT: the accounts file, generated once.
accounts() {
    [ -s "$1" ] || "$LOAD" accounts --count "$2" --output "$1"
}

# fresh_db FILE CONTACTS [passport]: an empty database with FILE's accounts, each with
# CONTACTS mutual contacts (its neighbours in the file); MD5 hashes only, unless `passport`
# asks for the Argon2id hash too (MSNP8 logins need it; ~100 accounts/s).
fresh_db() {
    local hashes=--md5-only
    [ "${3:-}" = passport ] && hashes=
    stop_server
    rm -f "$BENCH"/msnd.db "$BENCH"/msnd.db-wal "$BENCH"/msnd.db-shm
    "$MSND" --config "$CONFIG" user import "$1" $hashes --contacts "$2"
}

start_server() {
    launch_server "$MSND"
}

# run SCENARIO ARGS..: one msnd-load run, its result line kept.
run() {
    local scenario=$1
    shift
    "$LOAD" "$scenario" --server-pid "$server_pid" --label "$LABEL" "$@" >>"$RESULTS/$scenario.jsonl"
}

scenario_import() {
    accounts "$BENCH/accounts-100k.txt" 100000
    stop_server
    rm -f "$BENCH"/msnd.db*
    echo "import: 100,000 accounts, --md5-only, 20 contacts each" >&2
    /usr/bin/time -f "%e s, %M KiB max RSS" "$MSND" --config "$CONFIG" user import \
        "$BENCH/accounts-100k.txt" --md5-only --contacts 20
    rm -f "$BENCH"/msnd.db*
    head -n 200 "$BENCH/accounts-100k.txt" >"$BENCH/accounts-200.txt"
    echo "import: 200 accounts with the Passport (Argon2id) hash" >&2
    /usr/bin/time -f "%e s, %M KiB max RSS" "$MSND" --config "$CONFIG" user import "$BENCH/accounts-200.txt"
}

scenario_sessions() {
    accounts "$BENCH/accounts-100k.txt" 100000
    fresh_db "$BENCH/accounts-100k.txt" 20
    start_server
    run sessions --accounts "$BENCH/accounts-100k.txt" --max 20000 --steps 1000,5000,10000,15000 --hold 30
    stop_server
}

scenario_logins() {
    accounts "$BENCH/accounts-100k.txt" 100000
    fresh_db "$BENCH/accounts-100k.txt" 20
    start_server
    for concurrency in 8 16 32 64 128; do
        run logins --accounts "$BENCH/accounts-100k.txt" --concurrency "$concurrency" --duration 20
    done
    for rate in 250 500 1000 1500 2000; do
        run logins --accounts "$BENCH/accounts-100k.txt" --rate "$rate" --concurrency 512 --duration 20
    done
    head -n 200 "$BENCH/accounts-100k.txt" >"$BENCH/accounts-200.txt"
    fresh_db "$BENCH/accounts-200.txt" 20 passport
    start_server
    run logins --accounts "$BENCH/accounts-200.txt" --protocol 8 --concurrency 8 --duration 20
    stop_server
}

scenario_presence() {
    accounts "$BENCH/accounts-10k.txt" 10000
    for contacts in 20 50 100 150; do
        fresh_db "$BENCH/accounts-10k.txt" "$contacts"
        start_server
        run presence --accounts "$BENCH/accounts-10k.txt" --users 10000 --rate 1000 --duration 20
        if [ "$contacts" = 100 ]; then
            # The target's load, near this machine's limit: three runs, the charts show the median.
            for _ in 1 2; do
                run presence --accounts "$BENCH/accounts-10k.txt" --users 10000 --rate 1000 --duration 20
            done
            for rate in 250 500 750; do
                run presence --accounts "$BENCH/accounts-10k.txt" --users 10000 --rate "$rate" --duration 20
            done
            for users in 2000 5000; do
                run presence --accounts "$BENCH/accounts-10k.txt" --users "$users" --rate 1000 --duration 20
            done
        fi
        stop_server
    done
}

scenario_chat() {
    accounts "$BENCH/accounts-100k.txt" 100000
    fresh_db "$BENCH/accounts-100k.txt" 0
    start_server
    for chats in 100 500 1000 2000 4000; do
        run chat --accounts "$BENCH/accounts-100k.txt" --chats "$chats" --duration 20
        "$LOAD" relay-baseline --label "$LABEL" --chats "$chats" --duration 20 >>"$RESULTS/chat.jsonl"
    done
    for rate in 2000 10000 20000 30000 40000 50000; do
        run chat --accounts "$BENCH/accounts-100k.txt" --chats 1000 --rate "$rate" --duration 20
        "$LOAD" relay-baseline --label "$LABEL" --chats 1000 --rate "$rate" --duration 20 >>"$RESULTS/chat.jsonl"
    done
    stop_server
}

build
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(import sessions logins presence chat)
for scenario in "${scenarios[@]}"; do
    echo "== $scenario" >&2
    "scenario_$scenario"
done
"$LOAD" plot "$RESULTS"/*.jsonl --out-dir "$RESULTS"
