#!/usr/bin/env python3
"""Sandbox API (/sandboxes), route by route, without a provisioner.

README.md "Sandboxes" is the contract: POST /sandboxes/provision (202, the
exact object: task_id, image_id, image and tag copied from the sandbox image,
status provisioning, ttl_seconds given / the image's / 3600, image_digest and
error null, timestamps), env_vars (never returned, sealed with AES-256-GCM:
the test opens the ciphertext with the key file and checks that it is bound
to its row), validation of every field, 409 task_id_taken and the reuse of a
destroyed task_id, GET one, GET list (creation order, cursors, ?status=),
POST /sandboxes/wait (bounded by [http] wait_max_seconds = 3 here), DELETE
(200, destroyed, idempotent), roles and workspaces, and a batch of refused
requests that must leave the database byte-identical.

No provisioner runs: a sandbox stays "provisioning" unless the test plays the
provisioner and changes its row with SQL (ready with a digest, or failed with
an error).  One Stack serves every case.
"""

import atexit
import base64
import datetime
import difflib
import json
import os
import secrets
import threading
import time
import uuid

import tap
from apicheck import (ANY, NOFIELD, TS_RE, TYPE_OR_VALUE, UUID_RE, dumps, error_problems,
                      expect_error, hexid, is_int, jbody, parse_ts, qs, short, show)
from modbox_harness import Stack, sanitizer_check

try:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError:  # python3-cryptography is in tests/deps.sh; skip if absent
    AESGCM = None
    InvalidTag = Exception

SB_FIELDS = {"task_id", "image_id", "image", "tag", "status", "ttl_seconds", "image_digest",
             "error", "created_at", "updated_at", "ready_at", "expires_at"}
STATUSES = ("provisioning", "ready", "failed", "destroyed")
PREFIX = "/api/modbox.fcgi"
WAIT_MAX = 3            # [http] wait_max_seconds of this stack
DIGEST = "sha256:" + "ab" * 32
# upper time bounds get this much more when the app runs under valgrind
SLACK = 1.5 if os.environ.get("MODBOX_VALGRIND") else 0.0

SECRETS = []            # every env value sent that must never come back


def secret(tag):
    s = "envsecret-%s-%s" % (tag, secrets.token_hex(12))
    SECRETS.append(s)
    return s


def sandbox_problems(obj, want=None):
    """What is wrong with obj as a sandbox object (a list)."""
    if not isinstance(obj, dict):
        return ["not a JSON object: %r" % (obj,)]
    errs = []
    if set(obj) != SB_FIELDS:
        errs.append("keys %r, want %r" % (sorted(obj), sorted(SB_FIELDS)))
    if "env_vars" in obj:
        errs.append("env_vars is in the object")
    if not isinstance(obj.get("task_id"), str):
        errs.append("task_id %r is not a string" % (obj.get("task_id"),))
    if not (isinstance(obj.get("image_id"), str) and UUID_RE.match(obj["image_id"])):
        errs.append("image_id %r is not a canonical lowercase uuid" % (obj.get("image_id"),))
    for k in ("image", "tag"):
        if not isinstance(obj.get(k), str) or not obj.get(k):
            errs.append("%s %r is not a non-empty string" % (k, obj.get(k)))
    if obj.get("status") not in STATUSES:
        errs.append("status %r is not one of %r" % (obj.get("status"), STATUSES))
    if not is_int(obj.get("ttl_seconds")):
        errs.append("ttl_seconds %r is not an integer" % (obj.get("ttl_seconds"),))
    dg = obj.get("image_digest")
    if dg is not None and not isinstance(dg, str):
        errs.append("image_digest %r is neither null nor a string" % (dg,))
    e = obj.get("error")
    if e is not None and not (isinstance(e, dict) and set(e) == {"code", "message"}):
        errs.append("error %r is neither null nor {code, message}" % (e,))
    now = datetime.datetime.now(datetime.timezone.utc)
    for k in ("created_at", "updated_at", "ready_at", "expires_at"):
        v = obj.get(k)
        if v is None and k in ("ready_at", "expires_at"):
            continue
        if not (isinstance(v, str) and TS_RE.match(v)):
            errs.append("%s %r is not RFC 3339 UTC seconds (...Z)" % (k, v))
        elif k != "expires_at" and abs((parse_ts(v) - now).total_seconds()) > 3600:
            errs.append("%s %r is not close to now (%s)" % (k, v, now.isoformat()))
    st = obj.get("status")
    if st == "provisioning":
        for k in ("image_digest", "error", "ready_at", "expires_at"):
            if obj.get(k) is not None:
                errs.append("%s %r on a provisioning sandbox, want null" % (k, obj.get(k)))
    for k, v in (want or {}).items():
        got = obj.get(k)
        if got != v or type(got) is not type(v):
            errs.append("%s %r, want %r" % (k, got, v))
    return errs


def expect_sandbox(r, status, desc, want=None):
    errs = []
    if r.status != status:
        errs.append("status %r, want %r" % (r.status, status))
    if not r.headers.get("content-type", "").lower().startswith("application/json"):
        errs.append("Content-Type %r" % r.headers.get("content-type"))
    errs += sandbox_problems(jbody(r), want)
    tap.ok(not errs, desc, "\n".join(errs) + "\n" + show(r))
    return jbody(r) if not errs else None


# ------------------------------------------------------------------ set-up
stack = Stack(max_procs=4, conf_extra={"http": {"wait_max_seconds": str(WAIT_MAX)}})
stack.__enter__()            # starts MariaDB + lighttpd; sanitizer_check() closes it
atexit.register(stack.close)
ALL = []
_request = stack.request


def request(*a, **kw):
    r = _request(*a, **kw)
    ALL.append(r)
    return r


ws_a = stack.workspace("sbx-A")
ws_b = stack.workspace("sbx-B")              # the owner of A owns it too
ws_c = stack.workspace("sbx-C")              # someone else's
owner_id, KEY = stack.actor(ws_a, "owner")
stack.member(ws_b, owner_id, "owner")
_, ADMIN = stack.actor(ws_a, "admin")
_, MEMBER = stack.actor(ws_a, "member")
_, VIEWER = stack.actor(ws_a, "viewer")
_, OUTSIDER = stack.actor(ws_c, "owner")      # owner of C only
rev_uid, REVOKED = stack.actor(ws_a, "owner")
ROLE_KEYS = {"owner": KEY, "admin": ADMIN, "member": MEMBER, "viewer": VIEWER}

counter = [0]


def fresh(base="t"):
    counter[0] += 1
    return "%s-%d" % (base, counter[0])


def provision(body, key=None, ws=None, **kw):
    return request("POST", kw.pop("prefix", "") + "/sandboxes/provision", body=body,
                   key=key or KEY, ws=ws or ws_a, **kw)


def sget(task, key=None, ws=None, **kw):
    return request("GET", "/sandboxes/" + task, key=key or KEY, ws=ws or ws_a, **kw)


def sdelete(task, key=None, ws=None, **kw):
    return request("DELETE", "/sandboxes/" + task, key=key or KEY, ws=ws or ws_a, **kw)


def swait(body, key=None, ws=None, **kw):
    return request("POST", "/sandboxes/wait", body=body, key=key or KEY, ws=ws or ws_a, **kw)


def slist(query="", key=None, ws=None, **kw):
    return request("GET", "/sandboxes" + query, key=key or KEY, ws=ws or ws_a, **kw)


def state(task, ws=None):
    r = sget(task, ws=ws)
    return jbody(r) if r.status == 200 else None


