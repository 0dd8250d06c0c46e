#!/usr/bin/env python3
"""Passwords go in and never come out: not in a response, a log, the
database, or modbox-admin's output.  Plus the stored form (AES-256-GCM:
12-byte nonce, 16-byte tag, key id, ciphertext as long as the password), a
ciphertext copied onto another row (secrets check and rotate report exactly
that row), key rotation, and the newest key sealing after a restart.

Every password is searched for raw, JSON-escaped, in base64 (standard and
URL alphabets, at the three byte alignments) and in hex; each carries a
random marker that is searched for alone too, so a truncated echo is caught.
MariaDB's general query log is switched on for the whole script: the
plaintext must never even reach the database server.
"""

import atexit
import base64
import json
import os
import re
import secrets

import tap
from apicheck import show
from modbox_harness import Stack, sanitizer_check


stack = Stack()
stack.__enter__()
atexit.register(stack.close)

RESPONSES = []     # every HTTP answer of the script
ADMIN_OUT = []     # every modbox-admin stdout and stderr


def request(*a, **kw):
    r = stack.request(*a, **kw)
    RESPONSES.append(r)
    return r


def admin(*args, **kw):
    kw.setdefault("check", False)
    r = stack.admin(*args, **kw)
    ADMIN_OUT.append("$ modbox-admin %s\n%s\n%s" % (" ".join(args), r.stdout, r.stderr))
    return r


# MariaDB's general log: every statement the server receives
GENERAL_LOG = os.path.join(stack.tmp, "general.log")
try:
    stack.sql_exec("SET GLOBAL general_log_file = '%s'; SET GLOBAL log_output = 'FILE'; "
                   "SET GLOBAL general_log = 1" % GENERAL_LOG)
    have_general = True
except AssertionError as e:
    tap.diag("general log not available: %s" % e)
    have_general = False

WS = stack.workspace("secrets")
WS2 = stack.workspace("secrets-2")
OWNER_ID, KEY = stack.actor(WS, "owner")
_, VIEWER = stack.actor(WS, "viewer")
stack.member(WS2, OWNER_ID, "owner")
API_KEYS = [KEY, VIEWER]

# ------------------------------------------------------------- the secrets
SECRETS = []


def secret(text):
    SECRETS.append(text)
    return text


def marker():
    m = "MRK%s" % secrets.token_hex(8)
    SECRETS.append(m)          # the marker alone is searched for as well
    return m


PW1 = secret("PW-%s-secret" % marker())
M2 = marker()
PW2 = secret(json.dumps({
    "type": "service_account", "project_id": "modbox-test",
    "private_key_id": secrets.token_hex(20),
    "private_key": "-----BEGIN PRIVATE KEY-----\n" + "\n".join(
        base64.b64encode(secrets.token_bytes(48)).decode() for _ in range(40))
    + "\n" + M2 + "\n-----END PRIVATE KEY-----\n",
    "client_email": "puller@modbox-test.iam.gserviceaccount.com",
    "client_id": "1234567890", "auth_uri": "https://accounts.google.com/o/oauth2/auth",
}, indent=2))
PW3 = secret('pässwörd-%s-✓ "quoted" \\ back\'slash' % marker())
PW5 = secret("PW5-%s" % marker())
PW6 = secret("PW6-%s" % marker())
PW7 = secret("PW7-%s" % marker())
PW8 = secret("PW8-%s" % marker())
tap.ok(len(PW2.encode()) > 3000 and "\n" in PW2 and '"' in PW2,
       "the JSON-key password is %d bytes with newlines and quotes" % len(PW2.encode()))


def forms(s):
    """Byte strings that would betray s."""
    b = s.encode()
    out = {b, json.dumps(s)[1:-1].encode(), json.dumps(s, ensure_ascii=False)[1:-1].encode(),
           b.hex().encode(), b.hex().upper().encode()}
    for i in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            e = enc(b[i:]).rstrip(b"=")
            if len(e) > 8:
                out.add(e[:-3])        # the tail depends on what follows
    return {f for f in out if len(f) >= 8}


FORMS = [(s, f) for s in SECRETS for f in forms(s)]


