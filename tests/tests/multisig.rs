//! A 2-of-3 multisig account on a dev network, driven through the `rustchain-wallet` CLI: three
//! co-signers with their own wallet files share public keys offline, the account is registered
//! and funded, a transfer out of it collects approvals offline in any order, and is finalized
//! and submitted once. Offline steps get an unreachable node URL, so they cannot cheat.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use rustchain_primitives::{Address, NetworkKind};
use rustchain_rpc_types::{AccountJson, MultisigJson};
use rustchain_tests::{run_binary, wait_for_height, NodeProcess};

/// Nothing listens here: commands given this URL must work offline.
const OFFLINE: &str = "http://127.0.0.1:9";

/// A co-signer: an encrypted keystore of their own (a fresh random mnemonic nobody else has),
/// unlocked with their own password.
struct Cosigner {
    wallet: PathBuf,
    password: PathBuf,
}

impl Cosigner {
    fn new(dir: &Path, name: &str) -> Cosigner {
        let wallet = dir.join(format!("{name}.wallet"));
        let password = dir.join(format!("{name}.password"));
        std::fs::write(&password, format!("correct horse {name}\n")).unwrap();
        let c = Cosigner { wallet, password };
        let out = c.ok(
            OFFLINE,
            &[
                "create", "--words", "12", "--name", name, "--chain", "rtc-dev",
            ],
        );
        assert!(out.contains("Write these 12 words down"), "{out}");
        // The file on disk holds none of the words it just printed.
        let words: Vec<&str> = out
            .lines()
            .find(|l| l.starts_with("    "))
            .unwrap()
            .split_whitespace()
            .collect();
        let file = std::fs::read_to_string(&c.wallet).unwrap();
        assert!(
            !file.contains(&words[..3].join(" ")),
            "mnemonic in clear in the keystore"
        );
        c
    }

    fn run(&self, rpc: &str, args: &[&str]) -> (bool, String, String) {
        let mut all = vec![
            "--rpc",
            rpc,
            "--wallet",
            path(&self.wallet),
            "--password-file",
            path(&self.password),
        ];
        all.extend_from_slice(args);
        run_binary("rustchain-wallet", &all)
    }

    fn ok(&self, rpc: &str, args: &[&str]) -> String {
        let (ok, out, err) = self.run(rpc, args);
        assert!(ok, "wallet {args:?} failed:\n{out}\n{err}");
        out
    }
}

