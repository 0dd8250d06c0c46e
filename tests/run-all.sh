#!/usr/bin/env bash
# Install what is needed, build, run every test.  Works from any directory.
#
#   tests/run-all.sh
#   MODBOX_CONFIGURE_FLAGS="--enable-asan" tests/run-all.sh
#
# Builds out of tree in _build (configure --enable-werror), runs `make check`
# two at a time (every integration test has its own MariaDB and lighttpd), shows
# the logs of failing tests, and ends with exactly one line "N passed, M failed"
# (N = PASS + XFAIL, M = FAIL + ERROR + XPASS from automake's test-suite.log).
# Exit status: 0 only when the build worked and M is 0.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$(pwd)
BUILD="$ROOT/_build"
JOBS=${MODBOX_JOBS:-2}

fail_build() {
    echo "run-all.sh: $*" >&2
    echo "0 passed, 1 failed"
    exit 1
}

echo "== dependencies"
bash tests/deps.sh || fail_build "installing packages failed"

echo "== build"
./autogen.sh || fail_build "autogen.sh failed"
mkdir -p "$BUILD" && cd "$BUILD" || fail_build "cannot enter $BUILD"
# shellcheck disable=SC2086  # MODBOX_CONFIGURE_FLAGS is a list of flags
../configure --enable-werror ${MODBOX_CONFIGURE_FLAGS:-} || {
    tail -n 40 config.log 2>/dev/null
    fail_build "configure failed"
}
make -j"$JOBS" || fail_build "make failed"

echo "== make check"
rm -f test-suite.log
make -j"$JOBS" check
check_rc=$?

count() {  # count NAME: the "# NAME: n" line of test-suite.log
    local n
    n=$(sed -n "s/^# $1: *\([0-9][0-9]*\).*/\1/p" test-suite.log 2>/dev/null | head -n 1)
    echo "${n:-0}"
}

if [ ! -f test-suite.log ]; then
    echo "run-all.sh: make check wrote no test-suite.log (exit $check_rc)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

passed=$(( $(count PASS) + $(count XFAIL) ))
failed=$(( $(count FAIL) + $(count ERROR) + $(count XPASS) ))

if [ "$failed" -gt 0 ] || [ "$check_rc" -ne 0 ]; then
    echo
    echo "== logs of the tests that failed"
    find . -name '*.trs' -print | sort | while read -r trs; do
        if grep -Eq '^:global-test-result: (FAIL|ERROR|XPASS)' "$trs"; then
            log="${trs%.trs}.log"
            echo "---- ${log#./} (last 150 lines)"
            tail -n 150 "$log" 2>/dev/null
        fi
    done
    echo "== summary"
    sed -n '/^# TOTAL:/,/^# ERROR:/p' test-suite.log
fi

# make check failed without any failing test counted (e.g. a test program
# did not build): still a failure.
if [ "$check_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "run-all.sh: make check exited $check_rc" >&2
    failed=1
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
