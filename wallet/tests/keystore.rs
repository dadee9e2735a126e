//! Keystore behaviour on disk: round trips, wrong passwords, tampering and truncation, secrets
//! absent from the file, file modes, crash leftovers, backups, and `Debug` redaction.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rustchain_wallet::keystore::{
    backup_path, AccountState, KdfParams, Keystore, KeystoreError, Metadata, NewWallet,
    SecretString, UnlockedKeystore, WalletData, DEFAULT_BACKUPS,
};
use zeroize::Zeroizing;

const PHRASE: &str = "legal winner thank year wave sausage worth useful legal winner thank yellow";
const PHRASE_24: &str = "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless";
const PASSWORD: &str = "correct horse battery staple";

fn pw(s: &str) -> SecretString {
    SecretString::new(s)
}

fn create_at(path: &Path, phrase: &str, passphrase: &str) -> UnlockedKeystore {
    let mnemonic = Zeroizing::new(phrase.to_string());
    Keystore::create(
        path,
        NewWallet {
            mnemonic: &mnemonic,
            bip39_passphrase: &pw(passphrase),
            metadata: Metadata::new("test wallet", "rtc-dev"),
            data: WalletData::default(),
        },
        &pw(PASSWORD),
        KdfParams::insecure_for_tests(),
    )
    .unwrap()
}

fn temp_keystore() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.json");
    create_at(&path, PHRASE, "");
    (dir, path)
}

/// Opens and unlocks file bytes written to a scratch path.
fn try_unlock(dir: &Path, bytes: &[u8], password: &str) -> Result<UnlockedKeystore, KeystoreError> {
    let path = dir.join("scratch.json");
    fs::write(&path, bytes).unwrap();
    Keystore::open_insecure_for_tests(&path)?.unlock(&pw(password))
}

#[test]
fn create_open_unlock_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.json");
    let created = create_at(&path, &format!("  {}\n", PHRASE.replace(' ', "  ")), "");
    assert_eq!(created.mnemonic().as_str(), PHRASE, "whitespace normalised");
    let locked = Keystore::open_insecure_for_tests(&path).unwrap();
    assert_eq!(locked.metadata(), created.metadata());
    assert_eq!(locked.kdf_params(), KdfParams::insecure_for_tests());
    let unlocked = locked.unlock(&pw(PASSWORD)).unwrap();
    assert_eq!(unlocked.mnemonic().as_str(), PHRASE);
    assert_eq!(unlocked.data(), &WalletData::default());
    assert!(!unlocked.uses_bip39_passphrase());
    let seed = unlocked.seed(&SecretString::default()).unwrap();
    let expected = rustchain_primitives::hd::seed_from_mnemonic(PHRASE, "").unwrap();
    assert_eq!(seed[..], expected[..]);
    // 24 words too.
    let path24 = dir.path().join("w24.json");
    create_at(&path24, PHRASE_24, "");
    let u = Keystore::open_insecure_for_tests(&path24)
        .unwrap()
        .unlock(&pw(PASSWORD))
        .unwrap();
    assert_eq!(u.mnemonic().as_str(), PHRASE_24);
}

#[test]
fn default_params_open_through_the_production_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.json");
    let mnemonic = Zeroizing::new(PHRASE.to_string());
    let started = std::time::Instant::now();
    Keystore::create(
        &path,
        NewWallet {
            mnemonic: &mnemonic,
            bip39_passphrase: &SecretString::default(),
            metadata: Metadata::new("w", "rtc-main"),
            data: WalletData::default(),
        },
        &pw(PASSWORD),
        KdfParams::default(),
    )
    .unwrap();
    let created = started.elapsed();
    let started = std::time::Instant::now();
    let locked = Keystore::open(&path).unwrap();
    assert_eq!(locked.kdf_params(), KdfParams::default());
    assert_eq!(locked.kdf_params().m_cost_kib(), 65536);
    let unlocked = locked.unlock(&pw(PASSWORD)).unwrap();
    eprintln!(
        "default Argon2id (64 MiB, t=3, p=1): create {created:?}, open+unlock {:?}",
        started.elapsed()
    );
    assert_eq!(unlocked.mnemonic().as_str(), PHRASE);
    assert!(matches!(
        Keystore::open(&path).unwrap().unlock(&pw("wrong")),
        Err(KeystoreError::WrongPassword { .. })
    ));
}

