#!/usr/bin/env python3
"""make bench: throughput and latency of the API on loopback, measured with
wrk beside a trivial FastCGI responder in the same run (same lighttpd
settings, same number of processes), so the figures can be read against
the floor of web server + FastCGI alone.

Not a test: it asserts nothing and prints a table.  Bounded: each case runs
BENCH_SECONDS (default 10) with 2 threads and 16 connections.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from modbox_harness import Stack, free_port, BUILDDIR  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
PROCS = int(os.environ.get("BENCH_PROCS", "2"))
HERE = os.path.dirname(os.path.abspath(__file__))


def wrk(url, headers, script=None):
    cmd = ["wrk", "-t2", "-c16", "-d%ds" % SECONDS, "--latency", "--timeout", "5s"]
    for k, v in headers.items():
        cmd += ["-H", "%s: %s" % (k, v)]
    if script:
        cmd += ["-s", script]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=SECONDS + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+\w+)", out).group(1)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p50, p99, int(non2xx.group(1)) if non2xx else 0


def trivial_server(tmp, binary):
    port = free_port()
    conf = os.path.join(tmp, "trivial.conf")
    os.makedirs(os.path.join(tmp, "www"), exist_ok=True)
    with open(conf, "w") as f:
        f.write('server.bind = "127.0.0.1"\nserver.port = %d\n' % port)
        f.write('server.document-root = "%s/www"\n' % tmp)
        f.write('server.errorlog = "%s/trivial-error.log"\n' % tmp)
        f.write('server.modules = ("mod_fastcgi")\n')
        f.write('fastcgi.server = ("/" => (("bin-path" => "%s", "socket" => "%s/t.sock",'
                ' "check-local" => "disable", "max-procs" => %d)))\n' % (binary, tmp, PROCS))
    proc = subprocess.Popen(["lighttpd", "-D", "-f", conf])
    for _ in range(100):
        try:
            import socket
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, port


def main():
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)")
        return 1
    trivial = os.path.join(BUILDDIR, "tests", "bench", "trivial_fcgi")
    rows = []
    tmp = tempfile.mkdtemp(prefix="modbox-bench-")
    proc, tport = trivial_server(tmp, trivial)
    try:
        rows.append(("trivial FastCGI responder (floor)",) +
                    wrk("http://127.0.0.1:%d/" % tport, {}))
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)

    with Stack(max_procs=PROCS) as s:
        ws = s.workspace("bench")
        _, key = s.actor(ws, "owner")
        hdr = {"Authorization": "Bearer " + key, "X-Workspace-Id": ws,
               "Content-Type": "application/json"}
        ids = []
        for i in range(50):
            r = s.request("POST", "/registries", {"name": "seed-%d" % i, "server": "ghcr.io",
                                                  "username": "u", "password": "p-%d" % i},
                          key=key, ws=ws)
            ids.append(r.json()["id"])
        base = "http://127.0.0.1:%d" % s.port
        rows.append(("GET /registries/{id}",) + wrk(base + "/registries/" + ids[0], hdr))
        rows.append(("GET /registries (50 items)",) + wrk(base + "/registries", hdr))
        rows.append(("POST /registries",) + wrk(base + "/registries", hdr,
                                                os.path.join(HERE, "post.lua")))
        count = s.sql("SELECT COUNT(*) FROM registries")[0][0]
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print("machine: %d cores, %s; wrk -t2 -c16 -d%ds; lighttpd max-procs %d per mount"
          % (os.cpu_count(), cpu, SECONDS, PROCS))
    print("%-36s %10s %9s %9s %8s" % ("case", "req/s", "p50", "p99", "non-2xx"))
    for name, rps, p50, p99, bad in rows:
        print("%-36s %10.0f %9s %9s %8d" % (name, rps, p50, p99, bad))
    print("registries stored after the POST run: %s" % count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
