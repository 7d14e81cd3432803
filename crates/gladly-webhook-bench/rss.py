"""RSS of `listen` (SQLite inbox) and of the bench's floor: started, with 64 and 512
idle keep-alive connections, and under load (the peak during `load --connections 64`).
Loopback only; both servers are started and killed here. One JSON line per server per run."""
import os, re, socket, subprocess, sys, time, json, threading

CLI = os.path.join(os.path.dirname(__file__), "../../target/release/gladly-webhook")
BENCH = os.path.join(os.path.dirname(__file__), "../../target/release/gladly-webhook-bench")
SECRET = "whsec_bench_0123456789abcdef0123"

def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

def start(kind, tmp):
    env = dict(os.environ, S=SECRET)
    if kind == "listen":
        p = subprocess.Popen([CLI, "listen", "--addr", "127.0.0.1:0", "--path", "/hooks/gladly",
                              "--inbox", f"sqlite:{tmp}/inbox.db", "--secret-env", "S"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in p.stderr:
            m = re.search(r"listening on http://([0-9.]+):(\d+)", line)
            if m:
                threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
                return p, int(m.group(2))
    else:
        p = subprocess.Popen([BENCH, "serve", "--server", "floor", "--max-seconds", "120"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = p.stdout.readline()
        return p, int(line.strip().rsplit(":", 1)[1])

def idle(port, n):
    socks = []
    req = b"POST /hooks/gladly HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(req)
        s.recv(4096)
        socks.append(s)
    return socks

def measure(kind):
    tmp = f"/tmp/rss_{kind}"
    subprocess.run(["rm", "-rf", tmp]); os.makedirs(tmp)
    p, port = start(kind, tmp)
    time.sleep(1)
    out = {"server": kind, "started_kb": rss_kb(p.pid)}
    for n in (64, 512):
        socks = idle(port, n)
        time.sleep(1)
        out[f"idle_{n}_kb"] = rss_kb(p.pid)
        for s in socks: s.close()
        time.sleep(0.5)
    peak = [0]
    stop = [False]
    def sample():
        while not stop[0]:
            peak[0] = max(peak[0], rss_kb(p.pid)); time.sleep(0.1)
    t = threading.Thread(target=sample); t.start()
    load = subprocess.run([BENCH, "load", "--addr", f"127.0.0.1:{port}", "--connections", "64", "--seconds", "5"],
                          capture_output=True, text=True)
    stop[0] = True; t.join()
    out["load_64_peak_kb"] = peak[0]
    out["load_rps"] = round(json.loads(load.stdout)["requests_per_second"])
    time.sleep(1)
    out["after_load_kb"] = rss_kb(p.pid)
    p.kill(); p.wait()
    return out

for r in range(2):
    for kind in ("listen", "floor"):
        print(json.dumps(measure(kind)), flush=True)
