//! The OpenRPC document served by `rpc.discover`: the reference for every method.
//!
//! It is written here beside the traits, and a test checks that the set of methods registered on
//! the server and the set documented here are the same, so neither can drift from the other.

use serde_json::{json, Value};

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn param(name: &str, required: bool, schema: Value, description: &str) -> Value {
    json!({ "name": name, "required": required, "schema": schema, "description": description })
}

fn method(name: &str, summary: &str, params: Vec<Value>, result: (&str, Value)) -> Value {
    json!({
        "name": name,
        "summary": summary,
        "params": params,
        "result": { "name": result.0, "schema": result.1 },
    })
}

fn block_id() -> Value {
    json!({
        "description": "a height, a 0x-prefixed block hash, \"latest\" or \"finalized\"",
        "oneOf": [
            { "type": "integer", "minimum": 0 },
            { "type": "string", "pattern": "^0x[0-9a-fA-F]{64}$" },
            { "type": "string", "enum": ["latest", "finalized"] }
        ]
    })
}

fn hash() -> Value {
    json!({ "type": "string", "pattern": "^0x[0-9a-fA-F]{64}$" })
}

/// Every method: `(name, documented)` pairs come from here.
pub fn methods() -> Vec<Value> {
    let mut methods = vec![
        method("system_info", "Chain id, network, genesis hash, software version, role, slot duration and minimum fee.", vec![], ("info", schema_ref("Info"))),
        method("system_health", "Head and finalized heights, head age, sync status, peer count and mempool size. status is \"stalled\" when the head is more than 5 slots old.", vec![], ("health", schema_ref("Health"))),
        method("chain_getHead", "The head block and the latest finalized block.", vec![], ("head", schema_ref("Head"))),
        method(
            "chain_getBlock",
            "A block by height, hash, \"latest\" or \"finalized\". With full = true the transactions are whole objects, otherwise their ids.",
            vec![param("id", true, block_id(), "which block"), param("full", false, json!({"type": "boolean", "default": false}), "return whole transactions")],
            ("block", schema_ref("Block")),
        ),
        method("chain_getHeader", "A block header by height, hash, \"latest\" or \"finalized\".", vec![param("id", true, block_id(), "which block")], ("header", schema_ref("Header"))),
        method("chain_getFinalityCertificate", "The finality certificate proving the block at a height final: the votes of more than 2/3 of the validators for the link from the lowest finalized block at or above that height to its child. Error 2001 when the height is not final yet.", vec![param("height", true, json!({"type": "integer"}), "block height")], ("certificate", schema_ref("Certificate"))),
        method("chain_getValidators", "The genesis validators with their jail status at the head: active (in the proposer rotation and counted for finality), offences punished so far, and jailed_until_slot (null when free; 18446744073709551615 when jailed permanently).", vec![], ("validators", json!({"type": "array", "items": schema_ref("Validator")}))),
        method("net_peers", "Connected peers: libp2p peer id, address, direction (inbound or outbound) and application score (0 is best; at -100 the peer is banned). Empty when networking is off.", vec![], ("peers", json!({"type": "array", "items": schema_ref("Peer")}))),
        method("net_info", "Our libp2p peer id, bound listen addresses and peer count. Error 3001 when networking is off.", vec![], ("info", schema_ref("NetInfo"))),
        method("chain_subscribeNewHeads", "WebSocket subscription: a newHead notification with the header of every new head. Cancel with chain_unsubscribeNewHeads.", vec![], ("subscription", json!({"type": "string"}))),
        method("chain_unsubscribeNewHeads", "Cancels a chain_subscribeNewHeads subscription.", vec![param("subscription", true, json!({"type": "string"}), "the subscription id")], ("cancelled", json!({"type": "boolean"}))),
        method("chain_subscribeFinalizedHeads", "WebSocket subscription: a finalizedHead notification with the header of every newly finalized block. Cancel with chain_unsubscribeFinalizedHeads.", vec![], ("subscription", json!({"type": "string"}))),
        method("chain_unsubscribeFinalizedHeads", "Cancels a chain_subscribeFinalizedHeads subscription.", vec![param("subscription", true, json!({"type": "string"}), "the subscription id")], ("cancelled", json!({"type": "boolean"}))),
        method(
            "state_getAccount",
            "An account's balance and nonce at the head or at a given block. next_nonce counts the account's pending mempool transactions.",
            vec![param("address", true, json!({"type": "string"}), "bech32m address for this network"), param("at", false, block_id(), "block to read at (default: head)")],
            ("account", schema_ref("Account")),
        ),
        method(
            "state_getMultisig",
            "A registered multisig account at the head: its threshold, signer keys (ascending; approvals refer to them by index), balance, and the nonce its next call must carry. Error 2001 when no policy is registered at the address.",
            vec![param("address", true, json!({"type": "string"}), "bech32m address of the multisig account")],
            ("multisig", schema_ref("Multisig")),
        ),
        method(
            "tx_submit",
            "Submits a signed transaction, given as 0x-hex of its canonical (borsh) encoding, to the mempool. Errors carry the mempool's reason (codes 1001-1022).",
            vec![param("tx", true, json!({"type": "string", "pattern": "^0x[0-9a-fA-F]*$"}), "the signed transaction")],
            ("submitted", schema_ref("Submit")),
        ),
        method("tx_get", "A transaction by id: pending (in the mempool), included, or finalized.", vec![param("hash", true, hash(), "transaction id")], ("transaction", schema_ref("Transaction"))),
        method("tx_getReceipt", "The receipt of an included transaction: status, failure reason, fee paid and events.", vec![param("hash", true, hash(), "transaction id")], ("receipt", schema_ref("Receipt"))),
        method("attest_getChallenge", "What a miner needs to attest the current window: chain id, epoch and window of the head, the head as the reference block, the proof-of-work target in leading zero bits, whether Simulated mode is accepted, the window's slots and the milliseconds until the next window.", vec![], ("challenge", schema_ref("Challenge"))),
        method("attest_submit", "Submits a signed RIP-200 attestation (0x-hex of its canonical borsh encoding). Every rule is checked before it is pooled and gossiped. Returns the class, machine verdict, multiplier and reasons the validators derive from its evidence, and an estimate of the epoch reward. Errors: 4001 undecodable, 4002 a rule is broken (with the rule), 4003 window already attested, 1018 pool full.", vec![param("attestation", true, json!({"type": "string", "pattern": "^0x[0-9a-fA-F]*$"}), "the signed attestation")], ("result", schema_ref("AttestResult"))),
        method("epoch_getInfo", "The current epoch at the head: epoch, window, layout, the pot, miners enrolled so far, attestations pending in this node's pool, and RTC issued to miners since genesis.", vec![], ("info", schema_ref("EpochInfo"))),
        method("epoch_getRewards", "An epoch's miners (windows, class, verdict, multiplier, profile) and, once settled by the first block of the next epoch, the pot and each miner's reward. Miners come in enrollment order, a page of at most 1,000 from offset. Error 2001 when nobody attested in that epoch.", vec![param("epoch", true, json!({"type": "integer"}), "epoch number"), param("offset", false, json!({"type": "integer", "default": 0}), "first miner (enrollment order)"), param("limit", false, json!({"type": "integer", "default": 1000, "maximum": 1000}), "most miners returned")], ("rewards", schema_ref("EpochRewards"))),
        method("miner_get", "A miner's record: first and latest epoch attested, attestation count, latest class, verdict and multiplier, total rewards. Error 2001 for a key that never attested.", vec![param("miner", true, hash(), "the miner's x-only public key")], ("miner", schema_ref("Miner"))),
        method("miner_list", "The records of the miners that attested in an epoch (default: the current one), in enrollment order, a page of at most 1,000 from offset.", vec![param("epoch", false, json!({"type": "integer"}), "epoch number"), param("offset", false, json!({"type": "integer", "default": 0}), "first miner (enrollment order)"), param("limit", false, json!({"type": "integer", "default": 1000, "maximum": 1000}), "most miners returned")], ("miners", json!({"type": "array", "items": schema_ref("Miner")}))),
        method("rpc.discover", "This OpenRPC document.", vec![], ("document", json!({"type": "object"}))),
    ];
    methods.extend(wallet_methods());
    methods.extend(bounty_methods());
    methods
}

