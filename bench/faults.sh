#!/usr/bin/env bash
# The fault campaign, long mode: bench/faults.sh [--debug]
#
# Runs tests/faults.rs with CHARMKIT_FAULTS=long against the release build of the charm
# (`cargo test --release`; --debug uses the debug build, faster to build, slower hooks): ≥ 1,000
# kill -9 trials during dispatch and during export, and larger samples of every other class.
# Writes bench/faults-results.md: one row per class (trials, lost, corrupt, duplicated, hooks
# failed by tracing, hook time added, requests sent unverified), the machine, the commit and the
# seed. CHARMKIT_FAULTS_SEED=<n> changes the seed. Needs root for the filesystem classes (tmpfs);
# elsewhere they report SKIPPED. ~3–4 min on 2 cores (199 s on 2026-11-26), plus the release build.
set -euo pipefail
bench=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
root=$(dirname "$bench")
cd "$root"

profile=(--release)
label="release build"
if [ "${1:-}" = "--debug" ]; then
  profile=()
  label="debug build"
fi
seed=${CHARMKIT_FAULTS_SEED:-$((0x5eedcafef00d))}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

start=$(date +%s)
CHARMKIT_FAULTS=long CHARMKIT_FAULTS_SEED=$seed \
  cargo test --locked "${profile[@]}" --test tests faults:: -- --nocapture --test-threads=1 2>&1 | tee "$log" >&2
took=$(( $(date +%s) - start ))

out=bench/faults-results.md
{
  echo "# Fault campaign: results (long mode)"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
  echo "- Commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown) ($label), seed $seed"
  echo "- Command: \`bench/faults.sh${1:+ $1}\` ($took s)"
  echo
  echo "Every row is a class of tests/faults.rs. *Lost*: data a completed dispatch stored that"
  echo "reached neither the collector nor the buffer. *Corrupt*: chunks that do not read back"
  echo "whole. *Duplicated*: chunks the collector received twice — allowed, delivery is at least"
  echo "once. *Failed*: hooks failed, hung or panicked because of tracing. *Hook time added*: the"
  echo "median time tracing added to a hook in that class. *Unverified*: requests a collector"
  echo "received over TLS it should have refused."
  echo
  echo "| class | trials | lost | corrupt | duplicated | failed | hook time added | unverified | notes |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
  grep -o 'FIGURES | .*' "$log" | sed 's/^FIGURES //'
} > "$out"
echo "wrote $out" >&2
if grep -q '^test result: FAILED' "$log"; then
  echo "some classes FAILED: see the output above" >&2
  exit 1
fi
