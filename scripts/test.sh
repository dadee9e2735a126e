#!/usr/bin/env bash
# Runs the whole test suite: unit tests beside the code and the scenario tests in tests/
# (which start the real rustchain-node binary on 127.0.0.1 ports).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
# The multi-process scenario tests run the binaries; build them first.
cargo build --workspace --bins
cargo test --workspace
