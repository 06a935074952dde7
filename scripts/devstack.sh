#!/usr/bin/env bash
# Start or stop the local Temporal dev server and the TaskAgent worker, tracked by pid files.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data}
BIN=.venv/bin
ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
mkdir -p "$DATA"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() {  # wait_for <seconds> <description> <command...>
  local seconds=$1 what=$2; shift 2
  for _ in $(seq 1 $((seconds * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for $what" >&2
  return 1
}

stop_pid() {  # stop_pid <pidfile> <name>
  if alive "$1"; then
    local pid; pid=$(cat "$1")
    kill -TERM "$pid"
    for _ in $(seq 1 350); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "stopped $2 (pid $pid)"
  fi
  rm -f "$1"
}

case "${1:-}" in
  server)
    if alive "$DATA/temporal.pid"; then
      echo "Temporal dev server already running (pid $(cat "$DATA/temporal.pid"))"
    else
      # TaskAgent's search attributes (taskagent/search.py), registered on every start.
      read -r -a attributes <<<"$("$BIN/python" -c 'from taskagent.search import dev_server_flags
print(dev_server_flags())')"
      nohup "$BIN/temporal" server start-dev --db-filename "$DATA/temporal.db" \
        --ip 127.0.0.1 --port 7233 --ui-port 8233 --log-level warn "${attributes[@]}" \
        >"$DATA/temporal.log" 2>&1 &
      echo $! >"$DATA/temporal.pid"
      echo "starting Temporal dev server (pid $!, database $DATA/temporal.db)"
    fi
    wait_for 60 "the Temporal dev server (see $DATA/temporal.log)" \
      "$BIN/temporal" operator cluster health --address "$ADDRESS"
    echo "Temporal is up at $ADDRESS — Web UI: http://localhost:8233"
    ;;
  worker)
    stop_pid "$DATA/worker.pid" worker
    nohup "$BIN/python" worker.py >"$DATA/worker.log" 2>&1 &
    echo $! >"$DATA/worker.pid"
    wait_for 60 "the worker (see $DATA/worker.log)" grep -q "worker started" "$DATA/worker.log"
    echo "worker running (pid $(cat "$DATA/worker.pid"), log $DATA/worker.log)"
    ;;
  stop)
    stop_pid "$DATA/worker.pid" worker
    stop_pid "$DATA/temporal.pid" "Temporal dev server"
    ;;
  *)
    echo "usage: $0 server|worker|stop" >&2
    exit 2
    ;;
esac
