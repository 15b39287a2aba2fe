#!/usr/bin/env bash
# semcache compare on real result files: the committed baselines (datasets/baselines/, written by
# scripts/make-baselines), a fresh bench recall run on the same generated dataset, and copies
# modified with jq. Checks, in order:
#  - identical results pass, also as a gate; a fresh run matches the committed baseline's runs;
#  - QPS cut by 20% fails --max-regression qps=10% (exit 1, reason on stderr), a 5% cut passes;
#  - a recall drop below --require fails; a replay hit-rate drop fails an absolute limit;
#  - a 15% QPS drop inside the baseline's measured spread passes as "within noise", the same
#    drop with every repetition below the baseline's fails;
#  - --format md and --json;
#  - malformed, mismatched and unmatched files, bad option syntax, unknown figures: exit 2.
source "$(dirname "$0")/lib.bash"
command -v jq >/dev/null || { echo "FAIL: jq is not installed (run scripts/setup)"; exit 1; }
baselines="$(cd "$(dirname "$0")/../.." && pwd)/datasets/baselines"
recall="$baselines/recall.json"
replay="$baselines/replay.json"
[ -f "$recall" ] && [ -f "$replay" ] || { echo "FAIL: $baselines lacks recall.json or replay.json (scripts/make-baselines)"; exit 1; }

# expect_gate CODE "stdout substring" -- command: exit CODE and the substring on stdout.
expect_gate() {
  local code="$1" needle="$2"; shift 3
  local out rc
  out="$("$@" 2>"$WORK/stderr")"; rc=$?
  checks=$((checks + 1))
  if [ "$rc" -ne "$code" ] || [[ "$out" != *"$needle"* ]]; then
    echo "FAIL: expected exit $code and '$needle', got $rc: $*"; echo "$out" | tail -5; cat "$WORK/stderr"
    failures=$((failures + 1)); return
  fi
  echo "ok: exit $code: $*"
}

# Timing figures without their repetitions: the limit alone decides (the noise test has its own cases).
jq 'del(.runs[].repeats)' "$recall" > "$WORK/flat.json"

# --- identical, and a fresh run against the baseline -------------------------------------------
expect_gate 0 "PASSED" -- "$SEMCACHE" compare "$recall" "$recall" \
  --max-regression qps=10%,recall_at_k=0.5%,latency_us.p99=20% --require 'recall_at_k>=0.9'
expect_gate 0 "PASSED" -- "$SEMCACHE" compare "$replay" "$replay" --max-regression 'hit_rate=0.001,throughput_rps=10%,latency_us.*=20%'
"$SEMCACHE" gen vectors --n 5000 --dim 32 --clusters 50 --queries 200 --seed 1 --out "$WORK/v" >/dev/null
(cd "$WORK" && "$SEMCACHE" bench recall --base v/base.fvecs --queries v/query.fvecs --gt v/gt.ivecs -k 10 --ef 16,64 \
  --threads 1 --json fresh.json >/dev/null)
out="$("$SEMCACHE" compare "$recall" "$WORK/fresh.json" --require 'recall_at_k>=0.9' 2>&1)"; rc=$?
[ "$rc" -eq 0 ] && [[ "$out" == *"ef=16 k=10"* ]] && [[ "$out" == *"ef=64 k=10"* ]] && [[ "$out" == *"build"* ]] &&
  pass "a fresh run on the same dataset matches every baseline run" || fail_check "fresh run: exit $rc: $out"

# --- QPS cut by 20% ------------------------------------------------------------------------------
jq '.runs[].qps *= 0.8' "$WORK/flat.json" > "$WORK/slow.json"
expect_fail 1 "qps regressed" "-20.0%" "limit 10%" "no noise estimate" -- \
  "$SEMCACHE" compare "$WORK/flat.json" "$WORK/slow.json" --max-regression qps=10%
expect_gate 1 "REGRESSION (limit 10%)" -- "$SEMCACHE" compare "$WORK/flat.json" "$WORK/slow.json" --max-regression qps=10%
jq '.runs[].qps *= 0.95' "$WORK/flat.json" > "$WORK/bit_slow.json"
expect_gate 0 "worse (limit 10%)" -- "$SEMCACHE" compare "$WORK/flat.json" "$WORK/bit_slow.json" --max-regression qps=10%
expect_gate 0 "PASSED" -- "$SEMCACHE" compare "$WORK/flat.json" "$WORK/slow.json"   # no limit: printed, not failed

# --- recall below a requirement, replay hit rate -------------------------------------------------
jq '.runs[0].recall_at_k = 0.85' "$recall" > "$WORK/low_recall.json"
expect_fail 1 "ef=16 k=10: recall_at_k = 0.85, required recall_at_k >= 0.9" -- \
  "$SEMCACHE" compare "$recall" "$WORK/low_recall.json" --require 'recall_at_k>=0.9'
