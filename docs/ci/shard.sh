#!/usr/bin/env bash
# One runner's part: validate, build and test shard SHARD of COUNT of the extensions changed
# since BASE. Every kz command takes the same selection, so the shards never overlap.
set -euo pipefail
BASE=${BASE:-origin/main}
: "${SHARD:?set SHARD (1..COUNT)}" "${COUNT:?set COUNT}"
scope=(--changed-since "$BASE" --shard "$SHARD/$COUNT")
kz list --json "${scope[@]}"
kz validate "${scope[@]}"
kz sync-compose --check "${scope[@]}"
kz build --all "${scope[@]}"
kz test --all --no-build "${scope[@]}"
