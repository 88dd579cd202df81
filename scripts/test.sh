#!/usr/bin/env bash
# The single test command: builds and runs every test of the project.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --all-targets
cargo test --all-targets
