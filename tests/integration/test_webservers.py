#!/usr/bin/env python3
"""The app behind nginx and behind Apache (mod_proxy_fcgi), over real HTTP.

For each server one Stack(web=...) runs the app as spawn-fcgi processes with
the server in front, mounted at "/" and at "/api/modbox.fcgi" (see the `web`
argument in modbox_harness.py for the configs).  A smoke set per server:
create (201 + Location, with the prefix under the prefix), read, list,
Authorization reaching the app (401 without a key or with a garbage one, 200
with a valid one), X-Workspace-Id missing (400), 415, 413 (over
max_body_bytes), a chunked body, 405 with Allow, a partial PUT, DELETE 204,
a wrong prefix (404), the password never in a response or a log, and the
sanitizer check.  lighttpd is covered by every other integration script.

A server whose binary is missing, or that does not start, gets a SKIP line
with the reason (never a pass).
"""

import os
import shutil
import sys
import time
import uuid

import tap
from modbox_harness import APACHE2, NGINX, SPAWN_FCGI, Stack, StackError, sanitizer_check

PREFIX = "/api/modbox.fcgi"
BINARIES = {"nginx": NGINX, "apache": APACHE2}


def err_code(r):
    return r.error_code()


def check_server(web):
    passwords = []
    responses = []

    def keep(r):
        responses.append(r)
        return r

    def pw():
        p = "pw-%s-%s" % (web, uuid.uuid4().hex)
        passwords.append(p)
        return p

    t0 = time.monotonic()
    try:
        stack = Stack(web=web)
        stack.__enter__()
    except (StackError, OSError) as e:
        tap.skip("%s: smoke set" % web, "%s did not start: %s" % (
            web, " ".join(str(e).split())[:300]))
        return
    try:
        tap.diag("%s: stack up in %.3f s (%s)" % (
            web, time.monotonic() - t0,
            ", ".join("%s %.3f s" % (k, v) for k, v in stack.timings.items())))
        ws = stack.workspace("acme-" + web)
        _, key = stack.actor(ws, "owner")

        def body(name):
            return {"name": name, "server": "ghcr.io", "username": "octo", "password": pw()}

        # ---- create at "/" and under the prefix
        ids = {}
        for base in ("", PREFIX):
            where = base or "/"
            r = keep(stack.post(base + "/registries", body("r-%s-%d" % (web, len(base))),
                                key=key, ws=ws))
            tap.is_(r.status, 201, "%s %s: POST /registries 201" % (web, where))
            loc = r.headers.get("location", "")
            rid = (r.json().get("id") if r.status == 201 else None) or "?"
            ids[base] = rid
            tap.is_(loc, "%s/registries/%s" % (base, rid),
                    "%s %s: Location %s/registries/{id}" % (web, where, base))

        # ---- read and list, both mounts
        for base in ("", PREFIX):
            where = base or "/"
            r = keep(stack.get("%s/registries/%s" % (base, ids[base]), key=key, ws=ws))
            tap.ok(r.status == 200 and r.json().get("id") == ids[base],
                   "%s %s: GET item 200" % (web, where), repr(r))
            r = keep(stack.get(base + "/registries", key=key, ws=ws))
            got = sorted(x["id"] for x in r.json().get("data", [])) if r.status == 200 else r
            tap.is_(got, sorted(ids.values()), "%s %s: GET list 200, both items" % (web, where))

        # ---- Authorization reaches the app
        for base in ("", PREFIX):
            where = base or "/"
            r = keep(stack.get(base + "/registries", ws=ws))
            tap.ok(r.status == 401 and err_code(r) == "unauthorized"
                   and "www-authenticate" in r.headers,
                   "%s %s: no key: 401 with WWW-Authenticate" % (web, where), repr(r))
            r = keep(stack.get(base + "/registries", key="mbx_" + "x" * 40, ws=ws))
            tap.ok(r.status == 401, "%s %s: garbage key: 401" % (web, where), repr(r))
            r = keep(stack.get(base + "/registries", headers={"Authorization": "Basic Zm9vOmJhcg=="},
                               ws=ws))
            tap.ok(r.status == 401, "%s %s: Basic credentials: 401" % (web, where), repr(r))

        # ---- X-Workspace-Id
        r = keep(stack.get(PREFIX + "/registries", key=key))
        tap.ok(r.status == 400 and err_code(r) == "bad_request",
               "%s: X-Workspace-Id missing: 400 bad_request" % web, repr(r))
        r = keep(stack.get("/registries", key=key, ws="not-a-uuid"))
        tap.ok(r.status == 400, "%s: X-Workspace-Id not a UUID: 400" % web, repr(r))

        # ---- 415 and 413
        r = keep(stack.post(PREFIX + "/registries", "name=x", key=key, ws=ws,
                            content_type="text/plain"))
        tap.ok(r.status == 415 and err_code(r) == "unsupported_media_type",
               "%s: text/plain body: 415" % web, repr(r))
        big = {"name": "big", "server": "ghcr.io", "username": "u", "password": pw(),
               "email": "a" * 70000}
        r = keep(stack.post("/registries", big, key=key, ws=ws))
        tap.ok(r.status == 413 and err_code(r) == "payload_too_large",
               "%s: 70 kB body (max_body_bytes 65536): 413" % web, repr(r))

        # ---- a chunked body (Apache's mod_proxy_fcgi sends no CONTENT_LENGTH)
        payload = ('{"name": "chunked-%s", "server": "ghcr.io", "username": "u", '
                   '"password": "%s"}' % (web, pw())).encode()
        half = len(payload) // 2
        raw = (("POST %s/registries HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                "Authorization: Bearer %s\r\nX-Workspace-Id: %s\r\n"
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                % (PREFIX, key, ws)).encode()
               + b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (
                   half, payload[:half], len(payload) - half, payload[half:]))
        out = stack.raw(raw, until_close=True)
        responses.append(out)
        tap.like(out.decode("latin-1"), r"^HTTP/1\.1 201 ",
                 "%s: chunked POST body: 201" % web)

        # ---- 405 with Allow
        r = keep(stack.request("PATCH", "%s/registries/%s" % (PREFIX, ids[PREFIX]),
                               {"name": "x"}, key=key, ws=ws))
        allow = {m.strip() for m in r.headers.get("allow", "").split(",")}
        tap.ok(r.status == 405 and allow == {"GET", "PUT", "DELETE"},
               "%s: PATCH item: 405, Allow: GET, PUT, DELETE" % web, repr(r))
        r = keep(stack.delete("/registries", key=key, ws=ws))
        allow = {m.strip() for m in r.headers.get("allow", "").split(",")}
        tap.ok(r.status == 405 and allow == {"GET", "POST"},
               "%s: DELETE collection: 405, Allow: GET, POST" % web, repr(r))

        # ---- partial PUT
        r = keep(stack.put("%s/registries/%s" % (PREFIX, ids[PREFIX]), {"username": "hubot"},
                           key=key, ws=ws))
        ok = r.status == 200 and r.json().get("username") == "hubot" \
            and r.json().get("name") == "r-%s-%d" % (web, len(PREFIX))
        tap.ok(ok, "%s: PUT {username} under the prefix: 200, name kept" % web, repr(r))
        r = keep(stack.put("/registries/" + ids[""], {"email": "ops@example.com"},
                           key=key, ws=ws))
        tap.ok(r.status == 200 and r.json().get("email") == "ops@example.com"
               and r.json().get("username") == "octo",
               "%s: PUT {email} at /: 200, username kept" % web, repr(r))

        # ---- wrong prefixes
        for path in ("/v1/registries", "/api/registries", PREFIX + "x/registries",
                     "/api/other.fcgi/registries"):
            r = keep(stack.get(path, key=key, ws=ws))
            tap.ok(r.status == 404, "%s: GET %s: 404" % (web, path), repr(r))

        # ---- DELETE, both mounts
        for base in ("", PREFIX):
            where = base or "/"
            r = keep(stack.delete("%s/registries/%s" % (base, ids[base]), key=key, ws=ws))
            tap.ok(r.status == 204 and r.body == b"", "%s %s: DELETE 204" % (web, where),
                   repr(r))
            r = keep(stack.get("%s/registries/%s" % (base, ids[base]), key=key, ws=ws))
            tap.is_(r.status, 404, "%s %s: GET after DELETE 404" % (web, where))

        # ---- the password never comes back, nor lands in a log
        blobs = []
        for r in responses:
            if isinstance(r, bytes):
                blobs.append(r)
            else:
                blobs.append(r.body)
                blobs.append(repr(r.headers).encode())
        leaked = [p for p in passwords if any(p.encode() in b for b in blobs)]
        tap.ok(not leaked, "%s: no password in any response" % web, repr(leaked))
        stack.stop_web()  # flush and close the logs before reading them
        logs = stack.all_logs()
        leaked = [p for p in passwords if p in logs]
        tap.ok(not leaked, "%s: no password in the web server, app or database logs (%s)" % (
            web, ", ".join(os.path.basename(f) for f in stack.web_server_logs)), repr(leaked))
        tap.ok(all(os.path.exists(f) and os.path.getsize(f) > 0
                   for f in stack.web_server_logs),
               "%s: its logs were written" % web)
        pids = stack.app_pids()
        tap.is_(pids, [], "%s: no FastCGI process left after stop_web()" % web)
    except BaseException:
        stack.__exit__(*sys.exc_info())
        raise
    sanitizer_check(stack, "%s: no sanitizer or valgrind reports" % web)


for server in ("nginx", "apache"):
    if not shutil.which(BINARIES[server]) and not os.access(BINARIES[server], os.X_OK):
        tap.skip("%s: smoke set" % server, "%s not installed (tests/deps.sh)" % server)
        continue
    if not os.access(SPAWN_FCGI, os.X_OK) and not shutil.which(SPAWN_FCGI):
        tap.skip("%s: smoke set" % server, "spawn-fcgi not installed (tests/deps.sh)")
        continue
    check_server(server)

tap.done()
