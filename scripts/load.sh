#!/usr/bin/env bash
# Load test of Latchkey next to its cost floors.
#
# Builds (release) and runs provider/examples/load.rs: it starts a real server in-process
# on 127.0.0.1 (temporary data directory, OWASP argon2id parameters unless --cheap-hash)
# and measures, for --duration seconds each (default 10) at --concurrency requests in
# flight (default 2 x cores):
#   - client-credentials tokens/s (ES256 access tokens), next to the floor
#     "ES256 JWT signs/s on one core x cores";
#   - full password sign-ins/s (authorize, sign-in page, form post, resume, code
#     exchange with an RS256 ID token), next to the floor
#     "argon2id verifies/s on one core x min(cores, concurrency)".
# Both floors are measured in the same process at start-up. Prints requests/s, p50/p99
# latency and "% of floor"; exits non-zero if any request failed.
#
# Usage: scripts/load.sh [--duration SECS] [--concurrency N] [--cheap-hash]
#                        [--scenario all|client-credentials|sign-in]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --release -p latchkey --example load -- "$@"