/// The bounty board's methods.
fn bounty_methods() -> Vec<Value> {
    let id = |what: &str| {
        param(
            what,
            true,
            json!({"type": "integer", "minimum": 1}),
            &format!("{what} id"),
        )
    };
    vec![
        method("bounty_list", "Bounties at the head, newest first: filter by status (open, paid, cancelled or all; default all), ids below before, at most limit (default 100, at most 1,000). next_before continues the listing.", vec![param("status", false, json!({"enum": ["open", "paid", "cancelled", "all"]}), "which bounties"), param("before", false, json!({"type": "integer"}), "only ids below this"), param("limit", false, json!({"type": "integer", "default": 100, "maximum": 1000}), "most bounties returned")], ("page", schema_ref("BountyList"))),
        method("bounty_get", "One bounty at the head: sponsor, title, issue URL, approvers, amount, deadline height, status (open, paid, cancelled), the claim it paid, and its open claims. Error 2001 for an unknown id.", vec![id("bounty")], ("bounty", schema_ref("Bounty"))),
        method("bounty_claims", "A bounty's claims (the most recent 1,000), oldest first: claimer, claimant, bond, expiry height, pull request and status (claimed, submitted, approved, rejected, expired, closed). Error 2001 for an unknown bounty.", vec![id("bounty")], ("claims", json!({"type": "array", "items": schema_ref("Claim")}))),
        method("bounty_getClaim", "One claim at the head. Error 2001 for an unknown id.", vec![id("claim")], ("claim", schema_ref("Claim"))),
    ]
}

