#!/usr/bin/env bash
# Starts a single-validator dev network: RPC on http://127.0.0.1:8099 (and ws:// on the same
# address), accounts prefunded from the dev mnemonic in the README, a block every second.
# Extra arguments go to rustchain-node, e.g. `./scripts/dev.sh --datadir ./devnet`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cargo build --release --bin rustchain-node --bin rustchain-wallet
exec cargo run --quiet --release --bin rustchain-node -- --dev "$@"
