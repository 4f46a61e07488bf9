#!/usr/bin/env bash
# The one command that runs kz's whole test suite: formatting, lints, unit and integration tests.
# Works on a fresh Debian machine with a Rust toolchain (cargo, rustfmt, clippy): it first runs
# scripts/engine-setup.sh, which installs and starts a Docker engine when none answers, builds the
# local base images and the moto S3 server the tests use (cached under target/kz-ci/).
# The corpus it compares against is ../shared (beside the repository).
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "test.sh: '$1' is required but not installed" >&2; exit 1; }; }
need cargo
[ -d ../shared/corpus ] || { echo "test.sh: ../shared/corpus is missing (the corpus sits beside the repo)" >&2; exit 1; }

echo "== engine setup"
./scripts/engine-setup.sh
export KZ_TEST_MOTO_SERVER="$PWD/target/kz-ci/moto/bin/moto_server"
export KZ_TEST_KZEXT_PYTHON="$PWD/target/kz-ci/kzext/bin/python"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --locked
