# Sourced, not run: a throwaway sandbox Slipway for the scripts that test /api/v1 from outside
# (api-conformance.sh, python-client.sh). After
#
#   source scripts/throwaway-server.sh
#   throwaway_server NAME BIN OUT ROLE
#
# a `slipway serve` of BIN runs on a free port of 127.0.0.1 with a fresh data dir, the
# simulators without latency or faults, and no real tokens; `$base` is its URL, `$token` an API
# token of ROLE for its first-run admin, `$work` a scratch dir. Its log is OUT/server.log. The
# server is stopped and `$work` removed on exit (an EXIT trap; the caller must not set another).
# NAME prefixes the messages.

throwaway_server_pid=
work=
throwaway_cleanup() {
  if [ -n "$throwaway_server_pid" ] && kill -0 "$throwaway_server_pid" 2>/dev/null; then
    kill "$throwaway_server_pid" 2>/dev/null || true
    wait "$throwaway_server_pid" 2>/dev/null || true
  fi
  [ -z "$work" ] || rm -rf "$work"
}

# The sandbox's settings, in a subshell of the server or of a command on its database.
throwaway_env() {
  unset VERCEL_TOKEN SUPABASE_ACCESS_TOKEN CLOUDFLARE_API_TOKEN DATABASE_URL SLIPWAY_MASTER_KEY \
    SLIPWAY_PREVIOUS_MASTER_KEYS SUPABASE_ORGANIZATION SLIPWAY_PUBLIC_URL
  export SLIPWAY_DATA_DIR="$work/data" SLIPWAY_ADDR="127.0.0.1:$port" SLIPWAY_ADMIN_USERNAME=admin
  export SLIPWAY_ADMIN_PASSWORD="$throwaway_password" SLIPWAY_SANDBOX_LATENCY_MS=0 SLIPWAY_SANDBOX_FAULT_SHARE=0
  export RUST_LOG=${RUST_LOG:-info,sqlx=warn,tower_http=warn} NO_COLOR=1
}

throwaway_server() {
  local name=$1 bin=$2 out=$3 role=$4 port code throwaway_password="throwaway-$RANDOM$RANDOM"
  work=$(mktemp -d)
  trap throwaway_cleanup EXIT
  trap 'exit 130' INT TERM

  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  (throwaway_env && exec "$bin" serve) >"$out/server.log" 2>&1 &
  throwaway_server_pid=$!
  for _ in $(seq 1 120); do
    kill -0 "$throwaway_server_pid" 2>/dev/null \
      || { echo "$name: the server exited; its log:" >&2; cat "$out/server.log" >&2; exit 1; }
    code=$(curl -s -o /dev/null -w '%{http_code}' "$base/api/v1/connections" || true)
    [ "$code" = 401 ] && break
    sleep 0.5
  done
  [ "$code" = 401 ] || { echo "$name: the server did not answer on $base" >&2; exit 1; }

  token=$(throwaway_env && "$bin" token create --username admin --name "$name" --role "$role" 2>"$out/token.log")
  case "$token" in slw_*) ;; *) echo "$name: no API token:" >&2; cat "$out/token.log" >&2; exit 1 ;; esac
}
