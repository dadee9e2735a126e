//! Output descriptors (BIP-380..386): generation for our accounts, BIP-380 checksums, the
//! multisig `wsh(sortedmulti(...))` descriptor, and the watch-only export file.
//!
//! Parsing and script generation use `miniscript` (rust-miniscript 12); this module adds the
//! wallet's rules on top: descriptors must be ranged (`/*`, unhardened), public-only, and their
//! keys must belong to the wallet's network (`xpub` on mainnet, `tpub` on test networks).
//!
//! # Watch-only export file (JSON)
//!
//! ```json
//! {
//!   "format": "rustchain-btc-watch-only/1",
//!   "network": "testnet",
//!   "fingerprint": "73c5da0a",
//!   "wallets": [
//!     { "name": "bip84", "purpose": 84, "account": 0,
//!       "key": "[73c5da0a/84'/1'/0']tpub...",
//!       "external": "wpkh([73c5da0a/84'/1'/0']tpub.../0/*)#checksum",
//!       "internal": "wpkh([73c5da0a/84'/1'/0']tpub.../1/*)#checksum" }
//!   ],
//!   "multisig_key": "[73c5da0a/48'/1'/0'/2']tpub..."
//! }
//! ```
//!
//! The file holds no secret. It is at most [`MAX_WATCH_ONLY_BYTES`] long.

use std::str::FromStr;

use bitcoin::{Network, NetworkKind};
use miniscript::descriptor::{Descriptor, DescriptorPublicKey, Wildcard};
use miniscript::ForEachKey;
use serde::{Deserialize, Serialize};

use super::accounts::{AccountError, BtcAccount, MasterKey, Purpose};

/// Largest watch-only file accepted.
pub const MAX_WATCH_ONLY_BYTES: usize = 1024 * 1024;
/// Longest descriptor string accepted.
pub const MAX_DESCRIPTOR_LEN: usize = 16 * 1024;
/// The `format` tag of the watch-only file.
pub const WATCH_ONLY_FORMAT: &str = "rustchain-btc-watch-only/1";