/// The embedded wallet's methods (a separate `vec!` keeps the macro's recursion shallow).
fn wallet_methods() -> Vec<Value> {
    let access = " Needs the embedded wallet (6001 otherwise) and, when the node has a wallet token, the header Authorization: Bearer TOKEN (6002 otherwise).";
    vec![
        method("wallet_status", &format!("Which wallet the node serves: keystore name, chain kind, BIP-44 account, first address, and whether a token is required. Never a secret.{access}"), vec![], ("status", schema_ref("WalletStatus"))),
        method("wallet_accounts", &format!("The wallet's first count addresses (default 10, at most 100) with derivation path, public key, balance at the head and next nonce.{access}"), vec![param("count", false, json!({"type": "integer", "default": 10, "maximum": 100}), "how many addresses")], ("accounts", json!({"type": "array", "items": schema_ref("WalletAddress")}))),
        method("wallet_send", &format!("Signs and submits a transfer from address from_index (default 0) after the wallet's spending policy allows it (6003 with the rule otherwise). The fee defaults to the node's estimate from the last 10 blocks and the mempool. Returns once the transaction is in the mempool; follow it with tx_getReceipt. Mempool refusals keep their codes (1010-1022).{access}"), vec![param("request", true, schema_ref("WalletSendRequest"), "recipient, amount, optional fee and from_index")], ("sent", schema_ref("WalletSend"))),
        method("wallet_getPolicy", &format!("The wallet's spending policy (per-transaction and daily limits, allow and deny lists, extra co-signer threshold) and what it counted in the last 24 hours.{access}"), vec![], ("policy", schema_ref("WalletPolicy"))),
        method("wallet_signMultisig", &format!("Adds the wallet's approval to a partially signed multisig call (rtcms1...), with the key at index or the first of the account's 20 first keys that is a signer (6004 when none is). A spend (a transfer, or a bounty post or top-up, which pays into the bounty escrow) is checked against the spending policy first; approving or cancelling a bounty spends nothing of the account. Returns the updated call; combine, finalize and submit it as with the CLI.{access}"), vec![param("call", true, json!({"type": "string", "pattern": "^rtcms1"}), "the partially signed call"), param("index", false, json!({"type": "integer"}), "address index of the signing key")], ("signed", schema_ref("WalletMultisig"))),
    ]
}

