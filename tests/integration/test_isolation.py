#!/usr/bin/env python3
"""The isolation matrix: who may do what to which workspace's registries.

Two workspaces A and B, each with registries.  Actors: the owner, admin,
member and viewer of A; "outsider", the owner of B only; two keys of an owner
of A revoked with `modbox-admin key revoke` (one by the key, one by its id);
no key; an unknown well-formed key; a malformed key.  For each actor, each
route (POST/GET /registries, GET/PUT/DELETE /registries/{id}) and each
target workspace (A, B) the expected status is derived from README.md's order
of checks:

  1. bad/missing/revoked key                       → 401
  2. collection route, caller not a member         → 403
     item route, caller not a member of the item's → 404, the body of a
     404 for an id that does not exist, byte for byte
  3. write by member or viewer                     → 403
  4. else POST 201, GET 200, PUT 200, DELETE 204

PUT and DELETE always hit a registry made for that one cell, so the order of
the cells does not matter.  Then the X-Workspace-Id variants of item and
collection routes.  One TAP line per cell.
"""

import atexit
import secrets
import uuid

import tap
from apicheck import UUID_IN_RE, jbody, show
from modbox_harness import Stack, sanitizer_check


def err_code(r):
    j = jbody(r)
    try:
        return j["error"]["code"], j["error"].get("field")
    except (TypeError, KeyError, AttributeError):
        return None, None


stack = Stack()
stack.__enter__()
atexit.register(stack.close)

ws = {"A": stack.workspace("iso-A"), "B": stack.workspace("iso-B"),
      "C": stack.workspace("iso-C")}
# set-up keys, not part of the matrix
SETUP = {}
_, SETUP["A"] = stack.actor(ws["A"], "owner")
_, SETUP["B"] = stack.actor(ws["B"], "owner")


class Actor:
    def __init__(self, name, key, roles, header_override=None):
        self.name = name
        self.key = key              # None: no Authorization header
        self.roles = roles          # {"A": "owner", ...}; None: authentication fails
        self.header_override = header_override  # a raw Authorization value


actors = []
for role in ("owner", "admin", "member", "viewer"):
    uid, key = stack.actor(ws["A"], role)
    # every A actor is also an owner of C, so "a workspace the caller IS a
    # member of" exists for the X-Workspace-Id cases below
    stack.member(ws["C"], uid, "owner")
    actors.append(Actor(role, key, {"A": role, "C": "owner"}))
uid, key = stack.actor(ws["B"], "owner")
actors.append(Actor("non-member (owner of B only)", key, {"B": "owner"}))

# two owners of A whose keys get revoked, one by the key, one by the key's id
rk_uid, rk_key = stack.actor(ws["A"], "owner")
ri_uid, ri_key = stack.actor(ws["A"], "owner")
for k in (rk_key, ri_key):
    r = stack.request("GET", "/registries", key=k, ws=ws["A"])
    tap.is_(r.status, 200, "before revocation the key works (GET /registries → 200)")
r = stack.admin("key", "revoke", rk_key, check=False)
tap.is_(r.returncode, 0, "modbox-admin key revoke KEY → exit 0")
listing = stack.admin("key", "list", ri_uid, check=False).stdout
ids = UUID_IN_RE.findall(listing)
tap.ok(len(ids) == 1, "modbox-admin key list shows the one key id of the second user", listing)
r = stack.admin("key", "revoke", ids[0] if ids else "none", check=False)
tap.is_(r.returncode, 0, "modbox-admin key revoke KEY_ID → exit 0")
actors.append(Actor("revoked key (by key)", rk_key, None))
actors.append(Actor("revoked key (by id)", ri_key, None))
actors.append(Actor("no key", None, None))
actors.append(Actor("unknown key", "mbx_" + secrets.token_urlsafe(32), None))
actors.append(Actor("malformed key", "not-a-key", None))

# the registries the read cells look at
counter = [0]


def make_reg(target):
    counter[0] += 1
    r = stack.request("POST", "/registries", key=SETUP[target], ws=ws[target],
                      body={"name": "iso-%s-%d" % (target, counter[0]), "server": "ghcr.io",
                            "username": "u-%d" % counter[0], "password": secrets.token_hex(8)})
    if r.status != 201:
        raise RuntimeError("set-up POST failed: %s" % show(r))
    return r.json()


READ = {"A": make_reg("A"), "B": make_reg("B")}


def reg_state(rid, target):
    """The registry as its workspace's owner sees it, or None if gone."""
    r = stack.request("GET", "/registries/" + rid, key=SETUP[target])
    return jbody(r) if r.status == 200 else None


def call(actor, method, path, body=None, ws_header=None):
    headers = None
    if actor.header_override is not None:
        headers = {"Authorization": actor.header_override}
    return stack.request(method, path, body=body, key=actor.key, ws=ws_header,
                         headers=headers)


# reference 404 bodies: an id that exists nowhere, per actor and method
_ref404 = {}


def ref404(actor, method, ws_header=None):
    k = (actor.name, method, ws_header)
    if k not in _ref404:
        body = {"username": "x"} if method == "PUT" else None
        _ref404[k] = call(actor, method, "/registries/%s" % uuid.uuid4(), body, ws_header)
    return _ref404[k]


