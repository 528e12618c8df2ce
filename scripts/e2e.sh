#!/usr/bin/env bash
# Runs the Playwright suite in Debian's headless Chromium against a fresh sandbox server
# (its own SQLite database and simulators, a free port), then stops the server and scans the
# database, the server's output and every page, answer and log stream the suite saved for any
# secret value (`slipway vault leak-scan`). Arguments go to Playwright (a file, `file:line`).
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
creator_password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
# The simulators' token, so a test can change a variable "at Vercel" (drift) as a person would.
sandbox_token=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
export SLIPWAY_DATA_DIR=$work/data SLIPWAY_SANDBOX_TOKEN=$sandbox_token VERCEL_TOKEN= SUPABASE_ACCESS_TOKEN= \
  CLOUDFLARE_API_TOKEN=
# The sandbox's Supabase projects run their SQL on this PostgreSQL (a database each, dropped on
# exit), so row-level security is proven and linted as at Supabase.
export SLIPWAY_SANDBOX_POSTGRES_URL=${SLIPWAY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
SLIPWAY_ADDR=127.0.0.1:$port SLIPWAY_ADMIN_PASSWORD=$password SLIPWAY_SANDBOX_LATENCY_MS=300 RUST_LOG=info \
  target/debug/slipway serve >"$work/server.log" 2>&1 &
server=$!
stop_server() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
cleanup() { stop_server; rm -rf "$work"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/login" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.2
done

# The happy paths run as a creator, as the studio's people do.
SLIPWAY_PASSWORD=$creator_password RUST_LOG=warn target/debug/slipway user create --username casey --role creator >/dev/null
# An operator watches: sees names and states, never a value.
SLIPWAY_PASSWORD=$creator_password RUST_LOG=warn target/debug/slipway user create --username otto --role operator >/dev/null
# API tokens, for the capture of every REST answer each role gets.
token() { RUST_LOG=warn target/debug/slipway token create --username "$1" --name e2e --role "$2" 2>/dev/null; }
admin_token=$(token admin admin)
creator_token=$(token casey creator)
operator_token=$(token otto operator)
capture=$work/capture
mkdir -p "$capture"

set +e
(
  cd end2end
  SLIPWAY_E2E_URL=http://127.0.0.1:$port SLIPWAY_E2E_ADMIN=admin SLIPWAY_E2E_PASSWORD=$password \
    SLIPWAY_E2E_CREATOR=casey SLIPWAY_E2E_CREATOR_PASSWORD=$creator_password \
    SLIPWAY_E2E_OPERATOR=otto SLIPWAY_E2E_OPERATOR_PASSWORD=$creator_password \
    SLIPWAY_E2E_ADMIN_TOKEN=$admin_token SLIPWAY_E2E_CREATOR_TOKEN=$creator_token \
    SLIPWAY_E2E_OPERATOR_TOKEN=$operator_token SLIPWAY_E2E_SANDBOX_TOKEN=$sandbox_token \
    SLIPWAY_E2E_CAPTURE=$capture npx playwright test "$@"
) 2>&1 | tee "$work/playwright.log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  # The server's log first and what failed last: a CI report that keeps only the end of the
  # output still names the failing test and why.
  echo "--- server log (the last 300 of $(wc -l <"$work/server.log") lines)"
  tail -n 300 "$work/server.log"
  echo "--- what failed (Playwright's report, again)"
  grep -E '^\s+[0-9]+\) |Error:|expect\(|Expected|Received|Timeout|^\s+[0-9]+ (failed|passed|flaky)|›' "$work/playwright.log" | tail -n 60
  exit 1
fi

# The leak scan: the server's whole output (stopped first, so it is complete), the database
# and everything the suite saved. It names the place of a leak, never the value.
stop_server
echo "leak scan: $(find "$capture" -type f | wc -l) saved pages, answers and streams, $(wc -l <"$work/server.log") lines of server output"
RUST_LOG=warn target/debug/slipway vault leak-scan "$work/server.log" "$capture"
