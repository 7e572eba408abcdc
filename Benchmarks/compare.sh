#!/usr/bin/env bash
# Fan-out benchmark of sse-serve side by side with nginx + nchan and the C floor, on loopback only.
#
#   Benchmarks/compare.sh [--quick] [--only S1,S2,S3,S4,S5] [--scale F] [--targets sse-serve,nchan,floor]
#
# Installs nginx-light + libnginx-mod-nchan when missing, builds sse-serve and sse-bench (release,
# scratch path .build-bench) and the floor (the shared floor.c: $SSE_FLOOR_C, else
# ../shared/bench/floor.c beside the repository; its column is left out when it is missing),
# then for each scenario starts a fresh server, runs the scenario against it, stops it, and does
# the same with the others. Prints the side-by-side table with ratios (sse-serve / nchan and
# sse-serve / floor) and writes it, the raw JSON lines and the machine's description to
# Benchmarks/results/. Everything it starts is stopped on exit. See Benchmarks/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ONLY="S1,S2,S3,S4,S5"
SCALE=1
QUICK=0
TARGETS="sse-serve,nchan,floor"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --only) ONLY="$2"; shift ;;
    --only=*) ONLY="${1#--only=}" ;;
    --scale) SCALE="$2"; shift ;;
    --scale=*) SCALE="${1#--scale=}" ;;
    --targets) TARGETS="$2"; shift ;;
    --targets=*) TARGETS="${1#--targets=}" ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
wants() { [[ ",$ONLY," == *",$1,"* ]]; }
targets() { [[ ",$TARGETS," == *",$1,"* ]]; }

WORK=$(mktemp -d /tmp/sse-bench-compare.XXXXXX)
SERVER_PID=""
HOLD_FIFO=0

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
  if [ "$HOLD_FIFO" = 1 ]; then exec 3>&-; HOLD_FIFO=0; fi
}
cleanup() {
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $*" >&2; }

# --- tools ---------------------------------------------------------------------------------
NCHAN_MODULE=/usr/lib/nginx/modules/ngx_nchan_module.so
if targets nchan && { ! command -v nginx >/dev/null || [ ! -f "$NCHAN_MODULE" ]; }; then
  log "installing nginx-light and libnginx-mod-nchan"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nginx-light libnginx-mod-nchan >/dev/null
  # The package may start the system nginx (port 80); it is not ours to keep running.
  if command -v service >/dev/null; then service nginx stop >/dev/null 2>&1 || true; fi
fi

# The floor is built from the shared file at run time, never copied into the repository.
FLOOR_C="${SSE_FLOOR_C:-$(dirname "$ROOT")/shared/bench/floor.c}"
if targets floor; then
  if [ -f "$FLOOR_C" ] && command -v cc >/dev/null; then
    log "building the floor from $FLOOR_C"
    cc -O2 -o "$WORK/floor" "$FLOOR_C"
  else
    log "no floor: $FLOOR_C not found (set SSE_FLOOR_C) or no cc; its column is left out"
    TARGETS=$(echo ",$TARGETS," | sed 's/,floor,/,/; s/^,//; s/,$//')
  fi
fi

cd "$ROOT"
log "building sse-bench and sse-serve (release, .build-bench)"
swift build -c release --scratch-path .build-bench --product sse-bench 2>&1 | tail -1
if targets sse-serve; then
  swift build -c release --scratch-path .build-bench --product sse-serve 2>&1 | tail -1
fi
BIN="$ROOT/.build-bench/release"
BENCH="$BIN/sse-bench"

# --- servers -------------------------------------------------------------------------------
free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 9<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "compare.sh: no free port found" >&2; exit 1
}
wait_port() {
  for _ in $(seq 100); do
    if (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "compare.sh: nothing listens on 127.0.0.1:$1" >&2; return 1
}

start_nchan() {
  local dir="$WORK/nchan"
  rm -rf "$dir"; mkdir -p "$dir/body"
  PORT=$(free_port)
  cat >"$dir/nginx.conf" <<CONF
load_module $NCHAN_MODULE;
worker_processes 2;
worker_rlimit_nofile 20000;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
daemon off;
events { worker_connections 19000; multi_accept on; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  keepalive_requests 1000000;
  nchan_message_buffer_length 1000;
  server {
    listen 127.0.0.1:$PORT backlog=4096;
    location ~ ^/sub/(.+)\$ {
      nchan_subscriber eventsource;
      nchan_channel_id \$1;
      nchan_subscriber_first_message newest;
    }
    location ~ ^/pub/(.+)\$ {
      nchan_publisher;
      nchan_channel_id \$1;
    }
  }
}
CONF
  nginx -c "$dir/nginx.conf" -p "$dir" </dev/null >"$dir/stdout.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$PORT"
  SUB="http://127.0.0.1:$PORT/sub/{ch}"
  PUB="http://127.0.0.1:$PORT/pub/{ch}"
}

# The floor: one thread, any `GET /...` is a subscriber, any `POST /...` a publish to all of
# them (see floor.c); it keeps the shell's open-file limit, so raise it to the hard one.
start_floor() {
  PORT=$(free_port)
  (ulimit -n "$(ulimit -Hn)"; exec "$WORK/floor" "$PORT") </dev/null >"$WORK/floor.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$PORT"
  SUB="http://127.0.0.1:$PORT/sub/{ch}"
  PUB="$SUB"
}

# sse-serve prints exactly one line, `listening on http://HOST:PORT`, on stderr.
wait_listening() {
  local err=$1
  for _ in $(seq 200); do
    if grep -q '^listening on http://' "$err" 2>/dev/null; then
      PORT=$(sed -n 's|^listening on http://[^:]*:\([0-9]*\).*|\1|p' "$err" | head -1)
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "compare.sh: sse-serve exited:" >&2; cat "$err" >&2; return 1; }
    sleep 0.05
  done
  echo "compare.sh: sse-serve did not say where it listens" >&2; cat "$err" >&2; return 1
}

