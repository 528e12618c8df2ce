#!/usr/bin/env bash
# Every check, as CI runs it: set-up, formatting, lints (server and browser builds), all Rust
# tests, the end-to-end suite in headless Chromium, then the REST API against its OpenAPI document.
set -euo pipefail
cd "$(dirname "$0")/.."

current_step=""
step() { current_step=$*; printf '\n== %s\n' "$*"; }
logs=$(mktemp -d)
# The last line of a failed run names the step, for reports that keep only the end.
finish() {
  local status=$?
  rm -rf "$logs"
  if [ "$status" -ne 0 ]; then echo "check: FAILED in step: $current_step (exit $status)"; fi
}
trap finish EXIT
server_crates=(-p slipway-engine -p slipway-sim -p slipway-app --features slipway-app/ssr)

step "set-up"
./scripts/setup.sh --browser
step "cargo fmt --check"
cargo fmt --all --check
step "layers: the engine has no HTTP server and no simulator among its normal dependencies"
engine_tree=$(cargo tree --locked -p slipway-engine -e normal,features --prefix none)
if grep -Eq '^(axum|slipway-sim|leptos)[ -]|^hyper feature "server"' <<<"$engine_tree"; then
  grep -E '^(axum|slipway-sim|leptos)[ -]|^hyper feature "server"' <<<"$engine_tree" | sort -u
  echo "the engine must not depend on an HTTP server, the simulators or the UI" >&2
  exit 1
fi
step "clippy (engine, simulators and server)"
cargo clippy --locked "${server_crates[@]}" --all-targets -- -D warnings
step "clippy (browser bundle, wasm32)"
cargo clippy --locked -p slipway-frontend --target wasm32-unknown-unknown --profile wasm-release -- -D warnings
step "Rust tests"
cargo test --locked "${server_crates[@]}" 2>&1 | tee "$logs/cargo-test.log"
step "browser bundle and server binary"
./scripts/build-site.sh
# The bundle's size budget, gzipped: 350 KB. Only islands are shipped (~300 KB today with six);
# a new tab or page that only shows data should render on the server and add nothing here.
bundle_budget=350000
bundle_gz=$(stat -c %s target/site/pkg/slipway_bg.wasm.gz)
echo "bundle: $bundle_gz bytes gzipped (budget $bundle_budget)"
if [ "$bundle_gz" -gt "$bundle_budget" ]; then
  echo "the browser bundle is over its budget by $((bundle_gz - bundle_budget)) bytes" >&2
  exit 1
fi
cargo build --locked -p slipway-app --features ssr --bin slipway
step "end-to-end (Playwright, Debian Chromium)"
./scripts/e2e.sh 2>&1 | tee "$logs/e2e.log"
step "official Vercel and Supabase CLIs against the simulators"
(cd end2end && SLIPWAY_BIN=../target/debug/slipway node --test clis/) 2>&1 | tee "$logs/clis.log"
step "official SDKs (@vercel/sdk, cloudflare, supabase-management-js) against the simulators"
SLIPWAY_BIN=target/debug/slipway ./scripts/sdks.sh 2>&1 | tee "$logs/sdks.log"
step "REST API conformance (schemathesis)"
SLIPWAY_BIN=target/debug/slipway ./scripts/api-conformance.sh 2>&1 | tee "$logs/api.log"
step "a Python client generated from the OpenAPI document (openapi-python-client) drives the API"
SLIPWAY_BIN=target/debug/slipway ./scripts/python-client.sh 2>&1 | tee "$logs/python.log"

# One closing line for the whole run (any failure above has already stopped it).
rust_passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$logs/cargo-test.log" | awk '{s += $4} END {print s + 0}')
e2e_passed=$(grep -Eo '^ *[0-9]+ passed' "$logs/e2e.log" | awk '{s += $1} END {print s + 0}')
clis_passed=$(grep -Eo '^# pass [0-9]+' "$logs/clis.log" | awk '{s += $3} END {print s + 0}')
sdks_passed=$(grep -Eo '^sdks: [0-9]+ passed' "$logs/sdks.log" | awk '{s += $2} END {print s + 0}')
python_passed=$(grep -Eo '^python-client: [0-9]+ passed' "$logs/python.log" | awk '{s += $2} END {print s + 0}')
api_passed=$(grep -Eo '^api-conformance: [0-9]+ passed' "$logs/api.log" | awk '{s += $2} END {print s + 0}')
echo
echo "rust: $rust_passed passed, end-to-end: $e2e_passed passed, official CLIs: $clis_passed passed, official SDKs: $sdks_passed passed, REST API conformance: $api_passed passed, Python client: $python_passed passed"
echo "check: $((rust_passed + e2e_passed + clis_passed + sdks_passed + api_passed + python_passed)) passed, 0 failed"