def expected(actor, route, target):
    """Status the README's order of checks gives."""
    if actor.roles is None:
        return 401
    role = actor.roles.get(target)
    write = route in ("POST", "PUT", "DELETE")
    if route in ("POST", "LIST"):
        if role is None:
            return 403
    elif role is None:
        return 404
    if write and role in ("member", "viewer"):
        return 403
    return {"POST": 201, "LIST": 200, "GET": 200, "PUT": 200, "DELETE": 204}[route]


CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 400: "bad_request"}


def check_cell(desc, r, want, extra_problems=(), ref=None):
    """One TAP line: status, error shape/code, 401 header, 404 body identity."""
    errs = list(extra_problems)
    if r.status != want:
        errs.insert(0, "status %d, want %d" % (r.status, want))
    if want in CODES:
        code, _field = err_code(r)
        if code != CODES[want]:
            errs.append("error.code %r, want %r" % (code, CODES[want]))
    if want == 401 and not r.headers.get("www-authenticate", "").startswith("Bearer"):
        errs.append("no WWW-Authenticate: Bearer")
    if want == 404 and ref is not None and (ref.status != 404 or r.body != ref.body):
        errs.append("404 body differs from the 404 for an id that does not exist:\n  %r\n  %r"
                    % (r.body, ref.body))
    return tap.ok(not errs, desc, "\n".join(errs) + "\n" + show(r))


# ------------------------------------------------------------------ matrix
tap.diag("the matrix: actor x route x workspace")
for actor in actors:
    for target in ("A", "B"):
        other = "B" if target == "A" else "A"
        tw = ws[target]

        # POST /registries
        want = expected(actor, "POST", target)
        name = "cell-%s" % secrets.token_hex(6)
        r = call(actor, "POST", "/registries", {"name": name, "server": "ghcr.io",
                                                "username": "x", "password": "p"}, tw)
        probs = []
        rows = stack.sql("SELECT LOWER(HEX(workspace_id)) FROM registries WHERE name = '%s'" % name)
        if want == 201:
            if rows != [(tw.replace("-", ""),)]:
                probs.append("stored rows %r, want one in %s" % (rows, target))
        elif rows:
            probs.append("a refused POST stored a row: %r" % rows)
        check_cell("%s POST /registries in %s → %d" % (actor.name, target, want), r, want, probs)

        # GET /registries
        want = expected(actor, "LIST", target)
        r = call(actor, "GET", "/registries?limit=200", None, tw)
        probs = []
        if want == 200:
            got = [o.get("id") for o in (jbody(r) or {}).get("data", [])]
            if READ[target]["id"] not in got or READ[other]["id"] in got:
                probs.append("list of %s does not hold exactly that workspace's registries: %r"
                             % (target, got))
        check_cell("%s GET /registries in %s → %d" % (actor.name, target, want), r, want, probs)

        # GET /registries/{id}
        want = expected(actor, "GET", target)
        r = call(actor, "GET", "/registries/" + READ[target]["id"])
        probs = []
        if want == 200 and jbody(r) != reg_state(READ[target]["id"], target):
            probs.append("body differs from the registry")
        check_cell("%s GET /registries/{id} in %s → %d" % (actor.name, target, want), r, want,
                   probs, ref404(actor, "GET") if want == 404 else None)

        # PUT /registries/{id} on a fresh registry
        want = expected(actor, "PUT", target)
        reg = make_reg(target)
        r = call(actor, "PUT", "/registries/" + reg["id"], {"username": "changed"})
        after = reg_state(reg["id"], target)
        probs = []
        if want == 200:
            if not after or after["username"] != "changed":
                probs.append("the PUT did not change the registry: %r" % (after,))
        elif after is None or {k: v for k, v in after.items() if k != "updated_at"} != \
                {k: v for k, v in reg.items() if k != "updated_at"} or after["updated_at"] != reg["updated_at"]:
            probs.append("a refused PUT changed the registry: %r -> %r" % (reg, after))
        check_cell("%s PUT /registries/{id} in %s → %d" % (actor.name, target, want), r, want,
                   probs, ref404(actor, "PUT") if want == 404 else None)

        # DELETE /registries/{id} on a fresh registry
        want = expected(actor, "DELETE", target)
        reg = make_reg(target)
        r = call(actor, "DELETE", "/registries/" + reg["id"])
        after = reg_state(reg["id"], target)
        probs = []
        if want == 204:
            if after is not None:
                probs.append("the DELETE left the registry")
            if r.body != b"":
                probs.append("a 204 with a body")
        elif after != reg:
            probs.append("a refused DELETE changed or removed the registry: %r" % (after,))
        check_cell("%s DELETE /registries/{id} in %s → %d" % (actor.name, target, want), r, want,
                   probs, ref404(actor, "DELETE") if want == 404 else None)