#[test]
fn production_open_refuses_test_parameters() {
    let (_dir, path) = temp_keystore();
    assert!(matches!(
        Keystore::open(&path),
        Err(KeystoreError::KdfParamsOutOfRange(_))
    ));
}

#[test]
fn wrong_password_is_a_clear_error() {
    let (_dir, path) = temp_keystore();
    let locked = Keystore::open_insecure_for_tests(&path).unwrap();
    for wrong in [
        "",
        "Correct horse battery staple",
        "correct horse battery staple ",
    ] {
        let err = locked.unlock(&pw(wrong)).unwrap_err();
        assert!(matches!(err, KeystoreError::WrongPassword { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("wrong password, or the file was modified"),
            "{text}"
        );
        assert!(!text.contains(PASSWORD));
    }
}

#[test]
fn bip39_passphrase_is_required_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.json");
    let abandon = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    create_at(&path, abandon, "TREZOR");
    let raw = fs::read_to_string(&path).unwrap();
    assert!(!raw.contains("TREZOR"), "the passphrase is not stored");
    let u = Keystore::open_insecure_for_tests(&path)
        .unwrap()
        .unlock(&pw(PASSWORD))
        .unwrap();
    assert!(u.uses_bip39_passphrase());
    // Trezor vector 1: the seed of this mnemonic with passphrase TREZOR.
    assert_eq!(
        hex::encode(&u.seed(&pw("TREZOR")).unwrap()[..]),
        "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04"
    );
    assert!(matches!(
        u.seed(&pw("trezor")),
        Err(KeystoreError::WrongPassphrase)
    ));
    assert!(matches!(
        u.seed(&SecretString::default()),
        Err(KeystoreError::WrongPassphrase)
    ));
    let (_d, plain) = temp_keystore();
    let u = Keystore::open_insecure_for_tests(&plain)
        .unwrap()
        .unlock(&pw(PASSWORD))
        .unwrap();
    assert!(matches!(
        u.seed(&pw("x")),
        Err(KeystoreError::WrongPassphrase)
    ));
}

#[test]
fn every_byte_flip_is_refused() {
    let (dir, path) = temp_keystore();
    let original = fs::read(&path).unwrap();
    assert!(try_unlock(dir.path(), &original, PASSWORD).is_ok());
    let (mut wrong_password, mut corrupt, mut other) = (0, 0, 0);
    for position in 0..original.len() {
        for mask in [0x01u8, 0x20, 0x80] {
            let mut bytes = original.clone();
            bytes[position] ^= mask;
            match try_unlock(dir.path(), &bytes, PASSWORD) {
                Ok(_) => panic!(
                    "unlocked after flipping byte {position} with {mask:#04x}: {:?}",
                    String::from_utf8_lossy(&bytes)
                ),
                Err(KeystoreError::WrongPassword { .. }) => wrong_password += 1,
                Err(KeystoreError::Corrupt { .. }) => corrupt += 1,
                Err(_) => other += 1,
            }
        }
    }
    // Both detection paths are exercised: AEAD failures (ciphertext, nonce, metadata, salt)
    // and structural checks (syntax, field names, hex, canonical form).
    assert!(wrong_password > 100, "{wrong_password}");
    assert!(corrupt > 100, "{corrupt}");
    assert_eq!(wrong_password + corrupt + other, original.len() * 3);
}

#[test]
fn header_and_metadata_edits_fail_authentication() {
    let (dir, path) = temp_keystore();
    let text = fs::read_to_string(&path).unwrap();
    // Well-formed edits: the file still parses, but the associated data differs.
    for (from, to) in [
        ("\"name\": \"test wallet\"", "\"name\": \"evil wallet\""),
        ("\"chain\": \"rtc-dev\"", "\"chain\": \"rtc-main\""),
        ("\"m_cost_kib\": 8", "\"m_cost_kib\": 9"),
        ("\"t_cost\": 1", "\"t_cost\": 2"),
    ] {
        let edited = text.replacen(from, to, 1);
        assert_ne!(edited, text, "{from}");
        assert!(
            matches!(
                try_unlock(dir.path(), edited.as_bytes(), PASSWORD),
                Err(KeystoreError::WrongPassword { .. })
            ),
            "{from} -> {to}"
        );
    }
    // created_at: change one digit.
    let at = text.find("\"created_at\": ").unwrap() + "\"created_at\": ".len();
    let mut bytes = text.clone().into_bytes();
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    assert!(matches!(
        try_unlock(dir.path(), &bytes, PASSWORD),
        Err(KeystoreError::WrongPassword { .. })
    ));
    // An absurd memory cost is refused before Argon2 allocates anything.
    let huge = text.replacen("\"m_cost_kib\": 8", "\"m_cost_kib\": 4000000000", 1);
    let started = std::time::Instant::now();
    assert!(matches!(
        try_unlock(dir.path(), huge.as_bytes(), PASSWORD),
        Err(KeystoreError::KdfParamsOutOfRange(_))
    ));
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    let lanes = text.replacen("\"p_cost\": 1", "\"p_cost\": 1000", 1);
    assert!(matches!(
        try_unlock(dir.path(), lanes.as_bytes(), PASSWORD),
        Err(KeystoreError::KdfParamsOutOfRange(_))
    ));
    // Unknown versions and algorithms.
    let v2 = text.replacen("\"version\": 1,", "\"version\": 2,", 1);
    assert!(matches!(
        try_unlock(dir.path(), v2.as_bytes(), PASSWORD),
        Err(KeystoreError::UnsupportedVersion { version: 2, .. })
    ));
    let argon2i = text.replacen("\"argon2id\"", "\"argon2i\"", 1);
    assert!(matches!(
        try_unlock(dir.path(), argon2i.as_bytes(), PASSWORD),
        Err(KeystoreError::Corrupt { .. })
    ));
    let aes = text.replacen("xchacha20-poly1305", "aes-256-gcm", 1);
    assert!(matches!(
        try_unlock(dir.path(), aes.as_bytes(), PASSWORD),
        Err(KeystoreError::Corrupt { .. })
    ));
    // An added field.
    let extra = text.replacen("\"version\": 1,", "\"version\": 1,\n  \"extra\": 0,", 1);
    assert!(matches!(
        try_unlock(dir.path(), extra.as_bytes(), PASSWORD),
        Err(KeystoreError::Corrupt { .. })
    ));
    // A ciphertext swapped in from another keystore with the same password.
    let other = dir.path().join("other.json");
    create_at(&other, PHRASE_24, "");
    let other_text = fs::read_to_string(&other).unwrap();
    let field = |t: &str| {
        let start = t.find("\"ciphertext\": \"").unwrap() + 15;
        let end = start + t[start..].find('"').unwrap();
        t[start..end].to_string()
    };
    let swapped = text.replacen(&field(&text), &field(&other_text), 1);
    assert!(matches!(
        try_unlock(dir.path(), swapped.as_bytes(), PASSWORD),
        Err(KeystoreError::WrongPassword { .. })
    ));
}

#[test]
fn every_truncation_is_a_clear_error() {
    let (dir, path) = temp_keystore();
    let original = fs::read(&path).unwrap();
    for len in 0..original.len() {
        match try_unlock(dir.path(), &original[..len], PASSWORD) {
            Err(KeystoreError::Corrupt { reason, .. }) => assert!(!reason.is_empty()),
            other => panic!("truncated to {len}: {other:?}"),
        }
    }
    // Appended bytes are refused too.
    let mut longer = original.clone();
    longer.extend_from_slice(b"\n");
    assert!(matches!(
        try_unlock(dir.path(), &longer, PASSWORD),
        Err(KeystoreError::Corrupt { .. })
    ));
}

#[test]
fn oversized_and_garbage_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = vec![b' '; 1024 * 1024 + 1];
    assert!(matches!(
        try_unlock(dir.path(), &big, PASSWORD),
        Err(KeystoreError::TooLarge { .. })
    ));
    for garbage in [
        &b"\xff\xfe\x00"[..],
        b"[]",
        b"null",
        b"{}",
        b"{\"format\": \"rustchain-keystore\"}",
        b"{\"format\": \"rustchain-keystore\", \"version\": \"1\"}",
        b"{\"format\": \"rustchain-keystore\", \"version\": 1}",
        b"{\"format\": \"rustchain-keystore\", \"version\": -1}",
    ] {
        assert!(
            matches!(
                try_unlock(dir.path(), garbage, PASSWORD),
                Err(KeystoreError::Corrupt { .. })
            ),
            "{}",
            String::from_utf8_lossy(garbage)
        );
    }
    let missing = dir.path().join("missing.json");
    match Keystore::open(&missing) {
        Err(KeystoreError::Io { path, .. }) => assert_eq!(path, missing),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Keystore::open(dir.path()),
        Err(KeystoreError::Io { .. })
    ));
    let deep = format!(
        "{{\"format\": \"rustchain-keystore\", \"version\": 1, \"x\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(try_unlock(dir.path(), deep.as_bytes(), PASSWORD).is_err());
}

