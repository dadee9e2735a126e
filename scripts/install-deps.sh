#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine with only the Rust toolchain lacks to build
# RustChain: clang and libclang (RocksDB's bindings are generated with bindgen), a C++ compiler,
# and the rustfmt/clippy components. Does nothing when everything is present.
set -euo pipefail

have_libclang() {
    # bindgen loads libclang.so at build time.
    ldconfig -p 2>/dev/null | grep -q 'libclang\(-[0-9.]*\)\?\.so' && return 0
    compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' >/dev/null && return 0
    compgen -G '/usr/lib/x86_64-linux-gnu/libclang*.so*' >/dev/null && return 0
    return 1
}

missing=()
have_libclang || missing+=(libclang-dev)
command -v clang >/dev/null || missing+=(clang)
command -v c++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)
# ccache lets a cold CI run compile RocksDB's C++ once although `cargo clippy` (check mode) and
# `cargo build` run its build script separately.
command -v ccache >/dev/null || missing+=(ccache)

if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if command -v rustup >/dev/null; then
    for component in rustfmt clippy; do
        rustup component list --installed 2>/dev/null | grep -q "^$component" \
            || rustup component add "$component"
    done
fi
