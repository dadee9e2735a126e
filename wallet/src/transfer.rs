//! Building and signing transfers.

use rustchain_primitives::{Address, Amount, ChainId, KeyPair, Transaction, TxBody, TxPayload};

/// Builds and signs a transfer.
pub fn sign_transfer(
    key: &KeyPair,
    chain_id: ChainId,
    nonce: u64,
    to: Address,
    amount: Amount,
    fee: Amount,
) -> Transaction {
    TxBody {
        chain_id,
        sender: key.public_key(),
        nonce,
        fee,
        payload: TxPayload::Transfer { to, amount },
    }
    .sign(key)
}

/// `0x`-hex of a signed transaction, as `tx_submit` takes it.
pub fn to_hex(tx: &Transaction) -> String {
    format!("0x{}", hex::encode(tx.encode()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_verifies() {
        let key = KeyPair::from_secret_bytes(&[3; 32]).unwrap();
        let tx = sign_transfer(
            &key,
            ChainId::new("dev-x").unwrap(),
            4,
            Address([1; 20]),
            Amount::from_base_units(5),
            Amount::from_base_units(1000),
        );
        let text = to_hex(&tx);
        let bytes = hex::decode(text.trim_start_matches("0x")).unwrap();
        let back = Transaction::decode(&bytes).unwrap();
        assert_eq!(back, tx);
        assert!(back.verify_signature().is_ok());
    }
}