fn components() -> Value {
    let amount =
        json!({ "type": "integer", "minimum": 0, "description": "base units (1 RTC = 10^8)" });
    let block_ref = json!({ "type": "object", "properties": { "height": {"type": "integer"}, "hash": hash() } });
    let mut doc = json!({
        "schemas": {
            "Info": { "type": "object", "properties": {
                "chain_id": {"type": "string"}, "network": {"enum": ["main", "test", "dev"]},
                "address_prefix": {"type": "string"}, "genesis_hash": hash(), "version": {"type": "string"},
                "role": {"enum": ["validator", "full"]}, "slot_duration_ms": {"type": "integer"}, "min_fee": amount } },
            "Health": { "type": "object", "properties": {
                "status": {"enum": ["ok", "stalled"]}, "head_height": {"type": "integer"},
                "finalized_height": {"type": "integer"}, "head_age_ms": {"type": "integer"},
                "syncing": {"type": "boolean"}, "peers": {"type": "integer"}, "mempool_size": {"type": "integer"},
                "sync": { "type": "object", "properties": { "syncing": {"type": "boolean"}, "current_height": {"type": "integer"},
                    "target_height": {"type": "integer"}, "blocks_per_second": {"type": "number"} } } } },
            "Validator": { "type": "object", "properties": { "public_key": {"type": "string"}, "active": {"type": "boolean"},
                "offences": {"type": "integer"}, "jailed_until_slot": {"type": ["integer", "null"]} } },
            "Peer": { "type": "object", "properties": { "peer_id": {"type": "string"}, "address": {"type": "string"},
                "direction": {"enum": ["inbound", "outbound"]}, "score": {"type": "number"} } },
            "NetInfo": { "type": "object", "properties": { "peer_id": {"type": "string"},
                "listen_addrs": { "type": "array", "items": {"type": "string"} }, "peer_count": {"type": "integer"} } },
            "Certificate": { "type": "object", "properties": { "source": block_ref, "target": block_ref,
                "votes": { "type": "array", "items": { "type": "object", "properties": { "voter": hash(), "signature": {"type": "string"} } } } } },
            "Head": { "type": "object", "properties": { "head": block_ref, "head_slot": {"type": "integer"}, "finalized": block_ref } },
            "Header": { "type": "object", "properties": {
                "hash": hash(), "version": {"type": "integer"}, "height": {"type": "integer"}, "slot": {"type": "integer"},
                "timestamp_ms": {"type": "integer"}, "parent_hash": hash(), "transactions_root": hash(),
                "attestations_root": hash(), "evidence_root": hash(), "state_root": hash(), "receipts_root": hash(),
                "proposer": hash(), "signature": {"type": "string"} } },
            "Block": { "type": "object", "properties": {
                "header": schema_ref("Header"),
                "transactions": { "oneOf": [ {"type": "array", "items": hash()}, {"type": "array", "items": schema_ref("Transaction")} ] },
                "attestation_count": {"type": "integer"}, "finalized": {"type": "boolean"} } },
            "Transaction": { "type": "object", "properties": {
                "hash": hash(), "chain_id": {"type": "string"}, "sender": hash(), "from": {"type": "string"},
                "nonce": {"type": "integer"}, "fee": amount,
                "payload": { "type": "object", "properties": { "kind": {"enum": ["transfer", "multisig_create", "multisig_execute"]}, "to": {"type": "string"}, "amount": amount,
                    "account": {"type": "string"}, "threshold": {"type": "integer"}, "signers": {"type": "array", "items": hash()},
                    "call_nonce": {"type": "integer"}, "action": {"type": "object"}, "approved_by": {"type": "array", "items": {"type": "integer"}} } },
                "signature": {"type": "string"}, "state": {"enum": ["pending", "included", "finalized"]},
                "block": { "type": ["object", "null"], "properties": { "hash": hash(), "height": {"type": "integer"}, "index": {"type": "integer"} } } } },
            "Receipt": { "type": "object", "properties": {
                "tx_hash": hash(), "block_hash": hash(), "block_height": {"type": "integer"}, "index": {"type": "integer"},
                "status": {"enum": ["success", "failed"]}, "error": {"type": ["string", "null"]}, "fee_paid": amount,
                "events": {"type": "array", "items": {"type": "object", "properties": {"kind": {"enum": ["transfer", "fee_paid", "epoch_reward", "multisig_created", "multisig_executed"]}}}},
                "finalized": {"type": "boolean"} } },
            "Account": { "type": "object", "properties": {
                "address": {"type": "string"}, "balance": amount, "nonce": {"type": "integer"},
                "next_nonce": {"type": "integer"}, "at": block_ref } },
            "Multisig": { "type": "object", "properties": {
                "address": {"type": "string"}, "threshold": {"type": "integer"}, "signers": {"type": "array", "items": hash()},
                "balance": amount, "nonce": {"type": "integer"}, "at": block_ref } },
            "Submit": { "type": "object", "properties": { "hash": hash(), "ready": {"type": "boolean"}, "replaced": {"type": ["string", "null"]} } }
        }
    });
    if let Some(schemas) = doc["schemas"].as_object_mut() {
        if let Value::Object(rip200) = rip200_schemas(&amount, &block_ref) {
            schemas.extend(rip200);
        }
        if let Value::Object(wallet) = wallet_schemas(&amount) {
            schemas.extend(wallet);
        }
        if let Value::Object(bounty) = bounty_schemas(&amount, &block_ref) {
            schemas.extend(bounty);
        }
    }
    doc
}

