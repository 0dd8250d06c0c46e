#!/usr/bin/env python3
"""Bad input: nothing a client sends can make the service store or crash.

Phase 1 takes a dump of the database, then sends every kind of bad request to
POST /registries, PUT /registries/{id} and GET /registries: malformed JSON,
non-objects, invalid and overlong UTF-8, deep nesting, wrong types, huge
numbers, unknown and missing fields, NUL in strings, SQL metacharacters
where they are invalid, over-long values, oversized bodies (also with a lying
Content-Length or chunked), wrong Content-Type, garbage Authorization and
X-Workspace-Id, unknown methods and paths.  Each must get README.md's status,
error.code and error.field.  Then a second dump must equal the first, byte
for byte: no refused request wrote anything (no table is ignored; there is
no "last used" column or audit table that a refused request may touch).

Phase 2 sends values that look dangerous but are valid (SQL metacharacters in
name/username/password, LIKE wildcards, boundary lengths, escapes, accepted
Content-Types): each is stored byte-exact and read back identical, then
deleted, and a third dump must equal the first again.
"""

import atexit
import secrets
import uuid

import tap
from apicheck import ANY, NOFIELD, allow_set, dumps, expect_error, jbody, short, show
from modbox_harness import Stack, sanitizer_check


# ------------------------------------------------------------------ set-up
stack = Stack()
stack.__enter__()
atexit.register(stack.close)
WS = stack.workspace("bad-input")
_, KEY = stack.actor(WS, "owner")
_, VIEWER = stack.actor(WS, "viewer")
r = stack.request("POST", "/registries", key=KEY, ws=WS,
                  body={"name": "existing", "server": "ghcr.io", "username": "u",
                        "password": "existing-password"})
if r.status != 201:
    tap.bail("cannot create the registry the PUT cases need: " + show(r))
RID = r.json()["id"]
ITEM = "/registries/" + RID
BEFORE = stack.dump()

n = [0]


def valid_body(**over):
    n[0] += 1
    b = {"name": "bad-%d" % n[0], "server": "ghcr.io", "username": "user",
         "password": "pass"}
    b.update(over)
    return b


def post(body, **kw):
    kw.setdefault("key", KEY)
    kw.setdefault("ws", WS)
    return stack.request("POST", "/registries", body=body, **kw)


def put(body, **kw):
    kw.setdefault("key", KEY)
    return stack.request("PUT", ITEM, body=body, **kw)


def both(desc, body_post, body_put, status, code, field=ANY, **kw):
    """Send to POST /registries and to PUT /registries/{id}."""
    expect_error(post(body_post, **kw), status, code, "POST %s → %d %s" % (desc, status, code)
                 + ("" if field in (ANY, NOFIELD) else " field %s" % field), field)
    if body_put is not None:
        expect_error(put(body_put, **kw), status, code, "PUT %s → %d %s" % (desc, status, code)
                     + ("" if field in (ANY, NOFIELD) else " field %s" % field), field)


