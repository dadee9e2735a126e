//! BIP-32 accounts for Bitcoin from the wallet's 64-byte BIP-39 seed.
//!
//! | purpose | script | account path (mainnet / test networks) |
//! |---|---|---|
//! | BIP-44 | P2PKH `pkh()` | `m/44'/0'/a'` / `m/44'/1'/a'` |
//! | BIP-49 | P2SH-P2WPKH `sh(wpkh())` | `m/49'/0'/a'` / `m/49'/1'/a'` |
//! | BIP-84 | P2WPKH `wpkh()` | `m/84'/0'/a'` / `m/84'/1'/a'` |
//! | BIP-86 | P2TR key path `tr()` | `m/86'/0'/a'` / `m/86'/1'/a'` |
//! | BIP-48 (script type 2) | P2WSH multisig cosigner key | `m/48'/0'/a'/2'` / `m/48'/1'/a'/2'` |
//!
//! Receive addresses are on chain 0 (`.../0/i`), change on chain 1 (`.../1/i`). Test networks
//! (testnet, testnet4, signet, regtest) use coin type 1 and `tpub` serialization.

use std::fmt;
use std::str::FromStr;

use bitcoin::bip32::{ChildNumber, DerivationPath, Fingerprint, Xpriv, Xpub};
use bitcoin::secp256k1::{All, Secp256k1};
use bitcoin::{Address, CompressedPublicKey, Network, NetworkKind};
use miniscript::descriptor::{Descriptor, DescriptorPublicKey};

/// Errors from key derivation.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The seed could not be turned into a BIP-32 master key.
    #[error("invalid seed: {0}")]
    Seed(bitcoin::bip32::Error),
    /// A derivation step failed (index out of range or invalid key).
    #[error("key derivation failed: {0}")]
    Derivation(#[from] bitcoin::bip32::Error),
    /// Unknown network name.
    #[error("unknown network {0:?} (expected bitcoin, testnet, testnet4, signet or regtest)")]
    UnknownNetwork(String),
    /// Unknown purpose.
    #[error("unknown purpose {0:?} (expected 44, 49, 84, 86, or 48 for multisig)")]
    UnknownPurpose(String),
    /// Account or address index out of the non-hardened range.
    #[error("index {0} is out of range (must be below 2^31)")]
    IndexOutOfRange(u32),
    /// Descriptor construction failed.
    #[error("descriptor error: {0}")]
    Descriptor(String),
}

/// The BIP-43 purpose of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Purpose {
    /// BIP-44: P2PKH.
    Bip44,
    /// BIP-49: P2SH-P2WPKH.
    Bip49,
    /// BIP-84: P2WPKH.
    Bip84,
    /// BIP-86: P2TR key path.
    Bip86,
    /// BIP-48 script type 2: a cosigner key of a P2WSH multisig.
    Bip48,
}

impl Purpose {
    /// The four single-signature purposes, in display order.
    pub const SINGLE_SIG: [Purpose; 4] = [
        Purpose::Bip44,
        Purpose::Bip49,
        Purpose::Bip84,
        Purpose::Bip86,
    ];

    /// The purpose number (44, 49, 84, 86, 48).
    pub fn number(self) -> u32 {
        match self {
            Purpose::Bip44 => 44,
            Purpose::Bip49 => 49,
            Purpose::Bip84 => 84,
            Purpose::Bip86 => 86,
            Purpose::Bip48 => 48,
        }
    }

    /// From the purpose number.
    pub fn from_number(n: u32) -> Result<Self, AccountError> {
        match n {
            44 => Ok(Purpose::Bip44),
            49 => Ok(Purpose::Bip49),
            84 => Ok(Purpose::Bip84),
            86 => Ok(Purpose::Bip86),
            48 => Ok(Purpose::Bip48),
            other => Err(AccountError::UnknownPurpose(other.to_string())),
        }
    }

