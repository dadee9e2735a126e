//! `bounty_*`: the bounty board, read at the head. Transactions go through `tx_submit`.

use jsonrpsee::core::RpcResult;
use rustchain_state::bounty as board;

use crate::api::BountyApiServer;
use crate::error::{self, err, internal};
use crate::server::RpcContext;
use crate::types::{BlockRef, BountyJson, BountyListJson, ClaimJson};

/// Most bounties `bounty_list` returns.
pub const MAX_BOUNTY_PAGE: u64 = 1_000;
/// Most claims `bounty_claims` returns (the most recent).
pub const MAX_CLAIMS_LISTED: u64 = 1_000;
/// Most bounties one `bounty_list` call reads while filtering.
pub const MAX_BOUNTY_SCAN: u64 = 10_000;

fn parse_status(status: Option<&str>) -> RpcResult<Option<&str>> {
    match status {
        None | Some("all") => Ok(None),
        Some(s @ ("open" | "paid" | "cancelled")) => Ok(Some(s)),
        Some(other) => Err(err(
            jsonrpsee::types::error::INVALID_PARAMS_CODE,
            format!("unknown bounty status {other:?}: expected open, paid, cancelled or all"),
        )),
    }
}

impl BountyApiServer for RpcContext {
    fn list(
        &self,
        status: Option<String>,
        before: Option<u64>,
        limit: Option<u64>,
    ) -> RpcResult<BountyListJson> {
        let status = parse_status(status.as_deref())?;
        let limit = limit.unwrap_or(100).clamp(1, MAX_BOUNTY_PAGE);
        let head = self.chain.head();
        let state = self.chain.head_state();
        let count = board::counters(&state).map_err(internal)?.bounties;
        let mut id = before.unwrap_or(u64::MAX).saturating_sub(1).min(count);
        let mut bounties = Vec::new();
        let mut scanned = 0;
        while id >= 1 && (bounties.len() as u64) < limit && scanned < MAX_BOUNTY_SCAN {
            let b = board::bounty(&state, id)
                .map_err(internal)?
                .ok_or_else(|| internal(format!("bounty {id} is missing")))?;
            if status.is_none_or(|s| s == b.status.name()) {
                bounties.push(BountyJson::new(&b, self.kind()));
            }
            scanned += 1;
            id -= 1;
        }
        Ok(BountyListJson {
            bounties,
            next_before: (id >= 1).then_some(id + 1),
            at: BlockRef {
                height: head.height,
                hash: head.hash,
            },
        })
    }

    fn get(&self, id: u64) -> RpcResult<BountyJson> {
        let state = self.chain.head_state();
        let b = board::bounty(&state, id)
            .map_err(internal)?
            .ok_or_else(|| err(error::NOT_FOUND, format!("no bounty {id}")))?;
        Ok(BountyJson::new(&b, self.kind()))
    }

    fn claims(&self, bounty: u64) -> RpcResult<Vec<ClaimJson>> {
        let state = self.chain.head_state();
        let b = board::bounty(&state, bounty)
            .map_err(internal)?
            .ok_or_else(|| err(error::NOT_FOUND, format!("no bounty {bounty}")))?;
        // The most recent claims (a bounty has at most 16 open ones at a time).
        let first = b.claims.saturating_sub(MAX_CLAIMS_LISTED);
        board::claims_of(&state, &b, first, MAX_CLAIMS_LISTED)
            .map_err(internal)?
            .into_iter()
            .map(|id| {
                board::claim_record(&state, id)
                    .map_err(internal)?
                    .map(|c| ClaimJson::new(&c, self.kind()))
                    .ok_or_else(|| internal(format!("claim {id} is missing")))
            })
            .collect()
    }

    fn get_claim(&self, id: u64) -> RpcResult<ClaimJson> {
        let state = self.chain.head_state();
        board::claim_record(&state, id)
            .map_err(internal)?
            .map(|c| ClaimJson::new(&c, self.kind()))
            .ok_or_else(|| err(error::NOT_FOUND, format!("no claim {id}")))
    }
}
