"""CPU per request, by process and by thread: each server of the bench (`serve --server S`)
loaded by `load --connections N` on loopback, the servers alternated round by round.
The server's CPU comes from /proc/PID/stat (every thread, even one that ended) and its
split from /proc/PID/task/*/stat, grouped by thread name; the load generator's from its
rusage; PostgreSQL's (for the servers that use it) summed over its processes. Both processes are started and stopped here. One JSON line per run, then a table.

    python3 crates/gladly-webhook-bench/cpu.py [--servers floor,inline,sqlite,relay]
        [--connections 64] [--seconds 5] [--rounds 2] [--database-url URL]
"""
import argparse, json, os, re, resource, subprocess, sys, time
from collections import Counter

BENCH = os.path.join(os.path.dirname(__file__), "../../target/release/gladly-webhook-bench")
TICK = os.sysconf("SC_CLK_TCK")


def ticks(stat_path):
    """utime + stime of a /proc stat file, in seconds (None if it is gone)."""
    try:
        with open(stat_path) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (FileNotFoundError, ProcessLookupError):
        return None


def threads(pid):
    """CPU seconds by thread name (trailing digits and dashes dropped)."""
    out = Counter()
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = re.sub(r"[-_]?\d+$", "", f.read().strip())
        except FileNotFoundError:
            continue
        spent = ticks(f"/proc/{pid}/task/{tid}/stat")
        if spent is not None:
            out[name] += spent
    return out


def database_seconds():
    """CPU seconds of every process named `postgres` (the server and its backends)."""
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "postgres":
                    continue
        except FileNotFoundError:
            continue
        total += ticks(f"/proc/{pid}/stat") or 0.0
    return total


def measure(server, connections, seconds, database_url):
    uses_database = database_url and server in ("postgres", "relay-postgres")
    args = [BENCH, "serve", "--server", server, "--max-seconds", str(int(seconds) + 30)]
    if uses_database:
        args += ["--database-url", database_url]
    srv = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = srv.stdout.readline()
        addr = line.strip().rsplit(" ", 1)[1]
        time.sleep(0.5)
        before, split_before = ticks(f"/proc/{srv.pid}/stat"), threads(srv.pid)
        database_before = database_seconds()
        load = subprocess.Popen(
            [BENCH, "load", "--addr", addr, "--connections", str(connections),
             "--seconds", str(seconds)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        output = load.stdout.read()
        _, status, usage = os.wait4(load.pid, 0)
        after, split_after = ticks(f"/proc/{srv.pid}/stat"), threads(srv.pid)
        database = database_seconds() - database_before
    finally:
        srv.kill()
        srv.wait()
    if status != 0:
        sys.exit(f"load against {server} failed: {output}")
    result = json.loads(output.strip().splitlines()[-1])
    requests = result["requests"]
    per = lambda s: round(s * 1e6 / requests, 1)
    split = {name: per(split_after[name] - split_before.get(name, 0.0))
             for name in split_after if split_after[name] - split_before.get(name, 0.0) > 0}
    return {
        "server": server, "connections": connections,
        "requests_per_second": round(result["requests_per_second"]),
        "p99_ms": result["p99_us"] / 1000,
        "server_us_per_request": per(after - before),
        "server_threads_us_per_request": split,
        "load_us_per_request": per(usage.ru_utime + usage.ru_stime),
        "database_us_per_request": per(database) if uses_database else "-",
        "cpus_used": round(
            (after - before + usage.ru_utime + usage.ru_stime + (database if uses_database else 0))
            / result["seconds"], 2),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--servers", default="floor,inline,sqlite,relay")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--database-url")
    a = p.parse_args()
    runs = []
    for _ in range(a.rounds):
        for server in a.servers.split(","):
            run = measure(server, a.connections, a.seconds, a.database_url)
            print(json.dumps(run), flush=True)
            runs.append(run)
    print("\n| server | requests/s | server µs/request (by thread) | load generator µs/request "
          "| PostgreSQL µs/request | CPUs used |")
    print("|---|---|---|---|---|---|")
    for server in a.servers.split(","):
        mine = [r for r in runs if r["server"] == server]
        join = lambda key: " / ".join(str(r[key]) for r in mine)
        threads_text = " / ".join(
            ", ".join(f"{k} {v}" for k, v in sorted(r["server_threads_us_per_request"].items(),
                                                     key=lambda kv: -kv[1]))
            for r in mine)
        print(f"| {server} | {join('requests_per_second')} | {join('server_us_per_request')} "
              f"({threads_text}) | {join('load_us_per_request')} | {join('database_us_per_request')} "
              f"| {join('cpus_used')} |")


if __name__ == "__main__":
    main()