fn assert_no_plaintext(raw: &str, phrase: &str, passphrase: &str) {
    let words: Vec<&str> = phrase.split(' ').collect();
    assert!(!raw.contains(phrase));
    for pair in words.windows(2) {
        for sep in [" ", "", ",", "\",\"", "\n", "-"] {
            let joined = pair.join(sep);
            assert!(!raw.contains(&joined), "{joined:?} in the file");
        }
    }
    // No mnemonic bytes in hex either (e.g. an unencrypted hex dump).
    assert!(!raw.contains(&hex::encode(&phrase.as_bytes()[..12])));
    let seed = rustchain_primitives::hd::seed_from_mnemonic(phrase, passphrase).unwrap();
    assert!(!raw.contains(&hex::encode(&seed[..8])));
    let entropy = bip39::Mnemonic::parse_in(bip39::Language::English, phrase)
        .unwrap()
        .to_entropy();
    assert!(!raw.contains(&hex::encode(&entropy[..8])));
    // The only places long enough to hide words are hex.
    let value: serde_json::Value = serde_json::from_str(raw).unwrap();
    for field in [
        &value["ciphertext"],
        &value["kdf"]["salt"],
        &value["cipher"]["nonce"],
    ] {
        let s = field.as_str().unwrap();
        assert!(s.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    // Words of the mnemonic outside the fixed header text do not appear.
    let header = [
        "format",
        "rustchain-keystore",
        "version",
        "kdf",
        "algorithm",
        "argon2id",
        "m_cost_kib",
        "t_cost",
        "p_cost",
        "salt",
        "cipher",
        "xchacha20-poly1305",
        "nonce",
        "metadata",
        "name",
        "created_at",
        "chain",
        "rtc-dev",
        "test wallet",
        "ciphertext",
    ];
    for word in words {
        if header.iter().any(|h| h.contains(word)) {
            continue;
        }
        assert!(!raw.contains(word), "mnemonic word {word:?} in the file");
    }
}

#[test]
fn the_file_contains_no_plaintext_secret() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (phrase, passphrase)) in [(PHRASE, ""), (PHRASE_24, "TREZOR")].iter().enumerate() {
        let path = dir.path().join(format!("w{i}.json"));
        let mut unlocked = create_at(&path, phrase, passphrase);
        assert_no_plaintext(&fs::read_to_string(&path).unwrap(), phrase, passphrase);
        unlocked.data_mut().gap_limit = 30;
        unlocked.save().unwrap();
        assert_no_plaintext(&fs::read_to_string(&path).unwrap(), phrase, passphrase);
        assert_no_plaintext(
            &fs::read_to_string(backup_path(&path, 1)).unwrap(),
            phrase,
            passphrase,
        );
    }
}

