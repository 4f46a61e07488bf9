#!/usr/bin/env bash
# Makes a Docker engine and the local base images kz's tests need, on a fresh Debian machine.
#
#  * installs docker.io, docker-registry, busybox-static and debootstrap when missing (apt-get);
#  * starts dockerd (data under target/kz-ci/docker) when no engine answers, and waits for it;
#  * builds the base images the examples and scaffolds use, since nothing can be pulled here:
#      busybox:latest        FROM scratch + Debian's busybox-static (with httpd)
#      python:3.11-slim      debootstrap bookworm minbase + python3, pytest, fastapi, uvicorn
#    The Python root file system is cached as <ci dir>/python-rootfs.tar.
#  * makes a virtualenv with moto's S3 server (target/kz-ci/moto) for the publish tests;
#  * makes a virtualenv with Kamiwaza's kz-ext (PyPI kamiwaza-sdk, pinned version) in
#    $CI_DIR/kzext, whose entry builder the v3 catalogue test compares kz with;
#  * downloads setuptools and wheel into target/kz-ci/wheelhouse, so the package-libs tests build
#    a wheel offline (pip's isolated build installs them from there: PIP_NO_INDEX, PIP_FIND_LINKS).
#
# Safe to run again: every step checks before it acts. Prints what it does on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# Where the artefacts go: KZ_CI_DIR, else $CARGO_TARGET_DIR/kz-ci, else target/kz-ci (the tests'
# harness::ci_dir() follows the same rule).
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
CI_DIR=${KZ_CI_DIR:-$TARGET/kz-ci}
mkdir -p "$CI_DIR"
say() { echo "engine-setup: $*" >&2; }

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx httpd || missing+=(busybox-static)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The docker CLI is only used here, to make base images; kz itself talks to the engine API.
DOCKER=docker
command -v docker >/dev/null 2>&1 || DOCKER=/usr/bin/docker

if ! $DOCKER version >/dev/null 2>&1; then
    [ -z "${DOCKER_HOST:-}" ] || { say "DOCKER_HOST=$DOCKER_HOST does not answer"; exit 1; }
    say "starting dockerd (data in $CI_DIR/docker, log in $CI_DIR/dockerd.log)"
    mkdir -p "$CI_DIR/docker"
    # setsid: the engine outlives this script and the test run that started it.
    setsid $SUDO dockerd --data-root "$CI_DIR/docker" >"$CI_DIR/dockerd.log" 2>&1 < /dev/null &
    for _ in $(seq 1 120); do
        $DOCKER version >/dev/null 2>&1 && break
        sleep 0.5
    done
    $DOCKER version >/dev/null 2>&1 || { say "dockerd did not answer within 60 s:"; tail -20 "$CI_DIR/dockerd.log" >&2; exit 1; }
fi

has_image() { $DOCKER image inspect "$1" >/dev/null 2>&1; }

if ! has_image busybox:latest; then
    say "building busybox:latest from /bin/busybox"
    ctx=$(mktemp -d)
    cp /bin/busybox "$ctx/busybox"
    cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /tmp /var/www /etc && chmod 1777 /tmp && echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd
CMD ["/bin/sh"]
DOCKERFILE
    DOCKER_BUILDKIT=0 $DOCKER build -q -t busybox:latest "$ctx" >/dev/null
    rm -rf "$ctx"
fi

if ! has_image python:3.11-slim; then
    tarball=$CI_DIR/python-rootfs.tar
    if [ ! -s "$tarball" ]; then
        say "debootstrap bookworm with python3 (about a minute)"
        rootfs=$(mktemp -d)
        $SUDO debootstrap --variant=minbase \
            --include=python3,python3-pytest,python3-fastapi,python3-uvicorn,python3-httpx \
            bookworm "$rootfs" http://deb.debian.org/debian >"$CI_DIR/debootstrap.log" 2>&1 \
            || { say "debootstrap failed:"; tail -20 "$CI_DIR/debootstrap.log" >&2; exit 1; }
        # `python` as in the official image.
        ln -sf python3 "$rootfs/usr/bin/python"
        $SUDO rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
        $SUDO tar -C "$rootfs" -cf "$tarball.tmp" .
        mv "$tarball.tmp" "$tarball"
        $SUDO rm -rf "$rootfs"
    fi
    say "importing python:3.11-slim"
    $DOCKER import -c 'CMD ["python3"]' -c 'ENV PYTHONUNBUFFERED=1' "$tarball" python:3.11-slim >/dev/null
fi

if [ ! -x "$CI_DIR/moto/bin/moto_server" ]; then
    say "installing moto's S3 server in $CI_DIR/moto"
    python3 -m venv "$CI_DIR/moto"
    "$CI_DIR/moto/bin/pip" install -q "moto[server]" >"$CI_DIR/pip.log" 2>&1 \
        || { say "pip install moto[server] failed:"; tail -20 "$CI_DIR/pip.log" >&2; exit 1; }
fi

KZEXT_VERSION=1.3.0
if [ "$("$CI_DIR/kzext/bin/python" -c 'import importlib.metadata as m; print(m.version("kamiwaza-sdk"))' 2>/dev/null)" != "$KZEXT_VERSION" ]; then
    say "installing kamiwaza-sdk $KZEXT_VERSION (kz-ext) in $CI_DIR/kzext"
    python3 -m venv "$CI_DIR/kzext"
    "$CI_DIR/kzext/bin/pip" install -q "kamiwaza-sdk==$KZEXT_VERSION" >"$CI_DIR/pip-kzext.log" 2>&1 \
        || { say "pip install kamiwaza-sdk failed:"; tail -20 "$CI_DIR/pip-kzext.log" >&2; exit 1; }
fi

if ! ls "$CI_DIR"/wheelhouse/setuptools-*.whl "$CI_DIR"/wheelhouse/wheel-*.whl >/dev/null 2>&1; then
    say "downloading setuptools and wheel into $CI_DIR/wheelhouse"
    python3 -m pip download -q -d "$CI_DIR/wheelhouse" setuptools wheel >"$CI_DIR/pip-wheelhouse.log" 2>&1 \
        || { say "pip download setuptools wheel failed:"; tail -20 "$CI_DIR/pip-wheelhouse.log" >&2; exit 1; }
fi

say "ready: $($DOCKER version --format 'engine {{.Server.Version}}, API {{.Server.APIVersion}}')"
