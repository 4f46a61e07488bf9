#!/usr/bin/env bash
# The one command that runs kz's whole test suite (the README's "Testing" section; .ci/run calls
# it). On a fresh Debian machine with a Rust toolchain it first runs scripts/engine-setup.sh, which
# installs and starts what the lanes need, then runs formatting, lints and every lane:
#
#   unit         cargo's unit tests (src/)                          needs nothing
#   integration  the real kz on fixture trees (tests/integration)   needs nothing
#   engine       --features engine-tests                            Docker engine, docker-registry,
#                                                                   the setup's images and tools
#   s3           --features s3-tests                                moto's S3 server (+ engine)
#   compat       --features compat-tests                            the corpus in KZ_COMPAT_CORPUS
#
# Each lane ends with one line: passed, failed, and the count tests/lanes.baseline expects. A lane
# whose count drops below its baseline fails the run, as does any ignored (skipped) test.
# The compat lane runs when KZ_COMPAT_CORPUS names the corpus (CI: ../shared/corpus); unset, it is
# reported as not run, unless CI=true, where that fails the run.
#
# Options: --lane NAME (repeatable) runs only those lanes, with no setup beyond what they need.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case $CARGO_TARGET_DIR in /*) ;; *) CARGO_TARGET_DIR=$ROOT/$CARGO_TARGET_DIR ;; esac
export KZ_CI_DIR="${KZ_CI_DIR:-$CARGO_TARGET_DIR/kz-ci}"

ALL_LANES=(unit integration engine s3 compat)
LANES=()
while [ $# -gt 0 ]; do
    case $1 in
        --lane) LANES+=("$2"); shift 2 ;;
        *) echo "test.sh: unknown argument $1 (use --lane NAME)" >&2; exit 2 ;;
    esac