# ------------------------------------------------------- malformed JSON 400
tap.diag("malformed JSON → 400 invalid_json")
VB = b'"server": "ghcr.io", "username": "u", "password": "p"'
MALFORMED = [
    ("an unclosed object", b"{"),
    ("a missing value", b'{"name": }'),
    ("single quotes", b"{'name': 'x'}"),
    ("a trailing comma", b'{"name": "x", ' + VB + b",}"),
    ("two objects", b'{"name": "x", ' + VB + b'}{"name": "y"}'),
    ("trailing garbage", b'{"name": "x", ' + VB + b"} x"),
    ("a stray bracket", b'{"name": "x", ' + VB + b"}]"),
    ("a missing colon", b'{"name" "x", ' + VB + b"}"),
    ("a missing comma", b'{"name": "x" ' + VB + b"}"),
    ("an unquoted key", b'{name: "x", ' + VB + b"}"),
    ("an unterminated string", b'{"name": "x, ' + VB + b"}"),
    ("an invalid escape \\q", b'{"name": "a\\qb", ' + VB + b"}"),
    ("a short \\u escape", b'{"name": "\\u12", ' + VB + b"}"),
    ("tru", b'{"enabled": tru, "name": "x", ' + VB + b"}"),
    ("Python True", b'{"enabled": True, "name": "x", ' + VB + b"}"),
    ("NaN", b'{"enabled": NaN, "name": "x", ' + VB + b"}"),
    ("Infinity", b'{"enabled": Infinity, "name": "x", ' + VB + b"}"),
    ("-Infinity", b'{"enabled": -Infinity, "name": "x", ' + VB + b"}"),
    ("a hex number", b'{"enabled": 0x10, "name": "x", ' + VB + b"}"),
    ("a leading zero", b'{"enabled": 01, "name": "x", ' + VB + b"}"),
    ("a plus sign", b'{"enabled": +1, "name": "x", ' + VB + b"}"),
    ("a bare fraction", b'{"enabled": .5, "name": "x", ' + VB + b"}"),
    ("a trailing dot", b'{"enabled": 1., "name": "x", ' + VB + b"}"),
    ("a /* comment */", b'{/* c */"name": "x", ' + VB + b"}"),
    ("a // comment", b'{"name": "x", ' + VB + b"} // c"),
    ("a raw tab in a string", b'{"name": "a\tb", ' + VB + b"}"),
    ("a raw newline in a string", b'{"name": "a\nb", ' + VB + b"}"),
    ("a raw NUL byte in a string", b'{"name": "a\x00b", ' + VB + b"}"),
    ("a raw NUL byte after the object", b'{"name": "x", ' + VB + b"}\x00"),
    ("a raw NUL byte first", b'\x00{"name": "x", ' + VB + b"}"),
    ("an empty body", b""),
    ("blanks only", b"   \n\t "),
    ("a lone brace }", b"}"),
    ("unbalanced brackets x60000", b"[" * 60000),
]
for desc, raw in MALFORMED:
    both("with %s" % desc, raw, raw, 400, "invalid_json", NOFIELD)

# ----------------------------------------------------- not an object: 422
tap.diag("valid JSON that is not an object → 422 invalid_body")
for raw in (b"[]", b'[{"name": "x"}]', b'"a string"', b"123", b"null", b"true", b"1e400"):
    both("%s (not an object)" % raw.decode(), raw, raw, 422, "invalid_body")

# ------------------------------------------------------ invalid UTF-8: 400
tap.diag("invalid UTF-8 → 400 invalid_json")
BAD_UTF8 = [
    ("name", b"\xff\xfe", "bytes FF FE"),
    ("server", b"\xc0\xaf", "overlong '/' (C0 AF)"),
    ("username", b"\xed\xa0\x80", "an encoded surrogate (ED A0 80)"),
    ("password", b"\xe2\x82", "a truncated sequence (E2 82)"),
    ("email", b"a@\xf4\x90\x80\x80", "a code point above U+10FFFF"),
    ("name", b"a\xc0\x80b", "overlong NUL (C0 80)"),
    ("username", b"\xe0\x80\xaf", "3-byte overlong (E0 80 AF)"),
    ("password", b"\xf8\x88\x80\x80\x80", "a 5-byte sequence"),
    ("name", b"\x80", "a lone continuation byte"),
    ("password", b"secret\xa0", "Latin-1 NBSP"),
]
for field, bad, what in BAD_UTF8:
    pieces = {"name": b'"n-utf8"', "server": b'"ghcr.io"', "username": b'"u"',
              "password": b'"p"', "email": b'"a@example.com"'}
    pieces[field] = b'"' + bad + b'"'
    body = b"{" + b", ".join(b'"%s": %s' % (k.encode(), v) for k, v in pieces.items()) + b"}"
    both("with %s in %s" % (what, field), body, b'{"%s": "%s"}' % (field.encode(), bad),
         400, "invalid_json", NOFIELD)
both("with invalid UTF-8 in a key", b'{"na\xffme": "x", ' + VB + b"}", b'{"na\xffme": "x"}',
     400, "invalid_json", NOFIELD)

# ------------------------------------------------------- deep nesting: 400
tap.diag("nesting deeper than 16 → 400, 16 or less parses (then 422 wrong_type)")


def nested_arrays(levels):
    """An object (level 1) whose "name" holds levels-1 nested arrays."""
    inner = "[" * (levels - 1) + "]" * (levels - 1)
    return ('{"name": %s, "server": "ghcr.io", "username": "u", "password": "p"}' % inner).encode()


def nested_objects(levels):
    inner = '{"a": ' * (levels - 1) + "1" + "}" * (levels - 1)
    return ('{"name": %s, "server": "ghcr.io", "username": "u", "password": "p"}' % inner).encode()


