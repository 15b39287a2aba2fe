#!/usr/bin/env bash
# Bad input never crashes: each case exits 2 with the file, the position and the reason.
source "$(dirname "$0")/lib.bash"

"$SEMCACHE" gen vectors --n 300 --dim 16 --clusters 6 --queries 5 --seed 3 --out "$WORK/d" >/dev/null || exit 1

# A truncated fvecs: cut the last row in half.
size=$(stat -c %s "$WORK/d/base.fvecs")
head -c $((size - 30)) "$WORK/d/base.fvecs" > "$WORK/trunc.fvecs"
expect_fail 2 "trunc.fvecs" "truncated" -- "$SEMCACHE" load "$WORK/trunc.fvecs" --set t --save "$WORK/t.vset"
expect_fail 2 "trunc.fvecs" "truncated" -- "$SEMCACHE" bench recall --base "$WORK/trunc.fvecs" --queries "$WORK/d/query.fvecs"

# An .npy with a wrong header.
printf '\x93NUMPY\x01\x00\x46\x00{"descr": "<f8", "fortran_order": False, "shape": (2, 3), }          \n' > "$WORK/bad.npy"
head -c 48 /dev/zero >> "$WORK/bad.npy"
expect_fail 2 "bad.npy" "<f8" -- "$SEMCACHE" load "$WORK/bad.npy" --set t --save "$WORK/t.vset"
printf 'NOTNUMPY-garbage' > "$WORK/garbage.npy"
expect_fail 2 "garbage.npy" -- "$SEMCACHE" load "$WORK/garbage.npy" --set t --save "$WORK/t.vset"

# A JSONL line with a string in the vector.
printf '{"id": "a", "vector": [0.1, 0.2, 0.3]}\n{"id": "b", "vector": [0.1, "x", 0.3]}\n' > "$WORK/str.jsonl"
expect_fail 2 "str.jsonl:2" "vector" -- "$SEMCACHE" load "$WORK/str.jsonl" --set t --save "$WORK/t.vset"

# Dimension mismatches: inside a JSONL file, and between base and queries.
printf '{"id": "a", "vector": [0.1, 0.2, 0.3]}\n{"id": "b", "vector": [0.1, 0.3]}\n' > "$WORK/dims.jsonl"
expect_fail 2 "dims.jsonl:2" "expected 3" -- "$SEMCACHE" load "$WORK/dims.jsonl" --set t --save "$WORK/t.vset"
"$SEMCACHE" gen vectors --n 50 --dim 8 --clusters 2 --queries 3 --out "$WORK/d8" >/dev/null || exit 1
expect_fail 2 "query.fvecs" "dimension 8" -- "$SEMCACHE" bench recall --base "$WORK/d/base.fvecs" --queries "$WORK/d8/query.fvecs"

# NaN values, in JSONL and in fvecs.
printf '{"id": "a", "vector": [0.1, NaN, 0.3]}\n' > "$WORK/nan.jsonl"
expect_fail 2 "nan.jsonl:1" -- "$SEMCACHE" load "$WORK/nan.jsonl" --set t --save "$WORK/t.vset"
printf '\x02\x00\x00\x00\x00\x00\x80\x3f\x00\x00\xc0\x7f' > "$WORK/nan.fvecs"
expect_fail 2 "nan.fvecs" "NaN" -- "$SEMCACHE" load "$WORK/nan.fvecs" --set t --save "$WORK/t.vset"

# An unparsable filter, and a bad ef list.
expect_ok "$SEMCACHE" load "$WORK/d/base.fvecs" --set t --save "$WORK/t.vset"
expect_fail 2 "filter" "column" -- "$SEMCACHE" query --snapshot "$WORK/t.vset" --vector "$WORK/d/query.fvecs" --filter '.year >'
expect_fail 2 "filter" -- "$SEMCACHE" query --snapshot "$WORK/t.vset" --vector "$WORK/d/query.fvecs" --filter '.year = 3'
expect_fail 2 "--ef" -- "$SEMCACHE" bench recall --base "$WORK/d/base.fvecs" --queries "$WORK/d/query.fvecs" --ef 16,x

# A corrupt snapshot is refused, and a failed load leaves an existing snapshot untouched.
cp "$WORK/t.vset" "$WORK/keep.vset"
expect_fail 2 "str.jsonl:2" -- "$SEMCACHE" load "$WORK/str.jsonl" --set t --save "$WORK/keep.vset"
cmp -s "$WORK/t.vset" "$WORK/keep.vset" && pass "snapshot kept" || fail_check "snapshot changed"
head -c 1000 "$WORK/t.vset" > "$WORK/cut.vset"
expect_fail 2 "cut.vset" "checksum" -- "$SEMCACHE" query --snapshot "$WORK/cut.vset" --vector "$WORK/d/query.fvecs"
expect_fail 2 "past the end" -- "$SEMCACHE" query --snapshot "$WORK/t.vset" --vector "$WORK/d/query.fvecs" --row 99

# Usage errors are exit 2 as well.
expect_fail 2 -- "$SEMCACHE" load
expect_fail 2 -- "$SEMCACHE" frobnicate
finish
