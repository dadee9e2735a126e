//! Account addresses.
//!
//! An address is the first 20 bytes of `tagged_hash("RustChain/address", x-only public key)`.
//! It is shown as bech32m (BIP-350) with a human-readable part that names the network kind
//! (`rtc` on mainnet, `trtc` on test networks, `rtcdev` on dev networks), so an address typed for
//! one network is refused by another, and bech32m's checksum catches typing mistakes.

use std::fmt;

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32m, Hrp};
use borsh::{BorshDeserialize, BorshSerialize};

use crate::chain::NetworkKind;
use crate::hash::{tagged_hash, Tag};
use crate::keys::PublicKey;

/// A 20-byte account address.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct Address(pub [u8; 20]);

/// Why a string is not a usable address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Not bech32m, or the checksum does not match (usually a typo).
    #[error("not a valid bech32m address ({0}); check for a mistyped character")]
    Encoding(String),
    /// A valid bech32m string, but for another network.
    #[error("address is for another network: expected prefix '{expected}', found '{found}'")]
    WrongNetwork {
        /// the HRP this network uses
        expected: &'static str,
        /// the HRP found
        found: String,
    },
    /// The payload is not 20 bytes.
    #[error("address payload must be 20 bytes, got {0}")]
    Length(usize),
    /// The HRP names no RustChain network.
    #[error("unknown address prefix '{0}': expected rtc, trtc or rtcdev")]
    UnknownPrefix(String),
}

impl Address {
    /// The address of a public key.
    pub fn from_public_key(key: &PublicKey) -> Address {
        let hash = tagged_hash(Tag::Address, &key.0);
        let mut out = [0u8; 20];
        out.copy_from_slice(&hash.0[..20]);
        Address(out)
    }

    /// bech32m text for a network kind.
    pub fn encode(&self, kind: NetworkKind) -> String {
        // The HRPs are constant and valid, and 20 bytes is far below the length limit, so
        // encoding cannot fail; fall back to hex rather than panic if that ever changed.
        Hrp::parse(kind.address_hrp())
            .ok()
            .and_then(|hrp| bech32::encode::<Bech32m>(hrp, &self.0).ok())
            .unwrap_or_else(|| format!("0x{}", hex::encode(self.0)))
    }

    /// Parses bech32m text, whatever the network; returns the network it names.
    pub fn decode_any(s: &str) -> Result<(Address, NetworkKind), AddressError> {
        let checked = CheckedHrpstring::new::<Bech32m>(s)
            .map_err(|e| AddressError::Encoding(e.to_string()))?;
        let hrp = checked.hrp().to_lowercase();
        let kind = [NetworkKind::Main, NetworkKind::Test, NetworkKind::Dev]
            .into_iter()
            .find(|k| k.address_hrp() == hrp)
            .ok_or_else(|| AddressError::UnknownPrefix(hrp.clone()))?;
        let bytes: Vec<u8> = checked.byte_iter().collect();
        let len = bytes.len();
        let array: [u8; 20] = bytes.try_into().map_err(|_| AddressError::Length(len))?;
        Ok((Address(array), kind))
    }

    /// Parses bech32m text and requires it to belong to `kind`.
    pub fn decode(s: &str, kind: NetworkKind) -> Result<Address, AddressError> {
        let (address, found) = Address::decode_any(s)?;
        if found != kind {
            return Err(AddressError::WrongNetwork {
                expected: kind.address_hrp(),
                found: found.address_hrp().to_string(),
            });
        }
        Ok(address)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address(0x{})", hex::encode(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyPair;

    fn sample() -> Address {
        Address::from_public_key(&KeyPair::from_secret_bytes(&[3u8; 32]).unwrap().public_key())
    }

    #[test]
    fn round_trip_each_network() {
        let a = sample();
        for kind in [NetworkKind::Main, NetworkKind::Test, NetworkKind::Dev] {
            let text = a.encode(kind);
            assert!(text.starts_with(kind.address_hrp()));
            assert_eq!(Address::decode(&text, kind).unwrap(), a);
        }
    }

    #[test]
    fn every_single_character_typo_is_rejected() {
        let text = sample().encode(NetworkKind::Dev);
        let hrp_len = "rtcdev1".len();
        for i in hrp_len..text.len() {
            for replacement in ['q', 'p', 'z', '0', '7'] {
                let mut chars: Vec<char> = text.chars().collect();
                if chars[i] == replacement {
                    continue;
                }
                chars[i] = replacement;
                let typo: String = chars.into_iter().collect();
                assert!(
                    Address::decode(&typo, NetworkKind::Dev).is_err(),
                    "typo at {i} accepted: {typo}"
                );
            }
        }
    }

    #[test]
    fn wrong_network_is_named() {
        let text = sample().encode(NetworkKind::Main);
        assert_eq!(
            Address::decode(&text, NetworkKind::Dev),
            Err(AddressError::WrongNetwork {
                expected: "rtcdev",
                found: "rtc".into()
            })
        );
    }

    #[test]
    fn bech32_non_m_and_garbage_rejected() {
        let hrp = Hrp::parse("rtc").unwrap();
        let legacy = bech32::encode::<bech32::Bech32>(hrp, &[1u8; 20]).unwrap();
        assert!(matches!(
            Address::decode_any(&legacy),
            Err(AddressError::Encoding(_))
        ));
        assert!(matches!(
            Address::decode_any("hello"),
            Err(AddressError::Encoding(_))
        ));
        let short = bech32::encode::<Bech32m>(hrp, &[1u8; 19]).unwrap();
        assert_eq!(Address::decode_any(&short), Err(AddressError::Length(19)));
        let other = bech32::encode::<Bech32m>(Hrp::parse("bc").unwrap(), &[1u8; 20]).unwrap();
        assert_eq!(
            Address::decode_any(&other),
            Err(AddressError::UnknownPrefix("bc".into()))
        );
    }
}
