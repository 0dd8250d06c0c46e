#!/usr/bin/env python3
"""Sandbox images API, route by route, against a real MariaDB and lighttpd.

README.md "Sandbox images" is the contract: create (201 + Location, the exact
object and its defaults), the image reference grammar and the tag, the number
fields, read, list (the three global images first in every workspace,
pagination, ?registry_id= and ?enabled_only=), partial update, delete, 405 and
unknown paths, the /api/modbox.fcgi prefix; the link between an image and a
registry credential (same workspace, same host, Docker Hub aliases, deleted
registries) and its registry side (409 images_linked on a server change,
DELETE keeps the link); global images (readable by all, 403 to writes); roles
and isolation; and a batch of refused requests that must leave the database
byte-identical (mariadb-dump before and after).  One Stack serves every case.
"""

import atexit
import datetime
import difflib
import re
import time
import uuid

import tap
from apicheck import (ANY, NOFIELD, TS_RE, TYPE_OR_VALUE, UUID_RE, allow_set, dumps,
                      error_problems, expect_error, is_int, jbody, parse_ts, qs, short, show)
from modbox_harness import Stack, sanitizer_check

FIELDS = {"id", "name", "image", "tag", "registry_id", "description", "memory_mb",
          "ttl_seconds", "readiness_port", "enabled", "global", "created_at", "updated_at"}
GLOBAL_IMAGES = ["modbox/code-exec", "modbox/chromium", "modbox/ubuntu"]
PREFIX = "/api/modbox.fcgi"

PASSWORDS = []          # every registry password sent; none may come back


def pw(tag):
    p = "pw-%s-%s" % (tag, uuid.uuid4().hex)
    PASSWORDS.append(p)
    return p


def err_message(r):
    j = jbody(r)
    try:
        return j["error"]["message"]
    except (TypeError, KeyError):
        return ""


def image_problems(obj, want=None):
    """What is wrong with obj as a sandbox image object (a list)."""
    if not isinstance(obj, dict):
        return ["not a JSON object: %r" % (obj,)]
    errs = []
    if set(obj) != FIELDS:
        errs.append("keys %r, want %r" % (sorted(obj), sorted(FIELDS)))
    if not (isinstance(obj.get("id"), str) and UUID_RE.match(obj["id"])):
        errs.append("id %r is not a canonical lowercase uuid" % obj.get("id"))
    for k in ("name", "image", "tag"):
        if not isinstance(obj.get(k), str):
            errs.append("%s %r is not a string" % (k, obj.get(k)))
    rid = obj.get("registry_id")
    if rid is not None and not (isinstance(rid, str) and UUID_RE.match(rid)):
        errs.append("registry_id %r is neither null nor a canonical uuid" % (rid,))
    if obj.get("description") is not None and not isinstance(obj.get("description"), str):
        errs.append("description %r is neither null nor a string" % (obj.get("description"),))
    for k in ("memory_mb", "ttl_seconds", "readiness_port"):
        if obj.get(k) is not None and not is_int(obj.get(k)):
            errs.append("%s %r is neither null nor an integer" % (k, obj.get(k)))
    for k in ("enabled", "global"):
        if not isinstance(obj.get(k), bool):
            errs.append("%s %r is not a boolean" % (k, obj.get(k)))
    now = datetime.datetime.now(datetime.timezone.utc)
    for k in ("created_at", "updated_at"):
        v = obj.get(k)
        if not (isinstance(v, str) and TS_RE.match(v)):
            errs.append("%s %r is not RFC 3339 UTC seconds (...Z)" % (k, v))
        elif abs((parse_ts(v) - now).total_seconds()) > 3600:
            errs.append("%s %r is not close to now (%s)" % (k, v, now.isoformat()))
    for k, v in (want or {}).items():
        got = obj.get(k)
        if got != v or type(got) is not type(v):
            errs.append("%s %r, want %r" % (k, got, v))
    return errs


def expect_image(r, status, desc, want=None):
    errs = []
    if r.status != status:
        errs.append("status %r, want %r" % (r.status, status))
    if not r.headers.get("content-type", "").lower().startswith("application/json"):
        errs.append("Content-Type %r" % r.headers.get("content-type"))
    errs += image_problems(jbody(r), want)
    tap.ok(not errs, desc, "\n".join(errs) + "\n" + show(r))
    return jbody(r) if not errs else None


def without(d, *keys):
    return {k: v for k, v in d.items() if k not in keys}


# ------------------------------------------------------------------ set-up
stack = Stack()
stack.__enter__()            # starts MariaDB + lighttpd; sanitizer_check() closes it
atexit.register(stack.close)
ALL = []
_request = stack.request


def request(*a, **kw):
    r = _request(*a, **kw)
    ALL.append(r)
    return r


ws_a = stack.workspace("images-A")
ws_b = stack.workspace("images-B")          # the same owner owns it too
owner_id, KEY = stack.actor(ws_a, "owner")
stack.member(ws_b, owner_id, "owner")

n = [0]


def uniq(base="img"):
    n[0] += 1
    return "%s-%d" % (base, n[0])


def post(body, ws=None, prefix="", key=None, **kw):
    return request("POST", prefix + "/sandbox-images", body=body, key=key or KEY,
                   ws=ws or ws_a, **kw)


def get(path, ws=None, key=None, **kw):
    return request("GET", path, key=key or KEY, ws=ws, **kw)


def put(iid, body, prefix="", key=None, **kw):
    return request("PUT", "%s/sandbox-images/%s" % (prefix, iid), body=body,
                   key=key or KEY, **kw)


def delete(iid, prefix="", key=None, **kw):
    return request("DELETE", "%s/sandbox-images/%s" % (prefix, iid), key=key or KEY, **kw)


def new_body(**over):
    b = {"name": uniq(), "image": "ghcr.io/org/app"}
    b.update(over)
    return b


def create(ws=None, **over):
    """Create an image that must succeed; returns its object."""
    r = post(new_body(**over), ws=ws)
    if r.status != 201:
        tap.diag("set-up create of an image failed: " + show(r))
        raise RuntimeError("could not create a sandbox image: %s" % r.status)
    return r.json()


def make_registry(server, ws=None, name=None):
    r = request("POST", "/registries", key=KEY, ws=ws or ws_a,
                body={"name": name or uniq("reg"), "server": server,
                      "username": "u", "password": pw("reg")})
    if r.status != 201:
        tap.diag("set-up create of a registry failed: " + show(r))
        raise RuntimeError("could not create a registry: %s" % r.status)
    return r.json()


def state(iid, key=None):
    """The image as GET answers it (None when not 200)."""
    r = get("/sandbox-images/" + iid, key=key)
    return jbody(r) if r.status == 200 else None


def list_all(ws, query=None, key=None, limit=200):
    """Every item of GET /sandbox-images, following cursors; (ids, objects, bad response)."""
    objs, cursor = [], None
    for _ in range(50):
        params = dict(query or {})
        params["limit"] = limit
        if cursor:
            params["cursor"] = cursor
        r = get("/sandbox-images" + qs(**params), ws=ws, key=key)
        j = jbody(r)
        if r.status != 200 or not isinstance(j, dict) or not isinstance(j.get("data"), list):
            return None, None, r
        objs += j["data"]
        cursor = j.get("next_cursor")
        if cursor is None:
            return [o.get("id") for o in objs], objs, None
    return None, None, r


# ------------------------------------------------------------- POST create
tap.diag("POST /sandbox-images")
body = {"name": "Python sandbox", "image": "ghcr.io/org/app"}
r = post(body)
obj = expect_image(r, 201, "POST {name, image} → 201 with the image object and every default",
                   want={"name": "Python sandbox", "image": "ghcr.io/org/app", "tag": "latest",
                         "registry_id": None, "description": None, "memory_mb": None,
                         "ttl_seconds": None, "readiness_port": None, "enabled": True,
                         "global": False})
iid = obj["id"] if obj else "none"
loc = r.headers.get("location")
tap.is_(loc, "/sandbox-images/%s" % iid, "POST → Location is /sandbox-images/<id of the body>")
tap.ok(obj and obj["created_at"] == obj["updated_at"], "POST → created_at == updated_at", repr(obj))
r = get(loc or "/sandbox-images/none")
tap.ok(r.status == 200 and jbody(r) == obj, "GET <Location> → 200 and the object the POST answered", show(r))

reg_ghcr = make_registry("ghcr.io")
full = {"name": "full", "image": "ghcr.io/org/worker", "tag": "v1.2_3-x",
        "registry_id": reg_ghcr["id"], "description": "line one\nline two\twith a tab",
        "memory_mb": 512, "ttl_seconds": 3600, "readiness_port": 8080, "enabled": False}
r = post(full)
full_obj = expect_image(r, 201, "POST with every writable field → 201, each stored as given",
                        want=dict(full, **{"global": False}))
if full_obj:
    r = get("/sandbox-images/" + full_obj["id"])
    tap.ok(r.status == 200 and jbody(r) == full_obj, "GET after the full POST → the same object", show(r))
r = post(new_body(description=None, memory_mb=None, ttl_seconds=None, readiness_port=None,
                  registry_id=None, enabled=True))