def make_image(ws=None, **over):
    b = {"name": fresh("img"), "image": "ghcr.io/acme/app"}
    b.update(over)
    r = request("POST", "/sandbox-images", body=b, key=KEY, ws=ws or ws_a)
    if r.status != 201:
        tap.diag("set-up create of an image failed: " + show(r))
        raise RuntimeError("could not create a sandbox image: %s" % r.status)
    return r.json()


def must_provision(task, image_id, ws=None, key=None, **extra):
    b = {"task_id": task, "image_id": image_id}
    b.update(extra)
    r = provision(b, ws=ws, key=key)
    if r.status != 202:
        tap.diag("set-up provision of %s failed: %s" % (task, show(r)))
        raise RuntimeError("could not provision %s: %s" % (task, r.status))
    return r.json()


def sim_ready(task, ws=None, digest=DIGEST):
    stack.sql_exec(
        "UPDATE sandboxes SET status='ready', image_digest='%s', ready_at=UTC_TIMESTAMP(), "
        "expires_at=UTC_TIMESTAMP() + INTERVAL ttl_seconds SECOND, updated_at=UTC_TIMESTAMP() "
        "WHERE workspace_id=UNHEX('%s') AND task_id='%s'" % (digest, hexid(ws or ws_a), task))


def sim_failed(task, ws=None, code="image_not_found", message="manifest unknown"):
    stack.sql_exec(
        "UPDATE sandboxes SET status='failed', error_code='%s', error_message='%s', "
        "updated_at=UTC_TIMESTAMP() WHERE workspace_id=UNHEX('%s') AND task_id='%s'"
        % (code, message, hexid(ws or ws_a), task))


def rows_of(task, ws=None):
    return stack.sql("SELECT LOWER(HEX(id)), status FROM sandboxes WHERE workspace_id=UNHEX('%s') "
                     "AND task_id='%s'" % (hexid(ws or ws_a), task))


IMG = make_image(image="ghcr.io/acme/app", tag="v1", ttl_seconds=600)
IMG_NOTTL = make_image(image="python", tag="3.12-slim")
IMG_OFF = make_image(image="ghcr.io/acme/off", enabled=False)
IMG_B = make_image(ws=ws_b, image="ghcr.io/acme/b-only", tag="b1")
IMG_C = None
_, OWNER_C = stack.actor(ws_c, "owner")
r = request("POST", "/sandbox-images", key=OWNER_C, ws=ws_c,
            body={"name": "c-img", "image": "ghcr.io/acme/c-only"})
IMG_C = jbody(r) if r.status == 201 else {"id": str(uuid.uuid4())}
r = request("GET", "/sandbox-images?limit=200", key=KEY, ws=ws_a)
GLOBALS = [o for o in (jbody(r) or {}).get("data", []) if o.get("global")]
tap.ok(len(GLOBALS) >= 1, "(GET /sandbox-images lists at least one global image)", show(r))
GLOBAL = GLOBALS[0] if GLOBALS else {"id": str(uuid.uuid4()), "image": "?", "tag": "?",
                                     "ttl_seconds": None}

# ------------------------------------------------------------ provision
tap.diag("POST /sandboxes/provision")
t_start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
r = provision({"task_id": "job-1", "image_id": IMG["id"]})
JOB1 = expect_sandbox(r, 202, "provision {task_id, image_id} → 202 with the exact sandbox object",
                      want={"task_id": "job-1", "image_id": IMG["id"], "image": "ghcr.io/acme/app",
                            "tag": "v1", "status": "provisioning", "ttl_seconds": 600,
                            "image_digest": None, "error": None, "ready_at": None,
                            "expires_at": None})
t_end = datetime.datetime.now(datetime.timezone.utc)
tap.ok(JOB1 and JOB1["created_at"] == JOB1["updated_at"]
       and t_start - datetime.timedelta(seconds=1) <= parse_ts(JOB1["created_at"]) <= t_end,
       "provision → created_at == updated_at, the time of the request", repr(JOB1))
r = sget("job-1")
tap.ok(r.status == 200 and jbody(r) == JOB1, "GET /sandboxes/job-1 → 200, the object the provision answered",
       show(r))
r = request("GET", PREFIX + "/sandboxes/job-1", key=KEY, ws=ws_a)
tap.ok(r.status == 200 and jbody(r) == JOB1, "GET %s/sandboxes/job-1 → 200, same object" % PREFIX, show(r))
r = provision({"task_id": "job-pfx", "image_id": IMG["id"]}, prefix=PREFIX)
expect_sandbox(r, 202, "provision under %s → 202" % PREFIX, want={"task_id": "job-pfx"})

r = provision({"task_id": fresh(), "image_id": IMG["id"], "ttl_seconds": 120})
expect_sandbox(r, 202, "provision with ttl_seconds 120 → 202, ttl_seconds 120", want={"ttl_seconds": 120})
r = provision({"task_id": fresh(), "image_id": IMG["id"], "ttl_seconds": None})
expect_sandbox(r, 202, "provision with ttl_seconds null → the image's ttl_seconds (600)", want={"ttl_seconds": 600})
for ttl in (60, 604800):
    r = provision({"task_id": fresh(), "image_id": IMG["id"], "ttl_seconds": ttl})
    expect_sandbox(r, 202, "provision with ttl_seconds %d (a bound) → 202" % ttl, want={"ttl_seconds": ttl})
r = provision({"task_id": fresh(), "image_id": IMG_NOTTL["id"]})
expect_sandbox(r, 202, "provision an image without ttl_seconds → ttl_seconds 3600, image/tag as the image's",
               want={"ttl_seconds": 3600, "image": "python", "tag": "3.12-slim", "image_id": IMG_NOTTL["id"]})
r = provision({"task_id": "glob-1", "image_id": GLOBAL["id"]})
GLOB1 = expect_sandbox(r, 202, "provision a global image (%s) → 202" % GLOBAL.get("image"),
                       want={"image_id": GLOBAL["id"], "image": GLOBAL.get("image"), "tag": GLOBAL.get("tag"),
                             "ttl_seconds": GLOBAL.get("ttl_seconds") or 3600, "status": "provisioning"})
r = provision({"task_id": "glob-b", "image_id": GLOBAL["id"]}, ws=ws_b)
expect_sandbox(r, 202, "provision the same global image in workspace B → 202", want={"image_id": GLOBAL["id"]})
r = provision({"task_id": fresh(), "image_id": IMG["id"].upper()})
expect_sandbox(r, 202, "provision with the image_id in upper case → 202, image_id answered lower case",
               want={"image_id": IMG["id"]})
r = provision({"task_id": fresh(), "image_id": IMG["id"]}, content_type="application/json; charset=utf-8")
expect_sandbox(r, 202, "provision with Content-Type application/json; charset=utf-8 → 202")
for task in ("x" * 128, "a.b~c_D-9", "A", "...", "-", "~"):
    r = provision({"task_id": task, "image_id": IMG["id"]})
    o = expect_sandbox(r, 202, "provision task_id %s → 202" % short(task, 40), want={"task_id": task})
    r = sget(task)
    tap.ok(o is not None and r.status == 200 and jbody(r) == o,
           "... GET /sandboxes/%s → 200, the same object" % short(task, 40), show(r))
r = provision({"task_id": "CaseT", "image_id": IMG["id"]})
expect_sandbox(r, 202, "provision task_id CaseT → 202")
r = provision({"task_id": "caset", "image_id": IMG["id"]})
expect_sandbox(r, 202, "provision task_id caset beside CaseT → 202 (task ids are case-sensitive)",
               want={"task_id": "caset"})
tap.is_((state("CaseT") or {}).get("task_id"), "CaseT", "GET CaseT still answers CaseT")

