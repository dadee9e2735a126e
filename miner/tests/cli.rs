//! The `rustchain-miner` binary: fingerprint (replay, JSON), keygen, and the errors a person
//! sees when something is wrong.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_rustchain-miner");

fn fixture(name: &str) -> String {
    format!(
        "{}/../../shared/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn fingerprint_replay_json() {
    let out = Command::new(BIN)
        .args(["fingerprint", "--json", "--replay"])
        .arg(fixture("this-ci-machine-kvm"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "virtual_machine");
    assert_eq!(v["earns"], false);
    let reasons: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(reasons.iter().any(|r| r.contains("KVMKVMKVM")));
    assert!(reasons.iter().any(|r| r.contains("/.dockerenv")));
    assert_eq!(v["evidence"]["cpuid"]["vendor"], "AuthenticAMD");
    assert!(v["profile_hash"].as_str().unwrap().starts_with("0x"));
}

#[test]
fn fingerprint_replay_text_of_a_hyperv_root_partition() {
    let out = Command::new(BIN)
        .args(["fingerprint", "--replay"])
        .arg(fixture("instlat-hyperv-root-intel-cometlake"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("verdict: BARE METAL"), "{text}");
    assert!(text.contains("Hyper-V root partition"));
    assert!(text.contains("not measured"));
}

#[test]
fn fingerprint_replay_of_a_missing_directory_fails_clearly() {
    let out = Command::new(BIN)
        .args(["fingerprint", "--replay", "/nonexistent/machine"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read replay directory"));
}

#[test]
fn keygen_plain_and_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.key");
    let out = Command::new(BIN)
        .args(["keygen", "--out"])
        .arg(&plain)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("miner public key: "));
    let text = std::fs::read_to_string(&plain).unwrap();
    assert_eq!(text.trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&plain).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Never overwrites.
    let again = Command::new(BIN)
        .args(["keygen", "--out"])
        .arg(&plain)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert_eq!(std::fs::read_to_string(&plain).unwrap(), text);

    let pass = dir.path().join("pass.txt");
    std::fs::write(&pass, "correct horse battery staple\n").unwrap();
    let enc = dir.path().join("enc.key");
    let out = Command::new(BIN)
        .args(["keygen", "--out"])
        .arg(&enc)
        .arg("--passphrase-file")
        .arg(&pass)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&enc).unwrap()).unwrap();
    assert_eq!(file["kdf"], "argon2id");
    assert_eq!(file["cipher"], "xchacha20poly1305");
    let key = rustchain_miner::keyfile::read(&enc, Some(b"correct horse battery staple")).unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&key.public_key().to_string()));
}

#[test]
fn attest_without_a_key_file_says_so() {
    let out = Command::new(BIN)
        .args([
            "attest",
            "--node",
            "http://127.0.0.1:9",
            "--key",
            "/nonexistent/miner.key",
            "--once",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/miner.key"));
}
