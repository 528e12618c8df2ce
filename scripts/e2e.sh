#!/usr/bin/env bash
# Runs the Playwright suite in Debian's headless Chromium against a fresh sandbox server
# (its own SQLite database and simulators, a free port), then stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
creator_password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
SLIPWAY_ADDR=127.0.0.1:$port SLIPWAY_DATA_DIR=$work/data SLIPWAY_ADMIN_PASSWORD=$password \
  SLIPWAY_SANDBOX_LATENCY_MS=300 VERCEL_TOKEN= SUPABASE_ACCESS_TOKEN= CLOUDFLARE_API_TOKEN= RUST_LOG=warn \
  target/debug/slipway serve >"$work/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/login" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.2
done

# The happy paths run as a creator, as the studio's people do.
SLIPWAY_DATA_DIR=$work/data SLIPWAY_PASSWORD=$creator_password VERCEL_TOKEN= SUPABASE_ACCESS_TOKEN= \
  CLOUDFLARE_API_TOKEN= RUST_LOG=warn target/debug/slipway user create --username casey --role creator >/dev/null
# An operator watches: sees names and states, never a value.
SLIPWAY_DATA_DIR=$work/data SLIPWAY_PASSWORD=$creator_password VERCEL_TOKEN= SUPABASE_ACCESS_TOKEN= \
  CLOUDFLARE_API_TOKEN= RUST_LOG=warn target/debug/slipway user create --username otto --role operator >/dev/null

cd end2end
SLIPWAY_E2E_URL=http://127.0.0.1:$port SLIPWAY_E2E_ADMIN=admin SLIPWAY_E2E_PASSWORD=$password \
  SLIPWAY_E2E_CREATOR=casey SLIPWAY_E2E_CREATOR_PASSWORD=$creator_password \
  SLIPWAY_E2E_OPERATOR=otto SLIPWAY_E2E_OPERATOR_PASSWORD=$creator_password \
  npx playwright test || { echo "--- server log"; cat "$work/server.log"; exit 1; }
