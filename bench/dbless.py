#!/usr/bin/env python3
"""Declarative loads: POST /config on a node without a database, and 'gantry config db_import' into each store.

1. Generates documents of N entities (default 10,000 and 100,000): per 10 entities one service with
   4 routes and a key-auth plugin nested under it, and 2 consumers with a key-auth credential each.
2. For each size, starts a node with database = off and posts the document to /config twice (the
   second load replaces a configuration of the same size, so two live side by side for a moment):
   wall time to the 201, the node's own breakdown (parse and validate, import, compile; from its
   log), and the node's peak resident memory (VmHWM).
3. For each size and store (SQLite, PostgreSQL in a throwaway cluster), runs 'gantry config
   db_import' into a freshly bootstrapped database: wall time and the command's peak resident memory.
4. A node serving a 10,000-route document with wrk (-t1 -c32) on one of its routes, twice: without
   reloads, then with POST /config of a changed 10,000-route document every 2 s: failed requests
   (non-2xx and socket errors) and p50/p99 of each run.

Needs wrk and nginx (the upstream: nginx answering 12 bytes): apt-get install wrk nginx. Not a test:
    bench/dbless.py [--sizes 10000,100000] [--reload-routes 10000] [--seconds 30] [--skip-import]
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, threading, time, urllib.error, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GANTRY = os.path.join(ROOT, "bin", "gantry")


from common import free_port, load_sibling  # noqa: E402


# One way to start PostgreSQL and to run and read wrk for every benchmark here.
admin_bench = load_sibling("admin-api")
proxy_bench = load_sibling("proxy")


def post_config(admin, text):
    request = urllib.request.Request(admin + "/config", data=text.encode(), method="POST", headers={"Content-Type": "text/yaml"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, time.perf_counter() - started, body


def mixed_document(entities, upstream_port):
    """entities / 10 units of: a service, its 4 routes and a key-auth plugin, 2 consumers with a key each."""
    lines = ['_format_version: "3.0"', "services:"]
    units = entities // 10
    for i in range(units):
        lines += [f"- name: s{i}", f"  url: http://127.0.0.1:{upstream_port}/", "  routes:"]
        lines += [f"  - name: s{i}-r{j}\n    paths: [\"/s{i}/r{j}\"]" for j in range(4)]
        lines += ["  plugins:", "  - name: key-auth"]
    lines.append("consumers:")
    for i in range(units):
        for c in "ab":
            lines += [f"- username: c{i}{c}", "  keyauth_credentials:", f"  - key: key-{i}-{c}"]
    return "\n".join(lines) + "\n"


def route_document(routes, upstream_port, marker):
    """routes routes over routes / 10 services; /steady is the one wrk loads; marker changes the hash."""
    lines = ['_format_version: "3.0"', "services:", f"- name: steady\n  url: http://127.0.0.1:{upstream_port}/",
             "  routes:", "  - name: steady\n    paths: [\"/steady\"]", f"  - name: marker\n    paths: [\"/marker/{marker}\"]"]
    for i in range((routes - 2) // 10):
        lines += [f"- name: s{i}", f"  url: http://127.0.0.1:{upstream_port}/", "  routes:"]
        lines += [f"  - name: s{i}-r{j}\n    paths: [\"/s{i}/r{j}\"]" for j in range(10)]
    return "\n".join(lines) + "\n"


class Node:
    """A node without a database, in its own prefix, logging at info so that loads report their parts."""

    def __init__(self, work, name):
        self.prefix = os.path.join(work, name)
        os.makedirs(self.prefix)
        self.proxy_port, admin_port = free_port(), free_port()
        self.admin = f"http://127.0.0.1:{admin_port}"
        env = dict(os.environ, GANTRY_PREFIX=self.prefix, GANTRY_DATABASE="off", GANTRY_PROXY_LISTEN=f"127.0.0.1:{self.proxy_port}",
                   GANTRY_ADMIN_LISTEN=f"127.0.0.1:{admin_port}", GANTRY_STATUS_LISTEN=f"127.0.0.1:{free_port()}", GANTRY_LOG_LEVEL="info")
        self.log = open(os.path.join(self.prefix, "node.log"), "w")
        self.process = subprocess.Popen([GANTRY, "start"], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        proxy_bench.wait_until(lambda: urllib.request.urlopen(self.admin + "/status", timeout=2).status == 200, "the node's start")

    def peak_rss_mb(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024

    def rss_mb(self):
        return proxy_bench.rss_mb([self.process.pid])

    def breakdowns(self):
        with open(os.path.join(self.prefix, "node.log")) as f:
            return re.findall(r"applied: (\d+) entities, (\d+) routes in (\d+) ms \(parse and validate (\d+) ms, import (\d+) ms, compile (\d+) ms\)", f.read())

    def stop(self):
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


def bench_post_config(work, sizes, upstream_port):
    rows = []
    for size in sizes:
        text = mixed_document(size, upstream_port)
        node = Node(work, f"post-{size}")
        try:
            loads = []
            for _ in range(2):
                status, seconds, body = post_config(node.admin, text + f"# load {len(loads)}\n")
                if status != 201:
                    sys.exit(f"Error: POST /config of {size} entities answered {status}: {body[:500]!r}")
                loads.append(seconds)
            parts = node.breakdowns()[-1]
            rows.append((size, len(text) / 1e6, loads[0], loads[1], parts, node.rss_mb(), node.peak_rss_mb()))
            print(f"POST /config {size:>7} entities ({len(text) / 1e6:.1f} MB): first {loads[0]:.2f} s, second {loads[1]:.2f} s "
                  f"(parse+validate {parts[3]} ms, import {parts[4]} ms, compile {parts[5]} ms), RSS {node.rss_mb():.0f} MB, peak {node.peak_rss_mb():.0f} MB", flush=True)
        finally:
            node.stop()
    return rows


def bench_db_import(work, sizes, upstream_port):
    # Its own folder under /tmp: the postgres user cannot enter the benchmark's private work folder.
    pg_work = tempfile.mkdtemp(prefix="gantry-bench-dbless-pg-")
    pg_port, stop_pg = admin_bench.start_postgres(pg_work)
    rows = []
    try:
        for size in sizes:
            path = os.path.join(work, f"mixed-{size}.yml")
            with open(path, "w") as f:
                f.write(mixed_document(size, upstream_port))
            for store in ("sqlite", "postgres"):
                prefix = os.path.join(work, f"import-{store}-{size}")
                env = dict(os.environ, GANTRY_PREFIX=prefix, GANTRY_DATABASE=store)
                if store == "postgres":
                    database = f"import_{size}"
                    subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(pg_port), "-U", "gantry", "-d", "postgres", "-c", f"CREATE DATABASE {database}"],
                                   check=True, capture_output=True)
                    env.update(GANTRY_PG_HOST="127.0.0.1", GANTRY_PG_PORT=str(pg_port), GANTRY_PG_USER="gantry", GANTRY_PG_DATABASE=database)
                subprocess.run([GANTRY, "migrations", "bootstrap"], env=env, check=True, capture_output=True)
                started = time.perf_counter()
                process = subprocess.Popen([GANTRY, "config", "db_import", path], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                _, status, usage = os.wait4(process.pid, 0)
                seconds = time.perf_counter() - started
                output = process.stdout.read().decode() + process.stderr.read().decode()
                if status != 0:
                    sys.exit(f"Error: db_import of {size} entities into {store} failed: {output[-800:]}")
                rows.append((size, store, seconds, usage.ru_maxrss / 1024))
                print(f"db_import {size:>7} entities into {store:<8}: {seconds:.2f} s, peak RSS {usage.ru_maxrss / 1024:.0f} MB", flush=True)
    finally:
        stop_pg()
        shutil.rmtree(pg_work, ignore_errors=True)
    return rows


def run_wrk(url, seconds):
    """wrk's figures, failures included: a failed request here is the finding, not a reason to stop."""
    out = subprocess.run(["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency", url], capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(non2xx.group(1)) if non2xx else 0) + (sum(int(g) for g in errors.groups()) if errors else 0)
    p50 = proxy_bench.to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = proxy_bench.to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    return requests, failed, p50, p99