expect_image(r, 201, "POST with explicit nulls and enabled=true → 201, nulls kept",
             want={"description": None, "memory_mb": None, "ttl_seconds": None,
                   "readiness_port": None, "registry_id": None, "enabled": True})
r = post(new_body(), content_type="application/json; charset=utf-8")
expect_image(r, 201, "POST with Content-Type application/json; charset=utf-8 → 201")
r = post(new_body(name="unicode ünïcødé 名前 🐳"))
expect_image(r, 201, "POST a non-ASCII name (with a 4-byte emoji) → 201, stored exactly",
             want={"name": "unicode ünïcødé 名前 🐳"})
ids = [create()["id"] for _ in range(3)]
tap.is_(len(set(ids + [iid])), 4, "four creates → four distinct ids")

# prefix
pb = new_body(name="prefixed")
r = post(pb, prefix=PREFIX)
pobj = expect_image(r, 201, "POST %s/sandbox-images → 201" % PREFIX, want={"name": "prefixed"})
pid = pobj["id"] if pobj else "none"
tap.is_(r.headers.get("location"), "%s/sandbox-images/%s" % (PREFIX, pid),
        "POST under the prefix → Location is %s/sandbox-images/<id>" % PREFIX)
r = get("%s/sandbox-images/%s" % (PREFIX, pid))
tap.ok(r.status == 200 and jbody(r) == pobj, "GET %s/sandbox-images/{id} → 200, same object" % PREFIX, show(r))
r = get("%s/sandbox-images%s" % (PREFIX, qs(limit=200)), ws=ws_a)
tap.ok(r.status == 200 and pid in [o.get("id") for o in jbody(r)["data"]],
       "GET %s/sandbox-images → 200, list holding it" % PREFIX, show(r))
r = put(pid, {"description": "via prefix"}, prefix=PREFIX)
expect_image(r, 200, "PUT %s/sandbox-images/{id} → 200" % PREFIX, want={"description": "via prefix"})
r = delete(pid, prefix=PREFIX)
tap.ok(r.status == 204 and r.body == b"", "DELETE %s/sandbox-images/{id} → 204, empty body" % PREFIX, show(r))
r = get("/sandbox-images/" + pid)
expect_error(r, 404, "not_found", "GET after the prefixed DELETE → 404", field=NOFIELD)

# ----------------------------------------------------------- image grammar
tap.diag("image: the reference grammar")
ACCEPTED = ["ubuntu", "library/ubuntu", "localhost:5000/app", "[::1]:5000/app",
            "registry.example.com/a/b/c", "a__b", "a--b", "a.b", "a_b", "a---b",
            "docker.io/library/nginx", "localhost/app", "127.0.0.1:5000/x/y",
            "GHCR.io/org/app", "0", "a1/b2",
            "registry.example.com/" + "a" * 234]          # 255 characters
for img in ACCEPTED:
    r = post(new_body(image=img))
    o = expect_image(r, 201, "POST image %s → 201, image returned as given" % short(img, 40),
                     want={"image": img})
tap.is_(len(ACCEPTED[-1]), 255, "(the long accepted image is 255 characters)")

REFUSED = ["ghcr.io/Org/app", "Ubuntu", "a__-b", "a-", "-a", "a..b", "a//b", "/a", "a/",
           "", " ", "ubuntu ", "a___b", "a_.b", "a.-b", "ghcr.io/", "ghcr.io//app",
           "https://ghcr.io/org/app", "user@ghcr.io/app", "a\tb",
           "ghcr.io:abc/app", "ubun%tu", "ubuntu:", "ubuntu@",
           "x" * 256, "registry.example.com/" + "a" * 235]      # 256 characters
for img in REFUSED:
    r = post(new_body(image=img))
    expect_error(r, 422, "invalid_value", "POST image %s → 422 invalid_value field image" % short(img, 40),
                 field="image")
tap.is_(len(REFUSED[-1]), 256, "(the long refused image is 256 characters)")

for img in ("ubuntu:22.04", "ghcr.io/org/app:v1", "localhost:5000/app:latest",
            "ubuntu@sha256:" + "a" * 64, "ghcr.io/org/app:v1@sha256:" + "0123456789abcdef" * 4):
    r = post(new_body(image=img))
    ok = expect_error(r, 422, "invalid_value",
                      "POST image %s (tag or digest inside) → 422 invalid_value field image" % short(img, 45),
                      field="image")
    tap.like(err_message(r), r"(?i)\btag\b",
             "POST image %s → the message points at the tag field" % short(img, 45))

# ------------------------------------------------------------------ tag
tap.diag("tag")
for t in ("", ".x", "-x", "x" * 129, "a b", "a:b", "a/b", "a@b", "ä", " x", "x\n"):
    r = post(new_body(tag=t))
    expect_error(r, 422, "invalid_value", "POST tag %s → 422 invalid_value field tag" % short(t, 30),
                 field="tag")
for t in ("v1.2_3-x", "_x", "_", "__", "X", "1", "x" * 128, "A.b-C_d"):
    r = post(new_body(tag=t))
    expect_image(r, 201, "POST tag %s → 201, stored" % short(t, 30), want={"tag": t})
for v in (None, 1, True, [], {}):
    r = post(new_body(tag=v))
    expect_error(r, 422, "wrong_type", "POST tag %s → 422 wrong_type field tag" % short(v), field="tag")

# ------------------------------------------------------------- numbers
tap.diag("memory_mb, ttl_seconds, readiness_port")
NUMBERS = {
    "memory_mb": ((256, 8192, 1024), (255, 8193, 0, -1, -256)),
    "ttl_seconds": ((60, 604800, 3600), (59, 604801, 0, -60)),
    "readiness_port": ((1, 65535, 8080), (0, 65536, -1, 100000)),
}
for field, (good, bad) in NUMBERS.items():
    for v in good:
        r = post(new_body(**{field: v}))
        expect_image(r, 201, "POST %s=%d → 201, stored" % (field, v), want={field: v})
    r = post(new_body(**{field: None}))
    expect_image(r, 201, "POST %s=null → 201, null" % field, want={field: None})
    for v in bad:
        r = post(new_body(**{field: v}))
        expect_error(r, 422, "invalid_value", "POST %s=%d → 422 invalid_value field %s" % (field, v, field),
                     field=field)
    for v in ("512", "", True, [], {}):
        r = post(new_body(**{field: v}))
        expect_error(r, 422, "wrong_type", "POST %s=%s → 422 wrong_type field %s" % (field, short(v), field),
                     field=field)
    r = post(new_body(**{field: 1.5}))
    expect_error(r, 422, TYPE_OR_VALUE, "POST %s=1.5 → 422 field %s" % (field, field), field=field)
    r = post(new_body(**{field: float(good[0])}))
    expect_error(r, 422, TYPE_OR_VALUE, "POST %s=%.1f (a fraction) → 422 field %s" % (field, good[0], field),
                 field=field)

# ---------------------------------------------------- other field checks
tap.diag("name, enabled, description, read-only and unknown fields")
for v in ("", "x" * 129, "é" * 129, "   ", "a\nb", "a\u0001b"):
    r = post(new_body(name=v))
    expect_error(r, 422, "invalid_value", "POST name %s → 422 invalid_value field name" % short(v, 30),
                 field="name")
r = post(new_body(name="N" * 128))
expect_image(r, 201, "POST name of 128 characters → 201", want={"name": "N" * 128})
r = post(new_body(name="é" * 127 + "z"))
expect_image(r, 201, "POST name of 128 non-ASCII characters → 201", want={"name": "é" * 127 + "z"})
for v in ("true", "false", 1, 0, None, [], {}):
    r = post(new_body(enabled=v))
    expect_error(r, 422, "wrong_type", "POST enabled=%s → 422 wrong_type field enabled" % short(v),
                 field="enabled")
for field in ("name", "image"):
    for v in (None, 1, True, ["x"], {"a": "b"}):
        r = post(new_body(**{field: v}))
        expect_error(r, 422, "wrong_type", "POST %s=%s → 422 wrong_type field %s" % (field, short(v), field),
                     field=field)
for v in (1, True, [], {}):
    r = post(new_body(description=v))
    expect_error(r, 422, "wrong_type", "POST description=%s → 422 wrong_type" % short(v), field="description")
    r = post(new_body(registry_id=v))
    expect_error(r, 422, "wrong_type", "POST registry_id=%s → 422 wrong_type" % short(v), field="registry_id")
r = post(new_body(description="d" * 1024))
expect_image(r, 201, "POST description of 1024 characters → 201", want={"description": "d" * 1024})
r = post(new_body(description="d" * 1025))
expect_error(r, 422, "invalid_value", "POST description of 1025 characters → 422 field description",
             field="description")
r = post(new_body(description=""))
tap.ok(r.status in (201, 422), "POST description \"\" → 201 or 422, never anything else (%d)" % r.status, show(r))
r = post(new_body(description="bell \u0007 here"))
expect_error(r, 422, "invalid_value", "POST description with a control character (BEL) → 422",
             field="description")
