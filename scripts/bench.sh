#!/usr/bin/env bash
# Performance baselines: every jifen figure next to a baseline measured in the same run on the
# same machine, printed as one table (and written to target/bench/latest.md). Bounded: a few
# minutes after the release build. Not part of scripts/test.sh: timings are not tests.
#
#   scripts/bench.sh            # everything
#   BENCH_QUICK=1 scripts/bench.sh   # shorter runs (noisier)
#   BENCH_COMPONENTS=0 scripts/bench.sh   # only the whole-process figures
#
# Every benchmark prints lines of the form
#   BENCH | <what> | <jifen figure> | <baseline figure> | <ratio> | <goal> | <met: yes/no>
# which this script collects.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=target/bench
mkdir -p "$out"
rows="$out/rows.txt"
: > "$rows"
quick=${BENCH_QUICK:-}
secs=${quick:+5}; secs=${secs:-15}

note() { echo "bench: $*" >&2; }
row() { echo "BENCH | $*" | tee -a "$rows"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# One build of every benchmark and the jifen binary (cargo builds a package's binaries with its
# benches), with one feature resolution: building per package (`-p`) would resolve features
# differently each time and rebuild the shared dependencies again and again.
note "building release binaries and benches (the first time takes 15-20 minutes on 2 cores)"
cargo bench --workspace --bench '*' --no-run --locked >&2
bin="${CARGO_TARGET_DIR:-target}/release/jifen"

# --- cold start and idle memory of `jifen run` --------------------------------------------
data=$(mktemp -d); g=$(free_port); h=$(free_port)
t0=$(date +%s%N)
"$bin" run --data-dir "$data" --grpc-addr "127.0.0.1:$g" --http-addr "127.0.0.1:$h" >"$out/run.log" 2>"$out/run.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
until grep -q '^jifen ready' "$out/run.log"; do
  kill -0 $pid 2>/dev/null || { cat "$out/run.err" >&2; exit 1; }
  sleep 0.01
done
ready_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
sleep 3
rss_kib=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
row "cold start of jifen run (fresh data dir) | ${ready_ms} ms | - | - | < 2000 ms | $([[ $ready_ms -lt 2000 ]] && echo yes || echo no)"
row "idle RSS of jifen run | $((rss_kib / 1024)) MiB | - | - | < 200 MiB | $([[ $rss_kib -lt 204800 ]] && echo yes || echo no)"

# --- gateway query vs a no-op axum handler, 256 connections ------------------------------
# The public rule table (scoring GetPublicRuleSet behind the edge): the simulator is rate-limited
# per client address, and every loadgen request comes from one address.
"$bin" loadgen --quiet --url "http://127.0.0.1:$h" --mix rules=1 --concurrency 256 \
  --requests 2000000 --duration "${secs}s" --baseline --json "$out/gateway.json" >"$out/gateway.md"
python3 - "$out/gateway.json" >>"$rows" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
j, b = r["result"], r["baseline"]
ratio = j["throughput"] / b["throughput"]
met = "yes" if ratio >= 0.5 and j["p99_ms"] <= 25 and j["by_class"].get("server_error", 0) == 0 else "no"
print(f"BENCH | gateway rule-table query, 256 conns | {j['throughput']:.0f} req/s, p99 {j['p99_ms']:.1f} ms | {b['throughput']:.0f} req/s | {ratio:.2f} | >= 0.5, p99 <= 25 ms | {met}")
PY
tail -n 1 "$rows"
kill $pid; wait $pid 2>/dev/null || true

# --- a 10x spike against deliberately tight admission limits ------------------------------
g=$(free_port); h=$(free_port); data2=$(mktemp -d)
JIFEN__GATEWAY__MAX_IN_FLIGHT=32 JIFEN__GATEWAY__RATE_PER_SEC=300 \
JIFEN__GATEWAY__TENANT_MAX_IN_FLIGHT=32 JIFEN__GATEWAY__TENANT_RATE_PER_SEC=300 \
  "$bin" run --data-dir "$data2" --grpc-addr "127.0.0.1:$g" --http-addr "127.0.0.1:$h" >"$out/spike-run.log" 2>&1 &
pid=$!
until grep -q '^jifen ready' "$out/spike-run.log"; do sleep 0.01; done
"$bin" loadgen --quiet --url "http://127.0.0.1:$h" --mix rules=1 --concurrency 256 \
  --rate 3000 --requests 200000 --duration "${secs}s" --json "$out/spike.json" >"$out/spike.md"
python3 - "$out/spike.json" >>"$rows" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["result"]
c = r["by_class"]
total = r["requests"]
five = c.get("server_error", 0) + c.get("transport", 0)
share = c.get("too_many_requests", 0) / max(total, 1)
print(f"BENCH | 10x spike (3000 req/s offered, 300 admitted) | {five} 5xx/transport errors, 429 share {share:.0%} | - | - | 0 5xx | {'yes' if five == 0 else 'no'}")
PY
tail -n 1 "$rows"
kill $pid; wait $pid 2>/dev/null || true; rm -rf "$data2"

# --- component benchmarks (criterion / harness-free benches printing BENCH lines) --------
[[ "${BENCH_COMPONENTS:-1}" == 0 ]] && note "skipping component benches (BENCH_COMPONENTS=0)"
[[ "${BENCH_COMPONENTS:-1}" == 0 ]] || for spec in "jifen score_rank" "jifen-ranking get_rank" "jifen-rules evaluate" \
            "jifen-ranking ranking_run" "jifen-identity token_verification" \
            "jifen-review submit" "jifen-materials upload"; do
  set -- $spec
  if grep -q "name = \"$2\"" "services/${1#jifen-}/Cargo.toml" 2>/dev/null; then
    note "cargo bench -p $1 --bench $2"
    cargo bench --workspace --bench "$2" --locked -- ${quick:+--quick} 2>"$out/$2.err" | tee "$out/$2.out" | grep '^BENCH |' >>"$rows" || true
  fi
done

{
  echo "jifen benchmarks · $(date -u '+%Y-%m-%d %H:%M UTC') · $(nproc) CPUs · $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo
  echo "| benchmark | jifen | baseline (same run) | ratio | goal | met |"
  echo "|---|---|---|---|---|---|"
  sed -e 's/^BENCH | /| /' -e 's/$/ |/' "$rows"
} > "$out/latest.md"
echo
cat "$out/latest.md"
