#!/usr/bin/env bash
# load --redis in one process, query --redis in another: the second rebuilds the set from Redis
# and answers exactly like a snapshot of the same data. Runs against a real redis-server started
# here on a free loopback port (and stopped on exit); a missing redis-server fails the test.
source "$(dirname "$0")/lib.bash"

start_redis --requirepass s3cret
url="redis://:s3cret@127.0.0.1:$port/2"

{
  i=0
  while [ $i -lt 300 ]; do
    printf '{"id": "doc %d:x", "vector": [%d.25, 1, %d, %d], "attributes": {"year": %d}}\n' $i $((i % 11)) $((i % 7)) $((i / 10)) $((1900 + i))
    i=$((i + 1))
  done
} > "$WORK/docs.jsonl"
printf '{"id": "q", "vector": [4.25, 1, 3, 20]}\n' > "$WORK/q.jsonl"

out="$("$SEMCACHE" load "$WORK/docs.jsonl" --set docs --redis "$url" 2>&1)"
[[ "$out" == *"holds 300 elements"* ]] && pass "load --redis stored 300 elements" || fail_check "load --redis: $out"
[[ "$out" != *"s3cret"* ]] && pass "password not printed" || fail_check "password printed: $out"
expect_ok "$SEMCACHE" load "$WORK/docs.jsonl" --set docs --save "$WORK/docs.vset"

from_redis="$("$SEMCACHE" query --set docs --redis "$url" --vector "$WORK/q.jsonl" -k 8 --filter '.year >= 2000' --json 2>/dev/null)"
from_file="$("$SEMCACHE" query --set docs --snapshot "$WORK/docs.vset" --vector "$WORK/q.jsonl" -k 8 --filter '.year >= 2000' --json 2>/dev/null)"
ids_redis=$(echo "$from_redis" | grep -o '"id": "[^"]*"')
ids_file=$(echo "$from_file" | grep -o '"id": "[^"]*"')
[ "$(echo "$ids_redis" | wc -l)" -eq 8 ] && pass "query --redis returns 8 results" || fail_check "query --redis: $from_redis"
[ "$ids_redis" = "$ids_file" ] && pass "rebuilt set answers like the snapshot" || fail_check "results differ: $ids_redis vs $ids_file"

# A set of another dimension under the same name is refused; a wrong password and a dead server
# are runtime failures (exit 3) that never print the password.
printf '{"id": "z", "vector": [1, 2]}\n' > "$WORK/two.jsonl"
expect_fail 2 "dim" -- "$SEMCACHE" load "$WORK/two.jsonl" --set docs --redis "$url"
expect_fail 3 "***" -- "$SEMCACHE" query --set docs --redis "redis://:wrong@127.0.0.1:$port/2" --vector "$WORK/q.jsonl"
expect_fail 2 "no vector set 'nope'" -- "$SEMCACHE" query --set nope --redis "$url" --vector "$WORK/q.jsonl"
stop_redis
expect_fail 3 "127.0.0.1:$port" -- "$SEMCACHE" query --set docs --redis "$url" --vector "$WORK/q.jsonl"
expect_fail 2 "port" -- "$SEMCACHE" query --set docs --redis "redis://127.0.0.1:99999" --vector "$WORK/q.jsonl"
expect_fail 2 "--snapshot or --redis" -- "$SEMCACHE" query --vector "$WORK/q.jsonl"
finish
