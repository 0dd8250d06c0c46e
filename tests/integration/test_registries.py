#!/usr/bin/env python3
"""Registries API, route by route, against a real MariaDB and lighttpd.

Every registries route and every status README.md lists for it: create
(201 + Location, the exact object), server normalisation and refusals, read,
list (pagination, cursors, filters, bad query strings), partial update
(including the password/server rule), name clashes, delete, 405 with Allow,
unknown paths, the same routes under the /api/modbox.fcgi prefix, and 401
with WWW-Authenticate.  One Stack serves every case.
"""

import atexit
import datetime
import sys
import time
import uuid

import tap
from apicheck import (NOFIELD, TS_RE, UUID_RE, allow_set, error_problems, expect_error, jbody,
                      parse_ts, qs, show)
from modbox_harness import Stack, sanitizer_check

FIELDS = {"id", "name", "server", "username", "email", "enabled",
          "created_at", "updated_at"}
PREFIX = "/api/modbox.fcgi"

# Every password sent by this script; none may ever come back.
PASSWORDS = []


def pw(tag):
    p = "pw-%s-%s" % (tag, uuid.uuid4().hex)
    PASSWORDS.append(p)
    return p


def registry_problems(obj, want=None):
    """What is wrong with obj as a registry object (a list)."""
    if not isinstance(obj, dict):
        return ["not a JSON object: %r" % (obj,)]
    errs = []
    if set(obj) != FIELDS:
        errs.append("keys %r, want %r" % (sorted(obj), sorted(FIELDS)))
    if not (isinstance(obj.get("id"), str) and UUID_RE.match(obj["id"])):
        errs.append("id %r is not a canonical lowercase uuid" % obj.get("id"))
    for k in ("name", "server", "username"):
        if not isinstance(obj.get(k), str):
            errs.append("%s %r is not a string" % (k, obj.get(k)))
    if obj.get("email") is not None and not isinstance(obj.get("email"), str):
        errs.append("email %r is neither null nor a string" % obj.get("email"))
    if not isinstance(obj.get("enabled"), bool):
        errs.append("enabled %r is not a boolean" % obj.get("enabled"))
    now = datetime.datetime.now(datetime.timezone.utc)
    for k in ("created_at", "updated_at"):
        v = obj.get(k)
        if not (isinstance(v, str) and TS_RE.match(v)):
            errs.append("%s %r is not RFC 3339 UTC seconds (...Z)" % (k, v))
        elif abs((parse_ts(v) - now).total_seconds()) > 600:
            errs.append("%s %r is not close to now (%s)" % (k, v, now.isoformat()))
    for k, v in (want or {}).items():
        if obj.get(k) != v:
            errs.append("%s %r, want %r" % (k, obj.get(k), v))
    return errs


def expect_registry(r, status, desc, want=None):
    errs = []
    if r.status != status:
        errs.append("status %r, want %r" % (r.status, status))
    if not r.headers.get("content-type", "").lower().startswith("application/json"):
        errs.append("Content-Type %r" % r.headers.get("content-type"))
    errs += registry_problems(jbody(r), want)
    if b"password" in r.body:
        errs.append("the word 'password' appears in a success body")
    tap.ok(not errs, desc, "\n".join(errs) + "\n" + show(r))
    return jbody(r) if not errs else None


# ------------------------------------------------------------------ set-up
stack = Stack()
stack.__enter__()            # starts MariaDB + lighttpd; sanitizer_check() closes it
atexit.register(stack.close)  # and this cleans up if the script dies first
ALL = []                 # every response of the script, for the final scan
_request = stack.request


def request(*a, **kw):
    r = _request(*a, **kw)
    ALL.append(r)
    return r


ws_a = stack.workspace("registries-A")
ws_other = stack.workspace("registries-other")
owner_id, KEY = stack.actor(ws_a, "owner")
# the same owner is also owner of ws_other (to test that names are per workspace)
stack.member(ws_other, owner_id, "owner")


def post(body, ws=None, prefix="", **kw):
    return request("POST", prefix + "/registries", body=body, key=KEY,
                   ws=ws or ws_a, **kw)


def get(path, ws=None, **kw):
    return request("GET", path, key=KEY, ws=ws, **kw)


def put(rid, body, prefix="", **kw):
    return request("PUT", "%s/registries/%s" % (prefix, rid), body=body, key=KEY, **kw)


def delete(rid, prefix="", **kw):
    return request("DELETE", "%s/registries/%s" % (prefix, rid), key=KEY, **kw)


