#!/usr/bin/env bash
# Zero-downtime upgrade, end to end: release N-1 built from its git tag, release N from this working tree,
# one PostgreSQL cluster, nodes behind an nginx balancer on loopback, constant proxy load (wrk) and an Admin
# API writer, while the steps of docs/upgrade.md run. The last line sums it up:
#   upgrade N-1 -> N: requests <total>, failed <n>, admin writes <total>, lost <n>, p99 during up <ms>, during finish <ms>
# Usage: bench/upgrade.sh                         (N-1 is the tag v0.1.0)
#        GANTRY_PREVIOUS_RELEASE=<tag or commit> bench/upgrade.sh
# Options by environment: UPGRADE_CONNECTIONS (wrk connections, 16), UPGRADE_SETTLE (seconds of load between
# steps, 5), UPGRADE_CONSUMERS (consumers before the upgrade, for the backfill, 20000), UPGRADE_KEEP=1 keeps the
# work folder. Needs root or sudo for apt-get (nginx, wrk, postgresql) when they are missing.
# Exit 0 when nothing failed and nothing was lost, 1 otherwise.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
previous_ref="${GANTRY_PREVIOUS_RELEASE:-v0.1.0}"
connections="${UPGRADE_CONNECTIONS:-16}"
settle="${UPGRADE_SETTLE:-5}"
seed_consumers="${UPGRADE_CONSUMERS:-20000}"

say() { echo "upgrade: $*" >&2; }
need() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  say "installing $*"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    sudo apt-get update -qq >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
}
need dotnet || { echo "Error: the .NET 10 SDK (dotnet) is required" >&2; exit 1; }
need nginx || apt_install nginx
need wrk || apt_install wrk
need curl || apt_install curl
pgbin=""
for dir in /usr/lib/postgresql/*/bin; do [ -x "$dir/initdb" ] && pgbin="$dir"; done
if [ -z "$pgbin" ]; then
  apt_install postgresql
  for dir in /usr/lib/postgresql/*/bin; do [ -x "$dir/initdb" ] && pgbin="$dir"; done
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ---- the two releases ----
say "building release N-1 from $previous_ref"
old_dll="$("$root/bin/build-release" "$previous_ref")"
say "building release N from the working tree"
"$root/bin/gantry" version >/dev/null
new_dll="$root/.build/gantry/gantry.dll"
old_version="$(dotnet "$old_dll" version | awk '{print $2}')"
new_version="$(dotnet "$new_dll" version | awk '{print $2}')"
say "N-1 = Gantry $old_version ($old_dll), N = Gantry $new_version"