#[cfg(unix)]
#[test]
fn files_and_backups_are_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let (_dir, path) = temp_keystore();
    assert_eq!(mode(&path), 0o600);
    let mut u = Keystore::open_insecure_for_tests(&path)
        .unwrap()
        .unlock(&pw(PASSWORD))
        .unwrap();
    u.save().unwrap();
    u.save().unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&backup_path(&path, 1)), 0o600);
    assert_eq!(mode(&backup_path(&path, 2)), 0o600);
}

#[test]
fn create_refuses_to_overwrite_and_bad_input() {
    let (dir, path) = temp_keystore();
    let before = fs::read(&path).unwrap();
    let mnemonic = Zeroizing::new(PHRASE_24.to_string());
    let create = |path: &Path, phrase: &str, password: &str, metadata: Metadata| {
        let m = Zeroizing::new(phrase.to_string());
        Keystore::create(
            path,
            NewWallet {
                mnemonic: &m,
                bip39_passphrase: &SecretString::default(),
                metadata,
                data: WalletData::default(),
            },
            &pw(password),
            KdfParams::insecure_for_tests(),
        )
    };
    let meta = || Metadata::new("w", "rtc-dev");
    assert!(matches!(
        create(&path, &mnemonic, PASSWORD, meta()),
        Err(KeystoreError::AlreadyExists { .. })
    ));
    assert_eq!(fs::read(&path).unwrap(), before);
    let fresh = dir.path().join("fresh.json");
    let fifteen = "abandon ".repeat(14) + "about";
    for (phrase, password, metadata) in [
        (PHRASE, "", meta()),
        (&fifteen[..], PASSWORD, meta()),
        (&PHRASE.replace("yellow", "winner")[..], PASSWORD, meta()),
        (&PHRASE.replace("yellow", "yelow")[..], PASSWORD, meta()),
        (PHRASE, PASSWORD, Metadata::new("", "rtc-dev")),
        (PHRASE, PASSWORD, Metadata::new("w", "RTC Main")),
    ] {
        let err = create(&fresh, phrase, password, metadata).unwrap_err();
        assert!(
            matches!(
                err,
                KeystoreError::EmptyPassword
                    | KeystoreError::InvalidMnemonic(_)
                    | KeystoreError::InvalidMetadata(_)
            ),
            "{err}"
        );
        assert!(!err.to_string().contains("legal"), "{err}");
        assert!(!err.to_string().contains("yelow"), "{err}");
        assert!(
            !err.to_string()
                .contains("invalid mnemonic: invalid mnemonic"),
            "{err}"
        );
        assert!(!fresh.exists());
    }
}