for f, v in (("global", False), ("global", True), ("id", str(uuid.uuid4())),
             ("created_at", "2026-01-01T00:00:00Z"), ("updated_at", "2026-01-01T00:00:00Z"),
             ("workspace_id", ws_a), ("image_host", "ghcr.io"), ("Name", "x"), ("extra", 1)):
    r = post(new_body(**{f: v}))
    expect_error(r, 422, "unknown_field", "POST with %s=%s → 422 unknown_field field %s" % (f, short(v, 20), f),
                 field=f)
for f in ("name", "image"):
    b = new_body()
    del b[f]
    expect_error(post(b), 422, "missing_field", "POST without %s → 422 missing_field field %s" % (f, f), field=f)
expect_error(post({}), 422, "missing_field", "POST {} → 422 missing_field")

# name clashes
c1 = create(name="clash")
r = post(new_body(name="clash"))
expect_error(r, 409, "name_taken", "POST a name used in the workspace → 409 name_taken")
r = post(new_body(name="clash"), ws=ws_b)
expect_image(r, 201, "POST the same name in another workspace → 201", want={"name": "clash"})
r = post(new_body(name="Clash"))
expect_image(r, 201, "POST 'Clash' beside 'clash' → 201 (exact comparison)", want={"name": "Clash"})
c2 = create(name="clash-two")
r = put(c2["id"], {"name": "clash"})
expect_error(r, 409, "name_taken", "PUT rename onto a used name → 409 name_taken")
tap.is_((state(c2["id"]) or {}).get("name"), "clash-two", "after the 409 the name is unchanged")
r = put(c1["id"], {"name": "clash"})
expect_image(r, 200, "PUT an image to its own name → 200", want={"name": "clash"})

# body-level refusals
tap.diag("Content-Type, size, malformed JSON")
for ct in ("text/plain", None, "application/x-www-form-urlencoded", "application/jsonx"):
    r = post(dumps(new_body()), content_type=ct)
    expect_error(r, 415, "unsupported_media_type", "POST Content-Type %r → 415" % (ct,), field=NOFIELD)
    r = put(c1["id"], dumps({"description": "x"}), content_type=ct)
    expect_error(r, 415, "unsupported_media_type", "PUT Content-Type %r → 415" % (ct,), field=NOFIELD)
big = dumps(new_body(description="x"))
big = big[:-1] + b" " * (70000 - len(big)) + b"}"
expect_error(post(big), 413, "payload_too_large", "POST a 70000-byte body → 413", field=NOFIELD)
expect_error(put(c1["id"], big), 413, "payload_too_large", "PUT a 70000-byte body → 413", field=NOFIELD)
for raw in (b"{", b'{"name": "x", "image": "ubuntu",}', b"{'name': 'x'}", b"", b'{"name": "x"} x'):
    expect_error(post(raw), 400, "invalid_json", "POST %r → 400 invalid_json" % raw, field=NOFIELD)
    expect_error(put(c1["id"], raw), 400, "invalid_json", "PUT %r → 400 invalid_json" % raw, field=NOFIELD)
for raw in (b"[]", b'"x"', b"1", b"null"):
    expect_error(post(raw), 422, "invalid_body", "POST %r (not an object) → 422 invalid_body" % raw)

# ----------------------------------------------------------------- GET item
tap.diag("GET /sandbox-images/{id}")
r = get("/sandbox-images/" + iid)
expect_image(r, 200, "GET /sandbox-images/{id} → 200 object", want=obj or {})
r = get("/sandbox-images/" + iid, ws=ws_a)
expect_image(r, 200, "GET /sandbox-images/{id} with its own X-Workspace-Id → 200", want=obj or {})
r = get("/sandbox-images/" + iid.upper())
expect_image(r, 200, "GET /sandbox-images/{ID in upper case} → 200, id in lower case", want={"id": iid})
RAND404 = get("/sandbox-images/%s" % uuid.uuid4())
expect_error(RAND404, 404, "not_found", "GET /sandbox-images/{random uuid} → 404 not_found", field=NOFIELD)

# -------------------------------------------------------- globals in lists
tap.diag("global images in every list")
r = get("/sandbox-images" + qs(limit=3), ws=ws_a)
ga = jbody(r)["data"] if r.status == 200 else []
tap.is_([o.get("image") for o in ga], GLOBAL_IMAGES,
        "the first three items of A's list are modbox/code-exec, modbox/chromium, modbox/ubuntu")
tap.ok(len(ga) == 3 and all(not image_problems(o, {"global": True, "registry_id": None}) for o in ga),
       "... each global: true, registry_id null, a well-formed object",
       "\n".join(sum((image_problems(o, {"global": True, "registry_id": None}) for o in ga), [])))
GLOBAL_IDS = [o.get("id") for o in ga]
ws_empty = stack.workspace("images-empty")
_, KEY_E = stack.actor(ws_empty, "viewer")
r = get("/sandbox-images", ws=ws_empty, key=KEY_E)
j = jbody(r)
tap.ok(r.status == 200 and j and [o.get("id") for o in j["data"]] == GLOBAL_IDS and j["next_cursor"] is None,
       "a workspace with no image of its own lists exactly the three globals, next_cursor null", show(r))
r = get("/sandbox-images" + qs(limit=3), ws=ws_b)
tap.is_([o.get("id") for o in jbody(r)["data"]] if r.status == 200 else None, GLOBAL_IDS,
        "workspace B's list starts with the same three global ids")
ids_a, objs_a, bad = list_all(ws_a)
tap.ok(bad is None and ids_a[:3] == GLOBAL_IDS and len(set(ids_a)) == len(ids_a)
       and all(o["global"] is False for o in objs_a[3:]) and all(o["global"] is True for o in objs_a[:3]),
       "A's whole list: the globals first, then only non-global images, no duplicates",
       bad and show(bad))
ids_b, objs_b, bad = list_all(ws_b)
tap.ok(bad is None and not (set(ids_a[3:] if ids_a else []) & set(ids_b or [])),
       "A's own images are not in B's list (and B's not in A's)", bad and show(bad))

# -------------------------------------------------------- GET list + pages
tap.diag("GET /sandbox-images: pagination")
ws_p = stack.workspace("images-pages")
stack.member(ws_p, owner_id, "owner")
made = []
for i in range(7):
    made.append(create(ws=ws_p, name="page-%d" % i)["id"])
    time.sleep(0.003)
want_all = GLOBAL_IDS + made
r = get("/sandbox-images", ws=ws_p)
j = jbody(r)
tap.ok(r.status == 200 and isinstance(j, dict) and set(j) == {"data", "next_cursor"},
       "GET /sandbox-images → 200 with exactly data and next_cursor", show(r))
tap.ok(j and [o.get("id") for o in j["data"]] == want_all and j["next_cursor"] is None,
       "default limit → the 3 globals then the 7 images in creation order, next_cursor null", show(r))
tap.ok(j and all(not image_problems(o) for o in j["data"]), "every listed item is a well-formed image object",
       j and "\n".join(sum((image_problems(o) for o in j["data"]), [])))


def walk(ws, limit, extra=None, prefix=""):
    pages, cursor = [], None
    for _ in range(40):
        params = dict(extra or {})
        params["limit"] = limit
        if cursor is not None:
            params["cursor"] = cursor
        r = get(prefix + "/sandbox-images" + qs(**params), ws=ws)
        j = jbody(r)
        if r.status != 200 or not isinstance(j, dict) or "data" not in j:
            return pages, r
        pages.append(j)
        cursor = j.get("next_cursor")
        if cursor is None:
            return pages, None
        if not isinstance(cursor, str) or not cursor:
            return pages, r
    return pages, None


for lim, sizes in ((3, [3, 3, 3, 1]), (2, [2, 2, 2, 2, 2]), (1, [1] * 10), (10, [10])):
    pages, bad = walk(ws_p, lim)
    seen = [o["id"] for p in pages for o in p["data"]]
    tap.ok(bad is None and [len(p["data"]) for p in pages] == sizes and seen == want_all,
           "limit=%d → pages of %r holding globals + images once each, in order" % (lim, sizes),
           (bad and show(bad) or "") + "\nsizes %r\nseen %r" % ([len(p["data"]) for p in pages], seen))
    tap.ok(pages and pages[-1]["next_cursor"] is None and all(
        isinstance(p["next_cursor"], str) and p["next_cursor"] for p in pages[:-1]),
        "limit=%d → next_cursor a string on every page but the last, null on the last" % lim,
        repr([p.get("next_cursor") for p in pages]))
pages, bad = walk(ws_p, 2, prefix=PREFIX)
tap.ok(bad is None and [o["id"] for p in pages for o in p["data"]] == want_all,
       "pagination under %s (limit=2) → the same items" % PREFIX, bad and show(bad))
for bad_limit in ("0", "201", "abc", "-1", "", "3.5", "1e1"):
    r = get("/sandbox-images" + qs(limit=bad_limit), ws=ws_p)
    expect_error(r, 400, "bad_request", "?limit=%r → 400 bad_request field limit" % bad_limit, field="limit")
for bad_cursor in ("garbage", "!!!!", "a" * 500, str(uuid.uuid4())):
    r = get("/sandbox-images" + qs(cursor=bad_cursor), ws=ws_p)
    expect_error(r, 400, "bad_request", "?cursor=%s → 400 bad_request field cursor" % short(bad_cursor, 30),
                 field="cursor")
