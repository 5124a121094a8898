#!/usr/bin/env python3
"""Hybrid mode: a control plane on PostgreSQL and its data planes, on loopback.

1. Initial sync. The control plane's database gets (through 'config db_import') --routes routes over
   routes / 4 services, each service with a key-auth and a rate-limiting (local) plugin, and --consumers
   consumers with a key-auth credential each. A data plane starts with an empty prefix: time from its
   start to serving the control plane's hash, bytes it received (compressed, from its /status), and its
   peak resident memory (VmHWM).
2. Propagation. A second data plane joins; then --changes times a new route is created on the control
   plane's Admin API and both data planes are polled (every 5 ms) until the route answers 200 through
   them: p50 / p99 / max from the Admin API's answer to the route serving, and the bytes of each delta.
3. Fan-out. --clients light simulated data planes (this script: TLS with the cluster certificate, the
   WebSocket handshake, hello, counting what arrives without applying it) connect at once with an empty
   configuration: time until every one has the whole configuration, and the control plane's memory; then
   one route change: time until every one has the delta (p50 / p99 / max).

Not a test:
    bench/hybrid.py [--routes 10000] [--consumers 100000] [--changes 50] [--clients 200] [--keep]
--changes 0 skips the propagation, --clients 0 the fan-out; BENCH_DP_LOG_LEVEL=debug logs the data planes'
memory at each step of a load (in their node.log, kept with --keep). After the initial sync the first data
plane is restarted with its control plane unreachable, to time its start from the cache.
Needs nginx (the upstream) and PostgreSQL's binaries (apt-get install nginx postgresql).
"""
import argparse, asyncio, base64, json, os, random, shutil, ssl, statistics, struct, subprocess, sys, tempfile, time, urllib.error, urllib.request, uuid, zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GANTRY = os.path.join(ROOT, "bin", "gantry")


from common import free_port, load_sibling  # noqa: E402