def db_row(rid):
    """The stored row of a registry, as a dict of text (binary as hex)."""
    rows = stack.sql(
        "SELECT LOWER(HEX(workspace_id)), name, server, server_key, username, email, "
        "enabled, LOWER(HEX(password_ct)), LOWER(HEX(password_nonce)), "
        "LOWER(HEX(password_tag)), key_id, created_at, updated_at "
        "FROM registries WHERE id = UNHEX('%s')" % rid.replace("-", ""))
    if not rows:
        return None
    keys = ("workspace_id", "name", "server", "server_key", "username", "email",
            "enabled", "ct", "nonce", "tag", "key_id", "created_at", "updated_at")
    return dict(zip(keys, rows[0]))


n = [0]


def uniq(base="reg"):
    n[0] += 1
    return "%s-%d" % (base, n[0])


def new_body(**over):
    b = {"name": uniq(), "server": "ghcr.io", "username": "octocat",
         "password": pw("new")}
    b.update(over)
    return b


def create(ws=None, **over):
    """Create a registry that must succeed; returns its object."""
    body = new_body(**over)
    r = post(body, ws=ws)
    if r.status != 201:
        tap.diag("set-up create failed: " + show(r))
        raise RuntimeError("could not create a registry: %s" % r.status)
    return r.json()


# ------------------------------------------------------------- POST create
tap.diag("POST /registries")
body = {"name": "GitHub Container Registry", "server": "ghcr.io",
        "username": "your-github-username", "password": pw("ghcr")}
r = post(body)
obj = expect_registry(r, 201, "POST /registries (no email, no enabled) → 201 with the registry object",
                      want={"name": body["name"], "server": "ghcr.io",
                            "username": body["username"], "email": None,
                            "enabled": True})
rid = obj["id"] if obj else None
loc = r.headers.get("location")
tap.is_(loc, "/registries/%s" % rid, "POST → Location is /registries/<id of the body>")
tap.ok(obj and obj["created_at"] == obj["updated_at"],
       "POST → created_at == updated_at on a new registry",
       "%r" % (obj,))
tap.ok(body["password"].encode() not in r.body and b"password" not in r.body,
       "POST → the body has no password field and does not echo the password")

r = get(loc or "/registries/none")
tap.ok(r.status == 200 and jbody(r) == obj,
       "GET <Location> → 200 and the same object the POST answered", show(r))

r = post({"name": "with email", "server": "ghcr.io", "username": "u",
          "password": pw("e"), "email": "you@yourcompany.com", "enabled": False})
obj2 = expect_registry(r, 201, "POST with email and enabled=false → 201, both stored",
                       want={"email": "you@yourcompany.com", "enabled": False})
r = post({"name": "explicit null email", "server": "ghcr.io", "username": "u",
          "password": pw("e"), "email": None, "enabled": True})
expect_registry(r, 201, "POST with \"email\": null and enabled=true → 201, email null",
                want={"email": None, "enabled": True})
r = post({"name": "unicode ünïcødé 名前 🐳", "server": "ghcr.io",
          "username": "ユーザー", "password": pw("u")})
expect_registry(r, 201, "POST with non-ASCII name and username (incl. a 4-byte emoji) → 201, stored exactly",
                want={"name": "unicode ünïcødé 名前 🐳", "username": "ユーザー"})
r = post({"name": "charset ok", "server": "ghcr.io", "username": "u",
          "password": pw("c")}, content_type="application/json; charset=utf-8")
expect_registry(r, 201, "POST with Content-Type: application/json; charset=utf-8 → 201")

# ids are fresh for each create
ids = [create()["id"] for _ in range(3)]
tap.is_(len(set(ids + [rid])), 4, "four creates → four distinct ids")