for param in ("foo", "enabled", "server", "registry", "Limit"):
    r = get("/sandbox-images" + qs(**{param: "true"}), ws=ws_p)
    errs = error_problems(r, 400, "bad_request")
    f = ((jbody(r) or {}).get("error") or {}).get("field") if isinstance(jbody(r), dict) else None
    if not (isinstance(f, str) and f):
        errs.append("no error.field")
    tap.ok(not errs, "?%s=true (unknown parameter) → 400 bad_request with a field" % param,
           "\n".join(errs) + "\n" + show(r))

# ------------------------------------------------------------------ filters
tap.diag("?registry_id= and ?enabled_only=")
ws_f = stack.workspace("images-filters")
stack.member(ws_f, owner_id, "owner")
rf1 = make_registry("ghcr.io", ws=ws_f)
rf2 = make_registry("ghcr.io", ws=ws_f)
f_on1 = create(ws=ws_f, registry_id=rf1["id"])["id"]
f_off1 = create(ws=ws_f, registry_id=rf1["id"], enabled=False)["id"]
f_on2 = create(ws=ws_f, registry_id=rf2["id"])["id"]
f_pub = create(ws=ws_f)["id"]
f_pub_off = create(ws=ws_f, enabled=False)["id"]
f_more = [create(ws=ws_f, registry_id=rf1["id"])["id"] for _ in range(3)]
own_f = [f_on1, f_off1, f_on2, f_pub, f_pub_off] + f_more
b_reg = make_registry("ghcr.io", ws=ws_b)
create(ws=ws_b, registry_id=b_reg["id"])


def listed(query, ws=ws_f):
    got, _objs, bad = list_all(ws, query)
    if bad is not None:
        return ("error", bad.status, bad.body[:200])
    return got


tap.is_(listed({"registry_id": rf1["id"]}), [f_on1, f_off1] + f_more,
        "?registry_id=R1 → only the images linked to R1 (no globals), in order")
tap.is_(listed({"registry_id": rf1["id"].upper()}), [f_on1, f_off1] + f_more,
        "?registry_id=R1 in upper case → the same")
tap.is_(listed({"registry_id": rf2["id"]}), [f_on2], "?registry_id=R2 → only R2's image")
tap.is_(listed({"registry_id": rf1["id"], "enabled_only": "true"}), [f_on1] + f_more,
        "?registry_id=R1&enabled_only=true → R1's enabled images")
tap.is_(listed({"registry_id": str(uuid.uuid4())}), [], "?registry_id=<random uuid> → empty list")
tap.is_(listed({"registry_id": b_reg["id"]}), [],
        "?registry_id=<a registry of workspace B> in F → empty (B's linked image not shown)")
tap.is_(listed({"enabled_only": "true"}), GLOBAL_IDS + [f_on1, f_on2, f_pub] + f_more,
        "?enabled_only=true → globals and enabled images, the disabled ones hidden")
tap.is_(listed({"enabled_only": "false"}), GLOBAL_IDS + own_f, "?enabled_only=false → everything")
tap.is_(listed({}), GLOBAL_IDS + own_f, "no filter → everything")
pages, bad = walk(ws_f, 2, extra={"registry_id": rf1["id"]})
tap.ok(bad is None and [o["id"] for p in pages for o in p["data"]] == [f_on1, f_off1] + f_more
       and [len(p["data"]) for p in pages] == [2, 2, 1],
       "?registry_id=R1&limit=2 followed by cursors → R1's 5 images once each", bad and show(bad))
pages, bad = walk(ws_f, 4, extra={"enabled_only": "true"})
tap.ok(bad is None and [o["id"] for p in pages for o in p["data"]] == GLOBAL_IDS + [f_on1, f_on2, f_pub] + f_more,
       "?enabled_only=true&limit=4 followed by cursors → the enabled ones once each", bad and show(bad))
for v in ("not-a-uuid", "", "' OR 1=1 --", str(uuid.uuid4()) + "0", "{%s}" % rf1["id"]):
    r = get("/sandbox-images" + qs(registry_id=v), ws=ws_f)
    expect_error(r, 400, "bad_request", "?registry_id=%s → 400 bad_request field registry_id" % short(v, 40),
                 field="registry_id")
for v in ("TRUE", "1", "0", "yes", "", "False", "truex"):
    r = get("/sandbox-images" + qs(enabled_only=v), ws=ws_f)
    expect_error(r, 400, "bad_request", "?enabled_only=%r → 400 bad_request field enabled_only" % v,
                 field="enabled_only")

# -------------------------------------------------------------- PUT partial
tap.diag("PUT /sandbox-images/{id}: partial")
reg_p = make_registry("ghcr.io")
base = create(name="put-me", image="ghcr.io/org/base", tag="v1", registry_id=reg_p["id"],
              description="desc", memory_mb=1024, ttl_seconds=600, readiness_port=3000)
time.sleep(1.1)
r = put(base["id"], {"description": "new description"})
o = expect_image(r, 200, "PUT {description} → 200, only description changed",
                 want=without(dict(base, description="new description"), "updated_at"))
tap.ok(o and o["created_at"] == base["created_at"] and parse_ts(o["updated_at"]) > parse_ts(base["updated_at"]),
       "PUT → created_at kept, updated_at moved forward", "%r\n%r" % (base, o))
cur = state(base["id"])
tap.ok(cur and without(cur, "updated_at") == without(dict(base, description="new description"), "updated_at"),
       "GET after PUT {description} → the new description, the rest as before", repr(cur))
r = put(base["id"], {"description": None})
expect_image(r, 200, "PUT {description: null} → 200, description cleared",
             want=without(dict(base, description=None), "updated_at"))
r = put(base["id"], {"memory_mb": None})
expect_image(r, 200, "PUT {memory_mb: null} → 200, only memory_mb cleared",
             want=without(dict(base, description=None, memory_mb=None), "updated_at"))
r = put(base["id"], {"ttl_seconds": None, "readiness_port": None})
expect_image(r, 200, "PUT {ttl_seconds: null, readiness_port: null} → 200, both cleared",
             want=without(dict(base, description=None, memory_mb=None, ttl_seconds=None,
                               readiness_port=None), "updated_at"))
r = put(base["id"], {"memory_mb": 8192, "ttl_seconds": 604800, "readiness_port": 65535})
expect_image(r, 200, "PUT the three numbers at their maxima → 200, stored",
             want={"memory_mb": 8192, "ttl_seconds": 604800, "readiness_port": 65535,
                   "registry_id": reg_p["id"], "tag": "v1"})
r = put(base["id"], {"tag": "v2", "enabled": False})
expect_image(r, 200, "PUT {tag, enabled:false} → 200, both set",
             want={"tag": "v2", "enabled": False, "name": "put-me", "image": "ghcr.io/org/base"})
r = put(base["id"], {"name": "put-me-renamed", "enabled": True})
expect_image(r, 200, "PUT {name, enabled:true} → 200", want={"name": "put-me-renamed", "enabled": True})
r = put(base["id"], {"image": "ghcr.io/org/other"})
expect_image(r, 200, "PUT {image} on the same host, still linked → 200",
             want={"image": "ghcr.io/org/other", "registry_id": reg_p["id"]})
before = state(base["id"])
r = put(base["id"], {})
expect_image(r, 200, "PUT {} → 200, nothing but updated_at changes", want=without(before or {}, "updated_at"))
cur = state(base["id"])
for b, f, code in (({"image": "ghcr.io/org/app:v3"}, "image", "invalid_value"),
                   ({"image": "a..b"}, "image", "invalid_value"),
                   ({"image": None}, "image", "wrong_type"),
                   ({"name": None}, "name", "wrong_type"),
                   ({"name": ""}, "name", "invalid_value"),
                   ({"tag": None}, "tag", "wrong_type"),
                   ({"tag": ".x"}, "tag", "invalid_value"),
                   ({"enabled": None}, "enabled", "wrong_type"),
                   ({"enabled": "true"}, "enabled", "wrong_type"),
                   ({"memory_mb": 255}, "memory_mb", "invalid_value"),
                   ({"ttl_seconds": 59}, "ttl_seconds", "invalid_value"),
                   ({"readiness_port": 0}, "readiness_port", "invalid_value"),
                   ({"registry_id": "not-a-uuid"}, "registry_id", "invalid_value"),
                   ({"global": False}, "global", "unknown_field"),
                   ({"id": base["id"]}, "id", "unknown_field"),
                   ({"created_at": base["created_at"]}, "created_at", "unknown_field"),
                   ({"description": "ok", "tag": "bad tag"}, "tag", "invalid_value")):
    r = put(base["id"], b)
    expect_error(r, 422, code, "PUT %s → 422 %s field %s" % (short(b, 60), code, f), field=f)
tap.is_(state(base["id"]), cur, "after the refused PUTs the image is unchanged (updated_at too)")
r = put(str(uuid.uuid4()), {"description": "x"})
expect_error(r, 404, "not_found", "PUT /sandbox-images/{random uuid} → 404", field=NOFIELD)

