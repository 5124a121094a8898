#!/usr/bin/env python3
"""The Admin API writer of bench/upgrade.sh, and its final check.

write CONTROL OUT: every 100 ms creates a consumer through one of the Admin APIs named in the file CONTROL
(round robin), then reads it back through the same node. CONTROL holds URLs separated by spaces, "pause"
(the writer idles and says so in CONTROL.state, so the harness knows no write is in flight), or "stop".
Each acknowledged create (201) is appended to OUT, one username a line, before the next write starts.
Prints one JSON line at the end: writes, write errors, failed read-backs.

check ADMIN OUT: reads back every username of OUT through ADMIN, in upper case (the new release ignores
case), and prints how many it did not find.
"""
import json
import sys
import time
import urllib.error
import urllib.request


def request(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e).encode()


def write(control, out):
    writes = errors = unread = 0
    turn = 0
    state = control + ".state"
    run = str(int(time.time()))
    with open(out, "a") as acknowledged:
        while True:
            started = time.monotonic()
            with open(control) as f:
                target = f.read().split()
            if target == ["stop"]:
                break
            if target == ["pause"] or not target:
                with open(state, "w") as f:
                    f.write("paused")
                time.sleep(0.05)
                continue
            with open(state, "w") as f:
                f.write("writing")
            admin = target[turn % len(target)]
            turn += 1
            name = f"w-{run}-{writes + errors:06d}"
            status, body = request("POST", f"{admin}/consumers", {"username": name, "tags": ["upgrade-writer"]})
            if status != 201:
                errors += 1
                print(f"writer: POST {admin}/consumers {name}: {status} {body[:200]!r}", file=sys.stderr, flush=True)
            else:
                writes += 1
                acknowledged.write(name + "\n")
                acknowledged.flush()
                status, body = request("GET", f"{admin}/consumers/{name}")
                if status != 200:
                    unread += 1
                    print(f"writer: read-back GET {admin}/consumers/{name}: {status} {body[:200]!r}", file=sys.stderr, flush=True)
            time.sleep(max(0.0, 0.1 - (time.monotonic() - started)))
    with open(state, "w") as f:
        f.write("stopped")
    print(json.dumps({"writes": writes, "errors": errors, "unread": unread}), flush=True)


def check(admin, out):
    with open(out) as f:
        names = [line.strip() for line in f if line.strip()]
    lost = []
    for name in names:
        status, body = request("GET", f"{admin}/consumers/{name.upper()}")
        if status != 200 or json.loads(body).get("username") != name:
            lost.append(name)
    for name in lost[:20]:
        print(f"check: {name} was acknowledged but is not found through {admin}", file=sys.stderr)
    print(json.dumps({"checked": len(names), "lost": len(lost)}), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