def bench_reload_under_load(work, routes, seconds, upstream_port):
    node = Node(work, "reload")
    try:
        status, _, body = post_config(node.admin, route_document(routes, upstream_port, 0))
        if status != 201:
            sys.exit(f"Error: the {routes}-route document answered {status}: {body[:500]!r}")
        url = f"http://127.0.0.1:{node.proxy_port}/steady"
        run_wrk(url, 2)  # warm-up
        quiet = run_wrk(url, seconds)
        stop, loads = threading.Event(), []

        def reload():
            marker = 1
            while not stop.is_set():
                started = time.perf_counter()
                status, took, body = post_config(node.admin, route_document(routes, upstream_port, marker))
                loads.append((status, took))
                marker += 1
                stop.wait(max(0.0, 2 - (time.perf_counter() - started)))

        reloader = threading.Thread(target=reload)
        reloader.start()
        busy = run_wrk(url, seconds)
        stop.set()
        reloader.join()
        applied = [took for status, took in loads if status == 201]
        refused = [status for status, _ in loads if status != 201]
        print(f"wrk on /steady of {routes} routes, {seconds} s: no reloads {quiet[0]} requests, {quiet[1]} failed, p50 {quiet[2]:.2f} ms, p99 {quiet[3]:.2f} ms; "
              f"{len(applied)} reloads (median {sorted(applied)[len(applied) // 2]:.2f} s, refused {refused}): {busy[0]} requests, {busy[1]} failed, "
              f"p50 {busy[2]:.2f} ms, p99 {busy[3]:.2f} ms; peak RSS {node.peak_rss_mb():.0f} MB", flush=True)
        return quiet, busy, applied, node.peak_rss_mb()
    finally:
        node.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--reload-routes", type=int, default=10000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--skip-import", action="store_true")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"Error: {tool} is not installed (apt-get install wrk nginx)")
    sizes = [int(s) for s in args.sizes.split(",")]
    subprocess.run([GANTRY, "version"], check=True, capture_output=True)  # builds once, before anything is timed
    work = tempfile.mkdtemp(prefix="gantry-bench-dbless-")
    upstream_port = free_port()
    conf = os.path.join(work, "upstream-nginx.conf")
    with open(conf, "w") as f:
        f.write(f"worker_processes 1; daemon on; pid {work}/upstream.pid; error_log {work}/upstream-error.log warn;\n"
                f"events {{ worker_connections 4096; }}\nhttp {{ access_log off; keepalive_requests 1000000;\n"
                f"  server {{ listen 127.0.0.1:{upstream_port}; location / {{ return 200 \"hello world\\n\"; }} }} }}\n")
    subprocess.run(["nginx", "-c", conf], check=True)
    try:
        bench_post_config(work, sizes, upstream_port)
        if not args.skip_import:
            bench_db_import(work, sizes, upstream_port)
        bench_reload_under_load(work, args.reload_routes, args.seconds, upstream_port)
    finally:
        subprocess.run(["nginx", "-c", conf, "-s", "stop"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
