#!/usr/bin/env python3
"""The database goes away and comes back (SPEC section 6): requests during
the outage get 503 with Retry-After and change nothing; the app reconnects
by itself afterwards; every write acknowledged with 201 is in the table."""
import tap
from modbox_harness import Stack, sanitizer_check


def create(s, key, ws, name):
    return s.request("POST", "/registries", {"name": name, "server": "ghcr.io",
                                             "username": "u", "password": "outage-pw"},
                     key=key, ws=ws)


with Stack() as s:
    ws = s.workspace("outage")
    _, key = s.actor(ws, "owner")
    acked = []
    r = create(s, key, ws, "before")
    tap.is_(r.status, 201, "create before the outage")
    acked.append(r.json()["id"])
    # Touch every FastCGI process's connection so each has one open.
    for _ in range(8):
        s.request("GET", "/registries", key=key, ws=ws)

    s.stop_db()
    for path, method, body in (("/registries", "GET", None),
                               ("/registries/" + acked[0], "GET", None),
                               ("/registries", "POST", None)):
        if method == "POST":
            r = create(s, key, ws, "during")
        else:
            r = s.request(method, path, key=key, ws=ws)
        tap.is_(r.status, 503, "%s %s while the database is down: 503" % (method, path))
        tap.is_(r.headers.get("retry-after"), "1", "%s %s: Retry-After" % (method, path))
        tap.is_(r.error_code(), "unavailable", "%s %s: error code" % (method, path))
        tap.unlike(r.text, "outage-pw", "%s %s: no secret in the 503" % (method, path))

    s.start_db()
    # Each process reconnects on its next request: try several times so
    # every process has been through its reconnect.
    statuses = set()
    for _ in range(8):
        statuses.add(s.request("GET", "/registries", key=key, ws=ws).status)
    tap.is_(statuses, {200}, "after the restart every request is served (reconnected)")
    for i in range(6):
        r = create(s, key, ws, "after-%d" % i)
        if r.status == 201:
            acked.append(r.json()["id"])
    tap.is_(len(acked), 7, "all creates after the restart acknowledged")

    rows = {row[0] for row in s.sql("SELECT LOWER(INSERT(INSERT(INSERT(INSERT(HEX(id),9,0,'-'),14,0,'-'),19,0,'-'),24,0,'-')) FROM registries")}
    tap.ok(set(acked) <= rows, "every acknowledged write is stored",
           diag="missing: %s" % (set(acked) - rows))
    tap.is_(len(rows), len(acked), "nothing stored that was not acknowledged")
    tap.ok("during" not in {r[0] for r in s.sql("SELECT name FROM registries")},
           "the POST refused during the outage left no row")
    sanitizer_check(s)
tap.done()
