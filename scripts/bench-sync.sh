#!/usr/bin/env bash
# Old kz against new kz on sync-compose and validate, in one run, interleaved, median of 5
# (issue 15). Usage: scripts/bench-sync.sh OLD_KZ NEW_KZ [CORPUS]
#
#  * scale: 1,000 and 10,000 extensions copied from the corpus shapes (as benches/scale.rs
#    makes them): `kz validate`, and `kz sync-compose` with every App Garden file removed first;
#  * mounts: one app whose services convert 30,000 and 60,000 bind mounts (distinct data
#    folders, so every mount becomes its own volume): `kz sync-compose`, file removed first.
#
# Prints one line per case: median wall time of each binary, and new/old. Writes only under a
# temporary folder, removed at the end.
set -euo pipefail
OLD=$(realpath "$1"); NEW=$(realpath "$2")
CORPUS=$(realpath "${3:-$(dirname "$0")/../../shared/corpus}")
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
say() { echo "bench-sync: $*" >&2; }

shapes=()
for d in "$CORPUS"/kamiwaza/*/{apps,services,tools}/*/; do
    [ -f "$d/docker-compose.yml" ] && [ -f "$d/kamiwaza.json" ] && shapes+=("${d%/}")
done
[ ${#shapes[@]} -gt 0 ] || { echo "no corpus shapes under $CORPUS" >&2; exit 2; }

scale() { # root n
    local root=$1 n=$2 i shape kind name dest
    for ((i = 0; i < n; i++)); do
        shape=${shapes[$((i % ${#shapes[@]}))]}
        kind=$(basename "$(dirname "$shape")")
        name=$(printf '%s-%05d' "$(basename "$shape")" "$i")
        dest=$root/$kind/$name
        mkdir -p "$dest"
        cp "$shape/docker-compose.yml" "$dest/"
        [ -f "$shape/docker-compose.appgarden.yml" ] && cp "$shape/docker-compose.appgarden.yml" "$dest/"
        sed "0,/\"name\": *\"\([^\"]*\)\"/s//\"name\": \"\1-$(printf %05d "$i")\"/" \
            "$shape/kamiwaza.json" >"$dest/kamiwaza.json"
    done
}

mounts() { # root n
    local root=$1 n=$2 s j
    mkdir -p "$root/apps/mounts"
    echo '{"name": "mounts", "version": "1.0.0", "description": "d"}' >"$root/apps/mounts/kamiwaza.json"
    {
        echo "services:"
        for ((s = 0; s < n / 10; s++)); do
            printf '  s%d:\n    image: busybox\n    volumes:\n' "$s"
            for ((j = 0; j < 10; j++)); do printf '    - ./d%d_%d:/m/v%d\n' "$s" "$j" "$j"; done
        done
    } >"$root/apps/mounts/docker-compose.yml"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run() { # label root command...
    local label=$1 root=$2; shift 2
    local -a old=() new=()
    for _ in 1 2 3 4 5; do
        for which in old new; do
            if [ "$1" = sync-compose ]; then
                find "$root" -name docker-compose.appgarden.yml -delete
            fi
            local bin=$OLD; [ $which = new ] && bin=$NEW
            local t0 t1
            t0=$(date +%s%N)
            local rc=0
            (cd "$root" && "$bin" "$@" >/dev/null 2>&1) || rc=$?
            t1=$(date +%s%N)
            # validate exits 1 on the corpus's findings; anything else is a broken run.
            if [ $rc -gt 1 ] || { [ "$1" = sync-compose ] && [ $rc -ne 0 ]; }; then
                echo "bench-sync: $bin $* in $root exited $rc" >&2
                exit 1
            fi
            if [ $which = old ]; then old+=($(((t1 - t0) / 1000000))); else new+=($(((t1 - t0) / 1000000))); fi
        done
    done
    local mo mn
    mo=$(printf '%s\n' "${old[@]}" | median); mn=$(printf '%s\n' "${new[@]}" | median)
    printf '%-28s old %7d ms   new %7d ms   new/old %.2f   (old: %s; new: %s)\n' >&2 \
        "$label" "$mo" "$mn" "$(echo "$mn / $mo" | bc -l)" "${old[*]}" "${new[*]}"
    echo "$mn"
}

# BENCH_SMALL=1: a quick smoke run of the script itself (10 / 100 extensions, 300 / 600 mounts).
S1=1000 S2=10000 M1=30000 M2=60000
[ "${BENCH_SMALL:-}" = 1 ] && S1=10 S2=100 M1=300 M2=600
say "generating workspaces under $TMP"
scale "$TMP/s1" $S1
scale "$TMP/s2" $S2
mounts "$TMP/m1" $M1
mounts "$TMP/m2" $M2
run "$S1 exts: validate" "$TMP/s1" validate >/dev/null
run "$S1 exts: sync-compose" "$TMP/s1" sync-compose >/dev/null
run "$S2 exts: validate" "$TMP/s2" validate >/dev/null
run "$S2 exts: sync-compose" "$TMP/s2" sync-compose >/dev/null
a=$(run "$M1 mounts: sync-compose" "$TMP/m1" sync-compose)
b=$(run "$M2 mounts: sync-compose" "$TMP/m2" sync-compose)
printf 'new binary, %d vs %d mounts: %.2fx\n' "$M2" "$M1" "$(echo "$b / $a" | bc -l)" >&2
