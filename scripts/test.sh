#!/usr/bin/env bash
# The single test command: installs every tool the tests need (idempotently) and runs every test.
# A missing tool is an error, never a skipped test.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

step() { printf '\n==> %s   [%ss elapsed]\n' "$*" "$SECONDS"; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not installed ($2)"; }

need cargo "install Rust with rustup"
need node "apt-get install nodejs"
need npm "apt-get install npm"

# Debian's python3 first: the venv must not depend on a user-level interpreter manager.
PYTHON=${PYTHON:-}
if [[ -z $PYTHON ]]; then
    if [[ -x /usr/bin/python3 ]]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
need "$PYTHON" "apt-get install python3 python3-venv"

step "Python test tools (.venv, requirements-test.txt)"
if [[ ! -x .venv/bin/python ]]; then
    "$PYTHON" -m venv .venv || die "python3 -m venv failed (apt-get install python3-venv)"
fi
# pip is slow to decide that nothing changed, so a stamp of the requirements file skips it.
STAMP=.venv/.requirements-test.stamp
if [[ ! -f $STAMP ]] || ! cmp -s requirements-test.txt "$STAMP"; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-test.txt
    cp requirements-test.txt "$STAMP"
fi
for tool in moto_server cfn-lint checkov; do
    [[ -x .venv/bin/$tool ]] || die ".venv/bin/$tool missing after install"
done
.venv/bin/python -c 'import jpholiday' || die "jpholiday missing from .venv"

step "Node test tools (npm ci)"
if [[ ! -x node_modules/.bin/asl-validator ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
[[ -x node_modules/.bin/asl-validator ]] || die "asl-validator missing after npm ci"

export PATH="$ROOT/.venv/bin:$ROOT/node_modules/.bin:$PATH"
export JOBNET2SFN_VENV="$ROOT/.venv"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --all-targets -- -D warnings

# Every test binary runs even when one fails, and the artifact checks below still run: one
# pass shows every problem.
step "cargo test"
tests_ok=1
cargo test --no-run || tests_ok=0
# The emulator tests mostly wait on moto and on scaled-down clocks: they run beside the
# CPU-bound tests instead of after them (cargo holds its lock only while building).
EMU_LOG=$(mktemp)
cargo test --no-fail-fast --test emulator >"$EMU_LOG" 2>&1 &
emu_pid=$!
# An interrupted run must not leave the emulator tests (and their moto servers) behind.
trap 'kill "$emu_pid" 2>/dev/null || true' EXIT
others=(--lib --bins)
for f in tests/*.rs; do
    name=$(basename "$f" .rs)
    [[ $name == emulator ]] || others+=(--test "$name")
done
cargo test --no-fail-fast "${others[@]}" || tests_ok=0
cargo test --no-fail-fast --doc || tests_ok=0
wait "$emu_pid" || tests_ok=0
echo "--- tests/emulator.rs (ran alongside) ---"
cat "$EMU_LOG"
rm -f "$EMU_LOG"

step "compile examples and JP1 fixtures"
OUT=target/test-out
rm -rf "$OUT"
mkdir -p "$OUT"
# `cargo test` built the binary for the CLI tests. `cargo build` would build every
# dependency again: without the dev-dependencies their features differ.
BIN="${CARGO_TARGET_DIR:-target}/debug/jobnet2sfn"
[[ -x $BIN ]] || cargo test --no-run -q
compile_failures=()
shopt -s nullglob
inputs=(examples/*.yaml tests/fixtures/jp1/*.txt)
shopt -u nullglob
# The compile subcommand is the lead's CLI; every input must compile (partial output allowed for
# JP1 files with units the tool reports as unsupported).
for f in "${inputs[@]}"; do
    name=$(basename "$f")
    name=${name%.*}
    case $f in
        tests/fixtures/jp1/*) dest=$OUT/jp1-$name ;;
        *) dest=$OUT/$name ;;
    esac
    echo "compile $f -> $dest"
    "$BIN" compile "$f" -o "$dest" --allow-partial || compile_failures+=("$f")
done

# The emulator scenarios compile together (as tests/emulator.rs does): this validates the
# `test` job type's output and a template with many machines and exact joins.
echo "compile examples/daily_batch.yaml --log-forward -> $OUT/log-forward"
"$BIN" compile examples/daily_batch.yaml -o "$OUT/log-forward" --log-forward || compile_failures+=("--log-forward")

echo "compile examples/scheduled_with_calendar.yaml --alert-on-skip -> $OUT/alert-on-skip"
"$BIN" compile examples/scheduled_with_calendar.yaml -o "$OUT/alert-on-skip" --alert-on-skip --allow-partial || compile_failures+=("--alert-on-skip")

# JP1 rules starting on the registration date (`sd=en`) convert with the cut-over date:
# the file's 48 roots then run every nine years from that date.
echo "compile tests/fixtures/jp1/02_kittybbit_sample1_large.txt --registration-date -> $OUT/registration"
"$BIN" compile tests/fixtures/jp1/02_kittybbit_sample1_large.txt -o "$OUT/registration" --allow-partial --registration-date 2027-04-05 || compile_failures+=("--registration-date")

echo "compile tests/scenarios/*.yaml -> $OUT/scenarios"
"$BIN" compile tests/scenarios/*.yaml -o "$OUT/scenarios" || compile_failures+=(tests/scenarios)

# Nested stacks, forced by a low stack limit: the parent and every stacks/*.yaml are
# validated like any template (schedules and the log forwarding condition move to children).
echo "compile examples/scheduled_with_calendar.yaml --max-stack-resources 16 -> $OUT/nested"
"$BIN" compile examples/scheduled_with_calendar.yaml -o "$OUT/nested" --allow-partial --max-stack-resources 16 || compile_failures+=("nested")
echo "compile tests/scenarios/*.yaml --log-forward --max-stack-resources 60 -> $OUT/nested-scenarios"
"$BIN" compile tests/scenarios/*.yaml -o "$OUT/nested-scenarios" --log-forward --max-stack-resources 60 || compile_failures+=("nested-scenarios")
for d in nested nested-scenarios; do
    compgen -G "$OUT/$d/stacks/*.yaml" >/dev/null || compile_failures+=("$d: no stacks/*.yaml written")
done

# Whatever compiled is validated even when something else did not: all problems at once.
step "validate generated artifacts"
((${#inputs[@]} > 0)) || die "no inputs under examples/ or tests/fixtures/jp1/: nothing was validated"
problems=()
((tests_ok == 1)) || problems+=("cargo test failed")
((${#compile_failures[@]} == 0)) || problems+=("compile failed: ${compile_failures[*]}")
scripts/validate-artifacts.sh "$OUT" || problems+=("generated artifacts are invalid")
if ((${#problems[@]} > 0)); then
    printf 'test.sh: FAILED: %s\n' "${problems[@]}" >&2
    exit 1
fi

step "all tests passed"
