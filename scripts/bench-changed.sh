#!/usr/bin/env bash
# Benchmark (figures go in README.md; nothing is asserted): `kz ci-pipeline --changed-since main`
# with one changed extension against a full `kz ci-pipeline`, on a git repository of N busybox
# extensions (default 100), each run starting from an engine without the workspace's images (as a
# fresh CI runner would). Needs a running engine with busybox:latest and hyperfine
# (apt-get install hyperfine). KZ=<path> (default target/release/kz), N=<count>, RUNS=<n> (3).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
KZ="${KZ:-$root/target/release/kz}"
N="${N:-100}"
RUNS="${RUNS:-3}"
[ -x "$KZ" ] || cargo build --release --quiet
command -v hyperfine >/dev/null || { echo "bench-changed: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }

ns="kzbenchci-$$"
work="$(mktemp -d)"
cleanup() {
  docker images --format '{{.Repository}}:{{.Tag}}' | grep "^$ns/" | xargs -r docker rmi -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

printf 'images:\n  namespace: %s\n' "$ns" > "$work/kz.yaml"
for i in $(seq -w 1 "$N"); do
  name="tool-$i"; t="$work/tools/$name"
  mkdir -p "$t"
  cat > "$t/kamiwaza.json" <<JSON
{
  "name": "$name",
  "version": "1.0.0",
  "kamiwaza_version": ">=0.9.0",
  "source_type": "kamiwaza",
  "visibility": "public",
  "description": "busybox tool $i",
  "risk_tier": 1,
  "verified": false,
  "image": "$ns/$name:1.0.0"
}
JSON
  printf 'FROM busybox\nRUN echo %s > /id\nCMD ["cat", "/id"]\n' "$i" > "$t/Dockerfile"
  printf 'services:\n  %s:\n    build: .\n    image: %s/%s:1.0.0\n' "$name" "$ns" "$name" > "$t/docker-compose.yml"
done
cd "$work"
"$KZ" -q sync-compose >/dev/null
git init -q -b main && git add -A && git -c user.name=kz -c user.email=kz@example.invalid commit -qm base
git checkout -q -b feature
echo 'RUN echo changed > /changed' >> "tools/tool-$(printf '%0*d' ${#N} 1)/Dockerfile"
git -c user.name=kz -c user.email=kz@example.invalid commit -qam change

reset="docker images --format '{{.Repository}}:{{.Tag}}' | grep '^$ns/' | xargs -r docker rmi -f >/dev/null 2>&1; rm -rf dist build; true"
hyperfine --runs "$RUNS" --prepare "$reset" \
  -n "full ci-pipeline ($N extensions)" "$KZ -q ci-pipeline" \
  -n "ci-pipeline --changed-since main (1 changed)" "$KZ -q ci-pipeline --changed-since main"
