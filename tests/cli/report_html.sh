#!/usr/bin/env bash
# semcache report on a recall result and a replay result made here by the CLI:
#  - text, Markdown and HTML forms are written and carry the figures of the results;
#  - the HTML opens in headless Chromium: the DOM has the SVG plots and their axis labels, the
#    page logs nothing to the console (it has no script; a blocked resource or a CSP violation
#    would log), and a screenshot is written and is not blank;
#  - a hostile string in a result (a <script> in the log path and in the file name) is shown as
#    text, never run;
#  - malformed, unknown-kind and missing files, and a bad --format: exit 2 with a clear message.
# Chromium (Debian package `chromium`) is installed by scripts/setup; without it this test fails.
source "$(dirname "$0")/lib.bash"

browser="$(command -v chromium || command -v chromium-browser)"
[ -n "$browser" ] || { echo "FAIL: chromium is not installed (scripts/setup installs it: apt-get install chromium)"; exit 1; }
command -v jq >/dev/null || { echo "FAIL: jq is not installed (run scripts/setup)"; exit 1; }

# Headless Chromium with its profile inside $WORK; console messages of the page go to stderr as
# "...:CONSOLE:<line>] "<message>", source: ..." lines.
chrome() {
  timeout 60 "$browser" --headless --disable-gpu --no-sandbox --user-data-dir="$WORK/chrome" --no-first-run \
    --enable-logging=stderr --v=0 "$@"
}

# --- results from the CLI ---------------------------------------------------------------------
"$SEMCACHE" gen vectors --n 3000 --dim 32 --queries 200 --seed 7 --out "$WORK/data" >/dev/null
expect_ok "$SEMCACHE" bench recall --base "$WORK/data/base.fvecs" --queries "$WORK/data/query.fvecs" \
  --gt "$WORK/data/gt.ivecs" --ef 16,64,128 --repeat 2 --threads 1 --json "$WORK/recall.json"
"$SEMCACHE" gen prompts --n 1500 --groups 300 --seed 1 --out "$WORK/p.jsonl" >/dev/null
expect_ok "$SEMCACHE" replay "$WORK/p.jsonl" --mode both --thresholds 0.05,0.1,0.2 --json "$WORK/replay.json"

# --- the three forms --------------------------------------------------------------------------
# Two figures as the report prints them: recall@k with 4 decimals, a hit rate as a percentage.
recall_ef64=$(jq -r '.runs[1].recall_at_k' "$WORK/recall.json" | awk '{ printf "%.4f", $1 }')
hit_rate=$(jq -r '.per_threshold[1].hit_rate' "$WORK/replay.json" | awk '{ printf "%.2f%%", 100 * $1 }')
expect_ok "$SEMCACHE" report "$WORK/recall.json" "$WORK/replay.json" --out "$WORK/report.txt"
expect_ok "$SEMCACHE" report "$WORK/recall.json" "$WORK/replay.json" --format md --out "$WORK/report.md"
expect_ok "$SEMCACHE" report "$WORK/recall.json" "$WORK/replay.json" --format html --out "$WORK/report.html"
"$SEMCACHE" report "$WORK/recall.json" "$WORK/replay.json" > "$WORK/stdout.txt" 2>/dev/null
cmp -s "$WORK/stdout.txt" "$WORK/report.txt" && pass "without --out the report goes to standard output" ||
  fail_check "standard output differs from --out"
for form in txt md html; do
  f="$WORK/report.$form"
  if grep -q "recall: $WORK/recall.json" "$f" && grep -q "replay: $WORK/replay.json" "$f" &&
     grep -qwF "$recall_ef64" "$f" && grep -qF "$hit_rate" "$f"; then
    pass "$form report has both sections and their figures (recall@k $recall_ef64, hit rate $hit_rate)"
  else
    fail_check "$form report lacks a section or a figure (recall@k $recall_ef64, hit rate $hit_rate): $(head -c 400 "$f")"
  fi
done
grep -q '^| ef | k | recall@k |' "$WORK/report.md" && pass "Markdown has a table header row" ||
  fail_check "no Markdown table: $(head -20 "$WORK/report.md")"

# --- the HTML in headless Chromium ------------------------------------------------------------
# The detector first: a page with a script error must show up as console lines, or the absence of
# console lines below would prove nothing.
printf '<!DOCTYPE html><html><body><script>console.error("probe"); undefined_function();</script></body></html>\n' \
  > "$WORK/probe.html"
chrome --dump-dom "file://$WORK/probe.html" > /dev/null 2> "$WORK/probe.err"
grep -q ':CONSOLE.*Uncaught ReferenceError' "$WORK/probe.err" && pass "Chromium reports a page's console errors on stderr" ||
  fail_check "Chromium did not report the probe page's errors: $(grep -v dbus "$WORK/probe.err" | tail -3)"