# ------------------------------------------------------------------ DELETE
tap.diag("DELETE /sandbox-images/{id}")
d = create(name="delete-me")
r = delete(d["id"])
tap.ok(r.status == 204 and r.body == b"", "DELETE /sandbox-images/{id} → 204, empty body", show(r))
expect_error(get("/sandbox-images/" + d["id"]), 404, "not_found", "GET after DELETE → 404", field=NOFIELD)
expect_error(delete(d["id"]), 404, "not_found", "DELETE again → 404", field=NOFIELD)
expect_error(put(d["id"], {"description": "x"}), 404, "not_found", "PUT after DELETE → 404", field=NOFIELD)
ids_now, _o, bad = list_all(ws_a)
tap.ok(bad is None and d["id"] not in ids_now, "the deleted image is gone from the list", bad and show(bad))
r = post(new_body(name="delete-me"))
expect_image(r, 201, "the name of a deleted image can be used again → 201")

# ----------------------------------------------------------- 405 and 404
tap.diag("405 with Allow, unknown paths")


for method, path, must, mustnot in (
        ("PATCH", "/sandbox-images", {"GET", "POST"}, {"PUT", "DELETE"}),
        ("PUT", "/sandbox-images", {"GET", "POST"}, {"PUT", "DELETE"}),
        ("DELETE", "/sandbox-images", {"GET", "POST"}, {"PUT", "DELETE"}),
        ("POST", "/sandbox-images/%s" % iid, {"GET", "PUT", "DELETE"}, {"POST"}),
        ("PATCH", "/sandbox-images/%s" % iid, {"GET", "PUT", "DELETE"}, {"POST"}),
        ("PATCH", PREFIX + "/sandbox-images", {"GET", "POST"}, {"PUT", "DELETE"})):
    r = request(method, path, body={} if method in ("POST", "PUT", "PATCH") else None, key=KEY, ws=ws_a)
    p = path.replace(iid, "{id}")
    expect_error(r, 405, "method_not_allowed", "%s %s → 405 method_not_allowed" % (method, p), field=NOFIELD)
    tap.ok(must <= allow_set(r) and not (mustnot & allow_set(r)),
           "%s %s → Allow holds %s and not %s" % (method, p, sorted(must), sorted(mustnot)),
           "Allow: %r" % r.headers.get("allow"))
r = request("PATCH", "/sandbox-images", body={})
expect_error(r, 405, "method_not_allowed", "PATCH /sandbox-images without a key → 405 (method before key)")
for path in ("/sandbox-images/%s/extra" % iid, "/sandbox-images/not-a-uuid", "/sandbox-images/",
             "/sandbox-image", "/sandbox-images/x/y", "/Sandbox-Images", "/sandbox-images/%s0" % iid,
             "/sandbox-images/" + iid.replace("-", ""), "/sandbox-imagesx",
             PREFIX + "/sandbox-images/not-a-uuid"):
    r = request("GET", path, key=KEY, ws=ws_a)
    expect_error(r, 404, "not_found", "GET %s → 404 not_found" % path.replace(iid, "{id}"), field=NOFIELD)
for method in ("PUT", "DELETE"):
    r = request(method, "/sandbox-images/not-a-uuid", body={} if method == "PUT" else None, key=KEY)
    expect_error(r, 404, "not_found", "%s /sandbox-images/not-a-uuid → 404" % method, field=NOFIELD)

# ---------------------------------------------------------------- link rules
tap.diag("the link to a registry")
reg_other_ws = make_registry("ghcr.io", ws=ws_b)
body_other = new_body(name="link-probe", registry_id=reg_other_ws["id"])
r_other = post(body_other)
expect_error(r_other, 422, "invalid_value",
             "POST registry_id of a registry in another workspace (the caller owns both) → 422 field registry_id",
             field="registry_id")
r_rand = post(dict(body_other, registry_id=str(uuid.uuid4())))
expect_error(r_rand, 422, "invalid_value", "POST registry_id of a registry that does not exist → 422 field registry_id",
             field="registry_id")
tap.ok(r_other.body == r_rand.body and r_other.status == r_rand.status,
       "... and both answers are byte-identical", "%r\n%r" % (r_other.body, r_rand.body))
for v in ("not-a-uuid", "", reg_ghcr["id"] + "0", "{%s}" % reg_ghcr["id"], reg_ghcr["id"].replace("-", "")):
    r = post(new_body(registry_id=v))
    expect_error(r, 422, "invalid_value", "POST registry_id %s (malformed) → 422 field registry_id" % short(v, 40),
                 field="registry_id")
r = post(new_body(image="ghcr.io/org/app", registry_id=reg_ghcr["id"]))
linked = expect_image(r, 201, "POST image ghcr.io/org/app linked to a ghcr.io registry of the workspace → 201",
                      want={"registry_id": reg_ghcr["id"]})
r = post(new_body(image="GHCR.io/org/app", registry_id=reg_ghcr["id"]))
expect_image(r, 201, "POST image GHCR.io/org/app (host in capitals) linked to ghcr.io → 201, image as given",
             want={"registry_id": reg_ghcr["id"], "image": "GHCR.io/org/app"})
r = post(new_body(image="ghcr.io/org/app", registry_id=reg_ghcr["id"].upper()))
expect_image(r, 201, "POST registry_id in upper case → 201, answered in lower case",
             want={"registry_id": reg_ghcr["id"]})
reg_quay = make_registry("quay.io")
r = post(new_body(image="ghcr.io/org/app", registry_id=reg_quay["id"]))
expect_error(r, 422, "registry_mismatch", "POST image ghcr.io/org/app + registry quay.io → 422 registry_mismatch")
m = err_message(r)
tap.ok("ghcr.io" in m and "quay.io" in m, "... the message names both hosts (ghcr.io and quay.io)", repr(m))
r = post(new_body(image="ubuntu", registry_id=reg_ghcr["id"]))
expect_error(r, 422, "registry_mismatch", "POST image ubuntu (Docker Hub) + registry ghcr.io → 422 registry_mismatch")
tap.like(err_message(r), r"ghcr\.io", "... the message names ghcr.io")
tap.like(err_message(r), r"docker\.io", "... and Docker Hub's host (docker.io)")

HUB = [("index.docker.io", "ubuntu"), ("docker.io", "registry-1.docker.io/org/app"),
       ("https://index.docker.io/v1/", "docker.io/library/nginx"),
       ("registry-1.docker.io", "library/ubuntu"), ("docker.io", "index.docker.io/org/app")]
hub_regs = {}
for server, img in HUB:
    reg = hub_regs.get(server) or make_registry(server)
    hub_regs[server] = reg
    r = post(new_body(image=img, registry_id=reg["id"]))
    expect_image(r, 201, "POST image %s + registry %s (Docker Hub aliases) → 201" % (img, server),
                 want={"image": img, "registry_id": reg["id"]})
r = post(new_body(image="docker.io:5000/org/app", registry_id=hub_regs["docker.io"]["id"]))
expect_error(r, 422, "registry_mismatch", "POST image docker.io:5000/org/app + registry docker.io → 422 (a port is another registry)")
reg_local = make_registry("localhost:5000")
r = post(new_body(image="localhost:5000/app", registry_id=reg_local["id"]))
expect_image(r, 201, "POST image localhost:5000/app + registry localhost:5000 → 201")
r = post(new_body(image="localhost:5001/app", registry_id=reg_local["id"]))
expect_error(r, 422, "registry_mismatch", "POST image localhost:5001/app + registry localhost:5000 → 422 registry_mismatch")
tap.ok("localhost:5001" in err_message(r) and "localhost:5000" in err_message(r),
       "... the message names localhost:5001 and localhost:5000", repr(err_message(r)))
r = post(new_body(image="localhost/app", registry_id=reg_local["id"]))
expect_error(r, 422, "registry_mismatch", "POST image localhost/app + registry localhost:5000 → 422 registry_mismatch")
reg_v6 = make_registry("[::1]:5000")
r = post(new_body(image="[::1]:5000/app", registry_id=reg_v6["id"]))
expect_image(r, 201, "POST image [::1]:5000/app + registry [::1]:5000 → 201")

tap.diag("PUT and the link")
lk = create(image="ghcr.io/org/linked", registry_id=reg_ghcr["id"])
before = state(lk["id"])
r = put(lk["id"], {"image": "quay.io/org/linked"})
expect_error(r, 422, "registry_mismatch", "PUT image to another host while linked → 422 registry_mismatch")
tap.ok("quay.io" in err_message(r) and "ghcr.io" in err_message(r), "... naming both hosts", repr(err_message(r)))
r = put(lk["id"], {"registry_id": reg_quay["id"]})
expect_error(r, 422, "registry_mismatch", "PUT registry_id to a quay.io registry for a ghcr.io image → 422 registry_mismatch")
r = put(lk["id"], {"registry_id": reg_other_ws["id"]})
r2 = put(lk["id"], {"registry_id": str(uuid.uuid4())})
expect_error(r, 422, "invalid_value", "PUT registry_id of another workspace's registry → 422 field registry_id",
             field="registry_id")
tap.ok(r.body == r2.body and r2.status == 422, "... byte-identical to the answer for a random uuid",
       "%r\n%r" % (r.body, r2.body))