# ---------------------------------------------------- server normalisation
tap.diag("server normalisation")
NORMAL = [
    ("GHCR.io", "ghcr.io"),
    ("https://ghcr.io/", "ghcr.io"),
    ("https://index.docker.io/v1/", "index.docker.io"),
    ("HTTPS://Registry-1.Docker.IO/v2/", "registry-1.docker.io"),
    ("http://registry.example.com:8443/v2", "registry.example.com:8443"),
    ("docker.io", "docker.io"),
    ("[::1]:5000", "[::1]:5000"),
    ("[0:0:0:0:0:0:0:1]:5000", "[::1]:5000"),
    ("localhost:5000", "localhost:5000"),
    ("127.0.0.1:5000", "127.0.0.1:5000"),
    ("us-docker.pkg.dev", "us-docker.pkg.dev"),
    ("123456789012.dkr.ecr.eu-west-1.amazonaws.com",
     "123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
    ("MyRegistry.azurecr.io", "myregistry.azurecr.io"),
]
for given, want in NORMAL:
    r = post(new_body(server=given))
    o = expect_registry(r, 201, "POST server %r → 201, stored as %r" % (given, want),
                        want={"server": want})
    if o:
        r = get("/registries/" + o["id"])
        tap.ok(r.status == 200 and jbody(r).get("server") == want,
               "GET after POST server %r → server %r" % (given, want), show(r))

BAD_SERVERS = [
    "", " ", "ghcr.io/foo", "https://ghcr.io/v2/foo", "ghcr.io/v3/",
    "ftp://ghcr.io", "file:///etc/passwd", "ssh://ghcr.io",
    "https://user@ghcr.io", "user:secret@ghcr.io", "ghcr.io?x=1", "ghcr.io#frag",
    "ghcr.io:0", "ghcr.io:65536", "ghcr.io:05000", "ghcr.io:abc", "ghcr.io:",
    "ghcr .io", " ghcr.io", "ghcr.io\t", "-bad.example.com", "bad-.example.com",
    "exa_mple.com", "https://", "//ghcr.io", "[::1", "[zz::1]:5000",
    "a" * 64 + ".example.com", "x." * 300 + "io", "ghcr.io\\foo",
]
for s in BAD_SERVERS:
    r = post(new_body(server=s))
    expect_error(r, 422, "invalid_value", "POST server %r → 422 invalid_value field server" % s[:60],
                 field="server")

# boundary: a 253-character DNS name is a valid host, 254 is not
host253 = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
host254 = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 62])
r = post(new_body(server=host253))
expect_registry(r, 201, "POST server of 253 characters → 201", want={"server": host253})
r = post(new_body(server=host254))
expect_error(r, 422, "invalid_value", "POST server of 254 characters → 422 field server",
             field="server")

# ----------------------------------------------------------------- GET item
tap.diag("GET /registries/{id}")
r = get("/registries/%s" % rid)
expect_registry(r, 200, "GET /registries/{id} → 200 object", want=obj)
r = get("/registries/%s" % rid, ws=ws_a)
expect_registry(r, 200, "GET /registries/{id} with its own X-Workspace-Id → 200", want=obj)
r = get("/registries/%s" % rid.upper())
expect_registry(r, 200, "GET /registries/{ID in upper case} → 200, id answered in lower case",
                want={"id": rid})
r = get("/registries/%s" % uuid.uuid4())
expect_error(r, 404, "not_found", "GET /registries/{random uuid} → 404 not_found", field=NOFIELD)

# -------------------------------------------------------- GET list + pages
tap.diag("GET /registries: list and pagination")
ws_p = stack.workspace("registries-pages")
stack.member(ws_p, owner_id, "owner")
r = get("/registries", ws=ws_p)
tap.ok(r.status == 200 and jbody(r) == {"data": [], "next_cursor": None},
       "GET /registries in an empty workspace → 200 {data: [], next_cursor: null}", show(r))
made = []
for i in range(7):
    made.append(create(ws=ws_p, name="page-%d" % i)["id"])
    time.sleep(0.003)   # one millisecond apart: see "creation order" below

r = get("/registries", ws=ws_p)
j = jbody(r)
tap.ok(r.status == 200 and isinstance(j, dict) and set(j) == {"data", "next_cursor"},
       "GET /registries → 200 with exactly data and next_cursor", show(r))
tap.ok(j and [o.get("id") for o in j["data"]] == made and j["next_cursor"] is None,
       "default limit (50) → all 7 in creation order, next_cursor null", show(r))
tap.ok(j and all(not registry_problems(o) for o in j["data"]),
       "every listed item is a well-formed registry object (no password)",
       j and "\n".join(sum((registry_problems(o) for o in j["data"]), [])))


def walk(ws, limit, extra=None, prefix=""):
    """Follow next_cursor from the first page; returns (pages, failing response)."""
    pages, cursor = [], None
    for _ in range(30):
        params = dict(extra or {})
        params["limit"] = limit
        if cursor is not None:
            params["cursor"] = cursor
        r = get(prefix + "/registries" + qs(**params), ws=ws)
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


pages, bad = walk(ws_p, 3)
sizes = [len(p["data"]) for p in pages]
seen = [o["id"] for p in pages for o in p["data"]]
tap.ok(bad is None, "limit=3: every page answered 200", bad and show(bad))
tap.is_(sizes, [3, 3, 1], "limit=3 over 7 items → pages of 3, 3, 1")
tap.ok(all(isinstance(p["next_cursor"], str) and p["next_cursor"] for p in pages[:-1]),
       "limit=3: next_cursor is a non-empty string on every page but the last",
       repr([p["next_cursor"] for p in pages]))