    /// A short name of the script type.
    pub fn script_name(self) -> &'static str {
        match self {
            Purpose::Bip44 => "p2pkh",
            Purpose::Bip49 => "p2sh-p2wpkh",
            Purpose::Bip84 => "p2wpkh",
            Purpose::Bip86 => "p2tr",
            Purpose::Bip48 => "p2wsh-multisig",
        }
    }
}

impl FromStr for Purpose {
    type Err = AccountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().trim_start_matches("bip").trim_start_matches("BIP");
        let n: u32 = t
            .parse()
            .map_err(|_| AccountError::UnknownPurpose(s.to_string()))?;
        Purpose::from_number(n)
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

/// The BIP-44 coin type: 0 on mainnet, 1 on every test network.
pub fn coin_type(network: Network) -> u32 {
    match NetworkKind::from(network) {
        NetworkKind::Main => 0,
        NetworkKind::Test => 1,
    }
}

fn hardened(i: u32) -> Result<ChildNumber, AccountError> {
    ChildNumber::from_hardened_idx(i).map_err(|_| AccountError::IndexOutOfRange(i))
}

/// The account path `m/purpose'/coin'/account'` (and `/2'` for BIP-48).
pub fn account_path(
    purpose: Purpose,
    network: Network,
    account: u32,
) -> Result<DerivationPath, AccountError> {
    let mut path = vec![
        hardened(purpose.number())?,
        hardened(coin_type(network))?,
        hardened(account)?,
    ];
    if purpose == Purpose::Bip48 {
        path.push(hardened(2)?);
    }
    Ok(DerivationPath::from(path))
}

/// The BIP-32 master key of the wallet seed. The private key is erased (best effort) on drop and
/// never printed.
pub struct MasterKey {
    xpriv: Xpriv,
    fingerprint: Fingerprint,
    network: Network,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MasterKey {{ fingerprint: {}, network: {}, xpriv: <redacted> }}",
            self.fingerprint, self.network
        )
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.xpriv.private_key.non_secure_erase();
    }
}

impl MasterKey {
    /// The master key of a BIP-39 seed (64 bytes from `seed_from_mnemonic`; BIP-32 accepts
    /// 16..=64 bytes).
    pub fn from_seed(seed: &[u8], network: Network) -> Result<Self, AccountError> {
        let xpriv = Xpriv::new_master(network, seed).map_err(AccountError::Seed)?;
        let fingerprint = xpriv.fingerprint(secp());
        Ok(MasterKey {
            xpriv,
            fingerprint,
            network,
        })
    }

    /// From an existing master extended private key (tests and interop with other wallets).
    pub fn from_xpriv(xpriv: Xpriv, network: Network) -> Self {
        let fingerprint = xpriv.fingerprint(secp());
        MasterKey {
            xpriv,
            fingerprint,
            network,
        }
    }

    /// The master key fingerprint (first 4 bytes of HASH160 of the master public key).
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The network the key was made for.
    pub fn network(&self) -> Network {
        self.network
    }

    /// Derives the private key at `path`. The caller must drop it promptly.
    pub(crate) fn derive_priv(&self, path: &DerivationPath) -> Result<Xpriv, AccountError> {
        Ok(self.xpriv.derive_priv(secp(), path)?)
    }

    /// The extended public key at `path`.
    pub fn derive_xpub(&self, path: &DerivationPath) -> Result<Xpub, AccountError> {
        let mut xpriv = self.derive_priv(path)?;
        let xpub = Xpub::from_priv(secp(), &xpriv);
        xpriv.private_key.non_secure_erase();
        Ok(xpub)
    }

    /// The watch-only account for `purpose` and `account`.
    pub fn account(&self, purpose: Purpose, account: u32) -> Result<BtcAccount, AccountError> {
        let path = account_path(purpose, self.network, account)?;
        let xpub = self.derive_xpub(&path)?;
        BtcAccount::new(self.network, purpose, account, self.fingerprint, path, xpub)
    }
}