for levels in (17, 100, 10000):
    both("with %d levels of arrays" % levels, nested_arrays(levels), nested_arrays(levels),
         400, "invalid_json", NOFIELD)
for levels in (100, 5000):      # 5000 levels still fit in 64 KiB
    both("with %d levels of objects" % levels, nested_objects(levels), nested_objects(levels),
         400, "invalid_json", NOFIELD)
deep_unknown = b'{"x": ' + b"[" * 10000 + b"]" * 10000 + b"}"
both("with 10000 levels under an unknown field", deep_unknown, deep_unknown, 400, "invalid_json", NOFIELD)
for levels in (2, 16):
    both("with %d levels (allowed; name is then an array)" % levels, nested_arrays(levels),
         nested_arrays(levels), 422, "wrong_type", "name")

# ------------------------------------------------ wrong types: 422 wrong_type
tap.diag("wrong JSON types → 422 wrong_type with the field")
WRONG_FOR_STRING = [1, 1.5, -3, True, False, [], ["x"], {}, {"a": "b"}]
for field in ("name", "server", "username", "password", "email"):
    for v in WRONG_FOR_STRING + ([] if field == "email" else [None]):
        both("%s = %s" % (field, short(v)), valid_body(**{field: v}), {field: v},
             422, "wrong_type", field)
for v in ("true", "false", 1, 0, None, [], {}, "", 1.0):
    both("enabled = %s" % short(v), valid_body(enabled=v), {"enabled": v}, 422, "wrong_type", "enabled")

tap.diag("huge numbers are valid JSON of the wrong type → 422 wrong_type")
HUGE = [b"1e400", b"-1e400", b"99999999999999999999", b"-99999999999999999999",
        b"1e-400", b"123456789012345678901234567890.5", b"18446744073709551616"]
for field in ("name", "server", "username", "password", "email", "enabled"):
    for num in HUGE:
        b = dict(valid_body())
        b[field] = "@@NUM@@"
        raw = dumps(b).replace(b'"@@NUM@@"', num)
        both("%s = %s" % (field, num.decode()), raw, b'{"%s": %s}' % (field.encode(), num),
             422, "wrong_type", field)

# ------------------------------------------- unknown and missing fields: 422
tap.diag("unknown fields → 422 unknown_field, missing → 422 missing_field")
for f in ("id", "workspace_id", "created_at", "updated_at", "Password", "passwd",
          "server_key", "key_id", "password_ct", "", "name ", "NAME", "extra", "na\u00efve"):
    v = {"nested": [1, 2]} if f == "extra" else "x"
    b = valid_body()
    b[f] = v
    # The app need not echo a key it finds odd (blanks, non-ASCII): it may
    # name it otherwise, but must name the field at fault.
    plain = f == "" or f.isalnum() or "_" in f and f.replace("_", "").isalnum()
    both("with unknown field %r" % f, b, {f: v}, 422, "unknown_field", f if plain and f.isascii() else ANY)
for f in ("name", "server", "username", "password"):
    b = valid_body()
    del b[f]
    expect_error(post(b), 422, "missing_field", "POST without %s → 422 missing_field field %s" % (f, f), f)
expect_error(post({}), 422, "missing_field", "POST {} → 422 missing_field")

# ---------------------------------------------------------- NUL: 422
tap.diag("\\u0000 in a string → 422 invalid_value")
for field in ("name", "server", "username", "password", "email"):
    for v in ("a\u0000b", "\u0000", "ab\u0000"):
        both("%s = %r" % (field, v), valid_body(**{field: v}), {field: v}, 422, "invalid_value", field)

# ------------------------------------- bad values and lengths: 422 + field
tap.diag("bad values → 422 invalid_value with the field")
SQLISH = ["' OR 1=1 --", "\"; DROP TABLE registries; --", "\\", "\\'", "%_", "%", "_",
          "Robert'); DROP TABLE registries;--"]
for field in ("server", "email"):
    for v in SQLISH:
        both("%s = %r" % (field, v), valid_body(**{field: v}), {field: v}, 422, "invalid_value", field)
