#!/usr/bin/env bash
# Install, build, start the service: MariaDB + lighttpd + modbox.fcgi on
# 127.0.0.1, in the foreground until Ctrl-C (or SIGTERM), which stops all of it.
#
#   tests/quickstart.sh                  # http://127.0.0.1:8080
#   MODBOX_PORT=9000 tests/quickstart.sh
#   MODBOX_RUN_DIR=/srv/modbox tests/quickstart.sh
#
# State (MariaDB datadir, key file, config, logs, the first API key) lives in
# ./_run (MODBOX_RUN_DIR) and is reused by the next run: the workspace, owner
# and API key are made only the first time.  Delete the directory to start over.
# Starting the servers is tests/harness/modbox_harness.py's job (the same code
# the integration tests use): see its `serve` command.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
BUILD="$ROOT/_build"
PORT=${MODBOX_PORT:-8080}
RUN_DIR=${MODBOX_RUN_DIR:-$ROOT/_run}

bash tests/deps.sh

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
    ./autogen.sh
fi
mkdir -p "$BUILD"
cd "$BUILD"
if [ ! -f Makefile ]; then
    # shellcheck disable=SC2086
    ../configure ${MODBOX_CONFIGURE_FLAGS:-}
fi
make -j"${MODBOX_JOBS:-2}"
cd "$ROOT"

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "quickstart.sh: something already listens on 127.0.0.1:$PORT (set MODBOX_PORT)" >&2
    exit 1
fi

export MODBOX_BUILDDIR="$BUILD" MODBOX_SRCDIR="$ROOT"
exec python3 tests/harness/modbox_harness.py serve --dir "$RUN_DIR" --port "$PORT" --builddir "$BUILD"