tap.is_(state(lk["id"]), before, "after the refused PUTs the linked image is unchanged")
r = put(lk["id"], {"image": "quay.io/org/linked", "registry_id": reg_quay["id"]})
expect_image(r, 200, "PUT image and registry_id together to a matching pair (quay.io) → 200",
             want={"image": "quay.io/org/linked", "registry_id": reg_quay["id"]})
r = put(lk["id"], {"registry_id": None})
expect_image(r, 200, "PUT registry_id null → 200, a public image", want={"registry_id": None})
tap.is_((state(lk["id"]) or {}).get("registry_id", "missing"), None, "GET → registry_id null")
r = put(lk["id"], {"image": "docker.io/org/anything"})
expect_image(r, 200, "PUT image to any host on a public image → 200", want={"image": "docker.io/org/anything"})
r = put(lk["id"], {"registry_id": hub_regs["index.docker.io"]["id"]})
expect_image(r, 200, "PUT registry_id of a Docker Hub registry on a docker.io image → 200",
             want={"registry_id": hub_regs["index.docker.io"]["id"]})

tap.diag("a registry that was deleted")
reg_gone = make_registry("ghcr.io")
orphan = create(image="ghcr.io/org/orphan", registry_id=reg_gone["id"])
r = request("DELETE", "/registries/" + reg_gone["id"], key=KEY)
tap.is_(r.status, 204, "DELETE /registries/{id} with a linked image → 204")
o = state(orphan["id"])
tap.ok(o is not None and o.get("registry_id") == reg_gone["id"],
       "the linked image keeps its registry_id (GET shows the deleted registry's id, not null)", repr(o))
tap.is_(listed({"registry_id": reg_gone["id"]}, ws=ws_a), [orphan["id"]],
        "?registry_id=<the deleted registry> still lists the image")
r = post(new_body(image="ghcr.io/org/orphan", registry_id=reg_gone["id"]))
expect_error(r, 422, "invalid_value", "POST a new image linked to the deleted registry → 422 field registry_id",
             field="registry_id")
tap.ok(r.body == r_rand.body, "... byte-identical to the answer for a random uuid", "%r\n%r" % (r.body, r_rand.body))
r = put(orphan["id"], {"description": "renamed after the registry went"})
expect_image(r, 200, "PUT {description} on an image whose registry was deleted → 200 (link not re-checked)",
             want={"description": "renamed after the registry went", "registry_id": reg_gone["id"]})
r = put(orphan["id"], {"name": uniq("orphan"), "enabled": False, "tag": "v9"})
expect_image(r, 200, "PUT {name, enabled, tag} on such an image → 200", want={"enabled": False, "tag": "v9",
                                                                               "registry_id": reg_gone["id"]})
before = state(orphan["id"])
r = put(orphan["id"], {"image": "ghcr.io/org/orphan2"})
expect_error(r, 422, "invalid_value", "PUT {image} on such an image → 422 field registry_id (link re-checked)",
             field="registry_id")
tap.is_(state(orphan["id"]), before, "... and the image is unchanged")
r = put(orphan["id"], {"registry_id": None})
expect_image(r, 200, "PUT {registry_id: null} on such an image → 200, public now", want={"registry_id": None})

# ------------------------------------------------------- the registry side
tap.diag("PUT /registries/{id} with linked images")
reg_s = make_registry("ghcr.io")
ls1 = create(image="ghcr.io/org/s1", registry_id=reg_s["id"])
ls2 = create(image="ghcr.io/org/s2", registry_id=reg_s["id"])
reg_before = request("GET", "/registries/" + reg_s["id"], key=KEY)
row_before = stack.sql("SELECT server, LOWER(HEX(password_ct)), LOWER(HEX(password_nonce)), updated_at "
                       "FROM registries WHERE id = UNHEX('%s')" % reg_s["id"].replace("-", ""))
r = request("PUT", "/registries/" + reg_s["id"], key=KEY,
            body={"server": "quay.io", "password": pw("move")})
expect_error(r, 409, "images_linked", "PUT registry server ghcr.io → quay.io (with password) and 2 linked images → 409 images_linked")
tap.like(err_message(r), r"(?<![0-9])2(?![0-9])", "... the message says 2 (the number of linked images)")
reg_after = request("GET", "/registries/" + reg_s["id"], key=KEY)
tap.ok(reg_before.status == 200 and reg_after.body == reg_before.body,
       "... the registry is unchanged (GET before and after identical)", show(reg_after))
row_after = stack.sql("SELECT server, LOWER(HEX(password_ct)), LOWER(HEX(password_nonce)), updated_at "
                      "FROM registries WHERE id = UNHEX('%s')" % reg_s["id"].replace("-", ""))
tap.ok(row_after == row_before and row_before, "... and its row (server, ciphertext, nonce, updated_at) too",
       "%r\n%r" % (row_before, row_after))
r = put(ls1["id"], {"registry_id": None})
tap.is_(r.status, 200, "unlink one image → 200")
r = request("PUT", "/registries/" + reg_s["id"], key=KEY, body={"server": "quay.io", "password": pw("move")})
expect_error(r, 409, "images_linked", "PUT registry server → quay.io with 1 linked image → 409 images_linked")
tap.like(err_message(r), r"(?<![0-9])1(?![0-9])", "... the message says 1")
r = put(ls2["id"], {"registry_id": None})
tap.is_(r.status, 200, "unlink the second image → 200")
r = request("PUT", "/registries/" + reg_s["id"], key=KEY, body={"server": "quay.io", "password": pw("move")})
tap.ok(r.status == 200 and (jbody(r) or {}).get("server") == "quay.io",
       "after unlinking every image the server change → 200, server quay.io", show(r))
reg_h = make_registry("docker.io")
h1 = create(image="ubuntu", registry_id=reg_h["id"])
h2 = create(image="registry-1.docker.io/org/app", registry_id=reg_h["id"])
r = request("PUT", "/registries/" + reg_h["id"], key=KEY, body={"server": "index.docker.io"})
tap.ok(r.status == 200 and (jbody(r) or {}).get("server") == "index.docker.io",
       "PUT registry docker.io → index.docker.io (an alias) with 2 linked hub images → 200", show(r))
r = request("PUT", "/registries/" + reg_h["id"], key=KEY,
            body={"server": "registry-1.docker.io", "password": pw("alias")})
tap.ok(r.status == 200 and (jbody(r) or {}).get("server") == "registry-1.docker.io",
       "PUT registry → registry-1.docker.io with a password and linked hub images → 200", show(r))
r = request("PUT", "/registries/" + reg_h["id"], key=KEY, body={"server": "ghcr.io", "password": pw("away")})
expect_error(r, 409, "images_linked", "PUT registry Docker Hub → ghcr.io with 2 linked hub images → 409")
tap.ok((state(h1["id"]) or {}).get("registry_id") == reg_h["id"]
       and (state(h2["id"]) or {}).get("registry_id") == reg_h["id"],
       "the linked hub images are still linked")
reg_d = make_registry("ghcr.io")
dl = create(image="ghcr.io/org/d", registry_id=reg_d["id"])
r = request("DELETE", "/registries/" + reg_d["id"], key=KEY)
tap.is_(r.status, 204, "DELETE /registries/{id} with a linked image → 204")
r = get("/sandbox-images/" + dl["id"])
expect_image(r, 200, "GET the linked image after the registry's DELETE → 200, registry_id unchanged (not null)",
             want={"registry_id": reg_d["id"]})

# --------------------------------------------------------- global images
tap.diag("global images")
_, ADMIN = stack.actor(ws_a, "admin")
_, MEMBER = stack.actor(ws_a, "member")
_, VIEWER = stack.actor(ws_a, "viewer")
ws_c = stack.workspace("images-C")
_, OUTSIDER = stack.actor(ws_c, "owner")          # owner of C only
g_before = [get("/sandbox-images/" + g) for g in GLOBAL_IDS]
for g, rb in zip(GLOBAL_IDS, g_before):
    expect_image(rb, 200, "GET global %s as A's owner → 200, global: true" % g,
                 want={"global": True, "registry_id": None})
for who, key in (("a viewer of A", VIEWER), ("a member of A", MEMBER),
                 ("the owner of C only", OUTSIDER), ("a viewer of an empty workspace", KEY_E)):
    for g, rb in zip(GLOBAL_IDS, g_before):
        r = get("/sandbox-images/" + g, key=key)
        tap.ok(r.status == 200 and r.body == rb.body, "GET global %s as %s → 200, same object" % (g[-1], who),
               show(r))
r = get("/sandbox-images/" + GLOBAL_IDS[0], ws=ws_a)
tap.ok(r.status == 200 and r.body == g_before[0].body, "GET a global with X-Workspace-Id → 200", show(r))
for who, key in (("owner", KEY), ("admin", ADMIN)):
    for g in GLOBAL_IDS:
        r = put(g, {"description": "hijacked"}, key=key)
        expect_error(r, 403, "forbidden", "PUT global %s as %s → 403 forbidden" % (g[-1], who))
        r = put(g, {"name": "x", "image": "evil/evil", "enabled": False}, key=key, ws=ws_a)
        expect_error(r, 403, "forbidden", "PUT global %s as %s (with X-Workspace-Id) → 403" % (g[-1], who))
        r = delete(g, key=key)
        expect_error(r, 403, "forbidden", "DELETE global %s as %s → 403 forbidden" % (g[-1], who))