admin_bench = load_sibling("admin-api")
proxy_bench = load_sibling("proxy")


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def status_code(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def document(routes, consumers, upstream_port):
    """JSON, 3.0: services of 4 routes with key-auth and rate-limiting each, consumers with a key each."""
    services = []
    for i in range(max(1, routes // 4)):
        services.append({
            "name": f"s{i}", "url": f"http://127.0.0.1:{upstream_port}/",
            "routes": [{"name": f"s{i}-r{j}", "paths": [f"/s{i}/r{j}"]} for j in range(4)],
            "plugins": [{"name": "key-auth"}, {"name": "rate-limiting", "config": {"minute": 100000, "policy": "local"}}],
        })
    services.append({"name": "open", "url": f"http://127.0.0.1:{upstream_port}/", "routes": [{"name": "open", "paths": ["/open"]}]})
    people = [{"username": f"c{i}", "keyauth_credentials": [{"key": f"key-{i}"}]} for i in range(consumers)]
    return {"_format_version": "3.0", "services": services, "consumers": people}


class Node:
    """A Gantry process with its own prefix, ports and log."""

    def __init__(self, work, name, env):
        self.prefix = os.path.join(work, name)
        os.makedirs(self.prefix, exist_ok=True)
        self.proxy_port, self.admin_port, self.status_port = free_port(), free_port(), free_port()
        self.env = dict(os.environ, GANTRY_PREFIX=self.prefix, GANTRY_PROXY_LISTEN=f"127.0.0.1:{self.proxy_port}",
                        GANTRY_ADMIN_LISTEN=f"127.0.0.1:{self.admin_port}", GANTRY_STATUS_LISTEN=f"127.0.0.1:{self.status_port}",
                        GANTRY_LOG_LEVEL="info", **env)
        self.admin = f"http://127.0.0.1:{self.admin_port}"
        self.proxy = f"http://127.0.0.1:{self.proxy_port}"
        self.process = None

    def run(self, *args):
        result = subprocess.run([GANTRY, *args], env=self.env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"Error: gantry {' '.join(args)} failed: {result.stdout[-500:]}{result.stderr[-1500:]}")
        return result

    def start(self):
        self.log = open(os.path.join(self.prefix, "node.log"), "w")
        self.started = time.perf_counter()
        self.process = subprocess.Popen([GANTRY, "start"], env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def status(self):
        return get_json(self.admin + "/status")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process:
            self.log.close()


def wait_for(check, what, timeout=600, every=0.05):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            if check():
                return time.perf_counter()
        except (OSError, KeyError, ValueError):
            pass
        time.sleep(every)
    sys.exit(f"Error: {what} did not happen within {timeout} s")


# ---- light simulated data planes ----

class LightClient:
    """One simulated data plane: reads messages, decompresses only their first bytes to learn their type."""

    def __init__(self, index, host, port, tls, version, plugins, config_hash):
        self.index, self.host, self.port, self.tls = index, host, port, tls
        self.version, self.plugins, self.config_hash = version, plugins, config_hash
        self.full_parts, self.full_done_at, self.deltas, self.bytes = 0, None, [], 0
        self.error = None

    async def run(self, stop):
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port, ssl=self.tls, server_hostname="kong_clustering")
            key = base64.b64encode(os.urandom(16)).decode()
            node = uuid.uuid4()
            writer.write((f"GET /v1/gantry/sync?node_id={node}&node_hostname=sim-{self.index}&node_version={self.version} HTTP/1.1\r\n"
                          f"Host: {self.host}:{self.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
            head = await reader.readuntil(b"\r\n\r\n")
            if b" 101 " not in head.split(b"\r\n")[0]:
                raise RuntimeError(head.split(b"\r\n")[0].decode())
            hello = {"type": "hello", "node_id": str(node), "hostname": f"sim-{self.index}", "version": self.version,
                     "plugins": self.plugins, "labels": {}, "config_hash": self.config_hash}
            self.send(writer, hello)
            self.send(writer, {"type": "ping", "config_hash": self.config_hash})
            await writer.drain()

            async def keep_alive():  # a data plane pings every 30 s; the control plane drops a link silent for 45 s
                while not stop.is_set():
                    await asyncio.sleep(20)
                    self.send(writer, {"type": "ping", "config_hash": self.config_hash})
                    await writer.drain()

            pinger = asyncio.create_task(keep_alive())
            while not stop.is_set():
                opcode, payload = await self.frame(reader)
                if opcode == 0x9:
                    self.send_frame(writer, 0xA, payload)
                    continue
                if opcode == 0x8:
                    return
                if opcode != 0x2:
                    continue
                self.bytes += len(payload)
                header = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(payload, 256).decode("utf-8", "replace")
                if header.startswith('{"type":"full"'):
                    self.full_parts += 1
                    parts = int(header.split('"parts":')[1].split(",")[0].split("}")[0])
                    if self.full_parts >= parts:
                        self.full_done_at = time.perf_counter()
                elif header.startswith('{"type":"delta"'):
                    self.deltas.append(time.perf_counter())
        except Exception as error:  # a bench: every failure is reported, none stops the others
            if not stop.is_set():
                self.error = f"{type(error).__name__}: {error}"

    @staticmethod
    async def frame(reader):
        message, opcode = b"", None
        while True:
            first, second = await reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", await reader.readexactly(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", await reader.readexactly(8))[0]
            payload = await reader.readexactly(length)
            if opcode is None:
                opcode = first & 0x0F
            message += payload
            if first & 0x80:
                return opcode, message

    def send(self, writer, message):
        self.send_frame(writer, 0x2, zlib.compress(json.dumps(message).encode(), wbits=16 + zlib.MAX_WBITS))

    @staticmethod
    def send_frame(writer, opcode, payload):
        mask = os.urandom(4)
        length = len(payload)
        head = bytes([0x80 | opcode])
        if length < 126:
            head += bytes([0x80 | length])
        elif length < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", length)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", length)
        writer.write(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


async def fan_out(cp, clients, cert, key, upstream_port):
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE  # a bench client; the data plane's own checks are tested in the suite
    tls.load_cert_chain(cert, key)
    root = get_json(cp.admin + "/")
    version = root["gantry_version"]
    plugins = [{"name": name, "version": info["version"]} for name, info in root["plugins"]["available_on_server"].items()]
    cluster_port = int(cp.env["GANTRY_CLUSTER_LISTEN"].rsplit(":", 1)[1])
    stop = asyncio.Event()
    sims = [LightClient(i, "127.0.0.1", cluster_port, tls, version, plugins, "0" * 32) for i in range(clients)]
    rss_before = rss_mb(cp.process.pid)
    started = time.perf_counter()
    tasks = [asyncio.create_task(sim.run(stop)) for sim in sims]
    deadline = started + 900
    while time.perf_counter() < deadline and not all(s.full_done_at or s.error for s in sims):
        await asyncio.sleep(0.05)
    synced = [s.full_done_at - started for s in sims if s.full_done_at]
    errors = [s.error for s in sims if s.error]
    rss_synced, peak = rss_mb(cp.process.pid), peak_rss_mb(cp.process.pid)
    print(f"fan-out: {len(synced)} of {clients} simulated data planes had the whole configuration in {max(synced) if synced else float('nan'):.2f} s "
          f"(p50 {percentile(synced, 50) if synced else float('nan'):.2f} s), {sum(s.bytes for s in sims) / 1e6:.1f} MB sent; control plane RSS "
          f"{rss_before:.0f} MB before, {rss_synced:.0f} MB after, peak {peak:.0f} MB; errors {len(errors)} {errors[:3]}", flush=True)
    await asyncio.sleep(1)
    before = [len(s.deltas) for s in sims]
    status, _ = proxy_bench.http("POST", cp.admin + "/services/open/routes", {"name": "fan-out-probe", "paths": ["/fan-out-probe"]})
    if status != 201:
        sys.exit(f"Error: creating the probe route answered {status}")
    written = time.perf_counter()
    while time.perf_counter() < written + 30 and not all(len(s.deltas) > b or s.error for s, b in zip(sims, before)):
        await asyncio.sleep(0.005)
    pushed = [(s.deltas[b] - written) * 1000 for s, b in zip(sims, before) if len(s.deltas) > b]
    print(f"fan-out: one route change reached {len(pushed)} of {clients} in p50 {percentile(pushed, 50):.0f} ms, p99 {percentile(pushed, 99):.0f} ms, "
          f"max {max(pushed):.0f} ms; control plane RSS {rss_mb(cp.process.pid):.0f} MB", flush=True)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return len(synced), max(synced) if synced else None, peak, percentile(pushed, 50), percentile(pushed, 99), max(pushed)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--routes", type=int, default=10000)
    parser.add_argument("--consumers", type=int, default=100000)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    if not shutil.which("nginx"):
        sys.exit("Error: nginx is not installed (apt-get install nginx)")
    subprocess.run([GANTRY, "version"], check=True, capture_output=True)  # builds once, before anything is timed
    work = tempfile.mkdtemp(prefix="gantry-bench-hybrid-")
    pg_work = tempfile.mkdtemp(prefix="gantry-bench-hybrid-pg-")
    pg_port, stop_pg = admin_bench.start_postgres(pg_work)
    upstream_port = free_port()
    conf = os.path.join(work, "upstream-nginx.conf")
    with open(conf, "w") as f:
        f.write(f"worker_processes 1; daemon on; pid {work}/upstream.pid; error_log {work}/upstream-error.log warn;\n"
                f"events {{ worker_connections 4096; }}\nhttp {{ access_log off; keepalive_requests 1000000;\n"
                f"  server {{ listen 127.0.0.1:{upstream_port}; location / {{ return 200 \"hello world\\n\"; }} }} }}\n")
    subprocess.run(["nginx", "-c", conf], check=True)
    nodes = []
    try:
        cert, key = os.path.join(work, "cluster.crt"), os.path.join(work, "cluster.key")
        subprocess.run([GANTRY, "hybrid", "gen_cert", cert, key], check=True, capture_output=True)
        hybrid = {"GANTRY_CLUSTER_CERT": cert, "GANTRY_CLUSTER_CERT_KEY": key}
        cluster = f"127.0.0.1:{free_port()}"
        cp = Node(work, "cp", dict(hybrid, GANTRY_ROLE="control_plane", GANTRY_DATABASE="postgres", GANTRY_PG_HOST="127.0.0.1",
                                   GANTRY_PG_PORT=str(pg_port), GANTRY_PG_USER="gantry", GANTRY_PG_DATABASE="gantry", GANTRY_CLUSTER_LISTEN=cluster,
                                   GANTRY_DB_UPDATE_FREQUENCY="1"))
        nodes.append(cp)
        cp.run("migrations", "bootstrap")
        path = os.path.join(work, "config.json")
        with open(path, "w") as f:
            json.dump(document(args.routes, args.consumers, upstream_port), f)
        started = time.perf_counter()
        cp.run("config", "db_import", path)
        print(f"setup: db_import of {args.routes} routes and {args.consumers} consumers with credentials: {time.perf_counter() - started:.1f} s", flush=True)
        cp.start()
        ready = wait_for(lambda: cp.status()["clustering"]["config_hash"] != "0" * 32, "the control plane's start")
        cp_hash = cp.status()["clustering"]["config_hash"]
        print(f"control plane: serving hash {cp_hash} {ready - cp.started:.1f} s after its start, RSS {rss_mb(cp.process.pid):.0f} MB", flush=True)

        def data_plane(name):
            node = Node(work, name, dict(hybrid, GANTRY_ROLE="data_plane", GANTRY_DATABASE="off", GANTRY_CLUSTER_CONTROL_PLANE=cluster))
            # debug shows where a data plane's memory goes while it loads (MemoryTrace)
            node.env["GANTRY_LOG_LEVEL"] = os.environ.get("BENCH_DP_LOG_LEVEL", "info")
            return node

        # ---- 1. initial sync ----
        dp1 = data_plane("dp1").start()
        nodes.append(dp1)
        synced = wait_for(lambda: dp1.status().get("configuration_hash") == cp_hash, "the first data plane's sync")
        link = dp1.status()["control_plane"]
        print(f"initial sync: {args.routes} routes, {args.consumers} consumers: {synced - dp1.started:.2f} s from the data plane's start, "
              f"{link['bytes_received'] / 1e6:.1f} MB received, data plane peak RSS {peak_rss_mb(dp1.process.pid):.0f} MB "
              f"(now {rss_mb(dp1.process.pid):.0f} MB)", flush=True)
        wait_for(lambda: status_code(dp1.proxy + "/open") == 200, "the open route on the first data plane")

        # ---- 1b. start from the cache, the control plane unreachable ----
        dp1.stop()
        dp1.env["GANTRY_CLUSTER_CONTROL_PLANE"] = f"127.0.0.1:{free_port()}"
        dp1.start()
        cached = wait_for(lambda: dp1.status().get("configuration_hash") == cp_hash, "the first data plane's start from its cache")
        print(f"start from the cache: {cached - dp1.started:.2f} s from the data plane's start, peak RSS {peak_rss_mb(dp1.process.pid):.0f} MB "
              f"(now {rss_mb(dp1.process.pid):.0f} MB)", flush=True)
        dp1.stop()
        dp1.env["GANTRY_CLUSTER_CONTROL_PLANE"] = cluster
        dp1.start()
        wait_for(lambda: dp1.status().get("configuration_hash") == cp_hash and dp1.status()["control_plane"]["connected"], "the first data plane's reconnection")

        # ---- 2. propagation to two data planes ----
        if args.changes > 0:
            propagation(args.changes, cp, dp1, data_plane("dp2"), nodes, cp_hash)
        dp1.stop()

        # ---- 3. fan-out to simulated data planes ----
        if args.clients > 0:
            asyncio.run(fan_out(cp, args.clients, cert, key, upstream_port))
    finally:
        for node in nodes:
            node.stop()
        subprocess.run(["nginx", "-c", conf, "-s", "stop"], capture_output=True)
        stop_pg()
        shutil.rmtree(pg_work, ignore_errors=True)
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def propagation(changes, cp, dp1, dp2, nodes, cp_hash):
    """Route creations on the control plane, each timed until both data planes serve it."""
    dp2.start()
    nodes.append(dp2)
    wait_for(lambda: dp2.status().get("configuration_hash") == cp_hash, "the second data plane's sync")
    wait_for(lambda: status_code(dp2.proxy + "/open") == 200, "the open route on the second data plane")
    latencies, sizes = [], []
    for i in range(changes):
        before = dp1.status()["control_plane"]["bytes_received"]
        # Paths are prefixes: /probe-1 would already serve /probe-10, so each ends with a dash.
        status, _ = proxy_bench.http("POST", cp.admin + "/services/open/routes", {"name": f"probe-{i}", "paths": [f"/probe-{i}-"]})
        if status != 201:
            sys.exit(f"Error: creating probe route {i} answered {status}")
        written = time.perf_counter()
        for dp in (dp1, dp2):
            latencies.append((wait_for(lambda: status_code(f"{dp.proxy}/probe-{i}-") == 200, f"probe {i} on {dp.prefix}", timeout=30, every=0.005) - written) * 1000)
        sizes.append(dp1.status()["control_plane"]["bytes_received"] - before)
        if os.environ.get("BENCH_VERBOSE"):
            print(f"  change {i}: {latencies[-2]:.0f} ms, {latencies[-1]:.0f} ms, {sizes[-1]} bytes", flush=True)
        time.sleep(0.1)
    print(f"propagation: {changes} route creations to 2 data planes: p50 {percentile(latencies, 50):.0f} ms, p99 {percentile(latencies, 99):.0f} ms, "
          f"max {max(latencies):.0f} ms; {statistics.median(sizes):.0f} bytes received per change (median, delta and pings)", flush=True)
    for dp in (dp1, dp2):
        dp.stop()


if __name__ == "__main__":
    main()