#[test]
fn leftover_temporary_files_do_not_break_anything() {
    let (dir, path) = temp_keystore();
    // A crash after the temporary file was written but before the rename: a complete newer
    // file and a partial one are left beside the keystore.
    let mut u = Keystore::open_insecure_for_tests(&path)
        .unwrap()
        .unlock(&pw(PASSWORD))
        .unwrap();
    let current = fs::read(&path).unwrap();
    fs::write(
        dir.path().join(".wallet.json.tmp-1-0000000000000000"),
        &current,
    )
    .unwrap();
    fs::write(
        dir.path().join(".wallet.json.tmp-2-0000000000000001"),
        &current[..current.len() / 2],
    )
    .unwrap();
    let again = Keystore::open_insecure_for_tests(&path)
        .unwrap()
        .unlock(&pw(PASSWORD))
        .unwrap();
    assert_eq!(again.mnemonic().as_str(), PHRASE);
    u.data_mut().gap_limit = 99;
    u.save().unwrap();
    let after = Keystore::open_insecure_for_tests(&path)
        .unwrap()
        .unlock(&pw(PASSWORD))
        .unwrap();
    assert_eq!(after.data().gap_limit, 99);
    // A crash during creation: only a temporary file exists; creating again works.
    let new_path = dir.path().join("new.json");
    fs::write(
        dir.path().join(".new.json.tmp-3-0000000000000002"),
        b"{\"form",
    )
    .unwrap();
    create_at(&new_path, PHRASE, "");
    assert!(Keystore::open_insecure_for_tests(&new_path).is_ok());
}

#[test]
fn saves_rotate_at_most_n_backups() {
    let (dir, path) = temp_keystore();
    let mut u = Keystore::open_insecure_for_tests(&path)
        .unwrap()
        .unlock(&pw(PASSWORD))
        .unwrap();
    for gap in 1..=(DEFAULT_BACKUPS as u32 + 3) {
        u.data_mut().gap_limit = gap;
        u.save().unwrap();
    }
    let last = DEFAULT_BACKUPS as u32 + 3;
    for i in 1..=DEFAULT_BACKUPS {
        let b = Keystore::open_insecure_for_tests(backup_path(&path, i))
            .unwrap()
            .unlock(&pw(PASSWORD))
            .unwrap();
        assert_eq!(b.data().gap_limit, last - i as u32, "backup {i}");
    }
    assert!(!backup_path(&path, DEFAULT_BACKUPS + 1).exists());
    let count = fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(
        count,
        1 + DEFAULT_BACKUPS,
        "keystore + backups, no temporaries"
    );
    u.set_backups(2);
    u.save().unwrap();
    assert_eq!(
        Keystore::open_insecure_for_tests(backup_path(&path, 2))
            .unwrap()
            .unlock(&pw(PASSWORD))
            .unwrap()
            .data()
            .gap_limit,
        last - 1
    );
}

