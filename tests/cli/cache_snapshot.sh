#!/usr/bin/env bash
# cache snapshot / cache stats / bench warmstart against a real redis-server started here on a
# free loopback port (stopped on exit): a kept replay's namespaces (one per model of the log)
# are listed, snapshotted with the vector identity found in their entries (replay stores the
# hash embedder's vectors as precomputed ones), and listed with their manifests; an identity
# none of the entries has is refused before anything is published; the warm-start bench finds
# no mismatch between snapshot and rebuild.
source "$(dirname "$0")/lib.bash"

start_redis
url="redis://127.0.0.1:$port"

"$SEMCACHE" gen prompts --n 300 --groups 120 --seed 2 --out "$WORK/log.jsonl" >/dev/null || exit 1
expect_ok "$SEMCACHE" replay "$WORK/log.jsonl" --redis "$url" --mode semantic --embedder hash --name app --keep

out="$("$SEMCACHE" cache stats --redis "$url" --namespace app 2>&1)"
[[ "$out" == *"3 namespaces of semcache:app"* && "$out" == *"identity hash-v1/256/256"* && "$out" == *"snapshot     none"* &&
   "$out" != *"snapshot     1-"* ]] &&
  pass "cache stats lists the namespace without a snapshot" || fail_check "cache stats: $out"

expect_fail 2 "carry vector identity 'hash-v1/256/256'" "would index 'other/256'" -- \
  "$SEMCACHE" cache snapshot --redis "$url" --namespace app --vector-identity other
expect_fail 2 "would index 'hash-v1/256'" -- "$SEMCACHE" cache snapshot --redis "$url" --namespace app --embedder hash
out="$("$SEMCACHE" cache stats --redis "$url" --namespace app 2>&1)"
[[ "$out" != *"snapshot     1-"* ]] && pass "nothing was published by the refused commands" || fail_check "published: $out"
out="$("$SEMCACHE" cache snapshot --redis "$url" --namespace app 2>&1)"
[[ "$out" == *"published snapshot 1-"* && "$out" == *"set ready by rebuild"* ]] &&
  pass "cache snapshot publishes" || fail_check "cache snapshot: $out"
out="$("$SEMCACHE" cache snapshot --redis "$url" --namespace app --model gpt-4o 2>&1)"
[[ "$out" == *"published snapshot 2-"* && "$out" == *"set ready by snapshot"* ]] &&
  pass "a second snapshot starts from the first" || fail_check "second cache snapshot: $out"
out="$("$SEMCACHE" cache stats --redis "$url" --namespace app 2>&1)"
[[ "$out" == *"snapshot     2-"*"(sequence 2), covers log id"* && "$out" == *"snapshot     1-"* ]] &&
  pass "cache stats shows the manifest" || fail_check "cache stats after snapshot: $out"

out="$("$SEMCACHE" bench warmstart --redis "$url" --entries 2000 --dim 32 --after 50 --queries 40 --json "$WORK/w.json" 2>&1)"
rc=$?
[[ $rc -eq 0 && "$out" == *"0 mismatches"* ]] && pass "bench warmstart: same answers" || fail_check "bench warmstart ($rc): $out"
grep -q '"kind": "bench_warmstart"' "$WORK/w.json" && grep -q '"speedup"' "$WORK/w.json" &&
  pass "bench warmstart JSON" || fail_check "bench warmstart JSON: $(head -c 300 "$WORK/w.json")"

finish
