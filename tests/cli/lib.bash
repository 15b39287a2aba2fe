# Helpers shared by the CLI tests (sourced, not run). Each test gets the semcache binary as $1.
set -uo pipefail
SEMCACHE="$1"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
failures=0
checks=0

# expect_fail CODE "substring" ... -- command args: the command must exit with CODE and print
# every substring on stderr.
expect_fail() {
  local code="$1"; shift
  local needles=()
  while [ "$1" != "--" ]; do needles+=("$1"); shift; done
  shift
  local err rc
  err="$("$@" 2>&1 >/dev/null)"; rc=$?
  checks=$((checks + 1))
  if [ "$rc" -ne "$code" ]; then
    echo "FAIL: expected exit $code, got $rc: $*"; echo "  stderr: $err"; failures=$((failures + 1)); return
  fi
  for n in "${needles[@]}"; do
    if [[ "$err" != *"$n"* ]]; then
      echo "FAIL: stderr lacks '$n': $*"; echo "  stderr: $err"; failures=$((failures + 1)); return
    fi
  done
  echo "ok: exit $code: ${err:0:160}"
}

# expect_ok command args: the command must exit 0.
expect_ok() {
  local out rc
  out="$("$@" 2>&1)"; rc=$?
  checks=$((checks + 1))
  if [ "$rc" -ne 0 ]; then
    echo "FAIL: expected success, got $rc: $*"; echo "$out" | tail -5; failures=$((failures + 1)); return
  fi
  echo "ok: $*"
}

pass() { checks=$((checks + 1)); echo "ok: $1"; }
fail_check() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $1"; }

finish() {
  echo "$((checks - failures)) passed, $failures failed"
  [ "$failures" -eq 0 ]
}

# A redis-server for the test on a free loopback port, without persistence, its log in
# $WORK/redis.log, stopped on exit:
#   start_redis [redis-server args...]  sets $port and $redis_pid
#   restart_redis                       the same server again on the same port (after a kill)
#   stop_redis
# The port is below the kernel's ephemeral range: the client sockets of tests running beside this
# one take ports in that range, and a server cannot bind a port a connection holds. Another test
# can still take the port first; the server then exits and start_redis tries another port. Ready
# means this server logged "Ready to accept connections" (an answer to PING could come from
# another server on the port); a server not ready within 5 s fails the test with its log.
redis_args=()
redis_pid=""
port=""
redis_launch() {
  local ready_before
  ready_before=$(cat "$WORK/redis.log" 2>/dev/null | grep -c "Ready to accept connections")
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no --dir "$WORK" \
    "${redis_args[@]}" >> "$WORK/redis.log" 2>&1 &
  redis_pid=$!
  for _ in $(seq 50); do
    kill -0 "$redis_pid" 2>/dev/null || return 1
    [ "$(grep -c "Ready to accept connections" "$WORK/redis.log")" -gt "$ready_before" ] && return 0
    sleep 0.1
  done
  return 1
}
stop_redis() {
  [ -n "$redis_pid" ] || return 0
  kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; redis_pid=""
}
redis_failed() { echo "FAIL: redis-server did not answer on port $port; its log:"; cat "$WORK/redis.log"; exit 1; }
start_redis() {
  command -v redis-server >/dev/null || { echo "FAIL: redis-server is not installed (run scripts/setup)"; exit 1; }
  redis_args=("$@")
  trap 'stop_redis; rm -rf "$WORK"' EXIT
  local ephemeral_low
  ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  for _ in 1 2 3 4 5; do
    port=$(( 10000 + (RANDOM * 32768 + RANDOM) % (ephemeral_low - 10000) ))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue  # something listens there
    redis_launch && return 0
    stop_redis
  done
  redis_failed
}
restart_redis() { redis_launch || redis_failed; }
