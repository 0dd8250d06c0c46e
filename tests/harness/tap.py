"""A tiny TAP producer for the integration scripts.

    import tap
    tap.ok(cond, "description", diag="shown only when it fails")
    tap.is_(got, want, "description")
    tap.like(text, r"regex", "description")
    tap.done()            # prints the plan "1..N", exits 1 if anything failed

Every line is flushed at once, so a test that hangs still shows how far it got.
An uncaught exception becomes a failing test point (with the traceback as
comments) followed by the plan, so automake's TAP driver reports a FAIL and not
a bare ERROR.  A script that ends without done() gets a failing point too.
"""

import atexit
import re
import sys
import traceback

_count = 0
_failed = 0
_planned = False


def _emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _clean_desc(desc):
    # A '#' starts a TAP directive (SKIP/TODO); a newline would end the line.
    desc = " ".join(str(desc).splitlines())
    return desc.replace("\\", "\\\\").replace("#", "\\#")


def diag(msg):
    """Print msg as TAP comment lines ("# ...")."""
    text = msg if isinstance(msg, str) else repr(msg)
    lines = text.splitlines() or [""]
    for line in lines:
        _emit("# " + line)


def ok(cond, desc, diag=None):  # pylint: disable=redefined-outer-name
    """One test point; returns bool(cond) so callers can chain."""
    global _count, _failed
    _count += 1
    passed = bool(cond)
    if not passed:
        _failed += 1
    _emit("%s %d - %s" % ("ok" if passed else "not ok", _count, _clean_desc(desc)))
    if not passed and diag is not None:
        globals()["diag"](diag)
    return passed


def is_(got, want, desc):
    """Passes when got == want; on failure shows both."""
    passed = got == want
    return ok(passed, desc, None if passed else "     got: %r\n    want: %r" % (got, want))


def isnt(got, unwanted, desc):
    passed = got != unwanted
    return ok(passed, desc, None if passed else "     got: %r\nexpected anything else" % (got,))


def like(text, regex, desc):
    """Passes when re.search(regex, text) matches (bytes are decoded as UTF-8)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "replace")
    if text is None:
        return ok(False, desc, "     got: None\n    want: match for %r" % (regex,))
    passed = re.search(regex, text, re.S) is not None
    return ok(passed, desc, None if passed else "     got: %r\n    want: match for %r" % (text, regex))


def unlike(text, regex, desc):
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "replace")
    passed = text is not None and re.search(regex, text, re.S) is None
    return ok(passed, desc, None if passed else "     got: %r\n    want: no match for %r" % (text, regex))


def skip(desc, reason):
    """A test point that was not run (counts as passed)."""
    global _count
    _count += 1
    _emit("ok %d - %s # SKIP %s" % (_count, _clean_desc(desc), _clean_desc(reason)))


def skip_all(reason):
    """Skip the whole script: prints "1..0 # SKIP reason" and exits 0."""
    global _planned
    _planned = True
    _emit("1..0 # SKIP %s" % _clean_desc(reason))
    sys.exit(0)


def failed():
    """How many test points failed so far."""
    return _failed


def _plan():
    global _planned
    if not _planned:
        _planned = True
        _emit("1..%d" % _count)


def done():
    """Prints the plan and exits: 1 if any test point failed, else 0."""
    _plan()
    sys.exit(1 if _failed else 0)


def bail(reason):
    """Stops the whole run: "Bail out! reason", exit 1."""
    global _planned
    _planned = True
    _emit("Bail out! %s" % " ".join(str(reason).splitlines()))
    sys.exit(1)


def _excepthook(etype, value, tb):
    name = getattr(etype, "__name__", str(etype))
    first = str(value).splitlines()[0] if str(value) else ""
    if _planned:  # after the plan (bail, done): comments only
        diag("exception after the plan: %s: %s" % (name, first))
        diag("".join(traceback.format_exception(etype, value, tb)).rstrip("\n"))
        return
    ok(False, "exception: %s%s" % (name, (": " + first) if first else ""))
    diag("".join(traceback.format_exception(etype, value, tb)).rstrip("\n"))
    _plan()
    sys.stdout.flush()


def _atexit():
    if not _planned:
        ok(False, "the script ended without calling tap.done()")
        _plan()


sys.excepthook = _excepthook
atexit.register(_atexit)
