//! `X-Hub-Signature-256`: HMAC-SHA256 of the raw body under the repository's secret.
//!
//! The header is `sha256=` followed by the 64 hex digits of the MAC. GitHub sends lower-case
//! digits; upper-case digits decode to the same bytes and are accepted. The prefix is exact.
//! The MAC is compared with [`hmac::Mac::verify_slice`], in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What precedes the hex digits in the header.
pub const SIGNATURE_PREFIX: &str = "sha256=";

/// Why a signature header is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header does not start with `sha256=`.
    #[error("X-Hub-Signature-256 must start with \"sha256=\"")]
    MissingPrefix,
    /// The digits are not 64 hex digits.
    #[error("X-Hub-Signature-256 must be \"sha256=\" followed by 64 hex digits")]
    BadHex,
    /// The MAC does not match the body under the secret.
    #[error("the signature does not match the body under the repository's secret")]
    Mismatch,
}

/// Parses `sha256=<64 hex digits>` into the 32 MAC bytes.
pub fn parse_signature_header(header: &str) -> Result<[u8; 32], SignatureError> {
    let digits = header
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(SignatureError::MissingPrefix)?;
    if digits.len() != 64 {
        return Err(SignatureError::BadHex);
    }
    let mut mac = [0u8; 32];
    hex::decode_to_slice(digits, &mut mac).map_err(|_| SignatureError::BadHex)?;
    Ok(mac)
}

/// Checks that `mac` is HMAC-SHA256(`secret`, `body`), in constant time.
pub fn verify_mac(secret: &[u8], body: &[u8], mac: &[u8; 32]) -> Result<(), SignatureError> {
    // HMAC takes keys of any length; this cannot fail, but is not unwrapped.
    let mut hmac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).map_err(|_| SignatureError::Mismatch)?;
    hmac.update(body);
    hmac.verify_slice(mac).map_err(|_| SignatureError::Mismatch)
}

/// Parses the header and checks it against `body` under `secret`.
pub fn verify_signature(secret: &[u8], body: &[u8], header: &str) -> Result<(), SignatureError> {
    verify_mac(secret, body, &parse_signature_header(header)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    // GitHub's documented example ("Validating webhook deliveries").
    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const PAYLOAD: &[u8] = b"Hello, World!";
    const SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn githubs_documented_example_verifies() {
        verify_signature(SECRET, PAYLOAD, SIGNATURE).unwrap();
    }

    #[test]
    fn wrong_secret_or_body_is_a_mismatch() {
        assert_eq!(
            verify_signature(b"It's a Secret to Everybody!", PAYLOAD, SIGNATURE),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(b"", PAYLOAD, SIGNATURE),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(SECRET, b"Hello, World!\n", SIGNATURE),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(SECRET, b"", SIGNATURE),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn every_flipped_bit_of_the_mac_is_a_mismatch() {
        let mac = parse_signature_header(SIGNATURE).unwrap();
        for byte in 0..32 {
            for bit in 0..8 {
                let mut m = mac;
                m[byte] ^= 1 << bit;
                assert_eq!(
                    verify_mac(SECRET, PAYLOAD, &m),
                    Err(SignatureError::Mismatch),
                    "byte {byte} bit {bit}"
                );
            }
        }
        verify_mac(SECRET, PAYLOAD, &mac).unwrap();
    }

    #[test]
    fn a_flipped_body_byte_is_a_mismatch() {
        let mut body = PAYLOAD.to_vec();
        body[0] ^= 0x20; // "hello, World!"
        assert_eq!(
            verify_signature(SECRET, &body, SIGNATURE),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn malformed_headers() {
        let digits = &SIGNATURE[SIGNATURE_PREFIX.len()..];
        // No prefix, wrong algorithm, wrong case of the prefix.
        for h in [
            digits.to_string(),
            format!("sha1={digits}"),
            format!("SHA256={digits}"),
            format!(" sha256={digits}"),
            String::new(),
        ] {
            assert_eq!(
                parse_signature_header(&h),
                Err(SignatureError::MissingPrefix),
                "{h:?}"
            );
        }
        // Truncated, odd length, too long, not hex, empty, trailing space.
        for h in [
            format!("sha256={}", &digits[..62]),
            format!("sha256={}", &digits[..63]),
            format!("sha256={digits}0"),
            format!("sha256={digits}00"),
            format!("sha256={}g", &digits[..63]),
            format!("sha256={}", "zz".repeat(32)),
            "sha256=".to_string(),
            format!("sha256={digits} "),
        ] {
            assert_eq!(
                parse_signature_header(&h),
                Err(SignatureError::BadHex),
                "{h:?}"
            );
        }
    }

    #[test]
    fn upper_case_hex_is_the_same_mac() {
        let upper = format!(
            "sha256={}",
            SIGNATURE[SIGNATURE_PREFIX.len()..].to_ascii_uppercase()
        );
        assert_eq!(
            parse_signature_header(&upper),
            parse_signature_header(SIGNATURE)
        );
        verify_signature(SECRET, PAYLOAD, &upper).unwrap();
    }
}
