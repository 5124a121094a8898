#!/usr/bin/env bash
# Builds Gantry's container image from deploy/image/Dockerfile without a registry or a container daemon,
# starts it, and checks that it serves: the way CI (tests/Gantry.Tests/Deploy/ContainerImageTests.cs) and
# anyone without Docker can prove the image works. Needs root, buildah, mmdebstrap and the .NET 10 SDK.
#
#   deploy/image/build-and-check.sh [--from-source] [--keep]
#
# 1. A base image standing in for mcr.microsoft.com/dotnet/aspnet:10.0: a minimal Debian root filesystem
#    (mmdebstrap; cached as a tarball under $GANTRY_IMAGE_CACHE, default /var/cache/gantry-image-base,
#    keyed by its package list) plus the ASP.NET Core runtime copied from this machine's dotnet.
# 2. 'dotnet publish' of src/Gantry (in a copy of the sources, so this checkout's build is left alone),
#    then 'buildah bud' with BASE_IMAGE=<that base> and GANTRY_FROM=prebuilt. With --from-source, the
#    Dockerfile's own SDK stage compiles instead (GANTRY_FROM=build), in an SDK image made the same way
#    from this machine's SDK; it restores packages from nuget.org and takes minutes longer.
# 3. Starts the image the way a container runtime does, from its own configuration (Entrypoint, Cmd, User,
#    Env, WorkingDir): its root filesystem in new PID and mount namespaces, so 'gantry start' is PID 1, with
#    a fresh directory as the prefix volume and the host's network (listeners moved to free loopback ports
#    through GANTRY_* variables). Checks /status, /status/ready, the proxy, the Admin API and the image's
#    HEALTHCHECK command run inside the container; kills it (a crash), starts it again on the same volume
#    (a stale pid file naming PID 1 must not stop it), then stops it with SIGTERM and expects exit 0.
# 4. Removes everything but the cached base tarball (--keep leaves the storage and prints where it is).
#
# The last line reads 'image check: ok, ...' with the timings; any failure prints 'Error: ...' and exits 1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
started_at=$(date +%s.%N)

keep=0
from_source=0
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    --from-source) from_source=1 ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "Error: unknown option '$arg' (usage: deploy/image/build-and-check.sh [--from-source] [--keep])" >&2; exit 2 ;;
  esac
done

