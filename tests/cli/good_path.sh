#!/usr/bin/env bash
# The documented flow works end to end: gen vectors -> bench recall --json -> load -> query.
source "$(dirname "$0")/lib.bash"

expect_ok "$SEMCACHE" gen vectors --n 2000 --dim 32 --clusters 40 --queries 50 --seed 1 --out "$WORK/d"
for f in base.fvecs query.fvecs gt.ivecs; do
  [ -s "$WORK/d/$f" ] && pass "$f written" || fail_check "$f missing"
done
# gt.ivecs: 50 rows of (4-byte dim + 100 ids).
[ "$(stat -c %s "$WORK/d/gt.ivecs")" -eq $((50 * 404)) ] && pass "gt has 100 neighbours per query" || fail_check "gt size"

expect_ok "$SEMCACHE" bench recall --base "$WORK/d/base.fvecs" --queries "$WORK/d/query.fvecs" --gt "$WORK/d/gt.ivecs" \
  -k 10 --ef 16,64 --threads 1 --repeat 2 --json "$WORK/r.json"
for key in '"kind": "recall"' '"semcache_version"' '"recall_at_k"' '"qps"' '"p999"' '"memory_bytes"' '"vectors_per_second"' '"machine"'; do
  grep -q "$key" "$WORK/r.json" && pass "result has $key" || fail_check "result lacks $key"
done
# Recall at ef=64 on this easy set must be high; read it from the JSON, do not trust the table.
recall=$(grep -o '"recall_at_k": [0-9.]*' "$WORK/r.json" | tail -1 | awk '{print $2}')
awk -v r="$recall" 'BEGIN { exit !(r >= 0.95) }' && pass "recall@10 $recall" || fail_check "recall@10 $recall < 0.95"

# Without --gt the harness computes exact ground truth itself and agrees (a one-thread build is
# deterministic, so both runs search the same graph).
expect_ok "$SEMCACHE" bench recall --base "$WORK/d/base.fvecs" --queries "$WORK/d/query.fvecs" -k 10 --ef 64 --threads 1 --json "$WORK/r2.json"
recall2=$(grep -o '"recall_at_k": [0-9.]*' "$WORK/r2.json" | tail -1 | awk '{print $2}')
[ "$recall" = "$recall2" ] && pass "computed ground truth matches gt.ivecs" || fail_check "recall $recall vs $recall2"

# JSONL with ids and attributes -> snapshot -> filtered query.
{
  i=0
  while [ $i -lt 200 ]; do
    genre=$([ $((i % 2)) -eq 0 ] && echo drama || echo comedy)
    printf '{"id": "doc-%d", "vector": [%d.5, 1, %d], "attributes": {"year": %d, "genre": "%s"}}\n' $i $((i % 7)) $((i % 5)) $((1900 + i)) "$genre"
    i=$((i + 1))
  done
} > "$WORK/docs.jsonl"
expect_ok "$SEMCACHE" load "$WORK/docs.jsonl" --set docs --save "$WORK/docs.vset" --threads 2
printf '{"id": "q", "vector": [3.5, 1, 2]}\n' > "$WORK/q.jsonl"
out="$("$SEMCACHE" query --snapshot "$WORK/docs.vset" --vector "$WORK/q.jsonl" -k 5 --filter '.year > 2050 and .genre == "drama"' --json)"
n=$(echo "$out" | grep -c '"id": "doc-')
bad=$(echo "$out" | grep -o '"year":[0-9]*' | awk -F: '$2 <= 2050' | wc -l)
if [ "$n" -eq 5 ] && [ "$bad" -eq 0 ] && ! echo "$out" | grep -q comedy; then pass "filtered query"; else fail_check "filtered query: $out"; fi
expect_fail 2 "dimension 32" "dimension 3" -- "$SEMCACHE" query --snapshot "$WORK/docs.vset" --vector "$WORK/d/query.fvecs" --row 0 -k 3
finish
