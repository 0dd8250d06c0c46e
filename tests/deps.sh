#!/usr/bin/env bash
# The one list of Debian 12 packages modbox needs to build, test and run.
# Installs what is missing (as root, or through sudo); does nothing, and needs
# no network, when everything is there.  Starts no service: the tests and
# tests/quickstart.sh run their own MariaDB and lighttpd.
set -euo pipefail

PACKAGES=(
    # build
    build-essential autoconf automake pkg-config
    libfcgi-dev libjson-c-dev libmariadb-dev libgcrypt20-dev
    libcurl4-openssl-dev        # not the gnutls one: it conflicts with libmariadb-dev's OpenSSL
    # run and test
    mariadb-server mariadb-client lighttpd spawn-fcgi python3 curl
    procps ca-certificates
    # the other supported web servers (tests/integration/test_webservers.py;
    # the harness runs them with their own config, spawn-fcgi runs the app)
    nginx apache2
    # benchmarks, memory checks, fuzzing (configure --enable-valgrind/--enable-fuzzing)
    wrk apache2-utils valgrind clang libclang-rt-14-dev
    # registry pull tests and bench: a real registry (distribution 2.8), skopeo
    # and umoci as reference clients, a private CA (htpasswd is in apache2-utils)
    docker-registry skopeo umoci openssl python3-cryptography
)

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "deps.sh: all ${#PACKAGES[@]} packages installed"
    exit 0
fi
echo "deps.sh: installing ${missing[*]}"

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "deps.sh: missing packages (${missing[*]}) and not root: run as root" >&2
        exit 1
    }
    SUDO=(sudo)
fi

# Keep apt from starting services: add a policy-rc.d that refuses (101) if the
# machine has none, and take it away afterwards.
POLICY=/usr/sbin/policy-rc.d
cleanup() { :; }
if [ ! -e "$POLICY" ]; then
    "${SUDO[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' > $POLICY && chmod 755 $POLICY"
    cleanup() { "${SUDO[@]}" rm -f "$POLICY"; }
fi
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt_update() { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq; }
apt_install() {
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}"
}

# Refresh the package lists when there are none or they are over a day old.
lists=(/var/lib/apt/lists/*_Packages*)
if [ ! -e "${lists[0]}" ] || [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mtime +0 -print -quit)" ]; then
    apt_update
fi
if ! apt_install; then
    echo "deps.sh: install failed; refreshing the package lists and retrying" >&2
    apt_update
    apt_install
fi
echo "deps.sh: done"
