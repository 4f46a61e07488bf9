#!/usr/bin/env bash
# Set up this Kamiwaza extension registry package on a Kamiwaza host: check Docker, load the
# image archives the package carries, and write kamiwaza-registry.env for Kamiwaza's env.sh.
# Works with both catalogue layouts (garden/v2 and the v1 garden/default).
#
#   ./package-setup.sh        ask before loading images
#   ./package-setup.sh -y     answer yes to every question
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
YES=0
case "${1:-}" in
    -y|--yes) YES=1 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "usage: $0 [-y]" >&2; exit 2 ;;
esac

ask() {
    [ "$YES" = 1 ] && return 0
    local reply
    read -r -p "$1 [y/N] " reply || return 1
    [[ "$reply" =~ ^[Yy] ]]
}

# The catalogue layout: v2 when present, else v1.
if [ -d "$ROOT/garden/v2" ]; then
    GARDEN="$ROOT/garden/v2"
elif [ -d "$ROOT/garden/default" ]; then
    GARDEN="$ROOT/garden/default"
else
    echo "error: no garden/v2 or garden/default folder in $ROOT; is this a registry package?" >&2
    exit 1
fi
echo "Kamiwaza extension registry: ${GARDEN#"$ROOT"/}"

count() {
    local file="$1"
    if [ ! -f "$file" ]; then
        echo "missing"
    elif command -v jq >/dev/null 2>&1; then
        jq 'length' "$file"
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$file"
    else
        echo "present"
    fi
}
echo "  apps and services: $(count "$GARDEN/apps.json")"
echo "  tools:             $(count "$GARDEN/tools.json")"

IMAGES="$GARDEN/docker-images"
shopt -s nullglob
archives=("$IMAGES"/*.tar)
if [ "${#archives[@]}" -gt 0 ]; then
    if ! command -v docker >/dev/null 2>&1; then
        echo "error: docker is not installed; it is needed to load ${#archives[@]} image archive(s)" >&2
        exit 1
    fi
    if ! docker info >/dev/null 2>&1; then
        echo "error: docker is installed but not running (docker info failed)" >&2
        exit 1
    fi
    if ask "Load ${#archives[@]} image archive(s) into Docker?"; then
        failed=0
        for archive in "${archives[@]}"; do
            echo "  loading $(basename "$archive")"
            docker load -i "$archive" >/dev/null || { echo "  failed: $archive" >&2; failed=1; }
        done
        [ "$failed" = 0 ] || { echo "error: some images could not be loaded" >&2; exit 1; }
    fi
else
    echo "  no image archives in this package (images are pulled from their registry)"
fi

ENV_FILE="$ROOT/kamiwaza-registry.env"
cat > "$ENV_FILE" <<ENV
KAMIWAZA_EXTENSION_STAGE=LOCAL
KAMIWAZA_EXTENSION_LOCAL_STAGE_URL=file://$ROOT
KAMIWAZA_REGISTRY_APPS=$GARDEN/apps.json
KAMIWAZA_REGISTRY_TOOLS=$GARDEN/tools.json
ENV
echo "Wrote $ENV_FILE"
echo
echo "Next: add these lines to Kamiwaza's env.sh (with 'export'), then restart Kamiwaza:"
sed 's/^/  export /' "$ENV_FILE"