for who, key in (("member", MEMBER), ("viewer", VIEWER), ("outsider", OUTSIDER)):
    r = put(GLOBAL_IDS[1], {"description": "hijacked"}, key=key)
    expect_error(r, 403, "forbidden", "PUT a global as %s → 403" % who)
    r = delete(GLOBAL_IDS[1], key=key)
    expect_error(r, 403, "forbidden", "DELETE a global as %s → 403" % who)
for method in ("PUT", "DELETE"):
    r = request(method, "/sandbox-images/" + GLOBAL_IDS[0],
                body={"description": "x"} if method == "PUT" else None)
    expect_error(r, 401, "unauthorized", "%s a global without a key → 401 (before 403)" % method)
g_after = [get("/sandbox-images/" + g) for g in GLOBAL_IDS]
tap.ok([x.body for x in g_after] == [x.body for x in g_before],
       "the globals are unchanged after every refused write (GET before/after identical)",
       "%r\n%r" % ([x.body for x in g_before], [x.body for x in g_after]))
ids_now, _o, bad = list_all(ws_a)
tap.ok(bad is None and ids_now[:3] == GLOBAL_IDS, "the globals are still first in A's list")

# ----------------------------------------------------------------- roles
tap.diag("roles and isolation")
rev_uid, REVOKED = stack.actor(ws_a, "owner")
r = get("/sandbox-images", ws=ws_a, key=REVOKED)
tap.is_(r.status, 200, "before revocation the key works")
stack.admin("key", "revoke", REVOKED)
target = create(name="role-target", image="ghcr.io/org/role")
for who, key, can_write in (("owner", KEY, True), ("admin", ADMIN, True),
                            ("member", MEMBER, False), ("viewer", VIEWER, False)):
    r = post(new_body(), key=key)
    if can_write:
        expect_image(r, 201, "%s POST /sandbox-images → 201" % who)
    else:
        expect_error(r, 403, "forbidden", "%s POST /sandbox-images → 403 forbidden" % who)
    got, _objs, bad = list_all(ws_a, key=key)
    tap.ok(bad is None and target["id"] in got and got[:3] == GLOBAL_IDS,
           "%s GET /sandbox-images → 200, holding the globals and A's image" % who, bad and show(bad))
    r = get("/sandbox-images/" + target["id"], key=key)
    expect_image(r, 200, "%s GET /sandbox-images/{id} → 200" % who, want={"id": target["id"]})
    victim = create(image="ghcr.io/org/victim")
    r = put(victim["id"], {"description": "by " + who}, key=key)
    after = state(victim["id"])
    if can_write:
        expect_image(r, 200, "%s PUT /sandbox-images/{id} → 200" % who, want={"description": "by " + who})
    else:
        expect_error(r, 403, "forbidden", "%s PUT /sandbox-images/{id} → 403 forbidden" % who)
        tap.is_(after, victim, "... and the image is unchanged")
    r = delete(victim["id"], key=key)
    if can_write:
        tap.ok(r.status == 204 and state(victim["id"]) is None, "%s DELETE /sandbox-images/{id} → 204, gone" % who,
               show(r))
    else:
        expect_error(r, 403, "forbidden", "%s DELETE /sandbox-images/{id} → 403 forbidden" % who)
        tap.ok(state(victim["id"]) is not None, "... and the image is still there")

# README order of checks: the role (4) comes before the body (6, 7)
for who, key in (("member", MEMBER), ("viewer", VIEWER)):
    expect_error(post(b"{", key=key), 403, "forbidden", "%s POST with a malformed body → 403 (role before body)" % who)
    expect_error(put(target["id"], b"{", key=key), 403, "forbidden",
                 "%s PUT with a malformed body → 403 (role before body)" % who)
    expect_error(post(dumps(new_body()), key=key, content_type="text/plain"), 403, "forbidden",
                 "%s POST with Content-Type text/plain → 403 (role before Content-Type)" % who)
expect_error(put(GLOBAL_IDS[0], b"{"), 403, "forbidden", "owner PUT a global with a malformed body → 403")
expect_error(put(GLOBAL_IDS[0], {"bogus": 1}), 403, "forbidden", "owner PUT a global with an unknown field → 403")

# a non-member (owner of C only)
r = post(new_body(), key=OUTSIDER, ws=ws_a)
expect_error(r, 403, "forbidden", "non-member POST /sandbox-images in A → 403")
r = get("/sandbox-images", key=OUTSIDER, ws=ws_a)
expect_error(r, 403, "forbidden", "non-member GET /sandbox-images in A → 403")
ref = {m: request(m, "/sandbox-images/%s" % uuid.uuid4(), key=OUTSIDER,
                  body={"description": "x"} if m == "PUT" else None) for m in ("GET", "PUT", "DELETE")}
for m in ("GET", "PUT", "DELETE"):
    r = request(m, "/sandbox-images/" + target["id"], key=OUTSIDER,
                body={"description": "x"} if m == "PUT" else None)
    expect_error(r, 404, "not_found", "non-member %s /sandbox-images/{id of A} → 404" % m, field=NOFIELD)
    tap.ok(r.body == ref[m].body and ref[m].status == 404,
           "... byte-identical to its %s of a random uuid" % m, "%r\n%r" % (r.body, ref[m].body))
tap.is_(state(target["id"]), target, "A's image is unchanged after the non-member's attempts")
# X-Workspace-Id of another workspace on an item route
for m in ("GET", "PUT", "DELETE"):
    r = request(m, "/sandbox-images/" + target["id"], key=KEY, ws=ws_b,
                body={"description": "x"} if m == "PUT" else None)
    expect_error(r, 404, "not_found", "owner %s /sandbox-images/{id of A} with X-Workspace-Id of B → 404" % m,
                 field=NOFIELD)
    rr = request(m, "/sandbox-images/%s" % uuid.uuid4(), key=KEY,
                 body={"description": "x"} if m == "PUT" else None)
    tap.ok(r.body == rr.body, "... byte-identical to the owner's 404 for a random uuid", "%r\n%r" % (r.body, rr.body))
r = get("/sandbox-images/" + target["id"], ws="not-a-uuid")
expect_error(r, 400, "bad_request", "GET item with a malformed X-Workspace-Id → 400 field X-Workspace-Id",
             field="X-Workspace-Id")
for hdr, want in ((None, 400), ("not-a-uuid", 400), (str(uuid.uuid4()), 403)):
    r = request("GET", "/sandbox-images", key=KEY, headers={"X-Workspace-Id": hdr})
    expect_error(r, want, "bad_request" if want == 400 else "forbidden",
                 "GET /sandbox-images with X-Workspace-Id %s → %d" % (hdr or "missing", want))
tap.is_(state(target["id"]), target, "A's image is unchanged after the cross-workspace attempts")
# no key, unknown key, revoked key
for desc, k in (("no key", None), ("an unknown key", "mbx_" + "A" * 43), ("a revoked key", REVOKED)):
    for m, path, b in (("GET", "/sandbox-images", None), ("POST", "/sandbox-images", new_body()),
                       ("GET", "/sandbox-images/" + target["id"], None),
                       ("PUT", "/sandbox-images/" + target["id"], {"description": "x"}),
                       ("DELETE", "/sandbox-images/" + target["id"], None),
                       ("GET", "/sandbox-images/" + GLOBAL_IDS[0], None)):
        r = _request(m, path, body=b, key=k, ws=ws_a)
        ALL.append(r)
        expect_error(r, 401, "unauthorized", "%s %s with %s → 401 + WWW-Authenticate: Bearer"
                     % (m, path.replace(target["id"], "{id}").replace(GLOBAL_IDS[0], "{global}"), desc),
                     field=NOFIELD)
tap.is_(state(target["id"]), target, "A's image survived the unauthorised PUT and DELETE")

# ----------------------------------------------------- bad input + dump()
tap.diag("refused requests write nothing (dump before/after)")
BAD_IMG = create(name="bad-input-target", image="ghcr.io/org/bad", registry_id=reg_ghcr["id"],
                 description="keep", memory_mb=512, ttl_seconds=120, readiness_port=80)
reg_pin = make_registry("ghcr.io")
pin1 = create(image="ghcr.io/org/pin1", registry_id=reg_pin["id"])
pin2 = create(image="ghcr.io/org/pin2", registry_id=reg_pin["id"])
BEFORE = stack.dump()
tap.ok("INSERT INTO `sandbox_images`" in BEFORE, "(the dump holds sandbox_images rows)")


def both(desc, post_body, put_body, status, code, field=ANY, **kw):
    """POST /sandbox-images and PUT on BAD_IMG with the same fault."""
    expect_error(post(post_body, **kw), status, code, "POST %s → %d %s" % (desc, status, code)
                 + ("" if field in (ANY, NOFIELD) else " field %s" % field), field)
    if put_body is not None:
        expect_error(put(BAD_IMG["id"], put_body, **kw), status, code, "PUT %s → %d %s" % (desc, status, code)
                     + ("" if field in (ANY, NOFIELD) else " field %s" % field), field)