BAD_VALUES = [
    ("name", ""), ("name", "   "), ("name", "\t"), ("name", "a\nb"), ("name", "a\u0001b"),
    ("name", "a\u007fb"), ("name", "a\u0085b"), ("name", "x" * 129), ("name", "é" * 129),
    ("name", "🐳" * 129),
    ("username", ""), ("username", "a\tb"), ("username", "a\rb"), ("username", "u" * 256),
    ("username", "ü" * 256),
    ("password", ""), ("password", "p" * 16385), ("password", "é" * 8192 + "x"),
    ("email", ""), ("email", "ab"), ("email", "no-at-sign"), ("email", "a@b@c.io"),
    ("email", "@example.com"), ("email", "me@"), ("email", "a b@c.io"), ("email", "a@b .io"),
    ("email", "a\t@b.io"), ("email", "x" * 243 + "@example.com"),
    ("server", ""), ("server", "s" * 600), ("server", "ghcr.io/extra/path"),
    ("server", "https://user:pw@ghcr.io"),
]
for field, v in BAD_VALUES:
    both("%s = %s" % (field, short(v, 30)), valid_body(**{field: v}), {field: v},
         422, "invalid_value", field)

# ------------------------------------------------------- Content-Type: 415
tap.diag("Content-Type other than application/json → 415")
for ct in ("text/plain", None, "application/jsonx", "multipart/form-data; boundary=x",
           "application/x-www-form-urlencoded", "", "json", "application/json-patch+json",
           "text/json", "application/javascript", "application/ json"):
    both("with Content-Type %r" % (ct,), dumps(valid_body()), dumps({"username": "x"}),
         415, "unsupported_media_type", NOFIELD, content_type=ct)

# ------------------------------------------------------------ size: 413
tap.diag("bodies larger than max_body_bytes (65536) → 413")
pad = lambda raw, size: raw[:-1] + b" " * (size - len(raw)) + b"}"   # noqa: E731
for size in (65537, 70000, 1024 * 1024):
    both("with a %d-byte body" % size, pad(dumps(valid_body()), size), pad(dumps({"username": "y"}), size),
         413, "payload_too_large", NOFIELD)
both("with a 70000-byte malformed body (413 before 400)", b"{" * 70000, b"{" * 70000,
     413, "payload_too_large", NOFIELD)
expect_error(post(b"{" * 70000, content_type="text/plain"), 415, "unsupported_media_type",
             "POST 70000 bytes of text/plain → 415 (Content-Type before size)")

tap.diag("order of checks around the body")
expect_error(post(b"{", key=VIEWER), 403, "forbidden", "viewer POST with a malformed body → 403 (role before body)")
expect_error(put(b"{", key=VIEWER), 403, "forbidden", "viewer PUT with a malformed body → 403 (role before body)")
expect_error(post(b"{", key="mbx_" + "Z" * 43), 401, "unauthorized", "unknown key + malformed body → 401")
expect_error(post(b"{", ws="nope"), 400, "bad_request", "bad X-Workspace-Id + malformed body → 400 field X-Workspace-Id",
             "X-Workspace-Id")


def raw_status(data, timeout=10.0):
    out = stack.raw(data, timeout=timeout)
    try:
        line = out.split(b"\r\n", 1)[0].decode("latin-1")
        return int(line.split()[1]), out
    except (IndexError, ValueError):
        return None, out


def raw_req(method, path, headers, body=b""):
    h = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" % (method, path)
    return h.encode() + b"".join(k + b": " + v + b"\r\n" for k, v in headers) + b"\r\n" + body


AUTH = [(b"Authorization", b"Bearer " + KEY.encode()), (b"X-Workspace-Id", WS.encode()),
        (b"Content-Type", b"application/json")]

big = pad(dumps(valid_body()), 70000)
chunked = b"%x\r\n" % len(big) + big + b"\r\n0\r\n\r\n"
st, out = raw_status(raw_req("POST", "/registries", AUTH + [(b"Transfer-Encoding", b"chunked")], chunked))
tap.is_(st, 413, "POST a 70000-byte body sent chunked (no Content-Length) → 413")
small = dumps(valid_body())
# Content-Length shorter than the body: lighttpd passes only the declared
# bytes, which are a truncated object, so the app must say 400; the rest is
# read as a second request, which lighttpd refuses on its own.
st, out = raw_status(raw_req("POST", "/registries", AUTH + [(b"Content-Length", b"5")], small))
tap.is_(st, 400, "POST with Content-Length 5 but a longer body → 400 (a truncated JSON)")
# Content-Length larger than what is sent: the server waits for the rest and
# gives up; it must never answer 2xx for a body it did not get.
st, out = raw_status(raw_req("POST", "/registries", AUTH + [(b"Content-Length", b"70000")], small),
                     timeout=3)
