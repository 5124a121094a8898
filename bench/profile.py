#!/usr/bin/env python3
"""Where a proxied request's CPU goes: a CPU profile of one Gantry node under wrk load, from Linux perf.

Starts the anchor upstream (nginx), one Gantry node with DOTNET_PerfMapEnabled=1 (so perf can name JIT-compiled
.NET methods), a route /a without plugins and a route /b with key-auth and rate-limiting, loads the chosen route
with wrk -t1 -c32 and samples the node with `perf record -F 999 -g` meanwhile. Prints the share of samples by
module (kernel, .NET runtime and GC, each managed namespace) and the top functions by self time.

usage: bench/profile.py [--case a|b] [--seconds 10] [--forwarder auto|yarp] [--top 40] [--env NAME=VALUE ...]
Needs nginx, wrk and perf (apt-get install nginx wrk linux-perf).
"""
import argparse, collections, os, re, shutil, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import load_sibling  # noqa: E402

proxy = load_sibling("proxy")


def bucket(symbol, dso):
    """A sample's place: the kernel, the runtime's native code (stripped: spin-waits, GC, JIT, stubs), or a managed assembly."""
    if dso.startswith("[kernel"):
        return "kernel"
    if "libcoreclr" in dso or "libclrjit" in dso:
        return "runtime native code (spin-waits, GC, JIT; stripped)"
    if dso.startswith("[JIT]") or dso.startswith("perf-"):
        assembly = re.search(r"\[([A-Za-z][\w.]*)\] ", symbol)
        return assembly.group(1) if assembly else "runtime stubs"
    return os.path.basename(dso)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=["a", "b"], default="a")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--forwarder", default="auto")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the node's environment (e.g. a DOTNET_ setting)")
    args = parser.parse_args()
    for tool in ("nginx", "wrk", "perf"):
        if not shutil.which(tool):
            sys.exit(f"Error: {tool} is not installed (apt-get install nginx wrk linux-perf)")
    anchors = os.path.join(proxy.shared_dir(), "bench", "anchors")
    work = tempfile.mkdtemp(prefix="gantry-bench-profile.")
    node = None
    try:
        subprocess.run(["nginx", "-c", os.path.join(anchors, "upstream-nginx.conf")], check=True)
        node = proxy.Gantry(work, "node", 18290, DOTNET_PerfMapEnabled="1", DOTNET_EnableWriteXorExecute="0", GANTRY_PROXY_FORWARDER=args.forwarder,
                            **dict(setting.split("=", 1) for setting in args.env))
        proxy.plain_and_guarded(node)
        url = f"http://{node.proxy}/{args.case}"
        header = "apikey: bench-key" if args.case == "b" else None
        proxy.wait_until(lambda: proxy.http("GET", url, headers={"apikey": "bench-key"})[0] == 200, "the node serving")
        proxy.run_wrk(url, 3, header=header)  # warm-up: tiered JIT reaches its final code
        data = os.path.join(work, "perf.data")
        load = threading.Thread(target=lambda: print("wrk:", proxy.run_wrk(url, args.seconds + 2, header=header), file=sys.stderr))
        load.start()
        time.sleep(1)
        subprocess.run(["perf", "record", "-F", "999", "-g", "-o", data, "-p", str(node.pid), "--", "sleep", str(args.seconds)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        load.join()
        if os.environ.get("PROFILE_RAW"):
            subprocess.run(["cp", data, os.environ["PROFILE_RAW"]])
        report = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio", "--sort", "dso,symbol", "-g", "none",
                                 "--percent-limit", "0"], capture_output=True, text=True, check=True).stdout
        rows = []
        for line in report.splitlines():
            m = re.match(r"\s+([\d.]+)%\s+(.+?)\s+\[(.)\]\s+(.*)", line)
            if m:
                rows.append((float(m.group(1)), m.group(2), m.group(4).strip()))
        buckets = collections.Counter()
        for share, dso, symbol in rows:
            buckets[bucket(symbol, dso)] += share
        print(f"\nCPU samples of the Gantry node, case ({args.case}), proxy_forwarder = {args.forwarder}, {args.seconds} s under wrk -t1 -c32\n")
        print("| where | share of samples |\n|---|---|")
        for name, share in buckets.most_common():
            print(f"| {name} | {share:.1f} % |")
        print(f"\ntop {args.top} functions by self time:\n")
        for share, dso, symbol in sorted(rows, reverse=True)[:args.top]:
            print(f"{share:6.2f}%  {symbol[:150]}  ({os.path.basename(dso)})")
    finally:
        proxy.stop_all([node] if node else [], [], work)

if __name__ == "__main__":
    main()