tap.ok(pages and pages[-1]["next_cursor"] is None, "limit=3: next_cursor is null on the last page")
tap.is_(seen, made, "limit=3: the pages together hold each item once, in creation order")
pages, bad = walk(ws_p, 1)
tap.ok(bad is None and [o["id"] for p in pages for o in p["data"]] == made and len(pages) == 7,
       "limit=1 → 7 pages of one, creation order", bad and show(bad))
pages, bad = walk(ws_p, 7)
tap.ok(bad is None and len(pages) == 1 and pages[0]["next_cursor"] is None
       and len(pages[0]["data"]) == 7,
       "limit=7 over exactly 7 items → one page, next_cursor null (no empty last page)",
       repr(pages)[:600] + (bad and show(bad) or ""))
r = get("/registries" + qs(limit=200), ws=ws_p)
tap.ok(r.status == 200 and len(jbody(r)["data"]) == 7, "limit=200 (the maximum) → 200", show(r))

for bad_limit in ("0", "201", "abc", "-1", "", "3.5", "1e1", " 3", "0x3", "99999999999999999999"):
    r = get("/registries" + qs(limit=bad_limit), ws=ws_p)
    expect_error(r, 400, "bad_request", "GET /registries?limit=%r → 400 bad_request field limit" % bad_limit,
                 field="limit")
for bad_cursor in ("garbage", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", str(uuid.uuid4()),
                   "!!!!", "a" * 500):
    r = get("/registries" + qs(cursor=bad_cursor), ws=ws_p)
    expect_error(r, 400, "bad_request", "GET /registries?cursor=%r → 400 bad_request field cursor"
                 % bad_cursor[:40], field="cursor")
# README: "unknown parameter ... 400 bad_request with field"; which name the
# field carries (the parameter's, or "query" as the app says) is not written
# down, so any non-empty field is accepted here.
for param in ("foo", "Limit", "password", "workspace_id"):
    r = get("/registries" + qs(**{param: "1"}), ws=ws_p)
    errs = error_problems(r, 400, "bad_request")
    f = (jbody(r) or {}).get("error", {}).get("field") if isinstance(jbody(r), dict) else None
    if not (isinstance(f, str) and f):
        errs.append("no error.field")
    tap.ok(not errs, "GET /registries?%s=1 (unknown parameter) → 400 bad_request with a field" % param,
           "\n".join(errs) + "\n" + show(r))

# a cursor stays valid while items are removed (even the one it names) and added
first = get("/registries" + qs(limit=3), ws=ws_p)
c1 = jbody(first)["next_cursor"] if first.status == 200 else None
r = delete(made[2])
tap.is_(r.status, 204, "delete the item the cursor names → 204")
r = delete(made[3])
tap.is_(r.status, 204, "delete the item after it → 204")
late = create(ws=ws_p, name="page-late")["id"]
r = get("/registries" + qs(limit=3, cursor=c1 or "x"), ws=ws_p)
tap.ok(r.status == 200 and [o["id"] for o in jbody(r)["data"]] == made[4:7],
       "GET with that cursor after the deletes → the next 3 living items", show(r))
c2 = jbody(r).get("next_cursor") if r.status == 200 else None
r = get("/registries" + qs(limit=3, cursor=c2 or "x"), ws=ws_p)
tap.ok(r.status == 200 and [o["id"] for o in jbody(r)["data"]] == [late]
       and jbody(r)["next_cursor"] is None,
       "the page after → the item created meanwhile, then next_cursor null", show(r))

# README: "Lists are in creation order (ids are UUIDv7 ...)".  Registries
# made back to back, many within one millisecond, must list in the order they
# were made: a UUIDv7 whose random bits follow the millisecond is not enough.
ws_o = stack.workspace("registries-order")
stack.member(ws_o, owner_id, "owner")
order = [create(ws=ws_o, name="order-%02d" % i)["id"] for i in range(30)]
r = get("/registries" + qs(limit=200), ws=ws_o)
got = [o["id"] for o in jbody(r)["data"]] if r.status == 200 else None
tap.ok(got == order, "30 registries made back to back list in creation order",
       "made:   %r\nlisted: %r\nnames listed: %r" % (order, got, [o["name"] for o in jbody(r)["data"]]
                                                  if r.status == 200 else None))

# ------------------------------------------------------------------ filters
tap.diag("GET /registries filters")
ws_f = stack.workspace("registries-filters")
stack.member(ws_f, owner_id, "owner")
hub = [create(ws=ws_f, server=s)["id"] for s in
       ("index.docker.io", "registry-1.docker.io", "docker.io", "https://index.docker.io/v1/")]