tap.ok(st is None or st >= 400, "POST with Content-Length 70000 but a short body → no 2xx (%s)" % st, out[:300])
st, out = raw_status(raw_req("POST", "/registries", AUTH + [(b"Content-Length", b"-1")], small))
tap.is_(st, 400, "POST with Content-Length -1 → 400 (lighttpd refuses it)")
st, out = raw_status(raw_req("POST", "/registries", AUTH + [(b"Content-Length", b"abc")], small))
tap.is_(st, 400, "POST with Content-Length abc → 400 (lighttpd refuses it)")

# ------------------------------------------------------ Authorization: 401
tap.diag("garbage Authorization → 401 unauthorized with WWW-Authenticate: Bearer")
GARBAGE_AUTH = [
    ("empty", ""), ("Bearer", "Bearer"), ("Bearer + one blank", "Bearer "),
    ("Bearer + two blanks", "Bearer  "), ("Basic xyz", "Basic xyz"),
    ("Basic with the key", "Basic " + KEY), ("Token with the key", "Token " + KEY),
    ("lowercase bearer + an unknown key", "bearer mbx_" + "q" * 43),
    ("an unknown well-formed key", "Bearer mbx_" + secrets.token_urlsafe(32)),
    ("the key plus one character", "Bearer " + KEY + "x"),
    ("the key minus one character", "Bearer " + KEY[:-1]),
    ("the key and a second word", "Bearer " + KEY + " extra"),
    ("the key's random part without mbx_", "Bearer " + KEY[4:]),
    ("mbx_ alone", "Bearer mbx_"),
    ("a 4000-character key", "Bearer mbx_" + "A" * 4000),
    ("SQL", "Bearer ' OR 1=1 --"),
    ("the key twice, comma-joined", "Bearer %s, Bearer %s" % (KEY, KEY)),
]
for desc, value in GARBAGE_AUTH:
    r = stack.request("GET", "/registries", ws=WS, headers={"Authorization": value})
    expect_error(r, 401, "unauthorized", "GET /registries with Authorization: %s → 401" % desc, NOFIELD)
    r = post(valid_body(), key=None, headers={"Authorization": value})
    expect_error(r, 401, "unauthorized", "POST /registries with Authorization: %s → 401" % desc, NOFIELD)
for desc, value in (("non-ASCII bytes", b"Bearer mbx_\xc3\xa9\xff\xfe" + b"A" * 40),
                    ("the key + a Latin-1 byte", b"Bearer " + KEY.encode() + b"\xe9")):
    st, out = raw_status(raw_req("GET", "/registries", [(b"Authorization", value),
                                                          (b"X-Workspace-Id", WS.encode())]))
    tap.ok(st == 401 and b"www-authenticate: bearer" in out.lower(),
           "GET /registries with Authorization of %s → 401 + WWW-Authenticate" % desc, out[:400])

# ---------------------------------------------------- X-Workspace-Id: 400
tap.diag("garbage X-Workspace-Id → 400 bad_request field X-Workspace-Id")
GARBAGE_WS = [
    ("empty", ""), ("not-a-uuid", "not-a-uuid"), ("braces", "{%s}" % WS),
    ("37 characters", WS + "0"), ("35 characters", WS[:-1]), ("SQL", "' OR 1=1 --"),
    ("no hyphens", WS.replace("-", "")), ("urn:uuid:", "urn:uuid:" + WS),
    ("hyphens moved", WS[:7] + "-" + WS[7] + WS[9:]), ("a g", "g" + WS[1:]),
    ("two ids", WS + ", " + WS), ("a 2000-character value", "a" * 2000),
]
for desc, value in GARBAGE_WS:
    r = stack.request("GET", "/registries", key=KEY, headers={"X-Workspace-Id": value})
    expect_error(r, 400, "bad_request", "GET /registries with X-Workspace-Id %s → 400" % desc, "X-Workspace-Id")
    r = post(valid_body(), ws=None, headers={"X-Workspace-Id": value})
    expect_error(r, 400, "bad_request", "POST /registries with X-Workspace-Id %s → 400" % desc, "X-Workspace-Id")
    # item route (README: a given X-Workspace-Id must be a UUID, else 400);
    # GET, so that a wrong 200 leaves the dump comparison meaningful
    r = stack.request("GET", ITEM, key=KEY, headers={"X-Workspace-Id": value})
    if value == "":
        # lighttpd does not pass a header with an empty value to FastCGI, so
        # the app cannot tell it from no header: an item route then works as
        # without X-Workspace-Id (200).  A 400 would be right too.
        tap.ok(r.status in (200, 400), "GET /registries/{id} with X-Workspace-Id empty → 200 "
               "(seen as absent) or 400 (%d)" % r.status, show(r))
        continue
    expect_error(r, 400, "bad_request", "GET /registries/{id} with X-Workspace-Id %s → 400" % desc,
                 "X-Workspace-Id")
