#!/usr/bin/env bash
# Builds the browser bundle into target/site/pkg without cargo-leptos (whose tool downloads
# cannot work offline): the hydrating wasm, its JS glue, wasm-opt, and the Tailwind CSS.
set -euo pipefail
cd "$(dirname "$0")/.."

site=target/site
pkg=$site/pkg
wasm=target/wasm32-unknown-unknown/wasm-release/slipway_frontend.wasm

cargo build --locked -p slipway-frontend --target wasm32-unknown-unknown --profile wasm-release
mkdir -p "$pkg"
wasm-bindgen --target web --no-typescript --out-dir "$pkg" --out-name slipway "$wasm"
# The features rustc enables by default for wasm32 (wasm-opt must know them to keep them).
node_modules/.bin/wasm-opt -Oz \
  --enable-bulk-memory --enable-mutable-globals --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-reference-types --enable-multivalue \
  "$pkg/slipway_bg.wasm" -o "$pkg/slipway_bg.wasm"
node_modules/.bin/tailwindcss --input style/main.css --output "$pkg/slipway.css" --minify 2>/dev/null
cp -r public/. "$site/"
gzip -9 -k -f "$pkg/slipway_bg.wasm"
echo "site built: $(stat -c %s "$pkg/slipway_bg.wasm") bytes wasm ($(stat -c %s "$pkg/slipway_bg.wasm.gz") gzipped), $(stat -c %s "$pkg/slipway.css") bytes css"
