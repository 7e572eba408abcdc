#!/usr/bin/env bash
# Benchmarks of the features after the fan-out core, on loopback only, each run bounded (≤ 60 s):
#
#   Benchmarks/features.sh [--only redis,auth,churn,cat] [--quick] [--no-nchan]
#
#   redis  S6 (2 nodes on one redis-server, 2,000 subscribers split across them, 100 events/s on
#          one node for 20 s), S7 (S3's flat-out publish on one node, its subscriber on the other),
#          and single-node S1 with and without --redis; nginx+nchan with nchan_redis_url beside
#          S6 and S7 (2 nginx instances on the same Redis) unless --no-nchan.
#   auth   S4-style opening of 10,000 streams (4 client processes): no auth, --auth with a cached
#          decision (a tiny python3 app answering Cache-Control: max-age=60), --jwt-key with a JWT.
#   churn  10,000 subscribers joining and leaving one channel at 1,000/s (sse-bench churn), with a
#          distinct JWT identity each vs anonymous; the presence snapshot must settle exactly.
#   cat    sse-cat --format data > /dev/null on S3's flat-out stream (--buffer 1000000), then on a
#          replay of the same events.
#
# redis-server, nginx and the auth app are started here and stopped on exit. Writes the JSON lines
# to Benchmarks/results/STAMP-features.jsonl and a summary to STAMP-features.txt. See
# Benchmarks/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ONLY="redis,auth,churn,cat"
QUICK=0
NCHAN=1
while [ $# -gt 0 ]; do
  case "$1" in
    --only) ONLY="$2"; shift ;;
    --only=*) ONLY="${1#--only=}" ;;
    --quick) QUICK=1 ;;
    --no-nchan) NCHAN=0 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "features.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
wants() { [[ ",$ONLY," == *",$1,"* ]]; }

WORK=$(mktemp -d /tmp/sse-bench-features.XXXXXX)
PIDS=()
log() { echo "== $*" >&2; }

stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  PIDS=()
}
cleanup() { stop_all; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

NCHAN_MODULE=/usr/lib/nginx/modules/ngx_nchan_module.so
if [ "$NCHAN" = 1 ] && { ! command -v nginx >/dev/null || [ ! -f "$NCHAN_MODULE" ]; }; then
  log "no nginx + nchan (Benchmarks/compare.sh installs them): the nchan column is left out"
  NCHAN=0
fi
if wants redis && ! command -v redis-server >/dev/null; then
  log "installing redis-server"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  if command -v service >/dev/null; then service redis-server stop >/dev/null 2>&1 || true; fi
fi

cd "$ROOT"
log "building sse-bench, sse-serve and sse-cat (release, .build-bench)"
for p in sse-bench sse-serve sse-cat; do
  swift build -c release --scratch-path .build-bench --product "$p" 2>&1 | tail -1
done
BIN="$ROOT/.build-bench/release"
BENCH="$BIN/sse-bench"

RESULTS="$ROOT/Benchmarks/results"
mkdir -p "$RESULTS"
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT="$RESULTS/$STAMP-features.jsonl"
LOG="$RESULTS/$STAMP-features.log"
: >"$OUT"

free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 9<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "features.sh: no free port found" >&2; exit 1
}
wait_port() {
  for _ in $(seq 100); do
    if (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "features.sh: nothing listens on 127.0.0.1:$1" >&2; return 1
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# start_sse NAME ARGS...: sets PORT_<NAME> and PID_<NAME>; sse-serve says `listening on http://HOST:PORT`.
start_sse() {
  local name=$1; shift
  local err="$WORK/$name.err"
  "$BIN/sse-serve" --port 0 --host 127.0.0.1 --max-clients 19000 --quiet "$@" </dev/null 2>"$err" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 200); do
    if grep -q '^listening on http://' "$err" 2>/dev/null; then
      printf -v "PORT_$name" '%s' "$(sed -n 's|^listening on http://[^:]*:\([0-9]*\).*|\1|p' "$err" | head -1)"
      printf -v "PID_$name" '%s' "$pid"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { echo "features.sh: sse-serve exited:" >&2; cat "$err" >&2; return 1; }
    sleep 0.05
  done
  echo "features.sh: sse-serve did not say where it listens" >&2; cat "$err" >&2; return 1
}

start_redis() {
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --dir "$WORK" --logfile "$WORK/redis.log" </dev/null >/dev/null 2>&1 &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  wait_port "$REDIS_PORT"
}

# start_nchan NAME: an nginx + nchan instance on the Redis of start_redis (2 workers, as compare.sh).
start_nchan() {
  local name=$1 dir="$WORK/nchan-$1" port
  mkdir -p "$dir/body"
  port=$(free_port)
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
  nchan_redis_url "redis://127.0.0.1:$REDIS_PORT";
  server {
    listen 127.0.0.1:$port backlog=4096;
    location ~ ^/sub/(.+)\$ {
      nchan_subscriber eventsource;
      nchan_channel_id \$1;
      nchan_subscriber_first_message newest;
      nchan_use_redis on;
    }
    location ~ ^/pub/(.+)\$ {
      nchan_publisher;
      nchan_channel_id \$1;
      nchan_use_redis on;
    }
  }
}
CONF
  nginx -c "$dir/nginx.conf" -p "$dir" </dev/null >"$dir/stdout.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_port "$port"
  printf -v "PORT_$name" '%s' "$port"
  printf -v "PID_$name" '%s' "$pid"
}