ghcr = create(ws=ws_f, server="ghcr.io")["id"]
hub_port = create(ws=ws_f, server="docker.io:5000")["id"]     # not Docker Hub
hub_off = create(ws=ws_f, server="docker.io", enabled=False)["id"]
all_f = hub[:2] + [hub[2], hub[3], ghcr, hub_port, hub_off]


def listed(query):
    """The ids a filtered list answers, sorted (order is tested elsewhere)."""
    r = get("/registries" + query, ws=ws_f)
    if r.status != 200:
        return None, r
    ids = [o["id"] for o in jbody(r)["data"]]
    return (sorted(ids) if len(set(ids)) == len(ids) else ids), r


for q in ("docker.io", "index.docker.io", "registry-1.docker.io", "DOCKER.IO",
          "https://index.docker.io/v1/"):
    got, r = listed(qs(server=q))
    tap.is_(got, sorted(hub + [hub_off]),
            "?server=%s → the registries saved as index.docker.io, registry-1.docker.io, docker.io "
            "(and not docker.io:5000)" % q)
got, r = listed(qs(server="ghcr.io"))
tap.is_(got, [ghcr], "?server=ghcr.io → only the ghcr.io registry")
got, r = listed(qs(server="docker.io:5000"))
tap.is_(got, [hub_port], "?server=docker.io:5000 → only that one (a port makes another registry)")
got, r = listed(qs(server="quay.io"))
tap.is_(got, [], "?server=quay.io → empty list")
got, r = listed(qs(enabled="false"))
tap.is_(got, [hub_off], "?enabled=false → only the disabled registry")
got, r = listed(qs(enabled="true"))
tap.is_(got, sorted(x for x in all_f if x != hub_off), "?enabled=true → every enabled registry")
got, r = listed(qs(server="docker.io", enabled="true"))
tap.is_(got, sorted(hub), "?server=docker.io&enabled=true → the four enabled Docker Hub registries")
pages, bad = None, None
r1 = get("/registries" + qs(server="docker.io", limit=2), ws=ws_f)
c = jbody(r1).get("next_cursor") if r1.status == 200 else None
r2 = get("/registries" + qs(server="docker.io", limit=2, cursor=c or "x"), ws=ws_f)
c2 = jbody(r2).get("next_cursor") if r2.status == 200 else "?"
r3 = get("/registries" + qs(server="docker.io", limit=2, cursor=c2 or "x"), ws=ws_f)
got = ([o["id"] for o in jbody(r1)["data"]] if r1.status == 200 else []) + \
      ([o["id"] for o in jbody(r2)["data"]] if r2.status == 200 else []) + \
      ([o["id"] for o in jbody(r3)["data"]] if r3.status == 200 and c2 else [])
tap.is_(sorted(got), sorted(hub + [hub_off]), "?server=docker.io&limit=2 followed by cursors → the 5 hub registries once each")
for bad_en in ("1", "0", "yes", "TRUE", "False", "", "truex"):
    r = get("/registries" + qs(enabled=bad_en), ws=ws_f)
    expect_error(r, 400, "bad_request", "?enabled=%r → 400 field enabled" % bad_en, field="enabled")
for bad_srv in ("ftp://x.io", "ghcr.io/foo", "' OR 1=1 --", "%", "a b", ""):
    r = get("/registries" + qs(server=bad_srv), ws=ws_f)
    expect_error(r, 400, "bad_request", "?server=%r → 400 field server" % bad_srv, field="server")

# -------------------------------------------------------------- PUT partial
tap.diag("PUT /registries/{id}")
base = create(name="put-me", server="ghcr.io", username="alice", email="a@example.com")
row0 = db_row(base["id"])
time.sleep(1.1)          # timestamps have seconds: make updated_at able to move
r = put(base["id"], {"username": "bob"})
o = expect_registry(r, 200, "PUT {username} → 200, only username changed",
                    want={k: v for k, v in dict(base, username="bob").items() if k != "updated_at"})
tap.ok(o and o["created_at"] == base["created_at"] and parse_ts(o["updated_at"]) > parse_ts(base["updated_at"]),
       "PUT → created_at kept, updated_at moved forward", "%r vs %r" % (base, o))
r = get("/registries/" + base["id"])
expect_registry(r, 200, "GET after PUT {username} → the new username, other fields as before",
                want={k: v for k, v in dict(base, username="bob").items() if k != "updated_at"})
