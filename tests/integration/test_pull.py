#!/usr/bin/env python3
"""The pull at provision time, end to end, against a real registry.

A private CA, docker-registry over TLS with htpasswd auth, images built and
pushed by this script; modbox.fcgi (POST /registries, /sandbox-images,
/sandboxes/provision, /sandboxes/wait, /registries/{id}/verify) and
modbox-provisioner (Stack.start_provisioner) against it; skopeo, umoci and
check_layout() read what landed in the store.  SPEC.md section 5 and
README.md "Sandboxes" are the contract.

Covered: a private image pulls (status ready, image_digest = the registry's
digest, the ref name in STORE/index.json, skopeo inspect, every blob's sha256,
umoci unpack); blobs already in the store are not fetched again (the
registry's access log); every failure code: registry_auth_failed (wrong
password, htpasswd and token), registry_deleted, registry_disabled,
image_not_found (unknown tag), registry_unreachable (registry stopped: after
retries, >= retry_seconds, several attempts), digest_mismatch (a corrupted
layer, nothing half-written; a tampered manifest), insecure_registry_refused
(plain HTTP not listed) and, with the regpull tool, a listed plain-HTTP
registry that pulls and address_blocked for loopback; token auth (scope,
Basic credentials to the realm, one token per pull, not per blob); an image
index (linux/amd64 by default, linux/arm64 with regpull --platform); two
provisioners sharing 20 pending sandboxes (each pulled once, each blob
downloaded once); POST /registries/{id}/verify; SIGTERM with a pull in
flight (exit 0, the lease released); and no password anywhere: responses,
every log, the store, the database dump, regpull's output.

Environment: MODBOX_BUILDDIR (app/modbox-provisioner, tests/tools/regpull),
MODBOX_KEEP_TMP=1.
"""

import atexit
import base64
import collections
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import sys
import tempfile
import time

import tap
from apicheck import jbody, show
from modbox_harness import BUILDDIR, Stack, sanitizer_check
from registry_harness import (CA, REF_ANNOTATION, Registry, TokenServer, build_image,
                              build_index, check_layout, layout_ref, push, run,
                              skopeo_inspect_oci, umoci_unpack)

REGPULL = os.path.join(BUILDDIR, "tests", "tools", "regpull")
PROVISIONER = os.path.join(BUILDDIR, "app", "modbox-provisioner")
RETRY_SECONDS = 3
PULL_DEADLINE = 90          # seconds for one sandbox to leave provisioning
MANY = 20                   # sandboxes shared by two provisioners
WAIT_MAX = 20               # [http] wait_max_seconds (the default)

if not os.access(PROVISIONER, os.X_OK):
    tap.skip_all("%s is not built" % PROVISIONER)

TIMINGS = []


@contextlib.contextmanager
def step(name):
    t0 = time.monotonic()
    try:
        yield
    finally:
        TIMINGS.append((name, time.monotonic() - t0))


def tok(tag):
    return "%s-%s" % (tag, secrets.token_hex(10))


USER, PASSWORD = "puller", tok("pw-good")
WRONG = tok("pw-wrong")
TUSER, TPASS, TWRONG = "tokuser", tok("pw-token"), tok("pw-token-wrong")
PASSWORDS = [PASSWORD, WRONG, TPASS, TWRONG]
# what must never show up: each password, and the Basic credentials made of it
SECRETS = []
for _u, _p in ((USER, PASSWORD), (USER, WRONG), (TUSER, TPASS), (TUSER, TWRONG)):
    SECRETS += [_p, base64.b64encode(("%s:%s" % (_u, _p)).encode()).decode(),
                base64.b64encode(_p.encode()).decode()]

ALL = []                    # every response of the script
TOOL_OUTPUT = []            # what regpull printed


def sbshow(sb):
    return json.dumps(sb, indent=1) if sb is not None else "None"


# ------------------------------------------------------------------ set-up
WORK = tempfile.mkdtemp(prefix="modbox-pull-")


def _cleanup_work():
    if os.environ.get("MODBOX_KEEP_TMP") == "1":
        sys.stdout.write("# MODBOX_KEEP_TMP=1: kept %s\n" % WORK)
    else:
        shutil.rmtree(WORK, ignore_errors=True)


atexit.register(_cleanup_work)
STORE = os.path.join(WORK, "store")
STORE2 = os.path.join(WORK, "store2")
IMAGES = os.path.join(WORK, "images")

with step("CA + registry (htpasswd, TLS) start"):
    ca = CA(os.path.join(WORK, "ca"))
    reg = Registry(auth="htpasswd", users={USER: PASSWORD}, ca=ca)
    reg.start()
atexit.register(reg.close)
HOST = reg.host

with step("build + push team/app:v1, team/other:v1"):
    APP = build_image(os.path.join(IMAGES, "app"), seed="app", shared_base=True)
    OTHER = build_image(os.path.join(IMAGES, "other"), seed="other", shared_base=True)
    APP_DIGEST = push(APP, reg, "team/app", "v1", USER, PASSWORD)
    OTHER_DIGEST = push(OTHER, reg, "team/other", "v1", USER, PASSWORD)
tap.is_(APP_DIGEST, APP.manifest_digest, "set-up: registry reports the pushed app digest")
tap.ok(APP.layer_digests[0] == OTHER.layer_digests[0] and
       set(APP.layer_digests[1:]).isdisjoint(OTHER.layer_digests[1:]),
       "set-up: team/app and team/other share exactly their base layer")

PULL_CONF = {"store_dir": STORE, "ca_file": ca.ca_file, "allow_private_networks": "true",
             "retry_seconds": str(RETRY_SECONDS), "poll_ms": "100", "concurrency": "2"}
with step("stack start"):
    stack = Stack(conf_extra={"pull": dict(PULL_CONF)})
    stack.__enter__()            # sanitizer_check() closes it
atexit.register(stack.close)
_request = stack.request


def request(*a, **kw):
    r = _request(*a, **kw)
    ALL.append(r)
    return r


WS = stack.workspace("pull")
_uid, KEY = stack.actor(WS, "owner")