bench() {  # label args...: one sse-bench run, its JSON line appended with the label and load
  local label=$1; shift
  log "$label (load $(load))"
  local before_load; before_load=$(load)
  "$BENCH" "$@" --json-out "$WORK/one.jsonl" >>"$LOG" 2>&1 || log "$label: sse-bench exited $?"
  if [ -s "$WORK/one.jsonl" ]; then
    sed "s|^{|{\"label\":\"$label\",\"load\":\"$before_load\",|" "$WORK/one.jsonl" >>"$OUT"
    tail -1 "$WORK/one.jsonl" | tr ',' '\n' | grep -E '"(delivered|missing|node[12]_missing|lat_p50_ms|lat_p99_ms|delivered_per_s|server_cpu_us_per_event|connect_s|failed_connections|subscribers_ready|snapshot_settled|snapshot_empty|server_cpu_s|server_cpu_us_per_conn|churn_s|ok)"' | tr '\n' ' ' >&2
    echo >&2
  fi
  rm -f "$WORK/one.jsonl"
}

note() {  # label key=value...: a line of figures measured by this script itself
  local label=$1; shift
  local json="{\"label\":\"$label\",\"load\":\"$(load)\""
  local kv
  for kv in "$@"; do json+=",\"${kv%%=*}\":\"${kv#*=}\""; done
  echo "$json}" >>"$OUT"
  log "$label: $*"
}

dur() { if [ "$QUICK" = 1 ]; then echo 3; else echo "$1"; fi; }