row1 = db_row(base["id"])
tap.ok(row1 and row0 and (row1["ct"], row1["nonce"], row1["tag"]) == (row0["ct"], row0["nonce"], row0["tag"]),
       "PUT without password → the stored ciphertext, nonce and tag are untouched")

r = put(base["id"], {"email": None})
expect_registry(r, 200, "PUT {\"email\": null} → 200, email cleared",
                want={"email": None, "username": "bob", "name": "put-me"})
tap.is_(db_row(base["id"])["email"], None, "PUT email null → email column is NULL in the table")
r = put(base["id"], {"email": "b@example.com", "enabled": False})
expect_registry(r, 200, "PUT {email, enabled:false} → 200, both set",
                want={"email": "b@example.com", "enabled": False})
r = put(base["id"], {"enabled": True, "name": "put-me-renamed"})
expect_registry(r, 200, "PUT {enabled:true, name} → 200, renamed and enabled",
                want={"enabled": True, "name": "put-me-renamed", "email": "b@example.com"})
before = get("/registries/" + base["id"])
r = put(base["id"], {})
o = expect_registry(r, 200, "PUT {} → 200 and nothing but updated_at changes",
                    want={k: v for k, v in jbody(before).items() if k != "updated_at"})

row_a = db_row(base["id"])
newpw = pw("rotated")
r = put(base["id"], {"password": newpw})
expect_registry(r, 200, "PUT {password} → 200, object otherwise unchanged",
                want={k: v for k, v in jbody(before).items() if k != "updated_at"})
row_b = db_row(base["id"])
tap.ok(row_b and row_a and row_b["ct"] != row_a["ct"] and row_b["nonce"] != row_a["nonce"],
       "PUT {password} → password_ct and password_nonce changed in the table",
       "%r\n%r" % (row_a, row_b))
tap.is_(len(row_b["ct"]) // 2 if row_b else None, len(newpw),
        "PUT {password} → the new ciphertext is as long as the new password")
tap.is_({k: row_b[k] for k in ("workspace_id", "name", "server", "username", "email", "enabled", "created_at")},
        {k: row_a[k] for k in ("workspace_id", "name", "server", "username", "email", "enabled", "created_at")},
        "PUT {password} → every other stored column unchanged")

r = put(base["id"], {"server": "quay.io"})
expect_error(r, 422, "password_required", "PUT {server: quay.io} without password → 422 password_required field password",
             field="password")
r = put(base["id"], {"server": "quay.io", "username": "zed"})
expect_error(r, 422, "password_required", "PUT {server, username} without password → 422 password_required",
             field="password")
r = get("/registries/" + base["id"])
tap.ok(r.status == 200 and jbody(r)["server"] == "ghcr.io" and jbody(r)["username"] == "bob",
       "after the refused server change: server and username unchanged", show(r))
r = put(base["id"], {"server": "quay.io", "username": ""})
expect_error(r, 422, "invalid_value", "PUT {server, username:\"\"} → 422 invalid_value field username (fields before state)",
             field="username")
r = put(base["id"], {"server": "GHCR.io"})
expect_registry(r, 200, "PUT {server: GHCR.io} (the same registry) without password → 200",
                want={"server": "ghcr.io"})
r = put(base["id"], {"server": "https://ghcr.io/"})
expect_registry(r, 200, "PUT {server: https://ghcr.io/} (same after normalisation) without password → 200",
                want={"server": "ghcr.io"})
r = put(base["id"], {"server": "quay.io", "password": pw("quay")})
expect_registry(r, 200, "PUT {server: quay.io, password} → 200, server changed", want={"server": "quay.io"})
hubreg = create(server="index.docker.io")
r = put(hubreg["id"], {"server": "registry-1.docker.io"})
o = expect_registry(r, 200, "PUT index.docker.io → registry-1.docker.io (both Docker Hub) without password → 200")
tap.ok(o and o["server"] in ("registry-1.docker.io", "index.docker.io"),
       "... and the server is still a Docker Hub name", repr(o))
r = put(hubreg["id"], {"server": "docker.io:5000"})
expect_error(r, 422, "password_required", "PUT docker.io → docker.io:5000 (another registry) without password → 422",
             field="password")
