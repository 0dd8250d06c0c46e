#!/usr/bin/env python3
"""Pull benchmark: our registry client (tests/tools/regpull) against
skopeo, on the same ~100 MB image, from the same local registry, in one run.

A 5-layer image of incompressible content (BENCH_PULL_MB, default 100) is
built without Docker, pushed to a private docker-registry (htpasswd over
TLS, 127.0.0.1), then pulled BENCH_PULL_RUNS times (default 3) by each client
into a fresh OCI layout (cold: empty store), and once more into the last
store (warm: every blob already there, so regpull fetches nothing: the
registry's access log is checked for that; skopeo fetches the config
again).  The median cold time of each client, the warm times and the
ratios are printed; skopeo then reads regpull's store.
Not a test: it asserts nothing, but says WARNING when a client pulled
something else than the pushed digest or fetched blobs on a warm run.
Bounded: every command has a timeout (BENCH_PULL_TIMEOUT, default 600 s),
the whole run a deadline (BENCH_PULL_DEADLINE, default 1200 s: runs that
would start after it are skipped), and the registry is stopped on exit.

Environment: MODBOX_BUILDDIR (where tests/tools/regpull is), BENCH_PULL_MB,
BENCH_PULL_RUNS, BENCH_PULL_TIMEOUT, BENCH_PULL_DEADLINE, MODBOX_KEEP_TMP=1.
"""
import os
import re
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from modbox_harness import BUILDDIR, Stack  # noqa: E402
from registry_harness import (CA, Registry, build_image, push, skopeo_copy_to_oci,  # noqa: E402
                              skopeo_inspect_oci, check_layout, run, HarnessError)

MB = int(os.environ.get("BENCH_PULL_MB", "100"))
RUNS = int(os.environ.get("BENCH_PULL_RUNS", "3"))
PULL_TIMEOUT = int(os.environ.get("BENCH_PULL_TIMEOUT", "600"))
DEADLINE = time.monotonic() + int(os.environ.get("BENCH_PULL_DEADLINE", "1200"))
REGPULL = os.path.join(BUILDDIR, "tests", "tools", "regpull")
USER, PASSWORD = "bench", "bench-password"
REPO, TAG = "bench/big", "v1"