st, out = raw_status(raw_req("GET", "/registries", [(b"Authorization", b"Bearer " + KEY.encode()),
                                                    (b"X-Workspace-Id", b"\xe9" * 36)]))
tap.ok(st == 400 and b"X-Workspace-Id" in out, "GET /registries with X-Workspace-Id of 36 Latin-1 bytes → 400",
       out[:400])

# -------------------------------------------------- bad query strings: 400
tap.diag("bad query strings on GET /registries → 400 bad_request")
# The field of an unknown parameter or an undecodable query string is not
# written down (the app says "query"): any field is accepted there.
BAD_QS = [
    ("limit=%EF%BC%91", "limit"), ("limit=%D9%A1", "limit"), ("limit=%2B1", "limit"),
    ("limit=1e2", "limit"), ("limit", "limit"), ("limit=4294967297", "limit"),
    ("cursor=' OR 1=1 --", "cursor"), ("server=%25", "server"), ("server=a%20b", "server"),
    ("limit=%zz", ANY), ("foo", ANY), ("server[]=ghcr.io", ANY), ("=1", ANY), ("%zz=1", ANY),
    ("a" * 5000 + "=1", ANY),
]
for q, field in BAD_QS:
    r = stack.request("GET", "/registries?" + q.replace(" ", "%20").replace("'", "%27"), key=KEY, ws=WS)
    expect_error(r, 400, "bad_request", "GET /registries?%s → 400" % short(q, 40)
                 + ("" if field is ANY else " field %s" % field), field)
# A %00 or invalid UTF-8 in the query string: lighttpd 1.4 refuses these itself
# (400, text/html) before the app sees them.  Should another web server pass
# them on, the app must give its own 400 with the field.
for q, field in (("limit=%00", "limit"), ("limit=1%00", "limit"), ("cursor=%ff", "cursor"),
                 ("cursor=%00", "cursor"), ("server=%ff%fe", "server"), ("server=ghcr.io%00", "server"),
                 ("enabled=%00", "enabled"), ("enabled=true%00", "enabled")):
    r = stack.request("GET", "/registries?" + q, key=KEY, ws=WS)
    if r.headers.get("content-type", "").startswith("application/json"):
        expect_error(r, 400, "bad_request", "GET /registries?%s → 400 (the app's) field %s" % (q, field), field)
    else:
        tap.is_(r.status, 400, "GET /registries?%s → 400 (the web server's)" % q)

# ----------------------------------------------------- methods and paths
tap.diag("unknown methods and paths")


for method, path, allow in (("PATCH", "/registries", {"GET", "POST"}),
                            ("PATCH", ITEM, {"GET", "PUT", "DELETE"}),
                            ("OPTIONS", "/registries", {"GET", "POST"}),
                            ("PROPFIND", "/registries", {"GET", "POST"})):
    r = stack.request(method, path, body=dumps({"username": "p"}), key=KEY, ws=WS)
    expect_error(r, 405, "method_not_allowed", "%s %s → 405" % (method, path.replace(RID, "{id}")), NOFIELD)
    tap.ok(allow <= allow_set(r), "%s %s → Allow holds %s" % (method, path.replace(RID, "{id}"), sorted(allow)),
           "Allow: %r" % r.headers.get("allow"))
