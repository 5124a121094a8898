#!/usr/bin/env python3
"""Runtime settings for the proxy, measured: one Gantry node per variant, each differing from the first only
in DOTNET_* environment variables (which override the project's runtimeconfig), all serving one route to the
anchor upstream without plugins, interleaved in one run with nginx as the reference.

Variants (each names what it changes; `shipped` is the runtimeconfig as built):
  shipped          the settings in src/Gantry/Gantry.csproj
  spin-70          the thread pool's default spin limit (DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=70)
  spin-0           no spinning (DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0)
  server-gc        server GC (DOTNET_gcServer=1)
  inline           socket completions run inline on the I/O thread, for Kestrel and the upstream client
                   (DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1; Kestrel's UnsafePreferInlineScheduling follows it)
  spin-0-inline    both of the above
  gen0-64m         a 64 MiB gen0 budget, so fewer collections (DOTNET_GCgen0size=0x4000000)
  gc-nonconcurrent no background GC thread (DOTNET_gcConcurrent=0)
  no-pgo           tiered PGO off (DOTNET_TieredPGO=0)
  no-tiering       full JIT at once, no tiers (DOTNET_TieredCompilation=0)

Also prints each variant's time from `gantry start` to its first proxied 200 (startup, where ReadyToRun
matters), as the median of --starts cold starts.

usage: bench/runtime.py [--rounds 5] [--seconds 5] [--starts 3] [--only a,b]
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import load_sibling  # noqa: E402

proxy = load_sibling("proxy")

VARIANTS = [
    ("shipped", {}),
    ("spin-70", {"DOTNET_ThreadPool_UnfairSemaphoreSpinLimit": "70"}),
    ("spin-0", {"DOTNET_ThreadPool_UnfairSemaphoreSpinLimit": "0"}),
    ("server-gc", {"DOTNET_gcServer": "1"}),
    ("inline", {"DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS": "1"}),
    ("spin-0-inline", {"DOTNET_ThreadPool_UnfairSemaphoreSpinLimit": "0", "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS": "1"}),
    ("gen0-64m", {"DOTNET_GCgen0size": "0x4000000"}),
    ("gc-nonconcurrent", {"DOTNET_gcConcurrent": "0"}),
    ("no-pgo", {"DOTNET_TieredPGO": "0"}),
    ("no-tiering", {"DOTNET_TieredCompilation": "0"}),
]


def first_proxied(work, name, port, env):
    """Seconds from `gantry start` to the first 200 through a route created before the start."""
    node = proxy.Gantry(work, name, port, **env)
    proxy.plain_and_guarded(node)
    proxy.wait_until(lambda: proxy.http("GET", f"http://{node.proxy}/a")[0] == 200, f"{name} serving")
    node.stop()
    time.sleep(0.5)
    started = time.time()
    subprocess.run([os.path.join(proxy.ROOT, "bin", "gantry"), "start", "--daemon"], env=node.env, check=True, stdout=subprocess.DEVNULL)
    proxy.wait_until(lambda: proxy.http("GET", f"http://{node.proxy}/a")[0] == 200, f"{name} serving after a restart")
    elapsed = time.time() - started
    node.stop()
    shutil.rmtree(node.prefix, ignore_errors=True)
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--only", help="comma-separated variant names")
    args = parser.parse_args()
    variants = [v for v in VARIANTS if not args.only or v[0] in args.only.split(",")]
    for tool in ("nginx", "wrk"):
        if not shutil.which(tool):
            sys.exit(f"Error: {tool} is not installed (apt-get install nginx wrk)")
    anchors = os.path.join(proxy.shared_dir(), "bench", "anchors")
    work = tempfile.mkdtemp(prefix="gantry-bench-runtime.")
    nodes = []
    try:
        subprocess.run(["nginx", "-c", os.path.join(anchors, "upstream-nginx.conf")], check=True)
        subprocess.run(["nginx", "-c", os.path.join(anchors, "proxy-nginx.conf")], check=True)
        with open("/tmp/anchor-proxy.pid") as f:
            targets = [("nginx", "http://127.0.0.1:18081/", int(f.read()))]
        subprocess.run([os.path.join(proxy.ROOT, "bin", "gantry"), "version"], check=True, stdout=subprocess.DEVNULL)  # build once
        starts = {}
        for index, (name, env) in enumerate(variants):
            starts[name] = statistics.median(first_proxied(work, f"start-{name}", 18200 + 3 * index, env) for _ in range(args.starts))
        for index, (name, env) in enumerate(variants):
            node = proxy.Gantry(work, name, 18100 + 3 * index, **env)
            nodes.append(node)
            proxy.plain_and_guarded(node)
            proxy.wait_until(lambda: proxy.http("GET", f"http://{node.proxy}/a")[0] == 200, f"{name} serving")
            targets.append((name, f"http://{node.proxy}/a", node.pid))
        for _, url, _ in targets:
            proxy.run_wrk(url, 2)
        results = {name: [] for name, *_ in targets}
        for round_number in range(args.rounds):
            for name, url, pid in targets:
                members = proxy.tree(pid)
                before = proxy.cpu_seconds(members)
                requests, rps, p50, p99 = proxy.run_wrk(url, args.seconds)
                results[name].append((rps, p50, p99, (proxy.cpu_seconds(members) - before) / requests * 1e6))
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)
        nginx = statistics.median(r[0] for r in results["nginx"])
        print(f"\n{args.rounds} rounds of {args.seconds} s, wrk -t1 -c32, medians; one route, no plugins\n")
        print("| variant | req/s | p50 ms | p99 ms | CPU µs/req | × nginx | start to first 200 s |")
        print("|---|---|---|---|---|---|---|")
        for name, *_ in targets:
            rps, p50, p99, cpu = (statistics.median(r[i] for r in results[name]) for i in range(4))
            start = f"{starts[name]:.2f}" if name in starts else ""
            print(f"| {name} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {cpu:.0f} | {rps / nginx:.2f} | {start} |")
    finally:
        proxy.stop_all(nodes, [], work)

if __name__ == "__main__":
    main()
