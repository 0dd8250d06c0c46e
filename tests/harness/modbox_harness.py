"""Integration harness: a private MariaDB + lighttpd + modbox.fcgi per test.

(Stack(web="nginx") or Stack(web="apache") puts nginx or Apache
mod_proxy_fcgi in front instead, the app run by spawn-fcgi.)

    import tap
    from modbox_harness import Stack, sanitizer_check

    with Stack() as s:
        ws = s.workspace("acme")
        uid, key = s.actor(ws, "owner")
        r = s.request("POST", "/registries", {"name": "x", ...}, key=key, ws=ws)
        tap.is_(r.status, 201, "created")
        s.start_provisioner("p1")  # app/modbox-provisioner, log in provisioner-p1.log
        ...
        tap.is_(s.stop_provisioner("p1"), 0, "SIGTERM: exit 0")
        sanitizer_check(s)        # stops everything, one TAP line for ASan/valgrind
    tap.done()

Everything lives in one fresh directory (tempfile.mkdtemp, prefix modbox-test-):
MariaDB's datadir and socket, modbox.conf, the key file, lighttpd.conf, the
logs (provisioner-NAME.log for each provisioner started), and the
ASan/UBSan/valgrind report files.  The servers run in their own
session (a Ctrl-C on the terminal reaches only Python, which stops them in
order) and get SIGTERM if the Python process dies, so none is left behind.

The same code serves tests/quickstart.sh:
    python3 modbox_harness.py serve --dir _run --port 8080
keeps its state in a persistent directory and runs until SIGINT/SIGTERM.
`python3 modbox_harness.py` alone is a self-test of the harness.

Environment:
    MODBOX_BUILDDIR   where app/modbox.fcgi, app/modbox-admin and
                      app/modbox-provisioner are (default: the source tree root)
    MODBOX_VALGRIND   a valgrind command line (configure --enable-valgrind): the
                      FastCGI app and modbox-admin run under it, logs in valgrind/
    MODBOX_KEEP_TMP=1 keep the directory (its path is printed as a TAP comment)
"""

import ctypes
import glob
import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRCDIR = os.environ.get("MODBOX_SRCDIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDDIR = os.environ.get("MODBOX_BUILDDIR") or SRCDIR

START_TIMEOUT = 30.0   # seconds for MariaDB / lighttpd to come up
STOP_TIMEOUT = 10.0    # seconds after SIGTERM before SIGKILL
HTTP_TIMEOUT = 30.0


def _which(name, *fallbacks):
    found = shutil.which(name)
    if found:
        return found
    for f in fallbacks:
        if os.access(f, os.X_OK):
            return f
    return name


MARIADB_INSTALL_DB = _which("mariadb-install-db", "/usr/bin/mariadb-install-db")
MARIADBD = _which("mariadbd", "/usr/sbin/mariadbd")
MARIADB = _which("mariadb", "/usr/bin/mariadb")
MARIADB_DUMP = _which("mariadb-dump", "/usr/bin/mariadb-dump")
LIGHTTPD = _which("lighttpd", "/usr/sbin/lighttpd")
NGINX = _which("nginx", "/usr/sbin/nginx")
APACHE2 = _which("apache2", "/usr/sbin/apache2")
SPAWN_FCGI = _which("spawn-fcgi", "/usr/bin/spawn-fcgi")
APACHE_MODULES = "/usr/lib/apache2/modules"
WEB_SERVERS = ("lighttpd", "nginx", "apache")


def free_port():
    """A port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _unix_open(path):
    if not os.path.exists(path):
        return False
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


_libc = None


def _child_setup(deathsig):
    """preexec_fn: own session, and a signal when the harness dies."""
    def setup():
        os.setsid()
        global _libc  # pylint: disable=global-statement
        try:
            if _libc is None:
                _libc = ctypes.CDLL(None, use_errno=True)
            _libc.prctl(1, int(deathsig), 0, 0, 0)  # PR_SET_PDEATHSIG
        except Exception:  # pylint: disable=broad-except
            pass
    return setup


def _proc_state(pid):
    """'R', 'S', 'Z'... or None when the pid is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
        return data[data.rindex(")") + 2]
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid):
    st = _proc_state(pid)
    return st is not None and st not in ("Z", "X")


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()[:200]
    except OSError:
        return "?"


def _descendants(pid):
    """All live descendants of pid (from /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                data = f.read()
            ppid = int(data[data.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def _wait_gone(pids, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.02)
    return not any(_alive(p) for p in pids)


def _tail(path, n=30):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError:
        return "(no %s)" % path


class Response:
    """An HTTP answer: .status, .reason, .headers (lowercase names), .body."""

    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        """The parsed body; raises ValueError (with the body) when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise ValueError("response body is not JSON (%s): %r" % (e, self.body[:500])) from None

    def error_code(self):
        """body["error"]["code"] or None: handy in assertions."""
        try:
            return self.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None

    def __repr__(self):
        return "<Response %d %s %r>" % (self.status, self.headers, self.body[:300])


class StackError(RuntimeError):
    pass


