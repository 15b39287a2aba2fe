#!/usr/bin/env bash
# load --redis and query --redis with a redis+cluster:// URL: the set goes to the primary that
# owns its hash tag's slot, and a second process rebuilds it from there, answering exactly like
# a snapshot of the same data. A local 3-primary cluster is started with scripts/redis-cluster
# and stopped on exit; a missing redis-server fails the test.
source "$(dirname "$0")/lib.bash"

cluster_script="$(dirname "$0")/../../scripts/redis-cluster"
trap 'bash "$cluster_script" stop "$WORK/cluster" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/cluster"
url="$(bash "$cluster_script" start "$WORK/cluster" 2>"$WORK/cluster.err" | tail -1)"
[[ "$url" == redis+cluster://* ]] || { echo "FAIL: scripts/redis-cluster start: $(cat "$WORK/cluster.err")"; exit 1; }

{
  i=0
  while [ $i -lt 200 ]; do
    printf '{"id": "doc %d", "vector": [%d.5, 1, %d, %d], "attributes": {"year": %d}}\n' $i $((i % 13)) $((i % 5)) $((i / 10)) $((1900 + i))
    i=$((i + 1))
  done
} > "$WORK/docs.jsonl"
printf '{"id": "q", "vector": [6.5, 1, 2, 11]}\n' > "$WORK/q.jsonl"

out="$("$SEMCACHE" load "$WORK/docs.jsonl" --set docs --redis "$url" 2>&1)"
[[ "$out" == *"holds 200 elements"* ]] && pass "load --redis (cluster) stored 200 elements" || fail_check "load --redis: $out"
expect_ok "$SEMCACHE" load "$WORK/docs.jsonl" --set docs --save "$WORK/docs.vset"

# The set's keys are on the one primary that owns slot of "vset:docs", and on no other node.
slot="$(redis-cli -p "${url##*,127.0.0.1:}" CLUSTER KEYSLOT "{vset:docs}")"
holders=0
while read -r port _; do
  n="$(redis-cli -p "$port" CLUSTER COUNTKEYSINSLOT "$slot")"
  [ "$n" -gt 0 ] && holders=$((holders + 1))
done < <(bash "$cluster_script" nodes "$WORK/cluster")
[ "$holders" -eq 1 ] && pass "one node holds the set's slot" || fail_check "$holders nodes hold slot $slot"

from_redis="$("$SEMCACHE" query --set docs --redis "$url" --vector "$WORK/q.jsonl" -k 8 --filter '.year >= 2000' --json 2>/dev/null)"
from_file="$("$SEMCACHE" query --set docs --snapshot "$WORK/docs.vset" --vector "$WORK/q.jsonl" -k 8 --filter '.year >= 2000' --json 2>/dev/null)"
ids_redis=$(echo "$from_redis" | grep -o '"id": "[^"]*"')
ids_file=$(echo "$from_file" | grep -o '"id": "[^"]*"')
[ "$(echo "$ids_redis" | wc -l)" -eq 8 ] && pass "query --redis (cluster) returns 8 results" || fail_check "query --redis: $from_redis"
[ "$ids_redis" = "$ids_file" ] && pass "rebuilt set answers like the snapshot" || fail_check "results differ: $ids_redis vs $ids_file"

expect_fail 2 "no vector set 'nope'" -- "$SEMCACHE" query --set nope --redis "$url" --vector "$WORK/q.jsonl"
expect_fail 2 "host:port" -- "$SEMCACHE" query --set docs --redis "redis+cluster://127.0.0.1" --vector "$WORK/q.jsonl"
finish