def api(method, path, body=None):
    return request(method, path, body, key=KEY, ws=WS)


def make_registry(name, server, username, password):
    r = api("POST", "/registries", {"name": name, "server": server, "username": username,
                                    "password": password})
    if r.status != 201:
        tap.ok(False, "POST /registries %s → 201" % name, show(r))
        return None
    return jbody(r)["id"]


def make_image(name, image, tag="v1", registry_id=None):
    body = {"name": name, "image": image, "tag": tag}
    if registry_id is not None:
        body["registry_id"] = registry_id
    r = api("POST", "/sandbox-images", body)
    if r.status != 201:
        tap.ok(False, "POST /sandbox-images %s → 201" % name, show(r))
        return None
    return jbody(r)["id"]


def provision(task_id, image_id):
    r = api("POST", "/sandboxes/provision", {"task_id": task_id, "image_id": image_id})
    j = jbody(r)
    if r.status != 202 or not isinstance(j, dict) or j.get("status") != "provisioning":
        tap.ok(False, "provision %s → 202 provisioning" % task_id, show(r))
        return False
    return True


def wait(task_id, deadline=PULL_DEADLINE):
    """POST /sandboxes/wait until the sandbox leaves provisioning (or the
    deadline passes): the last sandbox object seen (None if no 200)."""
    end = time.monotonic() + deadline
    sb = None
    while True:
        left = end - time.monotonic()
        r = api("POST", "/sandboxes/wait",
                {"task_id": task_id, "timeout": max(1, min(WAIT_MAX, int(left) + 1))})
        if r.status == 200:
            sb = jbody(r)
        if (sb is not None and sb.get("status") != "provisioning") or \
                time.monotonic() >= end:
            return sb
        if r.status != 200:
            time.sleep(0.5)


def pull(task_id, image_id, deadline=PULL_DEADLINE):
    """Provision and wait: (sandbox, seconds)."""
    t0 = time.monotonic()
    if not provision(task_id, image_id):
        return None, 0.0
    sb = wait(task_id, deadline)
    return sb, time.monotonic() - t0


def expect_ready(sb, digest, desc):
    ok = isinstance(sb, dict) and sb.get("status") == "ready" and \
        sb.get("image_digest") == digest and sb.get("error") is None
    return tap.ok(ok, desc, "want ready with %s, got:\n%s" % (digest, sbshow(sb)))


def expect_failed(sb, code, desc):
    ok = isinstance(sb, dict) and sb.get("status") == "failed" and \
        isinstance(sb.get("error"), dict) and sb["error"].get("code") == code and \
        isinstance(sb["error"].get("message"), str) and sb["error"]["message"].strip() != "" \
        and sb.get("image_digest") is None
    return tap.ok(ok, desc, "want failed with %s, got:\n%s" % (code, sbshow(sb)))


def verify(rid, want_code, desc):
    """POST /registries/{id}/verify: 200 {"ok": true} (want_code None) or
    {"ok": false, "error": {"code": want_code, "message"}}."""
    t0 = time.monotonic()
    r = request("POST", "/registries/%s/verify" % rid, key=KEY, ws=WS,
                headers={"Content-Length": "0"})
    dt = time.monotonic() - t0
    j = jbody(r)
    if want_code is None:
        ok = r.status == 200 and j == {"ok": True}
    else:
        ok = r.status == 200 and isinstance(j, dict) and j.get("ok") is False and \
            isinstance(j.get("error"), dict) and j["error"].get("code") == want_code and \
            isinstance(j["error"].get("message"), str) and j["error"]["message"] != ""
    tap.ok(ok and dt < 20, "%s (%.2f s)" % (desc, dt), show(r))


def index_entries(store):
    try:
        with open(os.path.join(store, "index.json")) as f:
            return json.load(f).get("manifests", [])
    except (OSError, ValueError):
        return []


def refs(store):
    return {(m.get("annotations") or {}).get(REF_ANNOTATION): m for m in index_entries(store)}


def stray_files(store):
    """Files of the store that are neither oci-layout, index.json, the
    lock files (.index.lock, .blob-locks/XX: app/ocistore.h), nor a blob
    named by its sha256: a temporary or partial file."""
    out = []
    for root, _dirs, files in os.walk(store):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), store)
            if rel in ("oci-layout", "index.json", ".index.lock"):
                continue
            if re.fullmatch(r"blobs/sha256/[0-9a-f]{64}|\.blob-locks/[0-9a-f]{2}", rel):
                continue
            out.append(rel)
    return out


def has_blob(store, digest):
    return os.path.exists(os.path.join(store, "blobs", "sha256", digest.split(":", 1)[1]))


BLOB_GET = re.compile(r'"GET /v2/(\S+?)/blobs/(sha256:[0-9a-f]{64}) HTTP/[0-9.]+" (\d{3}) ')
MANIFEST_GET = re.compile(r'"GET /v2/(\S+?)/manifests/(\S+) HTTP/[0-9.]+" (\d{3}) ')


def log_mark(r):
    return len(r.logs())


def blob_gets(r, since):
    """{digest: number of GET .../blobs/DIGEST answered 200} in the
    registry's access log since the mark."""
    time.sleep(0.3)   # the access line is written once the response is done
    c = collections.Counter()
    for m in BLOB_GET.finditer(r.logs()[since:]):
        if m.group(3) == "200":
            c[m.group(2)] += 1
    return c


def manifest_gets(r, since):
    return sum(1 for m in MANIFEST_GET.finditer(r.logs()[since:]) if m.group(3) == "200")


def plog(name="p1"):
    return stack.provisioner_log(name)