def layers_for(total_mb):
    """5 layers, unequal like a real image: 40/25/20/10/5 % of the total."""
    total = total_mb << 20
    shares = [("base", 40), ("runtime", 25), ("deps", 20), ("app", 10), ("config", 5)]
    return [(name, total * pct // 100) for name, pct in shares]


def pull_with_skopeo(reg, dest):
    r = skopeo_copy_to_oci(reg, REPO, TAG, dest, USER, PASSWORD, timeout=PULL_TIMEOUT,
                           check=False)
    if not r.ok:
        raise HarnessError("skopeo pull failed: %s" % r.stderr[-1000:])
    return r.elapsed


def pull_with_modbox(reg, dest, ref=TAG, password_file=None):
    """regpull --host H --repo R --tag T --store DIR --ref NAME
    [--user U --password-file F] [--ca-file F] [--insecure H] [--allow-private]
    [--platform P]: exit 0 printing the digest, else "CODE: message", exit 1.
    Returns (seconds, digest)."""
    if not os.access(REGPULL, os.X_OK):
        raise HarnessError("%s is not built yet" % REGPULL)
    cmd = [REGPULL, "--host", reg.host, "--repo", REPO, "--tag", TAG,
           "--store", dest, "--ref", ref, "--allow-private"]
    if password_file:
        cmd += ["--user", USER, "--password-file", password_file]
    if reg.tls:
        cmd += ["--ca-file", reg.ca_file]
    else:
        cmd += ["--insecure", reg.host]
    r = run(cmd, timeout=PULL_TIMEOUT, check=False)
    if r.rc != 0:
        raise HarnessError("regpull failed (exit %d): %s %s" % (
            r.rc, r.stdout.strip()[-500:], r.stderr.strip()[-500:]))
    return r.elapsed, r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""


BLOB_GET = re.compile(r'"GET /v2/\S+?/blobs/(sha256:[0-9a-f]{64}) HTTP/[0-9.]+" 200 (\d+)')


def blob_traffic(reg, since):
    """(blob GETs answered 200, their bytes) in the registry's access log
    since offset `since`."""
    time.sleep(0.3)   # the access line is written once the response is done
    n = size = 0
    for m in BLOB_GET.finditer(reg.logs()[since:]):
        n += 1
        size += int(m.group(2))
    return n, size


def timed_runs(name, fn, work):
    times, results = [], []
    for i in range(RUNS):
        if i > 0 and time.monotonic() > DEADLINE:
            print("  %-8s run %d: skipped (BENCH_PULL_DEADLINE passed)" % (name, i + 1))
            break
        dest = os.path.join(work, "%s-%d" % (name, i))
        out = fn(dest)
        if isinstance(out, tuple):
            times.append(out[0])
            results.append((dest, out[1]))
        else:
            times.append(out)
            results.append((dest, None))
        print("  %-8s run %d: %7.3f s" % (name, i + 1, times[-1]))
        sys.stdout.flush()
        if i < RUNS - 1:
            shutil.rmtree(dest, ignore_errors=True)   # every run starts cold
    return statistics.median(times), results[-1]


def warm_run(name, fn, dest, reg, expect_nothing):
    """One more pull into dest, which holds the image already: (seconds,
    output, blob GETs, bytes).  expect_nothing: warn when a blob was
    fetched (skopeo fetches the config again every time: not warned)."""
    if time.monotonic() > DEADLINE:
        print("  %-8s warm: skipped (BENCH_PULL_DEADLINE passed)" % name)
        return None, None, 0, 0
    mark = len(reg.logs())
    out = fn(dest)
    t, res = out if isinstance(out, tuple) else (out, None)
    n, size = blob_traffic(reg, mark)
    print("  %-8s warm: %7.3f s, %d blob(s) fetched (%d bytes)" % (name, t, n, size))
    if n and expect_nothing:
        print("  WARNING: %s fetched %d blob(s) on a warm run" % (name, n))
    sys.stdout.flush()
    return t, res, n, size


def provisioner_runs(reg, ca, work, digest):
    """The same image through the product's path: a registry credential and
    a sandbox image over the API, POST /sandboxes/provision, and the time
    until GET /sandboxes/{task} says ready (includes the claim, which the
    provisioner polls for every 50 ms here).  Cold runs start from an empty
    store; the warm run reuses the last one.  Returns (median cold, warm)."""
    store = os.path.join(work, "prov-store")
    conf = {"pull": {"store_dir": store, "ca_file": ca.ca_file,
                     "allow_private_networks": "true", "poll_ms": "50",
                     "concurrency": "1"}}
    times, warm = [], None
    with Stack(conf_extra=conf) as s:
        ws = s.workspace("bench")
        _, key = s.actor(ws, "owner")
        r = s.request("POST", "/registries", {"name": "bench", "server": reg.host,
                                              "username": USER, "password": PASSWORD},
                      key=key, ws=ws)
        rid = r.json()["id"]
        r = s.request("POST", "/sandbox-images", {"name": "big", "image": reg.host + "/" + REPO,
                                                  "tag": TAG, "registry_id": rid},
                      key=key, ws=ws)
        iid = r.json()["id"]
        s.start_provisioner("bench")
        for i in range(RUNS + 1):
            if time.monotonic() > DEADLINE:
                print("  provisioner: deadline reached, skipped")
                break
            if i < RUNS:
                shutil.rmtree(store, ignore_errors=True)
            t0 = time.monotonic()
            s.request("POST", "/sandboxes/provision", {"task_id": "bench-%d" % i,
                                                       "image_id": iid}, key=key, ws=ws)
            sb = {}
            while time.monotonic() - t0 < PULL_TIMEOUT:
                sb = s.request("GET", "/sandboxes/bench-%d" % i, key=key, ws=ws).json()
                if sb.get("status") != "provisioning":
                    break
                time.sleep(0.01)
            dt = time.monotonic() - t0
            if sb.get("status") != "ready" or sb.get("image_digest") != digest:
                print("  WARNING: provisioner run %d ended %s %s" % (
                    i + 1, sb.get("status"), sb.get("error")))
            label = "run %d" % (i + 1) if i < RUNS else "warm"
            print("  provisioner %-6s %7.3f s" % (label + ":", dt))
            if i < RUNS:
                times.append(dt)
            else:
                warm = dt
    return (statistics.median(times) if times else None), warm


def main():
    work = tempfile.mkdtemp(prefix="modbox-bench-pull-")
    try:
        with CA(os.path.join(work, "ca")) as ca, \
                Registry(auth="htpasswd", users={USER: PASSWORD}, ca=ca) as reg:
            t0 = time.monotonic()
            img = build_image(os.path.join(work, "image"), layers=layers_for(MB), seed="bench",
                              ref=TAG)
            size = sum(img.layer_sizes)
            print("image: %d layers, %.1f MB compressed, built in %.2f s" % (
                len(img.layer_digests), size / 1e6, time.monotonic() - t0))
            t0 = time.monotonic()
            digest = push(img, reg, REPO, TAG, USER, PASSWORD)
            print("pushed %s:%s %s in %.2f s" % (REPO, TAG, digest, time.monotonic() - t0))

            print("skopeo copy docker:// -> oci: (%d cold runs + 1 warm)" % RUNS)
            t_skopeo, (dest, _) = timed_runs("skopeo", lambda d: pull_with_skopeo(reg, d), work)
            got = skopeo_inspect_oci(dest, TAG).get("Digest")
            if got != digest:
                print("  WARNING: skopeo pulled %s, expected %s" % (got, digest))
            w_skopeo = warm_run("skopeo", lambda d: pull_with_skopeo(reg, d), dest, reg,
                                False)[0]
            shutil.rmtree(dest, ignore_errors=True)

            pwfile = os.path.join(work, "password")
            fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(PASSWORD)
            print("regpull (%d cold runs + 1 warm)" % RUNS)
            regpull = lambda d: pull_with_modbox(reg, d, password_file=pwfile)  # noqa: E731
            try:
                t_modbox, (dest, got) = timed_runs("regpull", regpull, work)
                problems = check_layout(dest, TAG)
                if got != digest or problems:
                    print("  WARNING: regpull printed %r (expected %s); layout problems: %s" % (
                        got, digest, problems or "none"))
                try:
                    info = skopeo_inspect_oci(dest, TAG)
                    if info.get("Digest") != digest or info.get("Layers") != img.layer_digests:
                        print("  WARNING: skopeo reads %s with layers %s from regpull's store" % (
                            info.get("Digest"), info.get("Layers")))
                    else:
                        print("  skopeo inspect oci:<regpull store>:%s: %s, %d layers" % (
                            TAG, info.get("Digest"), len(info.get("Layers") or [])))
                except HarnessError as e:
                    print("  WARNING: skopeo cannot read regpull's store: %s" % e)
                w_modbox, got_w, _n, _b = warm_run("regpull", regpull, dest, reg, True)
                if w_modbox is not None and got_w != digest:
                    print("  WARNING: warm regpull printed %r (expected %s)" % (got_w, digest))
            except HarnessError as e:
                print("  regpull: %s" % e)
                print("\nskopeo median %.3f s (%.0f MB/s); regpull: not available" % (
                    t_skopeo, size / 1e6 / t_skopeo))
                return 1

            print("modbox-provisioner, end to end: POST /sandboxes/provision until ready "
                  "(%d cold runs + 1 warm)" % RUNS)
            t_prov, w_prov = provisioner_runs(reg, ca, work, digest)

            print("\n%-22s %12s %9s %12s" % ("client", "cold median", "MB/s", "warm"))

            def warm_s(t):
                return "%9.3f s" % t if t is not None else "  (skipped)"
            for name, t, w in (("skopeo", t_skopeo, w_skopeo),
                               ("regpull (modbox)", t_modbox, w_modbox),
                               ("modbox-provisioner", t_prov, w_prov)):
                if t is not None:
                    print("%-22s %10.3f s %9.0f %12s" % (name, t, size / 1e6 / t, warm_s(w)))
            print("ratio regpull/skopeo, cold: %.2f" % (t_modbox / t_skopeo))
            if t_prov is not None:
                print("ratio provisioner/skopeo, cold: %.2f" % (t_prov / t_skopeo))
            if w_modbox is not None and w_skopeo is not None:
                print("ratio regpull/skopeo, warm: %.2f" % (w_modbox / w_skopeo))
            return 0
    finally:
        if os.environ.get("MODBOX_KEEP_TMP") == "1":
            print("MODBOX_KEEP_TMP=1: kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
