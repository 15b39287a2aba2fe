# A redis-server for one script or test on a free loopback port (sourced, not run): used by the
# CLI tests (tests/cli/lib.bash), scripts/soak and scripts/bench-redis.
#
#   redis_start DIR [redis-server args...]  starts one; sets $redis_port and $redis_pid; the
#                                           server's log is DIR/redis.log (emptied first; its
#                                           --dir is DIR)
#   redis_restart                           the same server again on the same port (after a kill)
#   redis_stop                              stops it (nothing when none runs)
# redis_start and redis_restart return 1 after printing the server's log to stderr when no
# server became ready; the caller decides what that means (a failed test, exit 3, ...).
#
# The port is below the kernel's ephemeral range: the client sockets of programs running beside
# this one take their local ports in that range, and a server cannot bind a port a connection
# holds. Another program can still take the port first; the server then exits at start and
# redis_start tries another port (5 in all). Ready means this start logged "Ready to accept
# connections": an answer to PING could come from another server on the port. A server not
# ready within 5 s counts as not started.

redis_dir=""
redis_args=()
redis_port=""
redis_pid=""

# One start on $redis_port; 0 once this start logged that it is ready.
redis_launch() {
  local log="$redis_dir/redis.log" ready_before
  ready_before=$(grep -c "Ready to accept connections" "$log" 2>/dev/null || true)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no --dir "$redis_dir" \
    "${redis_args[@]}" >> "$log" 2>&1 &
  redis_pid=$!
  for _ in $(seq 50); do
    kill -0 "$redis_pid" 2>/dev/null || return 1
    [ "$(grep -c "Ready to accept connections" "$log")" -gt "${ready_before:-0}" ] && return 0
    sleep 0.1
  done
  return 1
}

redis_stop() {
  [ -n "$redis_pid" ] || return 0
  kill "$redis_pid" 2>/dev/null || true
  wait "$redis_pid" 2>/dev/null || true
  redis_pid=""
  return 0
}

redis_not_ready() {
  redis_stop
  echo "redis-server did not start on port $redis_port; its log ($redis_dir/redis.log):" >&2
  cat "$redis_dir/redis.log" >&2
  return 1
}

redis_start() {
  redis_dir="$1"
  shift
  redis_args=("$@")
  command -v redis-server >/dev/null || { echo "redis-server is not installed (run scripts/setup)" >&2; return 1; }
  mkdir -p "$redis_dir"
  : > "$redis_dir/redis.log"
  local ephemeral_low
  ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  for _ in 1 2 3 4 5; do
    redis_port=$(( 10000 + (RANDOM * 32768 + RANDOM) % (ephemeral_low - 10000) ))
    (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && continue  # something listens there
    redis_launch && return 0
    redis_stop
  done
  redis_not_ready
}

redis_restart() { redis_launch || redis_not_ready; }