/// Schemas of the RIP-200 methods (a separate `json!` keeps the macro's recursion shallow).
fn rip200_schemas(amount: &Value, block_ref: &Value) -> Value {
    let class = json!({ "enum": ["retro", "vintage", "classic", "modern"] });
    let verdict = json!({ "enum": ["bare_metal", "virtual_machine", "emulator", "container"] });
    json!({
            "Challenge": { "type": "object", "properties": { "chain_id": {"type": "string"}, "epoch": {"type": "integer"},
                "window": {"type": "integer"}, "windows_per_epoch": {"type": "integer"}, "reference": block_ref,
                "pow_bits": {"type": "integer"}, "simulated_allowed": {"type": "boolean"}, "window_start_slot": {"type": "integer"},
                "window_end_slot": {"type": "integer"}, "slot_duration_ms": {"type": "integer"}, "ms_to_next_window": {"type": "integer"} } },
            "AttestResult": { "type": "object", "properties": { "id": hash(), "epoch": {"type": "integer"}, "window": {"type": "integer"},
                "class": class, "multiplier_bps": {"type": "integer"}, "verdict": verdict,
                "reasons": {"type": "array", "items": {"type": "string"}}, "profile_hash": hash(), "expected_reward": amount } },
            "EpochInfo": { "type": "object", "properties": { "epoch": {"type": "integer"}, "window": {"type": "integer"},
                "windows_per_epoch": {"type": "integer"}, "epoch_slots": {"type": "integer"}, "first_slot": {"type": "integer"},
                "pot": amount, "enrolled_miners": {"type": "integer"}, "pending_attestations": {"type": "integer"}, "issued_total": amount } },
            "EpochRewards": { "type": "object", "properties": { "epoch": {"type": "integer"}, "settled": {"type": "boolean"},
                "settled_at_height": {"type": ["integer", "null"]}, "pot": {"type": ["integer", "null"]}, "paid": amount,
                "miner_count": {"type": "integer"}, "offset": {"type": "integer"},
                "miners": {"type": "array", "items": { "type": "object", "properties": { "miner": hash(), "address": {"type": "string"},
                    "windows": {"type": "array", "items": {"type": "integer"}}, "class": class, "verdict": verdict,
                    "multiplier_bps": {"type": "integer"}, "profile_hash": hash(), "reward": {"type": ["integer", "null"]} } } } } },
            "Miner": { "type": "object", "properties": { "miner": hash(), "address": {"type": "string"},
                "first_epoch": {"type": "integer"}, "last_epoch": {"type": "integer"}, "last_window": {"type": "integer"},
                "attestations": {"type": "integer"}, "class": class, "verdict": verdict, "multiplier_bps": {"type": "integer"},
                "profile_hash": hash(), "total_rewards": amount } }
    })
}