# --- 1. Redis: S6, S7, S1 with and without --redis ---------------------------------------------
if wants redis; then
  start_redis
  R="redis://127.0.0.1:$REDIS_PORT"
  start_sse A --redis "$R"; start_sse B --redis "$R"
  r0=$(ticks "$REDIS_PID")
  bench "S6 sse-serve" S6 --duration "$(dur 20)" --publishers 8 --server sse-serve \
    --sub "http://127.0.0.1:$PORT_A/events/{ch}" --sub2 "http://127.0.0.1:$PORT_B/events/{ch}" \
    --pub "http://127.0.0.1:$PORT_A/events/{ch}" --server-pid "$PID_A,$PID_B"
  r1=$(ticks "$REDIS_PID")
  bench "S7 sse-serve" S7 --duration "$(dur 10)" --server sse-serve \
    --sub "http://127.0.0.1:$PORT_B/events/{ch}" --pub "http://127.0.0.1:$PORT_A/events/{ch}" \
    --server-pid "$PID_A,$PID_B"
  r2=$(ticks "$REDIS_PID")
  note "redis-server CPU" s6_redis_cpu_s="$(awk -v a="$r0" -v b="$r1" 'BEGIN{print (b-a)/100}')" \
    s7_redis_cpu_s="$(awk -v a="$r1" -v b="$r2" 'BEGIN{print (b-a)/100}')"
  stop_all

  if [ "$NCHAN" = 1 ]; then
    start_redis
    start_nchan A; start_nchan B
    bench "S6 nchan+redis" S6 --duration "$(dur 20)" --publishers 8 --server nchan-redis \
      --sub "http://127.0.0.1:$PORT_A/sub/{ch}" --sub2 "http://127.0.0.1:$PORT_B/sub/{ch}" \
      --pub "http://127.0.0.1:$PORT_A/pub/{ch}" --server-pid "$PID_A,$PID_B"
    bench "S7 nchan+redis" S7 --duration "$(dur 10)" --server nchan-redis \
      --sub "http://127.0.0.1:$PORT_B/sub/{ch}" --pub "http://127.0.0.1:$PORT_A/pub/{ch}" \
      --server-pid "$PID_A,$PID_B"
    stop_all
  fi

  start_sse A
  bench "S1 sse-serve" S1 --duration "$(dur 20)" --publishers 8 --server sse-serve \
    --sub "http://127.0.0.1:$PORT_A/events/{ch}" --server-pid "$PID_A"
  stop_all
  start_redis
  start_sse A --redis "redis://127.0.0.1:$REDIS_PORT"
  r0=$(ticks "$REDIS_PID")
  bench "S1 sse-serve --redis" S1 --duration "$(dur 20)" --publishers 8 --server sse-serve-redis \
    --sub "http://127.0.0.1:$PORT_A/events/{ch}" --server-pid "$PID_A"
  note "redis-server CPU" s1_redis_cpu_s="$(awk -v a="$r0" -v b="$(ticks "$REDIS_PID")" 'BEGIN{print (b-a)/100}')"
  stop_all
fi

# An HS256 JWT per line of $2 for users user-0…user-(N-1) ($1 = N), allowed every channel, an hour.
make_jwts() {
  python3 - "$1" "$JWT_KEY" >"$2" <<'PY'
import base64, hashlib, hmac, json, sys, time
n, key = int(sys.argv[1]), sys.argv[2].encode()
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
exp = int(time.time()) + 3600
for i in range(n):
    claims = {"sub": f"user-{i}", "exp": exp, "sse": {"subscribe": ["**"], "info": {"n": i}}}
    body = head + "." + b64(json.dumps(claims, separators=(",", ":")).encode())
    print(body + "." + b64(hmac.new(key, body.encode(), hashlib.sha256).digest()))
PY
}
JWT_KEY="bench-key-$RANDOM$RANDOM"

# --- 2. Auth: time to open 10,000 streams -------------------------------------------------------
if wants auth; then
  N=10000; [ "$QUICK" = 1 ] && N=2000
  make_jwts 1 "$WORK/jwt1"
  JWT=$(cat "$WORK/jwt1")
  # The auth app: every question allowed, the decision cacheable for 60 s.
  python3 - "$WORK/auth.port" >"$WORK/auth.log" 2>&1 <<'PY' &
import http.server, sys
class Allow(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path == "/count":  # the script's question, not the server's
            body = str(self.server.asked).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.server.asked += 1
        self.send_response(200)
        self.send_header("Cache-Control", "max-age=60")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Allow)
s.asked = 0
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
  PIDS+=("$!")
  for _ in $(seq 100); do [ -s "$WORK/auth.port" ] && break; sleep 0.05; done
  AUTH_PORT=$(cat "$WORK/auth.port")
  for mode in none auth jwt; do
    case $mode in
      none) start_sse A; Q="" ;;
      auth) start_sse A --auth "http://127.0.0.1:$AUTH_PORT/check"; Q="?token=bench-session" ;;
      jwt) start_sse A --jwt-key "$JWT_KEY"; Q="?token=$JWT" ;;
    esac
    bench "open $N, auth=$mode" S4 --subscribers "$N" --workers 4 --server "sse-serve auth=$mode" \
      --sub "http://127.0.0.1:$PORT_A/events/{ch}$Q" --server-pid "$PID_A"
    if [ "$mode" = auth ]; then
      # How the 10,000 were decided: asked once, then from the cache (the server's own counters).
      note "auth decisions" "app_asked=$(curl -s --max-time 5 "http://127.0.0.1:$AUTH_PORT/count")" "decisions=$(curl -s --max-time 5 "http://127.0.0.1:$PORT_A/metrics" | grep '^sse_auth_decisions_total' | tr '\n' ' ' | tr -d '"')"
    fi
    kill -TERM "$PID_A"; wait "$PID_A" 2>/dev/null || true
  done
  stop_all