for img in REFUSED + ["ubuntu:22.04", "ghcr.io/org/app:v1", "ubuntu@sha256:" + "a" * 64]:
    both("image %s" % short(img, 40), new_body(image=img), {"image": img}, 422, "invalid_value", "image")
for t in ("", ".x", "-x", "x" * 129, "a b"):
    both("tag %s" % short(t, 30), new_body(tag=t), {"tag": t}, 422, "invalid_value", "tag")
for field, (good, bad) in NUMBERS.items():
    for v in bad:
        both("%s=%d" % (field, v), new_body(**{field: v}), {field: v}, 422, "invalid_value", field)
    both("%s=\"512\"" % field, new_body(**{field: "512"}), {field: "512"}, 422, "wrong_type", field)
    both("%s=1.5" % field, new_body(**{field: 1.5}), {field: 1.5}, 422, TYPE_OR_VALUE, field)
    for num in (b"1e400", b"-1e400", b"99999999999999999999", b"-99999999999999999999",
                b"18446744073709551616", b"9223372036854775808"):
        b = new_body()
        b[field] = "@@NUM@@"
        raw = dumps(b).replace(b'"@@NUM@@"', num)
        both("%s=%s" % (field, num.decode()), raw, b'{"%s": %s}' % (field.encode(), num), 422, TYPE_OR_VALUE, field)
for v in ("", "x" * 129):
    both("name %s" % short(v, 20), new_body(name=v), {"name": v}, 422, "invalid_value", "name")
both("enabled \"true\"", new_body(enabled="true"), {"enabled": "true"}, 422, "wrong_type", "enabled")
for f in ("global", "id", "created_at", "updated_at", "workspace_id"):
    both("with read-only %s" % f, new_body(**{f: "x"}), {f: "x"}, 422, "unknown_field", f)
both("description of 1025 characters", new_body(description="d" * 1025), {"description": "d" * 1025},
     422, "invalid_value", "description")
both("a name in use", new_body(name="clash"), {"name": "clash"}, 409, "name_taken")
both("registry_id of another workspace", new_body(registry_id=reg_other_ws["id"]),
     {"registry_id": reg_other_ws["id"]}, 422, "invalid_value", "registry_id")
both("registry_id that does not exist", new_body(registry_id=str(uuid.uuid4())),
     {"registry_id": str(uuid.uuid4())}, 422, "invalid_value", "registry_id")
both("registry_id malformed", new_body(registry_id="' OR 1=1 --"), {"registry_id": "' OR 1=1 --"},
     422, "invalid_value", "registry_id")
both("a mismatching registry", new_body(registry_id=reg_quay["id"]), {"registry_id": reg_quay["id"]},
     422, "registry_mismatch")
both("image on another host than the linked registry", new_body(image="quay.io/x/y", registry_id=reg_ghcr["id"]),
     {"image": "quay.io/x/y"}, 422, "registry_mismatch")
SQLISH = ["' OR 1=1 --", "\"; DROP TABLE sandbox_images; --", "\\", "\\'", "%_", "%", "_",
          "Robert'); DROP TABLE sandbox_images;--", "a'b", "x`y", "a;b"]
for v in SQLISH:
    both("image %r" % v, new_body(image=v), {"image": v}, 422, "invalid_value", "image")
    if v != "_":            # "_" alone is a valid tag ([A-Za-z0-9_] first)
        both("tag %r" % v, new_body(tag=v), {"tag": v}, 422, "invalid_value", "tag")
for field in ("name", "image", "tag", "description", "registry_id"):
    for v in ("a\u0000b", "\u0000", "ab\u0000"):
        both("%s=%r" % (field, v), new_body(**{field: v}), {field: v}, 422, "invalid_value", field)
for levels in (17, 100, 5000):
    inner = "[" * (levels - 1) + "]" * (levels - 1)
    raw = ('{"name": "deep", "image": "ubuntu", "description": %s}' % inner).encode()
    both("with %d levels of nesting" % levels, raw, ('{"description": %s}' % inner).encode(),
         400, "invalid_json", NOFIELD)
    obj_inner = '{"a": ' * (levels - 1) + "1" + "}" * (levels - 1)
    raw = ('{"name": "deep", "image": "ubuntu", "tag": %s}' % obj_inner).encode()
    both("with %d levels of objects" % levels, raw, ('{"tag": %s}' % obj_inner).encode(),
         400, "invalid_json", NOFIELD)
for field, bad, what in (("name", b"\xff\xfe", "bytes FF FE"), ("image", b"ub\xc0\xafuntu", "an overlong '/'"),
                         ("tag", b"v\xed\xa0\x80", "an encoded surrogate"),
                         ("description", b"\xe2\x82", "a truncated sequence"),
                         ("description", b"caf\xe9", "Latin-1"),
                         ("registry_id", b"\xf4\x90\x80\x80", "a code point above U+10FFFF")):
    pieces = {"name": b'"utf8"', "image": b'"ubuntu"'}
    pieces[field] = b'"' + bad + b'"'
    raw = b"{" + b", ".join(b'"%s": %s' % (k.encode(), v) for k, v in pieces.items()) + b"}"
    both("with %s in %s" % (what, field), raw, b'{"%s": "%s"}' % (field.encode(), bad), 400, "invalid_json", NOFIELD)
for raw in (b"{", b"", b'{"name": "x", "image": "ubuntu"} x', b"{'name': 'x'}", b'{"name": "x",}'):
    both("malformed %r" % raw, raw, raw, 400, "invalid_json", NOFIELD)
both("Content-Type text/plain", dumps(new_body()), dumps({"description": "x"}), 415, "unsupported_media_type",
     NOFIELD, content_type="text/plain")
both("a 70000-byte body", big, big, 413, "payload_too_large", NOFIELD)
for key, who in ((MEMBER, "member"), (VIEWER, "viewer")):
    both("as %s" % who, new_body(), {"description": "x"}, 403, "forbidden", key=key)
    expect_error(delete(BAD_IMG["id"], key=key), 403, "forbidden", "DELETE as %s → 403" % who)
for g in GLOBAL_IDS:
    expect_error(put(g, {"description": "x"}), 403, "forbidden", "PUT a global → 403")
    expect_error(delete(g), 403, "forbidden", "DELETE a global → 403")
r = request("PUT", "/registries/" + reg_pin["id"], key=KEY, body={"server": "quay.io", "password": pw("pin")})
expect_error(r, 409, "images_linked", "PUT registry server with 2 linked images → 409 images_linked")
tap.like(err_message(r), r"(?<![0-9])2(?![0-9])", "... the message says 2")
r = request("GET", "/sandbox-images" + qs(registry_id="' OR 1=1 --"), key=KEY, ws=ws_a)
expect_error(r, 400, "bad_request", "GET ?registry_id=' OR 1=1 -- → 400", field="registry_id")

AFTER = stack.dump()
tap.ok(AFTER == BEFORE, "the database is byte-identical after every refused request",
       "\n".join(difflib.unified_diff(BEFORE.splitlines(), AFTER.splitlines(), lineterm="", n=0))[:3000])
tap.is_(state(BAD_IMG["id"]), BAD_IMG, "the image every bad PUT aimed at is unchanged")

tap.diag("SQL-looking values where they are valid are stored byte-exact")
made_ok = []
for v in SQLISH:
    b = new_body(name="n " + v, description=v)
    r = post(b)
    o = expect_image(r, 201, "POST name=%r description=%r → 201, stored exactly" % ("n " + v, v),
                     want={"name": "n " + v, "description": v})
    if o:
        made_ok.append(o["id"])
        tap.is_(state(o["id"]), o, "... GET answers the same object")
r = post(new_body(name="a%"))
o1 = expect_image(r, 201, "POST name 'a%' → 201")
r = post(new_body(name="ab"))
o2 = expect_image(r, 201, "POST name 'ab' beside 'a%' → 201 (no LIKE matching)")
made_ok += [o["id"] for o in (o1, o2) if o]
r = put(BAD_IMG["id"], {"description": "'; DELETE FROM sandbox_images; --"})
expect_image(r, 200, "PUT description with SQL → 200, stored", want={"description": "'; DELETE FROM sandbox_images; --"})
r = put(BAD_IMG["id"], {"description": "keep"})
tap.is_(r.status, 200, "PUT the description back → 200")
for x in made_ok:
    r = delete(x)
    if r.status != 204:
        tap.ok(False, "clean-up DELETE → 204", show(r))
AFTER2 = stack.dump()
# BAD_IMG's updated_at moved with the two PUTs: compare with that column masked
mask = lambda s: re.sub(r"'\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}'\);$", "'T');", s, flags=re.M)  # noqa: E731
tap.ok(mask(AFTER2) == mask(BEFORE),
       "after the valid ones are deleted the dump equals the first (updated_at masked)",
       "\n".join(difflib.unified_diff(BEFORE.splitlines(), AFTER2.splitlines(), lineterm="", n=0))[:3000])

# ----------------------------------------------------- whole-script checks
leaks = [(i, p) for i, x in enumerate(ALL) for p in PASSWORDS
         if p.encode() in x.body or any(p in v for v in x.headers.values())]
tap.ok(not leaks, "no response of this script (%d) holds a registry password" % len(ALL), repr(leaks[:5]))
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
