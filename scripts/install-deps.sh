#!/usr/bin/env bash
# install-deps.sh - install the Debian 12 packages braid needs, if missing.
#
# Build: meson, ninja, a C compiler, pkg-config, libatomic_ops.
# Tests: Criterion; clang and its sanitizer runtimes for the TSan suite;
# Doxygen for the API reference check; CMake for the pkg-config consumer test;
# Relacy and Spin for the model checks (tests/models).
# Benchmarks: oneTBB and g++ for the peer programs under perf/peers.
# With --perf, also every peer's toolchain for perf/compare and
# perf/io-compare: Go, Rust with Debian's Tokio crates, libomp, Boost.Fiber,
# nginx and wrk.
# Runs apt-get only when something is missing; needs root for that.
set -euo pipefail

pkgs=(meson ninja-build gcc g++ clang libclang-rt-14-dev pkg-config libatomic-ops-dev
      libcriterion-dev libtbb-dev python3 doxygen cmake relacy-dev spin)
if [ "${1:-}" = "--perf" ]; then
    pkgs+=(golang-go cargo rustc librust-tokio-dev libomp-dev libboost-fiber-dev nginx-light wrk)
fi

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
