#!/usr/bin/env bash
# The single test command: builds and runs every test of the project.
set -euo pipefail
cd "$(dirname "$0")/.."
# Oracles and mocks the Rust integration tests call (jpholiday, moto) live in .venv.
if [ -z "${JOBNET2SFN_VENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q -r requirements-test.txt
fi
cargo build --all-targets
cargo test --all-targets