# the image is copied at provision time
COPY = make_image(image="ghcr.io/acme/copy", tag="c1", ttl_seconds=300)
copy_sb = must_provision("copy-1", COPY["id"])
r = request("PUT", "/sandbox-images/" + COPY["id"], key=KEY, body={"image": "ghcr.io/acme/other", "tag": "c2",
                                                                     "ttl_seconds": 900})
tap.is_(r.status, 200, "(PUT the sandbox image: other image, tag and ttl)")
tap.is_(state("copy-1"), copy_sb, "the sandbox keeps the image, tag and ttl copied at provision time")
r = request("DELETE", "/sandbox-images/" + COPY["id"], key=KEY)
tap.is_(r.status, 204, "(DELETE the sandbox image)")
tap.is_(state("copy-1"), copy_sb, "the sandbox survives the deletion of its image, unchanged")
r = provision({"task_id": fresh(), "image_id": COPY["id"]})
expect_error(r, 422, "invalid_value", "provision with a deleted image → 422 invalid_value field image_id",
             field="image_id")

# ------------------------------------------------------------ env_vars
tap.diag("env_vars: sealed, never returned")
ENV_SECRET = secret("main")
ENV = {"API_TOKEN": ENV_SECRET, "_EMPTY": "", "Lower_9": "ünï ✓ 🐳", "QUOTE": "a\"b\\c/d\n"}
r = provision({"task_id": "env-1", "image_id": IMG["id"], "env_vars": ENV})
ENV1 = expect_sandbox(r, 202, "provision with env_vars → 202, the object without env_vars",
                      want={"task_id": "env-1"})
tap.ok(ENV_SECRET.encode() not in r.body, "the 202 body does not hold the env value", show(r))
for desc, rr in (("GET", sget("env-1")), ("list", slist(qs(limit=200))),
                 ("wait", swait({"task_id": "env-1", "timeout": 0}))):
    tap.ok(rr.status == 200 and ENV_SECRET.encode() not in rr.body and b"env_vars" not in rr.body
           and b"API_TOKEN" not in rr.body,
           "%s → 200 without env_vars, their names or values" % desc, show(rr))

row = stack.sql("SELECT LOWER(HEX(id)), LOWER(HEX(workspace_id)), LOWER(HEX(env_ct)), LOWER(HEX(env_nonce)), "
                "LOWER(HEX(env_tag)), env_key_id FROM sandboxes WHERE task_id='env-1'")
tap.is_(len(row), 1, "one row for env-1")
sb_id, sb_ws, ct_hex, nonce_hex, tag_hex, key_id = row[0] if row else (None,) * 6
tap.ok(ct_hex is not None and nonce_hex is not None and tag_hex is not None and key_id is not None,
       "env_ct, env_nonce, env_tag, env_key_id are set", repr(row))
tap.is_(len(bytes.fromhex(nonce_hex or "")), 12, "env_nonce is 12 bytes (96 bits)")
tap.is_(len(bytes.fromhex(tag_hex or "")), 16, "env_tag is 16 bytes (128 bits)")
ct = bytes.fromhex(ct_hex or "")
tap.ok(len(ct) >= len(ENV_SECRET), "env_ct is at least as long as the value it holds (%d bytes)" % len(ct))
tap.ok(ENV_SECRET.encode().hex() not in (ct_hex or "") and b"API_TOKEN" not in ct,
       "env_ct does not hold the plaintext", ct_hex)
with open(stack.key_file) as f:
    KEYS = {}
    for line in f:
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            KEYS[parts[0]] = base64.b64decode(parts[1])
NEWEST = max(KEYS, key=int) if KEYS else None
tap.is_(key_id, NEWEST, "env_key_id is the newest key of the key file")

SB_AD = b"modbox/sbx-env/1"     # app/store_sandbox.c sandbox_env_ad()


def env_open(ct_h, nonce_h, tag_h, kid, ws_h, id_h):
    """The plaintext, or None when the tag does not verify."""
    try:
        return AESGCM(KEYS[kid]).decrypt(bytes.fromhex(nonce_h), bytes.fromhex(ct_h) + bytes.fromhex(tag_h),
                                         SB_AD + bytes.fromhex(ws_h) + bytes.fromhex(id_h))
    except (InvalidTag, KeyError, ValueError, TypeError):
        return None


if AESGCM is None:
    for d in ("decrypt", "bound to workspace", "bound to id"):
        tap.skip("env_ct opens with the key file (%s)" % d, "python3-cryptography is not installed")
else:
    pt = env_open(ct_hex, nonce_hex, tag_hex, key_id, sb_ws, sb_id)
    try:
        opened = json.loads(pt.decode("utf-8")) if pt is not None else None
    except ValueError:
        opened = "not JSON: %r" % pt
    tap.is_(opened, ENV, "env_ct opens with the newest key (AES-256-GCM, workspace and sandbox id as AD) "
            "to exactly the env_vars sent")
    tap.is_(env_open(ct_hex, nonce_hex, tag_hex, key_id, hexid(ws_b), sb_id), None,
            "... and does not open with another workspace id as AD")
    tap.is_(env_open(ct_hex, nonce_hex, tag_hex, key_id, sb_ws, uuid.uuid4().hex), None,
            "... nor with another sandbox id as AD")

# the same env_vars twice: fresh nonce, other ciphertext
must_provision("env-2", IMG["id"], env_vars=ENV)
row2 = stack.sql("SELECT LOWER(HEX(env_ct)), LOWER(HEX(env_nonce)) FROM sandboxes WHERE task_id='env-2'")
tap.ok(row2 and row2[0][1] != nonce_hex and row2[0][0] != ct_hex,
       "the same env_vars provisioned again → another nonce and another ciphertext", repr(row2))
must_provision("env-none", IMG["id"])
tap.is_(stack.sql("SELECT env_ct, env_nonce, env_tag, env_key_id FROM sandboxes WHERE task_id='env-none'"),
        [(None, None, None, None)], "no env_vars → env_ct, env_nonce, env_tag, env_key_id all NULL")
# limits that pass
big_ok = secret("big")
big_ok += "x" * (32768 - len(big_ok))
r = provision({"task_id": "env-big", "image_id": IMG["id"], "env_vars": {"BIG": big_ok}})
expect_sandbox(r, 202, "env value of exactly 32768 bytes → 202")
r = provision(json.dumps({"task_id": fresh(), "image_id": IMG["id"], "env_vars": {"U": "é" * 16384}},
                         ensure_ascii=False).encode())    # raw UTF-8, not \u00e9 escapes
expect_sandbox(r, 202, "env value of 16384 'é' (32768 bytes) → 202")
r = provision({"task_id": fresh(), "image_id": IMG["id"],
               "env_vars": {"V%d" % i: "v" for i in range(100)}})
expect_sandbox(r, 202, "100 env_vars → 202")
r = provision({"task_id": fresh(), "image_id": IMG["id"], "env_vars": {"N" * 128: "v", "_": "v", "a1": "v"}})
expect_sandbox(r, 202, "env names of 128 characters, '_' and 'a1' → 202")
r = provision({"task_id": fresh(), "image_id": IMG["id"], "env_vars": {}})
tap.diag("env_vars {} → %d (README silent on whether {} is stored)" % r.status)
tap.is_(r.status, 202, "env_vars {} → 202")

DUMP1 = stack.dump()
leaked = []
for s in SECRETS:
    for form, v in (("plain", s), ("base64", base64.b64encode(s.encode()).decode()),
                    ("hex", s.encode().hex()), ("HEX", s.encode().hex().upper())):
        if v in DUMP1:
            leaked.append((form, s[:30]))