#[test]
fn save_persists_metadata_and_wallet_data() {
    let (_dir, path) = temp_keystore();
    let mut u = Keystore::open_insecure_for_tests(&path)
        .unwrap()
        .unlock(&pw(PASSWORD))
        .unwrap();
    let before = fs::read_to_string(&path).unwrap();
    u.metadata_mut().name = "renamed".into();
    let data = u.data_mut();
    data.accounts.push(AccountState {
        next_receive: 7,
        next_change: 2,
    });
    data.policy = serde_json::json!({"daily_limit": 100_000_000u64});
    data.multisig
        .push(serde_json::json!({"threshold": 2, "cosigners": ["xpub1", "xpub2"]}));
    let expected = data.clone();
    u.save().unwrap();
    let after = fs::read_to_string(&path).unwrap();
    assert_ne!(before, after);
    assert!(!after.contains("daily_limit"), "wallet data is encrypted");
    let back = Keystore::open_insecure_for_tests(&path)
        .unwrap()
        .unlock(&pw(PASSWORD))
        .unwrap();
    assert_eq!(back.metadata().name, "renamed");
    assert_eq!(back.data(), &expected);
    // Invalid metadata is refused without touching the file.
    u.metadata_mut().name = String::new();
    assert!(matches!(u.save(), Err(KeystoreError::InvalidMetadata(_))));
    assert_eq!(fs::read_to_string(&path).unwrap(), after);
    // Too much wallet data to fit the size limit is refused without touching the file.
    u.metadata_mut().name = "renamed".into();
    u.data_mut().policy = serde_json::Value::String("x".repeat(600 * 1024));
    assert!(matches!(u.save(), Err(KeystoreError::TooLarge { .. })));
    assert_eq!(fs::read_to_string(&path).unwrap(), after);
}

#[test]
fn change_password_re_keys_and_drops_old_backups() {
    let (_dir, path) = temp_keystore();
    let mut u = Keystore::open_insecure_for_tests(&path)
        .unwrap()
        .unlock(&pw(PASSWORD))
        .unwrap();
    u.save().unwrap();
    assert!(backup_path(&path, 1).exists());
    let salt_before =
        serde_json::from_str::<serde_json::Value>(&fs::read_to_string(&path).unwrap()).unwrap()
            ["kdf"]["salt"]
            .clone();
    assert!(matches!(
        u.change_password(&SecretString::default(), KdfParams::insecure_for_tests()),
        Err(KeystoreError::EmptyPassword)
    ));
    u.change_password(&pw("new password"), KdfParams::insecure_for_tests())
        .unwrap();
    assert!(
        !backup_path(&path, 1).exists(),
        "old-password backups removed"
    );
    let salt_after = serde_json::from_str::<serde_json::Value>(&fs::read_to_string(&path).unwrap())
        .unwrap()["kdf"]["salt"]
        .clone();
    assert_ne!(salt_before, salt_after);
    let locked = Keystore::open_insecure_for_tests(&path).unwrap();
    assert!(matches!(
        locked.unlock(&pw(PASSWORD)),
        Err(KeystoreError::WrongPassword { .. })
    ));
    assert_eq!(
        locked
            .unlock(&pw("new password"))
            .unwrap()
            .mnemonic()
            .as_str(),
        PHRASE
    );
    // Saving after the change keeps the new password.
    u.save().unwrap();
    assert!(Keystore::open_insecure_for_tests(&path)
        .unwrap()
        .unlock(&pw("new password"))
        .is_ok());
}