# The hit rate does not vary between repetitions: each one drops with the median.
jq '.per_threshold[1] |= (.hit_rate -= 0.02 | if has("repeats") then .repeats[].hit_rate -= 0.02 else . end)' \
  "$replay" > "$WORK/low_hits.json"
expect_fail 1 "threshold=0.2: hit_rate regressed" -- \
  "$SEMCACHE" compare "$replay" "$WORK/low_hits.json" --max-regression hit_rate=0.01

# --- noise ---------------------------------------------------------------------------------------
# Baseline repetitions of qps spread 80%..120% of the median; the current median is 15% lower
# and its repetitions overlap the baseline's: within noise. With every current repetition below
# the baseline's lowest, the same median drop is a regression.
jq '.runs[] |= (.repeats = [{qps: .qps}, {qps: (.qps * 0.8)}, {qps: (.qps * 1.2)}])' "$WORK/flat.json" > "$WORK/noisy_base.json"
jq '.runs[] |= (.qps *= 0.85 | .repeats = [{qps: .qps}, {qps: (.qps * 1.25)}, {qps: (.qps * 0.9)}])' \
  "$WORK/flat.json" > "$WORK/noisy_cur.json"
expect_gate 0 "within noise (limit 10%)" -- "$SEMCACHE" compare "$WORK/noisy_base.json" "$WORK/noisy_cur.json" --max-regression qps=10%
jq '.runs[] |= (.qps *= 0.7 | .repeats = [{qps: .qps}, {qps: (.qps * 1.01)}, {qps: (.qps * 0.99)}])' \
  "$WORK/flat.json" > "$WORK/clear_cur.json"
expect_fail 1 "qps regressed" "outside the noise: p=0.05 over 3 vs 3 repeats" -- \
  "$SEMCACHE" compare "$WORK/noisy_base.json" "$WORK/clear_cur.json" --max-regression qps=10%

# --- formats -------------------------------------------------------------------------------------
out="$("$SEMCACHE" compare "$WORK/flat.json" "$WORK/slow.json" --max-regression qps=10% --format md --json "$WORK/cmp.json" 2>/dev/null)"
[[ "$out" == "### semcache compare (recall): FAILED"* ]] && [[ "$out" == *"| run | figure | baseline | current |"* ]] &&
  [[ "$out" == *"**REGRESSION (limit 10%)**"* ]] && pass "--format md prints a Markdown table" || fail_check "markdown: $out"
jq -e '.kind == "compare" and .passed == false and (.failures | length) == 2 and
       ([.runs[].figures[] | select(.figure == "qps") | .verdict] == ["REGRESSION", "REGRESSION"])' "$WORK/cmp.json" >/dev/null &&
  pass "--json writes the comparison" || fail_check "json: $(head -c 400 "$WORK/cmp.json")"

# --- bad input and usage: exit 2 -----------------------------------------------------------------
head -c 200 "$recall" > "$WORK/truncated.json"
expect_fail 2 "truncated.json: not valid JSON" -- "$SEMCACHE" compare "$recall" "$WORK/truncated.json"
expect_fail 2 "recall.json is a recall result" "replay.json a replay result" -- "$SEMCACHE" compare "$recall" "$replay"
jq '.kind = "eval"' "$recall" > "$WORK/eval.json"
expect_fail 2 '"eval"' -- "$SEMCACHE" compare "$WORK/eval.json" "$recall"
jq '.runs[].ef += 1000 | del(.build)' "$recall" > "$WORK/other_ef.json"
expect_fail 2 "no run of" "ef=1016 k=10" -- "$SEMCACHE" compare "$recall" "$WORK/other_ef.json"
jq '.params.quant = "f32"' "$recall" > "$WORK/f32.json"
expect_fail 2 "different experiments" "quant int8 vs f32" -- "$SEMCACHE" compare "$recall" "$WORK/f32.json"
expect_ok "$SEMCACHE" compare "$recall" "$WORK/f32.json" --ignore-param quant
expect_fail 2 "unknown figure 'qpz'" "known: recall_at_k, qps" -- "$SEMCACHE" compare "$recall" "$recall" --max-regression qpz=10%
expect_fail 2 "unknown figure 'recall'" -- "$SEMCACHE" compare "$recall" "$recall" --require 'recall>=0.9'
expect_fail 2 "--max-regression" "FIGURE=AMOUNT" -- "$SEMCACHE" compare "$recall" "$recall" --max-regression qps
expect_fail 2 "--require" "FIGURE OP VALUE" -- "$SEMCACHE" compare "$recall" "$recall" --require 'recall_at_k=0.9'
expect_fail 2 "no matched run" -- "$SEMCACHE" compare "$recall" "$recall" --require 'qps_parallel>=1'
expect_fail 2 "nope.json" -- "$SEMCACHE" compare "$recall" "$WORK/nope.json"

finish
