#!/usr/bin/env bash
# Commit a running zoo 2.0 build's resumable state (records, ONNX files, per-source transfer csvs, cards,
# ground truth) to the current branch every N seconds while the build process lives, and once at its end,
# so a later session can resume the build from the branch (see zoo/BUILD-2.0.md).
# usage: zoo/build/checkpoint_commits.sh <build pid> [seconds, default 1200]
set -u
cd "$(dirname "$0")/../.."
pid=$1
every=${2:-1200}
paths=(zoo/build_state-2.0 zoo/models-2.0 zoo/cards-2.0 zoo/ground_truth-2.0 zoo/zoo.yaml zoo/BUILD-2.0.md)

commit() {
  local existing=()
  for p in "${paths[@]}"; do [ -e "$p" ] && existing+=("$p"); done
  [ ${#existing[@]} -eq 0 ] && return
  local status
  status=$(nice -n 19 .venv/bin/python -m zoo.build --status 2>/dev/null | tail -1)
  git add -- "${existing[@]}" || return
  # commit only the paths git now tracks: an existing but empty folder (ground_truth-2.0/ before the affinity
  # stage) is not a pathspec git knows, and `git commit -- paths` would fail on it
  local tracked=()
  for p in "${existing[@]}"; do [ -n "$(git ls-files -- "$p" | head -1)" ] && tracked+=("$p"); done
  git commit -q -m "zoo 2.0 build checkpoint: ${status}" -- "${tracked[@]}" && echo "$(date -u +%H:%M) committed: ${status}"
}

while kill -0 "$pid" 2>/dev/null; do
  sleep "$every"
  commit
done
commit
