#!/usr/bin/env bash
# The two halves of the actions/cache stand-in (restore/ and save/), offline:
# entries live in $GANTRY_ACT_CACHE, which the test gives and keeps across
# the act runs of one event sequence, as GitHub keeps a repository's caches.
# What the real actions/cache v5 and its cache service do, and the tests
# depend on (actions/cache src/restoreImpl.ts and src/saveImpl.ts):
# - an entry is found by its exact key first, then by each restore key as a
#   prefix, newest first; only entries whose version matches (the real
#   version hashes the paths and compression) are seen;
# - a run sees the entries of its own ref, then those of the default branch
#   (a pull request's also of its base branch): a branch never sees another's;
# - `cache-hit` is "true" for the exact key, "false" for a restore key, and
#   not set at all on a miss;
# - an entry is immutable: saving an existing key only warns, as does saving
#   paths that do not exist; neither fails the step.
set -euo pipefail
mode="$1"
test -n "${GANTRY_ACT_CACHE:-}" || { echo "::error::GANTRY_ACT_CACHE is not set"; exit 1; }
if [ -z "${GITHUB_REF:-}" ]; then
  echo "::warning::Event Validation Error: The event type ${GITHUB_EVENT_NAME:-} is not supported because it's not tied to a branch or tag ref."
  exit 0
fi
mapfile -t paths < <(printf '%s\n' "$CACHE_PATHS" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' | grep -v '^$')
# GitHub's runner has one temp folder for every job (/home/runner/work/_temp
# on its hosted runners); act makes a random one per job. Paths under it are
# named by a fixed marker for the version and in the archive, so that a
# later job's restore finds and unpacks them as on GitHub.
marker=/home/runner/work/_temp
temp="${RUNNER_TEMP:-/nonexistent}"
escaped="$(printf '%s' "$temp" | sed 's/[][\.*^$|]/\\&/g')"
version="$(printf '%s\n' "${paths[@]}" zstd | sed "s|^$escaped|$marker|" | sha256sum | cut -c1-16)"
absolute() { case "$1" in /*) printf '%s' "$1" ;; "~"/*) printf '%s' "$HOME/${1#\~/}" ;; *) printf '%s' "$GITHUB_WORKSPACE/$1" ;; esac; }
# Entries: $GANTRY_ACT_CACHE/<n>/{key,ref,version,archive.tar}.
scopes=("$GITHUB_REF")
[ -n "${GITHUB_BASE_REF:-}" ] && scopes+=("refs/heads/$GITHUB_BASE_REF")
scopes+=("refs/heads/${GANTRY_ACT_DEFAULT_BRANCH:-main}")

# The newest entry in `scope` whose key equals $2 (exact) or starts with it.
find_entry() {
  local scope="$1" key="$2" how="$3" best="" best_time=0 d k t
  for d in "$GANTRY_ACT_CACHE"/*/; do
    [ -f "$d/archive.tar" ] || continue
    if [ "$(cat "$d/ref")" != "$scope" ] || [ "$(cat "$d/version")" != "$version" ]; then continue; fi
    k="$(cat "$d/key")"
    if [ "$how" = exact ]; then [ "$k" = "$key" ] || continue; else case "$k" in "$key"*) ;; *) continue ;; esac; fi
    t="$(cat "$d/created")"
    if [ "$t" -gt "$best_time" ]; then best="$d" best_time="$t"; fi
  done
  printf '%s' "$best"
}

case "$mode" in
restore)
  mapfile -t restore_keys < <(printf '%s\n' "${CACHE_RESTORE_KEYS:-}" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' | grep -v '^$' || true)
  found="" matched=""
  for scope in "${scopes[@]}"; do
    found="$(find_entry "$scope" "$CACHE_KEY" exact)"
    [ -n "$found" ] && break
    for rk in "${restore_keys[@]}"; do
      found="$(find_entry "$scope" "$rk" prefix)"
      [ -n "$found" ] && break 2
    done
  done
  echo "cache-primary-key=$CACHE_KEY" >>"$GITHUB_OUTPUT"
  if [ -z "$found" ]; then
    echo "Cache not found for input keys: $(printf '%s\n' "$CACHE_KEY" "${restore_keys[@]}" | paste -sd, | sed 's/,/, /g')"
    exit 0
  fi
  matched="$(cat "$found/key")"
  tar -xPf "$found/archive.tar" --transform "s|^$marker|$temp|"
  echo "cache-matched-key=$matched" >>"$GITHUB_OUTPUT"
  if [ "$matched" = "$CACHE_KEY" ]; then echo "cache-hit=true" >>"$GITHUB_OUTPUT"; else echo "cache-hit=false" >>"$GITHUB_OUTPUT"; fi
  echo "Cache restored from key: $matched"
  ;;
save)
  existing=()
  for p in "${paths[@]}"; do
    a="$(absolute "$p")"
    [ -e "$a" ] && existing+=("$a")
  done
  if [ "${#existing[@]}" = 0 ]; then
    echo "::warning::Path Validation Error: Path(s) specified in the action for caching do(es) not exist, hence no cache is being saved."
    echo "::warning::Cache save failed."
    exit 0
  fi
  # Reserving the key is atomic (mkdir), as the cache service's is: of two
  # jobs saving one key at once, the second only warns.
  entry="$GANTRY_ACT_CACHE/$(printf '%s\n' "$GITHUB_REF" "$version" "$CACHE_KEY" | sha256sum | cut -c1-32)"
  if ! mkdir "$entry" 2>/dev/null; then
    echo "::warning::Failed to save: Unable to reserve cache with key $CACHE_KEY, another job may be creating this cache."
    echo "::warning::Cache save failed."
    exit 0
  fi
  printf '%s' "$CACHE_KEY" >"$entry/key"
  printf '%s' "$GITHUB_REF" >"$entry/ref"
  printf '%s' "$version" >"$entry/version"
  date +%s%N >"$entry/created"
  # The archive last: an entry is only seen once it is complete.
  tar -cPf "$entry/archive.part" --transform "s|^$escaped|$marker|" "${existing[@]}"
  mv "$entry/archive.part" "$entry/archive.tar"
  echo "Cache saved with key: $CACHE_KEY"
  ;;
esac