work="$(mktemp -d /tmp/gantry-upgrade.XXXXXX)"
chmod 755 "$work"
pids=()
cleanup() {
  set +e
  [ -f "$work/writer.control" ] && echo stop >"$work/writer.control"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  [ -f "$work/nginx/nginx.pid" ] && nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -s stop 2>/dev/null
  [ -f "$work/upstream/nginx.pid" ] && nginx -p "$work/upstream" -c "$work/upstream/nginx.conf" -s stop 2>/dev/null
  as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1
  if [ "${UPGRADE_KEEP:-0}" = 1 ]; then say "work folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# ---- PostgreSQL, as bin/test starts it (as the postgres user when root) ----
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then useradd --system --no-create-home postgres; fi
mkdir -p "$work/pg"
[ "$(id -u)" -eq 0 ] && chown postgres "$work/pg"
pg_port="$(free_port)"
as_pg "$pgbin/initdb" -D "$work/pg/data" -U gantry --auth=trust -E UTF8 >"$work/pg/initdb.log" 2>&1 || { cat "$work/pg/initdb.log" >&2; exit 1; }
as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/postgres.log" -w -t 60 start \
  -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=200" >/dev/null || { cat "$work/pg/postgres.log" >&2; exit 1; }
as_pg "$pgbin/createdb" -h 127.0.0.1 -p "$pg_port" -U gantry gantry
say "PostgreSQL on 127.0.0.1:$pg_port"

# ---- nodes: one prefix and three ports each, one database ----
declare -A proxy_port admin_port status_port dll_of
node_env() {
  local node="$1"
  echo GANTRY_PREFIX="$work/$node" GANTRY_DATABASE=postgres GANTRY_PG_HOST=127.0.0.1 GANTRY_PG_PORT="$pg_port" \
    GANTRY_PG_USER=gantry GANTRY_PG_DATABASE=gantry GANTRY_PROXY_LISTEN="127.0.0.1:${proxy_port[$node]}" \
    GANTRY_ADMIN_LISTEN="127.0.0.1:${admin_port[$node]}" GANTRY_STATUS_LISTEN="127.0.0.1:${status_port[$node]}"
}
gantry_as() { local node="$1"; shift; env $(node_env "$node") dotnet "${dll_of[$node]}" "$@"; }
for node in old1 old2 new1 new2; do
  proxy_port[$node]="$(free_port)"; admin_port[$node]="$(free_port)"; status_port[$node]="$(free_port)"
  mkdir -p "$work/$node"
done
dll_of[old1]="$old_dll"; dll_of[old2]="$old_dll"; dll_of[new1]="$new_dll"; dll_of[new2]="$new_dll"
declare -A node_pid
start_node() {
  local node="$1"
  env $(node_env "$node") setsid dotnet "${dll_of[$node]}" start >"$work/$node/out.log" 2>&1 &
  node_pid[$node]=$!
  pids+=("$!")
  local clock=0
  # Ready once its proxy serves the route: the configuration is loaded.
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${proxy_port[$node]}/" || true)" = 200 ]; do
    sleep 0.2; clock=$((clock + 1))
    if ! kill -0 "${node_pid[$node]}" 2>/dev/null || [ $clock -gt 300 ]; then
      cat "$work/$node/out.log" >&2; echo "Error: node $node did not start" >&2; exit 1
    fi
  done
  say "$node started ($(grep -o 'Gantry [0-9.]* started' "$work/$node/out.log" | head -1 || true), proxy :${proxy_port[$node]}, admin :${admin_port[$node]})"
}

# ---- nginx: the upstream the routes point at, and the front balancer ----
upstream_port="$(free_port)"; balancer_port="$(free_port)"
mkdir -p "$work/nginx/logs"
write_balancer() {
  # proxy_next_upstream retries a request on another node when one refuses the connection or fails before
  # answering (passive health: max_fails marks it down for fail_timeout). Upstream keepalive stays off,
  # so a reload leaves no idle connection to a node that is about to stop.
  {
    echo "upstream gantry {"
    for node in "$@"; do echo "  server 127.0.0.1:${proxy_port[$node]} max_fails=1 fail_timeout=10s;"; done
    echo "}"
  } >"$work/nginx/upstreams.conf"
}
# The upstream runs in an nginx of its own: a reload of the balancer closes the keepalive connections of
# the reloaded nginx's workers, and the gateways' pooled connections to the upstream must not be among them.
mkdir -p "$work/upstream/logs"
cat >"$work/upstream/nginx.conf" <<EOF
worker_processes 1;
pid $work/upstream/nginx.pid;
error_log $work/upstream/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$upstream_port;
    location / { return 200 "upstream ok\n"; }
  }
}
EOF
nginx -p "$work/upstream" -c "$work/upstream/nginx.conf"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  include $work/nginx/upstreams.conf;
  server {
    listen 127.0.0.1:$balancer_port;
    # A reload makes the old workers close their idle client connections at once; a client that sends on
    # one at that moment sees a read error, which is nginx's reload and not the upgrade. Without client
    # keepalive, every request has its own connection, accepted by a worker that stays to answer it.
    keepalive_timeout 0;
    location / {
      proxy_pass http://gantry;
      proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;
      proxy_next_upstream_tries 4;
      proxy_connect_timeout 2s;
    }
  }
}
EOF
write_balancer old1 old2
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf"
reload_balancer() {
  write_balancer "$@"
  nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -s reload 2>/dev/null
  # The reload is done once only workers of the new configuration are left: old workers finish their
  # requests in flight first.
  local master; master="$(cat "$work/nginx/nginx.pid")"
  sleep 0.5
  while [ "$(pgrep -P "$master" | wc -l)" -gt 1 ]; do sleep 0.1; done
  say "balancer now sends to: $*"
}

