//! `rustchain-wallet multisig ...`: m-of-n accounts and offline approval collection.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Subcommand;
use rustchain_primitives::{
    Address, Amount, ChainId, MultisigAction, MultisigPolicy, NetworkKind, PublicKey, TxBody,
    TxPayload,
};
use rustchain_wallet::accounts::HdWallet;
use rustchain_wallet::multisig::{CallState, Outcome, PartialCall};
use rustchain_wallet::policy::{multisig_spend, now_ms, PolicyState, Spend};
use rustchain_wallet::transfer::to_hex;

use crate::{connect, report_receipt, Cli};

/// How many derived addresses `sign` searches for a key of the policy.
const SIGNER_SEARCH: u32 = 20;

#[derive(Debug, Subcommand)]
pub enum MultisigCommand {
    /// Print this wallet's public key at an index, to give to the other co-signers (offline).
    Pubkey {
        /// Derived address index.
        #[arg(long, default_value_t = 0)]
        index: u32,
    },
    /// Compute the address of an m-of-n policy (offline; key order does not matter).
    Address {
        /// Approvals needed.
        #[arg(long)]
        threshold: u8,
        /// A signer's x-only public key (0x-hex, 32 bytes); repeat for each signer.
        #[arg(long = "signer", required = true)]
        signers: Vec<String>,
        /// Network for the address prefix.
        #[arg(long, default_value = "dev")]
        network: NetworkArg,
    },
    /// Register an m-of-n account on chain (a multisig create transaction from this wallet).
    Register {
        /// Approvals needed.
        #[arg(long)]
        threshold: u8,
        /// A signer's x-only public key (0x-hex); repeat for each signer.
        #[arg(long = "signer", required = true)]
        signers: Vec<String>,
        /// Derived address index that pays the fee.
        #[arg(long, default_value_t = 0)]
        from_index: u32,
        /// Seconds to wait for the receipt.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Start a call of a registered multisig account: a transfer out of it (state CREATED).
    /// Reads the policy and the account's nonce from the node.
    Create {
        /// The multisig account's address.
        #[arg(long)]
        multisig: String,
        /// Recipient of a transfer.
        #[arg(long, required_unless_present_any = ["approve_claim", "reject_claim"], requires = "amount")]
        to: Option<String>,
        /// Amount in RTC of a transfer, e.g. 1.5.
        #[arg(long)]
        amount: Option<String>,
        /// Instead of a transfer: approve (and pay) this bounty claim, as the bounty's
        /// multisig approvers.
        #[arg(long, value_name = "CLAIM", conflicts_with_all = ["to", "reject_claim"])]
        approve_claim: Option<u64>,
        /// Instead of a transfer: reject this bounty claim, as the bounty's multisig approvers.
        #[arg(long, value_name = "CLAIM", conflicts_with = "to")]
        reject_claim: Option<u64>,
        /// A note for the co-signers (at most 256 bytes; not signed).
        #[arg(long, default_value = "")]
        memo: String,
        /// Where to write the partially signed call.
        #[arg(long)]
        out: PathBuf,
    },
    /// Approve a call with this wallet's key (offline). The file is updated in place unless
    /// --out is given.
    Sign {
        /// The partially signed call.
        file: PathBuf,
        /// Sign with this derived index instead of searching the first 20 for a signer key.
        #[arg(long)]
        index: Option<u32>,
        /// Write the result here instead.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Merge the approvals of copies of the same call (offline).
    Combine {
        /// The copies.
        #[arg(required = true, num_args = 2..)]
        files: Vec<PathBuf>,
        /// Where to write the merged call.
        #[arg(long)]
        out: PathBuf,
    },
    /// Show a call: account, action, approvals and state (offline).
    Show {
        /// The partially signed call.
        file: PathBuf,
    },
    /// Wrap a SIGNED call into a transaction from this wallet, which pays the fee. Reads the
    /// nonce and minimum fee from the node unless --nonce and --fee are both given (offline).
    Finalize {
        /// The partially signed call (updated in place).
        file: PathBuf,
        /// Derived address index that submits and pays the fee.
        #[arg(long, default_value_t = 0)]
        from_index: u32,
        /// The submitter's account nonce.
        #[arg(long)]
        nonce: Option<u64>,
        /// Fee in RTC.
        #[arg(long)]
        fee: Option<String>,
    },
    /// Submit a FINALIZED call and wait for its receipt; records BROADCAST or REJECTED.
    Submit {
        /// The partially signed call (updated in place).
        file: PathBuf,
        /// Return after submitting instead of waiting for the receipt.
        #[arg(long)]
        no_wait: bool,
        /// Seconds to wait for the receipt.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
}

/// A network kind on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum NetworkArg {
    /// Mainnet (`rtc1...`).
    Main,
    /// Test networks (`trtc1...`).
    Test,
    /// Dev networks (`rtcdev1...`).
    Dev,
}

impl From<NetworkArg> for NetworkKind {
    fn from(n: NetworkArg) -> NetworkKind {
        match n {
            NetworkArg::Main => NetworkKind::Main,
            NetworkArg::Test => NetworkKind::Test,
            NetworkArg::Dev => NetworkKind::Dev,
        }
    }
}

fn parse_policy(threshold: u8, signers: &[String]) -> anyhow::Result<MultisigPolicy> {
    let keys = signers
        .iter()
        .map(|s| parse_key(s))
        .collect::<anyhow::Result<Vec<PublicKey>>>()?;
    Ok(MultisigPolicy::new(threshold, keys)?)
}

fn parse_key(s: &str) -> anyhow::Result<PublicKey> {
    let bytes = hex::decode(s.trim_start_matches("0x"))
        .with_context(|| format!("signer {s:?} is not hex"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("signer {s:?} is not a 32-byte x-only public key"))?;
    let key = PublicKey(bytes);
    key.to_xonly()
        .with_context(|| format!("signer {s:?} is not a valid secp256k1 x-only key"))?;
    Ok(key)
}

fn read_call(path: &Path) -> anyhow::Result<PartialCall> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.len() > 256 * 1024 {
        bail!(
            "{} is too large to be a partially signed call",
            path.display()
        );
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    PartialCall::from_text(&text).with_context(|| format!("in {}", path.display()))
}

/// Writes next to the target and renames, so a crash never leaves half a file.
fn write_call(path: &Path, call: &PartialCall) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    std::fs::write(tmp.path(), format!("{}\n", call.to_text()))
        .with_context(|| format!("cannot write {}", tmp.path().display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn describe(call: &PartialCall) -> String {
    let kind = call.chain_id().kind();
    let c = call.call();
    let action = match &c.action {
        MultisigAction::Transfer { to, amount } => {
            format!("transfer {amount} to {}", to.encode(kind))
        }
        MultisigAction::BountyApprove { claim } => format!("approve bounty claim {claim}"),
        MultisigAction::BountyReject { claim } => format!("reject bounty claim {claim}"),
        MultisigAction::BountyPost {
            title,
            amount,
            deadline,
            approvers,
            ..
        } => format!(
            "post bounty {title:?} of {amount}, deadline height {deadline}, approvers {}",
            approvers.encode(kind)
        ),
        MultisigAction::BountyFund { bounty, amount } => {
            format!("fund bounty {bounty} with {amount}")
        }
        MultisigAction::BountyCancel { bounty } => format!("cancel bounty {bounty}"),
    };
    let policy = call.policy();
    let mut out = format!(
        "multisig call on {}\n  account:   {} ({} of {})\n  nonce:     {}\n  action:    {action}\n",
        call.chain_id(),
        c.account.encode(kind),
        policy.threshold,
        policy.signers.len(),
        c.nonce,
    );
    if !call.memo().is_empty() {
        out.push_str(&format!("  memo:      {} (not signed)\n", call.memo()));
    }
    let approved = call.approved_by();
    for (i, key) in policy.signers.iter().enumerate() {
        let mark = if approved.contains(&(i as u8)) {
            "approved"
        } else {
            "-"
        };
        out.push_str(&format!("  signer {i}:  {key}  {mark}\n"));
    }
    out.push_str(&format!(
        "  state:     {} ({} of {} approvals)",
        call.state(),
        approved.len(),
        policy.threshold
    ));
    match call.outcome() {
        Outcome::Broadcast(_, hash) => out.push_str(&format!("\n  tx:        {hash}")),
        Outcome::Finalized(tx) => {
            out.push_str(&format!("\n  tx:        {} (not submitted)", tx.hash()))
        }
        Outcome::Rejected(reason) => out.push_str(&format!("\n  rejected:  {reason}")),
        Outcome::Open => {}
    }
    out
}

pub async fn run(cli: &Cli, command: &MultisigCommand) -> anyhow::Result<()> {
    match command {
        MultisigCommand::Pubkey { index } => {
            let wallet = cli.load_wallet()?;
            println!("{}", wallet.key(*index)?.public_key());
        }
        MultisigCommand::Address {
            threshold,
            signers,
            network,
        } => {
            let policy = parse_policy(*threshold, signers)?;
            println!("{}", policy.address().encode((*network).into()));
        }
        MultisigCommand::Register {
            threshold,
            signers,
            from_index,
            timeout,
        } => {
            let policy = parse_policy(*threshold, signers)?;
            let wallet = cli.load_wallet()?;
            let (node, info) = connect(cli).await?;
            let chain_id = ChainId::new(info.chain_id.clone())?;
            let kind = chain_id.kind();
            let key = wallet.key(*from_index)?;
            let from = Address::from_public_key(&key.public_key()).encode(kind);
            let nonce = node.account(&from).await?.next_nonce;
            let tx = TxBody {
                chain_id,
                sender: key.public_key(),
                nonce,
                fee: info.min_fee,
                payload: TxPayload::MultisigCreate {
                    policy: policy.clone(),
                },
            }
            .sign(&key);
            let submitted = node
                .submit(&to_hex(&tx))
                .await
                .context("the node refused the registration")?;
            println!(
                "registering {} ({} of {}) in {}",
                policy.address().encode(kind),
                policy.threshold,
                policy.signers.len(),
                submitted.hash
            );
            let receipt = node
                .wait_for_receipt(&submitted.hash, Duration::from_secs(*timeout))
                .await?;
            report_receipt(&receipt)?;
        }
        MultisigCommand::Create {
            multisig: account,
            to,
            amount,
            approve_claim,
            reject_claim,
            memo,
            out,
        } => {
            let (node, info) = connect(cli).await?;
            let chain_id = ChainId::new(info.chain_id.clone())?;
            let kind = chain_id.kind();
            let (action, amount) = match (to, amount, approve_claim, reject_claim) {
                (Some(to), Some(amount), None, None) => {
                    let to = Address::decode(to, kind)
                        .with_context(|| format!("invalid recipient {to:?}"))?;
                    let amount = Amount::from_rtc_str(amount)?;
                    (MultisigAction::Transfer { to, amount }, amount)
                }
                (None, None, Some(claim), None) => (
                    MultisigAction::BountyApprove { claim: *claim },
                    Amount::ZERO,
                ),
                (None, None, None, Some(claim)) => {
                    (MultisigAction::BountyReject { claim: *claim }, Amount::ZERO)
                }
                _ => bail!("give either --to and --amount, or --approve-claim, or --reject-claim"),
            };
            let registered = node
                .multisig(account)
                .await
                .with_context(|| format!("cannot read the multisig account {account}"))?;
            let policy = MultisigPolicy::new(registered.threshold, registered.signers.clone())?;
            if policy.address().encode(kind) != registered.address {
                bail!("the node returned a policy whose address is not {account}");
            }
            if registered.balance < amount {
                eprintln!(
                    "warning: the account holds {} now, less than {amount}; the call fails unless it is funded before it executes",
                    registered.balance
                );
            }
            let call = PartialCall::new(chain_id, policy, registered.nonce, action, memo.clone())?;
            write_call(out, &call)?;
            println!("{}", describe(&call));
            println!("written to {}", out.display());
        }
        MultisigCommand::Sign { file, index, out } => {
            let mut call = read_call(file)?;
            let (wallet, mut keystore) = crate::keys::load_wallet_and_keystore(cli)?;
            let key = match index {
                Some(i) => wallet.key(*i)?,
                None => find_signer(&wallet, call.policy())?,
            };
            // A keystore wallet's policy applies to its approvals (all rules but
            // cosigner_above, which `finalize` checks) and counts them as its spends.
            let mut policy = None;
            if let Some(keystore) = keystore.as_ref() {
                let mut state = PolicyState::load(keystore)?;
                if let Some((to, amount)) = multisig_spend(&call.call().action) {
                    state
                        .authorize_approval(to, amount, now_ms())
                        .context("refused by this wallet's spending policy")?;
                }
                policy = Some(state);
            }
            let signer = call.sign(&key)?;
            if let (Some(state), Some(keystore)) = (policy, keystore.as_mut()) {
                state.store(keystore)?;
            }
            let target = out.as_ref().unwrap_or(file);
            write_call(target, &call)?;
            println!("{}", describe(&call));
            println!(
                "approved as signer {signer}; written to {}",
                target.display()
            );
        }
        MultisigCommand::Combine { files, out } => {
            let mut merged = read_call(&files[0])?;
            for f in &files[1..] {
                let other = read_call(f)?;
                merged
                    .combine(&other)
                    .with_context(|| format!("combining {}", f.display()))?;
            }
            write_call(out, &merged)?;
            println!("{}", describe(&merged));
            println!("written to {}", out.display());
        }
        MultisigCommand::Show { file } => {
            println!("{}", describe(&read_call(file)?));
        }
        MultisigCommand::Finalize {
            file,
            from_index,
            nonce,
            fee,
        } => {
            let mut call = read_call(file)?;
            if call.state() != CallState::Signed {
                bail!(
                    "the call is {}; finalize needs a SIGNED call ({} approvals)",
                    call.state(),
                    call.policy().threshold
                );
            }
            let (wallet, keystore) = crate::keys::load_wallet_and_keystore(cli)?;
            if let Some(keystore) = keystore.as_ref() {
                // The extra co-signer rule: above `cosigner_above`, threshold + 1 approvals.
                let rules = PolicyState::load(keystore)?.rules;
                if let Some((to, amount)) = multisig_spend(&call.call().action) {
                    rules
                        .check(
                            &Spend {
                                to,
                                amount,
                                approvals: Some((
                                    call.approved_by().len(),
                                    call.policy().threshold,
                                )),
                            },
                            now_ms(),
                            &[],
                        )
                        .context("refused by this wallet's spending policy")?;
                }
            }
            let key = wallet.key(*from_index)?;
            let (nonce, fee) = match (nonce, fee) {
                (Some(n), Some(f)) => (*n, Amount::from_rtc_str(f)?),
                _ => {
                    let (node, info) = connect(cli).await?;
                    if info.chain_id != call.chain_id().as_str() {
                        bail!(
                            "the node runs {}, the call is for {}",
                            info.chain_id,
                            call.chain_id()
                        );
                    }
                    let from =
                        Address::from_public_key(&key.public_key()).encode(call.chain_id().kind());
                    let n = match nonce {
                        Some(n) => *n,
                        None => node.account(&from).await?.next_nonce,
                    };
                    let f = match fee {
                        Some(f) => Amount::from_rtc_str(f)?,
                        None => info.min_fee,
                    };
                    (n, f)
                }
            };
            let hash = call.finalize(&key, nonce, fee)?.hash();
            write_call(file, &call)?;
            println!("{}", describe(&call));
            println!("finalized as transaction {hash}; submit it with `multisig submit`");
        }
        MultisigCommand::Submit {
            file,
            no_wait,
            timeout,
        } => {
            let mut call = read_call(file)?;
            let Some(tx) = call.transaction().cloned() else {
                bail!(
                    "the call is {}; submit needs a FINALIZED call",
                    call.state()
                );
            };
            let (node, info) = connect(cli).await?;
            if info.chain_id != call.chain_id().as_str() {
                bail!(
                    "the node runs {}, the call is for {}",
                    info.chain_id,
                    call.chain_id()
                );
            }
            match node.submit(&to_hex(&tx)).await {
                Ok(submitted) => {
                    if call.state() == CallState::Finalized {
                        call.mark_broadcast(submitted.hash)?;
                    }
                    write_call(file, &call)?;
                    println!("submitted {} ({})", submitted.hash, call.state());
                }
                Err(e) => {
                    call.mark_rejected(format!("refused by the node: {e}"));
                    write_call(file, &call)?;
                    bail!("the node refused the call: {e} (recorded as REJECTED)");
                }
            }
            if *no_wait {
                return Ok(());
            }
            let receipt = node
                .wait_for_receipt(&tx.hash(), Duration::from_secs(*timeout))
                .await?;
            if let Some(reason) = &receipt.error {
                call.mark_rejected(format!(
                    "failed in block {}: {reason}",
                    receipt.block_height
                ));
                write_call(file, &call)?;
            }
            report_receipt(&receipt)?;
        }
    }
    Ok(())
}

/// The first of the wallet's first [`SIGNER_SEARCH`] keys that is a signer of `policy`.
fn find_signer(
    wallet: &HdWallet,
    policy: &MultisigPolicy,
) -> anyhow::Result<rustchain_primitives::KeyPair> {
    match wallet.find_signer(policy, SIGNER_SEARCH)? {
        Some((_, key)) => Ok(key),
        None => bail!(
            "none of this wallet's first {SIGNER_SEARCH} keys is a signer of this account; pass --index if yours is further"
        ),
    }
}
