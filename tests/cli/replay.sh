#!/usr/bin/env bash
# semcache replay against a real redis-server started here on a free loopback port (password
# protected; stopped on exit). Checks, in order:
#  - the acceptance run (20000 generated prompts, four thresholds, mode both) and an independent
#    recount of every threshold's hit rate and false-hit rate from the log's groups and the
#    per-request decisions;
#  - Redis killed twice during a replay and restarted on the same port: exit 0, the failures
#    counted, the counts balanced, no false hit, and hits again after the restarts;
#  - bad input and usage: each a clear message naming file:line and the right exit code;
#    --on-error skip; entries stored before a fatal line survive with --keep; a wrong password.
source "$(dirname "$0")/lib.bash"

command -v jq >/dev/null || { echo "FAIL: jq is not installed (run scripts/setup)"; exit 1; }
rcli() { redis-cli -p "$port" -a s3cret --no-auth-warning "$@"; }
start_redis --requirepass s3cret
url="redis://:s3cret@127.0.0.1:$port"

# --- acceptance run and independent recount -------------------------------------------------
"$SEMCACHE" gen prompts --n 20000 --groups 3000 --seed 1 --out "$WORK/p.jsonl" >/dev/null
expect_ok "$SEMCACHE" replay "$WORK/p.jsonl" --redis "$url" --mode both --thresholds 0.05,0.1,0.2,0.3 \
  --json "$WORK/r.json" --decisions "$WORK/d.jsonl"
jq -r '.group' "$WORK/p.jsonl" > "$WORK/groups.txt"
# Per threshold: requests, hits, false hits (the hit's source line is in another group).
jq -r '[.threshold, .line, .outcome, (.source_line // 0)] | @tsv' "$WORK/d.jsonl" |
  awk -F'\t' 'NR == FNR { group[NR] = $0; next }
              { t = $1; if (!(t in req)) order[n++] = t; req[t]++
                if ($3 == "exact" || $3 == "semantic") { hits[t]++; if (group[$2] != group[$4]) bad[t]++ } }
              END { for (i = 0; i < n; i++) { t = order[i]; printf "%s %d %d %d\n", t, req[t], hits[t], bad[t] } }' \
    "$WORK/groups.txt" - > "$WORK/recount.txt"
jq -r '.per_threshold[] | "\(.threshold) \(.requests) \(.hits.exact + .hits.semantic) \(.false_hits) \(.hit_rate) \(.false_hit_rate)"' \
  "$WORK/r.json" > "$WORK/reported.txt"
if [ "$(wc -l < "$WORK/recount.txt")" -eq 4 ] && [ "$(wc -l < "$WORK/reported.txt")" -eq 4 ]; then
  pass "decisions and result cover the four thresholds"
else
  fail_check "expected 4 thresholds: $(cat "$WORK/recount.txt") / $(cat "$WORK/reported.txt")"