env_json_b64 = base64.b64encode(json.dumps(ENV, separators=(",", ":"), ensure_ascii=False).encode()).decode()
tap.ok(not leaked and env_json_b64 not in DUMP1,
       "mariadb-dump holds no env value (plain, base64, hex or HEX)", repr(leaked))

# ------------------------------------------------------------ conflicts
tap.diag("409 task_id_taken, reuse after destroy, other workspaces")
dup = must_provision("dup", IMG["id"])
r = provision({"task_id": "dup", "image_id": IMG_NOTTL["id"]})
expect_error(r, 409, "task_id_taken", "provision a task_id in use (provisioning) → 409 task_id_taken",
             field=ANY)
tap.is_(state("dup"), dup, "the provisioning sandbox is unchanged by the refused provision")
sim_ready("dup")
ready = state("dup")
tap.ok(ready and ready["status"] == "ready" and ready["image_digest"] == DIGEST and ready["ready_at"]
       and ready["expires_at"]
       and parse_ts(ready["expires_at"]) - parse_ts(ready["ready_at"]) == datetime.timedelta(seconds=600),
       "after the simulated provisioner: GET → ready, image_digest, ready_at, expires_at = ready_at + ttl",
       repr(ready))
tap.ok(not sandbox_problems(ready), "... a well-formed object", "\n".join(sandbox_problems(ready)))
r = provision({"task_id": "dup", "image_id": IMG["id"]})
expect_error(r, 409, "task_id_taken", "provision a task_id in use (ready) → 409 task_id_taken")
must_provision("dupf", IMG["id"])
sim_failed("dupf", message="manifest unknown: ghcr.io/acme/app:v1")
failed = state("dupf")
tap.ok(failed and failed["status"] == "failed"
       and failed["error"] == {"code": "image_not_found", "message": "manifest unknown: ghcr.io/acme/app:v1"}
       and failed["image_digest"] is None and failed["ready_at"] is None,
       "a failed sandbox: GET → status failed, error {code, message}", repr(failed))
r = provision({"task_id": "dupf", "image_id": IMG["id"]})
expect_error(r, 409, "task_id_taken", "provision a task_id in use (failed) → 409 task_id_taken")
r = sdelete("dup")
gone = expect_sandbox(r, 200, "DELETE dup → 200, status destroyed", want={"task_id": "dup", "status": "destroyed"})
tap.ok(gone and gone["created_at"] == dup["created_at"] and gone["image_id"] == dup["image_id"],
       "... the same sandbox (created_at, image_id kept)", repr(gone))
old_id = rows_of("dup")
time.sleep(1.1)
r = provision({"task_id": "dup", "image_id": GLOBAL["id"], "ttl_seconds": 90})
again = expect_sandbox(r, 202, "provision a destroyed task_id again → 202, a new sandbox",
                       want={"task_id": "dup", "image_id": GLOBAL["id"], "image": GLOBAL.get("image"),
                             "status": "provisioning", "ttl_seconds": 90, "image_digest": None,
                             "ready_at": None, "expires_at": None})
tap.ok(again and parse_ts(again["created_at"]) > parse_ts(dup["created_at"]),
       "... with a new created_at", "%r vs %r" % (again, dup))
tap.is_(state("dup"), again, "GET dup → the new sandbox")
new_rows = rows_of("dup")
tap.ok(len(new_rows) == 1 and new_rows[0][1] == "provisioning" and len(old_id) == 1
       and new_rows[0][0] != old_id[0][0],
       "one row for dup in the table: the old row was replaced", "%r → %r" % (old_id, new_rows))
r = provision({"task_id": "dup", "image_id": IMG_B["id"]}, ws=ws_b)
expect_sandbox(r, 202, "the same task_id in workspace B → 202 (independent)",
               want={"task_id": "dup", "image_id": IMG_B["id"], "image": "ghcr.io/acme/b-only"})
tap.is_(state("dup"), again, "A's dup is unchanged by B's")
r = sdelete("dup", ws=ws_b)
expect_sandbox(r, 200, "DELETE dup in B → 200", want={"status": "destroyed", "image_id": IMG_B["id"]})
tap.is_(state("dup"), again, "A's dup is unchanged by B's DELETE")