PWFILE = os.path.join(WORK, "password")
WRONGFILE = os.path.join(WORK, "password-wrong")
for _f, _p in ((PWFILE, PASSWORD), (WRONGFILE, WRONG)):
    _fd = os.open(_f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(_fd, "w") as _fh:
        _fh.write(_p)

HAVE_REGPULL = tap.ok(os.access(REGPULL, os.X_OK),
                      "tests/tools/regpull is built (make tests/tools/regpull)", REGPULL)


def regpull(host, repo, tag, store, ref, user=None, pwfile=None, ca_file=None,
            insecure=None, allow_private=True, platform=None, verify_only=False,
            timeout=120):
    """Runs regpull: (rc, its last line on stdout (else stderr), stdout +
    stderr)."""
    cmd = [REGPULL, "--host", host, "--repo", repo, "--tag", tag, "--store", store,
           "--ref", ref]
    if user:
        cmd += ["--user", user, "--password-file", pwfile]
    if ca_file:
        cmd += ["--ca-file", ca_file]
    if insecure:
        cmd += ["--insecure", insecure]
    if allow_private:
        cmd += ["--allow-private"]
    if platform:
        cmd += ["--platform", platform]
    if verify_only:
        cmd += ["--verify"]
    res = run(cmd, timeout=timeout, check=False)
    out = (res.stdout + res.stderr).strip()
    TOOL_OUTPUT.append(res.stdout + res.stderr)
    lines = [l for l in res.stdout.strip().splitlines() if l.strip()] or \
        [l for l in res.stderr.strip().splitlines() if l.strip()] or [""]
    return res.rc, lines[-1].strip(), out


def regpull_code(out):
    """The CODE of a "CODE: message" line anywhere in regpull's output."""
    m = re.search(r"(?m)^([a-z_]+): ", out)
    return m.group(1) if m else None


# registry credentials and sandbox images
R_GOOD = make_registry("good", HOST, USER, PASSWORD)
R_BAD = make_registry("bad-password", HOST, USER, WRONG)
I_APP = make_image("app", HOST + "/team/app", "v1", R_GOOD)
I_OTHER = make_image("other", HOST + "/team/other", "v1", R_GOOD)
APP_REF = HOST + "/team/app:v1"

with step("provisioner p1 start"):
    stack.start_provisioner("p1")
    _end = time.monotonic() + 15
    while len(stack.provisioner_pids("p1")) < 3 and time.monotonic() < _end and \
            stack.provisioner_running("p1"):
        time.sleep(0.05)
tap.ok(stack.provisioner_running("p1") and len(stack.provisioner_pids("p1")) >= 3,
       "provisioner p1 runs: parent + 2 workers (pids %s)" % stack.provisioner_pids("p1"),
       plog("p1")[-2000:])

# ------------------------------------------------------ a private image pulls
tap.diag("=== a private image pulls")
mark = log_mark(reg)
with step("pull team/app:v1 (cold store)"):
    sb, dt = pull("app-1", I_APP)
expect_ready(sb, APP_DIGEST, "app-1: ready with the registry's manifest digest (%.2f s)" % dt)
tap.ok(isinstance(sb, dict) and sb.get("ready_at") is not None and
       sb.get("expires_at") is not None, "app-1: ready_at and expires_at set", sbshow(sb))
r = api("GET", "/sandboxes/app-1")
tap.ok(r.status == 200 and (jbody(r) or {}).get("image_digest") == APP_DIGEST,
       "GET /sandboxes/app-1: ready, the same digest", show(r))
got = blob_gets(reg, mark)
want = [APP.config_digest] + APP.layer_digests
tap.is_({d: got.get(d, 0) for d in want}, {d: 1 for d in want},
        "app-1: config and each of the 3 layers fetched once from the registry")
entry = refs(STORE).get(APP_REF)
tap.ok(entry is not None and entry.get("digest") == APP_DIGEST,
       "STORE/index.json names %s → %s" % (APP_REF, APP_DIGEST),
       json.dumps(index_entries(STORE), indent=1))
try:
    info = skopeo_inspect_oci(STORE, APP_REF)
except Exception as e:  # pylint: disable=broad-except
    info = {"error": str(e)}
tap.is_((info.get("Digest"), info.get("Layers")), (APP_DIGEST, APP.layer_digests),
        "skopeo inspect oci:STORE:%s reads the digest and the 3 layers" % APP_REF)
tap.is_(check_layout(STORE), [], "check_layout(STORE): every blob hashes to its name, "
        "everything reachable is there")
tap.is_(stray_files(STORE), [], "no temporary file left in the store")
with step("umoci unpack"):
    u = umoci_unpack(STORE, APP_REF, os.path.join(WORK, "bundle"))
tap.ok(u.ok and os.path.isfile(os.path.join(WORK, "bundle", "rootfs", "app", "info.txt")),
       "umoci unpacks the pulled image (rootfs/app/info.txt)", repr(u))
tap.like(plog("p1"), r"sandbox app-1: pulled " + re.escape(APP_REF) + r" \(" +
         re.escape(APP_DIGEST), "provisioner log: 'sandbox app-1: pulled REF (DIGEST'")

mark = log_mark(reg)
sb, dt = pull("app-2", I_APP)
expect_ready(sb, APP_DIGEST, "app-2 (same image again): ready (%.2f s)" % dt)
got = blob_gets(reg, mark)
tap.is_(dict(got), {}, "app-2: no blob fetched again (all in the store)")

mark = log_mark(reg)
sb, dt = pull("other-1", I_OTHER)
expect_ready(sb, OTHER_DIGEST, "other-1 (team/other:v1): ready (%.2f s)" % dt)
got = blob_gets(reg, mark)
want = {d: 1 for d in [OTHER.config_digest] + OTHER.layer_digests[1:]}
tap.is_(dict(got), want, "other-1: the shared base layer not fetched, its own config and "
        "2 layers once each")
tap.is_(check_layout(STORE), [], "check_layout(STORE) after team/other")

# ------------------------------------------------------ failures
tap.diag("=== failures")
I_BADPW = make_image("app-badpw", HOST + "/team/app", "v1", R_BAD)
sb, dt = pull("fail-badpw", I_BADPW)
expect_failed(sb, "registry_auth_failed", "wrong password → failed registry_auth_failed "
              "(%.2f s)" % dt)
verify(R_GOOD, None, "verify good credentials → ok true")
verify(R_BAD, "registry_auth_failed", "verify wrong password → ok false registry_auth_failed")

R_GONE = make_registry("gone", HOST, USER, PASSWORD)
I_GONE = make_image("app-gone", HOST + "/team/app", "v1", R_GONE)
r = api("DELETE", "/registries/%s" % R_GONE)
tap.is_(r.status, 204, "DELETE the registry of app-gone → 204")
sb, dt = pull("fail-deleted", I_GONE)
expect_failed(sb, "registry_deleted", "registry deleted → failed registry_deleted (%.2f s)" % dt)

R_OFF = make_registry("off", HOST, USER, PASSWORD)
I_OFF = make_image("app-off", HOST + "/team/app", "v1", R_OFF)
r = api("PUT", "/registries/%s" % R_OFF, {"enabled": False})
tap.ok(r.status == 200 and (jbody(r) or {}).get("enabled") is False,
       "PUT enabled false → 200", show(r))
sb, dt = pull("fail-disabled", I_OFF)
expect_failed(sb, "registry_disabled", "registry disabled → failed registry_disabled "
              "(%.2f s)" % dt)

I_V9 = make_image("app-v9", HOST + "/team/app", "v9", R_GOOD)
sb, dt = pull("fail-tag", I_V9)
expect_failed(sb, "image_not_found", "unknown tag v9 → failed image_not_found (%.2f s)" % dt)
I_NOREPO = make_image("norepo", HOST + "/team/nothere", "v1", R_GOOD)
sb, dt = pull("fail-repo", I_NOREPO)
expect_failed(sb, "image_not_found", "unknown repository → failed image_not_found "
              "(%.2f s)" % dt)

# a corrupted layer
CORRUPT = build_image(os.path.join(IMAGES, "corrupt"), seed="corrupt", shared_base=True)
push(CORRUPT, reg, "team/corrupt", "v1", USER, PASSWORD)
VICTIM = CORRUPT.layer_digests[1]
reg.corrupt_blob(VICTIM)
I_CORRUPT = make_image("corrupt", HOST + "/team/corrupt", "v1", R_GOOD)
sb, dt = pull("fail-corrupt", I_CORRUPT)
expect_failed(sb, "digest_mismatch", "a corrupted layer → failed digest_mismatch (%.2f s)" % dt)
tap.ok(not has_blob(STORE, VICTIM), "the corrupted layer is not in the store under its digest")
tap.is_(stray_files(STORE), [], "no temporary or partial file left in the store")
tap.is_(check_layout(STORE), [], "check_layout(STORE) clean after the corrupted pull")
tap.ok(HOST + "/team/corrupt:v1" not in refs(STORE),
       "index.json does not name the corrupted image")

# a tampered manifest
TAMPER = build_image(os.path.join(IMAGES, "tamper"), seed="tamper", shared_base=True)
push(TAMPER, reg, "team/tamper", "v1", USER, PASSWORD)
reg.tamper_manifest(TAMPER.manifest_digest)
I_TAMPER = make_image("tamper", HOST + "/team/tamper", "v1", R_GOOD)
sb, dt = pull("fail-tamper", I_TAMPER)
expect_failed(sb, "digest_mismatch", "a tampered manifest → failed digest_mismatch "
              "(%.2f s)" % dt)
tap.ok(HOST + "/team/tamper:v1" not in refs(STORE) and
       not has_blob(STORE, TAMPER.manifest_digest) and check_layout(STORE) == [] and
       stray_files(STORE) == [],
       "the tampered manifest left nothing: no ref, no blob under its digest, layout clean",
       repr((check_layout(STORE), stray_files(STORE))))

# the registry stopped
with step("registry stopped: pull fails after retries"):
    reg.stop()
    verify(R_GOOD, "registry_unreachable", "verify with the registry stopped → "
           "registry_unreachable")
    sb, dt = pull("fail-down", I_APP, deadline=RETRY_SECONDS + 60)
expect_failed(sb, "registry_unreachable", "registry stopped → failed registry_unreachable "
              "(%.2f s)" % dt)
tap.ok(dt >= RETRY_SECONDS - 0.5, "it took %.2f s ≥ ~retry_seconds (%d): retried first" % (
    dt, RETRY_SECONDS))
tap.ok(dt < RETRY_SECONDS + 30, "and gave up in a bounded time (%.2f s)" % dt)
attempts = [l for l in plog("p1").splitlines() if "sandbox fail-down:" in l]
tap.ok(len(attempts) >= 2 and all("registry_unreachable" in l for l in attempts),
       "provisioner log: %d attempts for fail-down, each registry_unreachable" % (
           len(attempts)), "\n".join(attempts) or plog("p1")[-3000:])
tap.ok(len(attempts) >= 2 and all("will retry" in l for l in attempts[:-1]) and
       "failed: registry_unreachable" in attempts[-1],
       "the log says which attempts will be retried and which one failed for good",
       "\n".join(attempts))
rows = stack.sql("SELECT attempts FROM sandboxes WHERE task_id = 'fail-down'")
tap.ok(rows and rows[0][0] is not None and int(rows[0][0]) >= 2,
       "sandboxes.attempts of fail-down ≥ 2 (%s)" % rows)
with step("registry start again"):
    reg.start()
verify(R_GOOD, None, "verify after the registry is back → ok true")
sb, dt = pull("app-back", I_APP)
expect_ready(sb, APP_DIGEST, "a pull after the registry is back → ready (%.2f s)" % dt)

# plain HTTP
with step("plain-HTTP registry cases"):
    hreg = Registry(auth="none", tls=False)
    hreg.start()
    atexit.register(hreg.close)
    HHOST = hreg.host
    H_DIGEST = push(APP, hreg, "team/app", "v1")
    I_HTTP = make_image("http-app", HHOST + "/team/app", "v1")
    sb, dt = pull("fail-http", I_HTTP)
    expect_failed(sb, "insecure_registry_refused", "plain-HTTP registry not listed → failed "
                  "insecure_registry_refused (%.2f s)" % dt)
    R_HTTP = make_registry("plain-http", HHOST, USER, PASSWORD)
    verify(R_HTTP, "insecure_registry_refused", "verify a plain-HTTP registry not listed → "
           "insecure_registry_refused")
    if HAVE_REGPULL:
        hstore = os.path.join(WORK, "store-http")
        rc, line, out = regpull(HHOST, "team/app", "v1", hstore, "http-app")
        tap.ok(rc == 1 and regpull_code(out) == "insecure_registry_refused",
               "regpull of a plain-HTTP registry not listed → insecure_registry_refused, "
               "exit 1", out)
        rc, line, out = regpull(HHOST, "team/app", "v1", hstore, "http-app", insecure=HHOST)
        tap.ok(rc == 0 and line == H_DIGEST, "regpull --insecure HOST pulls it, prints "
               "the digest", out)
        tap.is_(check_layout(hstore, "http-app"), [], "regpull's plain-HTTP store is valid")
    else:
        for d in ("regpull plain HTTP not listed", "regpull plain HTTP listed",
                  "regpull plain HTTP store"):
            tap.skip(d, "regpull not built")
    hreg.close()

# address_blocked and regpull basics over TLS
if HAVE_REGPULL:
    rstore = os.path.join(WORK, "store-regpull")
    rc, line, out = regpull(HOST, "team/app", "v1", rstore, "app", user=USER, pwfile=PWFILE,
                            ca_file=ca.ca_file, allow_private=False)
    tap.ok(rc == 1 and regpull_code(out) == "address_blocked",
           "regpull to 127.0.0.1 without --allow-private → address_blocked, exit 1", out)
    tap.ok(not os.path.isdir(os.path.join(rstore, "blobs", "sha256")) or
           not os.listdir(os.path.join(rstore, "blobs", "sha256")),
           "nothing fetched when the address is blocked")
    rc, line, out = regpull(HOST, "team/app", "v1", rstore, "app", user=USER, pwfile=WRONGFILE,
                            ca_file=ca.ca_file)
    tap.ok(rc == 1 and regpull_code(out) == "registry_auth_failed",
           "regpull with a wrong password → registry_auth_failed", out)
    rc, line, out = regpull(HOST, "team/app", "v1", rstore, "app", user=USER, pwfile=PWFILE)
    tap.ok(rc == 1 and regpull_code(out) == "registry_unreachable",
           "regpull without --ca-file: the private CA is not trusted → registry_unreachable",
           out)
    rc, line, out = regpull(HOST, "team/app", "v1", rstore, "app", user=USER, pwfile=PWFILE,
                            ca_file=ca.ca_file)
    tap.ok(rc == 0 and line == APP_DIGEST, "regpull with --allow-private and the CA pulls, "
           "prints the digest", out)
    tap.is_(check_layout(rstore, "app"), [], "regpull's store is valid")
else:
    for d in ("regpull address_blocked", "regpull nothing fetched", "regpull wrong password",
              "regpull untrusted CA", "regpull pulls", "regpull store"):
        tap.skip(d, "regpull not built")

# ------------------------------------------------------ token auth
tap.diag("=== token auth")
with step("token server + registry (token, TLS) start, push"):
    ts = TokenServer({TUSER: TPASS}, ca=ca)
    ts.start()
    atexit.register(ts.close)
    treg = Registry(auth="token", token_server=ts, ca=ca)
    treg.start()
    atexit.register(treg.close)
    TOKIMG = build_image(os.path.join(IMAGES, "tok"), seed="tok")
    T_DIGEST = push(TOKIMG, treg, "team/app", "v1", TUSER, TPASS)
THOST = treg.host
R_TOK = make_registry("token", THOST, TUSER, TPASS)
R_TOKBAD = make_registry("token-bad", THOST, TUSER, TWRONG)
I_TOK = make_image("tok-app", THOST + "/team/app", "v1", R_TOK)
I_TOKBAD = make_image("tok-app-bad", THOST + "/team/app", "v1", R_TOKBAD)
ts.reset()
mark = log_mark(treg)
sb, dt = pull("tok-1", I_TOK)
expect_ready(sb, T_DIGEST, "token registry: pull → ready with its digest (%.2f s)" % dt)
reqs = ts.requests
nblobs = sum(blob_gets(treg, mark).values())
tap.ok(nblobs >= 4, "token registry: the pull fetched %d blobs (config + 3 layers)" % nblobs)
good = [q for q in reqs if any("repository:team/app:pull" in s.split(" ") for s in q["scopes"])
        and q["authorization"] and (q["scheme"] or "").lower() == "basic"
        and q["user"] == TUSER and q["status"] == 200]
tap.ok(good, "the token server got scope repository:team/app:pull with Basic credentials "
       "of %s, and answered 200" % TUSER, json.dumps(reqs, indent=1, default=str))
tap.ok(1 <= len(reqs) <= 2, "the token is reused: %d token request(s) for 1 manifest + %d "
       "blobs" % (len(reqs), nblobs), json.dumps(reqs, indent=1, default=str))
tap.ok(all(q["authorization"] and q["user"] == TUSER for q in reqs),
       "every token request carried the credentials", json.dumps(reqs, default=str))
ts.reset()
sb, dt = pull("tok-bad", I_TOKBAD)
expect_failed(sb, "registry_auth_failed", "token registry, wrong password → failed "
              "registry_auth_failed (%.2f s)" % dt)
tap.ok(any(q["status"] == 401 for q in ts.requests),
       "the token server refused the wrong password (401)", json.dumps(ts.requests, default=str))
verify(R_TOK, None, "verify token registry, good credentials → ok true")
if HAVE_REGPULL:
    TPWFILE = os.path.join(WORK, "password-token")
    _fd = os.open(TPWFILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(_fd, "w") as _fh:
        _fh.write(TPASS + "\n")   # one trailing newline is dropped
    ts.reset()
    rc, line, out = regpull(THOST, "team/app", "v1", os.path.join(WORK, "unused"), "x",
                            user=TUSER, pwfile=TPWFILE, ca_file=ca.ca_file, verify_only=True)
    tap.ok(rc == 0 and line == "ok" and any(
        "repository:team/app:pull" in q["scopes"] for q in ts.requests),
           "regpull --verify on the token registry → ok, with a token for the repository",
           out + "\n" + json.dumps(ts.requests, default=str))
else:
    tap.skip("regpull --verify", "regpull not built")
verify(R_TOKBAD, "registry_auth_failed", "verify token registry, wrong password → "
       "registry_auth_failed")

# ------------------------------------------------------ an image index
tap.diag("=== image index")
with step("index: build + push"):
    IDX = build_index(os.path.join(IMAGES, "idx"), seed="idx", shared_base=True)
    IDX_DIGEST = push(IDX, reg, "team/multi", "v1", USER, PASSWORD)
AMD, ARM = IDX.platforms["linux/amd64"], IDX.platforms["linux/arm64"]
I_IDX = make_image("multi", HOST + "/team/multi", "v1", R_GOOD)
sb, dt = pull("idx-1", I_IDX)
tap.ok(isinstance(sb, dict) and sb.get("status") == "ready" and
       sb.get("image_digest") in (IDX_DIGEST, AMD.manifest_digest),
       "index: ready (%.2f s), image_digest is the %s digest" % (
           dt, "index's" if (sb or {}).get("image_digest") == IDX_DIGEST else
           "amd64 manifest's" if (sb or {}).get("image_digest") == AMD.manifest_digest
           else "?"), sbshow(sb))
IDX_REF = HOST + "/team/multi:v1"
entry = refs(STORE).get(IDX_REF)
tap.ok(entry is not None and entry.get("digest") == AMD.manifest_digest,
       "index: STORE/index.json names %s → the linux/amd64 manifest" % IDX_REF,
       json.dumps(entry))
tap.ok(all(has_blob(STORE, d) for d in [AMD.config_digest] + AMD.layer_digests),
       "index: the amd64 config and layers are in the store")
tap.ok(not any(has_blob(STORE, d) for d in [ARM.config_digest] + ARM.layer_digests[1:]),
       "index: none of the arm64-only blobs is in the store")
try:
    info = skopeo_inspect_oci(STORE, IDX_REF)
except Exception as e:  # pylint: disable=broad-except
    info = {"error": str(e)}
tap.is_((info.get("Architecture"), info.get("Layers")), ("amd64", AMD.layer_digests),
        "index: skopeo inspect says amd64 and the amd64 layers")
tap.is_(check_layout(STORE), [], "check_layout(STORE) after the index")
if HAVE_REGPULL:
    astore = os.path.join(WORK, "store-arm64")
    rc, line, out = regpull(HOST, "team/multi", "v1", astore, "multi", user=USER, pwfile=PWFILE,
                            ca_file=ca.ca_file, platform="linux/arm64")
    tap.ok(rc == 0 and line in (IDX_DIGEST, ARM.manifest_digest),
           "regpull --platform linux/arm64 pulls the index (%s)" % line, out)
    e2 = refs(astore).get("multi")
    tap.ok(e2 is not None and e2.get("digest") == ARM.manifest_digest and
           all(has_blob(astore, d) for d in [ARM.config_digest] + ARM.layer_digests) and
           not any(has_blob(astore, d) for d in [AMD.config_digest] + AMD.layer_digests[1:]),
           "regpull --platform linux/arm64: the arm64 manifest, config and layers, no amd64 ones",
           json.dumps(e2))
    tap.is_(check_layout(astore), [], "the arm64 store is valid")
else:
    for d in ("regpull arm64", "regpull arm64 blobs", "regpull arm64 store"):
        tap.skip(d, "regpull not built")

# ------------------------------------------------------ two provisioners, 20 sandboxes
tap.diag("=== two provisioners, %d sandboxes" % MANY)
t0 = time.monotonic()
rc = stack.stop_provisioner("p1")
tap.ok(rc == 0 and not stack.provisioner_stray.get("p1"),
       "p1 stopped by SIGTERM: exit %s in %.3f s, no worker left" % (rc, time.monotonic() - t0))
# a fresh store, so that every blob must be downloaded
stack.write_conf({"pull": dict(PULL_CONF, store_dir=STORE2)})
MANY_IMAGES = []
with step("many: build + push 4 images sharing a base"):
    for i in range(4):
        img = build_image(os.path.join(IMAGES, "c%d" % i), seed="c%d" % i, shared_base=True,
                          layers=(("cbase", 768 << 10), ("lib", 128 << 10), ("app", 16 << 10)))
        d = push(img, reg, "team/c%d" % i, "v1", USER, PASSWORD)
        iid = make_image("c%d" % i, HOST + "/team/c%d" % i, "v1", R_GOOD)
        MANY_IMAGES.append((img, d, iid, HOST + "/team/c%d:v1" % i))
mark = log_mark(reg)
TASKS = ["many-%02d" % i for i in range(MANY)]
made = [provision(t, MANY_IMAGES[i % 4][2]) for i, t in enumerate(TASKS)]
tap.ok(all(made), "%d sandboxes provisioned with no provisioner running" % MANY)
time.sleep(0.5)
rows = stack.sql("SELECT COUNT(*) FROM sandboxes WHERE task_id LIKE 'many-%' "
                 "AND status = 'provisioning' AND lease_owner IS NULL")
tap.is_(rows, [(str(MANY),)], "all %d pending, unclaimed" % MANY)
with step("many: 2 provisioners pull %d sandboxes" % MANY):
    t0 = time.monotonic()
    stack.start_provisioner("p1")
    stack.start_provisioner("p2")
    results = {t: wait(t, deadline=max(5, 180 - (time.monotonic() - t0))) for t in TASKS}
    many_dt = time.monotonic() - t0
bad = {t: sb for t, sb in results.items()
       if not (isinstance(sb, dict) and sb.get("status") == "ready" and
               sb.get("image_digest") == MANY_IMAGES[TASKS.index(t) % 4][1])}
tap.ok(not bad, "all %d sandboxes ready with their image's digest (%.2f s)" % (MANY, many_dt),
       json.dumps(bad, indent=1)[:3000])
logs = {n: plog(n) for n in ("p1", "p2")}
pulled = collections.Counter()
by = collections.Counter()
fetched_total = 0
for n, text in logs.items():
    for m in re.finditer(r"sandbox (many-\d+): pulled \S+ \(\S+, (\d+) blobs fetched", text):
        pulled[m.group(1)] += 1
        by[n] += 1
        fetched_total += int(m.group(2))
tap.is_({t: pulled.get(t, 0) for t in TASKS}, {t: 1 for t in TASKS},
        "each task_id in exactly one 'pulled' line across both logs")
tap.diag("pulls by provisioner: %s; 'blobs fetched' summed over the lines: %d" % (
    dict(by), fetched_total))
got = blob_gets(reg, mark)
distinct = []
for img, _d, _i, _r in MANY_IMAGES:
    for dg in [img.config_digest] + img.layer_digests:
        if dg not in distinct:
            distinct.append(dg)
tap.is_(len(distinct), 13, "the 4 images have 13 distinct blobs (4 configs, 1 shared base, "
        "8 own layers)")
what = {}
for k, (img, _d, _i, _r) in enumerate(MANY_IMAGES):
    what.setdefault(img.config_digest, "c%d config" % k)
    what.setdefault(img.layer_digests[0], "shared base layer")
    for name, dg in zip(("lib", "app"), img.layer_digests[1:]):
        what.setdefault(dg, "c%d %s layer" % (k, name))
wrong = ["%s (%s): downloaded %d times" % (d, what[d], got.get(d, 0))
         for d in distinct if got.get(d, 0) != 1]
tap.ok(not wrong, "registry access log: each of the 13 blobs downloaded exactly once (the "
       "shared base too), for %d sandboxes on 2 provisioners x 2 workers" % MANY,
       "\n".join(wrong))
tap.diag("manifest GETs answered 200 during that phase: %d" % manifest_gets(reg, mark))
tap.is_(check_layout(STORE2), [], "check_layout(STORE2): valid after the concurrent pulls")
tap.is_(stray_files(STORE2), [], "no temporary file left in STORE2")
r2 = refs(STORE2)
tap.ok(all(r2.get(ref, {}).get("digest") == d for _i, d, _id, ref in MANY_IMAGES),
       "STORE2/index.json names the 4 images (no entry lost to concurrent writers)",
       json.dumps(sorted(k for k in r2 if k)))

# ------------------------------------------------------ TTL expiry
tap.diag("=== TTL expiry")
# The provisioners are running: a ready sandbox whose TTL ran out becomes
# destroyed within the parent's 5 s sweep; one not yet expired stays ready.
ttl_tasks = TASKS[:2]
if len(ttl_tasks) == 2:
    stack.sql_exec("UPDATE sandboxes SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND "
                   "WHERE task_id = '%s'" % ttl_tasks[0])
    deadline = time.monotonic() + 15
    st = None
    while time.monotonic() < deadline:
        st = jbody(api("GET", "/sandboxes/" + ttl_tasks[0])).get("status")
        if st == "destroyed":
            break
        time.sleep(0.25)
    tap.is_(st, "destroyed", "a ready sandbox past its TTL is destroyed by the provisioner")
    tap.is_(jbody(api("GET", "/sandboxes/" + ttl_tasks[1])).get("status"), "ready",
            "a ready sandbox within its TTL stays ready")
else:
    tap.ok(False, "TTL expiry: no ready sandboxes to expire")

# ------------------------------------------------------ SIGTERM with a pull in flight
tap.diag("=== SIGTERM with a pull in flight")
hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
hole.bind(("127.0.0.1", 0))
hole.listen(16)          # never accepted: TCP connects, TLS never answers
atexit.register(hole.close)
HOLE = "127.0.0.1:%d" % hole.getsockname()[1]
I_HOLE = make_image("hole", HOLE + "/team/app", "v1")
provision("term-1", I_HOLE)
claimed = None
end = time.monotonic() + 10
while time.monotonic() < end:
    rows = stack.sql("SELECT lease_owner FROM sandboxes WHERE task_id = 'term-1'")
    if rows and rows[0][0]:
        claimed = rows[0][0]
        break
    time.sleep(0.1)
tap.ok(claimed, "term-1 (a registry that never answers) is claimed by a worker (%s)" % claimed)
time.sleep(0.5)
PIDS = {n: stack.provisioner_pids(n) for n in ("p1", "p2")}
holder = None
if claimed:
    wpid = int(claimed.split(":")[-2])
    holder = next((n for n, pids in PIDS.items() if wpid in pids), None)
stop_times = {}
with step("stop p1 + p2 (SIGTERM), a pull in flight"):
    t0 = time.monotonic()
    for n in ("p1", "p2"):
        if PIDS[n]:
            os.kill(PIDS[n][0], 15)
    while len(stop_times) < 2 and time.monotonic() - t0 < 40:
        for n in ("p1", "p2"):
            if n not in stop_times and not stack.provisioner_running(n):
                stop_times[n] = time.monotonic() - t0
        time.sleep(0.05)
    codes = {n: stack.stop_provisioner(n, timeout=10) for n in ("p1", "p2")}
tap.is_(codes, {"p1": 0, "p2": 0}, "both provisioners exit 0 on SIGTERM")
tap.ok(not stack.provisioner_stray.get("p1") and not stack.provisioner_stray.get("p2"),
       "no worker outlives its provisioner")
idle = [n for n in ("p1", "p2") if n != holder]
tap.ok(holder is not None and all(stop_times.get(n, 99) <= 3 for n in idle),
       "the provisioner without a pull in hand (%s) stops within 3 s (%s)" % (
           ",".join(idle), {k: round(v, 2) for k, v in stop_times.items()}))
tap.ok(holder is not None and stop_times.get(holder, 99) <= 3,
       "the one pulling from a registry stuck in the TLS handshake (%s) interrupts the pull "
       "and stops within 3 s (%.2f s)" % (holder, stop_times.get(holder, -1)))
rows = stack.sql("SELECT task_id, status, lease_owner, lease_until FROM sandboxes "
                 "WHERE status = 'provisioning'")
tap.ok(all(r[2] is None and r[3] is None for r in rows),
       "no sandbox left provisioning with a lease (%d provisioning: %s)" % (
           len(rows), [r[0] for r in rows]), repr(rows))
tap.is_([r[0] for r in rows], ["term-1"], "the only sandbox still provisioning is term-1, "
        "released for the next provisioner")
rows = stack.sql("SELECT attempts, error_code FROM sandboxes WHERE task_id = 'term-1'")
tap.is_(rows, [("0", None)], "term-1 was handed back: the interrupted attempt is not counted "
        "and no error recorded")
hole.close()
r = api("DELETE", "/sandboxes/term-1")
tap.ok(r.status == 200 and (jbody(r) or {}).get("status") == "destroyed",
       "DELETE /sandboxes/term-1 → destroyed", show(r))

# ------------------------------------------------------ the lease is renewed
tap.diag("=== a long pull keeps its lease")
# lease_seconds 10: the worker renews every ~3 s while the pull hangs in a
# TLS handshake that never completes (stall timeout 30 s), so lease_until
# moves forward and no other worker could take the sandbox over.
hole2 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
hole2.bind(("127.0.0.1", 0))
hole2.listen(16)
atexit.register(hole2.close)
I_HOLE2 = make_image("hole2", "127.0.0.1:%d/team/app" % hole2.getsockname()[1], "v1")
stack.write_conf({"pull": dict(PULL_CONF, lease_seconds="10", concurrency="1")})
stack.start_provisioner("p3")
provision("lease-1", I_HOLE2)
seen = []
end = time.monotonic() + 12
while time.monotonic() < end:
    rows = stack.sql("SELECT lease_until FROM sandboxes WHERE task_id = 'lease-1' "
                     "AND lease_owner IS NOT NULL")
    if rows and rows[0][0] and (not seen or seen[-1] != rows[0][0]):
        seen.append(rows[0][0])
    if len(seen) >= 3:
        break
    time.sleep(0.25)
tap.ok(len(seen) >= 3 and seen == sorted(seen),
       "lease_until moves forward while the pull runs (renewed: %s)" % seen)
rc = stack.stop_provisioner("p3")
rows = stack.sql("SELECT status, lease_owner, attempts FROM sandboxes WHERE task_id = 'lease-1'")
tap.is_(rc, 0, "p3 stops on SIGTERM")
tap.is_(rows, [("provisioning", None, "0")], "lease-1 handed back on SIGTERM, attempt not counted")
hole2.close()
api("DELETE", "/sandboxes/lease-1")

# ------------------------------------------------------ a dead worker is replaced
tap.diag("=== a worker that dies is replaced")
stack.write_conf({"pull": dict(PULL_CONF, concurrency="2")})
stack.start_provisioner("p4")
end = time.monotonic() + 10
while time.monotonic() < end and len(stack.provisioner_pids("p4")) < 3:
    time.sleep(0.1)
before = stack.provisioner_pids("p4")
tap.is_(len(before), 3, "p4 runs a parent and 2 workers (%s)" % before)
if len(before) == 3:
    os.kill(before[1], 9)
end = time.monotonic() + 10
after = []
while time.monotonic() < end:
    after = stack.provisioner_pids("p4")
    if len(after) == 3 and before[1] not in after:
        break
    time.sleep(0.1)
tap.ok(len(after) == 3 and before[1] not in after and after[0] == before[0],
       "the killed worker is replaced by a new one (%s -> %s)" % (before, after))
tap.like(plog("p4"), r"ended unexpectedly .*starting another", "the parent logs the replacement")
tap.is_(stack.stop_provisioner("p4"), 0, "p4 stops on SIGTERM")

# ------------------------------------------------------ no password anywhere
tap.diag("=== no password anywhere")


def leaks_in(blob):
    if isinstance(blob, str):
        blob = blob.encode("utf-8", "replace")
    return [s for s in SECRETS if s.encode() in blob]


leaks = [(i, leaks_in(x.body)) for i, x in enumerate(ALL) if leaks_in(x.body)]
leaks += [(i, "header") for i, x in enumerate(ALL)
          if any(leaks_in(v) for v in x.headers.values())]
tap.ok(not leaks, "no response of this script (%d, failures included) holds a password or "
       "Basic credentials" % len(ALL), repr(leaks[:5]))
tap.ok(not leaks_in(plog("p1")) and not leaks_in(plog("p2")),
       "neither provisioner's log holds a password (%d + %d bytes)" % (
           len(plog("p1")), len(plog("p2"))))
tap.ok(not leaks_in(stack.all_logs()), "no log of the stack (web server, MariaDB, "
       "provisioners: %d bytes) holds a password" % len(stack.all_logs()))
tap.ok(not leaks_in("".join(TOOL_OUTPUT)), "regpull never printed a password")
store_leaks = []
for root_dir in (WORK,):
    for root, _dirs, files in os.walk(root_dir):
        for f in files:
            p = os.path.join(root, f)
            if os.path.dirname(p) == WORK and f.startswith("password") or \
                    p.startswith(os.path.join(WORK, "ca")):
                continue
            with open(p, "rb") as fh:
                if leaks_in(fh.read()):
                    store_leaks.append(os.path.relpath(p, WORK))
tap.ok(not store_leaks, "no file of the stores (STORE, STORE2, regpull's) holds a password",
       repr(store_leaks[:10]))
tap.ok(not leaks_in(stack.dump()), "the database dump holds no password in clear")
bad5 = [(x.status, x.body[:200]) for x in ALL if x.status >= 500]
tap.ok(not bad5, "no response of this script was a 5xx", repr(bad5[:5]))

sanitizer_check(stack)
for o in (treg, ts, reg, ca):
    o.close()
tap.diag("timings:")
for name, dt in TIMINGS:
    tap.diag("  %-52s %7.2f s" % (name, dt))
tap.done()
