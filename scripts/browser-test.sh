#!/usr/bin/env bash
# Browser tests of the portal in real Chromium (Debian's chromium + playwright-core, no browser
# download): starts target/debug/jifen on free loopback ports with a fresh data dir, runs
# tests/browser/portal.test.mjs against it, stops jifen. Screenshots land in
# tests/browser/artifacts/ (git-ignored). Exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [[ ! -x /usr/bin/chromium ]]; then
  echo "browser-test: installing chromium"
  apt-get install -y chromium chromium-driver >/dev/null 2>&1 || {
    apt-get update >/dev/null && apt-get install -y chromium chromium-driver >/dev/null
  }
fi
if ! fc-list 2>/dev/null | grep -qi "cjk\|wqy\|droid sans fallback"; then
  # Without a CJK font the screenshots show boxes where the Chinese text is.
  echo "browser-test: installing fonts-noto-cjk"
  apt-get install -y fonts-noto-cjk >/dev/null 2>&1 || {
    apt-get update >/dev/null && apt-get install -y fonts-noto-cjk >/dev/null
  } || echo "browser-test: no CJK font (screenshots will show boxes)"
fi
if [[ ! -d tests/browser/node_modules/playwright-core ]]; then
  echo "browser-test: installing playwright-core"
  (cd tests/browser && if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi) >/dev/null
fi
[[ -x target/debug/jifen ]] || cargo build -p jifen

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP_PORT=$(free_port)
GRPC_PORT=$(free_port)
DATA_DIR=$(mktemp -d)
LOG="$DATA_DIR/jifen.log"
export JIFEN_SEED_ADMIN_PASSWORD="Admin#$(date +%s)x"
JIFEN_PID=""
cleanup() {
  if [[ -n "$JIFEN_PID" ]]; then
    kill "$JIFEN_PID" 2>/dev/null || true
    wait "$JIFEN_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA_DIR"
}
trap cleanup EXIT

# The embedded default (SQLite, embedded S3), isolated from any PostgreSQL/Redis settings.
env -u JIFEN__DATABASE__URL -u JIFEN__REDIS__URL JIFEN__S3__EMBEDDED_ADDR=127.0.0.1:0 \
  "$ROOT/target/debug/jifen" --data-dir "$DATA_DIR/data" run \
  --http-addr "127.0.0.1:$HTTP_PORT" --grpc-addr "127.0.0.1:$GRPC_PORT" >"$LOG" 2>&1 &
JIFEN_PID=$!
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$JIFEN_PID" 2>/dev/null; then echo "browser-test: jifen exited"; cat "$LOG"; exit 1; fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null || { echo "browser-test: jifen not ready"; tail -50 "$LOG"; exit 1; }

status=0
JIFEN_URL="http://127.0.0.1:$HTTP_PORT" JIFEN_ADMIN_PASSWORD="$JIFEN_SEED_ADMIN_PASSWORD" \
  node tests/browser/portal.test.mjs || status=$?
if [[ $status -ne 0 ]]; then
  echo "browser-test: jifen log (last 40 lines)"
  tail -40 "$LOG"
fi
exit $status