chrome --dump-dom "file://$WORK/report.html" > "$WORK/dom.html" 2> "$WORK/dom.err"
svgs=$(grep -o '<svg' "$WORK/dom.html" | wc -l)
# recall: recall/QPS, latency per ef, latency CDF; replay: hit rate, false-hit rate, timeline, CDF.
[ "$svgs" -eq 7 ] && pass "the DOM has the 7 SVG plots" || fail_check "the DOM has $svgs <svg> elements, expected 7"
missing=""
for label in "QPS (queries/s, log scale)" "recall@k (share of the true k nearest found)" "latency (µs, log scale)" \
             "ef (candidate list size, log scale)" "threshold (cosine distance; similarity = 1 - distance)" \
             "false-hit rate (wrong answers / requests)" "requests replayed" "Pareto frontier"; do
  grep -qF "$label" "$WORK/dom.html" || missing="$missing [$label]"
done
[ -z "$missing" ] && pass "the axis labels and legends are in the DOM" || fail_check "missing from the DOM:$missing"
labels=$(grep -o 'class="axis-label' "$WORK/dom.html" | wc -l)
[ "$svgs" -gt 0 ] && [ "$labels" -eq $((2 * svgs)) ] && pass "every plot labels both axes" || fail_check "$labels axis labels for $svgs plots"
if grep -q ':CONSOLE' "$WORK/dom.err"; then
  fail_check "the page logged to the console: $(grep ':CONSOLE' "$WORK/dom.err" | head -3)"
else
  pass "the page logs nothing to the console (no errors, no blocked resources)"
fi

chrome --screenshot="$WORK/report.png" --window-size=1200,2400 "file://$WORK/report.html" > /dev/null 2>&1
printf '<!DOCTYPE html><html><body></body></html>\n' > "$WORK/blank.html"
chrome --screenshot="$WORK/blank.png" --window-size=1200,2400 "file://$WORK/blank.html" > /dev/null 2>&1
if [ -s "$WORK/report.png" ] && [ -s "$WORK/blank.png" ]; then
  # PNG compresses a blank page to almost nothing: the plots and tables make it many times larger.
  shot=$(stat -c %s "$WORK/report.png"); blank=$(stat -c %s "$WORK/blank.png")
  [ "$(head -c 8 "$WORK/report.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] && [ "$shot" -gt $((10 * blank)) ] &&
    pass "the screenshot is a PNG of $shot bytes (a blank page: $blank)" ||
    fail_check "the screenshot looks blank: $shot bytes, a blank page $blank"
else
  fail_check "no screenshot written"
fi

# --- hostile strings --------------------------------------------------------------------------
hostile="$WORK/<script>alert(1)<script>.json"
jq '.params.log = "/logs/<script>alert(\"x\")</script>.jsonl"' "$WORK/replay.json" > "$hostile"
expect_ok "$SEMCACHE" report "$hostile" --format html --out "$WORK/hostile.html"
expect_ok "$SEMCACHE" report "$hostile" --format md --out "$WORK/hostile.md"
chrome --dump-dom "file://$WORK/hostile.html" > "$WORK/hostile.dom" 2> "$WORK/hostile.err"
if ! grep -q '<script' "$WORK/hostile.dom" && ! grep -q ':CONSOLE' "$WORK/hostile.err" &&
   grep -qF '/logs/&lt;script&gt;alert("x")&lt;/script&gt;.jsonl' "$WORK/hostile.dom" &&
   grep -qF '&lt;script&gt;alert(1)&lt;script&gt;.json' "$WORK/hostile.dom"; then
  pass "a <script> in the log path and the file name is shown as text, not run"
else
  fail_check "hostile strings not escaped: $(grep -o '.\{40\}script.\{40\}' "$WORK/hostile.dom" | head -3)"
fi
grep -q '<script' "$WORK/hostile.md" && fail_check "Markdown carries a raw <script>" || pass "Markdown escapes the <script>"

# --- bad input and usage ----------------------------------------------------------------------
printf '{\n  "kind": "recall",\n  "runs": [1 2]\n}\n' > "$WORK/malformed.json"
expect_fail 2 "$WORK/malformed.json:3:14: not valid JSON" "expected ',' or ']'" -- \
  "$SEMCACHE" report "$WORK/recall.json" "$WORK/malformed.json" --format html --out "$WORK/never.html"
[ ! -e "$WORK/never.html" ] && pass "no report is written when an input is bad" || fail_check "a report was written despite a bad input"
echo '{"kind": "latency", "runs": []}' > "$WORK/other.json"
expect_fail 2 "$WORK/other.json" 'kind "latency" has no report' "recall, replay, eval-pairs, tune" -- \
  "$SEMCACHE" report "$WORK/other.json"
jq '.runs[0].qps = "fast"' "$WORK/recall.json" > "$WORK/wrongtype.json"
expect_fail 2 "$WORK/wrongtype.json: runs[0].qps must be a number, got string" -- "$SEMCACHE" report "$WORK/wrongtype.json"
expect_fail 2 "nope.json" -- "$SEMCACHE" report "$WORK/nope.json"
expect_fail 2 "--format" -- "$SEMCACHE" report "$WORK/recall.json" --format pdf
expect_fail 3 "$WORK/no-dir/r.html" -- "$SEMCACHE" report "$WORK/recall.json" --format html --out "$WORK/no-dir/r.html"

finish