/// Schemas of the bounty methods.
fn bounty_schemas(amount: &Value, block_ref: &Value) -> Value {
    let opt_int = json!({"type": ["integer", "null"]});
    json!({
        "Bounty": { "type": "object", "properties": { "id": {"type": "integer"}, "sponsor": {"type": "string"},
            "title": {"type": "string"}, "url": {"type": "string"}, "approvers": {"type": "string"}, "amount": amount,
            "deadline": {"type": "integer"}, "posted_at": {"type": "integer"}, "status": {"enum": ["open", "paid", "cancelled"]},
            "paid_claim": opt_int, "ended_at": opt_int, "claims": {"type": "integer"},
            "open_claims": {"type": "array", "items": {"type": "integer"}} } },
        "BountyList": { "type": "object", "properties": { "bounties": {"type": "array", "items": schema_ref("Bounty")},
            "next_before": opt_int, "at": block_ref } },
        "Claim": { "type": "object", "properties": { "id": {"type": "integer"}, "bounty": {"type": "integer"},
            "claimer": {"type": "string"}, "claimant": {"type": "string"}, "bond": amount, "claimed_at": {"type": "integer"},
            "expires_at": {"type": "integer"}, "pull_request": {"type": ["string", "null"]}, "submitted_at": opt_int,
            "status": {"enum": ["claimed", "submitted", "approved", "rejected", "expired", "closed"]}, "ended_at": opt_int } }
    })
}

/// Schemas of the wallet methods.
fn wallet_schemas(amount: &Value) -> Value {
    let optional_amount =
        json!({ "type": ["integer", "null"], "minimum": 0, "description": "base units" });
    json!({
        "WalletStatus": { "type": "object", "properties": { "name": {"type": "string"}, "chain": {"type": "string"},
            "account": {"type": "integer"}, "first_address": {"type": "string"}, "token_required": {"type": "boolean"} } },
        "WalletAddress": { "type": "object", "properties": { "index": {"type": "integer"}, "path": {"type": "string"},
            "address": {"type": "string"}, "public_key": hash(), "balance": amount, "next_nonce": {"type": "integer"} } },
        "WalletSendRequest": { "type": "object", "required": ["to", "amount"], "additionalProperties": false, "properties": {
            "to": {"type": "string"}, "amount": amount, "fee": optional_amount, "from_index": {"type": ["integer", "null"]} } },
        "WalletSend": { "type": "object", "properties": { "hash": hash(), "from": {"type": "string"},
            "nonce": {"type": "integer"}, "fee": amount } },
        "WalletPolicy": { "type": "object", "properties": { "rules": { "type": "object", "properties": {
            "max_per_tx": optional_amount, "max_per_day": optional_amount, "allow": {"type": "array", "items": {"type": "string"}},
            "deny": {"type": "array", "items": {"type": "string"}}, "cosigner_above": optional_amount } }, "spent_last_day": amount } },
        "WalletMultisig": { "type": "object", "properties": { "call": {"type": "string"}, "signer": {"type": "integer"},
            "state": {"enum": ["PARTIALLY_SIGNED", "SIGNED"]}, "approved_by": {"type": "array", "items": {"type": "integer"}},
            "threshold": {"type": "integer"} } }
    })
}