def leaks_in(data):
    """The secrets (shortened) whose forms occur in data (bytes or str)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return sorted({s[:24] for s, f in FORMS if f in data})


def ok_create(body, desc, ws=WS):
    r = request("POST", "/registries", body=body, key=KEY, ws=ws)
    tap.is_(r.status, 201, desc)
    return r.json()["id"] if r.status == 201 else None


# ----------------------------------------------------------- create them
tap.diag("registries with distinctive passwords")
R1 = ok_create({"name": "one", "server": "ghcr.io", "username": "octo", "password": PW1},
               "POST with a marked password → 201")
R2 = ok_create({"name": "gar", "server": "us-docker.pkg.dev", "username": "_json_key",
                "password": PW2}, "POST with a 3 KB JSON key as the password → 201")
R3 = ok_create({"name": "three", "server": "quay.io", "username": "q", "password": PW3,
                "email": "q@example.com"}, "POST with a non-ASCII password with quotes and backslashes → 201")
R4 = ok_create({"name": "four", "server": "ghcr.io", "username": "octo", "password": PW1},
               "POST another registry with the same password as the first → 201")
R5 = ok_create({"name": "five", "server": "ghcr.io", "username": "x", "password": PW7},
               "POST a registry in a second workspace → 201", ws=WS2)
ALL_IDS = [R1, R2, R3, R4, R5]
PLAIN = {R1: PW1, R2: PW2, R3: PW3, R4: PW1, R5: PW7}


def stored(rid):
    rows = stack.sql("SELECT LENGTH(password_ct), LENGTH(password_nonce), LENGTH(password_tag), key_id, "
                     "HEX(password_ct), HEX(password_nonce), HEX(password_tag) FROM registries "
                     "WHERE id = UNHEX('%s')" % rid.replace("-", ""))
    return rows[0] if rows else None


KEY1 = stack.key_id
tap.like(str(KEY1), r"^\d+$", "the harness's first master key has a numeric id (%s)" % KEY1)
for rid in ALL_IDS:
    row = stored(rid)
    pw = PLAIN[rid]
    tap.ok(row and row[0] == str(len(pw.encode())) and row[1] == "12" and row[2] == "16"
           and row[3] == str(KEY1) and row[4].lower() != pw.encode().hex(),
           "stored row %s: ciphertext as long as the password (%d), 12-byte nonce, 16-byte tag, key_id %s"
           % (rid[:8], len(pw.encode()), KEY1), repr(row and row[:4]))
r1, r4 = stored(R1), stored(R4)
tap.ok(r1 and r4 and r1[5] != r4[5] and r1[4] != r4[4],
       "the same password in two rows: different nonces and different ciphertexts")

# ----------------------------------------------- failures carrying secrets
tap.diag("requests that fail while carrying a password")


def fail(method, path, body, status, desc, key=KEY, ws=WS, content_type="application/json"):
    r = request(method, path, body=body, key=key, ws=ws, content_type=content_type)
    tap.is_(r.status, status, desc)


def vb(**over):
    b = {"name": "new-%s" % secrets.token_hex(3), "server": "ghcr.io", "username": "u",
         "password": PW1}
    b.update(over)
    return b


fail("POST", "/registries", vb(server="ftp://ghcr.io"), 422, "POST bad server + password → 422")
fail("POST", "/registries", vb(password=PW2, email="not-an-email"), 422, "POST bad email + JSON key → 422")
fail("POST", "/registries", vb(name="n" * 129), 422, "POST long name + password → 422")
fail("POST", "/registries", dict(vb(), passwd=PW1), 422, "POST unknown field holding the password → 422")
fail("POST", "/registries", vb(enabled="yes"), 422, "POST enabled wrong type + password → 422")
fail("POST", "/registries", {k: v for k, v in vb().items() if k != "name"}, 422,
     "POST missing name + password → 422")
fail("POST", "/registries", vb(name="one", password=PW2), 409, "POST name clash + JSON key → 409")
fail("POST", "/registries", json.dumps(vb()), 415, "POST text/plain + password → 415",
     content_type="text/plain")
fail("POST", "/registries", vb(password=PW1 * 6000), 413, "POST 70 KB of repeated password → 413")
fail("POST", "/registries", '{"password": "%s", ' % PW1, 400, "POST malformed JSON holding the password → 400")
fail("POST", "/registries", ('{"name": "x", "server": "ghcr.io", "username": "u", "password": "%s' % PW1).encode()
     + b'\xff"}', 400, "POST invalid UTF-8 right after the password → 400")
fail("POST", "/registries", vb(password=PW1 + "x" * 16385), 422, "POST password over 16 KiB → 422")
fail("POST", "/registries", vb(password=PW1 + "\u0000tail"), 422, "POST password holding \\u0000 → 422")
fail("POST", "/registries", vb(password=[PW1]), 422, "POST password as an array → 422")
fail("POST", "/registries", vb(password={"k": PW1}), 422, "POST password as an object → 422")
fail("POST", "/registries", vb(), 403, "POST by a viewer with a password → 403", key=VIEWER)
fail("POST", "/registries", vb(), 401, "POST without a key with a password → 401", key=None)
fail("POST", "/registries", vb(), 400, "POST with a bad X-Workspace-Id → 400", ws="nope")
fail("POST", "/registries", vb(), 403, "POST to a workspace the caller is not in → 403",
     ws=stack.workspace("secrets-foreign"))
fail("PUT", "/registries/" + R1, {"password": PW5}, 200, "PUT a new password → 200")
fail("PUT", "/registries/" + R1, {"server": "registry.example.com", "password": PW6}, 200,
     "PUT server change with a new password → 200")
fail("PUT", "/registries/" + R1, {"server": "quay.io"}, 422, "PUT server change without password → 422")
fail("PUT", "/registries/" + R2, {"password": PW2, "email": "bad"}, 422, "PUT JSON key + bad email → 422")
fail("PUT", "/registries/" + R3, {"password": PW3, "name": "one"}, 409, "PUT password + name clash → 409")
fail("PUT", "/registries/" + R3, {"password": PW3 * 3000}, 413, "PUT 70 KB of password → 413")
fail("PUT", "/registries/" + R3, {"password": PW3}, 403, "PUT password by a viewer → 403", key=VIEWER)
fail("PUT", "/registries/" + "0" * 8 + "-0000-7000-8000-" + "0" * 12, {"password": PW3}, 404,
     "PUT password to a registry that does not exist → 404")
fail("PUT", "/registries/" + R3, '{"password": "%s"' % PW3, 400, "PUT malformed JSON holding the password → 400")
fail("PUT", "/registries/" + R3, json.dumps({"password": PW3}), 415, "PUT text/plain password → 415",
     content_type="text/plain")
fail("PUT", "/registries/" + R3, {"password": PW3, "server": "ghcr.io/x"}, 422, "PUT password + bad server → 422")
fail("GET", "/registries?limit=200", None, 200, "GET the list → 200")
for rid in (R1, R2, R3, R4):
    fail("GET", "/registries/" + rid, None, 200, "GET /registries/%s → 200" % rid[:8])
PLAIN[R1] = PW6
row = stored(R1)
tap.ok(row and row[0] == str(len(PW6.encode())) and row[4] != r1[4] and row[5] != r1[5],
       "after the PUTs the first registry holds a fresh ciphertext of the newest password")

# ------------------------------------------------------------- tampering
tap.diag("a ciphertext copied onto another row")
total = int(stack.sql("SELECT COUNT(*) FROM registries")[0][0])
r = admin("secrets", "check")
tap.ok(r.returncode == 0 and r.stdout.strip() == str(total) and r.stderr.strip() == "",
       "secrets check before tampering → exit 0, prints %d, nothing on stderr" % total,
       "exit %d\nstdout %r\nstderr %r" % (r.returncode, r.stdout, r.stderr))
stack.sql_exec("UPDATE registries AS d, registries AS s SET d.password_ct = s.password_ct, "
               "d.password_nonce = s.password_nonce, d.password_tag = s.password_tag, d.key_id = s.key_id "
               "WHERE d.id = UNHEX('%s') AND s.id = UNHEX('%s')" % (R3.replace("-", ""), R2.replace("-", "")))
tampered = stored(R3)
tap.ok(tampered[4:] == stored(R2)[4:], "R3 now holds R2's ciphertext, nonce and tag")
r = admin("secrets", "check")
errlines = [l for l in r.stderr.splitlines() if l.strip()]
tap.ok(r.returncode != 0, "secrets check after tampering → non-zero exit (%d)" % r.returncode)
tap.ok(len(errlines) == 1 and R3 in errlines[0], "secrets check → exactly one stderr line, naming R3",
       r.stderr)
tap.ok(not any(x in r.stderr for x in ALL_IDS if x != R3), "secrets check names no other registry", r.stderr)
tap.is_(r.stdout.strip(), str(total - 1), "secrets check prints the count that decrypt (%d)" % (total - 1))
for rid, label in ((R3, "the tampered row"), (R2, "the row it was copied from")):
    g = request("GET", "/registries/" + rid, key=KEY)
    tap.ok(g.status == 200 and g.json()["id"] == rid, "GET %s → 200" % label, show(g))
g = request("GET", "/registries?limit=200", key=KEY, ws=WS)
tap.ok(g.status == 200 and R3 in [o["id"] for o in g.json()["data"]], "the list still answers 200 with it", show(g))

# ---------------------------------------------------------------- rotation
tap.diag("crypto-key generate + rotate")
before = {rid: stored(rid) for rid in ALL_IDS}
r = admin("crypto-key", "generate")
tap.ok(r.returncode == 0 and re.fullmatch(r"\d+\n?", r.stdout) and int(r.stdout) > int(KEY1),
       "crypto-key generate → exit 0, prints a new, higher key id (%r)" % r.stdout.strip(), r.stderr)
KEY2 = r.stdout.strip()
tap.is_(oct(os.stat(stack.key_file).st_mode & 0o777), "0o600", "the key file is still mode 0600")
r = admin("crypto-key", "rotate")
errlines = [l for l in r.stderr.splitlines() if l.strip()]
tap.ok(r.returncode != 0, "crypto-key rotate with a tampered row → non-zero exit (%d)" % r.returncode)
tap.ok(len(errlines) == 1 and R3 in errlines[0], "rotate → exactly one stderr line, naming R3", r.stderr)
tap.is_(r.stdout.strip(), str(total - 1), "rotate prints how many rows it re-encrypted (%d)" % (total - 1))
after = {rid: stored(rid) for rid in ALL_IDS}
for rid in ALL_IDS:
    if rid == R3:
        tap.is_(after[rid], before[rid], "rotate left the tampered row R3 exactly as it was")
    else:
        tap.ok(after[rid][3] == KEY2 and after[rid][4] != before[rid][4] and after[rid][5] != before[rid][5]
               and after[rid][0] == before[rid][0] and after[rid][1:3] == ("12", "16"),
               "rotate re-encrypted %s under key %s (new nonce and ciphertext, same length)" % (rid[:8], KEY2),
               "%r\n%r" % (before[rid], after[rid]))
r = admin("secrets", "check")
tap.ok(r.returncode != 0 and r.stdout.strip() == str(total - 1) and R3 in r.stderr
       and len([l for l in r.stderr.splitlines() if l.strip()]) == 1,
       "secrets check after rotate → the good rows decrypt (%d), only R3 reported" % (total - 1),
       "exit %d stdout %r stderr %r" % (r.returncode, r.stdout, r.stderr))

tap.diag("repairing the row, then the newest key after a restart")
g = request("PUT", "/registries/" + R3, body={"password": PW8}, key=KEY)
tap.is_(g.status, 200, "PUT a new password onto the tampered row → 200")
PLAIN[R3] = PW8
r = admin("secrets", "check")
tap.ok(r.returncode == 0 and r.stdout.strip() == str(total) and not r.stderr.strip(),
       "secrets check → exit 0 and all %d decrypt" % total,
       "exit %d stdout %r stderr %r" % (r.returncode, r.stdout, r.stderr))
stack.restart_web()     # the app reads the key file at start: now it has KEY2
g = request("PUT", "/registries/" + R4, body={"password": PW1}, key=KEY)
tap.is_(g.status, 200, "after a restart, PUT a password → 200")
tap.is_(stored(R4)[3], KEY2, "after a restart the app seals with the newest key (%s)" % KEY2)
g = request("POST", "/registries", body={"name": "after-restart", "server": "ghcr.io", "username": "u",
                                         "password": PW5}, key=KEY, ws=WS)
tap.ok(g.status == 201 and stored(g.json()["id"])[3] == KEY2, "after a restart a new registry is sealed with key %s"
       % KEY2, show(g))
total = int(stack.sql("SELECT COUNT(*) FROM registries")[0][0])
r = admin("crypto-key", "rotate")
tap.ok(r.returncode == 0 and not r.stderr.strip(), "crypto-key rotate with no bad row → exit 0, nothing on stderr",
       "exit %d stderr %r" % (r.returncode, r.stderr))
tap.is_(stack.sql("SELECT COUNT(*) FROM registries WHERE key_id = %s" % KEY2), [(str(total),)],
        "every row is now under key %s" % KEY2)
r = admin("crypto-key", "rotate")
tap.ok(r.returncode == 0 and r.stdout.strip() == "0", "a second rotate has nothing to do → prints 0", r.stdout)
r = admin("secrets", "check")
tap.ok(r.returncode == 0 and r.stdout.strip() == str(total), "secrets check → all %d decrypt" % total,
       "exit %d stdout %r stderr %r" % (r.returncode, r.stdout, r.stderr))
for args in (("key", "list", OWNER_ID), ("migrate",)):
    admin(*args)

# --------------------------------------------------------- the big search
tap.diag("searching every output for the passwords")
tap.ok(leaks_in(PW1) and leaks_in(json.dumps(PW2)) and leaks_in(base64.b64encode(PW3.encode()))
       and leaks_in(b"x" + base64.urlsafe_b64encode(b"y" + PW2.encode())) and leaks_in(PW6.encode().hex())
       and leaks_in("...%s..." % M2) and not leaks_in("PW-harmless"),
       "control: the search finds a password raw, JSON-escaped, in base64 at any alignment, in hex, "
       "and by its marker alone")
bad = [(i, x.status, leaks_in(x.body)) for i, x in enumerate(RESPONSES) if leaks_in(x.body)]
tap.ok(not bad, "no response body of the %d in this script holds a password" % len(RESPONSES), repr(bad[:5]))
bad = [(i, x.status) for i, x in enumerate(RESPONSES)
       if leaks_in("\n".join("%s: %s" % kv for kv in x.headers.items()))]
tap.ok(not bad, "no response header holds a password", repr(bad[:5]))
bad = [x for x in RESPONSES if x.status >= 200 and x.status < 300 and b"password" in x.body]
tap.ok(not bad, "no success body has a password field", repr(bad[:2]))
dump = stack.dump()
tap.ok("INSERT INTO `registries`" in dump, "the dump holds the registries table rows")
tap.is_(leaks_in(dump), [], "the database dump holds no password in any form")
rows = stack.sql("SELECT HEX(password_ct) FROM registries")
tap.ok(rows and not any(PLAIN[k].encode().hex().upper() in "".join(r[0] for r in rows) for k in PLAIN),
       "no ciphertext column equals a plaintext")
log = stack.error_log()
tap.is_(leaks_in(log), [], "the web server's error log (the app's stderr) holds no password")
logs = stack.all_logs()
tap.is_(leaks_in(logs), [], "no log file of the stack (lighttpd, MariaDB, sanitizers) holds a password")
tap.is_(leaks_in("\n".join(ADMIN_OUT)), [], "no modbox-admin output holds a password")
if have_general:
    with open(GENERAL_LOG, "rb") as f:
        general = f.read()
    tap.ok(b"registries" in general and b"_json_key" in general and b"after-restart" in general,
           "control: MariaDB's general log recorded the app's statements with their values (%d bytes)"
           % len(general))
    tap.is_(leaks_in(general), [], "MariaDB's general log holds no password: the plaintext never left the app")
    tap.ok(not any(k.encode() in general for k in API_KEYS), "... nor an API key")
else:
    tap.skip("MariaDB's general log holds no password", "general log not available")
tap.ok(not any(k in log or k in logs for k in API_KEYS), "no log holds an API key")
tap.ok(not any(k in dump for k in API_KEYS) and not any(k[4:] in dump for k in API_KEYS),
       "the dump holds no API key")

sanitizer_check(stack)
tap.done()
