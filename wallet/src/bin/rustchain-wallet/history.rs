//! `rustchain-wallet history`: the wallet's transactions in recent blocks.
//!
//! The node keeps no index by address, so the wallet scans: it reads the last `--blocks` blocks
//! (whole transactions) and keeps those sent by, or transferring to, one of its first
//! `--count` addresses, with each one's receipt (success or the failure reason) and finality.
//! That is exact for the blocks scanned and costs one RPC call per block; for older history
//! pass a larger `--blocks`.

use std::collections::BTreeSet;

use rustchain_rpc_types::{BlockTransactions, PayloadJson};

use crate::{connect, Cli};

/// Most blocks one `history` call scans.
pub const MAX_BLOCKS: u64 = 100_000;

/// Prints the wallet's transactions in the last `blocks` blocks, newest first.
pub async fn run(cli: &Cli, blocks: u64, count: u32) -> anyhow::Result<()> {
    if blocks == 0 || blocks > MAX_BLOCKS {
        anyhow::bail!("--blocks must be between 1 and {MAX_BLOCKS}");
    }
    let wallet = cli.load_wallet()?;
    let (node, info) = connect(cli).await?;
    let kind = rustchain_primitives::ChainId::new(info.chain_id.clone())?.kind();
    let mine: BTreeSet<String> = wallet
        .addresses(count)?
        .iter()
        .map(|d| d.address.encode(kind))
        .collect();
    let head = node.head().await?.head.height;
    let first = head.saturating_sub(blocks - 1).max(1);
    let mut found = 0usize;
    for (scanned, height) in (first..=head).rev().enumerate() {
        if scanned > 0 && scanned % 1_000 == 0 {
            eprintln!("scanned {scanned} of {} blocks...", head - first + 1);
        }
        let block = node.block(height).await?;
        let BlockTransactions::Full(txs) = block.transactions else {
            continue;
        };
        for tx in txs {
            let to = match &tx.payload {
                PayloadJson::Transfer { to, .. } => Some(to.as_str()),
                _ => None,
            };
            let outgoing = mine.contains(&tx.from);
            let incoming = to.is_some_and(|t| mine.contains(t));
            if !outgoing && !incoming {
                continue;
            }
            found += 1;
            let status = match node.receipt(&tx.hash).await? {
                Some(r) => match r.error {
                    None if r.finalized => "success, finalized".to_string(),
                    None => "success, not final yet".to_string(),
                    Some(e) => format!("failed: {e}"),
                },
                None => "no receipt".to_string(),
            };
            let what = match (&tx.payload, outgoing, incoming) {
                (PayloadJson::Transfer { to, amount }, true, true) => {
                    format!("self  {amount} {} -> {to}", tx.from)
                }
                (PayloadJson::Transfer { to, amount }, true, false) => {
                    format!("out   {amount} to {to}")
                }
                (PayloadJson::Transfer { amount, .. }, false, _) => {
                    format!("in    {amount} from {}", tx.from)
                }
                (other, _, _) => format!("call  {}", kind_name(other)),
            };
            let fee = if outgoing {
                format!(", fee {}", tx.fee)
            } else {
                String::new()
            };
            println!("block {height}  {what}{fee}  [{status}]  {}", tx.hash);
        }
    }
    println!(
        "{found} transaction(s) of this wallet's first {count} addresses in blocks {first}..={head}"
    );
    Ok(())
}

fn kind_name(payload: &PayloadJson) -> String {
    serde_json::to_value(payload)
        .ok()
        .and_then(|v| v["kind"].as_str().map(str::to_string))
        .unwrap_or_else(|| "transaction".into())
}
