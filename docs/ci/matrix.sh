#!/usr/bin/env bash
# The CI matrix: how many shards the changed extensions need, as JSON for the CI system.
#   BASE    the reference to compare with (default origin/main; fetch it first)
#   PER     extensions per runner (default 10); MAX  the most runners (default 8)
# Prints `shards=[1,2,...]` and `count=N` lines (append them to $GITHUB_OUTPUT), and the changed
# extensions as `kz list --json` gives them on stderr. No changed extension: `shards=[]`.
set -euo pipefail
BASE=${BASE:-origin/main}
PER=${PER:-10}
MAX=${MAX:-8}
changed=$(kz list --json --changed-since "$BASE")
echo "$changed" >&2
n=$(printf '%s' "$changed" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
count=$(( (n + PER - 1) / PER ))
[ "$count" -le "$MAX" ] || count=$MAX
shards=$(python3 -c "import json; print(json.dumps(list(range(1, $count + 1))))")
echo "shards=$shards"
echo "count=$count"
