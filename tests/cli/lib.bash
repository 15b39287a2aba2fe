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

# A redis-server for the test (scripts/lib/redis-server.bash: a free loopback port below the
# ephemeral range, no persistence, ready when it logged so), its log in $WORK/redis.log, stopped
# on exit; a server that does not start fails the test with its log:
#   start_redis [redis-server args...]  sets $port and $redis_pid
#   restart_redis                       the same server again on the same port (after a kill)
#   stop_redis
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/redis-server.bash"
port=""
start_redis() {
  trap 'redis_stop; rm -rf "$WORK"' EXIT
  redis_start "$WORK" "$@" || { echo "FAIL: no redis-server for the test (above)"; exit 1; }
  port="$redis_port"
}
restart_redis() { redis_restart || { echo "FAIL: redis-server did not start again (above)"; exit 1; }; }
stop_redis() { redis_stop; }
