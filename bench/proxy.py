#!/usr/bin/env python3
"""Proxy benchmark: Gantry beside the shared anchors, interleaved in one run.

Targets (each a process on loopback):
  direct   the anchor upstream (nginx answering 12 bytes), no proxy
  kestrel  bare Kestrel answering the same body: the ceiling of anything hosted on Kestrel
  nginx    nginx as a plain keep-alive reverse proxy in front of the upstream (reference, 1.00)
  yarp     the minimal YARP proxy in front of the upstream
  lean     bench/lean-proxy: the least a Kestrel-hosted HTTP/1.1 proxy does per request (a floor for Gantry on Kestrel)
  epoll    bench/epoll-proxy: the least a C# proxy does when it owns its sockets (epoll loops, no Kestrel, no
           runtime socket engine): the floor for C# on .NET itself
  gantry-a Gantry, one route, no plugins
  gantry-b Gantry, one route with key-auth and rate-limiting (limits never reached)
  gantry-ay, gantry-by  a and b on a node with proxy_forwarder = yarp (YARP's forwarder for every upstream)
  gantry-ar, gantry-br  a and b on a node with proxy_io = runtime (.NET's socket engine, requests inline on its
           threads; by default Gantry's own epoll loops serve the proxy)
  gantry-ap, gantry-bp  a and b on a node with proxy_io = runtime and proxy_inline_io = off (requests handed to
           the thread pool)
  gantry-d key-auth and rate-limiting with policy redis (a redis-server on loopback; limits never reached);
           its CPU column includes redis-server's
  gantry-d1 the same with sync_rate = 1 (counts kept in memory, added to Redis once a second)
  gantry-e request-transformer and response-transformer (headers and query added, renamed, removed)
  gantry-f proxy-cache, every measured request a hit (memory strategy)
  gantry-g http-log to a loopback collector (the anchor upstream's nginx answers its batches)
  gantry-c1 the same 10,000-route node, every request on one of its routes (separates size from spread)
  gantry-c Gantry with 10,000 generated routes, each request on a random one of them
  gantry-x1 a node with router_flavor = expressions and 10,000 expression routes (http.path ^= "/r<i>/"), every
           request on one of them
  gantry-x the same node, each request on a random one of them (compare with gantry-c, the same routes as paths)

After a warm-up of each target (--warmup, 10 s: the .NET targets' tiered JIT settles in about that), every round runs wrk (-t1 -c32 --latency) once per target, in turn; the table gives medians over
rounds of requests/s, p50 and p99 latency, CPU time of the target's processes per request
(user + system, from /proc) and their resident memory at the end. Needs nginx and wrk
(apt-get install nginx wrk redis-server).

usage: bench/proxy.py [--rounds 3] [--seconds 5] [--warmup 10] [--routes 10000] [--only gantry-x,gantry-c]
  --only measures the listed targets alone and starts only what they need (the anchor upstream always),
  for a quick look at one case; the ratio columns are left empty when their reference is not measured.
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKS = os.sysconf("SC_CLK_TCK")


def shared_dir():
    for candidate in (os.environ.get("GANTRY_SHARED_DIR"), os.path.join(os.path.dirname(ROOT), "shared"), "/work/shared"):
        if candidate and os.path.isdir(os.path.join(candidate, "bench")):
            return candidate
    sys.exit("Error: cannot find the shared folder with bench/anchors; set GANTRY_SHARED_DIR")


def http(method, url, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_until(check, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"Error: {what} did not happen within {timeout} s")


def tree(pid):
    """The pid and its descendants (nginx workers, a daemon's children)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    result, todo = [], [pid]
    while todo:
        p = todo.pop()
        result.append(p)
        todo.extend(children.get(p, []))
    return result


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total / TICKS


def rss_mb(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def run_wrk(url, seconds, script=None, header=None):
    command = ["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", script]
    if header:
        command += ["-H", header]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        sys.exit(f"Error: {url} answered {non2xx.group(1)} requests with an error status; the benchmark would be meaningless")
    return requests, rps, p50, p99


class Gantry:
    def __init__(self, work, name, base_port, log_level="notice", **settings):
        self.prefix = os.path.join(work, name)
        self.proxy = f"127.0.0.1:{base_port}"
        self.admin = f"http://127.0.0.1:{base_port + 1}"
        self.env = dict(os.environ, GANTRY_PREFIX=self.prefix, GANTRY_DATABASE="sqlite", GANTRY_PROXY_LISTEN=self.proxy,
                        GANTRY_ADMIN_LISTEN=self.admin[7:], GANTRY_STATUS_LISTEN=f"127.0.0.1:{base_port + 2}",
                        GANTRY_LOG_LEVEL=log_level, GANTRY_DB_UPDATE_FREQUENCY="0.5", **settings)
        subprocess.run([os.path.join(ROOT, "bin", "gantry"), "start", "--daemon"], env=self.env, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(self.prefix, "pids", "gantry.pid")) as f:
            self.pid = int(f.read().strip())

    def post(self, path, body):
        status, answer = http("POST", self.admin + path, body)
        if status != 201:
            sys.exit(f"Error: POST {path} answered {status}: {answer[:300]!r}")
        return json.loads(answer)

    def stop(self):
        subprocess.run([os.path.join(ROOT, "bin", "gantry"), "stop"], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def plain_and_guarded(node):
    """Cases a and b on a node: /a without plugins, /b behind key-auth and rate-limiting (limits never reached)."""
    node.post("/services", {"name": "up", "url": "http://127.0.0.1:18080"})
    node.post("/services/up/routes", {"name": "plain", "paths": ["/a"]})
    b_route = node.post("/services/up/routes", {"name": "guarded", "paths": ["/b"]})
    node.post("/consumers", {"username": "bench"})
    node.post("/consumers/bench/key-auth", {"key": "bench-key"})
    node.post(f"/routes/{b_route['id']}/plugins", {"name": "key-auth"})
    node.post(f"/routes/{b_route['id']}/plugins", {"name": "rate-limiting", "config": {"second": 1000000000, "limit_by": "consumer"}})


def stop_all(nodes, processes, work):
    """Stops the Gantry nodes, the other processes and both nginx anchors, and removes the work folder."""
    for node in nodes:
        node.stop()
    for process in processes:
        process.terminate()
    for pid_file in ("/tmp/anchor-upstream.pid", "/tmp/anchor-proxy.pid"):
        try:
            with open(pid_file) as f:
                os.kill(int(f.read()), 15)
        except (OSError, ValueError):
            pass
    shutil.rmtree(work, ignore_errors=True)


def setup_node_a(work, nodes):
    """Node A: cases a and b, and one route per plugin case."""
    a = Gantry(work, "gantry-a", 18090)
    nodes.append(a)
    plain_and_guarded(a)
    d_route = a.post("/services/up/routes", {"name": "shared-limit", "paths": ["/d"]})
    a.post(f"/routes/{d_route['id']}/plugins", {"name": "key-auth"})
    a.post(f"/routes/{d_route['id']}/plugins", {"name": "rate-limiting", "config": {
        "second": 1000000000, "limit_by": "consumer", "policy": "redis", "redis": {"host": "127.0.0.1", "port": 18096}}})
    d1_route = a.post("/services/up/routes", {"name": "synced-limit", "paths": ["/d1"]})
    a.post(f"/routes/{d1_route['id']}/plugins", {"name": "key-auth"})
    a.post(f"/routes/{d1_route['id']}/plugins", {"name": "rate-limiting", "config": {
        "second": 1000000000, "limit_by": "consumer", "policy": "redis", "sync_rate": 1, "redis": {"host": "127.0.0.1", "port": 18096}}})
    e_route = a.post("/services/up/routes", {"name": "transformed", "paths": ["/e"]})
    a.post(f"/routes/{e_route['id']}/plugins", {"name": "request-transformer", "config": {
        "remove": {"headers": ["x-drop"]}, "rename": {"headers": ["x-old:x-new"]},
        "add": {"headers": ["x-added:1"], "querystring": ["q:1"]}}})
    a.post(f"/routes/{e_route['id']}/plugins", {"name": "response-transformer", "config": {
        "remove": {"headers": ["server"]}, "add": {"headers": ["x-served-by:gantry"]}}})
    f_route = a.post("/services/up/routes", {"name": "cached", "paths": ["/f"]})
    a.post(f"/routes/{f_route['id']}/plugins", {"name": "proxy-cache", "config": {
        "strategy": "memory", "content_type": ["text/plain"], "cache_ttl": 3600}})
    g_route = a.post("/services/up/routes", {"name": "logged", "paths": ["/g"]})
    a.post(f"/routes/{g_route['id']}/plugins", {"name": "http-log", "config": {
        "http_endpoint": "http://127.0.0.1:18080/collector", "queue": {"max_batch_size": 100}}})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--routes", type=int, default=10000)
    parser.add_argument("--warmup", type=int, default=10, help="seconds of load on each target before the rounds")
    parser.add_argument("--only", default="", help="comma-separated targets to measure (default: all)")
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",") if name.strip()}

    def wanted(*names):
        return not only or any(name in only for name in names)

    node_a_targets = ("gantry-a", "gantry-b", "gantry-d", "gantry-d1", "gantry-e", "gantry-f", "gantry-g")
    for tool in ("nginx", "wrk", "redis-server"):
        if not shutil.which(tool):
            sys.exit(f"Error: {tool} is not installed (apt-get install nginx wrk redis-server)")
    anchors = os.path.join(shared_dir(), "bench", "anchors")
    work = tempfile.mkdtemp(prefix="gantry-bench-proxy.")
    processes, nodes = [], []
    try:
        subprocess.run(["nginx", "-c", os.path.join(anchors, "upstream-nginx.conf")], check=True)
        subprocess.run(["nginx", "-c", os.path.join(anchors, "proxy-nginx.conf")], check=True)
        pids = {}
        with open("/tmp/anchor-upstream.pid") as f:
            pids["direct"] = int(f.read())
        with open("/tmp/anchor-proxy.pid") as f:
            pids["nginx"] = int(f.read())
        # The shared anchors, and this folder's floor of a Kestrel-hosted proxy (lean-proxy).
        for target, folder in (("yarp", os.path.join(anchors, "yarp-min")), ("kestrel", os.path.join(anchors, "kestrel-hello")),
                               ("lean", os.path.join(ROOT, "bench", "lean-proxy")), ("epoll", os.path.join(ROOT, "bench", "epoll-proxy"))):
            if not wanted(target):
                continue
            anchor = os.path.basename(folder)
            shutil.copytree(folder, os.path.join(work, anchor))
            subprocess.run(["dotnet", "build", os.path.join(work, anchor), "-c", "Release", "-o", os.path.join(work, anchor + "-bin"),
                            "--nologo", "-v", "quiet"], check=True, stdout=subprocess.DEVNULL)
            process = subprocess.Popen(["dotnet", os.path.join(work, anchor + "-bin", anchor + ".dll")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            processes.append(process)
            pids[target] = process.pid

        redis = None
        if wanted("gantry-d", "gantry-d1"):
            redis = subprocess.Popen(["redis-server", "--port", "18096", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            processes.append(redis)

        def many_routes(node, route):
            node.post("/services", {"name": "up", "url": "http://127.0.0.1:18080"})
            started = time.time()

            def create(i):
                status, answer = http("POST", node.admin + "/services/up/routes", route(i))
                if status != 201:
                    raise RuntimeError(f"route {i}: {status} {answer[:200]!r}")

            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(create, range(args.routes)))
            print(f"{os.path.basename(node.prefix)}: created {args.routes} routes in {time.time() - started:.1f} s", file=sys.stderr)

        def build_ms(node):
            """The snapshot build time with every route, from the node's log (it logs builds at notice)."""
            builds = re.findall(r"built in (\d+) ms \((\d+) routes", open(os.path.join(node.prefix, "logs", "error.log")).read())
            return next((int(ms) for ms, routes in reversed(builds) if int(routes) == args.routes), None)

        if wanted(*node_a_targets):
            setup_node_a(work, nodes)

        y = None
        if wanted("gantry-ay", "gantry-by"):
            # Node Y: node A's first two routes with YARP's forwarder for every upstream (proxy_forwarder = yarp).
            y = Gantry(work, "gantry-y", 18190, GANTRY_PROXY_FORWARDER="yarp")
            nodes.append(y)
            plain_and_guarded(y)
        i = None
        if wanted("gantry-ap", "gantry-bp"):
            # Node P: node A's first two routes with proxy_io = runtime and proxy_inline_io = off.
            i = Gantry(work, "gantry-p", 18390, GANTRY_PROXY_IO="runtime", GANTRY_PROXY_INLINE_IO="off")
            nodes.append(i)
            plain_and_guarded(i)

        o = None
        if wanted("gantry-ar", "gantry-br"):
            # Node R: node A's first two routes with proxy_io = runtime (inline on the runtime's socket threads).
            o = Gantry(work, "gantry-r", 18490, GANTRY_PROXY_IO="runtime")
            nodes.append(o)
            plain_and_guarded(o)

        c = x = None
        if wanted("gantry-c", "gantry-c1"):
            # Node C: many routes, each on its own path prefix, requests spread over them by a wrk script.
            c = Gantry(work, "gantry-c", 18093)  # at notice the snapshot build time is in its log
            nodes.append(c)
            many_routes(c, lambda i: {"name": f"r{i}", "paths": [f"/r{i}"]})
        if wanted("gantry-x", "gantry-x1"):
            # Node X: the same routes as expressions, under router_flavor = expressions.
            x = Gantry(work, "gantry-x", 18097, GANTRY_ROUTER_FLAVOR="expressions")
            nodes.append(x)
            many_routes(x, lambda i: {"name": f"r{i}", "expression": f'http.path ^= "/r{i}/"'})
        script = os.path.join(work, "spread.lua")
        with open(script, "w") as f:
            f.write(f"math.randomseed(42)\nrequest = function()\n  return wrk.format('GET', '/r' .. math.random(0, {args.routes - 1}) .. '/x')\nend\n")

        wait_until(lambda: http("GET", "http://127.0.0.1:18080/")[0] == 200, "the anchor upstream serving")
        if wanted(*node_a_targets):
            wait_until(lambda: http("GET", "http://127.0.0.1:18090/a")[0] == 200 and
                       http("GET", "http://127.0.0.1:18090/b", headers={"apikey": "bench-key"})[0] == 200 and
                       http("GET", "http://127.0.0.1:18090/d", headers={"apikey": "bench-key"})[0] == 200 and
                       http("GET", "http://127.0.0.1:18090/f")[0] == 200 and http("GET", "http://127.0.0.1:18090/g")[0] == 200,
                       "node A serving")
        for node in (y, i, o):
            if node is not None:
                wait_until(lambda: http("GET", f"http://{node.proxy}/a")[0] == 200 and
                           http("GET", f"http://{node.proxy}/b", headers={"apikey": "bench-key"})[0] == 200, f"{os.path.basename(node.prefix)} serving")
        if wanted("yarp"):
            wait_until(lambda: http("GET", "http://127.0.0.1:18082/")[0] == 200, "the YARP anchor serving")
        if wanted("kestrel"):
            wait_until(lambda: http("GET", "http://127.0.0.1:18083/")[0] == 200, "the Kestrel anchor serving")
        if wanted("lean"):
            wait_until(lambda: http("GET", "http://127.0.0.1:18084/")[0] == 200, "the lean proxy serving")
        if wanted("epoll"):
            wait_until(lambda: http("GET", "http://127.0.0.1:18085/")[0] == 200, "the epoll proxy serving")
        for node, port in ((c, 18093), (x, 18097)):
            if node is not None:
                wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/r{args.routes - 1}/x")[0] == 200,
                           f"{os.path.basename(node.prefix)} serving its last route", timeout=120)
        time.sleep(1.5)  # let nodes C and X finish the rebuild that includes the last route before measuring
        build_times = {name: build_ms(node) for name, node in (("C", c), ("X", x)) if node is not None}

        a_pid = nodes[0].pid if wanted(*node_a_targets) else None
        targets = [
            ("direct", "http://127.0.0.1:18080/", pids["direct"], {}),
            ("kestrel", "http://127.0.0.1:18083/", pids.get("kestrel"), {}),
            ("nginx", "http://127.0.0.1:18081/", pids["nginx"], {}),
            ("yarp", "http://127.0.0.1:18082/", pids.get("yarp"), {}),
            ("lean", "http://127.0.0.1:18084/", pids.get("lean"), {}),
            ("epoll", "http://127.0.0.1:18085/", pids.get("epoll"), {}),
            ("gantry-a", "http://127.0.0.1:18090/a", a_pid, {}),
            ("gantry-b", "http://127.0.0.1:18090/b", a_pid, {"header": "apikey: bench-key"}),
            ("gantry-ay", "http://127.0.0.1:18190/a", y and y.pid, {}),
            ("gantry-by", "http://127.0.0.1:18190/b", y and y.pid, {"header": "apikey: bench-key"}),
            ("gantry-ap", "http://127.0.0.1:18390/a", i and i.pid, {}),
            ("gantry-bp", "http://127.0.0.1:18390/b", i and i.pid, {"header": "apikey: bench-key"}),
            ("gantry-ar", "http://127.0.0.1:18490/a", o and o.pid, {}),
            ("gantry-br", "http://127.0.0.1:18490/b", o and o.pid, {"header": "apikey: bench-key"}),
            ("gantry-d", "http://127.0.0.1:18090/d", a_pid, {"header": "apikey: bench-key"}),
            ("gantry-d1", "http://127.0.0.1:18090/d1", a_pid, {"header": "apikey: bench-key"}),
            ("gantry-e", "http://127.0.0.1:18090/e", a_pid, {"header": "x-old: 1"}),
            ("gantry-f", "http://127.0.0.1:18090/f", a_pid, {}),
            ("gantry-g", "http://127.0.0.1:18090/g", a_pid, {}),
            ("gantry-c1", f"http://127.0.0.1:18093/r{args.routes // 2}/x", c and c.pid, {}),
            ("gantry-c", "http://127.0.0.1:18093", c and c.pid, {"script": script}),
            ("gantry-x1", f"http://127.0.0.1:18097/r{args.routes // 2}/x", x and x.pid, {}),
            ("gantry-x", "http://127.0.0.1:18097", x and x.pid, {"script": script}),
        ]
        targets = [target for target in targets if wanted(target[0])]
        results = {name: [] for name, *_ in targets}
        for name, url, pid, options in targets:  # warm-up: JIT, connection pools, nginx keep-alive
            run_wrk(url, args.warmup, **options)
        for round_number in range(args.rounds):
            for name, url, pid, options in targets:
                members = tree(pid) + ([redis.pid] if name.startswith("gantry-d") else [])
                before = cpu_seconds(members)
                requests, rps, p50, p99 = run_wrk(url, args.seconds, **options)
                used = cpu_seconds(members) - before
                results[name].append((rps, p50, p99, used / requests * 1e6))
                print(f"  {name}: {requests} requests, all 2xx", file=sys.stderr)
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)

        rows = {}
        for name, url, pid, _ in targets:
            runs = results[name]
            rows[name] = [statistics.median(r[i] for r in runs) for i in range(4)] + [rss_mb(tree(pid))]

        def ratio(rps, reference):
            return f"{rps / rows[reference][0]:.2f}" if reference in rows else ""

        print(f"\n{args.rounds} rounds of {args.seconds} s, wrk -t1 -c32, medians; CPU is the target's own processes per request\n")
        print("| target | req/s | p50 ms | p99 ms | CPU µs/req | RSS MB | × nginx | × YARP | × gantry-a |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, *_ in targets:
            rps, p50, p99, cpu, rss = rows[name]
            print(f"| {name} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {cpu:.0f} | {rss:.0f} | {ratio(rps, 'nginx')} | {ratio(rps, 'yarp')} | "
                  f"{ratio(rps, 'gantry-a')} |")
        for name, ms in build_times.items():
            if ms is not None:
                print(f"\nnode {name}'s {args.routes}-route snapshot built in {ms} ms", end="")
        print(f"\nnode A, C and X RSS are whole processes (node A serves a, b, d, e, f and g)")
        if redis is not None:
            print(f"gantry-d's and gantry-d1's CPU include redis-server's ({rss_mb([redis.pid]):.0f} MB RSS at the end)")
    finally:
        stop_all(nodes, processes, work)


if __name__ == "__main__":
    main()
