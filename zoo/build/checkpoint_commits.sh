#!/usr/bin/env bash
# Commit a running zoo build's resumable state (records, ONNX files, per-source transfer csvs, cards,
# ground truth) to the current branch every N seconds while the build process lives, and once at its end,
# so a later session can resume the build from the branch (see zoo/BUILD-2.0.md, zoo/BUILD-3.0.md).
# usage: zoo/build/checkpoint_commits.sh <build pid> [seconds, default 1200] [version, default 3.0]
set -u
cd "$(dirname "$0")/../.."
pid=$1
every=${2:-1200}
version=${3:-3.0}
zoo_file=zoo/zoo-$version.yaml
[ "$version" = "3.0" ] && zoo_file=zoo/zoo.yaml  # the default zoo (zoo/build/config.py: DEFAULT_VERSION)
paths=(zoo/build_state-$version zoo/models-$version zoo/cards-$version zoo/ground_truth-$version $zoo_file zoo/BUILD-$version.md)

commit() {
  local existing=()
  for p in "${paths[@]}"; do [ -e "$p" ] && existing+=("$p"); done
  [ ${#existing[@]} -eq 0 ] && return
  local status
  status=$(nice -n 19 .venv/bin/python -m zoo.build --version "$version" --status 2>/dev/null | tail -1)
  git add -- "${existing[@]}" || return
  # commit only the paths git now tracks: an existing but empty folder (ground_truth-2.0/ before the affinity
  # stage) is not a pathspec git knows, and `git commit -- paths` would fail on it
  local tracked=()
  for p in "${existing[@]}"; do [ -n "$(git ls-files -- "$p" | head -1)" ] && tracked+=("$p"); done
  git commit -q -m "zoo $version build checkpoint: ${status}" -- "${tracked[@]}" && echo "$(date -u +%H:%M) committed: ${status}"
}

while kill -0 "$pid" 2>/dev/null; do
  sleep "$every"
  commit
done
commit