class Stack:
    """A private MariaDB + lighttpd + modbox.fcgi.  See the module docstring.

    Arguments:
      max_procs   FastCGI processes per mount (two mounts: /api/modbox.fcgi and /)
      conf_extra  {section: {key: value}} appended to modbox.conf
      lighttpd_extra  list of lines appended to lighttpd.conf
      fcgi        path of the FastCGI program (default BUILDDIR/app/modbox.fcgi)
      setup_app   run `crypto-key generate` and `migrate` (False: only start the
                  servers, e.g. to test the harness without the app)
      start_web   start lighttpd at all
      state_dir   persistent directory (quickstart): reused, never removed
      port        fixed HTTP port (default: a free one)
      fix_root_scriptname  set lighttpd's "fix-root-scriptname" on the "/"
                  mount.  Without it lighttpd splits a path on that mount at
                  its first segment: /v1/registries gives SCRIPT_NAME=/v1,
                  PATH_INFO=/registries; with it SCRIPT_NAME="" and PATH_INFO
                  is the whole path.
      web         "lighttpd" (the default: lighttpd spawns the app), "nginx"
                  or "apache" (Apache 2.4 with mod_proxy_fcgi).  For nginx and
                  apache the app runs as max_procs `spawn-fcgi -n` processes
                  (children of the harness, one 127.0.0.1 TCP port each, stderr
                  appended to TMP/fcgi-stderr.log = web_log) and the server,
                  in the foreground with its own config in TMP, balances over
                  them; it mounts the app at "/" and at "/api/modbox.fcgi" like
                  the lighttpd config.  Its own logs are in web_server_logs.
    """

    def __init__(self, max_procs=2, conf_extra=None, lighttpd_extra=None, fcgi=None,
                 setup_app=True, start_web=True, state_dir=None, port=None,
                 fix_root_scriptname=True, web="lighttpd"):
        if web not in WEB_SERVERS:
            raise ValueError("web %r: one of %s" % (web, ", ".join(WEB_SERVERS)))
        self.web = web
        self._fcgi_procs = []           # [(Popen, port)] of spawn-fcgi -n (nginx, apache)
        self._fcgi_log = None
        self.fcgi_ports = []
        self.max_procs = max_procs
        self.conf_extra = conf_extra or {}
        self.lighttpd_extra = list(lighttpd_extra or [])
        self.builddir = BUILDDIR
        self.fcgi_bin = fcgi or os.path.join(BUILDDIR, "app", "modbox.fcgi")
        self.admin_bin = os.path.join(BUILDDIR, "app", "modbox-admin")
        self.provisioner_bin = os.path.join(BUILDDIR, "app", "modbox-provisioner")
        self.valgrind = shlex.split(os.environ.get("MODBOX_VALGRIND", "") or "")
        self.persistent = state_dir is not None
        self.setup_app = setup_app
        self.start_web_flag = start_web
        self.port = port
        self.fix_root_scriptname = fix_root_scriptname
        self.db_port = None
        self.db_password = None
        self.key_id = None
        self._db = None
        self._web = None
        self._web_log = None
        self._closed = False
        self._problems = None
        self._reported = False
        self._counter = 0
        self._stderr_reports = []
        self._provisioners = {}         # name -> (Popen, log file object)
        self.provisioner_stray = {}     # name -> [pids left after the parent exited]
        self._old_sigterm = None
        self.timings = {}

        if self.persistent:
            self.tmp = os.path.abspath(state_dir)
            os.makedirs(self.tmp, exist_ok=True)
        else:
            self.tmp = tempfile.mkdtemp(prefix="modbox-test-")
        self.tmp_is_ours = not self.persistent
        # sun_path holds 107 bytes: a deep state_dir gets its sockets elsewhere.
        if len(os.path.join(self.tmp, "fcgi-2.sock-99")) < 100:
            self.sockdir = self.tmp
        else:
            self.sockdir = tempfile.mkdtemp(prefix="modbox-sock-")
        self.datadir = os.path.join(self.tmp, "data")
        self.db_tmpdir = os.path.join(self.tmp, "dbtmp")
        self.db_socket = os.path.join(self.sockdir, "mysql.sock")
        self.db_pidfile = os.path.join(self.tmp, "mariadb.pid")
        self.db_log = os.path.join(self.tmp, "mariadb.err")
        self.conf = os.path.join(self.tmp, "modbox.conf")
        self.key_file = os.path.join(self.tmp, "keys")
        self.www = os.path.join(self.tmp, "www")
        self.lighttpd_conf = os.path.join(self.tmp, "lighttpd.conf")
        # web_log: where the app's stderr goes (lighttpd: its error log).
        if web == "lighttpd":
            self.web_log = os.path.join(self.tmp, "lighttpd-error.log")
            self.web_server_logs = [self.web_log]
        else:
            self.web_log = os.path.join(self.tmp, "fcgi-stderr.log")
            self.web_server_logs = [os.path.join(self.tmp, "%s-%s.log" % (web, k))
                                    for k in ("error", "access")]
        self.web_conf = os.path.join(self.tmp, {"lighttpd": "lighttpd.conf", "nginx": "nginx.conf",
                                                "apache": "apache2.conf"}[web])
        self.asan_dir = os.path.join(self.tmp, "asan")
        self.valgrind_dir = os.path.join(self.tmp, "valgrind")
        for d in (self.www, self.asan_dir, self.valgrind_dir, self.db_tmpdir):
            os.makedirs(d, exist_ok=True)

    # ------------------------------------------------------------ lifecycle
    def __enter__(self):
        self._install_sigterm()
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, etype, value, tb):
        if etype is not None and not self._closed and os.path.exists(self.web_log):
            sys.stdout.write("# the test raised %s; last lines of %s:\n%s\n" % (
                etype.__name__, os.path.basename(self.web_log),
                "\n".join("#   " + l for l in _tail(self.web_log, 25).splitlines())))
            sys.stdout.flush()
        problems = self.close()
        if etype is not None and problems and not self._reported:
            self._reported = True
            import tap  # pylint: disable=import-outside-toplevel
            tap.ok(False, "no sanitizer or valgrind reports", "\n".join(problems))
        return False

    def _install_sigterm(self):
        """SIGTERM to the test becomes an exception, so __exit__ cleans up."""
        try:
            if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                def handler(signum, frame):
                    raise KeyboardInterrupt("SIGTERM")
                self._old_sigterm = signal.signal(signal.SIGTERM, handler)
        except ValueError:  # not the main thread
            pass

    def start(self):
        t0 = time.monotonic()
        self._init_db()
        self.timings["mariadb_install"] = time.monotonic() - t0
        t1 = time.monotonic()
        self.start_db()
        self.timings["mariadb_start"] = time.monotonic() - t1
        self._create_db_user()
        self._write_conf()
        if self.setup_app:
            if not os.path.exists(self.key_file):
                self.key_id = self.admin("crypto-key", "generate").stdout.strip()
            self.admin("migrate")
        if self.start_web_flag:
            t2 = time.monotonic()
            self.start_web()
            self.timings["%s_start" % self.web] = time.monotonic() - t2
        self.timings["total"] = time.monotonic() - t0

    def close(self):
        """Stops lighttpd (and the app) then MariaDB; returns the sanitizer and
        valgrind problems found (a list of strings).  Idempotent."""
        if self._closed:
            return self._problems or []
        self._closed = True
        if self._old_sigterm is not None:  # no second interruption while stopping
            try:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            except ValueError:
                pass
        errors = []
        for name in list(self._provisioners):
            try:
                self.stop_provisioner(name)
            except Exception as e:  # pylint: disable=broad-except
                errors.append("stopping provisioner %s: %s" % (name, e))
        try:
            self.stop_web()
        except Exception as e:  # pylint: disable=broad-except
            errors.append("stopping %s: %s" % (self.web, e))
        try:
            self.stop_db()
        except Exception as e:  # pylint: disable=broad-except
            errors.append("stopping MariaDB: %s" % e)
        self._problems = errors + self.sanitizer_problems()
        if self._old_sigterm is not None:
            try:
                signal.signal(signal.SIGTERM, self._old_sigterm)
            except ValueError:
                pass
        if self.sockdir != self.tmp:
            shutil.rmtree(self.sockdir, ignore_errors=True)
        if self.tmp_is_ours:
            if os.environ.get("MODBOX_KEEP_TMP") == "1":
                sys.stdout.write("# MODBOX_KEEP_TMP=1: kept %s\n" % self.tmp)
                sys.stdout.flush()
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)
        return self._problems

    # ------------------------------------------------------------ MariaDB
    def _db_args(self):
        return [
            "--no-defaults",
            "--datadir=" + self.datadir,
            "--user=root",
            "--skip-log-bin",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=64M",
            "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=2",
            "--innodb-doublewrite=0",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
            # A private tmpdir: concurrent servers sharing /tmp collided on
            # "#sql-temptable-*" names during mariadb-install-db.
            "--tmpdir=" + self.db_tmpdir,
        ]

    def _init_db(self):
        if os.path.isdir(os.path.join(self.datadir, "mysql")):
            return  # persistent state dir: already installed
        os.makedirs(self.datadir, exist_ok=True)
        cmd = [MARIADB_INSTALL_DB] + self._db_args()[:2] + [
            "--auth-root-authentication-method=socket", "--skip-test-db"] + self._db_args()[2:]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, check=False)
        if r.returncode != 0:
            raise StackError("mariadb-install-db failed (%d):\n%s" % (
                r.returncode, r.stdout.decode("utf-8", "replace")[-3000:]))

    def start_db(self):
        """Starts mariadbd (again, on the same port and datadir after stop_db)."""
        if self._db is not None and self._db.poll() is None:
            return
        for attempt in range(3):
            if self.db_port is None or attempt > 0:
                self.db_port = free_port()
            cmd = [MARIADBD] + self._db_args() + [
                "--socket=" + self.db_socket,
                "--port=%d" % self.db_port,
                "--bind-address=127.0.0.1",
                "--pid-file=" + self.db_pidfile,
                "--log-error=" + self.db_log,
            ]
            with open(self.db_log, "ab") as log:
                self._db = subprocess.Popen(
                    cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    preexec_fn=_child_setup(signal.SIGTERM), close_fds=True)
            if self._wait_db():
                return
            # died (port taken by someone else?): try another port
            self._kill(self._db, "mariadbd")
            if "Address already in use" not in _tail(self.db_log, 20) and \
                    "Can't start server" not in _tail(self.db_log, 20):
                break
        raise StackError("MariaDB did not start; %s:\n%s" % (self.db_log, _tail(self.db_log)))

    def _wait_db(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._db.poll() is not None:
                return False
            if _unix_open(self.db_socket):
                r = subprocess.run([MARIADB, "--no-defaults", "--socket=" + self.db_socket,
                                    "-uroot", "-e", "select 1"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   stdin=subprocess.DEVNULL, check=False)
                if r.returncode == 0:
                    return True
            time.sleep(0.05)
        return False

    def stop_db(self):
        """SIGTERM to mariadbd and wait (SIGKILL after 10 s): a clean shutdown."""
        if self._db is None:
            return
        self._kill(self._db, "mariadbd")
        self._db = None

    def db_running(self):
        return self._db is not None and self._db.poll() is None

    def _create_db_user(self):
        pwfile = os.path.join(self.tmp, "db-password")
        if self.persistent and os.path.exists(pwfile):
            with open(pwfile) as f:
                self.db_password = f.read().strip()
            return
        self.db_password = secrets.token_hex(16)
        self._mysql_root(
            "CREATE DATABASE IF NOT EXISTS modbox CHARACTER SET utf8mb4; "
            "CREATE OR REPLACE USER 'modbox'@'localhost' IDENTIFIED BY '%(pw)s'; "
            "CREATE OR REPLACE USER 'modbox'@'127.0.0.1' IDENTIFIED BY '%(pw)s'; "
            "GRANT ALL ON modbox.* TO 'modbox'@'localhost'; "
            "GRANT ALL ON modbox.* TO 'modbox'@'127.0.0.1';" % {"pw": self.db_password},
            database=None)
        if self.persistent:
            fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(self.db_password + "\n")

    def _mysql_root(self, query, database="modbox", batch=False):
        cmd = [MARIADB, "--no-defaults", "--socket=" + self.db_socket, "-uroot",
               "--default-character-set=utf8mb4"]
        if batch:
            cmd += ["-N", "-B"]
        if database:
            cmd.append(database)
        r = subprocess.run(cmd + ["-e", query], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, check=False)
        if r.returncode != 0:
            raise AssertionError("SQL failed (exit %d): %s\n%s" % (
                r.returncode, query, r.stderr.decode("utf-8", "replace")))
        return r.stdout.decode("utf-8", "replace")

    @staticmethod
    def _unescape(field):
        if field == "NULL":
            return None
        if "\\" not in field:
            return field
        out, i = [], 0
        table = {"n": "\n", "t": "\t", "0": "\0", "\\": "\\", "r": "\r"}
        while i < len(field):
            c = field[i]
            if c == "\\" and i + 1 < len(field):
                out.append(table.get(field[i + 1], field[i + 1]))
                i += 2
            else:
                out.append(c)
                i += 1
        return "".join(out)

    def sql(self, query):
        """Rows of a query on the modbox database as root: a list of tuples of
        str, NULL as None (a string 'NULL' also reads as None)."""
        out = self._mysql_root(query, batch=True)
        rows = []
        for line in out.split("\n"):
            if line == "":
                continue
            rows.append(tuple(self._unescape(f) for f in line.split("\t")))
        return rows

    def sql_exec(self, query):
        """A write (or any statement) on the modbox database as root."""
        self._mysql_root(query)

    def dump(self):
        """A deterministic dump of the modbox database (schema and rows)."""
        r = subprocess.run([MARIADB_DUMP, "--no-defaults", "--socket=" + self.db_socket,
                            "-uroot", "--skip-dump-date", "--skip-comments",
                            "--order-by-primary", "--skip-extended-insert", "modbox"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, check=False)
        if r.returncode != 0:
            raise AssertionError("mariadb-dump failed: " + r.stderr.decode("utf-8", "replace"))
        return r.stdout.decode("utf-8", "replace")

    # ------------------------------------------------------------ config
    def _write_conf(self):
        sections = {
            "database": {"socket": self.db_socket, "user": "modbox",
                         "password": self.db_password, "name": "modbox"},
            "crypto": {"key_file": self.key_file},
            "http": {"max_body_bytes": "65536"},
        }
        for sect, kv in self.conf_extra.items():
            sections.setdefault(sect, {})
            for k, v in kv.items():
                if v is None:
                    sections[sect].pop(k, None)
                else:
                    sections[sect][k] = str(v)
        lines = []
        for sect, kv in sections.items():
            lines.append("[%s]" % sect)
            lines.extend("%s = %s" % (k, v) for k, v in kv.items())
        fd = os.open(self.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")

    def write_conf(self, conf_extra):
        """Rewrites modbox.conf with other extra keys (restart_web() to apply)."""
        self.conf_extra = conf_extra or {}
        self._write_conf()

    def app_env(self, extra=None):
        env = dict(os.environ)
        env.update(self._san_env())
        env["MODBOX_CONF"] = self.conf
        if extra:
            for k, v in extra.items():
                if v is None:
                    env.pop(k, None)
                else:
                    env[k] = v
        return env

    def _san_env(self):
        return {
            "ASAN_OPTIONS": "log_path=%s/asan:detect_leaks=1" % self.asan_dir,
            "UBSAN_OPTIONS": "print_stacktrace=1:log_path=%s/ubsan" % self.asan_dir,
        }

    # ------------------------------------------------------------ lighttpd
    @staticmethod
    def _q(s):
        return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'

    def _write_lighttpd_conf(self):
        binpath = self.fcgi_bin
        if self.valgrind:
            wrapper = os.path.join(self.tmp, "fcgi-wrapper.sh")
            with open(wrapper, "w") as f:
                f.write("#!/bin/sh\nexec %s --log-file=%s %s\n" % (
                    " ".join(shlex.quote(a) for a in self.valgrind),
                    shlex.quote(os.path.join(self.valgrind_dir, "vg.%p")),
                    shlex.quote(self.fcgi_bin)))
            os.chmod(wrapper, 0o755)
            binpath = wrapper
        env = {"MODBOX_CONF": self.conf}
        env.update(self._san_env())
        env_s = ", ".join("%s => %s" % (self._q(k), self._q(v)) for k, v in env.items())
        mounts = []
        for i, prefix in enumerate(("/api/modbox.fcgi", "/"), 1):
            fix = ("    \"fix-root-scriptname\" => \"enable\",\n"
                   if prefix == "/" and self.fix_root_scriptname else "")
            mounts.append(
                "  %s => ((\n"
                "    \"bin-path\" => %s,\n"
                "    \"socket\" => %s,\n"
                "    \"check-local\" => \"disable\",\n"
                "%s"
                "    \"max-procs\" => %d,\n"
                "    \"bin-environment\" => (%s),\n"
                "  ))" % (self._q(prefix), self._q(binpath),
                          self._q(os.path.join(self.sockdir, "fcgi-%d.sock" % i)),
                          fix, self.max_procs, env_s))
        text = (
            "# written by modbox_harness.py\n"
            "server.bind = \"127.0.0.1\"\n"
            "server.port = %d\n"
            "server.document-root = %s\n"
            "server.errorlog = %s\n"
            "server.pid-file = %s\n"
            "server.modules = (\"mod_fastcgi\")\n"
            "server.max-keep-alive-idle = 5\n"
            "fastcgi.server = (\n%s\n)\n" % (
                self.port, self._q(self.www), self._q(self.web_log),
                self._q(os.path.join(self.tmp, "lighttpd.pid")),
                ",\n".join(mounts)))
        if self.lighttpd_extra:
            text += "\n".join(self.lighttpd_extra) + "\n"
        with open(self.lighttpd_conf, "w") as f:
            f.write(text)

    def start_web(self):
        """Starts the web server (and the app): see the `web` argument."""
        if self.web == "lighttpd":
            self._start_lighttpd()
        else:
            self._start_other_web()

    def stop_web(self):
        """Stops the web server and waits for the FastCGI processes to end."""
        if self.web == "lighttpd":
            self._stop_lighttpd()
        else:
            self._stop_other_web()

    def _start_lighttpd(self):
        """Starts lighttpd in the foreground (-D), which spawns modbox.fcgi.

        The app's stderr: lighttpd hands its bin-path children its own fd 2;
        with -D that is whatever lighttpd was started with, so lighttpd's
        stderr is appended to the error log and the app's log lines land there
        (with server.errorlog alone they would be lost: a daemonized lighttpd
        points fd 2 at /dev/null unless server.breakagelog is set)."""
        if self._web is not None and self._web.poll() is None:
            return
        if not os.access(self.fcgi_bin, os.X_OK):
            raise StackError("no FastCGI program at %s (build first)" % self.fcgi_bin)
        fixed = self.port is not None
        for attempt in range(3):
            if self.port is None or (attempt > 0 and not fixed):
                self.port = free_port()
            self._write_lighttpd_conf()
            log = open(self.web_log, "ab")  # pylint: disable=consider-using-with
            env = dict(os.environ)
            self._web = subprocess.Popen(
                [LIGHTTPD, "-D", "-f", self.lighttpd_conf], stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, env=env,
                preexec_fn=_child_setup(signal.SIGTERM), close_fds=True)
            self._web_log = log
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if self._web.poll() is not None:
                    break
                if _port_open(self.port):
                    return
                time.sleep(0.02)
            self.stop_web()
            if fixed or "Address already in use" not in _tail(self.web_log, 10):
                break
        raise StackError("lighttpd did not start on port %s; %s:\n%s" % (
            self.port, self.web_log, _tail(self.web_log)))

    def _stop_lighttpd(self):
        """Stops lighttpd and waits for its FastCGI processes to end too."""
        if self._web is None:
            return
        kids = _descendants(self._web.pid) if self._web.poll() is None else []
        self._kill(self._web, "lighttpd")
        # lighttpd sends its backends SIGTERM but does not wait for them: wait
        # here, so valgrind/ASan reports are complete and nothing is left over.
        self._term_until_gone(kids)
        self._web = None
        if self._web_log is not None:
            self._web_log.close()
            self._web_log = None

    @staticmethod
    def _term_until_gone(kids):
        """SIGTERM the FastCGI processes until they are gone, then SIGKILL.

        libfcgi's SIGTERM handler only sets a flag checked around accept(),
        so a signal landing just before accept() is lost (seen 1 in 4 under
        valgrind): repeat it, then SIGKILL."""
        deadline = time.monotonic() + STOP_TIMEOUT
        while kids and not _wait_gone(kids, 2.0) and time.monotonic() < deadline:
            for p in kids:
                if _alive(p):
                    try:
                        os.kill(p, signal.SIGTERM)
                    except OSError:
                        pass
        if kids and not _wait_gone(kids, 0.1):
            for p in kids:
                if _alive(p):
                    sys.stdout.write("# FastCGI process %d (%s, state %s) still there %ds "
                                     "after SIGTERM: SIGKILL\n" % (
                                         p, _cmdline(p), _proc_state(p), STOP_TIMEOUT + 2))
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
            _wait_gone(kids, 5)

    def restart_web(self):
        """Stops and starts lighttpd (and so the app), e.g. after a key change."""
        self.stop_web()
        self.start_web()

    def app_pids(self):
        """The pids of the running FastCGI processes."""
        if self.web != "lighttpd":
            return [p.pid for p, _ in self._fcgi_procs if p.poll() is None]
        if self._web is None:
            return []
        return _descendants(self._web.pid)

    # ------------------------------------------------------------ nginx, Apache
    def _fcgi_cmd(self):
        cmd = [self.fcgi_bin]
        if self.valgrind:
            cmd = self.valgrind + ["--log-file=" + os.path.join(self.valgrind_dir, "vg.%p")] + cmd
        return cmd

    def _start_fcgi(self):
        """max_procs `spawn-fcgi -n` (it binds 127.0.0.1:PORT, then execs the
        app on it: the Popen is the app itself, in its own session, SIGTERM
        when the harness dies), stderr appended to web_log."""
        if not os.access(self.fcgi_bin, os.X_OK):
            raise StackError("no FastCGI program at %s (build first)" % self.fcgi_bin)
        self._fcgi_log = open(self.web_log, "ab")  # pylint: disable=consider-using-with
        for _ in range(self.max_procs):
            for attempt in range(5):
                port = free_port()
                proc = subprocess.Popen(
                    [SPAWN_FCGI, "-n", "-a", "127.0.0.1", "-p", str(port), "--"]
                    + self._fcgi_cmd(),
                    stdin=subprocess.DEVNULL, stdout=self._fcgi_log, stderr=self._fcgi_log,
                    env=self.app_env(), preexec_fn=_child_setup(signal.SIGTERM),
                    close_fds=True)
                self._fcgi_procs.append((proc, port))
                deadline = time.monotonic() + START_TIMEOUT
                while time.monotonic() < deadline and proc.poll() is None \
                        and not _port_open(port):
                    time.sleep(0.01)
                if proc.poll() is None and _port_open(port):
                    break
                self._fcgi_procs.pop()
                self._term_until_gone([proc.pid])
                proc.wait()
                if attempt == 4 or "Address already in use" not in _tail(self.web_log, 5):
                    raise StackError("spawn-fcgi did not start the app on port %d; %s:\n%s" % (
                        port, self.web_log, _tail(self.web_log)))
        self.fcgi_ports = [p for _, p in self._fcgi_procs]

    def _stop_fcgi(self):
        procs, self._fcgi_procs = self._fcgi_procs, []
        self._term_until_gone([p.pid for p, _ in procs if p.poll() is None])
        crashed = []
        for p, port in procs:
            rc = p.wait()
            # libfcgi's SIGTERM handler makes the app return from accept and
            # exit: 0, or -15 when the signal hit outside it.
            if rc not in (0, -signal.SIGTERM):
                crashed.append("FastCGI process %d (port %d) ended with %s" % (p.pid, port, rc))
        if self._fcgi_log is not None:
            self._fcgi_log.close()
            self._fcgi_log = None
        if crashed:
            raise StackError("; ".join(crashed))

    def _write_nginx_conf(self):
        t = self.tmp
        for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(t, "nginx-tmp", d), exist_ok=True)
        upstream = "".join("        server 127.0.0.1:%d;\n" % p for p in self.fcgi_ports)
        # Debian's fastcgi_params is not included: it sets Host-derived names
        # without the port and a repeated param is sent twice (libfcgi takes
        # the first).  Request headers go as HTTP_* anyway (Authorization too).
        # (fastcgi_param is inherited only by a block that sets none: each
        # location gets the whole list.)
        params = "".join("            fastcgi_param %s %s;\n" % kv for kv in (
            ("GATEWAY_INTERFACE", "CGI/1.1"), ("SERVER_SOFTWARE", "nginx"),
            ("REQUEST_METHOD", "$request_method"), ("REQUEST_URI", "$request_uri"),
            ("QUERY_STRING", "$query_string"), ("CONTENT_TYPE", "$content_type"),
            ("CONTENT_LENGTH", "$content_length"), ("SERVER_PROTOCOL", "$server_protocol"),
            ("REMOTE_ADDR", "$remote_addr"), ("REMOTE_PORT", "$remote_port"),
            ("SERVER_ADDR", "$server_addr"), ("SERVER_PORT", "$server_port"),
            ("SERVER_NAME", "$server_name")))
        text = (
            "# written by modbox_harness.py\n"
            "%(user)s"
            "worker_processes 1;\n"
            "pid %(t)s/nginx.pid;\n"
            "error_log %(t)s/nginx-error.log info;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            "    access_log %(t)s/nginx-access.log;\n"
            "    client_body_temp_path %(t)s/nginx-tmp/client_body;\n"
            "    proxy_temp_path %(t)s/nginx-tmp/proxy;\n"
            "    fastcgi_temp_path %(t)s/nginx-tmp/fastcgi;\n"
            "    uwsgi_temp_path %(t)s/nginx-tmp/uwsgi;\n"
            "    scgi_temp_path %(t)s/nginx-tmp/scgi;\n"
            "    client_max_body_size 16m;\n"
            "    keepalive_timeout 5;\n"
            "    upstream modbox {\n%(upstream)s    }\n"
            "    server {\n"
            "        listen 127.0.0.1:%(port)d;\n"
            "        server_name 127.0.0.1;\n"
            "        location /api/modbox.fcgi {\n"
            "%(params)s"
            "            fastcgi_split_path_info ^(/api/modbox\\.fcgi)(/.*)$;\n"
            "            fastcgi_param SCRIPT_NAME $fastcgi_script_name;\n"
            "            fastcgi_param PATH_INFO $fastcgi_path_info;\n"
            "            fastcgi_pass modbox;\n"
            "        }\n"
            "        location / {\n"
            "%(params)s"
            "            fastcgi_param SCRIPT_NAME \"\";\n"
            "            fastcgi_param PATH_INFO $uri;\n"
            "            fastcgi_pass modbox;\n"
            "        }\n"
            "    }\n"
            "}\n" % {"t": t, "port": self.port, "upstream": upstream, "params": params,
                     # workers write request bodies under TMP (mode 0700)
                     "user": "user root;\n" if os.geteuid() == 0 else ""})
        with open(self.web_conf, "w") as f:
            f.write(text)
        return [NGINX, "-p", t, "-c", self.web_conf, "-g", "daemon off;"]

    def _write_apache_conf(self):
        t = self.tmp
        run = os.path.join(t, "apache-run")
        os.makedirs(run, exist_ok=True)
        mods = ["mpm_event", "authz_core", "setenvif", "proxy", "proxy_fcgi",
                "proxy_balancer", "slotmem_shm", "lbmethod_byrequests"]
        members = "".join("    BalancerMember fcgi://127.0.0.1:%d\n" % p for p in self.fcgi_ports)
        text = (
            "# written by modbox_harness.py\n"
            "%(mods)s"
            "ServerName 127.0.0.1\n"
            "Listen 127.0.0.1:%(port)d\n"
            "PidFile %(t)s/apache2.pid\n"
            "DefaultRuntimeDir %(run)s\n"
            "ErrorLog %(t)s/apache-error.log\n"
            "LogLevel warn\n"
            "LogFormat \"%%h %%l %%u %%t \\\"%%r\\\" %%>s %%b\" common\n"
            "CustomLog %(t)s/apache-access.log common\n"
            "%(user)s"
            "StartServers 1\nServerLimit 2\nThreadsPerChild 16\nMaxRequestWorkers 32\n"
            "MinSpareThreads 1\nMaxSpareThreads 32\n"
            "KeepAliveTimeout 5\n"
            "<Proxy \"balancer://modbox\">\n%(members)s</Proxy>\n"
            "<Location \"/\">\n"
            "    CGIPassAuth On\n"
            "    Require all granted\n"
            "</Location>\n"
            # mod_proxy_fcgi sends SCRIPT_NAME = the whole path and no
            # PATH_INFO; "first-dot" splits after "modbox.fcgi", so the app
            # sees its prefix.  Not at "/": a dot in a path would split it.
            "SetEnvIf Request_URI \"^/api/modbox\\.fcgi/\" proxy-fcgi-pathinfo=first-dot\n"
            "ProxyPass \"/api/modbox.fcgi/\" \"balancer://modbox/api/modbox.fcgi/\"\n"
            "ProxyPass \"/\" \"balancer://modbox/\"\n" % {
                "t": t, "run": run, "port": self.port, "members": members,
                "mods": "".join("LoadModule %s_module %s/mod_%s.so\n" % (m, APACHE_MODULES, m)
                                for m in mods),
                # Apache will not run its workers as root.
                "user": "User www-data\nGroup www-data\n" if os.geteuid() == 0 else ""})
        with open(self.web_conf, "w") as f:
            f.write(text)
        return [APACHE2, "-d", t, "-f", self.web_conf, "-DFOREGROUND"]

    def _start_other_web(self):
        if self._web is not None and self._web.poll() is None:
            return
        t0 = time.monotonic()
        if not self._fcgi_procs:
            self._start_fcgi()
        self.timings["fcgi_start"] = time.monotonic() - t0
        fixed = self.port is not None
        errlog = self.web_server_logs[0]
        try:
            for attempt in range(3):
                if self.port is None or (attempt > 0 and not fixed):
                    self.port = free_port()
                cmd = self._write_nginx_conf() if self.web == "nginx" else \
                    self._write_apache_conf()
                log = open(errlog, "ab")  # pylint: disable=consider-using-with
                self._web = subprocess.Popen(
                    cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    preexec_fn=_child_setup(signal.SIGTERM), close_fds=True)
                self._web_log = log
                deadline = time.monotonic() + START_TIMEOUT
                while time.monotonic() < deadline:
                    if self._web.poll() is not None:
                        break
                    if _port_open(self.port):
                        return
                    time.sleep(0.02)
                self._stop_server_only()
                if fixed or "in use" not in _tail(errlog, 10):
                    break
        except BaseException:
            self._stop_fcgi()
            raise
        self._stop_fcgi()
        raise StackError("%s did not start on port %s; %s:\n%s" % (
            self.web, self.port, errlog, _tail(errlog)))

    def _stop_server_only(self):
        if self._web is None:
            return
        kids = _descendants(self._web.pid) if self._web.poll() is None else []
        # nginx and Apache stop their workers on SIGTERM (nginx: fast
        # shutdown; Apache: graceless stop) and wait for them.
        self._kill(self._web, self.web)
        if kids and not _wait_gone(kids, STOP_TIMEOUT):
            for p in kids:
                if _alive(p):
                    sys.stdout.write("# %s worker %d still there after its master "
                                     "stopped: SIGKILL\n" % (self.web, p))
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
            _wait_gone(kids, 5)
        self._web = None
        if self._web_log is not None:
            self._web_log.close()
            self._web_log = None

    def _stop_other_web(self):
        try:
            self._stop_server_only()
        finally:
            self._stop_fcgi()

    @staticmethod
    def _kill(proc, name):
        if proc.poll() is not None:
            return
        try:
            proc.send_signal(signal.SIGTERM)
        except OSError:
            pass
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            sys.stdout.write("# %s (pid %d) ignored SIGTERM for %ds: SIGKILL\n" % (
                name, proc.pid, STOP_TIMEOUT))
            proc.kill()
            proc.wait()

    # ------------------------------------------------------------ provisioner
    def provisioner_log_path(self, name):
        return os.path.join(self.tmp, "provisioner-%s.log" % name)

    def provisioner_cmd(self, name):
        cmd = [self.provisioner_bin]
        if self.valgrind:
            cmd = self.valgrind + ["--log-file=" + os.path.join(
                self.valgrind_dir, "provisioner-%s.%%p" % name)] + cmd
        return cmd

    def start_provisioner(self, name="p1", extra_env=None):
        """Starts BUILDDIR/app/modbox-provisioner with this stack's MODBOX_CONF
        (and the sanitizer environment; under MODBOX_VALGRIND like
        modbox-admin), in its own session, stdout and stderr appended to
        TMP/provisioner-NAME.log.  extra_env: variables to add (None values
        remove).  Stopped (SIGTERM) with the stack.  Returns the Popen."""
        if name in self._provisioners and self._provisioners[name][0].poll() is None:
            raise StackError("provisioner %s is already running" % name)
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError("provisioner name %r: use [A-Za-z0-9_.-]" % name)
        if not os.access(self.provisioner_bin, os.X_OK):
            raise StackError("no provisioner at %s (build first)" % self.provisioner_bin)
        log = open(self.provisioner_log_path(name), "ab")  # pylint: disable=consider-using-with
        try:
            proc = subprocess.Popen(
                self.provisioner_cmd(name), stdin=subprocess.DEVNULL, stdout=log,
                stderr=log, env=self.app_env(extra_env),
                preexec_fn=_child_setup(signal.SIGTERM), close_fds=True)
        except BaseException:
            log.close()
            raise
        self._provisioners[name] = (proc, log)
        self.provisioner_stray.pop(name, None)
        return proc

    def provisioner_running(self, name="p1"):
        p = self._provisioners.get(name)
        return p is not None and p[0].poll() is None

    def provisioner_pids(self, name="p1"):
        """The provisioner's pid and its descendants' (its workers)."""
        p = self._provisioners.get(name)
        if p is None or p[0].poll() is not None:
            return []
        return [p[0].pid] + _descendants(p[0].pid)

    def stop_provisioner(self, name="p1", timeout=30):
        """SIGTERM to the provisioner (it stops its own workers), waits up to
        timeout seconds (then SIGKILL to its whole session) and returns its
        exit status (negative: killed by that signal; None: never started).
        Workers still alive once the parent is gone are killed and listed in
        provisioner_stray[name]."""
        p = self._provisioners.pop(name, None)
        if p is None:
            return None
        proc, log = p
        try:
            if proc.poll() is None:
                try:
                    proc.send_signal(signal.SIGTERM)
                except OSError:
                    pass
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    sys.stdout.write("# provisioner %s (pid %d) still running %ds after "
                                     "SIGTERM: SIGKILL\n" % (name, proc.pid, timeout))
                    sys.stdout.flush()
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except OSError:
                        proc.kill()
                    proc.wait()
            # Its own session: the process group is its pid.  Anything left in
            # it is a worker that outlived its parent.
            stray = []
            for d in os.listdir("/proc"):
                if not d.isdigit():
                    continue
                try:
                    if os.getpgid(int(d)) == proc.pid and _alive(int(d)):
                        stray.append(int(d))
                except OSError:
                    continue
            if stray:
                sys.stdout.write("# provisioner %s: %d process(es) left after it exited "
                                 "(%s): SIGKILL\n" % (name, len(stray), ", ".join(
                                     "%d %s" % (x, _cmdline(x)) for x in stray)))
                sys.stdout.flush()
                for x in stray:
                    try:
                        os.kill(x, signal.SIGKILL)
                    except OSError:
                        pass
                _wait_gone(stray, 5)
            self.provisioner_stray[name] = stray
            return proc.returncode
        finally:
            log.close()
            self._note_stderr("modbox-provisioner " + name, self.provisioner_log(name))

    def provisioner_log(self, name="p1"):
        """The text of TMP/provisioner-NAME.log ("" when there is none)."""
        try:
            with open(self.provisioner_log_path(name), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # ------------------------------------------------------------ HTTP
    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self.port

    def request(self, method, path, body=None, headers=None, key=None, ws=None,
                content_type="application/json", timeout=HTTP_TIMEOUT):
        """One request on a fresh connection.

        body: bytes, str (UTF-8) or a dict/list (JSON); None sends no body.
        headers: dict (or list of pairs); a None value drops a default header.
        key: Authorization: Bearer KEY; ws: X-Workspace-Id.
        content_type: sent only with a body, None for no Content-Type."""
        if isinstance(body, (dict, list)):
            payload = json.dumps(body).encode("utf-8")
        elif isinstance(body, str):
            payload = body.encode("utf-8")
        else:
            payload = body
        hdrs = []
        if key is not None:
            hdrs.append(("Authorization", "Bearer " + key))
        if ws is not None:
            hdrs.append(("X-Workspace-Id", ws))
        if payload is not None and content_type is not None:
            hdrs.append(("Content-Type", content_type))
        extra = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        override = {k.lower() for k, _ in extra}
        hdrs = [(k, v) for k, v in hdrs if k.lower() not in override]
        hdrs += [(k, v) for k, v in extra if v is not None]
        names = {k.lower() for k, _ in hdrs}
        if payload is not None and "content-length" not in names \
                and "transfer-encoding" not in names:
            hdrs.append(("Content-Length", str(len(payload))))

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_host="host" in names,
                            skip_accept_encoding=True)
            for k, v in hdrs:
                conn.putheader(k, v)
            conn.endheaders()
            if payload:
                conn.send(payload)
            resp = conn.getresponse()
            data = resp.read()
            merged = {}
            for k, v in resp.getheaders():
                k = k.lower()
                merged[k] = merged[k] + ", " + v if k in merged else v
            return Response(resp.status, resp.reason, merged, data)
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def raw(self, data, timeout=10.0, until_close=False):
        """Sends raw bytes and returns the raw bytes answered.

        Reads until the server closes, or (unless until_close) until one
        complete response with a Content-Length has arrived, or timeout."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        out = b""
        deadline = time.monotonic() + timeout
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                s.settimeout(left)
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                out += chunk
                if not until_close and self._complete(out):
                    break
        return out

    @staticmethod
    def _complete(buf):
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = buf[:end].decode("latin-1")
        m = re.search(r"(?im)^content-length:\s*(\d+)\s*$", head)
        if m:
            return len(buf) - end - 4 >= int(m.group(1))
        status = re.match(r"HTTP/\d\.\d (\d{3})", head)
        return bool(status and (status.group(1) in ("204", "304") or status.group(1)[0] == "1"))

    # ------------------------------------------------------------ admin CLI
    def admin_cmd(self, *args):
        cmd = [self.admin_bin] + [str(a) for a in args]
        if self.valgrind:
            cmd = self.valgrind + ["--log-file=" + os.path.join(self.valgrind_dir, "admin.%p")] + cmd
        return cmd

    def admin(self, *args, check=True, env_extra=None, input=None, timeout=120):
        """Runs modbox-admin ARGS with MODBOX_CONF; text mode, output captured.
        check=True: a non-zero exit raises AssertionError showing stderr."""
        # pylint: disable=redefined-builtin
        cmd = self.admin_cmd(*args)
        r = subprocess.run(cmd, env=self.app_env(env_extra), input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=None if input is not None else subprocess.DEVNULL,
                           text=True, check=False, timeout=timeout)
        self._note_stderr("modbox-admin " + " ".join(str(a) for a in args), r.stderr)
        if check and r.returncode != 0:
            raise AssertionError("modbox-admin %s: exit %d\nstdout: %s\nstderr: %s" % (
                " ".join(shlex.quote(str(a)) for a in args), r.returncode,
                r.stdout.strip(), r.stderr.strip()))
        return r

    def _made(self, *args):
        out = self.admin(*args).stdout.strip()
        if not out or "\n" in out:
            raise AssertionError("modbox-admin %s: expected one line on stdout, got %r" % (
                " ".join(args), out))
        return out

    def workspace(self, name):
        return self._made("workspace", "create", name)

    def user(self, name):
        return self._made("user", "create", name)

    def member(self, ws, user, role):
        self.admin("member", "add", ws, user, role)

    def key(self, user):
        return self._made("key", "create", user)

    def actor(self, ws, role):
        """A fresh user with ROLE in workspace WS: (user_id, api_key)."""
        self._counter += 1
        uid = self.user("%s-%d-%s" % (role, self._counter, secrets.token_hex(3)))
        self.member(ws, uid, role)
        return uid, self.key(uid)

    # ------------------------------------------------------------ logs
    def error_log(self):
        try:
            with open(self.web_log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _log_files(self):
        files = [self.web_log] + [f for f in self.web_server_logs if f != self.web_log] + [
            self.db_log]
        files += sorted(glob.glob(os.path.join(self.tmp, "provisioner-*.log")))
        files += sorted(glob.glob(os.path.join(self.asan_dir, "*")))
        files += sorted(glob.glob(os.path.join(self.valgrind_dir, "*")))
        return [f for f in files if os.path.isfile(f)]

    def all_logs(self):
        """Every log file of the stack, each after a "==== name" line."""
        parts = []
        for f in self._log_files():
            with open(f, "rb") as fh:
                parts.append("==== %s\n%s" % (os.path.relpath(f, self.tmp),
                                              fh.read().decode("utf-8", "replace")))
        return "\n".join(parts)

    _VG_BAD = re.compile(
        r"ERROR SUMMARY: [1-9]|definitely lost: [1-9]|are definitely lost in loss record"
        r"|Invalid (read|write|free)|Conditional jump or move depends"
        r"|uninitialised|Mismatched free|Source and destination overlap"
        r"|unaddressable|Process terminating with default action of signal (?!15\b)")

    # GCC 12 with -fsanitize=address,undefined prints UBSan reports on stderr
    # whatever log_path says, so stderr (the error log, modbox-admin's) is
    # searched too.
    _SAN_STDERR = re.compile(
        r"runtime error: |==\d+==ERROR: |ERROR: (Address|Leak|UndefinedBehavior|Memory|Thread)Sanitizer"
        r"|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer"
        r"|\) child signaled: (?!15\b)\d+")  # lighttpd: the app crashed

    def _note_stderr(self, what, text):
        if text and self._SAN_STDERR.search(text):
            self._stderr_reports.append("sanitizer output on stderr of %s:\n%s" % (
                what, "\n".join(text.splitlines()[:60])))

    def sanitizer_problems(self):
        """ASan/UBSan report files (any is a problem), sanitizer output in the
        error log or on modbox-admin's stderr, and valgrind logs with errors or
        definite leaks: each as a string with the report's head."""
        problems = list(self._stderr_reports)
        log = self.error_log()
        m = self._SAN_STDERR.search(log)
        if m:
            start = log.rfind("\n", 0, max(0, m.start() - 1)) + 1
            problems.append("sanitizer output in %s:\n%s" % (
                os.path.basename(self.web_log), "\n".join(log[start:].splitlines()[:60])))
        for f in sorted(glob.glob(os.path.join(self.asan_dir, "*"))):
            problems.append("sanitizer report %s:\n%s" % (os.path.basename(f), _tail(f, 60)))
        for f in sorted(glob.glob(os.path.join(self.valgrind_dir, "*"))):
            try:
                with open(f, "rb") as fh:
                    text = fh.read().decode("utf-8", "replace")
            except OSError:
                continue
            if self._VG_BAD.search(text):
                problems.append("valgrind report %s:\n%s" % (
                    os.path.basename(f), "\n".join(text.splitlines()[:80])))
        return problems


def sanitizer_check(stack, desc="no sanitizer or valgrind reports"):
    """Closes the stack and prints one TAP line: ok when no ASan/UBSan report
    and no valgrind error or definite leak was written."""
    import tap  # pylint: disable=import-outside-toplevel
    problems = stack.close()
    stack._reported = True  # pylint: disable=protected-access
    return tap.ok(not problems, desc, "\n\n".join(problems) if problems else None)


# ---------------------------------------------------------------- serve mode
def serve(state_dir, port, builddir=None):
    """Quickstart: a persistent stack in STATE_DIR on PORT, until SIGINT/SIGTERM."""
    global BUILDDIR  # pylint: disable=global-statement
    if builddir:
        BUILDDIR = os.path.abspath(builddir)
    stop = {"sig": None}

    def on_signal(signum, frame):
        stop["sig"] = signum
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    store = os.path.join(os.path.abspath(state_dir), "store")
    s = Stack(state_dir=state_dir, port=port,
              conf_extra={"pull": {"store_dir": store, "concurrency": "2"}})
    try:
        s.start()
        s.start_provisioner("quickstart")
        state_file = os.path.join(s.tmp, "quickstart.json")
        if os.path.exists(state_file):
            with open(state_file) as f:
                st = json.load(f)
        else:
            ws = s.workspace("default")
            uid = s.user("owner")
            s.member(ws, uid, "owner")
            key = s.key(uid)
            st = {"workspace_id": ws, "user_id": uid, "api_key": key}
            fd = os.open(state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(st, f, indent=2)
        base = s.base_url
        auth = "-H 'Authorization: Bearer %s' -H 'X-Workspace-Id: %s'" % (
            st["api_key"], st["workspace_id"])
        print("""
modbox is running (state in %(dir)s; stop with Ctrl-C)

  base URL      %(base)s      (also mounted under %(base)s/api/modbox.fcgi)
  workspace id  %(ws)s
  API key       %(key)s      (owner; kept in %(statefile)s)
  config        %(conf)s
  logs          %(log)s, %(dblog)s, %(plog)s
  image store   %(store)s   (modbox-provisioner pulls here; public registries only
                need allow_private_networks = false, the default)

Create a registry credential:

  curl -sS -X POST %(base)s/registries %(auth)s \\
       -H 'Content-Type: application/json' \\
       -d '{"name": "ghcr-main", "server": "ghcr.io", "username": "octocat", "password": "ghp_example"}'

List them (the password never comes back):

  curl -sS %(base)s/registries %(auth)s

Sandbox images (three global ones are there already) and a sandbox:

  curl -sS %(base)s/sandbox-images %(auth)s
  curl -sS -X POST %(base)s/sandboxes/provision %(auth)s -H 'Content-Type: application/json' \\
       -d '{"task_id": "demo-1", "image_id": "00000000-0000-7000-8000-000000000003"}'
  curl -sS -X POST %(base)s/sandboxes/wait %(auth)s -H 'Content-Type: application/json' \\
       -d '{"task_id": "demo-1", "timeout": 10}'

(This machine reaches no public registry, so that pull ends in registry_unreachable.)

Admin CLI: MODBOX_CONF=%(conf)s %(admin)s --help
""" % {"dir": s.tmp, "base": base, "ws": st["workspace_id"], "key": st["api_key"],
       "statefile": state_file, "conf": s.conf, "log": s.web_log, "dblog": s.db_log,
       "auth": auth, "admin": s.admin_bin, "store": store,
       "plog": s.provisioner_log_path("quickstart")})
        sys.stdout.flush()
        while True:
            if not s.db_running():
                print("MariaDB stopped unexpectedly; see %s" % s.db_log)
                return 1
            if s._web is None or s._web.poll() is not None:  # pylint: disable=protected-access
                print("lighttpd stopped unexpectedly; see %s" % s.web_log)
                return 1
            if not s.provisioner_running("quickstart"):
                print("modbox-provisioner stopped unexpectedly; see %s"
                      % s.provisioner_log_path("quickstart"))
                return 1
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nstopping ...")
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        s.close()
        print("stopped.")


def _selftest():
    """Starts a stack, checks the parts that work without the app, closes."""
    import tap  # pylint: disable=import-outside-toplevel
    have_app = os.access(os.path.join(BUILDDIR, "app", "modbox-admin"), os.X_OK) and \
        os.access(os.path.join(BUILDDIR, "app", "modbox.fcgi"), os.X_OK)
    fcgi = os.environ.get("MODBOX_SELFTEST_FCGI")
    with Stack(setup_app=have_app, start_web=have_app or bool(fcgi), fcgi=fcgi) as s:
        tap.diag("tmp %s  mariadb port %s  http port %s  timings %s" % (
            s.tmp, s.db_port, s.port,
            {k: round(v, 3) for k, v in s.timings.items()}))
        tap.is_(s.sql("SELECT 1, NULL, 'a\tb'"), [("1", None, "a\tb")], "sql() rows")
        s.sql_exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))")
        s.sql_exec("INSERT INTO t VALUES (2, 'b'), (1, NULL)")
        tap.is_(s.sql("SELECT id, v FROM t ORDER BY id"), [("1", None), ("2", "b")], "sql_exec()")
        d = s.dump()
        tap.like(d, r"INSERT INTO `t` VALUES \(1,NULL\);\nINSERT INTO `t` VALUES \(2,'b'\);",
                 "dump() is ordered, one row a line")
        tap.is_(d, s.dump(), "dump() is deterministic")
        t0 = time.monotonic()
        s.stop_db()
        tap.ok(not s.db_running(), "stop_db()")
        s.start_db()
        tap.is_(s.sql("SELECT COUNT(*) FROM t"), [("2",)], "start_db(): data kept")
        tap.diag("db restart %.3f s" % (time.monotonic() - t0))
        tap.is_(s.sql("SELECT COUNT(*) FROM mysql.global_priv WHERE User='modbox'"),
                [("2",)], "modbox user exists")
        if s.port:
            r = s.request("GET", "/registries")
            tap.ok(r.status in (200, 401, 404), "HTTP answers (%d)" % r.status)
            raw = s.raw(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            tap.like(raw, r"^HTTP/1\.1 \d{3}", "raw() answers")
            t0 = time.monotonic()
            s.restart_web()
            tap.diag("lighttpd restart %.3f s" % (time.monotonic() - t0))
            tap.ok(s.request("GET", "/").status > 0, "restart_web()")
        if have_app:
            ws = s.workspace("selftest")
            uid, key = s.actor(ws, "owner")
            tap.like(key, r"^mbx_", "actor() made a key")
        print("# port %s" % s.port)
        sanitizer_check(s)
    tap.done()


def main(argv):
    import argparse  # pylint: disable=import-outside-toplevel
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd")
    sp = sub.add_parser("serve", help="run a persistent stack until Ctrl-C")
    sp.add_argument("--dir", default="_run")
    sp.add_argument("--port", type=int, default=int(os.environ.get("MODBOX_PORT") or 8080))
    sp.add_argument("--builddir", default=None)
    sub.add_parser("selftest", help="start a stack, run a query, stop (the default)")
    a = p.parse_args(argv)
    if a.cmd == "serve":
        return serve(a.dir, a.port, a.builddir)
    _selftest()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main(sys.argv[1:]))