start_sse() {
  local err="$WORK/sse-serve.err"
  # A /dev/null stdin is a character device, so sse-serve runs its ticker demo on channel
  # `ticker`: harmless, the bench uses channels of its own.
  "$BIN/sse-serve" --port 0 --host 127.0.0.1 --max-clients 19000 --quiet "$@" </dev/null 2>"$err" &
  SERVER_PID=$!
  wait_listening "$err"
  SUB="http://127.0.0.1:$PORT/events/{ch}"
  PUB="$SUB"
}

start_sse_stdin() {
  local err="$WORK/sse-serve.err" fifo="$WORK/stdin.fifo"
  rm -f "$fifo"; mkfifo "$fifo"
  # Hold the FIFO open read-write so neither side's open blocks and the server sees no EOF
  # before the bench has opened it for writing; the server must not inherit this descriptor.
  exec 3<>"$fifo"; HOLD_FIFO=1
  "$BIN/sse-serve" --port 0 --host 127.0.0.1 --buffer "$1" --quiet stdin@ingest <"$fifo" 3>&- 2>"$err" &
  SERVER_PID=$!
  wait_listening "$err"
  SUB="http://127.0.0.1:$PORT/events/ingest"
  FIFO="$fifo"
}

# --- scenarios -----------------------------------------------------------------------------
RESULTS="$ROOT/Benchmarks/results"
mkdir -p "$RESULTS"
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT_A="$RESULTS/$STAMP-sse-serve.jsonl"
OUT_B="$RESULTS/$STAMP-nchan.jsonl"
OUT_C="$RESULTS/$STAMP-floor.jsonl"
: >"$OUT_A"; : >"$OUT_B"; : >"$OUT_C"
LOG="$RESULTS/$STAMP-runs.log"

dur() { awk -v d="$1" -v s="$SCALE" -v q="$QUICK" 'BEGIN { if (q == 1) d = 2; printf "%g", d * s }'; }
S2_SUBS=10000; S4_SUBS=15000; S5_LINES=1000000
if [ "$QUICK" = 1 ]; then S2_SUBS=2000; S4_SUBS=2000; S5_LINES=100000; fi

run_fanout() {  # name server out-file extra-args...
  local name=$1 server=$2 out=$3; shift 3
  log "$name against $server"
  "$BENCH" "$name" --sub "$SUB" --pub "$PUB" --server "$server" --server-pid "$SERVER_PID" \
    --json-out "$out" "$@" | tee -a "$LOG" | grep -v '^{' || true
}

for S in S1 S2 S3 S4; do
  wants "$S" || continue
  case $S in
    S1) ARGS=(--duration "$(dur 20)") ;;
    S2) ARGS=(--duration "$(dur 20)" --subscribers "$S2_SUBS") ;;
    S3) ARGS=(--duration "$(dur 10)") ;;
    S4) ARGS=(--subscribers "$S4_SUBS") ;;
  esac
  if targets sse-serve; then start_sse; run_fanout "$S" sse-serve "$OUT_A" "${ARGS[@]}"; stop_server; fi
  if targets nchan; then start_nchan; run_fanout "$S" nchan "$OUT_B" "${ARGS[@]}"; stop_server; fi
  if targets floor; then start_floor; run_fanout "$S" floor "$OUT_C" "${ARGS[@]}"; stop_server; fi
done

if wants S5 && targets sse-serve; then
  log "S5 (stdin ingest, $S5_LINES lines) against sse-serve"
  start_sse_stdin "$S5_LINES"
  "$BENCH" ingest --sub "$SUB" --fifo "$FIFO" --lines "$S5_LINES" --server-pid "$SERVER_PID" \
    --json-out "$OUT_A" | tee -a "$LOG" | grep -v '^{' || true
  stop_server
fi

# --- the table -----------------------------------------------------------------------------
TABLE="$RESULTS/$STAMP-compare.txt"
{
  echo "sse-serve vs nginx+nchan and the C floor — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
  echo "nchan: $(nginx -v 2>&1 | sed 's/.*: //'), $(dpkg-query -W -f='libnginx-mod-nchan ${Version}' libnginx-mod-nchan 2>/dev/null || echo 'nchan ?'); sse-serve: $(git -C "$ROOT" rev-parse --short HEAD)"
  echo "floor: $(targets floor && echo "$FLOOR_C" || echo 'not run')"
  echo "options: only=$ONLY scale=$SCALE quick=$QUICK"
  echo
  if targets floor; then
    "$BENCH" compare "$OUT_A" "$OUT_B" "$OUT_C" --names sse-serve,nchan,floor
  else
    "$BENCH" compare "$OUT_A" "$OUT_B" --names sse-serve,nchan
  fi
} | tee "$TABLE"
log "written: $TABLE (raw: $OUT_A, $OUT_B, $OUT_C, $LOG)"