# Methods lighttpd does not know (FOO) or handles itself (TRACE, CONNECT)
# never reach the app: lighttpd answers them, with 501 Not Implemented or
# 400/405.  What matters is that they are refused (4xx/5xx, never 2xx) and
# change nothing (the dump comparison below).  A method lighttpd hands to the
# app must get the app's 405.
for method in ("FOO", "TRACE", "CONNECT"):
    path = "127.0.0.1:1" if method == "CONNECT" else "/registries"
    st, out = raw_status(raw_req(method, path, [(b"Authorization", b"Bearer " + KEY.encode()),
                                                (b"X-Workspace-Id", WS.encode())]))
    tap.ok(st is not None and st in (400, 405, 501),
           "%s %s → refused (%s: 400, 405 or 501, by lighttpd or the app)" % (method, path, st), out[:400])
    if st == 405 and b"application/json" in out.lower():   # the app's own 405
        tap.like(out, r"(?i)\r\nallow: ", "%s → the app's 405 carries Allow" % method)
r = stack.request("HEAD", "/registries", key=KEY, ws=WS)
tap.ok(r.status in (200, 405) and r.body == b"",
       "HEAD /registries → 200 (as GET) or 405, and no body (%d)" % r.status, show(r))
if r.status == 405:
    tap.ok({"GET", "POST"} <= allow_set(r), "HEAD /registries 405 → Allow holds GET and POST",
           "Allow: %r" % r.headers.get("allow"))

# README: "unknown path 404 not_found" comes before anything else.  A trailing
# slash makes another path (/registries/ is not a route), so it is a 404 too.
for method, path in (("GET", "/registries/x/y"), ("GET", "/registries/not-a-uuid"),
                     ("GET", "/Registries"), ("GET", "/registries/"), ("POST", "/registries/"),
                     ("GET", ITEM + "/"), ("GET", ITEM + "x"), ("GET", ITEM + "/extra"),
                     ("GET", "/registries/" + RID.replace("-", "")),
                     ("GET", "/registries/%7B" + RID + "%7D"), ("GET", "/registries/%20" + RID),
                     ("PUT", "/registries/not-a-uuid"), ("DELETE", "/registries/not-a-uuid"),
                     ("DELETE", "/registries/" + RID[:-1]), ("GET", "/registries.json"),
                     ("GET", "/registriesx"), ("POST", "/"), ("GET", "/sandbox-images-nope")):
    body = dumps(valid_body()) if method in ("POST", "PUT") else None
    r = stack.request(method, path, body=body, key=KEY, ws=WS)
    expect_error(r, 404, "not_found", "%s %s → 404 not_found" % (method, path.replace(RID, "{id}")), NOFIELD)

# ------------------------------------------------------------- phase 1 end
AFTER_BAD = stack.dump()
tap.ok(AFTER_BAD == BEFORE, "the database is byte-identical after every refused request",
       "\n".join(l for l in __import__("difflib").unified_diff(
           BEFORE.splitlines(), AFTER_BAD.splitlines(), lineterm="", n=0))[:3000])
r = stack.request("GET", ITEM, key=KEY)
tap.ok(r.status == 200 and r.json()["name"] == "existing" and r.json()["username"] == "u",
       "the registry every bad PUT aimed at is unchanged", show(r))

# ------------------------------------------------- phase 2: valid but odd
tap.diag("dangerous-looking but valid values are stored byte-exact")
created = []


def create_ok(desc, body, content_type="application/json", raw=None, want=None):
    r = stack.request("POST", "/registries", body=raw if raw is not None else body,
                      key=KEY, ws=WS, content_type=content_type)
    j = jbody(r)
    want = want or {k: v for k, v in body.items() if k != "password"}
    probs = []
    if r.status != 201:
        probs.append("status %d, want 201" % r.status)
    else:
        created.append(j["id"])
        for k, v in want.items():
            if j.get(k) != v:
                probs.append("POST answered %s=%r, want %r" % (k, j.get(k), v))
        g = stack.request("GET", "/registries/" + j["id"], key=KEY)
        if g.status != 200 or jbody(g) != j:
            probs.append("GET answered differently: %s" % show(g))
    tap.ok(not probs, desc, "\n".join(probs) + "\n" + show(r))
    return j if r.status == 201 else None


for v in SQLISH:
    create_ok("POST name=%r username=%r password=%r → 201, read back identical" % (v, v, v),
              {"name": "n " + v, "username": v, "password": v, "server": "ghcr.io"})
