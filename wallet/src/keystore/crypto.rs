//! Argon2id key derivation and XChaCha20-Poly1305 sealing, plus the secret string type.

use std::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::{AeadInPlace, KeyInit, OsRng};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use super::error::{KeystoreError, Result};

/// Salt length written and accepted (bytes).
pub const SALT_LEN: usize = 16;
/// XChaCha20-Poly1305 nonce length (bytes).
pub const NONCE_LEN: usize = 24;
/// Poly1305 tag length (bytes).
pub const TAG_LEN: usize = 16;
/// Derived key length (bytes).
pub const KEY_LEN: usize = 32;

/// A password or passphrase: zeroed on drop, never printed by `Debug`.
///
/// Bytes are used as given (UTF-8, no Unicode normalisation): type the password the same way
/// every time.
#[derive(Clone, Default)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps a string (taking ownership; a `&str` is copied once into the zeroizing buffer).
    pub fn new(secret: impl Into<String>) -> Self {
        SecretString(Zeroizing::new(secret.into()))
    }

    /// The secret text.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Zeroizing<String>> for SecretString {
    fn from(secret: Zeroizing<String>) -> Self {
        SecretString(secret)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

/// Argon2id cost parameters (version 0x13 = 19, 32-byte output).
///
/// Values below [`KdfParams::MIN_M_COST_KIB`] / [`KdfParams::MIN_T_COST`] are produced only by
/// [`KdfParams::insecure_for_tests`], and files using them open only through
/// [`crate::keystore::Keystore::open_insecure_for_tests`]. Values above the maxima are refused
/// everywhere, before any memory is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KdfParams {
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
}

impl Default for KdfParams {
    /// 64 MiB, 3 passes, 1 lane.
    fn default() -> Self {
        KdfParams {
            m_cost_kib: 64 * 1024,
            t_cost: 3,
            p_cost: 1,
        }
    }
}

impl KdfParams {
    /// Smallest memory cost accepted outside tests: 19 MiB (the OWASP minimum for Argon2id).
    pub const MIN_M_COST_KIB: u32 = 19 * 1024;
    /// Fewest passes accepted outside tests.
    pub const MIN_T_COST: u32 = 2;
    /// Largest memory cost ever accepted: 2 GiB (refused before allocating).
    pub const MAX_M_COST_KIB: u32 = 2 * 1024 * 1024;
    /// Most passes ever accepted.
    pub const MAX_T_COST: u32 = 32;
    /// Most lanes ever accepted.
    pub const MAX_P_COST: u32 = 16;

