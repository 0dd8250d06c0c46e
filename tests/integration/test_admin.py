#!/usr/bin/env python3
"""modbox-admin: output forms, idempotent migrations, misuse, bad config,
key-file permissions (for the CLI and for modbox.fcgi), and API keys from
creation to revocation.

Contract (SPEC.md section 6 and the brief): commands that make something
print it alone on stdout; `key list` shows ids and creation times, never a
key; misuse (unknown command, wrong argument count, bad uuid, bad role,
unknown user or workspace or key) is exactly one line on stderr, a non-zero
exit, nothing on stdout, and no change to the database; a bad config file is
one line naming FILE:LINE; a key file readable by group or others is refused.
"""

import atexit
import difflib
import os
import re
import secrets
import uuid

import tap
from apicheck import UUID, UUID_IN_RE, hexid
from modbox_harness import Stack, StackError, sanitizer_check

UUID_LINE = re.compile(r"\A" + UUID + r"\n\Z")
KEY_LINE = re.compile(r"^mbx_[A-Za-z0-9_-]{43,}\n$")

stack = Stack()
stack.__enter__()
atexit.register(stack.close)


def admin(*args, **kw):
    kw.setdefault("check", False)
    return stack.admin(*args, **kw)


def res(r):
    return "exit %d\nstdout %r\nstderr %r" % (r.returncode, r.stdout, r.stderr)


def diff(a, b):
    return "\n".join(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0))[:3000]


# --------------------------------------------------------------- migrate
tap.diag("migrate")
d0 = stack.dump()
r = admin("migrate")
tap.ok(r.returncode == 0 and re.fullmatch(r"\d+\n", r.stdout), "migrate → exit 0, prints the schema version alone",
       res(r))
v1 = r.stdout
r = admin("migrate")
tap.ok(r.returncode == 0 and r.stdout == v1, "migrate again → exit 0, the same version (%s)" % v1.strip(), res(r))
tap.ok(stack.dump() == d0, "migrate on a current schema changes nothing (dump identical)", diff(d0, stack.dump()))
tables = {t[0] for t in stack.sql("SHOW TABLES")}
tap.ok({"workspaces", "users", "memberships", "api_keys", "registries"} <= tables,
       "the schema has workspaces, users, memberships, api_keys, registries", repr(tables))

# ------------------------------------------------------------ make things
tap.diag("workspace, user, member, key")
r = admin("workspace", "create", "Acme Ünïcode 🐳")
tap.ok(r.returncode == 0 and UUID_LINE.match(r.stdout), "workspace create → exit 0, a canonical uuid alone on stdout",
       res(r))
WS = r.stdout.strip()
tap.is_(stack.sql("SELECT name FROM workspaces WHERE id = UNHEX('%s')" % hexid(WS)), [("Acme Ünïcode 🐳",)],
        "the workspace is stored with its name exactly")
r2 = admin("workspace", "create", "Acme Ünïcode 🐳")
tap.ok(r2.returncode == 0 and UUID_LINE.match(r2.stdout) and r2.stdout != r.stdout,
       "a second workspace create → another uuid", res(r2))
r = admin("user", "create", "alice")
tap.ok(r.returncode == 0 and UUID_LINE.match(r.stdout), "user create → exit 0, a uuid alone on stdout", res(r))
USER = r.stdout.strip()
tap.is_(stack.sql("SELECT name FROM users WHERE id = UNHEX('%s')" % hexid(USER)), [("alice",)], "the user is stored")
r = admin("member", "add", WS, USER, "owner")
tap.ok(r.returncode == 0 and r.stdout == "", "member add → exit 0, nothing on stdout", res(r))
tap.is_(stack.sql("SELECT role FROM memberships WHERE workspace_id = UNHEX('%s') AND user_id = UNHEX('%s')"
                  % (hexid(WS), hexid(USER))), [("owner",)], "the membership is stored with role owner")

r = admin("key", "create", USER)
tap.ok(r.returncode == 0 and KEY_LINE.match(r.stdout), "key create → exit 0, mbx_ + at least 43 base64url alone",
       res(r))
K1 = r.stdout.strip()
K2 = admin("key", "create", USER).stdout.strip()
K3 = admin("key", "create", USER).stdout.strip()
tap.ok(len({K1, K2, K3}) == 3 and all(KEY_LINE.match(k + "\n") for k in (K2, K3)),
       "three key creates → three different well-formed keys")
for k, label in ((K1, "first"), (K2, "second"), (K3, "third")):
    g = stack.request("GET", "/registries", key=k, ws=WS)
    tap.is_(g.status, 200, "the %s key authenticates: GET /registries → 200" % label)

r = admin("member", "add", WS, USER, "viewer")
tap.ok(r.returncode == 0, "member add again with role viewer → exit 0", res(r))
g = stack.request("POST", "/registries", key=K1, ws=WS,
                  body={"name": "n", "server": "ghcr.io", "username": "u", "password": "p"})