fi

# --- 3. Presence churn --------------------------------------------------------------------------
if wants churn; then
  N=10000; [ "$QUICK" = 1 ] && N=2000
  make_jwts "$N" "$WORK/jwts"
  start_sse A --leave-grace 1
  bench "churn $N anonymous" churn --total "$N" --rate 1000 --hold-ms 1000 --keep 100 --server sse-serve \
    --sub "http://127.0.0.1:$PORT_A/events/room" --presence "http://127.0.0.1:$PORT_A/presence/room" \
    --server-pid "$PID_A"
  stop_all
  start_sse A --leave-grace 1 --jwt-key "$JWT_KEY"
  bench "churn $N JWT identities" churn --total "$N" --rate 1000 --hold-ms 1000 --keep 100 --server sse-serve-jwt \
    --sub "http://127.0.0.1:$PORT_A/events/room" --presence "http://127.0.0.1:$PORT_A/presence/room" \
    --token-file "$WORK/jwts" --server-pid "$PID_A"
  stop_all
fi

# --- 4. sse-cat on S3's flat-out stream ---------------------------------------------------------
if wants cat; then
  EV=300000; [ "$QUICK" = 1 ] && EV=50000
  start_sse A --buffer 1000000
  URL="http://127.0.0.1:$PORT_A/events/catbench"
  t0=$(date +%s.%N)
  "$BIN/sse-cat" --format data -n "$EV" --no-reconnect "$URL" >/dev/null 2>"$WORK/cat.err" &
  CAT=$!
  PIDS+=("$CAT")
  sleep 0.5  # sse-cat's stream must be open before the first publish; not a measurement
  t1=$(date +%s.%N)
  bench "S3 + sse-cat" S3 --events "$EV" --duration 30 --server sse-serve --sub "$URL" --server-pid "$PID_A"
  t2=$(date +%s.%N)
  cat_done=""
  for _ in $(seq 300); do kill -0 "$CAT" 2>/dev/null || { cat_done=$(date +%s.%N); break; }; sleep 0.1; done
  wait "$CAT" 2>/dev/null && rc=0 || rc=$?
  if [ -n "$cat_done" ]; then
    note "sse-cat live" events="$EV" exit="$rc" \
      seconds_from_bench_start="$(awk -v a="$t1" -v b="$cat_done" 'BEGIN{printf "%.3f", b-a}')" \
      events_per_s_lower_bound="$(awk -v a="$t1" -v b="$cat_done" -v n="$EV" 'BEGIN{printf "%.0f", n/(b-a)}')" \
      after_bench_s="$(awk -v a="$t2" -v b="$cat_done" 'BEGIN{printf "%.3f", b-a}')"
  else
    note "sse-cat live" events="$EV" exit="did not finish within 30 s of the bench"
    kill "$CAT" 2>/dev/null || true
  fi
  # The same events again from the server's buffer: sse-cat's own ceiling, not the publisher's.
  t3=$(date +%s.%N)
  timeout 30 "$BIN/sse-cat" --format data -n "$EV" --no-reconnect "$URL?last=$EV" >/dev/null 2>>"$WORK/cat.err" && rc=0 || rc=$?
  t4=$(date +%s.%N)
  note "sse-cat replay" events="$EV" exit="$rc" seconds="$(awk -v a="$t3" -v b="$t4" 'BEGIN{printf "%.3f", b-a}')" \
    events_per_s="$(awk -v a="$t3" -v b="$t4" -v n="$EV" 'BEGIN{printf "%.0f", n/(b-a)}')"
  stop_all
fi

{
  echo "sse-serve features — $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD)"
  echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(uname -sr); load now $(load)"
  echo "options: only=$ONLY quick=$QUICK nchan=$NCHAN"
  cat "$OUT"
} | tee "$RESULTS/$STAMP-features.txt" >&2
log "written: $OUT, $LOG"
