#!/usr/bin/env python3
"""Admin API benchmark: create rate and list latency with 10,000 routes, on SQLite and on PostgreSQL.

Starts its own node per store (and, for PostgreSQL, a throwaway cluster), creates one service and
N routes through the Admin API with a few concurrent clients, then measures paging through all routes
(size=1000) and single-route reads. Prints medians and p99 per store. Not a test: run it by hand,
    bench/admin-api.py [--routes 10000] [--clients 8]
"""
import argparse, concurrent.futures, http.client, json, os, shutil, statistics, subprocess, sys, tempfile, time, uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


from common import free_port  # noqa: E402


def request(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    response = conn.getresponse(); data = response.read(); conn.close()
    return response.status, data


def start_postgres(workdir):
    port = free_port(); data = os.path.join(workdir, "pg")
    os.makedirs(data); as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if os.geteuid() == 0: shutil.chown(workdir, "postgres"); shutil.chown(data, "postgres")
    pgbin = sorted(d for d in (f"/usr/lib/postgresql/{v}/bin" for v in os.listdir("/usr/lib/postgresql")))[-1]
    subprocess.run(as_pg + [f"{pgbin}/initdb", "-D", data, "-U", "gantry", "--auth=trust", "--no-sync"], check=True, capture_output=True)
    subprocess.run(as_pg + [f"{pgbin}/pg_ctl", "-D", data, "-l", os.path.join(workdir, "pg.log"), "-w", "start", "-o",
                            f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off"], check=True, capture_output=True)
    subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "gantry", "-d", "postgres", "-c", "CREATE DATABASE gantry"], check=True, capture_output=True)
    return port, lambda: subprocess.run(as_pg + [f"{pgbin}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)


def run_store(store, routes, clients):
    workdir = tempfile.mkdtemp(prefix=f"gantry-bench-{store}-"); stop_pg = lambda: None
    admin = free_port()
    env = dict(os.environ, GANTRY_PREFIX=workdir, GANTRY_DATABASE=store, GANTRY_ADMIN_LISTEN=f"127.0.0.1:{admin}",
               GANTRY_PROXY_LISTEN=f"127.0.0.1:{free_port()}", GANTRY_STATUS_LISTEN=f"127.0.0.1:{free_port()}")
    if store == "postgres":
        pg, stop_pg = start_postgres(workdir)
        env.update(GANTRY_PG_PORT=str(pg), GANTRY_PG_USER="gantry")
        subprocess.run([f"{ROOT}/bin/gantry", "migrations", "bootstrap"], env=env, check=True, capture_output=True)
    node = subprocess.Popen([f"{ROOT}/bin/gantry", "start"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                if request(admin, "GET", "/")[0] == 200: break
            except OSError: time.sleep(0.1)
        status, body = request(admin, "POST", "/services", {"name": "bench", "host": "upstream.test"})
        assert status == 201, body
        service = json.loads(body)["id"]

        def create(i):
            t = time.perf_counter()
            status, body = request(admin, "PUT", f"/routes/{uuid.uuid4()}",
                                   {"name": f"r{i}", "paths": [f"/r/{i}"], "service": {"id": service}})
            assert status == 200, body
            return time.perf_counter() - t

        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            create_latencies = list(pool.map(create, range(routes)))
        create_seconds = time.perf_counter() - started

        page_latencies, offset, seen = [], None, 0
        for _ in range(3):
            offset, seen = None, 0
            while True:
                t = time.perf_counter()
                status, body = request(admin, "GET", "/routes?size=1000" + (f"&offset={offset}" if offset else ""))
                page_latencies.append(time.perf_counter() - t)
                page = json.loads(body); seen += len(page["data"]); offset = page.get("offset")
                if not offset: break
        assert seen == routes, seen
        read_latencies = []
        for i in range(0, routes, max(1, routes // 500)):
            t = time.perf_counter(); status, _ = request(admin, "GET", f"/routes/r{i}"); read_latencies.append(time.perf_counter() - t)
            assert status == 200
        p = lambda xs, q: sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] * 1000
        return {"store": store, "routes": routes, "creates_per_s": routes / create_seconds,
                "create_p50_ms": p(create_latencies, .5), "create_p99_ms": p(create_latencies, .99),
                "page1000_p50_ms": p(page_latencies, .5), "page1000_p99_ms": p(page_latencies, .99),
                "get_p50_ms": p(read_latencies, .5), "get_p99_ms": p(read_latencies, .99)}
    finally:
        node.terminate(); node.wait(30); stop_pg(); shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--routes", type=int, default=10000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    subprocess.run([f"{ROOT}/bin/gantry", "version"], check=True, capture_output=True)
    rows = [run_store(s, args.routes, args.clients) for s in args.stores.split(",")]
    print(f"{'store':9} {'routes':>7} {'creates/s':>10} {'create p50':>11} {'p99':>8} {'page(1000) p50':>15} {'p99':>8} {'get p50':>8} {'p99':>8}")
    for r in rows:
        print(f"{r['store']:9} {r['routes']:>7} {r['creates_per_s']:>10.0f} {r['create_p50_ms']:>9.1f}ms {r['create_p99_ms']:>6.1f}ms"
              f" {r['page1000_p50_ms']:>13.1f}ms {r['page1000_p99_ms']:>6.1f}ms {r['get_p50_ms']:>6.1f}ms {r['get_p99_ms']:>6.1f}ms")


if __name__ == "__main__":
    sys.exit(main())
