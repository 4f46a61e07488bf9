#!/usr/bin/env bash
# Benchmarks of `kz build` against the docker CLI on the same engine (figures go in README.md;
# nothing here is asserted). Needs a running engine, python:3.11-slim, the docker CLI, and
# hyperfine (apt-get install hyperfine) — without hyperfine each command is timed in a loop.
#
#   1. no-op: `kz build --all` over 20 extensions whose images are current, against a loop of
#      `docker build` over the same 20 contexts on the same warm layer cache;
#   2. cold: one build without the layer cache, `kz build --no-cache` against
#      `docker build --no-cache`, same Dockerfile and context.
#
# KZ=<path> picks the binary (default: target/release/kz, built if missing). RUNS=<n> (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
KZ="${KZ:-$root/target/release/kz}"
RUNS="${RUNS:-10}"
[ -x "$KZ" ] || cargo build --release --quiet
command -v docker >/dev/null || { echo "bench-build: the docker CLI is needed for the comparison" >&2; exit 1; }
export DOCKER_BUILDKIT=0 # both sides on the classic builder (kz uses it through the API)

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
    echo "docker build -q -t $ns/docker-tool-$i:1.0.0 $work/tools/tool-$i >/dev/null"
  done
} > "$docker_loop"

echo "== warming: every image built once by each side"
(cd "$work" && "$KZ" build --all -q >/dev/null)
bash "$docker_loop" 2>/dev/null

time_it() { # name, command: mean wall time of RUNS runs, in ms
  local start end
  start=$(date +%s%N)
  for _ in $(seq 1 "$RUNS"); do bash -c "$2" >/dev/null 2>&1; done
  end=$(date +%s%N)
  echo "$1: $(( (end - start) / RUNS / 1000000 )) ms (mean of $RUNS)"
}

echo "== no-op over 20 extensions (images current, warm cache)"
if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 2 --runs "$RUNS" \
    -n "kz build --all" "bash -c 'cd $work && $KZ build --all -q'" \
    -n "docker build loop" "bash $docker_loop"
else
  time_it "kz build --all" "cd $work && $KZ build --all -q"
  time_it "docker build loop" "bash $docker_loop"
fi

echo "== one cold build (no layer cache), same Dockerfile and context"
cold_runs=$(( RUNS < 5 ? RUNS : 5 ))
# kz labels its images (two LABEL steps in the classic builder); the same labels for docker, to
# compare the same work.
labels="--label dev.kz.managed=true --label dev.kz.content-hash=sha256:0"
if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 1 --runs "$cold_runs" \
    -n "kz build --no-cache" "bash -c 'cd $work && $KZ build --no-cache -q tool-01'" \
    -n "docker build --no-cache" "docker build -q --no-cache -t $ns/docker-tool-01:1.0.0 $work/tools/tool-01" \
    -n "docker build --no-cache, kz's two labels" "docker build -q --no-cache $labels -t $ns/docker-tool-01:1.0.0 $work/tools/tool-01"
else
  RUNS=$cold_runs time_it "kz build --no-cache" "cd $work && $KZ build --no-cache -q tool-01"
  RUNS=$cold_runs time_it "docker build --no-cache" "docker build -q --no-cache -t $ns/docker-tool-01:1.0.0 $work/tools/tool-01"
  RUNS=$cold_runs time_it "docker build --no-cache, kz's two labels" "docker build -q --no-cache $labels -t $ns/docker-tool-01:1.0.0 $work/tools/tool-01"
fi
