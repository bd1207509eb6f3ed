#!/usr/bin/env bash
# Runs a command beside N busy-loop processes, to mimic a heavily loaded machine (the
# failures of issue 10 that were seen once at load 25 on 2 cores). Each busy loop stops by
# itself after MAX_SECONDS (default 900) even if this script is killed; they are stopped
# when the command ends.
#   scripts/with-cpu-load.sh N command args...
#   e.g. WARREN_NETNS_PREFIX=qa scripts/with-cpu-load.sh 6 node dist/bench/drills/run-drill.js rolling-restart 3
set -u
n=${1:?number of busy loops}
shift
max=${MAX_SECONDS:-900}
pids=()
for _ in $(seq 1 "$n"); do
  timeout "$max" sh -c 'while :; do :; done' &
  pids+=($!)
done
cleanup() { kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null; }
trap cleanup EXIT INT TERM
"$@"