/// A watch-only account: the account-level xpub with its origin. It holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BtcAccount {
    /// Network.
    pub network: Network,
    /// Purpose.
    pub purpose: Purpose,
    /// Account number.
    pub account: u32,
    /// Master key fingerprint.
    pub fingerprint: Fingerprint,
    /// Account derivation path from the master key.
    pub path: DerivationPath,
    /// Account extended public key.
    pub xpub: Xpub,
    /// The receive (`/0`) and change (`/1`) chain keys, derived once so that an address costs one
    /// derivation step.
    chains: [Xpub; 2],
}

impl BtcAccount {
    /// A watch-only account from its origin and account xpub.
    pub fn new(
        network: Network,
        purpose: Purpose,
        account: u32,
        fingerprint: Fingerprint,
        path: DerivationPath,
        xpub: Xpub,
    ) -> Result<Self, AccountError> {
        let secp = secp();
        let chains = [
            xpub.ckd_pub(secp, ChildNumber::from_normal_idx(0)?)?,
            xpub.ckd_pub(secp, ChildNumber::from_normal_idx(1)?)?,
        ];
        Ok(BtcAccount {
            network,
            purpose,
            account,
            fingerprint,
            path,
            xpub,
            chains,
        })
    }

    /// The key expression `[fingerprint/path]xpub`.
    pub fn key_expression(&self) -> String {
        format!("[{}/{}]{}", self.fingerprint, self.path, self.xpub)
    }

    /// The descriptor of the external (`change == false`) or internal chain, ranged (`/*`).
    /// BIP-48 accounts have no single-key descriptor: use
    /// [`crate::btc::descriptors::multisig_descriptor`].
    pub fn descriptor(
        &self,
        change: bool,
    ) -> Result<Descriptor<DescriptorPublicKey>, AccountError> {
        let chain = u32::from(change);
        let key = format!("{}/{chain}/*", self.key_expression());
        let s = match self.purpose {
            Purpose::Bip44 => format!("pkh({key})"),
            Purpose::Bip49 => format!("sh(wpkh({key}))"),
            Purpose::Bip84 => format!("wpkh({key})"),
            Purpose::Bip86 => format!("tr({key})"),
            Purpose::Bip48 => {
                return Err(AccountError::Descriptor(
                    "a BIP-48 key is a multisig cosigner key; build the multisig descriptor".into(),
                ))
            }
        };
        Descriptor::from_str(&s).map_err(|e| AccountError::Descriptor(e.to_string()))
    }

    /// The address at `index` on the external or internal chain (derived directly from the
    /// xpub; equal to the descriptor's address at that index).
    pub fn address(&self, change: bool, index: u32) -> Result<Address, AccountError> {
        let secp = secp();
        let step = ChildNumber::from_normal_idx(index)
            .map_err(|_| AccountError::IndexOutOfRange(index))?;
        let child = self.chains[usize::from(change)].ckd_pub(secp, step)?;
        let pk = CompressedPublicKey(child.public_key);
        Ok(match self.purpose {
            Purpose::Bip44 => Address::p2pkh(pk, self.network),
            Purpose::Bip49 => Address::p2shwpkh(&pk, self.network),
            Purpose::Bip84 => Address::p2wpkh(&pk, self.network),
            Purpose::Bip86 => Address::p2tr(
                secp,
                child.public_key.x_only_public_key().0,
                None,
                self.network,
            ),
            Purpose::Bip48 => {
                return Err(AccountError::Descriptor(
                    "a BIP-48 key alone has no address; use the multisig descriptor".into(),
                ))
            }
        })
    }
}

/// A process-wide secp256k1 context (creating one costs more than deriving an address).
pub(crate) fn secp() -> &'static Secp256k1<All> {
    static SECP: std::sync::OnceLock<Secp256k1<All>> = std::sync::OnceLock::new();
    SECP.get_or_init(Secp256k1::new)
}