tap.is_(g.status, 403, "after the role change to viewer, a POST → 403")
admin("member", "add", WS, USER, "owner", check=True)

# ----------------------------------------------------------------- key list
tap.diag("key list and revoke")


def key_list(user):
    r = admin("key", "list", user)
    return r, [l for l in r.stdout.splitlines() if l.strip()]


r, lines = key_list(USER)
tap.ok(r.returncode == 0 and len(lines) == 3, "key list → exit 0, one line per key (3)", res(r))
tap.ok(all(UUID_IN_RE.match(l) and re.search(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}", l) for l in lines),
       "each line starts with the key id and shows its creation time", r.stdout)
tap.ok(not any(k in r.stdout or k[4:] in r.stdout or k[4:24] in r.stdout for k in (K1, K2, K3)),
       "key list never shows a key (nor its random part)", r.stdout)
tap.ok(not re.search(r"(?i)revoked", r.stdout), "no key is marked revoked yet", r.stdout)
ids = [UUID_IN_RE.match(l).group(0) for l in lines if UUID_IN_RE.match(l)]
tap.is_(len(set(ids)), 3, "three distinct key ids")
other = admin("user", "create", "keyless").stdout.strip()
r, _ = key_list(other)
tap.ok(r.returncode == 0 and r.stdout == "", "key list of a user without keys → exit 0, empty", res(r))

r = admin("key", "revoke", K1)
tap.ok(r.returncode == 0 and r.stdout == "", "key revoke KEY → exit 0, nothing on stdout", res(r))
g = stack.request("GET", "/registries", key=K1, ws=WS)
tap.ok(g.status == 401 and g.headers.get("www-authenticate", "").startswith("Bearer"),
       "the key revoked by its text → 401 with WWW-Authenticate", repr(g))
r, lines = key_list(USER)
revoked = [l for l in lines if re.search(r"(?i)revoked", l)]
tap.ok(len(revoked) == 1, "key list marks exactly one key revoked", r.stdout)
revoked_id = UUID_IN_RE.match(revoked[0]).group(0) if revoked else None
live = [i for i in ids if i != revoked_id]
# K2 is the second created: key list is oldest first, so it is ids[1]
r = admin("key", "revoke", ids[1])
tap.ok(r.returncode == 0 and r.stdout == "", "key revoke KEY_ID → exit 0", res(r))
g2 = stack.request("GET", "/registries", key=K2, ws=WS)
g3 = stack.request("GET", "/registries", key=K3, ws=WS)
tap.ok(g2.status == 401 and g3.status == 200,
       "revoking the second key by id → that key 401, the third still 200 (%d, %d)" % (g2.status, g3.status))
tap.is_(revoked_id, ids[0], "the key revoked by its text is the first listed (list is oldest first)")
r, lines = key_list(USER)
tap.is_(len([l for l in lines if re.search(r"(?i)revoked", l)]), 2, "key list now marks two keys revoked")
tap.ok(not any(re.search(r"(?i)revoked", l) for l in lines if l.startswith(ids[2])), "the third key is not marked")

tap.diag("no plaintext key is stored")
dump = stack.dump()
tap.ok("INSERT INTO `api_keys`" in dump, "the dump holds api_keys rows")
tap.ok(not any(k in dump or k[4:] in dump for k in (K1, K2, K3)), "the dump holds no key and no key's random part")
hexdump = " ".join(x for row in stack.sql("SELECT HEX(id), HEX(user_id), HEX(key_hash) FROM api_keys") for x in row)
tap.ok(not any(k.encode().hex().upper() in hexdump or k[4:].encode().hex().upper() in hexdump
               for k in (K1, K2, K3)), "no api_keys column holds a key's bytes")
tap.ok(not any(k in stack.all_logs() for k in (K1, K2, K3)), "no log holds a key")

# ---------------------------------------------------------------- misuse
tap.diag("misuse: one stderr line, non-zero exit, nothing on stdout, nothing changed")
RAND = str(uuid.uuid4())
MISUSE = [
    ("no arguments", []),
    ("an unknown command", ["frobnicate"]),
    ("an unknown option", ["--bogus"]),
    ("workspace alone", ["workspace"]),
    ("workspace create without a name", ["workspace", "create"]),
    ("workspace create with two names", ["workspace", "create", "a", "b"]),
    ("workspace delete (unknown subcommand)", ["workspace", "delete", WS]),
    ("workspace create with an empty name", ["workspace", "create", ""]),
    ("workspace create with a 129-character name", ["workspace", "create", "w" * 129]),
    ("user create with a newline in the name", ["user", "create", "a\nb"]),
    ("user alone", ["user"]),
    ("user create without a name", ["user", "create"]),
    ("member add without a role", ["member", "add", WS, USER]),
    ("member add with too many arguments", ["member", "add", WS, USER, "owner", "x"]),
    ("member add with a bad workspace uuid", ["member", "add", "not-a-uuid", USER, "owner"]),
    ("member add with a bad user uuid", ["member", "add", WS, "not-a-uuid", "owner"]),
    ("member add with a bad role", ["member", "add", WS, USER, "superuser"]),
    ("member add with an empty role", ["member", "add", WS, USER, ""]),
    ("member add with an unknown user", ["member", "add", WS, RAND, "owner"]),
    ("member add with an unknown workspace", ["member", "add", RAND, USER, "owner"]),
    ("member add with a uuid in braces", ["member", "add", "{%s}" % WS, USER, "owner"]),
    ("key alone", ["key"]),
    ("key create with a bad uuid", ["key", "create", "not-a-uuid"]),
    ("key create for an unknown user", ["key", "create", RAND]),
    ("key create without a user", ["key", "create"]),
    ("key list with a bad uuid", ["key", "list", "nope"]),
    ("key list for an unknown user", ["key", "list", RAND]),
    ("key revoke without an argument", ["key", "revoke"]),
    ("key revoke of garbage", ["key", "revoke", "garbage"]),
    ("key revoke of an unknown key id", ["key", "revoke", RAND]),
    ("key revoke of an unknown key", ["key", "revoke", "mbx_" + secrets.token_urlsafe(32)]),
    ("key revoke of an already revoked key", ["key", "revoke", K1]),
    ("crypto-key alone", ["crypto-key"]),
    ("crypto-key with an unknown subcommand", ["crypto-key", "frob"]),
    ("crypto-key rotate with an extra argument", ["crypto-key", "rotate", "now"]),
    ("secrets alone", ["secrets"]),
    ("secrets check with an extra argument", ["secrets", "check", "x"]),
    ("migrate with an extra argument", ["migrate", "extra"]),
]
keyfile_before = open(stack.key_file).read()
for desc, args in MISUSE:
    before = stack.dump()
    r = admin(*args)
    lines = r.stderr.splitlines()
    after = stack.dump()
    probs = []
    if r.returncode == 0:
        probs.append("exit 0")
    if r.stdout != "":
        probs.append("stdout not empty")
    if len(lines) != 1 or not lines[0].strip():
        probs.append("%d stderr lines, want exactly one" % len(lines))
    if after != before:
        probs.append("the database changed:\n" + diff(before, after))
    tap.ok(not probs, "modbox-admin %s → one stderr line, non-zero exit, empty stdout, no change" % desc,
           "\n".join(probs) + "\n" + res(r))
tap.is_(open(stack.key_file).read(), keyfile_before, "no misuse touched the key file")

# ---------------------------------------------------------------- config
tap.diag("bad config files")
with open(stack.conf) as f:
    good_conf = f.read()
good_lines = good_conf.splitlines()


def conf_with(extra_lines, after_section="[database]"):
    """good_conf with extra lines right after a section header; returns
    (path, the 1-based line number of the first extra line)."""
    lines = list(good_lines)
    at = lines.index(after_section) + 1 if after_section else len(lines)
    lines[at:at] = extra_lines
    path = os.path.join(stack.tmp, "bad-%s.conf" % secrets.token_hex(3))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path, at + 1


BAD_CONF = [
    ("an unknown key", ["bogus = 1"], "[database]"),
    ("an unknown key in [http]", ["max_body = 10"], "[http]"),
    ("a port out of range", ["port = 99999"], "[database]"),
    ("a non-numeric max_body_bytes", ["max_body_bytes = lots"], "[http]"),
    ("an unknown section", ["[bogus]", "a = b"], None),
    ("a line without '='", ["just some words"], "[database]"),
    ("a duplicated key", ["user = other"], "[database]"),
    ("a bad boolean", ["[pull]", "allow_private_networks = maybe"], None),
]
for desc, extra, sect in BAD_CONF:
    path, lineno = conf_with(extra, sect)
    if sect is None:
        lineno = lineno + (1 if extra[0].startswith("[pull]") else 0)
    if desc == "a duplicated key":       # the second "user =" is the one at fault
        with open(path) as f:
            lineno = [i for i, l in enumerate(f.read().splitlines(), 1) if l.startswith("user =")][1]
    r = admin("migrate", env_extra={"MODBOX_CONF": path})
    lines = r.stderr.splitlines()
    tap.ok(r.returncode != 0 and r.stdout == "" and len(lines) == 1 and "%s:%d" % (path, lineno) in lines[0],
           "a config with %s → one stderr line naming %s:%d, non-zero exit" % (desc, os.path.basename(path), lineno),
           res(r))
missing = os.path.join(stack.tmp, "no-such.conf")
r = admin("workspace", "create", "x", env_extra={"MODBOX_CONF": missing})
tap.ok(r.returncode != 0 and r.stdout == "" and len(r.stderr.splitlines()) == 1 and missing in r.stderr,
       "a missing config file → one stderr line naming it, non-zero exit", res(r))
tap.ok(not stack.sql("SELECT 1 FROM workspaces WHERE name = 'x'"), "... and no workspace was made")

tap.diag("a bad config stops modbox.fcgi too")
log_len = len(stack.error_log())
stack.write_conf({"http": {"bogus_key": "1"}})
try:
    stack.restart_web()
    started = True
except StackError:
    started = False
try:
    g = stack.request("GET", "/registries", key=K3, ws=WS)
    status = g.status
except OSError:
    status = None
tap.ok(not started or status is None or status >= 500,
       "with an unknown key in modbox.conf the API does not serve (lighttpd %s, status %s)"
       % ("started" if started else "refused to start", status))
new_log = stack.error_log()[log_len:]
tap.ok(re.search(re.escape(stack.conf) + r":\d+", new_log) and "bogus_key" in new_log,
       "the error log has a line naming modbox.conf:LINE and the key", new_log[-2000:])
stack.write_conf({})
stack.restart_web()
tap.is_(stack.request("GET", "/registries", key=K3, ws=WS).status, 200, "config repaired, restarted → 200")

# ------------------------------------------------------------- key file mode
tap.diag("the key file must not be readable by group or others")
rows_before = stack.dump()
keys_before = open(stack.key_file).read()
for mode in (0o644, 0o640, 0o604):
    os.chmod(stack.key_file, mode)
    for args in (("crypto-key", "rotate"), ("secrets", "check"), ("crypto-key", "generate")):
        r = admin(*args)
        lines = r.stderr.splitlines()
        tap.ok(r.returncode != 0 and r.stdout == "" and len(lines) == 1 and stack.key_file in lines[0],
               "key file mode %o: modbox-admin %s refuses with one line naming the file" % (mode, " ".join(args)),
               res(r))
tap.is_(open(stack.key_file).read(), keys_before, "the refused commands left the key file as it was")
tap.ok(stack.dump() == rows_before, "... and the database too")

os.chmod(stack.key_file, 0o644)
log_len = len(stack.error_log())
try:
    stack.restart_web()
    started = True
except StackError:
    started = False
try:
    g = stack.request("GET", "/registries", key=K3, ws=WS)
    status = g.status
except OSError:
    status = None
tap.ok(not started or status is None or status >= 500,
       "key file 0644: the API does not serve (lighttpd %s, status %s)"
       % ("started" if started else "refused to start", status))
new_log = stack.error_log()[log_len:]
mode_lines = [l for l in new_log.splitlines() if stack.key_file in l]
tap.ok(mode_lines and all(re.search(r"(?i)mode|permission|0600|group|other", l) for l in mode_lines),
       "the error log has a clear line about the key file's mode", new_log[-2000:])

os.chmod(stack.key_file, 0o600)
stack.restart_web()
tap.is_(stack.request("GET", "/registries", key=K3, ws=WS).status, 200, "mode 0600 again, restarted → 200")
r = admin("secrets", "check")
tap.ok(r.returncode == 0, "mode 0600: secrets check works again", res(r))
os.chmod(stack.key_file, 0o400)
r = admin("secrets", "check")
tap.ok(r.returncode == 0, "mode 0400 is accepted too", res(r))
os.chmod(stack.key_file, 0o600)

tap.diag("crypto-key generate")
r = admin("crypto-key", "generate")
tap.ok(r.returncode == 0 and re.fullmatch(r"\d+\n", r.stdout) and int(r.stdout) > int(stack.key_id),
       "crypto-key generate → a new higher key id alone on stdout", res(r))
tap.is_(len([l for l in open(stack.key_file).read().splitlines() if l.strip() and not l.startswith("#")]), 2,
        "the key file now holds two keys")
tap.is_(oct(os.stat(stack.key_file).st_mode & 0o777), "0o600", "and is still mode 0600")
tap.ok(not any(l.split()[-1] in r.stdout + r.stderr for l in open(stack.key_file).read().splitlines() if l.strip()),
       "crypto-key generate never prints key material")
nokey = os.path.join(stack.tmp, "fresh-keys")
path, _ = conf_with([], None)
text = open(path).read().replace(stack.key_file, nokey)
open(path, "w").write(text)
r = admin("crypto-key", "generate", env_extra={"MODBOX_CONF": path})
tap.ok(r.returncode == 0 and r.stdout == "1\n" and os.path.exists(nokey)
       and oct(os.stat(nokey).st_mode & 0o777) == "0o600",
       "crypto-key generate with no key file yet → creates it with mode 0600, key id 1", res(r))

sanitizer_check(stack)
tap.done()