# ---- release N-1: bootstrap, two nodes, a service and a route, consumers for the backfill ----
say "migrations bootstrap (N-1)"
gantry_as old1 migrations bootstrap >"$work/bootstrap.log"
start_node_before_route() {
  local node="$1"
  env $(node_env "$node") setsid dotnet "${dll_of[$node]}" start >"$work/$node/out.log" 2>&1 &
  node_pid[$node]=$!; pids+=("$!")
  until curl -sf -o /dev/null "http://127.0.0.1:${admin_port[$node]}/"; do sleep 0.2; kill -0 "${node_pid[$node]}" || { cat "$work/$node/out.log" >&2; exit 1; }; done
}
start_node_before_route old1
old_admin="http://127.0.0.1:${admin_port[old1]}"
curl -sf -o /dev/null -X POST "$old_admin/services" -H 'Content-Type: application/json' \
  -d "{\"name\": \"bench\", \"url\": \"http://127.0.0.1:$upstream_port\"}"
curl -sf -o /dev/null -X POST "$old_admin/services/bench/routes" -H 'Content-Type: application/json' -d '{"name": "bench", "paths": ["/"]}'
# Rows for the backfill of 'migrations up' to walk while the load runs, written as N-1 writes them.
as_pg "$pgbin/psql" -q -h 127.0.0.1 -p "$pg_port" -U gantry gantry -c \
  "INSERT INTO consumers (id, created_at, updated_at, username) SELECT gen_random_uuid(), 0, 0, 'Seed-' || g FROM generate_series(1, $seed_consumers) g"
say "seeded $seed_consumers consumers"
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${proxy_port[old1]}/")" = 200 ]; do sleep 0.2; done
start_node old2

# ---- load: wrk through the balancer, phase by phase; the writer through the old nodes ----
declare -A phase_requests phase_failed phase_p99
wrk_pid=""
phase_start() {
  current_phase="$1"
  wrk -t1 -c"$connections" -d3600s --timeout 10s --latency "http://127.0.0.1:$balancer_port/" >"$work/wrk-$1.log" 2>&1 &
  wrk_pid=$!; pids+=("$wrk_pid")
}
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.1f", n }'; }
phase_end() {
  kill -INT "$wrk_pid"; wait "$wrk_pid" || true
  local log="$work/wrk-$current_phase.log"
  local requests non2xx socket
  requests="$(awk '/requests in/ { print $1 }' "$log")"
  non2xx="$(awk '/Non-2xx or 3xx responses/ { print $NF }' "$log")"
  socket="$(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$log")"
  phase_requests[$current_phase]="${requests:-0}"
  phase_failed[$current_phase]="$(( ${non2xx:-0} + ${socket:-0} ))"
  phase_p99[$current_phase]="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$log")")"
  [ -n "$requests" ] || { cat "$log" >&2; echo "Error: wrk printed no summary for phase $current_phase" >&2; exit 1; }
  say "phase $current_phase: ${phase_requests[$current_phase]} requests, ${phase_failed[$current_phase]} failed, p99 ${phase_p99[$current_phase]} ms"
}
echo "http://127.0.0.1:${admin_port[old1]} http://127.0.0.1:${admin_port[old2]}" >"$work/writer.control"
: >"$work/writer.names"
python3 "$root/bench/upgrade_writer.py" write "$work/writer.control" "$work/writer.names" >"$work/writer.out" 2>"$work/writer.err" &
writer_pid=$!; pids+=("$writer_pid")
wait_writer() { until [ "$(cat "$work/writer.control.state" 2>/dev/null)" = "$1" ]; do sleep 0.05; done; }

phase_start before
sleep "$settle"
phase_end

