#!/usr/bin/env bash
# charmkit vs ops, side by side: bench/run.sh [--symbols] [bench.py options, see --help]
#
# Sets up everything in one go, then runs bench/bench.py:
#   - bench/.venv with ops[tracing]==3.9.0 from PyPI (the Python twin charm's dependencies),
#   - our release binary (cargo build --release --locked; a no-op when it is up to date),
#   - perf, strace and valgrind for the profile (apt-get, when root; skipped if unavailable),
# and writes bench/results.md. BENCH_NO_BUILD=1 skips the cargo build; BENCH_NO_APT=1 the
# apt-get installs (a missing binary then means ops only). --symbols also builds an unstripped copy of ours (bench/.target-prof) so the
# callgrind profile names our functions (a second release build: minutes).
set -euo pipefail
bench=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
root=$(dirname "$bench")
cd "$root"

say() { printf '%s\n' "run.sh: $*" >&2; }

symbols=
args=()
for a in "$@"; do
  case $a in
    --symbols) symbols=1 ;;
    *) args+=("$a") ;;
  esac
done

# 1. Python and the venv for the ops charm.
py=
for c in ${PYTHON:-} python3.12 python3.11 python3.10 python3; do
  if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    py=$c; break
  fi
done
[ -n "$py" ] || { say "need Python >= 3.10 (set PYTHON=...)"; exit 1; }
venv=$bench/.venv
if ! "$venv/bin/python" -c 'import ops, ops_tracing, yaml' >/dev/null 2>&1; then
  say "creating $venv with $("$py" --version) and $(cat "$bench/ops-charm/requirements.txt")"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$bench/ops-charm/requirements.txt"
fi

# 2. Profiling tools (optional).
missing=()
command -v perf >/dev/null 2>&1 || missing+=(linux-perf)
command -v strace >/dev/null 2>&1 || missing+=(strace)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
if [ ${#missing[@]} -gt 0 ]; then
  if [ -z "${BENCH_NO_APT:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} with apt-get (for the profile; BENCH_NO_APT=1 to skip)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >/dev/null 2>&1 \
      || say "could not install ${missing[*]}: that part of the profile is skipped"
  else
    say "not installed: ${missing[*]}: that part of the profile is skipped"
  fi
fi

# 3. Our release binary.
bin=$root/target/release/rust-starter
if [ -n "${BENCH_NO_BUILD:-}" ]; then
  [ -x "$bin" ] || say "BENCH_NO_BUILD set and no $bin: ours is skipped"
else
  if command -v cargo >/dev/null 2>&1; then
    say "cargo build --release --locked"
    cargo build --release --locked || say "the build failed: ours is skipped unless an older $bin exists"
  else
    say "cargo not found: ours is skipped unless $bin exists"
  fi
fi
if [ -n "$symbols" ] && command -v cargo >/dev/null 2>&1; then
  say "building an unstripped copy for callgrind in bench/.target-prof"
  if CARGO_TARGET_DIR=$bench/.target-prof CARGO_PROFILE_RELEASE_STRIP=false \
     CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --release --locked; then
    args+=(--profile-binary "$bench/.target-prof/release/rust-starter")
  fi
fi

export BENCH_CMDLINE="bench/run.sh $*"
exec "$venv/bin/python" "$bench/bench.py" ${args[@]+"${args[@]}"}