# ------------------------------------------- X-Workspace-Id on item routes
tap.diag("item routes with X-Workspace-Id")
rand_ws = str(uuid.uuid4())
for actor in actors:
    if actor.roles is None:
        # authentication comes first: even a malformed header gives 401
        for method in ("GET", "PUT", "DELETE"):
            reg = make_reg("A")
            r = call(actor, method, "/registries/" + reg["id"],
                     {"username": "y"} if method == "PUT" else None, "not-a-uuid")
            check_cell("%s %s /registries/{id} with a malformed X-Workspace-Id → 401"
                       % (actor.name, method), r, 401)
        continue
    home = "A" if "A" in actor.roles else "B"
    for method in ("GET", "PUT", "DELETE"):
        body = {"username": "z"} if method == "PUT" else None
        variants = [("its own workspace's id", ws[home], expected(actor, method, home))]
        if "C" in actor.roles:
            variants.append(("another workspace the caller is a member of (C)", ws["C"], 404))
        variants.append(("a workspace the caller is not a member of", ws["B" if home == "A" else "A"], 404))
        variants.append(("a workspace that does not exist", rand_ws, 404))
        variants.append(("not a UUID", "not-a-uuid", 400))
        variants.append(("a UUID in braces", "{%s}" % ws[home], 400))
        for label, header, want in variants:
            reg = make_reg(home)
            r = call(actor, method, "/registries/" + reg["id"], body, header)
            after = reg_state(reg["id"], home)
            probs = []
            if want in (400, 403, 404) and after != reg:
                probs.append("a refused %s changed the registry" % method)
            if want == 400:
                code, field = err_code(r)
                if field != "X-Workspace-Id":
                    probs.append("error.field %r, want X-Workspace-Id" % field)
            check_cell("%s %s /registries/{id of %s} with X-Workspace-Id = %s → %d"
                       % (actor.name, method, home, label, want), r, want, probs,
                       ref404(actor, method) if want == 404 else None)
        # a malformed header is refused even for an id that does not exist
        r = call(actor, method, "/registries/%s" % uuid.uuid4(), body, "not-a-uuid")
        check_cell("%s %s /registries/{random id} with a malformed X-Workspace-Id → 400"
                   % (actor.name, method), r, 400)

# ------------------------------------- X-Workspace-Id on collection routes
tap.diag("collection routes with a missing or odd X-Workspace-Id")
for actor in actors:
    for method in ("GET", "POST"):
        body = {"name": "n-%s" % secrets.token_hex(4), "server": "ghcr.io",
                "username": "u", "password": "p"} if method == "POST" else None
        cases = [("missing", None, 400), ("not a UUID", "not-a-uuid", 400),
                 ("empty", "", 400), ("of a workspace that does not exist", rand_ws, 403)]
        for label, header, want in cases:
            if actor.roles is None:
                want = 401
            r = call(actor, method, "/registries", body, header)
            probs = []
            if want == 400 and err_code(r)[1] != "X-Workspace-Id":
                probs.append("error.field %r, want X-Workspace-Id" % (err_code(r)[1],))
            check_cell("%s %s /registries with X-Workspace-Id %s → %d"
                       % (actor.name, method, label, want), r, want, probs)

# --------------------------------------------------------- 404 uniformity
tap.diag("one 404 body for every reason")
owner = actors[0]
gone = make_reg("A")
stack.request("DELETE", "/registries/" + gone["id"], key=SETUP["A"])
bodies = {
    "an id that never existed": call(owner, "GET", "/registries/%s" % uuid.uuid4()),
    "a deleted registry": call(owner, "GET", "/registries/" + gone["id"]),
    "B's registry (not a member)": call(owner, "GET", "/registries/" + READ["B"]["id"]),
    "A's registry with X-Workspace-Id of C": call(owner, "GET", "/registries/" + READ["A"]["id"],
                                                  ws_header=ws["C"]),
}
ref = bodies["an id that never existed"]
for label, r in bodies.items():
    tap.ok(r.status == 404 and r.body == ref.body and
           r.headers.get("content-type") == ref.headers.get("content-type"),
           "GET /registries/{id} for %s → 404 with the very same body and Content-Type" % label, show(r))

# the outsider's 404 for A's registry equals the owner's 404 for nothing
r = call(actors[4], "GET", "/registries/" + READ["A"]["id"])
tap.ok(r.status == 404 and r.body == ref.body,
       "the non-member's 404 for A's registry equals A's owner's 404 for nothing", show(r))

all_rows = stack.sql("SELECT COUNT(*) FROM registries WHERE username = 'changed' "
                     "AND workspace_id = UNHEX('%s')" % ws["B"].replace("-", ""))
tap.ok(all_rows and all_rows[0][0] == "1",
       "in B exactly one registry was changed by a PUT (the non-member's own, as owner of B)",
       repr(all_rows))
all_rows = stack.sql("SELECT COUNT(*) FROM registries WHERE username = 'changed' "
                     "AND workspace_id = UNHEX('%s')" % ws["A"].replace("-", ""))
tap.ok(all_rows and all_rows[0][0] == "2",
       "in A exactly two registries were changed by a matrix PUT (owner's and admin's)",
       repr(all_rows))

sanitizer_check(stack)
tap.done()
