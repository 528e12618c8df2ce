#!/usr/bin/env bash
# Installs what building and testing Slipway needs, idempotently, from registries only, at
# pinned versions. `--browser` also installs Debian's Chromium for the end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=false
[ "${1:-}" = "--browser" ] && want_browser=true

step() { printf '\n== %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The wasm-bindgen CLI must be exactly the version in Cargo.lock.
wbg_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg_version" ]; then
  step "cargo install wasm-bindgen-cli $wbg_version (about 2 minutes)"
  # Not --locked: its own lock file names a crate version the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$wbg_version" --force
fi

# Tailwind CLI and wasm-opt (binaryen) from npm; Debian's binaryen breaks hydration.
if [ ! -x node_modules/.bin/tailwindcss ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci (Tailwind CLI, binaryen)"
  npm ci --no-audit --no-fund
fi

# Python tools from PyPI, each in its own venv under .tools/; reinstalled only when missing or
# when its pin below changes.
pinned_venv() {
  local package=$1 version=$2 command=${3:-$1} venv=.tools/$1
  if [ "$(cat "$venv/.pinned" 2>/dev/null)" != "$version" ] || [ ! -x "$venv/bin/$command" ]; then
    step "pip install $package==$version into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$package==$version"
    echo "$version" >"$venv/.pinned"
  fi
}
# Schemathesis for the REST API conformance run (scripts/api-conformance.sh).
pinned_venv schemathesis 4.32.5
# openapi-python-client generates the Python client scripts/python-client.sh drives.
pinned_venv openapi-python-client 0.29.1
# python-dotenv: the tests read Slipway's dotenv files with it (its command is `dotenv`).
pinned_venv python-dotenv 1.2.1 dotenv

# Knot, a real authoritative DNS server, for the RFC 2136 and DNS doctor tests (started by the
# tests on a free local port; the package's own service is never used).
if ! command -v knotd >/dev/null; then
  step "apt-get install knot"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends knot=3.2.6-1 >/dev/null
fi

if $want_browser; then
  if [ ! -x end2end/node_modules/.bin/playwright ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    step "npm ci in end2end (Playwright test runner, which uses Debian's Chromium; the official Vercel and Supabase CLIs; @next/env, which reads dotenv files as Next.js does)"
    (cd end2end && npm ci --no-audit --no-fund)
  fi
  if [ ! -x /usr/bin/chromium ]; then
    step "apt-get install chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
  fi
fi
