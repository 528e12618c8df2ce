#!/usr/bin/env bash
# The vendors' official SDKs (@vercel/sdk, cloudflare, supabase-management-js, pinned in
# end2end/package-lock.json) against `slipway sim`: every operation Slipway's clients use, one
# test per call (end2end/sdks/). Needs the binary (SLIPWAY_BIN, default target/debug/slipway)
# and `npm ci` in end2end (done here when the SDKs are missing). Ends with `sdks: N passed`.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${SLIPWAY_BIN:-target/debug/slipway}
[[ -x $bin ]] || { echo "sdks: no slipway binary at $bin (build it or set SLIPWAY_BIN)" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
cd end2end
if [[ ! -d node_modules/@vercel/sdk || ! -d node_modules/cloudflare || ! -d node_modules/supabase-management-js ]]; then
  npm ci --no-audit --no-fund
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
SLIPWAY_BIN=$bin node --test --test-reporter=tap sdks/ >"$log" 2>&1 || status=$?
# Each call's verdict, then the failures in full.
grep -E '^(not )?ok [0-9]+ - ' "$log" | sed -E 's/^(not ok|ok) [0-9]+ - /\1  /' || true
if [[ $status -ne 0 ]]; then
  echo "--- failures"
  awk '/^not ok /,/^  \.\.\.$/' "$log"
fi
count() { grep -Eo "^# $1 [0-9]+" "$log" | awk '{s += $3} END {print s + 0}'; }
passed=$(count pass) failed=$(count fail) skipped=$(count skipped)
echo "sdks: $passed passed, $failed failed, $skipped skipped"
[[ $status -eq 0 && $failed -eq 0 && $skipped -eq 0 ]]
