#!/usr/bin/env bash
# The REST API through a generated Python client: starts a throwaway sandbox Slipway
# (scripts/throwaway-server.sh), generates a client from the OpenAPI document it serves with
# openapi-python-client (pinned in scripts/setup.sh), and runs end2end/python/scenario.py with it:
# create a venture, follow its events (pages and the SSE stream), read it back, plan, destroy.
#
#   SLIPWAY_BIN=target/debug/slipway ./scripts/python-client.sh
#
# Ends with `python-client: N passed, M failed`. PYTHON_CLIENT_OUT (default
# target/python-client) keeps the server log, the document and the generated client.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${SLIPWAY_BIN:-target/debug/slipway}
tools=.tools/openapi-python-client
[ -x "$bin" ] || { echo "python-client: no slipway binary at $bin (set SLIPWAY_BIN)" >&2; exit 2; }
[ -x "$tools/bin/openapi-python-client" ] || { echo "python-client: $tools is missing; run ./scripts/setup.sh" >&2; exit 2; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
tools=$(cd "$tools" && pwd)

out=${PYTHON_CLIENT_OUT:-target/python-client}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/server.log" "$out/token.log" "$out/openapi.json" "$out/generate.log" "$out/slipway_client"

source scripts/throwaway-server.sh
throwaway_server python-client "$bin" "$out" creator

curl -sf "$base/api/v1/openapi.json" -o "$out/openapi.json" \
  || { echo "python-client: GET /api/v1/openapi.json failed" >&2; exit 1; }
# The generator formats its output with the venv's ruff, so the venv's bin goes first on PATH.
if ! PATH="$tools/bin:$PATH" "$tools/bin/openapi-python-client" generate --path "$out/openapi.json" \
  --meta none --output-path "$out/slipway_client" --overwrite >"$out/generate.log" 2>&1; then
  echo "python-client: openapi-python-client could not generate a client:" >&2
  cat "$out/generate.log" >&2
  exit 1
fi
# Anything it warns about (a schema it could not read, a response it dropped) fails the run.
if grep -Eiv '^(Generating|$)' "$out/generate.log" | grep -Eiq 'warning|error|could not|omitted|unsupported'; then
  echo "python-client: openapi-python-client warned about the document:" >&2
  cat "$out/generate.log" >&2
  exit 1
fi

SLIPWAY_URL=$base SLIPWAY_TOKEN=$token PYTHONPATH=$out "$tools/bin/python" end2end/python/scenario.py
