//! HD accounts from a mnemonic.

use rustchain_primitives::hd::{self, HdError};
use rustchain_primitives::{Address, KeyPair, NetworkKind};
use zeroize::Zeroizing;

/// A mnemonic-backed set of RTC accounts. The seed is kept in a zeroizing buffer.
pub struct HdWallet {
    seed: Zeroizing<[u8; 64]>,
    account: u32,
}

impl std::fmt::Debug for HdWallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HdWallet {{ account: {}, seed: <redacted> }}",
            self.account
        )
    }
}

/// One derived address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedAddress {
    /// Index on the external chain.
    pub index: u32,
    /// Derivation path.
    pub path: String,
    /// The address.
    pub address: Address,
    /// Public key.
    pub public_key: rustchain_primitives::PublicKey,
}

impl HdWallet {
    /// From a mnemonic phrase and optional passphrase, using BIP-44 account `account`.
    pub fn from_mnemonic(phrase: &str, passphrase: &str, account: u32) -> Result<Self, HdError> {
        let normalized = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
        Ok(HdWallet {
            seed: hd::seed_from_mnemonic(&normalized, passphrase)?,
            account,
        })
    }

    /// From a BIP-39 seed (for example a keystore's), using BIP-44 account `account`.
    pub fn from_seed(seed: Zeroizing<[u8; 64]>, account: u32) -> Self {
        HdWallet { seed, account }
    }

    /// The BIP-39 seed itself, for the other key trees derived from it (the Bitcoin accounts).
    pub fn into_seed(self) -> Zeroizing<[u8; 64]> {
        self.seed
    }

    /// The same seed, BIP-44 account `account`.
    pub fn for_account(&self, account: u32) -> HdWallet {
        HdWallet {
            seed: self.seed.clone(),
            account,
        }
    }

    /// The BIP-44 account number.
    pub fn account(&self) -> u32 {
        self.account
    }

    /// The key at `index`.
    pub fn key(&self, index: u32) -> Result<KeyPair, HdError> {
        hd::derive_keypair(
            self.seed.as_ref(),
            &hd::account_path(self.account, 0, index)?,
        )
    }

    /// Address `index`.
    pub fn address(&self, index: u32) -> Result<DerivedAddress, HdError> {
        let key = self.key(index)?;
        let path = hd::account_path(self.account, 0, index)?;
        Ok(DerivedAddress {
            index,
            path: format!("m/{path}"),
            address: Address::from_public_key(&key.public_key()),
            public_key: key.public_key(),
        })
    }

    /// Addresses `0..count`.
    pub fn addresses(&self, count: u32) -> Result<Vec<DerivedAddress>, HdError> {
        (0..count).map(|i| self.address(i)).collect()
    }

    /// The first of addresses `0..limit` whose key is a signer of `policy`.
    pub fn find_signer(
        &self,
        policy: &rustchain_primitives::MultisigPolicy,
        limit: u32,
    ) -> Result<Option<(u32, KeyPair)>, HdError> {
        for i in 0..limit {
            let key = self.key(i)?;
            if policy.index_of(&key.public_key()).is_some() {
                return Ok(Some((i, key)));
            }
        }
        Ok(None)
    }