/// The whole document.
pub fn document() -> Value {
    json!({
        "openrpc": "1.2.6",
        "info": {
            "title": "RustChain node JSON-RPC",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "HTTP POST and WebSocket on one address. Amounts are integers in base units; hashes are 0x-hex; addresses are bech32m. Error codes are listed in docs/rpc.md."
        },
        "methods": methods(),
        "components": components(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use parking_lot::{Mutex, RwLock};
    use rustchain_consensus::SystemClock;
    use rustchain_mempool::{Mempool, MempoolConfig};
    use rustchain_state::Chain;
    use tokio::sync::broadcast;

    use crate::server::{build_module, NodeStatus, RpcContext};

    fn registered() -> BTreeSet<String> {
        let dir = tempfile::tempdir().unwrap();
        let genesis = rustchain_genesis::dev_genesis().validate().unwrap();
        let chain = Arc::new(Chain::open(dir.path(), genesis).unwrap());
        let ctx = RpcContext {
            mempool: Arc::new(Mutex::new(Mempool::new(
                MempoolConfig::default(),
                chain.rules().clone(),
            ))),
            chain,
            new_heads: broadcast::channel(1).0,
            finalized_heads: broadcast::channel(1).0,
            status: Arc::new(RwLock::new(NodeStatus {
                role: "full".into(),
                ..NodeStatus::default()
            })),
            clock: Arc::new(SystemClock),
            version: "test".into(),
            tx_broadcast: None,
            attestations: Default::default(),
            attestation_broadcast: None,
            wallet: None,
        };
        build_module(ctx)
            .unwrap()
            .method_names()
            .map(String::from)
            .collect()
    }

    #[test]
    fn openrpc_lists_exactly_the_registered_methods() {
        let documented: BTreeSet<String> = super::methods()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(registered(), documented);
    }

    #[test]
    fn docs_rpc_md_describes_every_method() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/rpc.md"))
            .unwrap();
        for name in registered() {
            assert!(
                doc.contains(&format!("`{name}`")),
                "docs/rpc.md does not describe {name}"
            );
        }
    }

    #[test]
    fn every_error_code_is_documented() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/rpc.md"))
            .unwrap();
        for code in [
            crate::error::INVALID_HEX,
            crate::error::DECODE_FAILED,
            crate::error::TX_TOO_LARGE,
            crate::error::WRONG_CHAIN_ID,
            crate::error::BAD_SIGNATURE,
            crate::error::NONCE_TOO_LOW,
            crate::error::INSUFFICIENT_BALANCE,
            crate::error::FEE_TOO_LOW,
            crate::error::NONCE_GAP,
            crate::error::ALREADY_KNOWN,
            crate::error::REPLACEMENT_UNDERPRICED,
            crate::error::POOL_FULL,
            crate::error::SENDER_FULL,
            crate::error::COST_OVERFLOW,
            crate::error::NOT_FOUND,
            crate::error::INVALID_ADDRESS,
            crate::error::INVALID_BLOCK_ID,
            crate::error::INTERNAL,
            crate::error::WALLET_DISABLED,
            crate::error::WALLET_UNAUTHORIZED,
            crate::error::WALLET_POLICY,
            crate::error::WALLET_NO_KEY,
            crate::error::WALLET_INVALID,
        ] {
            assert!(
                doc.contains(&format!("| {code} |")),
                "docs/rpc.md lacks error code {code}"
            );
        }
    }
}