# concurrent provisions of one task_id: exactly one wins
for phase in ("new", "destroyed"):
    task = "race"
    if phase == "destroyed":
        sdelete(task)
    results = []
    lock = threading.Lock()

    def racer():
        rr = _request("POST", "/sandboxes/provision", body={"task_id": task, "image_id": IMG["id"]},
                      key=KEY, ws=ws_a)
        with lock:
            results.append(rr)
    threads = [threading.Thread(target=racer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ALL.extend(results)
    statuses = sorted(x.status for x in results)
    codes = {x.error_code() for x in results if x.status == 409}
    tap.ok(statuses == [202] + [409] * 7 and codes <= {"task_id_taken"},
           "8 concurrent provisions of a %s task_id → one 202 and seven 409 task_id_taken" % phase,
           "statuses %r codes %r\n%s" % (statuses, codes,
                                          "\n".join(show(x) for x in results if x.status not in (202, 409))))
    tap.is_([x[1] for x in rows_of(task)], ["provisioning"], "... one row, provisioning")

# ------------------------------------------------------------ GET one
tap.diag("GET /sandboxes/{task_id}")
ref404 = sget("nope-" + secrets.token_hex(4))
expect_error(ref404, 404, "not_found", "GET an unknown task_id → 404 not_found", field=NOFIELD)
r = sget("job-1", ws=ws_b)
expect_error(r, 404, "not_found", "GET job-1 with X-Workspace-Id of B (a member, no such task there) → 404",
             field=NOFIELD)
tap.ok(r.body == ref404.body, "... byte-identical to the 404 of an unknown task_id", "%r\n%r" % (r.body, ref404.body))
r = request("GET", "/sandboxes/job-1", key=KEY)
expect_error(r, 400, "bad_request", "GET /sandboxes/job-1 without X-Workspace-Id → 400 field X-Workspace-Id",
             field="X-Workspace-Id")
r = sget("job-1", ws="not-a-uuid")
expect_error(r, 400, "bad_request", "GET /sandboxes/job-1 with a malformed X-Workspace-Id → 400",
             field="X-Workspace-Id")
r = sget("job-1", ws=str(uuid.uuid4()))
expect_error(r, 403, "forbidden", "GET /sandboxes/job-1 with X-Workspace-Id of no workspace of the caller → 403")
for path in ("/sandboxes/a%20b", "/sandboxes/a/b", "/sandboxes/", "/sandboxes/job-1/", "/sandboxes/%2e%2e",
             "/sandboxes/" + "x" * 129):
    r = request("GET", path, key=KEY, ws=ws_a)
    expect_error(r, 404, "not_found", "GET %s → 404" % short(path, 50))
for method, path, allow in (("PUT", "/sandboxes/job-1", {"GET", "DELETE"}),
                            ("POST", "/sandboxes/job-1", {"GET", "DELETE"}),
                            ("GET", "/sandboxes/provision", {"POST"}), ("GET", "/sandboxes/wait", {"POST"}),
                            ("DELETE", "/sandboxes/wait", {"POST"}), ("POST", "/sandboxes", {"GET"}),
                            ("DELETE", "/sandboxes", {"GET"})):
    r = request(method, path, key=KEY, ws=ws_a, body={} if method in ("PUT", "POST") else None)
    got = {m.strip() for m in r.headers.get("allow", "").split(",") if m.strip()}
    tap.ok(not error_problems(r, 405, "method_not_allowed") and got == allow,
           "%s %s → 405 method_not_allowed, Allow: %s" % (method, path, ", ".join(sorted(allow))),
           "\n".join(error_problems(r, 405, "method_not_allowed")) + "\nAllow %r\n%s" % (got, show(r)))
tap.is_(state("job-1"), JOB1, "job-1 is unchanged after the 405s")

# ------------------------------------------------------------ GET list
tap.diag("GET /sandboxes")
ws_l = stack.workspace("sbx-list")
stack.member(ws_l, owner_id, "owner")
_, L_VIEWER = stack.actor(ws_l, "viewer")
IMG_L = make_image(ws=ws_l, image="ghcr.io/acme/list", tag="l1")
L_TASKS = ["l-%d" % i for i in range(7)]
L_OBJS = [must_provision(t, IMG_L["id"], ws=ws_l) for t in L_TASKS]
must_provision("l-0", IMG_B["id"], ws=ws_b)     # same name elsewhere: never in L's list


def list_all(ws, query=None, key=None, limit=200):
    """Every item of GET /sandboxes following cursors: (objects, pages, bad response)."""
    objs, cursor, pages = [], None, 0
    for _ in range(60):
        params = dict(query or {})
        params["limit"] = limit
        if cursor:
            params["cursor"] = cursor
        rr = slist(qs(**params), ws=ws, key=key)
        j = jbody(rr)
        if rr.status != 200 or not isinstance(j, dict) or set(j) != {"data", "next_cursor"} \
                or not isinstance(j.get("data"), list):
            return None, pages, rr
        pages += 1
        objs += j["data"]
        cursor = j.get("next_cursor")
        if cursor is None:
            return objs, pages, None
        if not isinstance(cursor, str) or not j["data"]:
            return None, pages, rr
    return None, pages, rr


r = slist(ws=ws_l)
j = jbody(r) or {}
tap.ok(r.status == 200 and set(j) == {"data", "next_cursor"} and j.get("next_cursor") is None
       and j.get("data") == L_OBJS,
       "GET /sandboxes → 200 {data, next_cursor: null}: the workspace's 7 sandboxes in creation order, "
       "as provisioned", show(r))
objs, pages, bad = list_all(ws_l, limit=2)
tap.ok(bad is None and pages == 4 and objs == L_OBJS,
       "limit=2 → 4 pages (2+2+2+1), the same 7 in order, no duplicate", "%s pages %d\n%r" % (
           show(bad) if bad else "", pages, [o.get("task_id") for o in objs or []]))
for lim, want_cursor in ((7, False), (6, True), (1, True)):
    r = slist(qs(limit=lim), ws=ws_l)
    j = jbody(r) or {}
    tap.ok(r.status == 200 and [o.get("task_id") for o in j.get("data", [])] == L_TASKS[:lim]
           and (j.get("next_cursor") is not None) == want_cursor,
           "limit=%d → the first %d, next_cursor %s" % (lim, lim, "set" if want_cursor else "null"), show(r))
objs, pages, bad = list_all(ws_l, limit=1)
tap.ok(bad is None and pages == 7 and [o["task_id"] for o in objs] == L_TASKS,
       "limit=1 → 7 pages, each sandbox once", show(bad) if bad else repr(pages))
r = slist(qs(limit=200), ws=ws_l, key=L_VIEWER)
tap.ok(r.status == 200 and (jbody(r) or {}).get("data") == L_OBJS, "a viewer lists the same", show(r))
objs, _, bad = list_all(ws_a)
a_tasks = [o.get("task_id") for o in objs or []]
tap.ok(bad is None and "job-1" in a_tasks and not set(a_tasks) & set(L_TASKS)
       and len(a_tasks) == len(set(a_tasks)),
       "A's list holds A's sandboxes only, each once", repr(a_tasks))
tap.ok(objs and all(not sandbox_problems(o) for o in objs), "every object of A's list is well-formed",
       "\n".join("; ".join(sandbox_problems(o)) for o in objs or [] if sandbox_problems(o))[:2000])
r = slist(qs(limit=200), ws=ws_b)
b_tasks = [o.get("task_id") for o in (jbody(r) or {}).get("data", [])]
tap.ok(r.status == 200 and "job-1" not in b_tasks and "l-0" in b_tasks and "glob-b" in b_tasks,
       "B's list holds B's sandboxes only", repr(b_tasks))

# statuses: l-1, l-4 ready; l-2 failed; l-3 destroyed by DELETE; l-5 destroyed by SQL
sim_ready("l-1", ws=ws_l)
sim_ready("l-4", ws=ws_l, digest="sha256:" + "cd" * 32)
sim_failed("l-2", ws=ws_l, code="registry_auth_failed", message="401 from ghcr.io")
tap.is_(sdelete("l-3", ws=ws_l).status, 200, "(DELETE l-3)")
stack.sql_exec("UPDATE sandboxes SET status='destroyed' WHERE workspace_id=UNHEX('%s') AND task_id='l-5'"
               % hexid(ws_l))
WANT_BY = {"provisioning": ["l-0", "l-6"], "ready": ["l-1", "l-4"], "failed": ["l-2"],
           "destroyed": ["l-3", "l-5"]}
for st, want in WANT_BY.items():
    r = slist(qs(status=st, limit=200), ws=ws_l)
    data = (jbody(r) or {}).get("data") or []
    tap.ok(r.status == 200 and [o.get("task_id") for o in data] == want
           and all(o.get("status") == st for o in data),
           "?status=%s → %r" % (st, want), show(r))
    objs, pages, bad = list_all(ws_l, {"status": st}, limit=1)
    tap.ok(bad is None and [o["task_id"] for o in objs] == want and pages == len(want),
           "?status=%s&limit=1 → the same, one a page" % st, show(bad) if bad else repr(objs))
r = slist(qs(status="ready"), ws=ws_l)
data = (jbody(r) or {}).get("data") or []
tap.ok(len(data) == 2 and data[1].get("image_digest") == "sha256:" + "cd" * 32 and data[0].get("ready_at"),
       "ready sandboxes in the list carry image_digest and ready_at", repr(data))
r = slist(qs(status="failed"), ws=ws_l)
data = (jbody(r) or {}).get("data") or []
tap.ok(len(data) == 1 and data[0].get("error") == {"code": "registry_auth_failed", "message": "401 from ghcr.io"},
       "the failed sandbox in the list carries error {code, message}", repr(data))
r = slist(qs(limit=200), ws=ws_l)
tap.is_([o.get("task_id") for o in (jbody(r) or {}).get("data", [])], L_TASKS,
        "without ?status= every sandbox, destroyed ones included, in creation order")
for q, field in ((qs(status="Ready"), "status"), (qs(status=""), "status"), (qs(status="deleted"), "status"),
                 (qs(status="ready,failed"), "status"), ("?status=ready&status=failed", "status"),
                 (qs(foo="1"), "query"), (qs(task_id="l-1"), "query"), (qs(limit=0), "limit"),
                 (qs(limit=201), "limit"), (qs(limit="x"), "limit"), (qs(cursor="zzz"), "cursor")):
    r = slist(q, ws=ws_l)
    expect_error(r, 400, "bad_request", "GET /sandboxes%s → 400 bad_request field %s" % (q, field), field=field)

# ------------------------------------------------------------ wait
tap.diag("POST /sandboxes/wait (wait_max_seconds = %d)" % WAIT_MAX)
WP = must_provision("w-prov", IMG["id"])


def timed(fn, *a, **kw):
    t0 = time.monotonic()
    rr = fn(*a, **kw)
    return rr, time.monotonic() - t0


r, dt = timed(swait, {"task_id": "w-prov", "timeout": 1})
tap.ok(r.status == 200 and jbody(r) == WP and 0.95 <= dt < 3.0 + SLACK,
       "wait timeout 1 on a provisioning sandbox → 200 provisioning after %.2f s (1-3 s)" % dt, show(r))
r, dt = timed(swait, {"task_id": "w-prov", "timeout": 0})
tap.ok(r.status == 200 and jbody(r) == WP and dt < 0.9 + SLACK,
       "wait timeout 0 → 200 provisioning at once (%.2f s)" % dt, show(r))
r, dt = timed(swait, {"task_id": "w-prov", "timeout": 100})
tap.ok(r.status == 200 and jbody(r) == WP and WAIT_MAX - 0.1 <= dt < WAIT_MAX + 1.5 + SLACK,
       "wait timeout 100 → bounded by wait_max_seconds: 200 provisioning after %.2f s (3-4.5 s)" % dt, show(r))
r, dt = timed(swait, {"task_id": "w-prov"})
tap.ok(r.status == 200 and jbody(r) == WP and WAIT_MAX - 0.1 <= dt < WAIT_MAX + 1.5 + SLACK,
       "wait without timeout → the default, wait_max_seconds: 200 after %.2f s (3-4.5 s)" % dt, show(r))
r, dt = timed(swait, {"task_id": "w-prov", "timeout": 1}, key=VIEWER)
tap.ok(r.status == 200 and jbody(r) == WP, "a viewer may wait → 200 (%.2f s)" % dt, show(r))


def later(delay, fn, *a):
    t = threading.Thread(target=lambda: (time.sleep(delay), fn(*a)))
    t.start()
    return t


must_provision("w-ready", IMG["id"])
th = later(1.0, sim_ready, "w-ready")
r, dt = timed(swait, {"task_id": "w-ready", "timeout": 3})
th.join()
j = jbody(r) or {}
tap.ok(r.status == 200 and j.get("status") == "ready" and j.get("image_digest") == DIGEST
       and 0.95 <= dt < 1.6 + SLACK,
       "wait timeout 3, the row turns ready 1 s in → 200 ready with image_digest after %.2f s (1-1.6 s)" % dt,
       show(r))
tap.ok(j == state("w-ready"), "... the object GET answers", repr(j))
must_provision("w-fail", IMG["id"])
th = later(1.0, sim_failed, "w-fail")
r, dt = timed(swait, {"task_id": "w-fail", "timeout": 3})
th.join()
j = jbody(r) or {}
tap.ok(r.status == 200 and j.get("status") == "failed" and (j.get("error") or {}).get("code") == "image_not_found"
       and 0.95 <= dt < 1.6 + SLACK,
       "wait, the row turns failed 1 s in → 200 failed with error after %.2f s" % dt, show(r))
must_provision("w-del", IMG["id"])
th = later(1.0, lambda: _request("DELETE", "/sandboxes/w-del", key=KEY, ws=ws_a))
r, dt = timed(swait, {"task_id": "w-del", "timeout": 3})
th.join()
tap.ok(r.status == 200 and (jbody(r) or {}).get("status") == "destroyed" and 0.95 <= dt < 1.6 + SLACK,
       "wait, a DELETE 1 s in → 200 destroyed after %.2f s" % dt, show(r))
for task, st in (("w-ready", "ready"), ("w-fail", "failed"), ("w-del", "destroyed")):
    r, dt = timed(swait, {"task_id": task, "timeout": 3})
    tap.ok(r.status == 200 and (jbody(r) or {}).get("status") == st and dt < 0.9 + SLACK,
           "wait on a %s sandbox → 200 %s at once (%.2f s)" % (st, st, dt), show(r))
r, dt = timed(swait, {"task_id": "nope-" + secrets.token_hex(3), "timeout": 3})
expect_error(r, 404, "not_found", "wait on an unknown task_id → 404 not_found", field=NOFIELD)
tap.ok(dt < 0.9 + SLACK, "... at once (%.2f s)" % dt)
tap.ok(r.body == ref404.body, "... byte-identical to GET's 404", "%r\n%r" % (r.body, ref404.body))
r, dt = timed(swait, {"task_id": "w-prov", "timeout": 3}, ws=ws_b)
expect_error(r, 404, "not_found", "wait on A's task_id with X-Workspace-Id of B → 404", field=NOFIELD)
tap.ok(dt < 0.9 + SLACK, "... at once (%.2f s)" % dt)
r = swait({"task_id": "a b", "timeout": 0})
tap.ok(not error_problems(r, 404, "not_found") or not error_problems(r, 422, "invalid_value", "task_id"),
       "wait with task_id 'a b' → 404 not_found or 422 invalid_value (README silent)", show(r))
expect_error(swait({"task_id": "w-prov", "timeout": -1}), 422, "invalid_value",
             "wait timeout -1 → 422 invalid_value field timeout", field="timeout")
expect_error(swait({"task_id": "w-prov", "timeout": "3"}), 422, "wrong_type",
             "wait timeout \"3\" → 422 wrong_type field timeout", field="timeout")
expect_error(swait({"task_id": "w-prov", "timeout": 1.5}), 422, TYPE_OR_VALUE,
             "wait timeout 1.5 → 422 field timeout", field="timeout")
expect_error(swait({"task_id": "w-prov", "timeout": True}), 422, "wrong_type",
             "wait timeout true → 422 wrong_type field timeout", field="timeout")
expect_error(swait(b'{"task_id": "w-prov", "timeout": 1e400}'), 422, TYPE_OR_VALUE,
             "wait timeout 1e400 → 422 field timeout", field="timeout")
expect_error(swait({"timeout": 1}), 422, "missing_field", "wait without task_id → 422 missing_field task_id",
             field="task_id")
expect_error(swait({"task_id": 7, "timeout": 1}), 422, "wrong_type", "wait task_id 7 → 422 wrong_type task_id",
             field="task_id")
expect_error(swait({"task_id": "w-prov", "timeout": 0, "extra": 1}), 422, "unknown_field",
             "wait with an unknown field → 422 unknown_field", field="extra")
expect_error(swait(b"{"), 400, "invalid_json", "wait with malformed JSON → 400 invalid_json", field=NOFIELD)
expect_error(swait(b"[]"), 422, "invalid_body", "wait with a JSON array → 422 invalid_body")
expect_error(swait(dumps({"task_id": "w-prov"}), content_type="text/plain"), 415, "unsupported_media_type",
             "wait with Content-Type text/plain → 415")
expect_error(request("POST", "/sandboxes/wait", body={"task_id": "w-prov", "timeout": 0}, key=KEY), 400,
             "bad_request", "wait without X-Workspace-Id → 400", field="X-Workspace-Id")

# ------------------------------------------------------------ DELETE
tap.diag("DELETE /sandboxes/{task_id}")
d1 = must_provision("del-1", IMG["id"], env_vars={"K": secret("del")})
r = sdelete("del-1")
gone = expect_sandbox(r, 200, "DELETE a provisioning sandbox → 200 with the sandbox, status destroyed",
                      want={"task_id": "del-1", "status": "destroyed", "image_id": IMG["id"],
                            "image": d1["image"], "tag": d1["tag"], "ttl_seconds": d1["ttl_seconds"],
                            "created_at": d1["created_at"]})
tap.is_(state("del-1"), gone, "GET after DELETE → the object the DELETE answered")
time.sleep(1.1)
r = sdelete("del-1")
again = expect_sandbox(r, 200, "DELETE it again → 200, still destroyed (idempotent)",
                       want={"task_id": "del-1", "status": "destroyed", "created_at": d1["created_at"]})
if again and gone and again["updated_at"] != gone["updated_at"]:
    tap.diag("note: a second DELETE moves updated_at (%s → %s)" % (gone["updated_at"], again["updated_at"]))
tap.is_([x[1] for x in rows_of("del-1")], ["destroyed"], "one row, destroyed")
r = sdelete("nope-" + secrets.token_hex(3))
expect_error(r, 404, "not_found", "DELETE an unknown task_id → 404 not_found", field=NOFIELD)
tap.ok(r.body == ref404.body, "... byte-identical to GET's 404", "%r\n%r" % (r.body, ref404.body))
r = sdelete("job-1", ws=ws_b)
expect_error(r, 404, "not_found", "DELETE A's job-1 with X-Workspace-Id of B → 404", field=NOFIELD)
tap.is_(state("job-1"), JOB1, "A's job-1 is unchanged")
must_provision("del-2", IMG["id"])
sim_ready("del-2")
r = sdelete("del-2")
expect_sandbox(r, 200, "DELETE a ready sandbox → 200 destroyed", want={"status": "destroyed"})
must_provision("del-3", IMG["id"])
sim_failed("del-3")
r = sdelete("del-3")
expect_sandbox(r, 200, "DELETE a failed sandbox → 200 destroyed", want={"status": "destroyed"})
r = request("DELETE", PREFIX + "/sandboxes/job-pfx", key=KEY, ws=ws_a)
expect_sandbox(r, 200, "DELETE under %s → 200 destroyed" % PREFIX, want={"task_id": "job-pfx", "status": "destroyed"})

# ------------------------------------------------------------ roles
tap.diag("roles and workspaces")
for role in ("owner", "admin", "member"):
    k = ROLE_KEYS[role]
    task = "role-" + role
    r = provision({"task_id": task, "image_id": IMG["id"]}, key=k)
    expect_sandbox(r, 202, "%s provisions → 202" % role, want={"task_id": task})
    tap.is_(sget(task, key=k).status, 200, "%s GET → 200" % role)
    tap.is_(slist(key=k).status, 200, "%s list → 200" % role)
    tap.is_(swait({"task_id": task, "timeout": 0}, key=k).status, 200, "%s wait → 200" % role)
    r = sdelete(task, key=k)
    expect_sandbox(r, 200, "%s DELETE → 200 destroyed" % role, want={"status": "destroyed"})
must_provision("role-target", IMG["id"])
target = state("role-target")
r = provision({"task_id": "role-viewer", "image_id": IMG["id"]}, key=VIEWER)
expect_error(r, 403, "forbidden", "viewer provisions → 403 forbidden")
tap.is_(rows_of("role-viewer"), [], "... nothing stored")
expect_error(provision(b"{", key=VIEWER), 403, "forbidden", "viewer provisions with a malformed body → 403 "
             "(role before body)")
expect_error(provision(dumps({"task_id": "x"}), key=VIEWER, content_type="text/plain"), 403, "forbidden",
             "viewer provisions with text/plain → 403 (role before Content-Type)")
expect_error(sdelete("role-target", key=VIEWER), 403, "forbidden", "viewer DELETE → 403 forbidden")
expect_error(sdelete("nope-x", key=VIEWER), 403, "forbidden", "viewer DELETE of an unknown task → 403 (role first)")
tap.is_(state("role-target"), target, "... the sandbox is unchanged")
tap.is_(sget("role-target", key=VIEWER).status, 200, "viewer GET → 200")
tap.is_(slist(key=VIEWER).status, 200, "viewer list → 200")
tap.is_(swait({"task_id": "role-target", "timeout": 0}, key=VIEWER).status, 200, "viewer wait → 200")

ROUTES = [("POST", "/sandboxes/provision", {"task_id": "role-x", "image_id": IMG["id"]}),
          ("GET", "/sandboxes", None), ("GET", "/sandboxes/role-target", None),
          ("POST", "/sandboxes/wait", {"task_id": "role-target", "timeout": 0}),
          ("DELETE", "/sandboxes/role-target", None)]
for m, path, b in ROUTES:
    r = request(m, path, body=b, key=OUTSIDER, ws=ws_a)
    expect_error(r, 403, "forbidden", "non-member %s %s in A → 403 forbidden" % (m, path), field=NOFIELD)
    r = request(m, path, body=b, key=OUTSIDER, ws=ws_c)
    tap.ok(r.status != 403 and r.status < 500, "... the same %s %s in its own workspace C → not 403 (%d)"
           % (m, path, r.status), show(r))
stack.admin("key", "revoke", REVOKED)
for desc, k in (("no key", None), ("an unknown key", "mbx_" + "A" * 43), ("a revoked key", REVOKED),
                ("a malformed key", "not-a-key")):
    for m, path, b in ROUTES:
        r = request(m, path, body=b, key=k, ws=ws_a)
        expect_error(r, 401, "unauthorized", "%s %s with %s → 401 + WWW-Authenticate: Bearer" % (m, path, desc),
                     field=NOFIELD)
for m, path, b in ROUTES:
    r = request(m, path, body=b, key=KEY)
    expect_error(r, 400, "bad_request", "%s %s without X-Workspace-Id → 400 field X-Workspace-Id" % (m, path),
                 field="X-Workspace-Id")
    r = request(m, path, body=b, key=KEY, ws="00000000-0000-0000-0000-00000000000g")
    expect_error(r, 400, "bad_request", "%s %s with a malformed X-Workspace-Id → 400" % (m, path),
                 field="X-Workspace-Id")
    r = request(m, path, body=b, key=KEY, ws=str(uuid.uuid4()))
    expect_error(r, 403, "forbidden", "%s %s with X-Workspace-Id of an unknown workspace → 403" % (m, path))
tap.is_(state("role-target"), target, "role-target is unchanged after every refused request")
tap.is_(rows_of("role-x"), [], "no role-x was stored")

# ------------------------------------------------------ validation + dump()
tap.diag("validation; refused requests write nothing (dump before/after)")
BEFORE = stack.dump()
tap.ok("INSERT INTO `sandboxes`" in BEFORE, "(the dump holds sandboxes rows)")


def base(**over):
    b = {"task_id": fresh("v"), "image_id": IMG["id"]}
    b.update(over)
    for k in [k for k, v in b.items() if v is REMOVE]:
        del b[k]
    return b


REMOVE = object()


def bad(desc, body, status, code, field=ANY, **kw):
    expect_error(provision(body, **kw), status, code,
                 "provision %s → %d %s" % (desc, status, code)
                 + ("" if field in (ANY, NOFIELD) else " field %s" % field), field)


bad("without task_id", base(task_id=REMOVE), 422, "missing_field", "task_id")
for t in ("", "x" * 129, "a b", "a/b", ".", "..", "provision", "wait", "a%20b", "é", "a\tb", "a?b", "a#b",
          "a\u0000b", "' OR 1=1 --"):
    bad("task_id %s" % short(t, 40), base(task_id=t), 422, "invalid_value", "task_id")
for t in (123, None, ["x"], True, {"a": "b"}):
    bad("task_id %s" % short(t, 40), base(task_id=t), 422, "wrong_type", "task_id")
bad("without image_id", base(image_id=REMOVE), 422, "missing_field", "image_id")
for v in ("not-a-uuid", "", hexid(IMG["id"]), "{%s}" % IMG["id"], IMG["id"] + "0", IMG["id"][:-1],
          "' OR 1=1 --"):
    bad("image_id %s" % short(v, 40), base(image_id=v), 422, "invalid_value", "image_id")
for v in (5, None, [IMG["id"]], True):
    bad("image_id %s" % short(v, 40), base(image_id=v), 422, "wrong_type", "image_id")
r_rand = provision(base(task_id="same-task", image_id=str(uuid.uuid4())))
expect_error(r_rand, 422, "invalid_value", "provision with a random image_id → 422 invalid_value field image_id",
             field="image_id")
for desc, iid in (("an image of B (the caller owns B too)", IMG_B["id"]),
                  ("an image of C (not the caller's)", IMG_C["id"])):
    r = provision(base(task_id="same-task", image_id=iid))
    expect_error(r, 422, "invalid_value", "provision with %s → 422 invalid_value field image_id" % desc,
                 field="image_id")
    tap.ok(r.body == r_rand.body, "... byte-identical to the answer for a random uuid",
           "%r\n%r" % (r.body, r_rand.body))
bad("a disabled image", base(image_id=IMG_OFF["id"]), 422, "image_disabled")
for v in (59, 0, -1, 604801, 2 ** 31, 2 ** 32 + 600):
    bad("ttl_seconds %d" % v, base(ttl_seconds=v), 422, "invalid_value", "ttl_seconds")
for v in ("60", True, [60], {"s": 60}):
    bad("ttl_seconds %s" % short(v, 40), base(ttl_seconds=v), 422, "wrong_type", "ttl_seconds")
bad("ttl_seconds 1.5", base(ttl_seconds=1.5), 422, TYPE_OR_VALUE, "ttl_seconds")
bad("ttl_seconds 600.0", base(ttl_seconds=600.0), 422, TYPE_OR_VALUE, "ttl_seconds")
for num in (b"1e400", b"-1e400", b"99999999999999999999", b"18446744073709551616"):
    raw = dumps(base(ttl_seconds="@@")).replace(b'"@@"', num)
    bad("ttl_seconds %s" % num.decode(), raw, 422, TYPE_OR_VALUE, "ttl_seconds")
for v in ([], "A=1", 1, True, [["A", "1"]]):
    bad("env_vars %s" % short(v, 40), base(env_vars=v), 422, "wrong_type", "env_vars")
for name in ("1A", "A-B", "", "A B", "é", "A.B", "N" * 129, "A=B", "$A"):
    bad("env name %s" % short(name, 40), base(env_vars={"OK": "v", name: secret("name")}), 422, "invalid_value",
        "env_vars")
for v in (1, None, {}, {"x": "y"}, [], True, 1.5):
    bad("env value %s" % short(v, 40), base(env_vars={"K": v}), 422, TYPE_OR_VALUE, "env_vars")
bad("env value holding \\u0000", base(env_vars={"K": "a\u0000" + secret("nul")}), 422, "invalid_value", "env_vars")
raw = b'{"task_id": "v-nulkey", "image_id": "%s", "env_vars": {"A\\u0000B": "x"}}' % IMG["id"].encode()
r = provision(raw)
tap.ok(not error_problems(r, 400, "invalid_json") or not error_problems(r, 422, "invalid_value", "env_vars"),
       "env name holding \\u0000 → 400 invalid_json or 422 field env_vars", show(r))
bad("101 env_vars", base(env_vars={"V%d" % i: "v" for i in range(101)}), 422, "invalid_value", "env_vars")
s = secret("toolong")
bad("env value of 32769 bytes", base(env_vars={"K": s + "x" * (32769 - len(s))}), 422, "invalid_value", "env_vars")
bad("env value of 16384 'é' + 'a' (32769 bytes)",
    json.dumps(base(env_vars={"K": "é" * 16384 + "a"}), ensure_ascii=False).encode(), 422, "invalid_value",
    "env_vars")
for f in ("foo", "status", "image", "tag", "env", "id", "workspace_id", "created_at", "image_digest"):
    bad("with unknown field %s" % f, base(**{f: "x"}), 422, "unknown_field", f)
bad("a JSON array", b"[]", 422, "invalid_body", NOFIELD)
bad("a JSON string", b'"x"', 422, "invalid_body", NOFIELD)
for raw in (b"{", b"", b'{"task_id": "v-x", "image_id": "%s"} x' % IMG["id"].encode(), b"{'task_id': 'x'}",
            b'{"task_id": "v-x",}', b'{"task_id": "caf\xe9", "image_id": "x"}'):
    bad("malformed %s" % short(raw, 40), raw, 400, "invalid_json", NOFIELD)
bad("Content-Type text/plain", dumps(base()), 415, "unsupported_media_type", NOFIELD, content_type="text/plain")
bad("without Content-Type", dumps(base()), 415, "unsupported_media_type", NOFIELD, content_type=None)
bad("a 70000-byte body", dumps(base(env_vars={"K": "x" * 70000})), 413, "payload_too_large", NOFIELD)
bad("task_id in use (job-1)", base(task_id="job-1"), 409, "task_id_taken")
bad("task_id in use (glob-1), another image", base(task_id="glob-1", image_id=IMG_NOTTL["id"]), 409,
    "task_id_taken")
bad("as viewer", base(), 403, "forbidden", key=VIEWER)
bad("as non-member", base(), 403, "forbidden", key=OUTSIDER)
expect_error(sdelete("job-1", key=VIEWER), 403, "forbidden", "DELETE job-1 as viewer → 403")
expect_error(sdelete("nope-zz"), 404, "not_found", "DELETE an unknown task → 404")
expect_error(sdelete("job-1", ws=ws_b), 404, "not_found", "DELETE job-1 in B → 404")
expect_error(sdelete("job-1", key=OUTSIDER), 403, "forbidden", "DELETE job-1 as non-member → 403")
expect_error(sdelete("job-1", key=REVOKED), 401, "unauthorized", "DELETE job-1 with a revoked key → 401")
expect_error(swait({"task_id": "job-1", "timeout": -5}), 422, "invalid_value", "wait timeout -5 → 422")
for m in ("PUT", "PATCH"):
    r = request(m, "/sandboxes/job-1", key=KEY, ws=ws_a, body={"status": "ready"})
    expect_error(r, 405, "method_not_allowed", "%s /sandboxes/job-1 → 405" % m)

AFTER = stack.dump()
tap.ok(AFTER == BEFORE, "the database is byte-identical after every refused request",
       "\n".join(difflib.unified_diff(BEFORE.splitlines(), AFTER.splitlines(), lineterm="", n=0))[:3000])
tap.is_(state("job-1"), JOB1, "job-1 is unchanged")
tap.is_(rows_of("same-task"), [], "no same-task row")

# ----------------------------------------------------- whole-script checks
DUMP2 = stack.dump()
leaks = [(i, s[:30]) for i, x in enumerate(ALL) for s in SECRETS
         if s.encode() in x.body or any(s in v for v in x.headers.values())]
tap.ok(not leaks, "no response of this script (%d) holds an env value" % len(ALL), repr(leaks[:5]))
tap.ok(not [s for s in SECRETS if s in DUMP2 or s.encode().hex() in DUMP2],
       "the final dump holds no env value (plain or hex)")
logs = stack.all_logs()
tap.ok(not [s for s in SECRETS if s in logs], "no log holds an env value")
bad5 = [(x.status, x.body[:200]) for x in ALL if x.status >= 500]
tap.ok(not bad5, "no response of this script was a 5xx", repr(bad5[:5]))
no_shape = []
for x in ALL:
    if x.status >= 400:
        j = jbody(x)
        if not (isinstance(j, dict) and isinstance(j.get("error"), dict)
                and isinstance(j["error"].get("code"), str) and isinstance(j["error"].get("message"), str)):
            no_shape.append((x.status, x.body[:200]))
tap.ok(not no_shape, "every error response has error.code and error.message", repr(no_shape[:5]))
hdr_missing = [x.status for x in ALL if x.headers.get("cache-control") != "no-store"
               or x.headers.get("x-content-type-options") != "nosniff"]
tap.ok(not hdr_missing, "every response carries Cache-Control: no-store and X-Content-Type-Options: nosniff",
       repr(hdr_missing[:10]))

sanitizer_check(stack)
tap.done()
