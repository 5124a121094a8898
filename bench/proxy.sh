#!/usr/bin/env bash
# Proxy benchmark (a): one route, no plugins. Starts the anchors of the shared folder (nginx upstream,
# nginx as a plain reverse proxy, the minimal YARP proxy) and a Gantry node with one route to the same
# upstream, then runs the anchors' interleaved wrk rounds and prints medians and ratios to nginx.
# usage: bench/proxy.sh [ROUNDS=3] [SECONDS=5]; needs nginx and wrk (apt-get install nginx wrk).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${GANTRY_SHARED_DIR:-$(cd "$root/.." && pwd)/shared}"; [ -d "$shared/bench" ] || shared=/work/shared
anchors="$shared/bench/anchors"
rounds="${1:-3}"; secs="${2:-5}"
work="$(mktemp -d /tmp/gantry-bench-proxy.XXXXXX)"
cleanup() {
  [ -f /tmp/anchor-upstream.pid ] && kill "$(cat /tmp/anchor-upstream.pid)" 2>/dev/null || true
  [ -f /tmp/anchor-proxy.pid ] && kill "$(cat /tmp/anchor-proxy.pid)" 2>/dev/null || true
  [ -n "${yarp:-}" ] && kill "$yarp" 2>/dev/null || true
  "$root/bin/gantry" stop -p "$work/gantry" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

nginx -c "$anchors/upstream-nginx.conf"
nginx -c "$anchors/proxy-nginx.conf"
cp -r "$anchors/yarp-min" "$work/yarp-min"
dotnet build "$work/yarp-min" -c Release -o "$work/yarp-bin" --nologo -v quiet >/dev/null
dotnet "$work/yarp-bin/yarp-min.dll" >/dev/null 2>&1 & yarp=$!

export GANTRY_PREFIX="$work/gantry" GANTRY_DATABASE=sqlite GANTRY_PROXY_LISTEN=127.0.0.1:18083 \
  GANTRY_ADMIN_LISTEN=127.0.0.1:18084 GANTRY_STATUS_LISTEN=127.0.0.1:18085 GANTRY_LOG_LEVEL=error GANTRY_DB_UPDATE_FREQUENCY=0.5
"$root/bin/gantry" start --daemon >/dev/null
curl -sf -XPOST 127.0.0.1:18084/services -d name=up -d url=http://127.0.0.1:18080 >/dev/null
curl -sf -XPOST 127.0.0.1:18084/services/up/routes -d 'paths[]=/' >/dev/null
for _ in $(seq 1 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:18083/ || true)" = 200 ] && [ "$(curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:18082/ || true)" = 200 ] && break
  sleep 0.2
done

bash "$anchors/proxy-ratio.sh" "$rounds" "$secs" \
  nginx=http://127.0.0.1:18081/ direct=http://127.0.0.1:18080/ yarp=http://127.0.0.1:18082/ gantry=http://127.0.0.1:18083/