# docs/upgrade.md step 2: the new release lists the new migrations, exit 5.
set +e; gantry_as new1 migrations list >"$work/list.log" 2>&1; list_exit=$?; set -e
[ "$list_exit" = 5 ] || { cat "$work/list.log" >&2; echo "Error: 'migrations list' of N exited $list_exit, not 5" >&2; exit 1; }

# Step 3: migrations up, from N, while N-1 serves and writes.
phase_start up
sleep 1
say "migrations up (N)"
gantry_as new1 migrations up >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; exit 1; }
grep -E 'migrated up to|backfill .* completed' "$work/up.log" | sed 's/^/upgrade:   /' >&2
sleep 1
phase_end

# Step 4: nodes of N beside those of N-1. Step 5: traffic over to them, the N-1 nodes drained and stopped.
phase_start switch
start_node new1
start_node new2
reload_balancer old1 old2 new1 new2
sleep "$settle"
reload_balancer new1 new2
# No Admin API write may be in flight to a node that stops; writes wait for finish (step 4 of the guide).
echo pause >"$work/writer.control"; wait_writer paused
for node in old1 old2; do
  # Out of the balancer and its workers gone, so nothing is in flight to it any more: SIGTERM.
  gantry_as "$node" stop >/dev/null
  say "$node stopped"
done
sleep "$settle"
phase_end

# Step 6: migrations finish, from N.
phase_start finish
sleep 1
say "migrations finish (N)"
gantry_as new1 migrations finish >"$work/finish.log" 2>&1 || { cat "$work/finish.log" >&2; exit 1; }
grep -E 'migrated up to' "$work/finish.log" | sed 's/^/upgrade:   /' >&2
# The N nodes take Admin API writes again within about two seconds of finish; the writer moves to them then.
new_admin="http://127.0.0.1:${admin_port[new1]}"
until [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$new_admin/consumers" -H 'Content-Type: application/json' -d '{"username": "probe-after-finish"}')" = 201 ]; do sleep 0.2; done
echo "$new_admin http://127.0.0.1:${admin_port[new2]}" >"$work/writer.control"
sleep "$settle"
phase_end

echo stop >"$work/writer.control"; wait "$writer_pid" || true
writer="$(tail -1 "$work/writer.out")"
check="$(python3 "$root/bench/upgrade_writer.py" check "$new_admin" "$work/writer.names")"
[ -s "$work/writer.err" ] && sed 's/^/upgrade: /' "$work/writer.err" >&2

# Fencing: an N-1 node no longer starts on this database.
set +e; env $(node_env old1) timeout 60 dotnet "$old_dll" start >"$work/fenced.log" 2>&1; fenced_exit=$?; set -e
if [ "$fenced_exit" = 0 ] || ! grep -q "can no longer run against it" "$work/fenced.log"; then
  cat "$work/fenced.log" >&2; echo "Error: a node of Gantry $old_version started after finish (exit $fenced_exit)" >&2; fenced="no"
else
  fenced="yes"; say "fencing: $(grep -o 'Error: .*' "$work/fenced.log" | head -c 160)..."
fi

total=0; failed=0
for phase in before up switch finish; do
  total=$((total + phase_requests[$phase])); failed=$((failed + phase_failed[$phase]))
done
json() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
writes="$(json "$writer" writes)"; write_errors="$(json "$writer" errors)"; unread="$(json "$writer" unread)"
lost="$(( $(json "$check" lost) + unread ))"
say "admin writer: $writes writes acknowledged, $write_errors refused or failed, $unread not read back; $(json "$check" checked) read back after finish, $(json "$check" lost) missing; N-1 fenced: $fenced"
echo "upgrade $old_version -> $new_version: requests $total, failed $failed, admin writes $writes, lost $lost, p99 during up ${phase_p99[up]} ms, during finish ${phase_p99[finish]} ms"
[ "$failed" = 0 ] && [ "$lost" = 0 ] && [ "$write_errors" = 0 ] && [ "$fenced" = yes ]
