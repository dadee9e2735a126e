//! `rustchain-wallet bounty ...`: post, fund, claim, submit, approve, reject and cancel bounties,
//! and read the board. Each write signs one transaction with the wallet's key `--from-index`,
//! submits it and waits for the receipt (the assigned bounty or claim id is in its events).

use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use rustchain_primitives::{Address, Amount, ChainId, NetworkKind, TxBody, TxPayload};
use rustchain_rpc_types::{BountyJson, EventJson};
use rustchain_wallet::transfer::to_hex;

use crate::{connect, report_receipt, Cli};

/// The `bounty` subcommands.
#[derive(Debug, Subcommand)]
pub enum BountyCommand {
    /// Post a bounty: lock AMOUNT RTC in escrow until approvers pay it to a claimant.
    Post {
        /// Title (at most 200 bytes).
        #[arg(long)]
        title: String,
        /// Reference URL of the issue.
        #[arg(long)]
        url: String,
        /// Amount in RTC.
        #[arg(long)]
        amount: String,
        /// Claims are accepted for this many blocks from now.
        #[arg(long, value_name = "BLOCKS")]
        deadline_in: u64,
        /// Approvers: a key account or a multisig account address [default: the sender].
        #[arg(long)]
        approvers: Option<String>,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Add RTC to your own open bounty.
    Fund {
        /// Bounty id.
        bounty: u64,
        /// Amount in RTC.
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Claim a bounty (locks the 0.1 RTC bond, refunded unless the claim is rejected).
    Claim {
        /// Bounty id.
        bounty: u64,
        /// Account to pay the reward to [default: the sender].
        #[arg(long)]
        claimant: Option<String>,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Submit the pull request for your claim.
    Submit {
        /// Claim id.
        claim: u64,
        /// Pull request URL, e.g. https://github.com/owner/repo/pull/42.
        #[arg(long)]
        pr: String,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Approve a submitted claim and pay it (the sender must be the bounty's approvers; for a
    /// multisig approver use `multisig create --approve-claim`).
    Approve {
        /// Claim id.
        claim: u64,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Reject a claim (its bond goes to the sponsor).
    Reject {
        /// Claim id.
        claim: u64,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Cancel a bounty and refund it (the sponsor before any claim, anyone after the deadline).
    Cancel {
        /// Bounty id.
        bounty: u64,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// List bounties, newest first.
    List {
        /// open, paid, cancelled or all.
        #[arg(long, default_value = "open")]
        status: String,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// Show a bounty and its claims.
    Show {
        /// Bounty id.
        bounty: u64,
    },
}

/// How a bounty transaction is signed and sent.
#[derive(Debug, Clone, clap::Args)]
pub struct TxArgs {
    /// Derived address index to sign with.
    #[arg(long, default_value_t = 0)]
    from_index: u32,
    /// Fee in RTC [default: the node's estimate].
    #[arg(long)]
    fee: Option<String>,
    /// Seconds to wait for the receipt.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

/// Signs `payload` with the wallet key, submits it and waits for its receipt.
async fn send(
    cli: &Cli,
    args: &TxArgs,
    payload: impl FnOnce(Address, u64, NetworkKind) -> anyhow::Result<TxPayload>,
) -> anyhow::Result<Vec<EventJson>> {
    let wallet = cli.load_wallet()?;
    let (node, info) = connect(cli).await?;
    let chain_id = ChainId::new(info.chain_id.clone())?;
    let kind = chain_id.kind();
    let key = wallet.key(args.from_index)?;
    let sender = Address::from_public_key(&key.public_key());
    let account = node.account(&sender.encode(kind)).await?;
    let head = node.head().await?.head.height;
    let fee = match &args.fee {
        Some(f) => Amount::from_rtc_str(f)?,
        None => node.estimate_fee().await?.fee,
    };
    let tx = TxBody {
        chain_id,
        sender: key.public_key(),
        nonce: account.next_nonce,
        fee,
        payload: payload(sender, head, kind)?,
    }
    .sign(&key);
    let submitted = node
        .submit(&to_hex(&tx))
        .await
        .context("the node refused the transaction")?;
    println!(
        "submitted {} (nonce {}, fee {fee})",
        submitted.hash, tx.body.nonce
    );
    let receipt = node
        .wait_for_receipt(&submitted.hash, Duration::from_secs(args.timeout))
        .await?;
    report_receipt(&receipt)?;
    Ok(receipt.events)
}

fn address(text: &str, kind: NetworkKind) -> anyhow::Result<Address> {
    Address::decode(text, kind).with_context(|| format!("invalid address {text:?}"))
}

fn print_bounty(b: &BountyJson) {
    println!(
        "bounty {}: {} [{}]\n  {}\n  amount {}, deadline block {}, sponsor {}, approvers {}",
        b.id, b.title, b.status, b.url, b.amount, b.deadline, b.sponsor, b.approvers
    );
    if let Some(claim) = b.paid_claim {
        println!("  paid to claim {claim}");
    }
}

/// Runs a `bounty` command.
pub async fn run(cli: &Cli, command: &BountyCommand) -> anyhow::Result<()> {
    match command {
        BountyCommand::Post {
            title,
            url,
            amount,
            deadline_in,
            approvers,
            tx,
        } => {
            let amount = Amount::from_rtc_str(amount)?;
            let events = send(cli, tx, |sender, head, kind| {
                let approvers = match approvers {
                    Some(a) => address(a, kind)?,
                    None => sender,
                };
                Ok(TxPayload::BountyPost {
                    title: title.clone(),
                    url: url.clone(),
                    amount,
                    deadline: head.saturating_add(1).saturating_add(*deadline_in),
                    approvers,
                })
            })
            .await?;
            for e in events {
                if let EventJson::BountyPosted {
                    bounty, deadline, ..
                } = e
                {
                    println!("posted bounty {bounty} (claims accepted until block {deadline})");
                }
            }
        }
        BountyCommand::Fund { bounty, amount, tx } => {
            let amount = Amount::from_rtc_str(amount)?;
            send(cli, tx, |_, _, _| {
                Ok(TxPayload::BountyFund {
                    bounty: *bounty,
                    amount,
                })
            })
            .await?;
        }
        BountyCommand::Claim {
            bounty,
            claimant,
            tx,
        } => {
            let events = send(cli, tx, |sender, _, kind| {
                let claimant = match claimant {
                    Some(c) => address(c, kind)?,
                    None => sender,
                };
                Ok(TxPayload::BountyClaim {
                    bounty: *bounty,
                    claimant,
                })
            })
            .await?;
            for e in events {
                if let EventJson::BountyClaimed { claim, .. } = e {
                    println!("claim {claim} made; submit the pull request with `bounty submit {claim} --pr URL`");
                }
            }
        }
        BountyCommand::Submit { claim, pr, tx } => {
            send(cli, tx, |_, _, _| {
                Ok(TxPayload::BountySubmit {
                    claim: *claim,
                    pull_request: pr.clone(),
                })
            })
            .await?;
        }
        BountyCommand::Approve { claim, tx } => {
            send(cli, tx, |_, _, _| {
                Ok(TxPayload::BountyApprove { claim: *claim })
            })
            .await?;
        }
        BountyCommand::Reject { claim, tx } => {
            send(cli, tx, |_, _, _| {
                Ok(TxPayload::BountyReject { claim: *claim })
            })
            .await?;
        }
        BountyCommand::Cancel { bounty, tx } => {
            send(cli, tx, |_, _, _| {
                Ok(TxPayload::BountyCancel { bounty: *bounty })
            })
            .await?;
        }
        BountyCommand::List { status, limit } => {
            let (node, _) = connect(cli).await?;
            let page = node.bounty_list(status, *limit).await?;
            if page.bounties.is_empty() {
                println!("no {status} bounties (at block {})", page.at.height);
            }
            for b in &page.bounties {
                print_bounty(b);
            }
        }
        BountyCommand::Show { bounty } => {
            let (node, _) = connect(cli).await?;
            let b = node.bounty(*bounty).await?;
            print_bounty(&b);
            let claims = node.bounty_claims(*bounty).await?;
            for c in claims {
                println!(
                    "  claim {} [{}] by {} for {}, bond {}, expires at block {}{}",
                    c.id,
                    c.status,
                    c.claimer,
                    c.claimant,
                    c.bond,
                    c.expires_at,
                    c.pull_request
                        .map(|p| format!(", pull request {p}"))
                        .unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}