r = put(base["id"], {"server": "ftp://quay.io", "password": pw("x")})
expect_error(r, 422, "invalid_value", "PUT {server: ftp://...} → 422 invalid_value field server", field="server")
r = put(base["id"], {"password": ""})
expect_error(r, 422, "invalid_value", "PUT {password: \"\"} → 422 invalid_value field password", field="password")
r = put(base["id"], {"name": ""})
expect_error(r, 422, "invalid_value", "PUT {name: \"\"} → 422 invalid_value field name", field="name")
r = put(base["id"], {"name": None})
expect_error(r, 422, "wrong_type", "PUT {name: null} → 422 wrong_type field name", field="name")
r = put(base["id"], {"enabled": "false"})
expect_error(r, 422, "wrong_type", "PUT {enabled: \"false\"} → 422 wrong_type field enabled", field="enabled")
r = put(base["id"], {"id": str(uuid.uuid4())})
expect_error(r, 422, "unknown_field", "PUT {id} → 422 unknown_field field id", field="id")
r = put(str(uuid.uuid4()), {"username": "x"})
expect_error(r, 404, "not_found", "PUT /registries/{random uuid} → 404 not_found", field=NOFIELD)

# ------------------------------------------------------------ name clashes
tap.diag("name uniqueness")
c1 = create(name="clash")
r = post(new_body(name="clash"))
expect_error(r, 409, "name_taken", "POST with a name already used in the workspace → 409 name_taken")
r = post(new_body(name="clash"), ws=ws_other)
expect_registry(r, 201, "POST the same name in another workspace → 201 (names are per workspace)",
                want={"name": "clash"})
for other in ("Clash", "CLASH", "clash ", " clash", "cläsh"):
    r = post(new_body(name=other))
    expect_registry(r, 201, "POST name %r beside %r → 201 (names compare exactly)" % (other, "clash"),
                    want={"name": other})
c2 = create(name="clash-two")
r = put(c2["id"], {"name": "clash"})
expect_error(r, 409, "name_taken", "PUT rename onto a used name → 409 name_taken")
tap.is_(jbody(get("/registries/" + c2["id"])).get("name"), "clash-two", "after the 409 the name is unchanged")
r = put(c1["id"], {"name": "clash"})
expect_registry(r, 200, "PUT a registry to its own current name → 200 (no clash with itself)",
                want={"name": "clash"})

# ------------------------------------------------------------------ DELETE
tap.diag("DELETE /registries/{id}")
d = create(name="delete-me")
r = delete(d["id"])
tap.ok(r.status == 204 and r.body == b"", "DELETE /registries/{id} → 204 with an empty body", show(r))
r = get("/registries/" + d["id"])
expect_error(r, 404, "not_found", "GET after DELETE → 404 not_found", field=NOFIELD)
r = delete(d["id"])
expect_error(r, 404, "not_found", "DELETE again → 404 not_found", field=NOFIELD)
r = put(d["id"], {"username": "x"})
expect_error(r, 404, "not_found", "PUT after DELETE → 404 not_found", field=NOFIELD)
r = get("/registries" + qs(limit=200), ws=ws_a)
tap.ok(r.status == 200 and d["id"] not in [o["id"] for o in jbody(r)["data"]],
       "the deleted registry is gone from the list", show(r))
r = post(new_body(name="delete-me"))
expect_registry(r, 201, "the name of a deleted registry can be used again → 201")


# ----------------------------------------------------------- 405 and 404
tap.diag("405 with Allow, unknown paths")


for method, path, must, mustnot in (
        ("PATCH", "/registries", {"GET", "POST"}, {"PUT", "DELETE"}),
        ("PUT", "/registries", {"GET", "POST"}, {"PUT", "DELETE"}),
        ("DELETE", "/registries", {"GET", "POST"}, {"PUT", "DELETE"}),
        ("POST", "/registries/%s" % rid, {"GET", "PUT", "DELETE"}, {"POST"}),
        ("PATCH", "/registries/%s" % rid, {"GET", "PUT", "DELETE"}, {"POST"})):
    r = request(method, path, body={} if method in ("POST", "PUT", "PATCH") else None, key=KEY, ws=ws_a)
    a = allow_set(r)
    expect_error(r, 405, "method_not_allowed", "%s %s → 405 method_not_allowed" % (method, path.replace(rid, "{id}")),
                 field=NOFIELD)
    tap.ok(must <= a and not (mustnot & a), "%s %s → Allow holds %s and not %s"
           % (method, path.replace(rid, "{id}"), sorted(must), sorted(mustnot)), "Allow: %r" % r.headers.get("allow"))
r = request("PATCH", "/registries", body={})
expect_error(r, 405, "method_not_allowed", "PATCH /registries without a key → 405 (method is checked before the key)")
r = request("POST", "/registries/%s" % uuid.uuid4(), body={})
expect_error(r, 405, "method_not_allowed", "POST /registries/{random uuid} without a key → 405")

