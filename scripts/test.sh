#!/usr/bin/env bash
# The one test command: formatting, lints, every test (unit, integration on real PostgreSQL,
# Redis and the embedded S3 endpoint, end-to-end), the Helm chart and kustomize checks, and a
# tiny load-generator smoke run. Works on a fresh machine: PostgreSQL and Redis are used if they
# answer on loopback, otherwise throwaway ones are installed and started here.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
results=()
failed=0

step() { # step NAME COMMAND...
  local name=$1; shift
  echo
  echo "==> $name"
  local started=$SECONDS
  if "$@"; then
    results+=("ok    $name ($((SECONDS - started)) s)")
  else
    results+=("FAIL  $name ($((SECONDS - started)) s)")
    failed=$((failed + 1))
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

apt_install() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "test.sh: need $* but not root; install them or start the services" >&2
    return 1
  fi
  if [[ ! -f /tmp/.jifen-apt-updated ]]; then
    apt-get update -qq && touch /tmp/.jifen-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  if [[ -n "${JIFEN_TEST_PG_URL:-}" ]]; then return 0; fi
  if port_open 5432; then
    export JIFEN_TEST_PG_URL="postgres://postgres@127.0.0.1:5432/postgres"
    echo "PostgreSQL: using the server on 127.0.0.1:5432"
    return 0
  fi
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [[ -z "$bin" ]]; then
    apt_install postgresql || return 1
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  local port dir
  port=$(free_port)
  # World-readable and outside root's home: postgres cannot enter /root, where a clone may live.
  dir=$(mktemp -d /tmp/jifen-pg.XXXXXX)
  chmod 755 "$dir"
  local as=()
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres "$dir"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust >/dev/null || return 1
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-k $dir -p $port -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null || return 1
  export JIFEN_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "PostgreSQL: started a throwaway server on 127.0.0.1:$port ($dir)"
}

ensure_redis() {
  if [[ -n "${JIFEN_TEST_REDIS_URL:-}" ]]; then return 0; fi
  if port_open 6379; then
    export JIFEN_TEST_REDIS_URL="redis://127.0.0.1:6379"
    echo "Redis: using the server on 127.0.0.1:6379"
    return 0
  fi
  command -v redis-server >/dev/null || apt_install redis-server || return 1
  local port
  port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes >/dev/null || return 1
  for _ in $(seq 50); do port_open "$port" && break; sleep 0.1; done
  export JIFEN_TEST_REDIS_URL="redis://127.0.0.1:$port"
  echo "Redis: started a throwaway server on 127.0.0.1:$port"
}

echo "==> services"
ensure_postgres || { echo "test.sh: no PostgreSQL available" >&2; exit 1; }
ensure_redis || { echo "test.sh: no Redis available" >&2; exit 1; }

step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy -D warnings" cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo test (unit, integration, end-to-end)" cargo test --workspace --locked --no-fail-fast
step "cargo build (jifen binary)" cargo build -p jifen --locked
step "smoke: jifen as a newcomer runs it (Python gRPC client)" scripts/smoke.sh "$root/target/debug/jifen"
step "browser tests (Chromium + playwright-core)" scripts/browser-test.sh
step "helm chart and kustomize checks" scripts/chart-check.sh "$root/target/debug/jifen"

echo
echo "==> summary"
printf '%s\n' "${results[@]}"
if [[ $failed -gt 0 ]]; then
  echo "$failed step(s) failed"
  exit 1
fi
echo "all steps passed"
