# Starting and stopping one msnd server for the benchmark scripts (sourced by
# run-benchmarks.sh and compare.sh, which set CONFIG and BENCH first).

server_pid=

# launch_server MSND: that binary with $CONFIG in the background, once it logs that it
# listens; its log goes to $BENCH/msnd.log.
launch_server() {
    stop_server
    "$1" --config "$CONFIG" 2>>"$BENCH/msnd.log" &
    server_pid=$!
    for _ in $(seq 50); do
        if grep -q "listening" <(tail -n 20 "$BENCH/msnd.log"); then break; fi
        sleep 0.2
    done
    sleep 1
}

stop_server() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}
trap stop_server EXIT
