//! Chain identifiers and the network kind they imply.
//!
//! A chain id is a short lowercase string (`[a-z0-9-]`, 3 to 32 characters). Its prefix decides
//! the network kind, and so which rules apply:
//!
//! | prefix  | kind                  | address HRP |
//! |---------|-----------------------|-------------|
//! | `dev-`  | [`NetworkKind::Dev`]  | `rtcdev`    |
//! | `test-` | [`NetworkKind::Test`] | `trtc`      |
//! | other   | [`NetworkKind::Main`] | `rtc`       |
//!
//! Any id without a dev or test prefix is treated as mainnet, so a mistake can only make rules
//! *stricter* (for example, simulated attestations are refused), never looser. Every signed
//! payload commits to the chain id, so a transaction signed for a dev network is invalid on any
//! other chain.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};

/// Which family of networks a chain belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkKind {
    /// Production network.
    Main,
    /// Public or local test network.
    Test,
    /// Developer network (`rustchain-node --dev`).
    Dev,
}

impl NetworkKind {
    /// The bech32m human-readable part of addresses on this kind of network.
    pub const fn address_hrp(self) -> &'static str {
        match self {
            NetworkKind::Main => "rtc",
            NetworkKind::Test => "trtc",
            NetworkKind::Dev => "rtcdev",
        }
    }
}

/// A validated chain id.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize)]
pub struct ChainId(String);

/// Why a string is not a chain id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainIdError {
    /// Too short or too long.
    #[error("chain id must be 3 to 32 characters, got {0}")]
    Length(usize),
    /// A character outside `[a-z0-9-]`.
    #[error("chain id may contain only a-z, 0-9 and '-', found {0:?}")]
    Character(char),
}

impl ChainId {
    /// Longest accepted chain id, in bytes.
    pub const MAX_LEN: usize = 32;

    /// Validates and wraps a chain id.
    pub fn new(id: impl Into<String>) -> Result<Self, ChainIdError> {
        let id = id.into();
        if !(3..=Self::MAX_LEN).contains(&id.len()) {
            return Err(ChainIdError::Length(id.len()));
        }
        if let Some(c) = id
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(ChainIdError::Character(c));
        }
        Ok(ChainId(id))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The network kind implied by the prefix.
    pub fn kind(&self) -> NetworkKind {
        if self.0.starts_with("dev-") {
            NetworkKind::Dev
        } else if self.0.starts_with("test-") {
            NetworkKind::Test
        } else {
            NetworkKind::Main
        }
    }

    /// The address HRP for this chain.
    pub fn address_hrp(&self) -> &'static str {
        self.kind().address_hrp()
    }
}

impl BorshDeserialize for ChainId {
    fn deserialize_reader<R: std::io::Read>(reader: &mut R) -> std::io::Result<Self> {
        let len = u32::deserialize_reader(reader)? as usize;
        if len > Self::MAX_LEN {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                ChainIdError::Length(len),
            ));
        }
        let mut buf = vec![0u8; len];
        reader.read_exact(&mut buf)?;
        let s = String::from_utf8(buf)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        ChainId::new(s).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainId({})", self.0)
    }
}

impl FromStr for ChainId {
    type Err = ChainIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChainId::new(s)
    }
}

impl serde::Serialize for ChainId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for ChainId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        ChainId::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_prefix() {
        assert_eq!(
            ChainId::new("dev-rustchain").unwrap().kind(),
            NetworkKind::Dev
        );
        assert_eq!(
            ChainId::new("test-local").unwrap().kind(),
            NetworkKind::Test
        );
        assert_eq!(
            ChainId::new("rustchain-1").unwrap().kind(),
            NetworkKind::Main
        );
        // A near miss is mainnet, the strict side.
        assert_eq!(ChainId::new("devnet").unwrap().kind(), NetworkKind::Main);
    }

    #[test]
    fn rejects_bad_ids() {
        assert_eq!(ChainId::new("ab"), Err(ChainIdError::Length(2)));
        assert_eq!(ChainId::new("Dev-x"), Err(ChainIdError::Character('D')));
        assert!(ChainId::new("a".repeat(33)).is_err());
        let encoded = borsh::to_vec(&"BAD ID".to_string()).unwrap();
        assert!(borsh::from_slice::<ChainId>(&encoded).is_err());
    }
}
