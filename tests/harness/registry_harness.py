"""A real container registry for the pull tests: distribution 2.8 (Debian's
docker-registry), a Docker token server, a private CA, OCI images made without
Docker, and skopeo as the reference client.

    from registry_harness import CA, Registry, TokenServer, build_image, push

    with CA() as ca, Registry(auth="htpasswd", users={"alice": "pw"}, ca=ca) as reg:
        img = build_image(os.path.join(reg.tmp, "img"), layers=[("base", 1 << 20)])
        digest = push(img, reg, "team/app", "v1", "alice", "pw")
        # ... point the C client at reg.host with ca_file=reg.ca_file ...

    with CA() as ca, TokenServer({"alice": "pw"}, ca=ca) as ts, \\
            Registry(auth="token", token_server=ts, ca=ca) as reg:
        ...
        ts.requests        # what the client asked the token server

Every server binds 127.0.0.1 only, on a free port, with its state in a fresh
temporary directory (prefix modbox-reg-) removed on close.  Subprocesses run in
their own session (a Ctrl-C on the terminal reaches only Python) and get
SIGTERM if the Python process dies; a SIGTERM to the test becomes an exception
(while a context manager of this module is open), so the `with` blocks stop
everything; whatever is still open at exit is closed by atexit.  Every
external command has a timeout.

`python3 registry_harness.py` is a self-test: for each auth mode (htpasswd
over TLS, token over TLS, none over plain HTTP) it pushes an image, pulls it
back with skopeo, corrupts a blob and shows that the pull then fails.

Environment:
    MODBOX_KEEP_TMP=1   keep the temporary directories (paths are printed)
    MODBOX_REGISTRY_BIN the registry binary (default /usr/bin/docker-registry)
    MODBOX_SKOPEO       skopeo (default: from PATH)
"""

import atexit
import base64
import contextlib
import datetime
import gzip
import hashlib
import hmac
import http.client
import http.server
import io
import json
import os
import random
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import modbox_harness  # noqa: E402  pylint: disable=wrong-import-position
from modbox_harness import free_port, _child_setup, _tail  # noqa: E402

REGISTRY_BIN = os.environ.get("MODBOX_REGISTRY_BIN") or "/usr/bin/docker-registry"
SKOPEO = os.environ.get("MODBOX_SKOPEO") or shutil.which("skopeo") or "/usr/bin/skopeo"
UMOCI = shutil.which("umoci") or "/usr/bin/umoci"
HTPASSWD = shutil.which("htpasswd") or "/usr/bin/htpasswd"

START_TIMEOUT = 30.0     # registry up (GET /v2/ answers)
STOP_TIMEOUT = 10.0      # after SIGTERM, before SIGKILL
HTTP_TIMEOUT = 30.0      # one request of the Python client
SKOPEO_TIMEOUT = 600.0   # one skopeo command (100 MB pushes included)
TOOL_TIMEOUT = 60.0      # htpasswd, umoci, ...

MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
INDEX_TYPES = (MT_OCI_INDEX, MT_DOCKER_LIST)
MANIFEST_ACCEPT = ", ".join((MT_OCI_INDEX, MT_DOCKER_LIST, MT_OCI_MANIFEST, MT_DOCKER_MANIFEST))
REF_ANNOTATION = "org.opencontainers.image.ref.name"
FIXED_MTIME = 1700000000          # every tar entry, and the configs' "created"


class HarnessError(RuntimeError):
    pass


# ---------------------------------------------------------------- lifecycle
_OPEN = []               # objects with close(), closed at exit in reverse order
_OPEN_LOCK = threading.Lock()
_SIGTERM_INSTALLED = False


def _register(obj):
    with _OPEN_LOCK:
        _OPEN.append(obj)


def _unregister(obj):
    with _OPEN_LOCK:
        if obj in _OPEN:
            _OPEN.remove(obj)


@atexit.register
def _close_all():
    with _OPEN_LOCK:
        objs = list(reversed(_OPEN))
    for o in objs:
        try:
            o.close()
        except Exception:  # pylint: disable=broad-except
            pass


def _install_sigterm():
    """SIGTERM to the test raises KeyboardInterrupt, so `with` blocks and
    finally clauses stop the servers (as modbox_harness.Stack does)."""
    global _SIGTERM_INSTALLED  # pylint: disable=global-statement
    if _SIGTERM_INSTALLED:
        return
    try:
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            def handler(signum, frame):
                raise KeyboardInterrupt("SIGTERM")
            signal.signal(signal.SIGTERM, handler)
        _SIGTERM_INSTALLED = True
    except ValueError:  # not the main thread
        pass


def _preload_libc():
    # _child_setup() runs in the forked child; loading libc there while the
    # token server's threads run could deadlock on the loader lock.  Load it
    # once in the parent: the child inherits it.
    if modbox_harness._libc is None:  # pylint: disable=protected-access
        try:
            import ctypes  # pylint: disable=import-outside-toplevel
            modbox_harness._libc = ctypes.CDLL(None, use_errno=True)  # pylint: disable=protected-access
        except OSError:
            pass


def _popen(cmd, **kw):
    _preload_libc()
    return subprocess.Popen(cmd, preexec_fn=_child_setup(signal.SIGTERM), close_fds=True, **kw)