fi
mismatch=$(paste -d' ' "$WORK/recount.txt" "$WORK/reported.txt" | awk '
  { # recount: t req hits bad | reported: t req hits bad hit_rate false_hit_rate
    hr = $3 / $2; fr = $4 / $2
    if ($1 != $5 || $2 != $6 || $2 != 20000 || $3 != $7 || $4 != $8 ||
        (hr - $9) ^ 2 > 1e-18 || (fr - $10) ^ 2 > 1e-18) print }')
[ -z "$mismatch" ] && pass "hit rate and false-hit rate match the recount at every threshold" ||
  fail_check "recount differs: $mismatch"
increasing=$(jq '[.per_threshold[].hit_rate] | . == sort' "$WORK/r.json")
[ "$increasing" = true ] && pass "hit rate grows with the threshold" || fail_check "hit rates not increasing"
[ "$(jq '.per_threshold[0].false_hits > 0 and .per_threshold[3].false_hit_rate > .per_threshold[0].false_hit_rate' "$WORK/r.json")" = true ] &&
  pass "false hits are counted and grow with the threshold" || fail_check "false hits: $(jq -c '[.per_threshold[].false_hits]' "$WORK/r.json")"
[ "$(rcli dbsize)" = 0 ] && pass "the replay's entries are dropped without --keep" || fail_check "keys left: $(rcli dbsize)"

# --- Redis killed twice during a replay, restarted on the same port each time -----------------
# The log spans about 1000 s; at --speed 200 the replay lasts about 5 s. Redis dies (SIGKILL) at
# about 1 s and 2.5 s and comes back empty 0.5 s after each death (issue 6: every request
# accounted for, no false hit, a restarted Redis used again).
"$SEMCACHE" replay "$WORK/p.jsonl" --redis "$url" --mode exact --pace recorded --speed 200 --timeout-ms 200 \
  --json "$WORK/kill.json" > "$WORK/kill.out" 2>&1 &
replay_pid=$!
for pause in 1 0.5; do
  sleep "$pause"
  kill -9 "$redis_pid"; wait "$redis_pid" 2>/dev/null
  sleep 0.5
  restart_redis
done
wait "$replay_pid"; rc=$?
[ "$rc" -eq 0 ] && pass "replay through two Redis restarts exits 0" || fail_check "exit $rc: $(tail -3 "$WORK/kill.out")"
if [ -f "$WORK/kill.json" ]; then
  jq -e '.errors > 0' "$WORK/kill.json" >/dev/null && pass "failed lookups are counted ($(jq .errors "$WORK/kill.json"))" ||
    fail_check "no errors counted: $(jq -c '{errors, dropped_stores}' "$WORK/kill.json")"
  # The first failure is said, naming the server (a refused connection or a timeout), never its password.
  jq -e --arg at "127.0.0.1:$port" '.first_store_error | contains($at) and (contains("s3cret") | not)' "$WORK/kill.json" >/dev/null &&
    grep -q "^first failure: .*127.0.0.1:$port" "$WORK/kill.out" && ! grep -q s3cret "$WORK/kill.out" &&
    pass "the first failure is reported: $(jq -r .first_store_error "$WORK/kill.json")" ||
    fail_check "first failure not reported: $(jq -c .first_store_error "$WORK/kill.json"); $(grep -c 'first failure' "$WORK/kill.out")"
  jq -e '.store.reconnects >= 2' "$WORK/kill.json" >/dev/null && pass "reconnected after each restart ($(jq .store.reconnects "$WORK/kill.json"))" ||
    fail_check "reconnects: $(jq -c '.store' "$WORK/kill.json")"
  jq -e '.hits.exact + .hits.semantic + .misses + .errors == .requests and .requests == 20000' "$WORK/kill.json" >/dev/null &&
    pass "hits + misses + errors == requests" || fail_check "unbalanced: $(jq -c '{requests, hits, misses, errors}' "$WORK/kill.json")"
  jq -e '.false_hits == 0 and .judged_hits == .hits.exact' "$WORK/kill.json" >/dev/null &&
    pass "no false hit through the restarts ($(jq .judged_hits "$WORK/kill.json") hits judged)" ||
    fail_check "false hits: $(jq -c '{false_hits, judged_hits}' "$WORK/kill.json")"
  # The last fifth of the timeline comes well after the last restart: Redis serves hits again.
  jq -e '[.timeline[-20:][].hit_rate] | min > 0' "$WORK/kill.json" >/dev/null &&
    pass "hits again after the restarts" || fail_check "no hits after restart: $(jq -c '[.timeline[].hit_rate]' "$WORK/kill.json")"
else
  fail_check "no result JSON after the restarts"
fi
rcli flushall >/dev/null

# --- two processes share one cache ----------------------------------------------------------
# Process A replays 1,000 requests and keeps its entries; process B, started afterwards, rebuilds
# the namespace's vector set from Redis and must answer every one of the same requests from A's
# entries (an exact or a semantic hit: A stored each prompt it missed, and what A hit is there).
"$SEMCACHE" replay "$WORK/p.jsonl" --redis "$url" --mode both --limit 1000 --keep --name shared \
  --json "$WORK/a.json" >/dev/null 2>&1
"$SEMCACHE" replay "$WORK/p.jsonl" --redis "$url" --mode both --limit 1000 --keep --name shared \
  --json "$WORK/b.json" >/dev/null 2>&1
a_misses=$(jq '.misses' "$WORK/a.json"); b_hits=$(jq '.hits.exact + .hits.semantic' "$WORK/b.json")
[ "$a_misses" -gt 100 ] && [ "$b_hits" = 1000 ] \
  && pass "process B hits all 1000 requests on process A's entries (A stored $a_misses)" \
  || fail_check "second process: A misses $a_misses, B hits $b_hits of 1000"
rcli --scan --pattern 'semcache:*shared*' | xargs -r -n 200 redis-cli -p "$port" -a s3cret --no-auth-warning del >/dev/null

# --- bad input, usage, --on-error skip, --keep ------------------------------------------------
good='{"model":"gpt-4o-mini","prompt":"hello there","response":"hi","embedding":[1,0,0,0]}'
printf '%s\n%s\n{"prompt": "x",\n%s\n' "$good" "$good" "$good" > "$WORK/malformed.jsonl"
printf '%s\n{"model":"gpt-4o-mini","response":"no prompt"}\n' "$good" > "$WORK/noprompt.jsonl"
printf '%s\n%s\n{"prompt":"p","embedding":[1,2,3]}\n' "$good" "$good" > "$WORK/dim.jsonl"
printf '%s\n{"model":"my-finetune","prompt":"q","response":"a"}\n' "$good" > "$WORK/model.jsonl"
printf '{"gpt-4o-mini": {"input": 0.15, "output": 0.6}}\n' > "$WORK/prices.json"
expect_fail 2 "malformed.jsonl:3:" -- "$SEMCACHE" replay "$WORK/malformed.jsonl"
expect_fail 2 "noprompt.jsonl:2:" "prompt" -- "$SEMCACHE" replay "$WORK/noprompt.jsonl"
expect_fail 2 "dim.jsonl:3: embedding has 3 values, expected 4" -- "$SEMCACHE" replay "$WORK/dim.jsonl"
expect_fail 2 "model.jsonl:2:" '"my-finetune"' "prices.json" -- "$SEMCACHE" replay "$WORK/model.jsonl" --prices "$WORK/prices.json" --mode exact
free_port=$((port + 1))
while (exec 3<>/dev/tcp/127.0.0.1/$free_port) 2>/dev/null; do free_port=$((free_port + 1)); done
expect_fail 3 "127.0.0.1:$free_port" -- "$SEMCACHE" replay "$WORK/malformed.jsonl" --redis "redis://127.0.0.1:$free_port"
err="$("$SEMCACHE" replay "$WORK/noprompt.jsonl" --redis "redis://:wrong-pw@127.0.0.1:$port" 2>&1 >/dev/null)"; rc=$?
[ "$rc" -eq 3 ] && [[ "$err" == *"***"* ]] && [[ "$err" != *"wrong-pw"* ]] &&
  pass "wrong password: exit 3, password not printed ($err)" || fail_check "wrong password: exit $rc: $err"
expect_fail 2 "--threshold" -- "$SEMCACHE" replay "$WORK/malformed.jsonl" --threshold 3
expect_fail 2 "'x' is not a cosine distance" -- "$SEMCACHE" replay "$WORK/malformed.jsonl" --thresholds 0.1,x
expect_fail 2 "--speed" "recorded" -- "$SEMCACHE" replay "$WORK/malformed.jsonl" --speed 10
expect_fail 2 "nope" -- "$SEMCACHE" replay "$WORK/malformed.jsonl" --embedder nope
expect_fail 2 "unknown" -- "$SEMCACHE" replay "$WORK/malformed.jsonl" --field nosuch=x
expect_fail 2 "--keep" -- "$SEMCACHE" replay "$WORK/malformed.jsonl" --keep

out="$("$SEMCACHE" replay "$WORK/malformed.jsonl" --on-error skip --json "$WORK/skip.json" 2>&1)"; rc=$?
[ "$rc" -eq 0 ] && jq -e '.skipped_lines == 1 and .requests == 3 and .hits.exact == 2 and (.skipped_messages[0] | contains("malformed.jsonl:3"))' \
  "$WORK/skip.json" >/dev/null && pass "--on-error skip counts the bad line and goes on" ||
  fail_check "skip: exit $rc: $out $(cat "$WORK/skip.json" 2>/dev/null | head -c 300)"

expect_fail 2 "malformed.jsonl:3:" -- "$SEMCACHE" replay "$WORK/malformed.jsonl" --redis "$url" --keep --name kept --mode exact
keys=$(rcli --scan --pattern 'semcache:kept:*' | wc -l)
[ "$keys" -ge 1 ] && pass "entries stored before the bad line stay in Redis with --keep ($keys keys)" ||
  fail_check "nothing kept: dbsize $(rcli dbsize)"

finish
