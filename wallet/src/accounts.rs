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
}