def _killpg(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except OSError:
        try:
            proc.send_signal(sig)
        except OSError:
            pass


def _stop_proc(proc, name, timeout=STOP_TIMEOUT):
    """SIGTERM to the process group, SIGKILL after timeout."""
    if proc is None or proc.poll() is not None:
        return
    _killpg(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        sys.stdout.write("# %s (pid %d) ignored SIGTERM for %ds: SIGKILL\n" % (
            name, proc.pid, timeout))
        _killpg(proc, signal.SIGKILL)
        proc.wait()


class Result:
    """What a command did: .rc, .stdout, .stderr (str), .elapsed (s), .ok."""

    def __init__(self, cmd, rc, stdout, stderr, elapsed):
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed

    @property
    def ok(self):
        return self.rc == 0

    def __repr__(self):
        return "<Result rc=%s %.3fs %r %r>" % (self.rc, self.elapsed, self.stdout[-300:],
                                               self.stderr[-600:])


def run(cmd, timeout=TOOL_TIMEOUT, env=None, check=True, input_bytes=None):
    """Runs cmd in its own session, bounded by timeout (the whole process
    group is killed then); returns a Result; check: raise HarnessError on a
    non-zero exit."""
    t0 = time.monotonic()
    proc = _popen(cmd, stdin=subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out, err = proc.communicate(input=input_bytes, timeout=timeout)
    except subprocess.TimeoutExpired:
        _killpg(proc, signal.SIGKILL)
        out, err = proc.communicate()
        raise HarnessError("timed out after %ds: %s\n%s" % (
            timeout, " ".join(cmd), err.decode("utf-8", "replace")[-2000:])) from None
    except BaseException:
        _killpg(proc, signal.SIGKILL)
        proc.wait()
        raise
    res = Result(cmd, proc.returncode, out.decode("utf-8", "replace"),
                 err.decode("utf-8", "replace"), time.monotonic() - t0)
    if check and res.rc != 0:
        raise HarnessError("exit %d: %s\n%s%s" % (res.rc, " ".join(cmd), res.stdout[-1000:],
                                                  res.stderr[-3000:]))
    return res


def _mkdtemp(prefix):
    return tempfile.mkdtemp(prefix="modbox-reg-%s-" % prefix)


def _rmtree(path):
    if path is None:
        return
    if os.environ.get("MODBOX_KEEP_TMP") == "1":
        sys.stdout.write("# MODBOX_KEEP_TMP=1: kept %s\n" % path)
        sys.stdout.flush()
        return
    shutil.rmtree(path, ignore_errors=True)


def _write_private(path, data, mode=0o600):
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def sha256_bytes(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# ---------------------------------------------------------------- CA
class CA:
    """A private CA in a directory, made with python3-cryptography.

    Files (PEM): ca.pem (the CA certificate: what clients trust), ca-key.pem,
    server.pem + server-key.pem (for 127.0.0.1 and localhost:
    subjectAltName IP:127.0.0.1, DNS:localhost).  issue() makes more.
    Attributes: dir, ca_file, cert_file, key_file.
    """

    def __init__(self, directory=None, cn="modbox test CA", sans=("127.0.0.1", "localhost")):
        # pylint: disable=import-outside-toplevel
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID
        self._x509, self._hashes, self._ser, self._rsa, self._oid = \
            x509, hashes, serialization, rsa, NameOID
        self.ours = directory is None
        self.dir = directory or _mkdtemp("ca")
        os.makedirs(self.dir, exist_ok=True)
        self.ca_file = os.path.join(self.dir, "ca.pem")
        self.ca_key_file = os.path.join(self.dir, "ca-key.pem")
        self._closed = False
        self._key = self._new_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        now = datetime.datetime.now(datetime.timezone.utc)
        ski = x509.SubjectKeyIdentifier.from_public_key(self._key.public_key())
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(self._key, hashes.SHA256()))
        _write_private(self.ca_key_file, self._key_pem(self._key))
        with open(self.ca_file, "wb") as f:
            f.write(self._cert.public_bytes(serialization.Encoding.PEM))
        self.cert_file, self.key_file = self.issue("server", sans=sans)
        _register(self)

    def _new_key(self):
        return self._rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def _key_pem(self, key):
        return key.private_bytes(self._ser.Encoding.PEM, self._ser.PrivateFormat.PKCS8,
                                 self._ser.NoEncryption())

    def issue(self, name, sans=("127.0.0.1", "localhost"), server=True, days=30,
              expired=False):
        """A key and a certificate signed by this CA: NAME.pem, NAME-key.pem.
        sans: IP addresses and DNS names; server=False makes a plain signing
        certificate (digitalSignature only, no SAN needed); expired=True one
        that ended yesterday.  Returns (cert_path, key_path)."""
        import ipaddress  # pylint: disable=import-outside-toplevel
        x509, hashes, ser = self._x509, self._hashes, self._ser
        key = self._new_key()
        now = datetime.datetime.now(datetime.timezone.utc)
        if expired:
            nb, na = now - datetime.timedelta(days=10), now - datetime.timedelta(days=1)
        else:
            nb, na = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=days)
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(self._oid.COMMON_NAME, name)]))
             .issuer_name(self._cert.subject)
             .public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(nb).not_valid_after(na)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 self._key.public_key()), critical=False))
        if server:
            alt = []
            for s in sans:
                try:
                    alt.append(x509.IPAddress(ipaddress.ip_address(s)))
                except ValueError:
                    alt.append(x509.DNSName(s))
            b = (b.add_extension(x509.SubjectAlternativeName(alt), critical=False)
                 .add_extension(x509.KeyUsage(
                     digital_signature=True, content_commitment=False, key_encipherment=True,
                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                 .add_extension(x509.ExtendedKeyUsage(
                     [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
        else:
            b = b.add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        cert = b.sign(self._key, hashes.SHA256())
        cert_path = os.path.join(self.dir, name + ".pem")
        key_path = os.path.join(self.dir, name + "-key.pem")
        _write_private(key_path, self._key_pem(key))
        with open(cert_path, "wb") as f:
            f.write(cert.public_bytes(ser.Encoding.PEM))
        return cert_path, key_path

    def cert_dir(self, extra_ca_files=()):
        """A directory holding ca.crt (and more CAs), for skopeo --*-cert-dir."""
        d = os.path.join(self.dir, "certs.d-%d" % len(extra_ca_files))
        if not os.path.isdir(d):
            os.makedirs(d)
            shutil.copyfile(self.ca_file, os.path.join(d, "ca.crt"))
            for i, f in enumerate(extra_ca_files):
                shutil.copyfile(f, os.path.join(d, "extra-%d.crt" % i))
        return d

    def close(self):
        if self._closed:
            return
        self._closed = True
        _unregister(self)
        if self.ours:
            _rmtree(self.dir)

    def __enter__(self):
        _install_sigterm()
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _load_cert_der(pem_path):
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    with open(pem_path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read()).public_bytes(serialization.Encoding.DER)


def _load_key(pem_path):
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    with open(pem_path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def libtrust_kid(public_key):
    """The key ID distribution's libtrust gives a public key (what a JWT "kid"
    must be when the header has no x5c): base32 of the first 240 bits of the
    SHA-256 of the DER SubjectPublicKeyInfo, in 12 groups of 4 joined by ':'."""
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    s = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii").rstrip("=")
    return ":".join(s[i:i + 4] for i in range(0, len(s), 4))


def make_jwt(private_key, header, claims):
    """A compact RS256 JWS of claims with header (alg/typ added)."""
    from cryptography.hazmat.primitives import hashes  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import padding  # pylint: disable=import-outside-toplevel
    h = dict(header)
    h.setdefault("typ", "JWT")
    h["alg"] = "RS256"
    signing_input = (_b64url(json.dumps(h, separators=(",", ":")).encode()) + "." +
                     _b64url(json.dumps(claims, separators=(",", ":")).encode()))
    sig = private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + _b64url(sig)


def decode_jwt(token):
    """(header, claims) of a JWT, unverified: for tests that look inside."""
    parts = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (json.loads(base64.urlsafe_b64decode(pad(parts[0]))),
            json.loads(base64.urlsafe_b64decode(pad(parts[1]))))


# ---------------------------------------------------------------- token server
class _ThreadingTLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    ssl_context = None

    def finish_request(self, request, client_address):
        # TLS handshake here, in the connection's own thread, with a timeout:
        # a client that never finishes its handshake blocks nobody else.
        request.settimeout(HTTP_TIMEOUT)
        if self.ssl_context is not None:
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
        try:
            super().finish_request(request, client_address)
        except (OSError, ssl.SSLError):
            pass

    def handle_error(self, request, client_address):
        pass  # a client that went away: not the harness's business


class TokenServer:
    """A Docker token server (https://distribution.github.io/distribution/spec/auth/token/).

    GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=...] with HTTP
    Basic credentials checked against users {name: password}: 200
    {"token", "access_token", "expires_in", "issued_at"}; bad or missing
    credentials: 401.  The JWT is RS256, signed by a key whose certificate
    (issued by ca, file signing_cert_file) is the registry's rootcertbundle;
    its header names the key by "x5c" (header="x5c", the default), libtrust
    "kid" (header="kid") or both ("both").

    allow: {user: [repo, ...]} (pull and push on each; fnmatch patterns) or
    {user: {repo: ["pull"], ...}}; a user not in allow may do everything.
    anonymous: repos anyone may pull without credentials (default none: no
    credentials is a 401).  The token grants the requested actions the user
    is allowed, and nothing else (possibly an empty access list, as the spec
    says).

    Knobs for failure tests (change them at any time): force_status (answer
    that status to every request), delay (seconds before answering),
    expires_in, bad_signature (sign with a key the registry does not trust),
    issuer/service (the claims; the registry checks them).

    requests: a list of dicts (method, path, query, scopes, service,
    authorization: bool, scheme, user, status, time), never the password;
    count: how many requests.
    """

    def __init__(self, users, ca=None, allow=None, anonymous=(), service="modbox-test-registry",
                 issuer="modbox-test-token-issuer", expires_in=300, header="x5c", tls=True,
                 port=None):
        self.users = dict(users or {})
        self.allow = allow or {}
        self.anonymous = list(anonymous)
        self.service = service
        self.issuer = issuer
        self.expires_in = expires_in
        self.header_mode = header
        self.tls = tls
        self.force_status = None
        self.delay = 0.0
        self.bad_signature = False
        self._lock = threading.Lock()
        self._requests = []
        self.tokens_issued = 0
        self.tmp = _mkdtemp("token")
        self._own_ca = ca is None
        self.ca = ca or CA(os.path.join(self.tmp, "ca"))
        self.ca_file = self.ca.ca_file
        self.signing_cert_file, self.signing_key_file = self.ca.issue(
            "token-signer-%s" % secrets.token_hex(4), server=False)
        self._signing_key = _load_key(self.signing_key_file)
        self._signing_cert_der = _load_cert_der(self.signing_cert_file)
        self.kid = libtrust_kid(self._signing_key.public_key())
        self._rogue_key = None
        self.port = port or free_port()
        self.host = "127.0.0.1:%d" % self.port
        self.url = "%s://%s" % ("https" if tls else "http", self.host)
        self.realm = self.url + "/token"
        self._server = None
        self._thread = None
        self._closed = False
        _register(self)

    # -- lifecycle
    def __enter__(self):
        _install_sigterm()
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self):
        if self._server is not None:
            return
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                owner._handle(self)  # pylint: disable=protected-access

            def do_POST(self):  # noqa: N802  (OAuth2 form flow: not offered)
                owner._reply(self, 405, {"errors": [{"code": "UNSUPPORTED"}]}, {})

        srv = _ThreadingTLSServer(("127.0.0.1", self.port), Handler)
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.ca.cert_file, self.ca.key_file)
            srv.ssl_context = ctx
        self._server = srv
        self._thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="token-server-%d" % self.port, daemon=True)
        self._thread.start()

    def stop(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(STOP_TIMEOUT)
        self._server = None
        self._thread = None

    def close(self):
        if self._closed:
            return
        self._closed = True
        _unregister(self)
        try:
            self.stop()
        finally:
            if self._own_ca:
                self.ca.close()
            _rmtree(self.tmp)

    # -- inspection
    @property
    def requests(self):
        with self._lock:
            return [dict(r) for r in self._requests]

    @property
    def count(self):
        with self._lock:
            return len(self._requests)

    def reset(self):
        with self._lock:
            self._requests.clear()

    # -- the protocol
    def _allowed_actions(self, user, repo):
        import fnmatch  # pylint: disable=import-outside-toplevel
        if user is None:
            return {"pull"} if any(fnmatch.fnmatchcase(repo, p) for p in self.anonymous) else set()
        if user not in self.allow:
            return {"pull", "push", "delete", "*"}
        rules = self.allow[user]
        if isinstance(rules, dict):
            out = set()
            for pat, acts in rules.items():
                if fnmatch.fnmatchcase(repo, pat):
                    out |= set(acts)
            return out
        return {"pull", "push"} if any(fnmatch.fnmatchcase(repo, p) for p in rules) else set()

    @staticmethod
    def _parse_scope(scope):
        # repository:NAME:ACTIONS, where NAME may hold a port (host:5000/x)
        try:
            typ, rest = scope.split(":", 1)
            name, actions = rest.rsplit(":", 1)
        except ValueError:
            return None
        return typ, name, [a for a in actions.split(",") if a]

    def _reply(self, h, status, body, headers):
        data = json.dumps(body).encode("utf-8")
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)
        except (OSError, ssl.SSLError):
            pass

    def _handle(self, h):
        u = urllib.parse.urlsplit(h.path)
        query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        authz = h.headers.get("Authorization")
        rec = {"time": time.time(), "method": h.command, "path": u.path, "query": query,
               "service": (query.get("service") or [None])[0], "scopes": query.get("scope", []),
               "authorization": authz is not None, "scheme": None, "user": None, "status": None}
        user, ok = None, False
        if authz:
            scheme, _, cred = authz.partition(" ")
            rec["scheme"] = scheme
            if scheme.lower() == "basic":
                try:
                    name, _, pw = base64.b64decode(cred.strip(), validate=True).decode(
                        "utf-8").partition(":")
                except (ValueError, UnicodeDecodeError):
                    name, pw = None, None
                if name is not None:
                    user = name
                    rec["user"] = name
                    want = self.users.get(name)
                    ok = want is not None and hmac.compare_digest(
                        want.encode("utf-8"), pw.encode("utf-8"))
                del pw
        if self.delay:
            time.sleep(self.delay)
        status, body, headers = self._answer(u.path, query, authz, user, ok)
        rec["status"] = status
        with self._lock:
            self._requests.append(rec)
        self._reply(h, status, body, headers)

    def _answer(self, path, query, authz, user, ok):
        challenge = {"WWW-Authenticate": 'Basic realm="modbox test token server"'}
        if self.force_status is not None:
            return self.force_status, {"errors": [{"code": "FORCED", "message": "forced"}]}, {}
        if path != "/token":
            return 404, {"errors": [{"code": "NOT_FOUND", "message": "no such path"}]}, {}
        service = (query.get("service") or [None])[0]
        if service is not None and service != self.service:
            return 400, {"errors": [{"code": "INVALID_REQUEST",
                                     "message": "unknown service"}]}, {}
        if authz is not None and not ok:
            return 401, {"errors": [{"code": "UNAUTHORIZED",
                                     "message": "invalid credentials"}]}, challenge
        if authz is None and not self.anonymous:
            return 401, {"errors": [{"code": "UNAUTHORIZED",
                                     "message": "credentials required"}]}, challenge
        access = []
        for scope in query.get("scope", []):
            for one in scope.split(" "):
                p = self._parse_scope(one)
                if p is None or p[0] != "repository":
                    continue
                allowed = self._allowed_actions(user if ok else None, p[1])
                acts = [a for a in p[2] if a in allowed or "*" in allowed]
                access.append({"type": "repository", "name": p[1], "actions": acts})
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": user or "", "aud": service or self.service,
                  "exp": now + int(self.expires_in), "nbf": now - 1, "iat": now,
                  "jti": secrets.token_hex(16), "access": access}
        key = self._signing_key
        if self.bad_signature:
            if self._rogue_key is None:
                from cryptography.hazmat.primitives.asymmetric import rsa  # pylint: disable=import-outside-toplevel
                self._rogue_key = rsa.generate_private_key(public_exponent=65537,
                                                           key_size=2048)
            key = self._rogue_key
        header = {}
        if self.header_mode in ("x5c", "both"):
            header["x5c"] = [base64.b64encode(self._signing_cert_der).decode("ascii")]
        if self.header_mode in ("kid", "both"):
            header["kid"] = self.kid
        token = make_jwt(key, header, claims)
        with self._lock:
            self.tokens_issued += 1
        issued = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        return 200, {"token": token, "access_token": token, "expires_in": int(self.expires_in),
                     "issued_at": issued.strftime("%Y-%m-%dT%H:%M:%SZ")}, {}


# ---------------------------------------------------------------- registry
class Registry:
    """Debian's docker-registry (distribution 2.8) on 127.0.0.1:PORT.

    auth: "htpasswd" (users {name: password}, bcrypt), "token" (token_server
    a TokenServer: realm, service, issuer and its signing certificate as the
    root cert bundle) or "none".  tls: HTTPS with a certificate from ca (a CA
    is made when none is given) or plain HTTP.  Storage is the filesystem,
    in the temporary directory; delete is enabled; no blob descriptor cache
    (so tests that change the storage behind its back are seen at once).

    Attributes: host ("127.0.0.1:PORT"), url, ca_file (None without TLS),
    storage (the root directory), tmp, config_file, log_file.
    Methods: stop(), start() (same port and storage), logs(),
    blob_path(digest), corrupt_blob(digest), delete_blob(digest),
    remove_repo(repo), request(...), manifest_digest(repo, ref).
    """

    def __init__(self, auth="htpasswd", users=None, tls=True, ca=None, token_server=None,
                 port=None, realm="modbox-test-registry", extra_config=None):
        if auth not in ("htpasswd", "token", "none"):
            raise ValueError("auth must be htpasswd, token or none")
        if auth == "token" and token_server is None:
            raise ValueError("auth='token' needs a token_server")
        self.auth = auth
        self.users = dict(users or {})
        self.tls = tls
        self.token_server = token_server
        self.realm = realm
        self.extra_config = extra_config or {}
        self.tmp = _mkdtemp("registry")
        self.storage = os.path.join(self.tmp, "storage")
        os.makedirs(self.storage)
        self.config_file = os.path.join(self.tmp, "config.yml")
        self.log_file = os.path.join(self.tmp, "registry.log")
        self.htpasswd_file = os.path.join(self.tmp, "htpasswd")
        self._own_ca = tls and ca is None
        self.ca = (ca or CA(os.path.join(self.tmp, "ca"))) if tls else None
        self.ca_file = self.ca.ca_file if tls else None
        self._fixed_port = port is not None
        self.port = port or free_port()
        self._proc = None
        self._closed = False
        self.timings = {}
        _register(self)

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    @property
    def url(self):
        return "%s://%s" % ("https" if self.tls else "http", self.host)

    # -- lifecycle
    def __enter__(self):
        _install_sigterm()
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, etype, value, tb):
        if etype is not None and not self._closed:
            sys.stdout.write("# the test raised %s; last lines of the registry log:\n%s\n" % (
                etype.__name__, "\n".join("#   " + l for l in _tail(self.log_file, 15).splitlines())))
            sys.stdout.flush()
        self.close()
        return False

    def _write_htpasswd(self):
        lines = []
        for name, pw in sorted(self.users.items()):
            r = run([HTPASSWD, "-Bbn", "-C", "5", name, pw])
            lines.append(r.stdout.strip())
        _write_private(self.htpasswd_file, "\n".join(lines) + "\n")

    def _config(self):
        cfg = {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text",
                    "fields": {"service": "registry"}},
            "storage": {"filesystem": {"rootdirectory": self.storage},
                        "delete": {"enabled": True},
                        "maintenance": {"uploadpurging": {"enabled": False}}},
            "http": {"addr": self.host, "secret": secrets.token_hex(16),
                     "headers": {"X-Content-Type-Options": ["nosniff"]}},
            "health": {"storagedriver": {"enabled": False}},
        }
        if self.tls:
            cfg["http"]["tls"] = {"certificate": self.ca.cert_file, "key": self.ca.key_file}
        if self.auth == "htpasswd":
            cfg["auth"] = {"htpasswd": {"realm": self.realm, "path": self.htpasswd_file}}
        elif self.auth == "token":
            ts = self.token_server
            cfg["auth"] = {"token": {"realm": ts.realm, "service": ts.service,
                                     "issuer": ts.issuer,
                                     "rootcertbundle": ts.signing_cert_file}}
        for k, v in self.extra_config.items():
            if isinstance(v, dict) and isinstance(cfg.get(k), dict):
                cfg[k].update(v)
            else:
                cfg[k] = v
        return cfg

    def start(self):
        """Starts the registry (again after stop(): same port, same storage)
        and waits until GET /v2/ answers."""
        if self._proc is not None and self._proc.poll() is None:
            return
        t0 = time.monotonic()
        if self.auth == "htpasswd" and not os.path.exists(self.htpasswd_file):
            self._write_htpasswd()
        for attempt in range(3):
            if attempt > 0 and not self._fixed_port:
                self.port = free_port()
            # JSON is YAML: no quoting rules to get wrong.
            with open(self.config_file, "w") as f:
                json.dump(self._config(), f, indent=2)
            with open(self.log_file, "ab") as log:
                log.write(("--- start %s on %s\n" % (time.strftime("%H:%M:%S"), self.host)).encode())
                log.flush()
                self._proc = _popen([REGISTRY_BIN, "serve", self.config_file],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    cwd=self.tmp)
            if self._wait_up():
                self.timings.setdefault("start", []).append(time.monotonic() - t0)
                return
            _stop_proc(self._proc, "docker-registry")
            if "address already in use" not in _tail(self.log_file, 10).lower():
                break
        raise HarnessError("docker-registry did not start on %s; %s:\n%s" % (
            self.host, self.log_file, _tail(self.log_file)))

    def _wait_up(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                st = self._raw("GET", "/v2/", timeout=2)[0]
                if st in (200, 401):
                    return True
            except (OSError, ssl.SSLError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        return False

    def stop(self):
        """SIGTERM and wait (SIGKILL after 10 s).  start() brings it back."""
        _stop_proc(self._proc, "docker-registry")
        self._proc = None

    def running(self):
        return self._proc is not None and self._proc.poll() is None

    def close(self):
        if self._closed:
            return
        self._closed = True
        _unregister(self)
        try:
            self.stop()
        finally:
            if self._own_ca:
                self.ca.close()
            _rmtree(self.tmp)

    def logs(self):
        """The registry's log (stdout and stderr, all starts) as text."""
        try:
            with open(self.log_file, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # -- storage
    def blob_path(self, digest):
        """The file holding a blob: docker/registry/v2/blobs/sha256/XX/HEX/data."""
        hexd = digest.split(":", 1)[1] if ":" in digest else digest
        return os.path.join(self.storage, "docker", "registry", "v2", "blobs", "sha256",
                            hexd[:2], hexd, "data")

    def corrupt_blob(self, digest, nbytes=16, offset=None):
        """Flips nbytes bytes in place (XOR 0xff) in the middle of the blob (or
        at offset): same size, different content.  Returns the offset."""
        path = self.blob_path(digest)
        size = os.path.getsize(path)
        if size == 0:
            raise HarnessError("blob %s is empty" % digest)
        nbytes = min(nbytes, size)
        if offset is None:
            offset = max(0, size // 2 - nbytes // 2)
        with open(path, "r+b") as f:
            f.seek(offset)
            data = f.read(nbytes)
            f.seek(offset)
            f.write(bytes(b ^ 0xFF for b in data))
        return offset

    def tamper_manifest(self, digest):
        """Changes one hex digit of the last layer digest inside the stored
        manifest (or of the last child of an index): still valid JSON of the
        same size, so the registry serves it with the original
        Docker-Content-Digest, but it no longer hashes to it.  (flip bytes
        with corrupt_blob() instead and the registry answers 500: it parses
        manifests before serving them.)"""
        path = self.blob_path(digest)
        with open(path, "rb") as f:
            data = f.read()
        doc = json.loads(data)
        items = doc.get("layers") or doc.get("manifests")
        hexd = items[-1]["digest"].split(":", 1)[1].encode()
        i = data.rindex(hexd)
        c = b"0" if data[i:i + 1] != b"0" else b"1"
        with open(path, "r+b") as f:
            f.seek(i)
            f.write(c)

    def delete_blob(self, digest):
        """Removes the blob's data from the storage (the registry then answers
        404 BLOB_UNKNOWN for it)."""
        os.remove(self.blob_path(digest))

    def remove_repo(self, repo):
        """Removes a repository from the storage behind the registry's back."""
        shutil.rmtree(os.path.join(self.storage, "docker", "registry", "v2", "repositories",
                                   repo))

    # -- HTTP
    def _ssl_context(self):
        if not self.tls:
            return None
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if self.token_server is not None and self.token_server.ca_file != self.ca_file:
            ctx.load_verify_locations(self.token_server.ca_file)
        return ctx

    def _raw(self, method, path, headers=None, timeout=HTTP_TIMEOUT, body=None):
        if self.tls:
            c = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                            context=self._ssl_context())
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            body = r.read() if method != "HEAD" else b""
            return r.status, {k.lower(): v for k, v in r.getheaders()}, body
        finally:
            c.close()

    def client(self, user=None, password=None):
        return RegistryClient(self, user, password)

    def request(self, method, path, user=None, password=None, headers=None):
        """One request with the auth dance done (Basic, or a Bearer token for
        the repository in the path): (status, headers (lowercase), body)."""
        return self.client(user, password).request(method, path, headers=headers)

    def manifest_digest(self, repo, ref, user=None, password=None):
        """The Docker-Content-Digest of HEAD /v2/REPO/manifests/REF (None on 404)."""
        st, hdrs, _ = self.request("HEAD", "/v2/%s/manifests/%s" % (repo, ref), user, password,
                                   headers={"Accept": MANIFEST_ACCEPT})
        if st == 404:
            return None
        if st != 200:
            raise HarnessError("HEAD manifest %s:%s: %d" % (repo, ref, st))
        return hdrs.get("docker-content-digest")

    def cert_dir(self):
        """A directory for skopeo --*-cert-dir (None without TLS)."""
        if not self.tls:
            return None
        extra = ()
        if self.token_server is not None and self.token_server.ca_file != self.ca_file:
            extra = (self.token_server.ca_file,)
        return self.ca.cert_dir(extra)


def parse_www_authenticate(value):
    """'Bearer realm="x",service="y"' -> ("bearer", {"realm": "x", ...})."""
    scheme, _, rest = value.strip().partition(" ")
    params = {}
    for m in re.finditer(r'([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))', rest):
        params[m.group(1).lower()] = m.group(2) if m.group(2) is not None else m.group(3)
    return scheme.lower(), params


class RegistryClient:
    """A small Python client for a Registry: Basic or Bearer (token cached
    per scope), used by the harness for digests and by tests for checks.
    Not the client under test."""

    def __init__(self, registry, user=None, password=None):
        self.reg = registry
        self.user = user
        self.password = password
        self._tokens = {}
        self._auth = {}          # scope ("" for Basic) -> Authorization value
        self._scheme = None

    def _basic(self):
        return "Basic " + base64.b64encode(
            ("%s:%s" % (self.user, self.password)).encode("utf-8")).decode("ascii")

    def token(self, realm, service, scope):
        key = (realm, service, scope)
        if key in self._tokens:
            return self._tokens[key]
        q = {"service": service}
        if scope:
            q["scope"] = scope
        u = urllib.parse.urlsplit(realm)
        path = (u.path or "/") + "?" + urllib.parse.urlencode(q)
        if u.query:
            path += "&" + u.query
        if u.scheme == "https":
            c = http.client.HTTPSConnection(u.hostname, u.port or 443, timeout=HTTP_TIMEOUT,
                                            context=self.reg._ssl_context() or  # pylint: disable=protected-access
                                            ssl.create_default_context(
                                                cafile=self.reg.token_server.ca_file))
        else:
            c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=HTTP_TIMEOUT)
        try:
            hdrs = {"Authorization": self._basic()} if self.user is not None else {}
            c.request("GET", path, headers=hdrs)
            r = c.getresponse()
            body = r.read()
        finally:
            c.close()
        if r.status != 200:
            return None
        d = json.loads(body)
        tok = d.get("token") or d.get("access_token")
        self._tokens[key] = tok
        return tok

    def request(self, method, path, headers=None, body=None):
        """(status, headers (lowercase), body bytes).  body: bytes or a
        seekable file (sent again from the start after a 401 challenge)."""
        headers = dict(headers or {})
        m = re.match(r"^/v2/(.+?)/(manifests|blobs|tags)/", path)
        scope = "repository:%s:%s" % (m.group(1), "pull" if method in ("GET", "HEAD")
                                      else "pull,push") if m else ""
        known = self._auth.get(scope) if self._scheme == "bearer" else self._auth.get("")
        if known and "Authorization" not in headers:
            headers["Authorization"] = known
        st, hdrs, rbody = self.reg._raw(method, path, headers, body=body)  # pylint: disable=protected-access
        if st != 401 or "www-authenticate" not in hdrs:
            return st, hdrs, rbody
        scheme, params = parse_www_authenticate(hdrs["www-authenticate"])
        self._scheme = scheme
        if scheme == "basic":
            if self.user is None:
                return st, hdrs, rbody
            headers["Authorization"] = self._auth[""] = self._basic()
        elif scheme == "bearer":
            self._tokens.pop((params.get("realm"), params.get("service"),
                              params.get("scope", scope)), None)
            tok = self.token(params.get("realm"), params.get("service"),
                             params.get("scope", scope))
            if tok is None:
                return st, hdrs, rbody
            headers["Authorization"] = self._auth[scope] = "Bearer " + tok
        else:
            return st, hdrs, rbody
        if hasattr(body, "seek"):
            body.seek(0)
        return self.reg._raw(method, path, headers, body=body)  # pylint: disable=protected-access

    def _upload_blob(self, repo, digest, path):
        st = self.request("HEAD", "/v2/%s/blobs/%s" % (repo, digest))[0]
        if st == 200:
            return False
        st, hdrs, body = self.request("POST", "/v2/%s/blobs/uploads/" % repo,
                                      headers={"Content-Length": "0"}, body=b"")
        if st != 202 or "location" not in hdrs:
            raise HarnessError("blob upload start %s: %d %r" % (repo, st, body[:300]))
        loc = urllib.parse.urlsplit(hdrs["location"])
        target = loc.path + "?" + (loc.query + "&" if loc.query else "") + \
            urllib.parse.urlencode({"digest": digest})
        with open(path, "rb") as f:
            st, hdrs, body = self.request("PUT", target, body=f, headers={
                "Content-Type": "application/octet-stream",
                "Content-Length": str(os.path.getsize(path))})
        if st != 201:
            raise HarnessError("blob upload %s %s: %d %r" % (repo, digest, st, body[:300]))
        return True

    def push_layout(self, layout, ref, repo, tag):
        """Pushes what index.json names ref, as it is (any media type, digests
        unchanged): blobs by monolithic upload, child manifests by digest, the
        top manifest by tag.  Returns the digest the registry reports."""
        desc = layout_ref(layout, ref)
        if desc is None:
            raise HarnessError("no %r in %s/index.json" % (ref, layout))
        bdir = os.path.join(layout, "blobs", "sha256")

        def put_manifest(d, reference):
            path = os.path.join(bdir, d["digest"].split(":", 1)[1])
            with open(path, "rb") as f:
                data = f.read()
            doc = json.loads(data)
            if d["mediaType"] in INDEX_TYPES:
                for child in doc.get("manifests", []):
                    put_manifest(child, child["digest"])
            else:
                for b in [doc["config"]] + doc.get("layers", []):
                    self._upload_blob(repo, b["digest"],
                                      os.path.join(bdir, b["digest"].split(":", 1)[1]))
            st, hdrs, body = self.request("PUT", "/v2/%s/manifests/%s" % (repo, reference),
                                          body=data, headers={"Content-Type": d["mediaType"]})
            if st != 201:
                raise HarnessError("manifest put %s:%s: %d %r" % (repo, reference, st,
                                                                   body[:500]))
            return hdrs.get("docker-content-digest")

        return put_manifest(desc, tag)


# ---------------------------------------------------------------- images
class Layout(str):
    """The path of an OCI image layout, with what build_image()/build_index()
    made: ref, manifest_digest, manifest_size, media_type, config_digest,
    layer_digests, layer_sizes, diff_ids, platform ("os/arch"), and for an
    index platforms {"linux/amd64": Layout, ...}."""

    def __new__(cls, path, **attrs):
        obj = str.__new__(cls, path)
        obj.ref = None
        obj.manifest_digest = None
        obj.manifest_size = None
        obj.media_type = None
        obj.config_digest = None
        obj.layer_digests = []
        obj.layer_sizes = []
        obj.diff_ids = []
        obj.platform = None
        obj.platforms = {}
        obj.__dict__.update(attrs)
        return obj

    @property
    def blob_digests(self):
        """Every blob of the image (manifests, configs, layers), in order."""
        if self.platforms:
            out = [self.manifest_digest]
            for p in self.platforms.values():
                out += [d for d in p.blob_digests if d not in out]
            return out
        return [self.manifest_digest, self.config_digest] + list(self.layer_digests)


class _HashWriter:
    """A write-only file that hashes (and counts) what goes through it."""

    def __init__(self, out=None):
        self.out = out
        self.h = hashlib.sha256()
        self.size = 0

    def write(self, b):
        self.h.update(b)
        self.size += len(b)
        if self.out is not None:
            self.out.write(b)
        return len(b)

    def flush(self):
        if self.out is not None:
            self.out.flush()

    def close(self):
        pass


class _Content:
    """A readable stream of `size` bytes: seeded pseudo-random (incompressible)
    or repetitive text (compressible).  Same seed, same bytes."""

    def __init__(self, seed, size, compressible):
        self.rng = random.Random(seed)
        self.left = size
        self.compressible = compressible
        self.line = 0
        self.buf = b""

    def read(self, n=-1):
        if n is None or n < 0:
            n = self.left
        n = min(n, self.left)
        if n <= 0:
            return b""
        if self.compressible:
            while len(self.buf) < n:
                self.buf += b"modbox test layer line %08d ...............................\n" % \
                    self.line
                self.line += 1
            out, self.buf = self.buf[:n], self.buf[n:]
        else:
            out = self.rng.randbytes(n)
        self.left -= n
        return out


def _blob_dir(layout):
    d = os.path.join(layout, "blobs", "sha256")
    os.makedirs(d, exist_ok=True)
    return d


def _put_blob(layout, data):
    digest = sha256_bytes(data)
    path = os.path.join(_blob_dir(layout), digest.split(":")[1])
    if not os.path.exists(path):
        tmp = path + ".tmp-%d" % os.getpid()
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, path)
    return digest, len(data)


def _init_layout(layout):
    os.makedirs(layout, exist_ok=True)
    _blob_dir(layout)
    p = os.path.join(layout, "oci-layout")
    if not os.path.exists(p):
        with open(p, "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
    p = os.path.join(layout, "index.json")
    if not os.path.exists(p):
        with open(p, "w") as f:
            json.dump({"schemaVersion": 2, "manifests": []}, f)


def _set_ref(layout, descriptor, ref):
    p = os.path.join(layout, "index.json")
    with open(p) as f:
        idx = json.load(f)
    idx["manifests"] = [m for m in idx.get("manifests", [])
                        if (m.get("annotations") or {}).get(REF_ANNOTATION) != ref]
    d = dict(descriptor)
    d["annotations"] = {REF_ANNOTATION: ref}
    idx["manifests"].append(d)
    with open(p + ".tmp", "w") as f:
        json.dump(idx, f, indent=2)
    os.rename(p + ".tmp", p)


def _make_layer(layout, name, size, seed, compressible, compresslevel):
    """A tar.gz layer holding NAME/data.bin (size bytes) and NAME/info.txt;
    deterministic.  Returns (digest, size, diff_id)."""
    bdir = _blob_dir(layout)
    tmp = os.path.join(bdir, ".layer-%s" % secrets.token_hex(6))
    try:
        with open(tmp, "wb") as f:
            comp = _HashWriter(f)
            gz = gzip.GzipFile(filename="", mode="wb", fileobj=comp, mtime=0,
                               compresslevel=compresslevel)
            raw = _HashWriter(gz)
            with tarfile.open(fileobj=raw, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                def entry(path, typ=tarfile.REGTYPE, sz=0, mode=0o644):
                    ti = tarfile.TarInfo(path)
                    ti.type, ti.size, ti.mode, ti.mtime = typ, sz, mode, FIXED_MTIME
                    ti.uid = ti.gid = 0
                    ti.uname = ti.gname = "root"
                    return ti
                tar.addfile(entry(name, tarfile.DIRTYPE, mode=0o755))
                info = ("layer %s, %d bytes, seed %r\n" % (name, size, seed)).encode()
                tar.addfile(entry(name + "/info.txt", sz=len(info)), io.BytesIO(info))
                tar.addfile(entry(name + "/data.bin", sz=size),
                            _Content(seed, size, compressible))
            gz.close()
        digest = "sha256:" + comp.h.hexdigest()
        final = os.path.join(bdir, digest.split(":")[1])
        os.rename(tmp, final)
        return digest, comp.size, "sha256:" + raw.h.hexdigest()
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


DEFAULT_LAYERS = (("base", 1 << 20), ("lib", 256 << 10), ("app", 32 << 10))


def _build_manifest(layout, layers, seed, shared_base, compressible, media, os_name, arch,
                    variant, compresslevel, name):
    docker = media == "docker"
    layer_descs, diff_ids, history = [], [], []
    for i, (lname, size) in enumerate(layers):
        lseed = "modbox-shared-base/%s/%d" % (lname, size) if (shared_base and i == 0) \
            else "%s/%s/%d" % (seed, lname, i)
        level = compresslevel if compresslevel is not None else (6 if compressible else 1)
        dgst, csize, diff_id = _make_layer(layout, lname, size, lseed, compressible, level)
        layer_descs.append({"mediaType": MT_DOCKER_LAYER if docker else MT_OCI_LAYER,
                            "digest": dgst, "size": csize})
        diff_ids.append(diff_id)
        history.append({"created": "2023-11-14T22:13:20Z",
                        "created_by": "registry_harness layer %s" % lname})
    config = {"architecture": arch, "os": os_name,
              "created": "2023-11-14T22:13:20Z",
              "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                         "Cmd": ["/bin/sh"], "Labels": {"modbox.test.image": name,
                                                        "modbox.test.seed": str(seed)}},
              "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "history": history}
    if variant:
        config["variant"] = variant
    cdigest, csize = _put_blob(layout, json.dumps(config, sort_keys=True,
                                                  separators=(",", ":")).encode())
    manifest = {"schemaVersion": 2,
                "mediaType": MT_DOCKER_MANIFEST if docker else MT_OCI_MANIFEST,
                "config": {"mediaType": MT_DOCKER_CONFIG if docker else MT_OCI_CONFIG,
                           "digest": cdigest, "size": csize},
                "layers": layer_descs}
    mdigest, msize = _put_blob(layout, json.dumps(manifest, indent=3).encode())
    plat = "%s/%s" % (os_name, arch) + ("/" + variant if variant else "")
    return Layout(layout, manifest_digest=mdigest, manifest_size=msize,
                  media_type=manifest["mediaType"], config_digest=cdigest,
                  layer_digests=[d["digest"] for d in layer_descs],
                  layer_sizes=[d["size"] for d in layer_descs], diff_ids=diff_ids,
                  platform=plat)


def build_image(workdir, layers=DEFAULT_LAYERS, seed="modbox", ref="latest",
                shared_base=False, compressible=False, media="oci", os_name="linux",
                arch="amd64", variant=None, compresslevel=None):
    """Writes a single-platform image into the OCI image layout at workdir
    (created if missing; an existing layout gets one more image) and names it
    ref in index.json.  Returns a Layout (a str: the directory) with the
    digests.

    layers: [(name, uncompressed content bytes), ...]; each layer a
    deterministic tar.gz (fixed mtimes, owner root) of NAME/data.bin, seeded
    pseudo-random bytes (incompressible) or, compressible=True, repetitive
    text.  seed: same seed, same bytes, same digests.  shared_base=True: the
    first layer depends only on its name and size, not on seed, so two
    images built with different seeds share it.  media: "oci" (OCI manifest)
    or "docker" (Docker v2 schema 2 manifest and media types)."""
    _init_layout(workdir)
    img = _build_manifest(workdir, list(layers), seed, shared_base, compressible, media,
                          os_name, arch, variant, compresslevel, ref)
    img.ref = ref
    _set_ref(workdir, {"mediaType": img.media_type, "digest": img.manifest_digest,
                       "size": img.manifest_size}, ref)
    return img


def build_index(workdir, layers=DEFAULT_LAYERS, seed="modbox", ref="latest",
                platforms=("linux/amd64", "linux/arm64"), shared_base=False,
                compressible=False, media="oci", compresslevel=None):
    """Like build_image but an image index (media="docker": a Docker manifest
    list) over one image per platform ("os/arch[/variant]"), each with its
    own layers (seeded by seed and platform) and config architecture.
    Returns a Layout whose manifest_digest is the index's and platforms maps
    "os/arch" to each image's Layout."""
    _init_layout(workdir)
    entries, plats = [], {}
    for p in platforms:
        parts = p.split("/")
        os_name, arch = parts[0], parts[1]
        variant = parts[2] if len(parts) > 2 else None
        img = _build_manifest(workdir, list(layers), "%s/%s" % (seed, p), shared_base,
                              compressible, media, os_name, arch, variant, compresslevel,
                              "%s@%s" % (ref, p))
        plats[p] = img
        pl = {"architecture": arch, "os": os_name}
        if variant:
            pl["variant"] = variant
        entries.append({"mediaType": img.media_type, "digest": img.manifest_digest,
                        "size": img.manifest_size, "platform": pl})
    mt = MT_DOCKER_LIST if media == "docker" else MT_OCI_INDEX
    index = {"schemaVersion": 2, "mediaType": mt, "manifests": entries}
    idigest, isize = _put_blob(workdir, json.dumps(index, indent=3).encode())
    _set_ref(workdir, {"mediaType": mt, "digest": idigest, "size": isize}, ref)
    return Layout(workdir, ref=ref, manifest_digest=idigest, manifest_size=isize,
                  media_type=mt, platforms=plats)


def layout_ref(layout, ref):
    """The index.json descriptor named ref (None when absent)."""
    with open(os.path.join(layout, "index.json")) as f:
        idx = json.load(f)
    for m in idx.get("manifests", []):
        if (m.get("annotations") or {}).get(REF_ANNOTATION) == ref:
            return m
    return None


def check_layout(layout, ref=None):
    """Checks an OCI image layout the way a strict reader would: oci-layout
    and index.json present; every blob named in blobs/sha256 hashes to its
    name (a partial download left under a blob's name is found here); every
    manifest, index, config and layer reachable from index.json (or from the
    entry named ref) present with the size its descriptor says.  Returns a
    list of problems ([] when all is well)."""
    problems = []
    if not os.path.isfile(os.path.join(layout, "oci-layout")):
        problems.append("no oci-layout file")
    try:
        with open(os.path.join(layout, "index.json")) as f:
            idx = json.load(f)
    except (OSError, ValueError) as e:
        return problems + ["index.json: %s" % e]
    bdir = os.path.join(layout, "blobs", "sha256")
    for name in sorted(os.listdir(bdir)) if os.path.isdir(bdir) else []:
        path = os.path.join(bdir, name)
        if not re.fullmatch(r"[0-9a-f]{64}", name):
            problems.append("stray file in blobs/sha256: %s" % name)
        elif sha256_file(path) != "sha256:" + name:
            problems.append("blob %s does not hash to its name" % name)
    todo = [m for m in idx.get("manifests", [])
            if ref is None or (m.get("annotations") or {}).get(REF_ANNOTATION) == ref]
    if ref is not None and not todo:
        problems.append("no entry named %r in index.json" % ref)
    seen = set()
    while todo:
        d = todo.pop()
        dg = d.get("digest", "")
        if dg in seen:
            continue
        seen.add(dg)
        path = os.path.join(bdir, dg.split(":", 1)[-1])
        if not os.path.isfile(path):
            problems.append("missing blob %s (%s)" % (dg, d.get("mediaType")))
            continue
        if d.get("size") is not None and os.path.getsize(path) != d["size"]:
            problems.append("blob %s: size %d, descriptor says %d" % (
                dg, os.path.getsize(path), d["size"]))
        mt = d.get("mediaType", "")
        if mt in INDEX_TYPES + (MT_OCI_MANIFEST, MT_DOCKER_MANIFEST):
            with open(path, "rb") as f:
                doc = json.loads(f.read())
            if mt in INDEX_TYPES:
                todo.extend(doc.get("manifests", []))
            else:
                todo.append(doc["config"])
                todo.extend(doc.get("layers", []))
    return problems


# ---------------------------------------------------------------- skopeo
class _SkopeoEnv:
    """A private directory for one skopeo run: a policy accepting anything, an
    empty registries.conf (no mirrors or aliases from the host), an auth file
    (so no password is on a command line), and the cert dir."""

    def __init__(self):
        self.dir = _mkdtemp("skopeo")
        self.policy = os.path.join(self.dir, "policy.json")
        with open(self.policy, "w") as f:
            json.dump({"default": [{"type": "insecureAcceptAnything"}]}, f)
        self.registries_conf = os.path.join(self.dir, "registries.conf")
        with open(self.registries_conf, "w") as f:
            f.write("unqualified-search-registries = []\n")
        self.env = dict(os.environ)
        self.env.update({"CONTAINERS_REGISTRIES_CONF": self.registries_conf,
                         "REGISTRY_AUTH_FILE": os.path.join(self.dir, "auth.json"),
                         "HOME": self.dir, "XDG_RUNTIME_DIR": self.dir})
        self.env.pop("DOCKER_CONFIG", None)

    def authfile(self, host, user, password):
        path = os.path.join(self.dir, "auth-%s.json" % secrets.token_hex(4))
        auth = base64.b64encode(("%s:%s" % (user, password)).encode("utf-8")).decode("ascii")
        _write_private(path, json.dumps({"auths": {host: {"auth": auth}}}))
        return path

    def registry_args(self, side, registry, user, password):
        """--src-*/--dest-* options to reach registry with these credentials."""
        args = []
        if registry.tls:
            args += ["--%s-cert-dir" % side, registry.cert_dir(), "--%s-tls-verify=true" % side]
        else:
            args += ["--%s-tls-verify=false" % side]
        if user is None:
            args += ["--%s-no-creds" % side]
        else:
            args += ["--%s-authfile" % side, self.authfile(registry.host, user, password or "")]
        return args

    def run(self, args, timeout=SKOPEO_TIMEOUT, check=True):
        return run([SKOPEO, "--policy", self.policy] + args, timeout=timeout, env=self.env,
                   check=check)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def push(layout_dir, registry, repo, tag, user=None, password=None, ref=None, format=None,  # pylint: disable=redefined-builtin
         via="auto", timeout=SKOPEO_TIMEOUT):
    """Pushes the layout's entry ref (default: layout_dir.ref, or tag) to
    registry as REPO:TAG and returns the manifest digest the registry reports
    (Docker-Content-Digest of HEAD /v2/REPO/manifests/TAG).

    via="skopeo": skopeo copy oci:LAYOUT:REF docker://HOST/REPO:TAG (--all for
    an index; digests preserved unless format ("oci", "v2s2") asks for a
    conversion).  via="http": the harness's own Python client, byte for
    byte.  via="auto" (default): skopeo, except for Docker media types, which
    skopeo's oci: transport does not read from index.json."""
    ref = ref or getattr(layout_dir, "ref", None) or tag
    desc = layout_ref(layout_dir, ref)
    if desc is None:
        raise HarnessError("no %r in %s/index.json" % (ref, layout_dir))
    if via == "auto":
        via = "http" if desc.get("mediaType") in (MT_DOCKER_MANIFEST, MT_DOCKER_LIST) \
            and not format else "skopeo"
    if via == "http":
        registry.client(user, password).push_layout(layout_dir, ref, repo, tag)
    else:
        with _SkopeoEnv() as sk:
            args = ["copy", "--quiet", "--retry-times", "0"]
            args += sk.registry_args("dest", registry, user, password)
            if desc.get("mediaType") in INDEX_TYPES:
                args += ["--all"]
            if format:
                args += ["--format", format]
            else:
                args += ["--preserve-digests"]
            args += ["oci:%s:%s" % (layout_dir, ref),
                     "docker://%s/%s:%s" % (registry.host, repo, tag)]
            sk.run(args, timeout=timeout)
    digest = registry.manifest_digest(repo, tag, user, password)
    if digest is None:
        raise HarnessError("pushed %s:%s but the registry does not have it" % (repo, tag))
    return digest


def skopeo_copy_to_oci(registry, repo, tag, dest_layout, user=None, password=None, ref=None,
                       platform=None, all_images=False, timeout=SKOPEO_TIMEOUT, check=True):
    """skopeo copy docker://HOST/REPO:TAG oci:DEST:REF (ref default: tag).
    platform "os/arch[/variant]" picks from an index (default: the host's);
    all_images copies every platform.  Returns a Result (.elapsed for the
    benchmark); check=False returns failures instead of raising."""
    ref = ref or tag
    os.makedirs(dest_layout, exist_ok=True)
    with _SkopeoEnv() as sk:
        args = []
        if platform:
            parts = platform.split("/")
            args += ["--override-os", parts[0], "--override-arch", parts[1]]
            if len(parts) > 2:
                args += ["--override-variant", parts[2]]
        args += ["copy", "--quiet", "--retry-times", "0"]
        args += sk.registry_args("src", registry, user, password)
        if all_images:
            args += ["--all"]
        args += ["docker://%s/%s:%s" % (registry.host, repo, tag),
                 "oci:%s:%s" % (dest_layout, ref)]
        return sk.run(args, timeout=timeout, check=check)


def skopeo_inspect_oci(layout, ref_name, raw=False, platform=None):
    """`skopeo inspect oci:LAYOUT:REF` as a dict (Digest, Layers,
    Architecture, Os, ...), or with raw=True the manifest (or index) itself
    plus "_digest", its sha256.  Raises HarnessError when skopeo cannot read
    it."""
    with _SkopeoEnv() as sk:
        args = []
        if platform:
            parts = platform.split("/")
            args += ["--override-os", parts[0], "--override-arch", parts[1]]
        args += ["inspect"] + (["--raw"] if raw else []) + ["oci:%s:%s" % (layout, ref_name)]
        r = sk.run(args, timeout=TOOL_TIMEOUT)
    if raw:
        d = json.loads(r.stdout)
        d["_digest"] = sha256_bytes(r.stdout.encode("utf-8"))
        return d
    return json.loads(r.stdout)


def umoci_unpack(layout, ref_name, bundle_dir):
    """`umoci unpack --image LAYOUT:REF BUNDLE` (umoci checks every digest
    while it unpacks); returns the Result (check=False: look at .ok)."""
    return run([UMOCI, "unpack", "--image", "%s:%s" % (layout, ref_name), bundle_dir],
               timeout=SKOPEO_TIMEOUT, check=False)


# ---------------------------------------------------------------- self-test
def _selftest():
    import tap  # pylint: disable=import-outside-toplevel
    _install_sigterm()
    timings = []

    @contextlib.contextmanager
    def step(name):
        t0 = time.monotonic()
        try:
            yield
        finally:
            dt = time.monotonic() - t0
            timings.append((name, dt))
            tap.diag("%-48s %7.3f s" % (name, dt))

    user, pw = "alice", "s3cret:with colon"
    users = {user: pw, "bob": "bobpw"}
    work = _mkdtemp("selftest")
    try:
        with step("CA (RSA 2048: CA + server cert)"):
            ca = CA(os.path.join(work, "ca"))
        modes = [("htpasswd", True), ("token", True), ("none", False)]
        for mode, tls in modes:
            label = "%s/%s" % (mode, "tls" if tls else "http")
            tap.diag("=== %s" % label)
            ts = None
            try:
                if mode == "token":
                    with step("%s: token server start" % label):
                        ts = TokenServer(users, ca=ca, allow={"bob": ["other/*"]})
                        ts.start()
                reg = Registry(auth=mode, users=users, tls=tls, ca=ca if tls else None,
                               token_server=ts)
                with step("%s: registry start" % label):
                    reg.start()
                with reg:  # (already started) closes it whatever happens
                    creds = (user, pw) if mode != "none" else (None, None)
                    st = reg._raw("GET", "/v2/")  # pylint: disable=protected-access
                    if mode == "none":
                        tap.is_(st[0], 200, "%s: GET /v2/ 200 without credentials" % label)
                    else:
                        tap.is_(st[0], 401, "%s: GET /v2/ 401 without credentials" % label)
                        tap.like(st[1].get("www-authenticate", ""),
                                 r"^Basic realm=" if mode == "htpasswd" else
                                 r'^Bearer realm="https://127\.0\.0\.1:\d+/token",service="',
                                 "%s: challenge %s" % (label, st[1].get("www-authenticate")))
                    with step("%s: build 3-layer image" % label):
                        img = build_image(os.path.join(work, "img-" + mode), seed=label)
                    tap.ok(not check_layout(img), "%s: built layout is valid" % label)
                    with step("%s: push (skopeo)" % label):
                        digest = push(img, reg, "team/app", "v1", *creds)
                    tap.is_(digest, img.manifest_digest, "%s: pushed digest = layout's" % label)
                    if ts:
                        tap.ok(ts.count > 0 and all(r["authorization"] for r in ts.requests),
                               "%s: push asked the token server %d times, with credentials" % (
                                   label, ts.count))
                        tok = RegistryClient(reg, user, pw).token(ts.realm, ts.service,
                                                                  "repository:team/app:pull")
                        hdr, cl = decode_jwt(tok)
                        tap.diag("JWT header keys %s, claims %s" % (
                            sorted(hdr), json.dumps({k: cl[k] for k in (
                                "iss", "aud", "sub", "access")})))
                        ts.reset()
                    dest = os.path.join(work, "pull-" + mode)
                    with step("%s: pull (skopeo docker:// -> oci:)" % label):
                        r = skopeo_copy_to_oci(reg, "team/app", "v1", dest, *creds, check=False)
                    tap.ok(r.ok, "%s: skopeo pull with credentials" % label, repr(r))
                    if r.ok:
                        info = skopeo_inspect_oci(dest, "v1")
                        tap.is_(info.get("Digest"), digest, "%s: pulled digest" % label)
                        tap.is_(info.get("Layers"), img.layer_digests, "%s: pulled layers" % label)
                        tap.is_(check_layout(dest, "v1"), [], "%s: pulled layout valid" % label)
                    if ts:
                        reqs = ts.requests
                        tap.ok(reqs and all(q["authorization"] and q["user"] == user
                                            for q in reqs),
                               "%s: pull: %d token request(s), all with Basic credentials, "
                               "scopes %s" % (label, len(reqs),
                                              sorted({s for q in reqs for s in q["scopes"]})))
                    if mode != "none":
                        with step("%s: pull with a wrong password" % label):
                            r = skopeo_copy_to_oci(reg, "team/app", "v1",
                                                   os.path.join(work, "bad-" + mode),
                                                   user, "wrong", check=False)
                        tap.ok(not r.ok, "%s: wrong password refused" % label)
                        tap.diag("skopeo: " + (r.stderr.strip().splitlines() or ["?"])[-1][:300])
                        r = skopeo_copy_to_oci(reg, "team/app", "v1",
                                               os.path.join(work, "anon-" + mode),
                                               check=False)
                        tap.ok(not r.ok, "%s: no credentials refused" % label)
                    if ts:
                        r = skopeo_copy_to_oci(reg, "team/app", "v1",
                                               os.path.join(work, "bob-" + mode),
                                               "bob", "bobpw", check=False)
                        tap.ok(not r.ok, "token: a user not allowed on the repo is refused")
                        st = RegistryClient(reg, "bob", "bobpw").request(
                            "GET", "/v2/team/app/tags/list")[0]
                        tap.is_(st, 401, "token: empty access list -> registry 401")
                    # stop / start
                    with step("%s: registry stop" % label):
                        reg.stop()
                    try:
                        reg._raw("GET", "/v2/", timeout=2)  # pylint: disable=protected-access
                        tap.ok(False, "%s: stopped registry refuses connections" % label)
                    except (OSError, http.client.HTTPException):
                        tap.ok(True, "%s: stopped registry refuses connections" % label)
                    with step("%s: registry start again" % label):
                        reg.start()
                    tap.is_(reg.manifest_digest("team/app", "v1", *creds), digest,
                            "%s: same port, image still there" % label)
                    # corruption
                    victim = img.layer_digests[1]
                    size0 = os.path.getsize(reg.blob_path(victim))
                    reg.corrupt_blob(victim)
                    tap.is_(os.path.getsize(reg.blob_path(victim)), size0,
                            "%s: corrupt_blob keeps the size" % label)
                    st, hdrs, body = reg.client(*creds).request(
                        "GET", "/v2/team/app/blobs/" + victim)
                    tap.ok(st == 200 and sha256_bytes(body) != victim and
                           hdrs.get("docker-content-digest") == victim,
                           "%s: registry serves the corrupted blob: %d, Docker-Content-Digest "
                           "the original, body does not match it (no re-hash on serve)" % (
                               label, st))
                    with step("%s: pull of a corrupted image (skopeo)" % label):
                        r = skopeo_copy_to_oci(reg, "team/app", "v1",
                                               os.path.join(work, "corrupt-" + mode),
                                               *creds, check=False)
                    tap.ok(not r.ok, "%s: skopeo refuses the corrupted blob" % label)
                    tap.diag("skopeo: " + (r.stderr.strip().splitlines() or ["?"])[-1][:400])
                    errs = [l for l in reg.logs().splitlines()
                            if "level=error" in l or "level=warn" in l]
                    tap.diag("registry log: %d error/warning lines%s" % (
                        len(errs), (": " + errs[-1][:300]) if errs else ""))
            finally:
                if ts:
                    ts.close()

        # an index (two platforms) and a Docker v2 manifest, on one htpasswd registry
        tap.diag("=== index and docker media types (htpasswd/tls)")
        with Registry(auth="htpasswd", users=users, ca=ca) as reg:
            with step("index: build 2 platforms x 3 layers"):
                idx = build_index(os.path.join(work, "idx"), seed="idx", shared_base=True)
            with step("index: push --all"):
                d = push(idx, reg, "team/multi", "v1", user, pw)
            tap.is_(d, idx.manifest_digest, "index: pushed digest = layout's")
            tap.is_(reg.manifest_digest("team/multi",
                                        idx.platforms["linux/arm64"].manifest_digest, user, pw),
                    idx.platforms["linux/arm64"].manifest_digest, "index: arm64 manifest there")
            tap.is_(idx.platforms["linux/amd64"].layer_digests[0],
                    idx.platforms["linux/arm64"].layer_digests[0], "index: shared base layer")
            dest = os.path.join(work, "pull-idx")
            r = skopeo_copy_to_oci(reg, "team/multi", "v1", dest, user, pw,
                                   platform="linux/arm64", check=False)
            tap.ok(r.ok, "index: skopeo pull of linux/arm64", repr(r))
            if r.ok:
                tap.is_(skopeo_inspect_oci(dest, "v1").get("Digest"),
                        idx.platforms["linux/arm64"].manifest_digest,
                        "index: pulled the arm64 manifest")
            dimg = build_image(os.path.join(work, "docker"), seed="docker", media="docker")
            with step("docker v2 manifest: push (Python client)"):
                d = push(dimg, reg, "team/docker", "v1", user, pw)
            tap.is_(d, dimg.manifest_digest, "docker v2 manifest: pushed digest = layout's")
            dl = build_index(os.path.join(work, "dlist"), seed="dlist", media="docker")
            d = push(dl, reg, "team/dlist", "v1", user, pw)
            tap.is_(d, dl.manifest_digest, "docker manifest list: pushed digest = layout's")
            st, hdrs, _ = reg.request("HEAD", "/v2/team/dlist/manifests/v1", user, pw,
                                      headers={"Accept": MANIFEST_ACCEPT})
            tap.is_(hdrs.get("content-type"), MT_DOCKER_LIST, "docker manifest list type")
            st, hdrs, _ = reg.request("HEAD", "/v2/team/docker/manifests/v1", user, pw,
                                      headers={"Accept": MANIFEST_ACCEPT})
            tap.is_(hdrs.get("content-type"), MT_DOCKER_MANIFEST, "docker v2 manifest type")
            dest = os.path.join(work, "pull-docker")
            r = skopeo_copy_to_oci(reg, "team/docker", "v1", dest, user, pw, check=False)
            tap.ok(r.ok, "docker v2 manifest: skopeo pull", repr(r))
            if r.ok:
                u = umoci_unpack(dest, "v1", os.path.join(work, "bundle"))
                tap.ok(u.ok and os.path.isfile(os.path.join(work, "bundle", "rootfs", "app",
                                                           "info.txt")),
                       "umoci unpacks the pulled layout", repr(u))

        # the token header: kid instead of x5c, and an untrusted signer
        tap.diag("=== token header variants")
        for hmode, bad, want in (("kid", False, 404), ("x5c", True, 401)):
            with TokenServer(users, ca=ca, header=hmode) as ts, \
                    Registry(auth="token", token_server=ts, ca=ca) as reg:
                ts.bad_signature = bad
                st = reg.request("GET", "/v2/team/none/tags/list", user, pw)[0]
                tap.is_(st, want, "token header %s%s: registry answers %d" % (
                    hmode, ", untrusted signing key" if bad else "", want))
        ca.close()
    finally:
        _rmtree(work)
    tap.diag("timings:")
    for name, dt in timings:
        tap.diag("  %-48s %7.3f s" % (name, dt))
    tap.done()


if __name__ == "__main__":
    _selftest()