#[test]
fn debug_output_never_shows_secrets() {
    let (_dir, path) = temp_keystore();
    let locked = Keystore::open_insecure_for_tests(&path).unwrap();
    let unlocked = locked.unlock(&pw(PASSWORD)).unwrap();
    let mnemonic = Zeroizing::new(PHRASE.to_string());
    let passphrase = pw("TREZOR");
    let new = NewWallet {
        mnemonic: &mnemonic,
        bip39_passphrase: &passphrase,
        metadata: Metadata::new("w", "rtc-dev"),
        data: WalletData::default(),
    };
    let seed = unlocked.seed(&SecretString::default()).unwrap();
    let printed = [
        format!("{locked:?}"),
        format!("{unlocked:?}"),
        format!("{unlocked:#?}"),
        format!("{new:?}"),
        format!("{:?}", pw(PASSWORD)),
        format!("{passphrase:?}"),
        format!("{:?}", locked.unlock(&pw("wrong")).unwrap_err()),
    ];
    for text in &printed {
        for secret in [
            "legal",
            "winner",
            "yellow",
            PASSWORD,
            "TREZOR",
            &hex::encode(&seed[..4]),
        ] {
            assert!(!text.contains(secret), "{secret:?} in {text}");
        }
    }
    assert!(printed[1].contains("<redacted>"));
    assert!(printed[1].contains("test wallet"));
}

/// A version-1 file written by this implementation (test KDF parameters; password
/// "fixture password"; mnemonic "abandon ... about"; no passphrase). It must keep opening:
/// changing the format requires a new version number.
const FIXTURE_V1: &str = include_str!("keystore_v1_fixture.json");

#[test]
fn version_1_fixture_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    let u = try_unlock(dir.path(), FIXTURE_V1.as_bytes(), "fixture password").unwrap();
    assert_eq!(
        u.mnemonic().as_str(),
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
    );
    assert_eq!(u.metadata().name, "fixture");
    assert_eq!(u.metadata().chain, "rtc-dev");
    assert_eq!(u.metadata().created_at, 1_700_000_000);
    assert_eq!(u.data().gap_limit, 20);
    assert_eq!(u.data().policy, serde_json::json!({"opaque": true}));
    assert!(u.seed(&SecretString::default()).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn round_trip_random_mnemonics_and_passwords(
        entropy in prop_oneof![
            proptest::collection::vec(any::<u8>(), 16),
            proptest::collection::vec(any::<u8>(), 32),
        ],
        password in "\\PC{1,40}",
        passphrase in prop_oneof![Just(String::new()), "\\PC{1,20}"],
        gap in any::<u32>(),
        name in "[a-zA-Z0-9 ]{1,30}",
    ) {
        let phrase = bip39::Mnemonic::from_entropy(&entropy).unwrap().to_string();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.json");
        let mnemonic = Zeroizing::new(phrase.clone());
        let data = WalletData { gap_limit: gap, ..WalletData::default() };
        Keystore::create(
            &path,
            NewWallet {
                mnemonic: &mnemonic,
                bip39_passphrase: &pw(&passphrase),
                metadata: Metadata::new(name.clone(), "rtc-test"),
                data: data.clone(),
            },
            &pw(&password),
            KdfParams::insecure_for_tests(),
        ).unwrap();
        let raw = fs::read_to_string(&path).unwrap();
        prop_assert!(!raw.contains(&phrase));
        let locked = Keystore::open_insecure_for_tests(&path).unwrap();
        prop_assert_eq!(&locked.metadata().name, &name);
        let u = locked.unlock(&pw(&password)).unwrap();
        prop_assert_eq!(u.mnemonic().as_str(), phrase.as_str());
        prop_assert_eq!(u.data(), &data);
        prop_assert_eq!(u.uses_bip39_passphrase(), !passphrase.is_empty());
        let seed = u.seed(&pw(&passphrase)).unwrap();
        let expected = bip39::Mnemonic::parse_in(bip39::Language::English, phrase.as_str()).unwrap().to_seed(&passphrase);
        prop_assert_eq!(&seed[..], &expected[..]);
        let wrong = format!("{password}x");
        let wrong_password_refused = matches!(
            locked.unlock(&pw(&wrong)),
            Err(KeystoreError::WrongPassword { .. })
        );
        prop_assert!(wrong_password_refused);
    }
}
