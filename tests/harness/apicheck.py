"""Checks the integration scripts share: README.md's error shape and small helpers.

    from apicheck import ANY, NOFIELD, expect_error, jbody, show

    expect_error(r, 422, "invalid_value", "POST bad name → 422", field="name")
    expect_error(r, 405, "method_not_allowed", "PATCH → 405", NOFIELD)

error_problems() is the one definition of "an error as README.md documents
it": the status, an application/json Content-Type, a body that is exactly
{"error": {...}} holding a non-empty code and message and no key but code,
message and field, the field the caller names (or none, or any), a
"WWW-Authenticate: Bearer ..." on every 401 and an Allow header on every 405.
"""

import datetime
import json
import re
import urllib.parse

import tap

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
UUID_RE = re.compile(r"\A" + UUID + r"\Z")       # a whole canonical lowercase uuid
UUID_IN_RE = re.compile(UUID)                    # a uuid inside text (search, findall)
TS_RE = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")   # RFC 3339 UTC seconds

NOFIELD = object()      # "the error must not name a field"
ANY = object()          # "do not look at error.field"
TYPE_OR_VALUE = ("wrong_type", "invalid_value")   # README does not say which one


def show(r, n=700):
    """A response for a failure diagnostic: status, headers, the body's first n bytes."""
    return "status %s headers %r\nbody %r" % (r.status, r.headers, r.body[:n])


def jbody(r):
    """The parsed JSON body of r, or None when it is not JSON (or there is none)."""
    try:
        return json.loads(r.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None


def short(v, n=50):
    """repr(v) cut to n characters, for test descriptions."""
    s = repr(v)
    return s if len(s) <= n else s[:n] + "...(%d)" % len(s)


def error_problems(r, status, code, field=ANY):
    """What is wrong with r as the error README.md documents (a list).
    code may be a tuple of acceptable codes; field a name, NOFIELD or ANY."""
    errs = []
    if r.status != status:
        errs.append("status %r, want %r" % (r.status, status))
    ctype = r.headers.get("content-type", "")
    if not ctype.lower().startswith("application/json"):
        errs.append("Content-Type %r, want application/json" % ctype)
    j = jbody(r)
    if not isinstance(j, dict) or set(j) != {"error"} or not isinstance(j["error"], dict):
        errs.append("body is not exactly {\"error\": {...}}")
    else:
        e = j["error"]
        codes = code if isinstance(code, tuple) else (code,)
        if e.get("code") not in codes:
            errs.append("error.code %r, want %s" % (e.get("code"), " or ".join(map(repr, codes))))
        if not isinstance(e.get("message"), str) or not e["message"].strip():
            errs.append("error.message missing or empty")
        extra = set(e) - {"code", "message", "field"}
        if extra:
            errs.append("unexpected keys in error: %r" % sorted(extra))
        if field is NOFIELD:
            if "field" in e:
                errs.append("error.field %r present, want none" % e["field"])
        elif field is not ANY and e.get("field") != field:
            errs.append("error.field %r, want %r" % (e.get("field"), field))
    if status == 401 and not r.headers.get("www-authenticate", "").startswith("Bearer"):
        errs.append("WWW-Authenticate %r, want Bearer ..." % r.headers.get("www-authenticate"))
    if status == 405 and not r.headers.get("allow"):
        errs.append("no Allow header on a 405")
    return errs


def expect_error(r, status, code, desc, field=ANY):
    """One TAP point: r is that error (see error_problems)."""
    errs = error_problems(r, status, code, field)
    return tap.ok(not errs, desc, "\n".join(errs) + "\n" + show(r))


def parse_ts(s):
    """An RFC 3339 UTC timestamp (...Z, whole seconds) as an aware datetime."""
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def is_int(v):
    """v is a JSON integer (a bool is not one)."""
    return isinstance(v, int) and not isinstance(v, bool)


def dumps(obj):
    """obj as a JSON request body (bytes)."""
    return json.dumps(obj).encode()


def qs(**params):
    """A query string, "?" included."""
    return "?" + urllib.parse.urlencode(params)


def allow_set(r):
    """The methods of r's Allow header, upper case."""
    return {m.strip().upper() for m in r.headers.get("allow", "").split(",") if m.strip()}


def hexid(u):
    """A uuid as the 32 hex digits UNHEX() takes."""
    return u.replace("-", "")
