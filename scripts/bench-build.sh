#!/usr/bin/env bash
# Benchmarks of `kz build` (BuildKit through the Engine API) against Debian's docker CLI with
# BuildKit (`DOCKER_BUILDKIT=1 /usr/bin/docker build`) on the same engine (figures go in
# README.md; nothing here is asserted). Runs are interleaved (kz, docker, kz, docker, ...) so a
# load change on the shared machine hits both sides alike; the median is reported.
#
#   1. no-op: `kz build --all` over 20 extensions whose images are current, against a loop of
#      `docker build` over the same 20 contexts on the same warm cache;
#   2. cold: one build without the cache, `kz build --no-cache` against `docker build --no-cache`,
#      same Dockerfile and context.
#
# RUN steps use `--network none` on both sides (the test engine may have no bridge).
# KZ=<path> picks the binary (default: target/release/kz, built if missing). RUNS=<n> (default 7).
# DOCKER=<path> picks the CLI (default /usr/bin/docker, Debian's 20.10 with BuildKit built in).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
KZ="${KZ:-$root/target/release/kz}"
RUNS="${RUNS:-7}"
DOCKER="${DOCKER:-/usr/bin/docker}"
[ -x "$KZ" ] || cargo build --release --quiet
[ -x "$DOCKER" ] || { echo "bench-build: $DOCKER (the docker CLI) is needed for the comparison" >&2; exit 1; }
export DOCKER_BUILDKIT=1 # both sides on the engine's BuildKit

ns="kzbench-$$"
work="$(mktemp -d)"
cleanup() {
  docker images --format '{{.Repository}}:{{.Tag}}' | grep "^$ns/" | xargs -r docker rmi -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# 20 tools, each a compose service built from its folder: a Dockerfile, a few sources, tests.
printf 'images:\n  namespace: %s\n' "$ns" > "$work/kz.yaml"
for i in $(seq -w 1 20); do
  t="$work/tools/tool-$i"
  mkdir -p "$t/src" "$t/tests"
  printf '{"name": "tool-%s", "version": "1.0.0"}\n' "$i" > "$t/kamiwaza.json"
  printf 'services:\n  app:\n    build: .\n' > "$t/docker-compose.yml"
  cat > "$t/Dockerfile" <<'EOF'
FROM python:3.11-slim
WORKDIR /app
COPY src ./src
COPY tests ./tests
RUN python3 -c "import hashlib; [hashlib.sha256(str(i).encode()).digest() for i in range(600000)]"
USER nobody
CMD ["python3", "-m", "src.server"]
EOF
  for f in $(seq 1 30); do head -c 4096 /dev/urandom | base64 > "$t/src/mod_$f.py"; done
  echo "def test_ok(): assert True" > "$t/tests/test_ok.py"
done

docker_loop="$work/docker-loop.sh"
{
  echo "set -e"
  for i in $(seq -w 1 20); do
    echo "$DOCKER build -q --network none -t $ns/docker-tool-$i:1.0.0 $work/tools/tool-$i >/dev/null"
  done
} > "$docker_loop"

echo "== warming: every image built once by each side"
(cd "$work" && "$KZ" build --all -q --network none >/dev/null)
bash "$docker_loop" 2>/dev/null

interleave() { # name-a, cmd-a, name-b, cmd-b, runs: medians of interleaved runs, in ms
  local ta=() tb=() s e
  for _ in $(seq 1 "$5"); do
    s=$(date +%s%N); bash -c "$2" >/dev/null 2>&1; e=$(date +%s%N); ta+=($(( (e - s) / 1000000 )))
    s=$(date +%s%N); bash -c "$4" >/dev/null 2>&1; e=$(date +%s%N); tb+=($(( (e - s) / 1000000 )))
  done
  local ma mb
  ma=$(printf '%s\n' "${ta[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
  mb=$(printf '%s\n' "${tb[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
  echo "$1: median $ma ms (runs: ${ta[*]})"
  echo "$3: median $mb ms (runs: ${tb[*]})"
  awk -v a="$ma" -v b="$mb" 'BEGIN {printf "ratio %s / %s = %.3f\n", "'"$1"'", "'"$3"'", a / b}'
}

echo "== load: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min), $(nproc) cores"
echo "== no-op over 20 extensions (images current, warm cache)"
interleave "kz build --all" "cd $work && $KZ build --all -q --network none" \
  "docker build loop" "bash $docker_loop" "$RUNS"

echo "== one cold build (no cache), same Dockerfile and context"
interleave "kz build --no-cache" "cd $work && $KZ build --no-cache -q --network none tool-01" \
  "docker build --no-cache" "$DOCKER build -q --no-cache --network none -t $ns/docker-tool-01:1.0.0 $work/tools/tool-01" \
  "$RUNS"
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
