#!/usr/bin/env bash
# semcache eval pairs and semcache tune, end to end. Checks, in order:
#  - eval pairs on the shared Quora pairs (../shared/data/qqp-dev): the hash embedder's
#    documented ROC AUC (0.727), the result JSON's fields, and a recount of positives and of
#    recall / precision / false-hit rate from the per_threshold counts;
#  - tune --pairs: the recommendation's bound is within the target and no table threshold
#    within the target serves more hits (the scan is exact); a sample too small gives null;
#  - tune --log on a generated log: rates recounted from the counts, and the recommendation's
#    (simulated misses-only cache) figures checked against a real replay at that threshold;
#  - bad input and usage: exit 2 with file:line, --on-error skip.
source "$(dirname "$0")/lib.bash"

command -v jq >/dev/null || { echo "FAIL: jq is not installed (run scripts/setup)"; exit 1; }
DATA="${SEMCACHE_SHARED_DATA:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/data}"
PAIRS="$DATA/qqp-dev/pairs.jsonl"
[ -f "$PAIRS" ] || { echo "FAIL: $PAIRS is missing (the shared data directory)"; exit 1; }

# --- eval pairs -------------------------------------------------------------------------------
expect_ok "$SEMCACHE" eval pairs "$PAIRS" --embedder hash --json "$WORK/full.json"
auc=$(jq '.roc_auc' "$WORK/full.json")
awk -v a="$auc" 'BEGIN { exit !(a >= 0.7265 && a < 0.7275) }' && pass "hash ROC AUC on qqp-dev is 0.727 ($auc)" ||
  fail_check "hash ROC AUC $auc, documented 0.727"
[ "$(jq '.pairs' "$WORK/full.json")" = 20000 ] && pass "20000 pairs evaluated" || fail_check "pairs: $(jq '.pairs' "$WORK/full.json")"

expect_ok "$SEMCACHE" eval pairs "$PAIRS" --limit 2000 --thresholds 0.1,0.2,0.3 --json "$WORK/e.json"
for key in kind semcache_version params machine pairs positives roc_auc best_threshold best_accuracy per_threshold curve; do
  jq -e "has(\"$key\")" "$WORK/e.json" >/dev/null && pass "eval result has $key" || fail_check "eval result lacks $key"
done
[ "$(jq -r '.kind' "$WORK/e.json")" = eval-pairs ] && pass "kind eval-pairs" || fail_check "kind $(jq -r .kind "$WORK/e.json")"
[ "$(jq '.curve | length' "$WORK/e.json")" = 201 ] && pass "curve at 0.005 steps from 0 to 1" || fail_check "curve length"
[ "$(jq -c '[.per_threshold[].threshold]' "$WORK/e.json")" = '[0.1,0.2,0.3]' ] && pass "table at the thresholds given" ||
  fail_check "thresholds $(jq -c '[.per_threshold[].threshold]' "$WORK/e.json")"
positives=$(head -n 2000 "$PAIRS" | jq -s '[.[] | select(.label == 1)] | length')
[ "$(jq '.positives' "$WORK/e.json")" = "$positives" ] && pass "positives recounted from the file ($positives)" ||
  fail_check "positives $(jq '.positives' "$WORK/e.json") vs recount $positives"