    /// Parameters within the production range: `MIN_M_COST_KIB..=MAX_M_COST_KIB` KiB,
    /// `MIN_T_COST..=MAX_T_COST` passes, `1..=MAX_P_COST` lanes.
    pub fn new(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self> {
        let params = KdfParams {
            m_cost_kib,
            t_cost,
            p_cost,
        };
        params.check(false)?;
        Ok(params)
    }

    /// **Test-only** parameters (8 KiB, 1 pass, 1 lane): derivation takes microseconds and
    /// protects nothing. A file written with them is refused by
    /// [`crate::keystore::Keystore::open`]; tests open it with
    /// [`crate::keystore::Keystore::open_insecure_for_tests`].
    pub fn insecure_for_tests() -> Self {
        KdfParams {
            m_cost_kib: 8,
            t_cost: 1,
            p_cost: 1,
        }
    }

    /// Memory cost in KiB.
    pub fn m_cost_kib(&self) -> u32 {
        self.m_cost_kib
    }

    /// Passes.
    pub fn t_cost(&self) -> u32 {
        self.t_cost
    }

    /// Lanes.
    pub fn p_cost(&self) -> u32 {
        self.p_cost
    }

    /// Whether these are below the production minimum.
    pub fn is_below_minimum(&self) -> bool {
        self.m_cost_kib < Self::MIN_M_COST_KIB || self.t_cost < Self::MIN_T_COST
    }

    /// Builds from file values without checking (the caller checks).
    pub(crate) fn from_raw(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Self {
        KdfParams {
            m_cost_kib,
            t_cost,
            p_cost,
        }
    }

    /// Checks the bounds: maxima always, minima unless `allow_insecure`.
    pub(crate) fn check(&self, allow_insecure: bool) -> Result<()> {
        let out = |why: String| Err(KeystoreError::KdfParamsOutOfRange(why));
        if self.m_cost_kib > Self::MAX_M_COST_KIB {
            return out(format!(
                "memory cost {} KiB is above the {} KiB limit",
                self.m_cost_kib,
                Self::MAX_M_COST_KIB
            ));
        }
        if self.t_cost == 0 || self.t_cost > Self::MAX_T_COST {
            return out(format!(
                "{} passes is outside 1..={}",
                self.t_cost,
                Self::MAX_T_COST
            ));
        }
        if self.p_cost == 0 || self.p_cost > Self::MAX_P_COST {
            return out(format!(
                "{} lanes is outside 1..={}",
                self.p_cost,
                Self::MAX_P_COST
            ));
        }
        if self.m_cost_kib < 8 * self.p_cost {
            return out(format!(
                "memory cost {} KiB is below 8 KiB per lane",
                self.m_cost_kib
            ));
        }
        if !allow_insecure && self.is_below_minimum() {
            return out(format!(
                "memory cost {} KiB with {} passes is below the minimum ({} KiB, {} passes); \
                 test-only parameters are refused here",
                self.m_cost_kib,
                self.t_cost,
                Self::MIN_M_COST_KIB,
                Self::MIN_T_COST
            ));
        }
        Ok(())
    }
}

/// Argon2id(password, salt) -> 32-byte key. The caller has checked `params`.
pub(crate) fn derive_key(
    password: &[u8],
    salt: &[u8; SALT_LEN],
    params: KdfParams,
) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    let argon_params = Params::new(
        params.m_cost_kib,
        params.t_cost,
        params.p_cost,
        Some(KEY_LEN),
    )
    .map_err(|e| KeystoreError::KdfParamsOutOfRange(e.to_string()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    argon
        .hash_password_into(password, salt, key.as_mut())
        .map_err(|e| KeystoreError::Internal(format!("argon2id: {e}")))?;
    Ok(key)
}

/// Fills `buf` from the operating system's random number generator.
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<()> {
    OsRng
        .try_fill_bytes(buf)
        .map_err(|e| KeystoreError::Randomness(e.to_string()))
}

/// XChaCha20-Poly1305 encryption of `plaintext` (ciphertext followed by the 16-byte tag).
pub(crate) fn seal(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    let mut buffer = Zeroizing::new(Vec::with_capacity(plaintext.len() + TAG_LEN));
    buffer.extend_from_slice(plaintext);
    cipher
        .encrypt_in_place(XNonce::from_slice(nonce), aad, &mut *buffer)
        .map_err(|_| KeystoreError::Internal("xchacha20-poly1305 encryption failed".into()))?;
    // Now ciphertext: nothing secret left in it; copy out of the zeroizing wrapper.
    Ok(buffer.to_vec())
}

/// XChaCha20-Poly1305 decryption; `None` when the tag does not verify (wrong key, or the
/// ciphertext, nonce or associated data were modified). The plaintext is only ever in a
/// zeroizing buffer.
pub(crate) fn open(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_in_place(XNonce::from_slice(nonce), aad, &mut *buffer)
        .ok()?;
    Some(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_bounds() {
        assert!(KdfParams::new(64 * 1024, 3, 1).is_ok());
        assert!(KdfParams::new(KdfParams::MIN_M_COST_KIB, 2, 1).is_ok());
        assert!(KdfParams::new(KdfParams::MIN_M_COST_KIB - 1, 3, 1).is_err());
        assert!(KdfParams::new(64 * 1024, 1, 1).is_err());
        assert!(KdfParams::new(u32::MAX, 3, 1).is_err());
        assert!(KdfParams::new(64 * 1024, 33, 1).is_err());
        assert!(KdfParams::new(64 * 1024, 3, 0).is_err());
        assert!(KdfParams::new(64 * 1024, 3, 17).is_err());
        assert!(KdfParams::default().check(false).is_ok());
        assert!(KdfParams::insecure_for_tests().check(false).is_err());
        assert!(KdfParams::insecure_for_tests().check(true).is_ok());
        assert!(KdfParams::from_raw(8, 1, 2).check(true).is_err());
    }

    #[test]
    fn seal_open_round_trip_and_tamper() {
        let key = [7u8; KEY_LEN];
        let nonce = [9u8; NONCE_LEN];
        let sealed = seal(&key, &nonce, b"ad", b"secret words").unwrap();
        assert_eq!(sealed.len(), 12 + TAG_LEN);
        assert_eq!(
            open(&key, &nonce, b"ad", &sealed).unwrap().as_slice(),
            b"secret words"
        );
        assert!(open(&key, &nonce, b"ae", &sealed).is_none());
        assert!(open(&[8u8; KEY_LEN], &nonce, b"ad", &sealed).is_none());
        let mut bad = sealed.clone();
        bad[0] ^= 1;
        assert!(open(&key, &nonce, b"ad", &bad).is_none());
        assert!(open(&key, &nonce, b"ad", &sealed[..TAG_LEN - 1]).is_none());
    }

    /// Our wrapper against the third-party cross-check tags in shared/vectors (the entries with
    /// a 16-byte salt; the test vectors file runs all of them through the argon2 crate).
    #[test]
    fn derive_key_matches_cross_check_vectors() {
        let key = derive_key(
            b"password",
            b"somesaltsomesalt",
            KdfParams::new(65536, 3, 4).unwrap(),
        )
        .unwrap();
        assert_eq!(
            hex::encode(&key[..]),
            "81db97a7e67a891784a2599bc879f957cb3512d273984bd97d8a18fc59ff01e2"
        );
        let salt: [u8; SALT_LEN] = core::array::from_fn(|i| i as u8);
        let key = derive_key(
            b"correct horse battery staple",
            &salt,
            KdfParams::insecure_for_tests(),
        )
        .unwrap();
        assert_eq!(
            hex::encode(&key[..]),
            "d17ea6341ca93da6079ea2f64dc4aa31dd1aaf9caa67fb42ac4afd0714706f26"
        );
    }

    #[test]
    fn secret_string_debug_is_redacted() {
        let s = SecretString::new("hunter2");
        assert_eq!(format!("{s:?}"), "SecretString(<redacted>)");
        assert_eq!(s.expose(), "hunter2");
    }
}