fn dev(url: &str, args: &[&str]) -> String {
    let mut all = vec!["--rpc", url, "--dev"];
    all.extend_from_slice(args);
    let (ok, out, err) = run_binary("rustchain-wallet", &all);
    assert!(ok, "wallet {args:?} failed:\n{out}\n{err}");
    out
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_of_three_spends_with_signatures_collected_offline_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start_dev(&dir.path().join("node"));
    wait_for_height(&node, 1).await;
    let url = node.http_url();
    let http = node.http();

    let cosigners: Vec<Cosigner> = ["alice", "bob", "carol"]
        .iter()
        .map(|name| Cosigner::new(dir.path(), name))
        .collect();
    // A wrong password never unlocks.
    let wrong = Cosigner {
        wallet: cosigners[0].wallet.clone(),
        password: cosigners[1].password.clone(),
    };
    let (ok, _, err) = wrong.run(OFFLINE, &["multisig", "pubkey"]);
    assert!(!ok && err.contains("wrong password"), "{err}");
    // Each shares a public key, offline.
    let keys: Vec<String> = cosigners
        .iter()
        .map(|c| c.ok(OFFLINE, &["multisig", "pubkey"]).trim().to_string())
        .collect();
    let signer_args: Vec<&str> = keys.iter().flat_map(|k| ["--signer", k.as_str()]).collect();
    let mut address_args = vec![
        "multisig",
        "address",
        "--threshold",
        "2",
        "--network",
        "dev",
    ];
    address_args.extend(&signer_args);
    let account = cosigners[1].ok(OFFLINE, &address_args).trim().to_string();
    assert!(account.starts_with("rtcdev1"), "{account}");

    // A dev account registers it and funds it with 10 RTC.
    let mut register = vec!["multisig", "register", "--threshold", "2"];
    register.extend(&signer_args);
    let out = dev(&url, &register);
    assert!(out.contains(&account) && out.contains("success"), "{out}");
    let out = dev(&url, &["send", "--to", &account, "--amount", "10"]);
    assert!(out.contains("success"), "{out}");
    let registered: MultisigJson = http
        .request("state_getMultisig", rpc_params![&account])
        .await
        .unwrap();
    assert_eq!(registered.threshold, 2);
    assert_eq!(registered.signers.len(), 3);
    assert_eq!(registered.nonce, 0);
    assert_eq!(registered.balance.base_units(), 10 * 100_000_000);

    // Someone proposes sending 4 RTC out of it.
    let recipient =
        Address::from_public_key(&rustchain_genesis::dev_account_key(7).unwrap().public_key())
            .encode(NetworkKind::Dev);
    let before: AccountJson = http
        .request("state_getAccount", rpc_params![&recipient])
        .await
        .unwrap();
    let proposal = dir.path().join("proposal.rtcms");
    let out = dev(
        &url,
        &[
            "multisig",
            "create",
            "--multisig",
            &account,
            "--to",
            &recipient,
            "--amount",
            "4",
            "--memo",
            "pay the auditor",
            "--out",
            path(&proposal),
        ],
    );
    assert!(out.contains("CREATED"), "{out}");

    // Carol signs her copy first, then Alice hers: offline, separately.
    let carol_copy = dir.path().join("carol.rtcms");
    let alice_copy = dir.path().join("alice.rtcms");
    std::fs::copy(&proposal, &carol_copy).unwrap();
    std::fs::copy(&proposal, &alice_copy).unwrap();
    let out = cosigners[2].ok(OFFLINE, &["multisig", "sign", path(&carol_copy)]);
    assert!(out.contains("PARTIALLY_SIGNED"), "{out}");
    // Signing twice is refused; a stranger cannot sign.
    let (ok, _, err) = cosigners[2].run(OFFLINE, &["multisig", "sign", path(&carol_copy)]);
    assert!(!ok && err.contains("already approved"), "{err}");
    let stranger = Cosigner::new(dir.path(), "mallory");
    let (ok, _, err) = stranger.run(OFFLINE, &["multisig", "sign", path(&carol_copy)]);
    assert!(!ok && err.contains("none of this wallet's"), "{err}");
    // One approval cannot be finalized.
    let (ok, _, err) = run_binary(
        "rustchain-wallet",
        &[
            "--rpc",
            &url,
            "--dev",
            "multisig",
            "finalize",
            path(&carol_copy),
        ],
    );
    assert!(!ok && err.contains("PARTIALLY_SIGNED"), "{err}");
    let out = cosigners[0].ok(OFFLINE, &["multisig", "sign", path(&alice_copy)]);
    assert!(out.contains("PARTIALLY_SIGNED"), "{out}");

    // Combined, the two copies are SIGNED (Bob never signed).
    let both = dir.path().join("both.rtcms");
    let out = cosigners[1].ok(
        OFFLINE,
        &[
            "multisig",
            "combine",
            path(&carol_copy),
            path(&alice_copy),
            "--out",
            path(&both),
        ],
    );
    assert!(
        out.contains("SIGNED") && !out.contains("PARTIALLY"),
        "{out}"
    );

    // A dev account finalizes (pays the fee) and submits.
    let out = dev(
        &url,
        &["multisig", "finalize", path(&both), "--from-index", "5"],
    );
    assert!(out.contains("FINALIZED"), "{out}");
    let out = dev(&url, &["multisig", "submit", path(&both)]);
    assert!(out.contains("success"), "{out}");
    let out = dev(&url, &["multisig", "show", path(&both)]);
    assert!(out.contains("BROADCAST"), "{out}");

    let after: AccountJson = http
        .request("state_getAccount", rpc_params![&recipient])
        .await
        .unwrap();
    assert_eq!(
        after.balance.base_units() - before.balance.base_units(),
        4 * 100_000_000
    );
    let registered: MultisigJson = http
        .request("state_getMultisig", rpc_params![&account])
        .await
        .unwrap();
    assert_eq!(registered.nonce, 1);
    assert_eq!(registered.balance.base_units(), 6 * 100_000_000);

    // The same approvals cannot spend again: re-finalizing the other copy with a fresh
    // transaction is refused by the node (stale call nonce) and recorded as REJECTED.
    let again = dir.path().join("again.rtcms");
    cosigners[1].ok(
        OFFLINE,
        &[
            "multisig",
            "combine",
            path(&alice_copy),
            path(&carol_copy),
            "--out",
            path(&again),
        ],
    );
    dev(
        &url,
        &["multisig", "finalize", path(&again), "--from-index", "6"],
    );
    let (ok, _, err) = run_binary(
        "rustchain-wallet",
        &["--rpc", &url, "--dev", "multisig", "submit", path(&again)],
    );
    assert!(!ok && err.contains("nonce"), "{err}");
    let out = dev(&url, &["multisig", "show", path(&again)]);
    assert!(out.contains("REJECTED"), "{out}");
    let registered: MultisigJson = http
        .request("state_getMultisig", rpc_params![&account])
        .await
        .unwrap();
    assert_eq!(registered.balance.base_units(), 6 * 100_000_000);

    // A keystore wallet's spending policy refuses, naming the rule, before anything is signed.
    let out = cosigners[0].ok(OFFLINE, &["policy", "set", "--max-per-tx", "1"]);
    assert!(out.contains("max_per_tx:     1 RTC"), "{out}");
    let (ok, _, err) = cosigners[0].run(&url, &["send", "--to", &recipient, "--amount", "2"]);
    assert!(!ok && err.contains("max_per_tx"), "{err}");
    // The policy covers the wallet's multisig approvals too: the 4 RTC proposal (a fresh copy)
    // is not approved, and the file is left untouched.
    let fresh = dir.path().join("fresh.rtcms");
    std::fs::copy(&proposal, &fresh).unwrap();
    let (ok, _, err) = cosigners[0].run(OFFLINE, &["multisig", "sign", path(&fresh)]);
    assert!(!ok && err.contains("max_per_tx"), "{err}");
    assert_eq!(
        std::fs::read(&fresh).unwrap(),
        std::fs::read(&proposal).unwrap()
    );
    assert!(node.terminate());
}