bad=$(jq -r '.pairs as $n | .positives as $p | .per_threshold[] |
  select(((.recall - .true_hits / $p) | fabs) > 1e-12 or ((.false_hit_rate - .false_hits / $n) | fabs) > 1e-12 or
         ((.precision - .true_hits / .accepted) | fabs) > 1e-12 or .accepted != .true_hits + .false_hits) | .threshold' "$WORK/e.json")
[ -z "$bad" ] && pass "recall, precision and false-hit rate recount from the table's counts" || fail_check "recount differs at $bad"
# The same counts from the curve at 0.2 (the curve has no counts: compare rates).
same=$(jq '(.per_threshold[1] | [.recall, .precision, .false_hit_rate]) == (.curve[40] | [.recall, .precision, .false_hit_rate])' "$WORK/e.json")
[ "$same" = true ] && pass "table and curve agree at 0.2" || fail_check "table and curve differ at 0.2"

# --- tune --pairs -----------------------------------------------------------------------------
expect_ok "$SEMCACHE" tune --pairs "$PAIRS" --limit 5000 --max-false-hit-rate 0.02 --json "$WORK/tp.json"
[ "$(jq -r '.kind' "$WORK/tp.json")" = tune ] && pass "kind tune" || fail_check "kind $(jq -r .kind "$WORK/tp.json")"
ok=$(jq '.threshold != null and .expected_false_hit_rate_upper <= 0.02 and .expected_false_hit_rate <= .expected_false_hit_rate_upper
         and .params.max_false_hit_rate == 0.02 and .pairs == 5000' "$WORK/tp.json")
[ "$ok" = true ] && pass "recommended threshold $(jq .threshold "$WORK/tp.json") keeps the bound under 2%" ||
  fail_check "recommendation: $(jq -c '[.threshold, .expected_false_hit_rate, .expected_false_hit_rate_upper]' "$WORK/tp.json")"
better=$(jq '.hits as $h | [.per_threshold[], .curve[] | select(.within_target and .hits > $h)] | length' "$WORK/tp.json")
[ "$better" = 0 ] && pass "no tabled threshold within the target serves more hits" || fail_check "$better thresholds beat the recommendation"
expect_ok "$SEMCACHE" tune --pairs "$PAIRS" --limit 50 --json "$WORK/small.json"
[ "$(jq '.threshold == null and .bound_without_false_hits > 0.02' "$WORK/small.json")" = true ] &&
  pass "50 pairs cannot show 2%: threshold null" || fail_check "small sample: $(jq -c '[.threshold, .bound_without_false_hits]' "$WORK/small.json")"

# --- tune --log, and a replay at the recommended threshold --------------------------------------
"$SEMCACHE" gen prompts --n 4000 --groups 600 --seed 3 --out "$WORK/p.jsonl" >/dev/null
expect_ok "$SEMCACHE" tune --log "$WORK/p.jsonl" --max-false-hit-rate 0.03 --threads 2 --json "$WORK/tl.json"
[ "$(jq '.requests' "$WORK/tl.json")" = 4000 ] && pass "4000 requests tuned" || fail_check "requests $(jq .requests "$WORK/tl.json")"
bad=$(jq -r '.requests as $n | .per_threshold[] |
  select(((.hit_rate - .hits / $n) | fabs) > 1e-12 or ((.false_hit_rate - .false_hits / $n) | fabs) > 1e-12) | .threshold' "$WORK/tl.json")
[ -z "$bad" ] && pass "log hit and false-hit rates recount per request" || fail_check "recount differs at $bad"
t=$(jq '.threshold' "$WORK/tl.json")
expect_ok "$SEMCACHE" replay "$WORK/p.jsonl" --mode both --threshold "$t" --json "$WORK/r.json"
# The recommendation's figures come from a simulated misses-only cache with exact search; the
# real replay must be close to them. Not equal: replay searches int8-quantised vectors, so near
# the threshold an entry slightly beyond it can be served, and as hits are not stored the
# error carries over to later paraphrases (on this log: 0.65 points more false hits).
close=$(jq -n --slurpfile a "$WORK/tl.json" --slurpfile b "$WORK/r.json" \
  '(($a[0].expected_hit_rate - $b[0].hit_rate) | fabs) < 0.01 and (($a[0].expected_false_hit_rate - $b[0].false_hit_rate) | fabs) < 0.01')
[ "$close" = true ] && pass "replay at $t: $(jq -c '[.hit_rate, .false_hit_rate]' "$WORK/r.json") vs tune $(jq -c '[.expected_hit_rate, .expected_false_hit_rate]' "$WORK/tl.json")" ||
  fail_check "replay at $t differs: replay $(jq -c '[.hit_rate, .false_hit_rate]' "$WORK/r.json"), tune $(jq -c '[.expected_hit_rate, .expected_false_hit_rate]' "$WORK/tl.json")"
[ "$(jq '.threshold <= .nearest_earlier.threshold and ([.per_threshold[] | has("simulated")] | all)' "$WORK/tl.json")" = true ] &&
  pass "log tuning reports the misses-only simulation" || fail_check "no simulated figures in the log result"

# --- bad input and usage ------------------------------------------------------------------------
printf '%s\n' '{"text_a": "a", "text_b": "b", "label": 1}' '' '{"text_a": "c", "text_b": "d", "label": "yes"}' \
  '{"text_a": "e", "text_b": "f", "label": 0}' > "$WORK/bad.jsonl"
expect_fail 2 "bad.jsonl:3: field \"label\" must be 0, 1, true or false, got string" -- "$SEMCACHE" eval pairs "$WORK/bad.jsonl"
expect_fail 2 "bad.jsonl:3: field \"label\"" -- "$SEMCACHE" tune --pairs "$WORK/bad.jsonl"
expect_ok "$SEMCACHE" eval pairs "$WORK/bad.jsonl" --on-error skip --json "$WORK/skip.json"
[ "$(jq -c '[.pairs, .skipped_lines]' "$WORK/skip.json")" = '[2,1]' ] && pass "--on-error skip counts the bad line" ||
  fail_check "skip: $(jq -c '[.pairs, .skipped_lines]' "$WORK/skip.json")"
expect_fail 2 "nope.jsonl" -- "$SEMCACHE" eval pairs "$WORK/nope.jsonl"
expect_fail 2 "'0.1x' is not a cosine distance" -- "$SEMCACHE" eval pairs "$PAIRS" --thresholds 0.1x
expect_fail 2 "embedder" -- "$SEMCACHE" eval pairs "$PAIRS" --embedder word2vec
expect_fail 2 "--pairs" -- "$SEMCACHE" tune --pairs "$PAIRS" --log "$WORK/p.jsonl"
expect_fail 2 "one of --pairs FILE or --log FILE" -- "$SEMCACHE" tune
expect_fail 2 "between 0 and 1" -- "$SEMCACHE" tune --pairs "$PAIRS" --max-false-hit-rate 1.5
jq -c 'del(.group)' "$WORK/p.jsonl" | head -n 100 > "$WORK/nogroups.jsonl"
expect_fail 2 "nogroups.jsonl: no request has a \"group\" field" -- "$SEMCACHE" tune --log "$WORK/nogroups.jsonl"
{ head -n 5 "$WORK/p.jsonl"; echo '{"prompt": 7}'; } > "$WORK/badlog.jsonl"
expect_fail 2 "badlog.jsonl:6:" -- "$SEMCACHE" tune --log "$WORK/badlog.jsonl"

finish