    /// Finds the index of `address` among the first `limit` addresses.
    pub fn find(&self, address: &Address, limit: u32) -> Result<Option<u32>, HdError> {
        for i in 0..limit {
            if &self.address(i)?.address == address {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }
}

/// BIP-44 gap limit: discovery stops after this many unused addresses in a row.
pub const GAP_LIMIT: u32 = 20;

/// Addresses found in use by [`discover`], per account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredAccount {
    /// BIP-44 account number.
    pub account: u32,
    /// Used addresses: `(derived address, balance, nonce)`.
    pub used: Vec<(DerivedAddress, rustchain_primitives::Amount, u64)>,
}

/// BIP-44 account discovery: scans accounts 0, 1, ... and, in each, addresses until
/// [`GAP_LIMIT`] in a row are unused (balance 0 and nonce 0 according to `lookup`). Stops at
/// the first account with no used address. `lookup` returns `(balance, nonce)`.
pub async fn discover<F, Fut, E>(
    wallet: &HdWallet,
    max_accounts: u32,
    mut lookup: F,
) -> Result<Vec<DiscoveredAccount>, E>
where
    F: FnMut(Address) -> Fut,
    Fut: std::future::Future<Output = Result<(rustchain_primitives::Amount, u64), E>>,
    E: From<HdError>,
{
    let mut found = Vec::new();
    for account in 0..max_accounts {
        let keys = wallet.for_account(account);
        let mut used = Vec::new();
        let mut gap = 0;
        let mut index = 0;
        while gap < GAP_LIMIT {
            let d = keys.address(index)?;
            let (balance, nonce) = lookup(d.address).await?;
            if nonce > 0 || balance > rustchain_primitives::Amount::ZERO {
                used.push((d, balance, nonce));
                gap = 0;
            } else {
                gap += 1;
            }
            index += 1;
        }
        if used.is_empty() {
            break;
        }
        found.push(DiscoveredAccount { account, used });
    }
    Ok(found)
}

/// Shows a derived address for a network.
pub fn show(d: &DerivedAddress, kind: NetworkKind) -> String {
    format!("{:>3}  {}  {}", d.index, d.address.encode(kind), d.path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustchain_genesis::{dev_account_key, DEV_MNEMONIC};

    #[test]
    fn matches_the_dev_genesis_accounts() {
        let w = HdWallet::from_mnemonic(DEV_MNEMONIC, "", 0).unwrap();
        for i in 0..3 {
            assert_eq!(
                w.key(i).unwrap().public_key(),
                dev_account_key(i).unwrap().public_key()
            );
        }
        let extra_spaces = format!("  {}  ", DEV_MNEMONIC.replace(' ', "   "));
        let w2 = HdWallet::from_mnemonic(&extra_spaces, "", 0).unwrap();
        assert_eq!(w2.address(0).unwrap(), w.address(0).unwrap());
        assert_eq!(w.address(0).unwrap().path, "m/44'/21076'/0'/0/0");
        assert!(format!("{w:?}").contains("redacted"));
    }

    #[tokio::test]
    async fn discovery_follows_the_gap_limit_and_stops_at_an_unused_account() {
        use rustchain_primitives::Amount;
        use std::collections::HashMap;
        let w = HdWallet::from_mnemonic(DEV_MNEMONIC, "", 0).unwrap();
        // Account 0 uses indexes 0 and 19 (19 unused between: still within the gap), account 1
        // uses index 3, account 2 nothing; account 3's use is never reached.
        let mut used = HashMap::new();
        used.insert(
            w.address(0).unwrap().address,
            (Amount::from_base_units(5), 0),
        );
        used.insert(w.address(19).unwrap().address, (Amount::ZERO, 2));
        used.insert(
            w.address(45).unwrap().address,
            (Amount::from_base_units(1), 0),
        );
        used.insert(
            w.for_account(1).address(3).unwrap().address,
            (Amount::ZERO, 1),
        );
        used.insert(
            w.for_account(3).address(0).unwrap().address,
            (Amount::ZERO, 1),
        );
        let found = discover(&w, 10, |a| {
            let r = used.get(&a).copied().unwrap_or((Amount::ZERO, 0));
            async move { Ok::<_, HdError>(r) }
        })
        .await
        .unwrap();
        assert_eq!(found.len(), 2);
        let indexes: Vec<u32> = found[0].used.iter().map(|(d, _, _)| d.index).collect();
        assert_eq!(indexes, vec![0, 19], "index 45 lies beyond a gap of 20");
        assert_eq!(found[1].account, 1);
        assert_eq!(found[1].used[0].0.index, 3);
    }
}
