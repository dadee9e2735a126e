//! Where the wallet's keys come from: an encrypted keystore file (`--wallet`), a mnemonic file,
//! the `RUSTCHAIN_MNEMONIC` variable, or the public dev mnemonic (`--dev`); and the
//! `create`/`restore` commands that write keystores.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rustchain_wallet::accounts::HdWallet;
use rustchain_wallet::keystore::{
    generate_mnemonic, KdfParams, Keystore, Metadata, NewWallet, SecretString, UnlockedKeystore,
    WalletData,
};
use zeroize::Zeroizing;

use crate::Cli;

/// Reads a secret: the first line of `file`, else the environment variable `var`, else a prompt
/// on the terminal. Never echoed, never logged.
fn read_secret(file: Option<&Path>, var: &str, prompt: &str) -> anyhow::Result<SecretString> {
    if let Some(path) = file {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        );
        return Ok(SecretString::new(
            text.lines().next().unwrap_or_default().to_string(),
        ));
    }
    if let Ok(value) = std::env::var(var) {
        return Ok(SecretString::new(value));
    }
    if std::io::stdin().is_terminal() {
        return Ok(SecretString::new(
            rpassword::prompt_password(prompt).context("cannot read the password")?,
        ));
    }
    bail!("no password: pass --password-file FILE, set {var}, or run in a terminal to be asked")
}

/// The keystore password.
pub fn password(cli: &Cli, prompt: &str) -> anyhow::Result<SecretString> {
    read_secret(
        cli.password_file.as_deref(),
        "RUSTCHAIN_WALLET_PASSWORD",
        prompt,
    )
}

/// The BIP-39 passphrase (empty unless `RUSTCHAIN_BIP39_PASSPHRASE` is set).
fn bip39_passphrase() -> SecretString {
    SecretString::new(std::env::var("RUSTCHAIN_BIP39_PASSPHRASE").unwrap_or_default())
}

/// Opens and unlocks `--wallet`.
pub fn unlock(cli: &Cli, path: &Path) -> anyhow::Result<UnlockedKeystore> {
    let locked = Keystore::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let password = password(cli, &format!("password for {}: ", path.display()))?;
    locked
        .unlock(&password)
        .with_context(|| format!("cannot unlock {}", path.display()))
}

/// The HD keys, and the unlocked keystore when they come from one (for its settings).
pub fn load_wallet_and_keystore(cli: &Cli) -> anyhow::Result<(HdWallet, Option<UnlockedKeystore>)> {
    if let Some(path) = &cli.wallet {
        if cli.mnemonic_file.is_some() || cli.dev {
            bail!("pass only one of --wallet, --mnemonic-file and --dev");
        }
        let keystore = unlock(cli, path)?;
        let seed = keystore.seed(&bip39_passphrase())?;
        return Ok((HdWallet::from_seed(seed, cli.account), Some(keystore)));
    }
    Ok((load_wallet(cli)?, None))
}

/// The HD keys from whichever source the command line names.
pub fn load_wallet(cli: &Cli) -> anyhow::Result<HdWallet> {
    let sources = usize::from(cli.wallet.is_some())
        + usize::from(cli.mnemonic_file.is_some())
        + usize::from(cli.dev);
    if sources > 1 {
        bail!("pass only one of --wallet, --mnemonic-file and --dev");
    }
    if let Some(path) = &cli.wallet {
        let keystore = unlock(cli, path)?;
        let seed = keystore.seed(&bip39_passphrase())?;
        return Ok(HdWallet::from_seed(seed, cli.account));
    }
    let phrase: Zeroizing<String> = match (&cli.mnemonic_file, cli.dev) {
        (Some(path), _) => Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read mnemonic file {}", path.display()))?,
        ),
        (None, true) => Zeroizing::new(rustchain_genesis::DEV_MNEMONIC.to_string()),
        (None, false) => match std::env::var("RUSTCHAIN_MNEMONIC") {
            Ok(m) => Zeroizing::new(m),
            Err(_) => bail!(
                "no keys: pass --wallet FILE (create one with `rustchain-wallet create`), --mnemonic-file FILE, set RUSTCHAIN_MNEMONIC, or use --dev on a dev network"
            ),
        },
    };
    Ok(HdWallet::from_mnemonic(
        &phrase,
        bip39_passphrase().expose(),
        cli.account,
    )?)
}

/// Creates a keystore at `path`: from a new random mnemonic (printed once), or restored from
/// `restore_from` (a file holding the mnemonic).
pub fn create(
    cli: &Cli,
    path: &Path,
    words: usize,
    name: &str,
    chain: &str,
    restore_from: Option<&PathBuf>,
) -> anyhow::Result<()> {
    if path.exists() {
        bail!(
            "{} already exists; refusing to overwrite a wallet",
            path.display()
        );
    }
    let (mnemonic, fresh) = match restore_from {
        Some(file) => (
            Zeroizing::new(
                std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read mnemonic file {}", file.display()))?
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            false,
        ),
        None => (generate_mnemonic(words)?, true),
    };
    let password = password(cli, "new wallet password: ")?;
    let keystore = Keystore::create(
        path,
        NewWallet {
            mnemonic: &mnemonic,
            bip39_passphrase: &bip39_passphrase(),
            metadata: Metadata::new(name, chain),
            data: WalletData::default(),
        },
        &password,
        KdfParams::default(),
    )
    .with_context(|| format!("cannot create {}", path.display()))?;
    let first = HdWallet::from_seed(keystore.seed(&bip39_passphrase())?, 0).address(0)?;
    if fresh {
        println!("Write these {words} words down, in order, and keep them offline. They are the only way to restore this wallet; they will not be shown again:\n");
        println!("    {}\n", mnemonic.as_str());
    }
    println!(
        "wallet {} written to {} (Argon2id {} MiB, XChaCha20-Poly1305, mode 0600)",
        name,
        path.display(),
        keystore.kdf_params().m_cost_kib() / 1024
    );
    println!("first address path {}", first.path);
    Ok(())
}