/// Errors in descriptors and watch-only files.
#[derive(Debug, thiserror::Error)]
pub enum DescriptorError {
    /// BIP-380 checksum missing where required, malformed, or wrong.
    #[error("descriptor checksum error: {0}")]
    Checksum(String),
    /// miniscript could not parse the descriptor.
    #[error("invalid descriptor: {0}")]
    Parse(String),
    /// The descriptor is valid but not usable by this wallet.
    #[error("unsupported descriptor: {0}")]
    Unsupported(String),
    /// Key of the wrong network.
    #[error("descriptor key {key} is for {found:?}, but the wallet network is {expected}")]
    WrongNetwork {
        /// The key.
        key: String,
        /// Its network kind.
        found: NetworkKind,
        /// The wallet network.
        expected: Network,
    },
    /// Input too large.
    #[error("{what} is too large ({len} bytes, limit {max})")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Watch-only file is not valid JSON of the expected shape.
    #[error("watch-only file: {0}")]
    File(String),
    /// Key derivation error.
    #[error(transparent)]
    Account(#[from] AccountError),
}

/// The BIP-380 checksum (8 characters) of a descriptor without `#`.
pub fn checksum(body: &str) -> Result<String, DescriptorError> {
    miniscript::descriptor::checksum::desc_checksum(body)
        .map_err(|e| DescriptorError::Checksum(e.to_string()))
}

/// Appends the BIP-380 checksum: `body#checksum`.
pub fn with_checksum(body: &str) -> Result<String, DescriptorError> {
    Ok(format!("{body}#{}", checksum(body)?))
}

/// Splits `desc#checksum` and verifies the checksum. With `require`, a missing checksum is an
/// error; otherwise a descriptor without `#` is accepted as BIP-380 allows.
pub fn verify_checksum(s: &str, require: bool) -> Result<&str, DescriptorError> {
    if s.len() > MAX_DESCRIPTOR_LEN {
        return Err(DescriptorError::TooLarge {
            what: "descriptor",
            len: s.len(),
            max: MAX_DESCRIPTOR_LEN,
        });
    }
    match s.split_once('#') {
        None if require => Err(DescriptorError::Checksum("missing checksum".into())),
        None => {
            // still check the character set
            checksum(s)?;
            Ok(s)
        }
        Some((body, sum)) => {
            if sum.contains('#') {
                return Err(DescriptorError::Checksum("multiple '#' separators".into()));
            }
            if sum.len() != 8 {
                return Err(DescriptorError::Checksum(format!(
                    "checksum {sum:?} must be 8 characters"
                )));
            }
            let expected = checksum(body)?;
            if expected != sum {
                return Err(DescriptorError::Checksum(format!(
                    "checksum is {sum}, expected {expected}"
                )));
            }
            Ok(body)
        }
    }
}

/// Parses a public descriptor for this wallet: checksum verified (required with
/// `require_checksum`), public keys only, ranged with an unhardened wildcard, keys of `network`.
pub fn parse_wallet_descriptor(
    s: &str,
    network: Network,
    require_checksum: bool,
) -> Result<Descriptor<DescriptorPublicKey>, DescriptorError> {
    let s = s.trim();
    verify_checksum(s, require_checksum)?;
    let desc = Descriptor::<DescriptorPublicKey>::from_str(s)
        .map_err(|e| DescriptorError::Parse(e.to_string()))?;
    check_wallet_descriptor(&desc, network)?;
    Ok(desc)
}

fn check_wallet_descriptor(
    desc: &Descriptor<DescriptorPublicKey>,
    network: Network,
) -> Result<(), DescriptorError> {
    if desc.is_multipath() {
        return Err(DescriptorError::Unsupported(
            "multipath (<0;1>) descriptors: give the external and internal descriptors separately"
                .into(),
        ));
    }
    if !desc.has_wildcard() {
        return Err(DescriptorError::Unsupported(
            "descriptor is not ranged (needs a /* wildcard)".into(),
        ));
    }
    let mut problem: Option<DescriptorError> = None;
    desc.for_each_key(|k| {
        let err = match k {
            DescriptorPublicKey::Single(_) => Some(DescriptorError::Unsupported(format!(
                "single key {k} in a ranged wallet descriptor"
            ))),
            DescriptorPublicKey::MultiXPub(_) => {
                Some(DescriptorError::Unsupported("multipath key".into()))
            }
            DescriptorPublicKey::XPub(x) => {
                if x.wildcard == Wildcard::Hardened {
                    Some(DescriptorError::Unsupported(format!(
                        "hardened wildcard in {k} cannot be derived from an xpub"
                    )))
                } else if let Err(e) = super::xkey::check_xpub(&x.xkey) {
                    Some(DescriptorError::Parse(format!("{k}: {e}")))
                } else if x.xkey.network != NetworkKind::from(network) {
                    Some(DescriptorError::WrongNetwork {
                        key: k.to_string(),
                        found: x.xkey.network,
                        expected: network,
                    })
                } else {
                    None
                }
            }
        };
        if let Some(e) = err {
            problem.get_or_insert(e);
            false
        } else {
            true
        }
    });
    match problem {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The receive and change descriptors of one wallet (single-sig account or multisig).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletDescriptors {
    /// Network of the keys and addresses.
    pub network: Network,
    /// Receive chain (`.../0/*`).
    pub external: Descriptor<DescriptorPublicKey>,
    /// Change chain (`.../1/*`).
    pub internal: Descriptor<DescriptorPublicKey>,
}

impl WalletDescriptors {
    /// Parses and checks both descriptors (checksums required).
    pub fn parse(
        external: &str,
        internal: &str,
        network: Network,
    ) -> Result<Self, DescriptorError> {
        let external = parse_wallet_descriptor(external, network, true)?;
        let internal = parse_wallet_descriptor(internal, network, true)?;
        if external.desc_type() != internal.desc_type() {
            return Err(DescriptorError::Unsupported(
                "external and internal descriptors have different script types".into(),
            ));
        }
        Ok(WalletDescriptors {
            network,
            external,
            internal,
        })
    }

    /// The descriptors of a single-sig account.
    pub fn from_account(account: &BtcAccount) -> Result<Self, DescriptorError> {
        Ok(WalletDescriptors {
            network: account.network,
            external: account.descriptor(false)?,
            internal: account.descriptor(true)?,
        })
    }

    /// The descriptor of one chain.
    pub fn chain(&self, change: bool) -> &Descriptor<DescriptorPublicKey> {
        if change {
            &self.internal
        } else {
            &self.external
        }
    }

    /// The address at `index` of a chain.
    pub fn address(&self, change: bool, index: u32) -> Result<bitcoin::Address, DescriptorError> {
        let d = self
            .chain(change)
            .at_derivation_index(index)
            .map_err(|e| DescriptorError::Parse(e.to_string()))?;
        d.address(self.network)
            .map_err(|e| DescriptorError::Unsupported(e.to_string()))
    }
}

/// A `wsh(sortedmulti(threshold, key/chain/*, ...))` pair from cosigner key expressions
/// (`[fingerprint/48'/coin'/account'/2']xpub`, as printed by `btc descriptors`).
pub fn multisig_descriptors(
    threshold: usize,
    cosigner_keys: &[String],
    network: Network,
) -> Result<WalletDescriptors, DescriptorError> {
    if cosigner_keys.is_empty() || cosigner_keys.len() > 20 {
        return Err(DescriptorError::Unsupported(format!(
            "a P2WSH multisig needs 1 to 20 keys, got {}",
            cosigner_keys.len()
        )));
    }
    if threshold == 0 || threshold > cosigner_keys.len() {
        return Err(DescriptorError::Unsupported(format!(
            "threshold {threshold} must be between 1 and the number of keys ({})",
            cosigner_keys.len()
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for k in cosigner_keys {
        let key = k.trim();
        if key.contains('/') && key.rsplit(']').next().is_some_and(|x| x.contains('/')) {
            return Err(DescriptorError::Unsupported(format!(
                "cosigner key {key} must end at the account xpub (no derivation suffix)"
            )));
        }
        if !seen.insert(key.to_string()) {
            return Err(DescriptorError::Unsupported(format!(
                "duplicate cosigner key {key}"
            )));
        }
    }
    let make = |chain: u32| -> Result<String, DescriptorError> {
        let keys: Vec<String> = cosigner_keys
            .iter()
            .map(|k| format!("{}/{chain}/*", k.trim()))
            .collect();
        with_checksum(&format!("wsh(sortedmulti({threshold},{}))", keys.join(",")))
    };
    WalletDescriptors::parse(&make(0)?, &make(1)?, network)
}

/// One wallet in the watch-only export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchOnlyWallet {
    /// A name to select it by (`bip84`, `multisig`, ...).
    pub name: String,
    /// BIP-43 purpose (44, 49, 84, 86, or 48 for multisig).
    pub purpose: u32,
    /// Account number.
    #[serde(default)]
    pub account: u32,
    /// Account key expression `[fp/path]xpub` (single-sig wallets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Receive descriptor with checksum.
    pub external: String,
    /// Change descriptor with checksum.
    pub internal: String,
}

/// The watch-only export: everything an online machine needs to derive addresses and create
/// PSBTs, and nothing that can sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchOnlyExport {
    /// Always [`WATCH_ONLY_FORMAT`].
    pub format: String,
    /// Network name.
    pub network: String,
    /// Master key fingerprint (hex), if the export comes from one seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The wallets.
    pub wallets: Vec<WatchOnlyWallet>,
    /// This seed's BIP-48 P2WSH multisig cosigner key, to share with cosigners.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multisig_key: Option<String>,
}

/// The cosigner key expression `[fp/48'/coin'/account'/2']xpub` of this seed.
pub fn multisig_cosigner_key(master: &MasterKey, account: u32) -> Result<String, DescriptorError> {
    let path = super::accounts::account_path(Purpose::Bip48, master.network(), account)?;
    let xpub = master.derive_xpub(&path)?;
    Ok(format!("[{}/{}]{}", master.fingerprint(), path, xpub))
}

impl WatchOnlyExport {
    /// The export of the four single-sig accounts of `account` plus the multisig cosigner key.
    pub fn from_master(master: &MasterKey, account: u32) -> Result<Self, DescriptorError> {
        let mut wallets = Vec::new();
        for purpose in Purpose::SINGLE_SIG {
            let acct = master.account(purpose, account)?;
            wallets.push(WatchOnlyWallet {
                name: format!("bip{}", purpose.number()),
                purpose: purpose.number(),
                account,
                key: Some(acct.key_expression()),
                external: acct.descriptor(false)?.to_string(),
                internal: acct.descriptor(true)?.to_string(),
            });
        }
        Ok(WatchOnlyExport {
            format: WATCH_ONLY_FORMAT.into(),
            network: master.network().to_string(),
            fingerprint: Some(master.fingerprint().to_string()),
            wallets,
            multisig_key: Some(multisig_cosigner_key(master, account)?),
        })
    }

    /// A multisig-only export.
    pub fn multisig(network: Network, threshold: usize, descriptors: &WalletDescriptors) -> Self {
        WatchOnlyExport {
            format: WATCH_ONLY_FORMAT.into(),
            network: network.to_string(),
            fingerprint: None,
            wallets: vec![WatchOnlyWallet {
                name: format!("multisig-{threshold}"),
                purpose: 48,
                account: 0,
                key: None,
                external: descriptors.external.to_string(),
                internal: descriptors.internal.to_string(),
            }],
            multisig_key: None,
        }
    }

    /// Parses an export file (size-limited) and checks every descriptor in it.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DescriptorError> {
        if bytes.len() > MAX_WATCH_ONLY_BYTES {
            return Err(DescriptorError::TooLarge {
                what: "watch-only file",
                len: bytes.len(),
                max: MAX_WATCH_ONLY_BYTES,
            });
        }
        let export: WatchOnlyExport =
            serde_json::from_slice(bytes).map_err(|e| DescriptorError::File(e.to_string()))?;
        if export.format != WATCH_ONLY_FORMAT {
            return Err(DescriptorError::File(format!(
                "format is {:?}, expected {WATCH_ONLY_FORMAT:?}",
                export.format
            )));
        }
        let network = export.network()?;
        for w in &export.wallets {
            WalletDescriptors::parse(&w.external, &w.internal, network)?;
        }
        Ok(export)
    }

    /// The network of the export.
    pub fn network(&self) -> Result<Network, DescriptorError> {
        Ok(super::parse_network(&self.network)?)
    }

    /// The descriptors of the wallet with `purpose` (or the first multisig for 48).
    pub fn wallet(&self, purpose: u32) -> Result<WalletDescriptors, DescriptorError> {
        let w = self
            .wallets
            .iter()
            .find(|w| w.purpose == purpose)
            .ok_or_else(|| {
                DescriptorError::File(format!("no wallet with purpose {purpose} in the export"))
            })?;
        WalletDescriptors::parse(&w.external, &w.internal, self.network()?)
    }
}
