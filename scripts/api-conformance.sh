#!/usr/bin/env bash
# REST API conformance: starts a throwaway sandbox Slipway, makes an admin API token, and runs
# schemathesis (every check) against it with the OpenAPI document of /api/v1. Any 5xx or any
# response the document does not describe fails the run.
#
#   SLIPWAY_BIN=target/debug/slipway ./scripts/api-conformance.sh [--schema-file PATH] [-- SCHEMATHESIS ARGS]
#
# The document is read from the running server (/api/v1/openapi.json) unless --schema-file or
# OPENAPI_FILE names a file. Knobs: CONFORMANCE_MAX_EXAMPLES (default 100), CONFORMANCE_SEED,
# CONFORMANCE_OUT (where the server log and reports stay, default target/api-conformance).
set -euo pipefail
cd "$(dirname "$0")/.."

schema_file=${OPENAPI_FILE:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --schema-file) schema_file=$2; shift 2 ;;
    --schema-file=*) schema_file=${1#*=}; shift ;;
    --) shift; break ;;
    *) echo "usage: $0 [--schema-file PATH] [-- SCHEMATHESIS ARGS]" >&2; exit 2 ;;
  esac
done

bin=${SLIPWAY_BIN:-target/debug/slipway}
schemathesis=.tools/schemathesis/bin/schemathesis
[ -x "$bin" ] || { echo "api-conformance: no slipway binary at $bin (set SLIPWAY_BIN)" >&2; exit 2; }
[ -x "$schemathesis" ] || { echo "api-conformance: $schemathesis is missing; run ./scripts/setup.sh" >&2; exit 2; }
[ -z "$schema_file" ] || [ -f "$schema_file" ] || { echo "api-conformance: no file $schema_file" >&2; exit 2; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

out=${CONFORMANCE_OUT:-target/api-conformance}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/server.log" "$out/token.log" "$out/schemathesis.log" "$out/junit.xml"
started=$(date +%s)
# A sandbox of its own (scripts/throwaway-server.sh): sets $base, $token and $work.
source scripts/throwaway-server.sh
throwaway_server api-conformance "$bin" "$out" admin

# The only change to schemathesis' defaults: positive_data_acceptance also takes 422 from the
# operations whose rules depend on stored state or compare two fields, which no schema can state
# (a name already used, an Idempotency-Key reused with another body, a staging branch equal to the
# production branch, a destroy whose `confirm` is not the venture's name; a variable's description
# required only when it is new, the integration's variables read-only, a version removed), and
# a domain to check, whose rules are IDNA's and the public suffix list's.
# No cache either: it would replay earlier runs' failures and make runs differ.
cat >"$work/schemathesis.toml" <<'TOML'
[cache]
enabled = false

[[operations]]
include-operation-id = ["createVenture", "planNewVenture", "destroyVenture", "putEnv", "deleteEnv", "rollbackEnv", "checkDomain"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
TOML

location=${schema_file:-$base/api/v1/openapi.json}
# The same cases every run; CONFORMANCE_SEED=N explores other (reproducible) ones instead.
# Plans keep to the vendors' budgets (Vercel: 120 requests a minute per endpoint) even here; once
# a flood of them has used a budget up, they answer 429 with Retry-After at once (documented).
if [ -n "${CONFORMANCE_SEED:-}" ]; then generation=(--seed "$CONFORMANCE_SEED"); else generation=(--generation-deterministic); fi
set +e
"$schemathesis" --config-file "$work/schemathesis.toml" run "$location" \
  --url "$base" \
  --header "Authorization: Bearer $token" \
  --checks all \
  "${generation[@]}" \
  --max-examples "${CONFORMANCE_MAX_EXAMPLES:-100}" \
  --workers 1 \
  --request-timeout 30 \
  --no-color \
  --output-sanitize true \
  --report junit --report-junit-path "$out/junit.xml" --report-dir "$out" \
  "$@" 2>&1 | tee "$out/schemathesis.log"
status=${PIPESTATUS[0]}
set -e

errors=$(grep -c ' ERROR ' "$out/server.log" || true)
if [ "$errors" -gt 0 ]; then
  echo "api-conformance: the server logged $errors error(s):" >&2
  grep ' ERROR ' "$out/server.log" | head -20 >&2
fi
runtime=$(($(date +%s) - started))
# Tests that passed and failed, from the JUnit report (one per operation, one for the stateful run).
tests=0 failed=0
if [ -f "$out/junit.xml" ]; then
  tests=$(grep -o '<testsuite [^>]*' "$out/junit.xml" | grep -o ' tests="[0-9]*"' | tr -dc '0-9\n' | awk '{s += $1} END {print s + 0}')
  failed=$(grep -o '<testsuite [^>]*' "$out/junit.xml" | grep -o ' \(failures\|errors\)="[0-9]*"' | tr -dc '0-9\n' | awk '{s += $1} END {print s + 0}')
fi
version=$("$schemathesis" --version | awk '{print $NF}')
if [ "$status" -eq 0 ]; then
  echo "api-conformance: $((tests - failed)) passed, $failed failed (schemathesis $version, ${runtime}s)"
else
  echo "api-conformance: FAILED with $failed of $tests tests failing (schemathesis $version exit $status, ${runtime}s; logs in $out)"
  exit 1
fi