for path in ("/", "/nope", "/registry", "/registries/%s/extra" % rid, "/registries/x/y",
             "/registries/not-a-uuid", "/Registries", "/v1/registries", "/registries/%s0" % rid):
    r = request("GET", path, key=KEY, ws=ws_a)
    expect_error(r, 404, "not_found", "GET %s → 404 not_found" % path.replace(rid, "{id}"), field=NOFIELD)
r = request("GET", "/nope")
expect_error(r, 404, "not_found", "GET /nope without a key → 404 (path is checked before the key)")

# ---------------------------------------------------------------- 401
tap.diag("401")
for desc, kw in (("no Authorization", {}),
                 ("an unknown key", {"key": "mbx_" + "A" * 43})):
    for method, path, b in (("GET", "/registries", None), ("POST", "/registries", new_body()),
                            ("GET", "/registries/%s" % rid, None),
                            ("PUT", "/registries/%s" % rid, {"username": "x"}),
                            ("DELETE", "/registries/%s" % rid, None)):
        r = request(method, path, body=b, ws=ws_a, **kw)
        expect_error(r, 401, "unauthorized", "%s %s with %s → 401 unauthorized + WWW-Authenticate: Bearer"
                     % (method, path.replace(rid, "{id}"), desc), field=NOFIELD)
r = get("/registries/" + rid)
tap.is_(r.status, 200, "the registry survived the unauthorised PUT and DELETE")

# -------------------------------------------------------------- the prefix
tap.diag("the same routes under %s" % PREFIX)
b = new_body(name="prefixed")
r = post(b, prefix=PREFIX)
o = expect_registry(r, 201, "POST %s/registries → 201" % PREFIX, want={"name": "prefixed"})
pid = o["id"] if o else "none"
tap.is_(r.headers.get("location"), "%s/registries/%s" % (PREFIX, pid),
        "POST under the prefix → Location carries the prefix")
r = get("%s/registries/%s" % (PREFIX, pid))
expect_registry(r, 200, "GET %s/registries/{id} → 200" % PREFIX, want=o or {})
r = get("/registries/%s" % pid)
expect_registry(r, 200, "... and the same registry at / → 200", want=o or {})
r = get("%s/registries%s" % (PREFIX, qs(limit=200)), ws=ws_a)
tap.ok(r.status == 200 and pid in [x["id"] for x in jbody(r)["data"]],
       "GET %s/registries → 200 list holding it" % PREFIX, show(r))
pages, bad = walk(ws_p, 2, prefix=PREFIX)
tap.ok(bad is None and [x["id"] for p in pages for x in p["data"]] ==
       made[:2] + made[4:] + [late],
       "pagination under the prefix (limit=2) walks the whole list", bad and show(bad))
r = put(pid, {"username": "prefixed-user"}, prefix=PREFIX)
expect_registry(r, 200, "PUT %s/registries/{id} → 200" % PREFIX, want={"username": "prefixed-user"})
r = request("PATCH", PREFIX + "/registries", body={}, key=KEY, ws=ws_a)
expect_error(r, 405, "method_not_allowed", "PATCH %s/registries → 405" % PREFIX)
r = request("GET", PREFIX + "/nope", key=KEY, ws=ws_a)
expect_error(r, 404, "not_found", "GET %s/nope → 404" % PREFIX)
r = request("GET", PREFIX + "/registries", ws=ws_a)
expect_error(r, 401, "unauthorized", "GET %s/registries without a key → 401" % PREFIX)
r = delete(pid, prefix=PREFIX)
tap.is_(r.status, 204, "DELETE %s/registries/{id} → 204" % PREFIX)
r = get("/registries/" + pid)
expect_error(r, 404, "not_found", "GET after the prefixed DELETE → 404")

# ----------------------------------------------------- whole-script checks
leaks = [(i, p) for i, x in enumerate(ALL) for p in PASSWORDS
         if p.encode() in x.body or any(p in v for v in x.headers.values())]
tap.ok(not leaks, "no response of this script (%d) holds any password sent" % len(ALL), repr(leaks[:5]))
bad5 = [x.status for x in ALL if x.status >= 500]
tap.ok(not bad5, "no response of this script was a 5xx", repr(bad5))
errs_no_shape = []
for x in ALL:
    if x.status >= 400:
        j = jbody(x)
        if not (isinstance(j, dict) and isinstance(j.get("error"), dict)
                and isinstance(j["error"].get("code"), str) and isinstance(j["error"].get("message"), str)):
            errs_no_shape.append((x.status, x.body[:200]))
tap.ok(not errs_no_shape, "every error response has error.code and error.message", repr(errs_no_shape[:5]))

sanitizer_check(stack)
tap.done()