fail() { echo "Error: $*" >&2; exit 1; }
step() { printf 'image: %s\n' "$*" >&2; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(id -u)" -eq 0 ] || fail "run as root: building without a daemon and starting the image need chroot and mounts"
for tool in buildah mmdebstrap unshare nsenter curl dotnet; do
  command -v "$tool" >/dev/null 2>&1 || fail "'$tool' is missing (apt-get install buildah mmdebstrap util-linux curl; the .NET 10 SDK for dotnet)"
done

# The base: what the default BASE_IMAGE provides that the image needs. libssl3 because TLS listeners
# generate a self-signed certificate; ICU is left out because Gantry runs with invariant globalization.
suite=bookworm
mirror="${GANTRY_IMAGE_MIRROR:-http://deb.debian.org/debian}"
packages="libssl3,ca-certificates,tzdata"
cache="${GANTRY_IMAGE_CACHE:-/var/cache/gantry-image-base}"
key="$(printf '%s\n' "v1" "$suite" "$mirror" "minbase" "$packages" | sha256sum | cut -c1-16)"
base_tar="$cache/base-$suite-$key.tar"

dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
aspnet_version="$(dotnet --list-runtimes | awk '$1 == "Microsoft.AspNetCore.App" && $2 ~ /^10\./ { v = $2 } END { print v }')"
netcore_version="$(dotnet --list-runtimes | awk '$1 == "Microsoft.NETCore.App" && $2 ~ /^10\./ { v = $2 } END { print v }')"
[ -n "$aspnet_version" ] && [ -n "$netcore_version" ] || fail "no .NET 10 runtime found under $dotnet_root"

work="$(mktemp -d /var/tmp/gantry-image.XXXXXX)"
storage=(--root "$work/storage" --runroot "$work/run" --storage-driver vfs)
bah() { buildah "${storage[@]}" "$@"; }
node_pid=""
containers=()
cleanup() {
  local status=$?
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -KILL "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  if [ "$keep" -eq 1 ]; then
    step "kept: buildah --root $work/storage --runroot $work/run --storage-driver vfs images"
    exit "$status"
  fi
  for c in "${containers[@]}"; do bah umount "$c" >/dev/null 2>&1 || true; bah rm "$c" >/dev/null 2>&1 || true; done
  bah rmi --all --force >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The base root filesystem, made once per package list and reused by later runs.
t=$(date +%s.%N)
mkdir -p "$cache"
(
  # Two runs at once must not both write the tarball.
  flock 9
  if [ ! -f "$base_tar" ] || [ ! -s "$base_tar" ]; then
    rm -rf "$base_tar"
    # mmdebstrap picks its output format from the name: it must end in .tar.
    partial="$cache/partial-$key.tar"
    step "making the base root filesystem ($suite minbase + ${packages//,/ }) into $base_tar"
    mmdebstrap --quiet --mode=root --variant=minbase --include="$packages" \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      "$suite" "$partial" "$mirror" >"$work/mmdebstrap.log" 2>&1 \
      || { tail -20 "$work/mmdebstrap.log" >&2; rm -f "$partial"; exit 1; }
    mv "$partial" "$base_tar"
  fi
) 9>"$cache/.lock" || fail "mmdebstrap could not make the base root filesystem (log above)"
base_rootfs_seconds=$(elapsed "$t")

t=$(date +%s.%N)
base_ctr="$(bah from scratch)"; containers+=("$base_ctr")
bah add "$base_ctr" "$base_tar" / >/dev/null
base_mnt="$(bah mount "$base_ctr")"
# Laid out as in Microsoft's runtime images: /usr/share/dotnet, with /usr/bin/dotnet pointing into it.
mkdir -p "$base_mnt/usr/share/dotnet/shared"
cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$base_mnt/usr/share/dotnet/"
mkdir -p "$base_mnt/usr/share/dotnet/shared/Microsoft.NETCore.App" "$base_mnt/usr/share/dotnet/shared/Microsoft.AspNetCore.App"
cp -a "$dotnet_root/shared/Microsoft.NETCore.App/$netcore_version" "$base_mnt/usr/share/dotnet/shared/Microsoft.NETCore.App/"
cp -a "$dotnet_root/shared/Microsoft.AspNetCore.App/$aspnet_version" "$base_mnt/usr/share/dotnet/shared/Microsoft.AspNetCore.App/"
ln -sf /usr/share/dotnet/dotnet "$base_mnt/usr/bin/dotnet"
bah umount "$base_ctr" >/dev/null
bah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env DOTNET_RUNNING_IN_CONTAINER=true --env DOTNET_VERSION="$netcore_version" \
  --env ASPNET_VERSION="$aspnet_version" "$base_ctr"
bah commit --quiet "$base_ctr" localhost/gantry-base:local >/dev/null
bah rm "$base_ctr" >/dev/null; containers=()
base_import_seconds=$(elapsed "$t")

# 2. Publish the program and build the image from the one Dockerfile, with the prebuilt program (or, with
# --from-source, compiled by the Dockerfile's SDK stage).
t=$(date +%s.%N)
if [ "$from_source" -eq 1 ]; then
  step "making an SDK image from this machine's .NET SDK"
  sdk_ctr="$(bah from --pull=false localhost/gantry-base:local)"; containers+=("$sdk_ctr")
  sdk_mnt="$(bah mount "$sdk_ctr")"
  cp -a "$dotnet_root/." "$sdk_mnt/usr/share/dotnet/"
  # Restoring reaches nuget.org as this machine does, through whatever TLS authorities it trusts (a
  # company proxy's, say). Only the build stage gets them; the image does not.
  cp /etc/ssl/certs/ca-certificates.crt "$sdk_mnt/etc/ssl/certs/ca-certificates.crt"
  bah umount "$sdk_ctr" >/dev/null
  # The base has no ICU (Gantry runs without it); the SDK needs either ICU or invariant mode.
  bah config --env DOTNET_NOLOGO=1 --env DOTNET_CLI_TELEMETRY_OPTOUT=1 --env DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 "$sdk_ctr"
  bah commit --quiet "$sdk_ctr" localhost/gantry-sdk:local >/dev/null
  bah rm "$sdk_ctr" >/dev/null; containers=()
  program_args=(--build-arg SDK_IMAGE=localhost/gantry-sdk:local --build-arg GANTRY_FROM=build)
  program_label="sdk image"
else
  step "publishing src/Gantry (Release)"
  mkdir -p "$work/src/src"
  cp "$root/Directory.Build.props" "$work/src/"
  cp -r "$root/src/Gantry" "$work/src/src/"
  rm -rf "$work/src/src/Gantry/bin" "$work/src/src/Gantry/obj"
  dotnet publish "$work/src/src/Gantry/Gantry.csproj" -c Release -o "$work/publish" --nologo -v quiet \
    >"$work/publish.log" 2>&1 || { grep -E 'error' "$work/publish.log" | sort -u >&2; fail "dotnet publish failed"; }
  program_args=(--build-arg GANTRY_FROM=prebuilt)
  program_label="publish"
fi
publish_seconds=$(elapsed "$t")

t=$(date +%s.%N)
step "building the image (buildah bud, BASE_IMAGE=localhost/gantry-base:local ${program_args[*]})"
mkdir -p "$root/.build/image"
(
  # The build context is the checkout; two checks in one checkout must not swap each other's program.
  flock 9
  rm -rf "$root/.build/image/publish"
  [ "$from_source" -eq 1 ] || cp -a "$work/publish" "$root/.build/image/publish"
  # --format docker: the OCI format has no HEALTHCHECK.
  bah bud --quiet --format docker --isolation chroot --pull=false \
    --build-arg BASE_IMAGE=localhost/gantry-base:local "${program_args[@]}" \
    -f "$root/deploy/image/Dockerfile" -t localhost/gantry:check "$root" >"$work/bud.log" 2>&1
  status=$?
  rm -rf "$root/.build/image/publish"
  exit $status
) 9>"$root/.build/image/.lock" || { tail -30 "$work/bud.log" >&2; fail "buildah bud failed (log above)"; }
build_seconds=$(elapsed "$t")
image_size="$(bah images --format '{{.Size}}' localhost/gantry:check)"

# The image's own configuration, as a runtime reads it.
bah inspect --type image localhost/gantry:check >"$work/image.json"
inspect() { python3 -c 'import json,sys; c = json.load(open(sys.argv[1]))["Docker"]["config"]; print(eval(sys.argv[2]))' "$work/image.json" "$1"; }
entrypoint="$(inspect 'json.dumps(c.get("Entrypoint"), separators=(",", ":"))')"
cmd="$(inspect 'json.dumps(c.get("Cmd"), separators=(",", ":"))')"
user="$(inspect 'c.get("User", "")')"
workdir="$(inspect 'c.get("WorkingDir", "")')"
healthcheck="$(inspect 'json.dumps((c.get("Healthcheck") or {}).get("Test"), separators=(",", ":"))')"
volumes="$(inspect 'json.dumps(sorted(c.get("Volumes") or {}))')"
ports="$(inspect 'json.dumps(sorted(c.get("ExposedPorts") or {}))')"
mapfile -t image_env < <(inspect '"\n".join(c.get("Env") or [])')
step "its configuration: entrypoint $entrypoint, cmd $cmd, user $user, workdir $workdir, healthcheck $healthcheck, volumes $volumes, ports $ports"
[ "$entrypoint" = '["gantry"]' ] || fail "the image's entrypoint is $entrypoint, expected [\"gantry\"]"
[ "$cmd" = '["start"]' ] || fail "the image's command is $cmd, expected [\"start\"]"
[ "$healthcheck" = '["CMD","gantry","health"]' ] || fail "the image's health check is $healthcheck, expected gantry health"
[[ "$volumes" == *'"/usr/local/gantry"'* ]] || fail "the prefix /usr/local/gantry is not a volume: $volumes"
uid="${user%%:*}"; gid="${user#*:}"
[[ "$uid" =~ ^[0-9]+$ ]] && [ "$uid" -ne 0 ] || fail "the image runs as '$user', expected a numeric non-root user"
for p in 8000/tcp 8001/tcp 8007/tcp 8443/tcp 8444/tcp; do [[ "$ports" == *"\"$p\""* ]] || fail "the image does not expose $p: $ports"; done
json_words() { python3 -c 'import json,sys; print("\n".join(json.loads(sys.argv[1]) or []))' "$1"; }
mapfile -t argv < <(json_words "$entrypoint"; json_words "$cmd")

# 3. Start it. Host network: listeners go to free loopback ports, as '-e GANTRY_*_LISTEN=...' would.
ctr="$(bah from --pull=false localhost/gantry:check)"; containers+=("$ctr")
mnt="$(bah mount "$ctr")"
volume="$work/volume"
# A new volume starts as a copy of the image's directory, owner included (as Docker's named volumes do).
cp -a "$mnt/usr/local/gantry" "$volume"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
proxy_port=$(free_port); proxy_tls_port=$(free_port); admin_port=$(free_port); status_port=$(free_port)
run_env=("${image_env[@]}"
  "HOME=/usr/local/gantry" "HOSTNAME=gantry-check"
  "GANTRY_PROXY_LISTEN=127.0.0.1:$proxy_port, 127.0.0.1:$proxy_tls_port http2 ssl"
  "GANTRY_ADMIN_LISTEN=127.0.0.1:$admin_port"
  "GANTRY_STATUS_LISTEN=127.0.0.1:$status_port")

start_container() {
  # New PID and mount namespaces: the entrypoint is PID 1, and /proc, /dev, /tmp and the volume are
  # mounted for it alone; they vanish with it.
  setsid unshare --pid --fork --mount --propagation private -- /bin/sh -c '
    set -e; mnt="$1"; volume="$2"; shift 2
    mount -t proc proc "$mnt/proc"
    mount --rbind /dev "$mnt/dev"
    mount -t tmpfs -o mode=1777 tmpfs "$mnt/tmp"
    mount --bind "$volume" "$mnt/usr/local/gantry"
    exec "$@"' container "$mnt" "$volume" \
    chroot --userspec="$uid:$gid" "$mnt" /usr/bin/env -i -C "$workdir" "${run_env[@]}" "${argv[@]}" \
    >>"$work/container.log" 2>&1 &
  node_pid=$!
}
# The host's pid of the container's PID 1 (the child unshare forked).
init_pid() {
  local child=""
  for _ in $(seq 1 100); do
    child="$(cat /proc/"$node_pid"/task/"$node_pid"/children 2>/dev/null | awk '{print $1}')"
    [ -n "$child" ] && { echo "$child"; return; }
    sleep 0.05
  done
  fail "the container's first process did not appear"
}
# Like 'docker exec': a command in the container's namespaces and root, as its user, with its environment.
container_exec() {
  nsenter --target "$(init_pid)" --pid --mount -- \
    chroot --userspec="$uid:$gid" "$mnt" /usr/bin/env -i -C "$workdir" "${run_env[@]}" "$@"
}
wait_status() {
  for _ in $(seq 1 600); do
    kill -0 "$node_pid" 2>/dev/null || { tail -30 "$work/container.log" >&2; fail "the container exited before serving /status"; }
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$status_port/status")" = 200 ] && return
    sleep 0.1
  done
  tail -30 "$work/container.log" >&2
  fail "the container did not answer /status on 127.0.0.1:$status_port within 60 s"
}
expect_http() { # what url expected-code
  local code
  code="$(curl -s -o "$work/body" -w '%{http_code}' "$2")"
  [ "$code" = "$3" ] || { cat "$work/body" >&2 2>/dev/null; fail "$1 answered $code, expected $3 ($2)"; }
}
stop_container() { # signal expected-exit
  local status=0
  kill "-$1" "$(init_pid)"
  for _ in $(seq 1 300); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$node_pid" 2>/dev/null && fail "the container did not exit within 30 s of SIG$1"
  wait "$node_pid" || status=$?
  node_pid=""
  [ -z "$2" ] || [ "$status" = "$2" ] || { tail -30 "$work/container.log" >&2; fail "the container exited with $status after SIG$1, expected $2"; }
}

t=$(date +%s.%N)
step "starting the image: ${argv[*]} as $user (status on 127.0.0.1:$status_port)"
start_container
wait_status
start_seconds=$(elapsed "$t")
expect_http "/status/ready" "http://127.0.0.1:$status_port/status/ready" 200
expect_http "the proxy (no route yet)" "http://127.0.0.1:$proxy_port/" 404
expect_http "the Admin API" "http://127.0.0.1:$admin_port/" 200
node_id="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["node_id"])' "$work/body")"
mapfile -t health_argv < <(json_words "$healthcheck" | sed 1d)
health="$(container_exec "${health_argv[@]}" 2>&1)" \
  || fail "the health check failed inside the container: $health"
[[ "$health" == "Gantry is healthy at /usr/local/gantry (pid 1)" ]] || fail "unexpected health report: $health"
version="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["gantry_version"])' "$work/body")"
step "it serves: /status 200, /status/ready 200, proxy 404 (no route), Admin API 200 (Gantry $version, node $node_id); health check: $health"
owner="$(stat -c '%u' "$volume/gantry.db" 2>/dev/null || true)"
[ "$owner" = "$uid" ] || fail "the SQLite file in the volume belongs to uid '$owner', expected $uid"

step "killing it (a crash) and starting it again on the same volume"
stop_container KILL ""
[ -s "$volume/pids/gantry.pid" ] || fail "a killed node left no pid file, so the restart below tests nothing"
t=$(date +%s.%N)
start_container
wait_status
restart_seconds=$(elapsed "$t")
expect_http "the Admin API after a restart" "http://127.0.0.1:$admin_port/" 200
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["node_id"])' "$work/body")" = "$node_id" ] \
  || fail "the node id changed across a restart on the same volume"
health="$(container_exec "${health_argv[@]}" 2>&1)" || fail "the health check failed after the restart: $health"
step "it serves again with the same node id; health check: $health"

step "stopping it with SIGTERM"
stop_container TERM 0
[ ! -e "$volume/pids/gantry.pid" ] || fail "the node left its pid file after a SIGTERM stop"

echo "image check: ok, image $image_size, base rootfs ${base_rootfs_seconds}s, base import ${base_import_seconds}s, $program_label ${publish_seconds}s, build ${build_seconds}s, first start ${start_seconds}s, restart ${restart_seconds}s, total $(elapsed "$started_at")s"