done
[ ${#LANES[@]} -gt 0 ] || LANES=("${ALL_LANES[@]}")
wants() { local l; for l in "${LANES[@]}"; do [ "$l" = "$1" ] && return 0; done; return 1; }

need() { command -v "$1" >/dev/null 2>&1 || { echo "test.sh: '$1' is required but not installed" >&2; exit 1; }; }
need cargo

# The compat lane's corpus: decided before anything runs, so a wrong setting fails at once.
COMPAT=run
if wants compat; then
    if [ -z "${KZ_COMPAT_CORPUS:-}" ]; then
        if [ "${CI:-}" = "true" ]; then
            echo "test.sh: CI=true but KZ_COMPAT_CORPUS is not set: the compat lane must run in CI" >&2
            exit 1
        fi
        COMPAT=unset
    else
        corpus=$KZ_COMPAT_CORPUS
        case $corpus in /*) ;; *) corpus=$ROOT/$corpus ;; esac
        for part in kamiwaza/SOURCES.md reference-outputs/README.md reference-outputs/synthetic/input; do
            if [ ! -e "$corpus/$part" ]; then
                echo "test.sh: KZ_COMPAT_CORPUS=$KZ_COMPAT_CORPUS is missing or incomplete ($part not found)" >&2
                exit 1
            fi
        done
    fi
fi

if wants engine || wants s3; then
    echo "== engine setup"
    ./scripts/engine-setup.sh || { echo "test.sh: engine setup failed" >&2; exit 1; }
fi

if [ ${#LANES[@]} -eq ${#ALL_LANES[@]} ]; then
    echo "== cargo fmt --check"
    cargo fmt --all -- --check || exit 1
    echo "== cargo clippy -D warnings (no features: a fresh clone's build)"
    cargo clippy --all-targets --locked -- -D warnings || exit 1
    echo "== cargo clippy -D warnings (every lane)"
    cargo clippy --all-targets --all-features --locked -- -D warnings || exit 1
fi

echo "== build the tests"
cargo test --all-features --locked --no-run -q || exit 1

declare -A PASSED FAILED IGNORED LANE_SECS STATUS
LOG_DIR=$(mktemp -d)
trap 'rm -rf "$LOG_DIR"' EXIT

# run_lane NAME [ENV=...]... -- CARGO_TEST_ARGS... [; more invocations separated by ---]
run_lane() {
    local lane=$1; shift
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    local log=$LOG_DIR/$lane.log start=$SECONDS rc=0 invocation=()
    : > "$log"
    echo "== lane $lane"
    while [ $# -gt 0 ]; do
        invocation=()
        while [ $# -gt 0 ] && [ "$1" != "---" ]; do invocation+=("$1"); shift; done
        [ $# -gt 0 ] && shift
        env "${envs[@]}" cargo test --all-features --locked "${invocation[@]}" 2>&1 | tee -a "$log"
        [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
    done
    local p=0 f=0 i=0 line
    while read -r line; do
        [[ $line =~ ([0-9]+)\ passed\;\ ([0-9]+)\ failed\;\ ([0-9]+)\ ignored ]] || continue
        p=$((p + BASH_REMATCH[1])); f=$((f + BASH_REMATCH[2])); i=$((i + BASH_REMATCH[3]))
    done < <(grep -E '^test result:' "$log")
    PASSED[$lane]=$p; FAILED[$lane]=$f; IGNORED[$lane]=$i
    LANE_SECS[$lane]=$((SECONDS - start))
    STATUS[$lane]=$rc
}

# Without a server, a test of the fast lanes must not need one: they run with the engine, the
# setup's artefacts and the corpus out of reach, as on a fresh clone.
FAST_ENV=(DOCKER_HOST=unix:///nonexistent/kz-fast-lane.sock KZ_CI_DIR=/nonexistent/kz-ci
          KZ_COMPAT_CORPUS= KZ_TEST_MOTO_SERVER=/nonexistent/moto_server)
wants unit && run_lane unit "${FAST_ENV[@]}" -- --lib -- --skip corpus_tests
wants integration && run_lane integration "${FAST_ENV[@]}" -- --test integration -- \
    --skip engine:: --skip s3:: --skip compat::
wants engine && run_lane engine -- --test integration engine::
wants s3 && run_lane s3 -- --test integration s3::
if wants compat && [ "$COMPAT" = run ]; then
    run_lane compat -- --lib corpus_tests --- --test integration compat::
fi

# The summary: one line per lane, checked against the baseline.
declare -A BASE
while read -r lane count; do
    case $lane in ''|\#*) continue ;; esac
    BASE[$lane]=$count
done < tests/lanes.baseline

echo
echo "== lanes"
bad=0; total_p=0; total_f=0
for lane in "${ALL_LANES[@]}"; do
    if ! wants "$lane"; then continue; fi
    if [ "$lane" = compat ] && [ "$COMPAT" = unset ]; then
        echo "lane compat: not run (KZ_COMPAT_CORPUS is not set; CI sets it to ../shared/corpus)"
        continue
    fi
    p=${PASSED[$lane]:-0}; f=${FAILED[$lane]:-0}; i=${IGNORED[$lane]:-0}; base=${BASE[$lane]:-0}
    total_p=$((total_p + p)); total_f=$((total_f + f))
    verdict=ok
    if [ "${STATUS[$lane]:-1}" -ne 0 ] || [ "$f" -gt 0 ]; then verdict=FAILED; bad=1; fi
    if [ "$p" -lt "$base" ]; then verdict="FAILED (fewer tests than the baseline)"; bad=1; fi
    if [ "$i" -gt 0 ]; then verdict="FAILED ($i ignored: no test may be skipped)"; bad=1; fi
    printf 'lane %-12s %4d passed, %d failed, baseline %d, %ds: %s\n' \
        "$lane:" "$p" "$f" "$base" "${LANE_SECS[$lane]:-0}" "$verdict"
done
echo "$total_p passed, $total_f failed"
exit $bad
