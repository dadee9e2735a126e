//! The miner must stay small enough for old machines: its dependency tree (normal and build
//! dependencies, for the host target) has neither RocksDB nor libp2p. Checked with `cargo tree`, as the
//! RIP-200 issue asks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

#[test]
fn the_miner_links_neither_rocksdb_nor_libp2p() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--manifest-path",
            manifest,
            "-p",
            "rustchain-miner",
            "-e",
            "normal,build",
            "--prefix",
            "none",
        ])
        .output()
        .expect("run cargo tree");
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(tree.contains("rustchain-miner"), "{tree}");
    let forbidden: Vec<&str> = tree
        .lines()
        .filter(|l| l.contains("rocksdb") || l.contains("libp2p"))
        .collect();
    assert!(forbidden.is_empty(), "the miner depends on {forbidden:?}");
}
