//! JSON-RPC error codes. Codes are stable: clients may match on them.
//!
//! | code   | meaning |
//! |--------|---------|
//! | -32700 | parse error (body is not JSON) |
//! | -32600 | invalid request |
//! | -32601 | method not found |
//! | -32602 | invalid params (wrong type or count) |
//! | -32007 | request body too large |
//! | -32010 | batch too large |
//! | 1001   | invalid hex |
//! | 1002   | transaction bytes do not decode (truncated, malformed, trailing bytes) |
//! | 1003   | transaction too large |
//! | 1010   | wrong chain id |
//! | 1011   | bad signature |
//! | 1012   | nonce too low (already used: a replay) |
//! | 1013   | insufficient balance |
//! | 1014   | fee below minimum |
//! | 1015   | nonce too far ahead |
//! | 1016   | already in the pool |
//! | 1017   | replacement underpriced |
//! | 1018   | pool full |
//! | 1019   | sender has too many pooled transactions |
//! | 1020   | fee plus amount overflows |
//! | 1021   | malformed payload (for example a non-canonical multisig policy) |
//! | 1022   | the payload would fail against the head state (multisig call not approved, stale nonce, unknown or already registered multisig account) |
//! | 2001   | not found (block, transaction, receipt, epoch, miner) |
//! | 2002   | invalid address |
//! | 2003   | invalid block id |
//! | 3001   | networking is off on this node |
//! | 4001   | attestation bytes do not decode (or are too large) |
//! | 4002   | attestation breaks a RIP-200 rule (stale reference, weak proof of work, bad signature, wrong window or epoch, simulated mode refused, malformed evidence...) |
//! | 4003   | this miner already attested this window (included or pending) |
//! | 5000   | internal error (storage) |
//! | 6001   | the embedded wallet is not enabled on this node |
//! | 6002   | wallet method called without the configured bearer token |
//! | 6003   | refused by the wallet's spending policy (the message names the rule) |
//! | 6004   | the wallet has no key for it (not a signer of the multisig account) |
//! | 6005   | invalid wallet request (bad partially signed call, wrong chain, bad index) |

use jsonrpsee::types::ErrorObjectOwned;
use rustchain_mempool::Rejection;
use rustchain_state::rules::TxInvalid;

/// Invalid hex.
pub const INVALID_HEX: i32 = 1001;
/// Transaction bytes do not decode.
pub const DECODE_FAILED: i32 = 1002;
/// Transaction too large.
pub const TX_TOO_LARGE: i32 = 1003;
/// Wrong chain id.
pub const WRONG_CHAIN_ID: i32 = 1010;
/// Bad signature.
pub const BAD_SIGNATURE: i32 = 1011;
/// Nonce already used.
pub const NONCE_TOO_LOW: i32 = 1012;
/// Balance too low.
pub const INSUFFICIENT_BALANCE: i32 = 1013;
/// Fee below minimum.
pub const FEE_TOO_LOW: i32 = 1014;
/// Nonce too far ahead.
pub const NONCE_GAP: i32 = 1015;
/// Already pooled.
pub const ALREADY_KNOWN: i32 = 1016;
/// Replacement underpriced.
pub const REPLACEMENT_UNDERPRICED: i32 = 1017;
/// Pool full.
pub const POOL_FULL: i32 = 1018;
/// Sender limit.
pub const SENDER_FULL: i32 = 1019;
/// Cost overflow.
pub const COST_OVERFLOW: i32 = 1020;
/// Malformed payload.
pub const INVALID_PAYLOAD: i32 = 1021;
/// The payload would fail.
pub const PAYLOAD_WOULD_FAIL: i32 = 1022;
/// Not found.
pub const NOT_FOUND: i32 = 2001;
/// Invalid address.
pub const INVALID_ADDRESS: i32 = 2002;
/// Invalid block id.
pub const INVALID_BLOCK_ID: i32 = 2003;
/// Internal error.
pub const INTERNAL: i32 = 5000;
/// Networking is off on this node.
pub const NETWORK_DISABLED: i32 = 3001;
/// Attestation bytes do not decode.
pub const ATTESTATION_DECODE: i32 = 4001;
/// Attestation breaks a rule.
pub const ATTESTATION_INVALID: i32 = 4002;
/// Window already attested by this miner.
pub const ATTESTATION_DUPLICATE: i32 = 4003;

/// The embedded wallet is not enabled.
pub const WALLET_DISABLED: i32 = 6001;
/// Wallet method called without the configured token.
pub const WALLET_UNAUTHORIZED: i32 = 6002;
/// Refused by the wallet's spending policy.
pub const WALLET_POLICY: i32 = 6003;
/// The wallet holds no key for the request.
pub const WALLET_NO_KEY: i32 = 6004;
/// Invalid wallet request.
pub const WALLET_INVALID: i32 = 6005;

/// Maps an attestation pool refusal to its error object.
pub fn attestation_rejection(r: &rustchain_mempool::AttestationRejection) -> ErrorObjectOwned {
    use rustchain_consensus::rip200::AttestationInvalid;
    use rustchain_mempool::AttestationRejection;
    let code = match r {
        AttestationRejection::Invalid(AttestationInvalid::DuplicateWindow { .. })
        | AttestationRejection::AlreadyPending { .. } => ATTESTATION_DUPLICATE,
        AttestationRejection::Invalid(_) => ATTESTATION_INVALID,
        AttestationRejection::PoolFull => POOL_FULL,
    };
    err(code, format!("attestation rejected: {r}"))
}

/// An error object with a code and message.
pub fn err(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.into(), None::<()>)
}

/// Maps a mempool rejection to its error object.
pub fn rejection(r: &Rejection) -> ErrorObjectOwned {
    let code = match r {
        Rejection::Invalid(invalid) => match invalid {
            TxInvalid::WrongChainId { .. } => WRONG_CHAIN_ID,
            TxInvalid::BadSignature(_) => BAD_SIGNATURE,
            TxInvalid::FeeTooLow { .. } => FEE_TOO_LOW,
            TxInvalid::CostOverflow => COST_OVERFLOW,
            TxInvalid::NonceTooLow { .. } => NONCE_TOO_LOW,
            TxInvalid::NonceTooHigh { .. } => NONCE_GAP,
            TxInvalid::InsufficientBalance { .. } => INSUFFICIENT_BALANCE,
            TxInvalid::Payload(_) => INVALID_PAYLOAD,
        },
        Rejection::WouldFail(_) => PAYLOAD_WOULD_FAIL,
        Rejection::TooLarge { .. } => TX_TOO_LARGE,
        Rejection::AlreadyKnown(_) => ALREADY_KNOWN,
        Rejection::ReplacementUnderpriced { .. } => REPLACEMENT_UNDERPRICED,
        Rejection::NonceGap { .. } => NONCE_GAP,
        Rejection::SenderFull(_) => SENDER_FULL,
        Rejection::PoolFull { .. } => POOL_FULL,
    };
    err(code, format!("transaction rejected: {r}"))
}

/// Maps a storage error (never the client's fault).
pub fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    err(INTERNAL, format!("internal error: {e}"))
}
