//! Canonical encoding (borsh) and bounded decoding of untrusted bytes.
//!
//! Borsh gives one encoding per value. [`decode`] adds the two rules every trust boundary needs:
//! the input must not exceed a size limit chosen by the caller, and it must be consumed exactly
//! (trailing bytes are an error, so two different byte strings never decode to the same value).
//! Borsh itself bounds up-front allocation for length-prefixed collections, so a decode never
//! allocates much more than the (already bounded) input size.

use borsh::{BorshDeserialize, BorshSerialize};

/// Largest encoded transaction accepted anywhere.
pub const MAX_TX_BYTES: usize = 32 * 1024;
/// Largest encoded block accepted anywhere.
pub const MAX_BLOCK_BYTES: usize = 8 * 1024 * 1024;
/// Most transactions in one block.
pub const MAX_BLOCK_TXS: usize = 20_000;

/// Why bytes did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input is larger than the limit for this kind of value.
    #[error("input is {len} bytes, above the limit of {max}")]
    TooLarge {
        /// input length
        len: usize,
        /// limit
        max: usize,
    },
    /// The bytes are not a valid encoding (truncated, bad enum tag, invalid field...).
    #[error("malformed encoding: {0}")]
    Malformed(String),
    /// A valid value followed by extra bytes.
    #[error("{0} unexpected trailing bytes after the value")]
    TrailingBytes(usize),
}

/// Decodes `bytes` as a `T`, enforcing `max_len` and rejecting trailing bytes.
pub fn decode<T: BorshDeserialize>(bytes: &[u8], max_len: usize) -> Result<T, DecodeError> {
    if bytes.len() > max_len {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            max: max_len,
        });
    }
    let mut rest = bytes;
    let value = T::deserialize(&mut rest).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    Ok(value)
}

/// Encodes a value canonically.
///
/// Writing into a `Vec` fails only for a type whose serializer itself errors (borsh refuses
/// collections of zero-sized types); no RustChain type does, and the tests encode every one. A
/// failure is a programming error, and returning anything (such as empty bytes, which would then
/// be hashed and signed) would be worse than stopping.
#[allow(clippy::expect_used)]
pub fn encode<T: BorshSerialize>(value: &T) -> Vec<u8> {
    borsh::to_vec(value).expect("borsh serialization into a Vec cannot fail for RustChain types")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_trailing_bytes() {
        let bytes = encode(&(7u32, 9u64));
        assert_eq!(decode::<(u32, u64)>(&bytes, 64).unwrap(), (7, 9));
        assert_eq!(
            decode::<(u32, u64)>(&bytes, 4),
            Err(DecodeError::TooLarge { len: 12, max: 4 })
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            decode::<(u32, u64)>(&longer, 64),
            Err(DecodeError::TrailingBytes(1))
        );
        assert!(matches!(
            decode::<(u32, u64)>(&bytes[..5], 64),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn huge_length_prefix_does_not_allocate_it() {
        // A Vec claiming 4 billion elements, backed by 4 bytes of input.
        let bytes = [0xff, 0xff, 0xff, 0xff];
        assert!(decode::<Vec<u64>>(&bytes, 1024).is_err());
    }
}
