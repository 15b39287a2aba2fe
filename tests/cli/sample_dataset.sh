#!/usr/bin/env bash
# datasets/prompts-sample.jsonl is exactly what its documented command writes (datasets/README.md),
# so the shipped sample can always be regenerated and never drifts from the generator.
source "$(dirname "$0")/lib.bash"
root="$(cd "$(dirname "$0")/../.." && pwd)"
expect_ok "$SEMCACHE" gen prompts --n 1000 --groups 300 --seed 7 --tenants 3 --out "$WORK/sample.jsonl"
if cmp -s "$WORK/sample.jsonl" "$root/datasets/prompts-sample.jsonl"; then
  pass "datasets/prompts-sample.jsonl matches its generator command"
else
  fail_check "datasets/prompts-sample.jsonl differs from: semcache gen prompts --n 1000 --groups 300 --seed 7 --tenants 3"
fi
grep -q -- "--n 1000 --groups 300 --seed 7 --tenants 3" "$root/datasets/README.md" \
  && pass "datasets/README.md documents the command" || fail_check "datasets/README.md lacks the command"
finish