# LIKE wildcards must not make names clash (a LIKE comparison would)
create_ok("POST name 'a%' → 201", {"name": "a%", "username": "u", "password": "p", "server": "ghcr.io"})
create_ok("POST name 'ab' beside 'a%' → 201 (no LIKE matching)",
          {"name": "ab", "username": "u", "password": "p", "server": "ghcr.io"})
create_ok("POST name 'abc' → 201", {"name": "abc", "username": "u", "password": "p", "server": "ghcr.io"})
create_ok("POST name 'a_c' beside 'abc' → 201",
          {"name": "a_c", "username": "u", "password": "p", "server": "ghcr.io"})
r = stack.request("GET", "/registries?limit=200", key=KEY, ws=WS)
names = [o["name"] for o in jbody(r)["data"]] if r.status == 200 else []
tap.ok(all(("n " + v) in names for v in SQLISH), "the list holds each SQL-looking name once, exactly", repr(names))

tap.diag("boundary lengths are accepted")
BOUNDARY = [
    ("name of 128 ASCII characters", {"name": "N" * 128}),
    ("name of 128 'é' (256 bytes)", {"name": "é" * 128}),
    ("name of 128 emoji (512 bytes)", {"name": "🐳" * 128}),
    ("username of 255 characters", {"username": "u" * 255}),
    ("username of 255 'ü'", {"username": "ü" * 255}),
    ("password of 16384 bytes", {"password": "p" * 16384}),
    ("password of 8192 'é' (16384 bytes)", {"password": "é" * 8192}),
    ("password of one byte", {"password": "x"}),
    ("password with newlines, quotes and backslashes", {"password": '{\n "k": "v\\"q\\\\"\n}\n'}),
    ("email of 254 characters", {"email": "e" * 242 + "@example.com"}),
    ("email of 3 characters", {"email": "a@b"}),
    ("server of 253 characters", {"server": ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])}),
    ("name and username of one character", {"name": "1", "username": "2"}),
]
for desc, over in BOUNDARY:
    body = valid_body(**over)
    create_ok("POST %s → 201, read back identical" % desc, body)
    fresh = create_ok("(a fresh registry for the PUT)", valid_body())
    if fresh:
        # another value of the same length (the POST above holds this name)
        pb = {k: (v[:-1] + "Z" if k == "name" else v) for k, v in over.items()}
        if "server" in pb:
            pb["password"] = "new"
        r = stack.request("PUT", "/registries/" + fresh["id"], body=pb, key=KEY)
        tap.ok(r.status == 200 and all(jbody(r).get(k) == v for k, v in pb.items() if k != "password"),
               "PUT %s → 200, stored" % desc, show(r))

tap.diag("escapes and duplicates")
create_ok("POST with \\u escapes (é, a surrogate pair for 🐳) → stored as the characters",
          None, raw=b'{"name": "caf\\u00e9 \\ud83d\\udc33", "server": "ghcr.io", "username": "\\"q\\"", '
                    b'"password": "\\u00e9"}',
          want={"name": "café 🐳", "username": '"q"'})
create_ok("POST with a duplicate key → the last one wins (README)", None,
          raw=b'{"name": "dup-first", "name": "dup-last", "server": "ghcr.io", "username": "u", "password": "p"}',
          want={"name": "dup-last"})
for ct in ("application/json; charset=utf-8", "application/json;charset=UTF-8", "Application/JSON"):
    create_ok("POST with Content-Type %r → 201" % ct, valid_body(), content_type=ct)
b = valid_body()
create_ok("POST with a body of exactly 65536 bytes → 201", b, raw=pad(dumps(b), 65536))
r = stack.request("GET", "/registries", key=KEY, ws=WS.upper())
tap.is_(r.status, 200, "GET /registries with the workspace id in upper case → 200")

for rid in created:
    r = stack.request("DELETE", "/registries/" + rid, key=KEY)
    if r.status != 204:
        tap.ok(False, "clean-up DELETE of %s → 204" % rid, show(r))
AFTER_ALL = stack.dump()
tap.ok(AFTER_ALL == BEFORE, "after the valid registries are deleted the database equals the first dump",
       "\n".join(__import__("difflib").unified_diff(
           BEFORE.splitlines(), AFTER_ALL.splitlines(), lineterm="", n=0))[:3000])

sanitizer_check(stack)
tap.done()
