#!/usr/bin/env bash
# Sets up, builds and runs Slipway in sandbox mode: SQLite in ./data and local simulators
# instead of the real platforms (unless VERCEL_TOKEN is set). Prints the URL and the
# first-run admin login.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
./scripts/build-site.sh
cargo build --locked -p slipway-app --features ssr --bin slipway

data_dir=${SLIPWAY_DATA_DIR:-data}
mkdir -p "$data_dir"
password_file="$data_dir/first-run-admin-password"
if [ ! -s "$password_file" ] && [ -z "${SLIPWAY_ADMIN_PASSWORD:-}" ]; then
  # A generated password, never a default one; kept (owner-only) so later runs print it again.
  (umask 077; head -c 18 /dev/urandom | base64 | tr '+/' '-_' > "$password_file")
fi
export SLIPWAY_DATA_DIR=$data_dir
export SLIPWAY_ADMIN_USERNAME=${SLIPWAY_ADMIN_USERNAME:-admin}
export SLIPWAY_ADMIN_PASSWORD=${SLIPWAY_ADMIN_PASSWORD:-$(cat "$password_file")}
addr=${SLIPWAY_ADDR:-127.0.0.1:3000}
export SLIPWAY_ADDR=$addr

cat <<MSG

  Slipway (sandbox mode${VERCEL_TOKEN:+: real Vercel API}) at http://$addr
  First-run admin login: $SLIPWAY_ADMIN_USERNAME / $SLIPWAY_ADMIN_PASSWORD
  (the password is created on the first run only; it is stored in $password_file)

MSG
exec target/debug/slipway serve
