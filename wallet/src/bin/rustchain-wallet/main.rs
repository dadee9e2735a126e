//! The `rustchain-wallet` CLI.

mod bounty;
mod history;
mod keys;
mod multisig;
mod policy_cmd;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use rustchain_primitives::{Address, Amount, ChainId};
use rustchain_rpc_types::{InfoJson, ReceiptJson};
use rustchain_wallet::accounts::{show, HdWallet};
use rustchain_wallet::client::NodeClient;
use rustchain_wallet::transfer::{sign_transfer, to_hex};

/// RustChain wallet: HD accounts, an encrypted keystore, transfers, multisig and a spending
/// policy, over a node's JSON-RPC.
///
/// Keys come from an encrypted keystore (--wallet FILE; create one with `create`), a mnemonic
/// file (--mnemonic-file), the RUSTCHAIN_MNEMONIC environment variable, or --dev (the public dev
/// mnemonic; dev networks only). The keystore password is read from --password-file, the
/// RUSTCHAIN_WALLET_PASSWORD environment variable, or asked on the terminal.
#[derive(Debug, Parser)]
#[command(name = "rustchain-wallet", version)]
pub struct Cli {
    /// Node JSON-RPC URL.
    #[arg(
        long,
        global = true,
        default_value = "http://127.0.0.1:8099",
        env = "RUSTCHAIN_RPC"
    )]
    rpc: String,

    /// Use the well-known dev mnemonic (printed in the README). Never for real value.
    #[arg(long, global = true)]
    dev: bool,

    /// Encrypted keystore file (see `create` and `restore`).
    #[arg(long, global = true, value_name = "FILE", env = "RUSTCHAIN_WALLET")]
    wallet: Option<PathBuf>,

    /// File whose first line is the keystore password.
    #[arg(long, global = true, value_name = "FILE")]
    password_file: Option<PathBuf>,

    /// File holding the BIP-39 mnemonic (one line), instead of a keystore.
    #[arg(long, global = true, value_name = "FILE")]
    mnemonic_file: Option<PathBuf>,

    /// BIP-44 account number.
    #[arg(long, global = true, default_value_t = 0)]
    account: u32,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an encrypted keystore (--wallet FILE) from a new random mnemonic, shown once.
    Create {
        /// Mnemonic length: 12 or 24 words.
        #[arg(long, default_value_t = 24)]
        words: usize,
        /// A name for the wallet (stored in clear, authenticated).
        #[arg(long, default_value = "rustchain")]
        name: String,
        /// The chain kind the wallet is for (rtc-main, rtc-test, rtc-dev).
        #[arg(long, default_value = "rtc-main")]
        chain: String,
    },
    /// Create an encrypted keystore (--wallet FILE) from an existing mnemonic.
    Restore {
        /// File holding the 12 or 24 words.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// A name for the wallet.
        #[arg(long, default_value = "rustchain")]
        name: String,
        /// The chain kind the wallet is for.
        #[arg(long, default_value = "rtc-main")]
        chain: String,
    },
    /// Show or change the keystore wallet's spending policy (limits, allow/deny lists,
    /// extra co-signer threshold).
    Policy {
        #[command(subcommand)]
        command: policy_cmd::PolicyCommand,
    },
    /// The wallet's transactions (sent, received, calls) in the last blocks, with their
    /// receipts: scans the blocks, since the node keeps no index by address.
    History {
        /// How many of the latest blocks to scan (at most 100,000).
        #[arg(long, default_value_t = 1_000)]
        blocks: u64,
        /// How many derived addresses count as this wallet's.
        #[arg(long, default_value_t = 20)]
        count: u32,
    },
    /// Estimate the fee for the next blocks from recent blocks and the node's mempool.
    Fee,
    /// Where a transaction is: pending, included, finalized, or failed with the reason.
    Status {
        /// Transaction id (0x-hex).
        hash: String,
    },
    /// m-of-n multisig accounts: register one, and collect approvals for its calls offline
    /// (create, sign, combine, finalize, submit).
    Multisig {
        #[command(subcommand)]
        command: multisig::MultisigCommand,
    },
    /// Bitcoin cold storage from the same mnemonic: BIP-44/49/84/86 descriptors and addresses,
    /// watch-only export, P2WSH multisig, and PSBT v0/v2 create, sign, combine, finalize, decode,
    /// extract (offline; UTXOs come from a file). The global --account picks the account.
    #[command(subcommand)]
    Btc(rustchain_wallet::btc::cli::BtcCommand),
    /// The bounty board: post, fund, claim, submit, approve, reject, cancel, list, show.
    Bounty {
        #[command(subcommand)]
        command: bounty::BountyCommand,
    },
    /// List derived addresses (index, address, derivation path).
    Accounts {
        /// How many addresses.
        #[arg(long, default_value_t = 10)]
        count: u32,
        /// Instead, scan the node for used addresses (BIP-44 discovery: accounts 0, 1, ...,
        /// addresses until 20 unused in a row) and list those with their balances.
        #[arg(long)]
        discover: bool,
    },
    /// Show the balance and nonce of an address, or of a derived index.
    Balance {
        /// An address; defaults to derived address --index.
        address: Option<String>,
        /// Derived address index.
        #[arg(long, default_value_t = 0)]
        index: u32,
    },
    /// Send RTC and wait for the receipt.
    Send {
        /// Recipient address.
        #[arg(long)]
        to: String,
        /// Amount in RTC (decimal, up to 8 places), e.g. 1.5.
        #[arg(long)]
        amount: String,
        /// Fee in RTC [default: the chain's minimum fee].
        #[arg(long)]
        fee: Option<String>,
        /// Derived address index to send from.
        #[arg(long, default_value_t = 0)]
        from_index: u32,
        /// Return after submitting instead of waiting for the receipt.
        #[arg(long)]
        no_wait: bool,
        /// Also wait until the block is finalized.
        #[arg(long)]
        finalized: bool,
        /// Seconds to wait for the receipt.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

impl Cli {
    /// The wallet's HD keys, from the mnemonic source given on the command line.
    pub fn load_wallet(&self) -> anyhow::Result<HdWallet> {
        load_wallet(self)
    }
}

/// Connects to the node and reads `system_info`.
pub async fn connect(cli: &Cli) -> anyhow::Result<(NodeClient, InfoJson)> {
    let node = NodeClient::new(&cli.rpc)?;
    let info = node
        .info()
        .await
        .with_context(|| format!("cannot reach the node at {}", cli.rpc))?;
    Ok((node, info))
}

/// Prints where a transaction landed, or fails with the receipt's reason.
pub fn report_receipt(receipt: &ReceiptJson) -> anyhow::Result<()> {
    let finality = if receipt.finalized {
        "finalized"
    } else {
        "not final yet"
    };
    match &receipt.error {
        None => {
            println!(
                "included in block {} ({}), {finality}: success",
                receipt.block_height, receipt.block_hash
            );
            Ok(())
        }
        Some(reason) => bail!(
            "included in block {} but failed: {reason} (fee {} paid)",
            receipt.block_height,
            receipt.fee_paid
        ),
    }
}

fn load_wallet(cli: &Cli) -> anyhow::Result<HdWallet> {
    keys::load_wallet(cli)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let node = NodeClient::new(&cli.rpc)?;
    match &cli.command {
        Command::Multisig { command } => multisig::run(&cli, command).await?,
        Command::Create { words, name, chain } => {
            let path = cli
                .wallet
                .as_ref()
                .context("pass --wallet FILE: where to write the new keystore")?;
            keys::create(&cli, path, *words, name, chain, None)?;
        }
        Command::Restore { from, name, chain } => {
            let path = cli
                .wallet
                .as_ref()
                .context("pass --wallet FILE: where to write the restored keystore")?;
            keys::create(&cli, path, 0, name, chain, Some(from))?;
        }
        Command::Policy { command } => policy_cmd::run(&cli, command)?,
        Command::Bounty { command } => bounty::run(&cli, command).await?,
        Command::History { blocks, count } => history::run(&cli, *blocks, *count).await?,
        Command::Btc(command) => {
            rustchain_wallet::btc::cli::run(command.clone(), cli.account, || {
                Ok(load_wallet(&cli)?.into_seed())
            })?
        }
        Command::Fee => {
            let estimate = node
                .estimate_fee()
                .await
                .with_context(|| format!("cannot reach the node at {}", cli.rpc))?;
            println!("fee:          {}", estimate.fee);
            println!("minimum fee:  {}", estimate.min_fee);
            println!("mempool:      {} transactions", estimate.mempool_size);
            println!("recent fees:  {} in the last blocks", estimate.recent_fees);
        }
        Command::Status { hash } => {
            let hash: rustchain_primitives::Hash = hash
                .parse()
                .map_err(|e| anyhow::anyhow!("invalid transaction id {hash:?}: {e}"))?;
            match node.transaction(&hash).await? {
                None => {
                    println!("unknown: the node has not seen {hash} (dropped, or never submitted)")
                }
                Some(tx) => match node.receipt(&hash).await? {
                    None => println!("pending: in the mempool"),
                    Some(receipt) => {
                        let finality = if receipt.finalized {
                            "finalized"
                        } else {
                            "included"
                        };
                        match receipt.error {
                            None => println!(
                                "{finality}: success in block {} ({})",
                                receipt.block_height, receipt.block_hash
                            ),
                            Some(reason) => println!(
                                "{finality}: failed in block {}: {reason} (fee {} paid)",
                                receipt.block_height, tx.fee
                            ),
                        }
                    }
                },
            }
        }
        Command::Accounts { count, discover } => {
            let wallet = load_wallet(&cli)?;
            let info = node
                .info()
                .await
                .with_context(|| format!("cannot reach the node at {}", cli.rpc))?;
            let kind = ChainId::new(info.chain_id.clone())?.kind();
            if *discover {
                let found = rustchain_wallet::accounts::discover(&wallet, 100, |a| {
                    let node = &node;
                    async move {
                        let acc = node.account(&a.encode(kind)).await?;
                        Ok::<_, anyhow::Error>((acc.balance, acc.nonce))
                    }
                })
                .await?;
                if found.is_empty() {
                    println!(
                        "no used addresses found (gap limit {})",
                        rustchain_wallet::accounts::GAP_LIMIT
                    );
                }
                for account in found {
                    println!("account {}:", account.account);
                    for (d, balance, nonce) in account.used {
                        println!("{}  {balance}  nonce {nonce}", show(&d, kind));
                    }
                }
            } else {
                for d in wallet.addresses(*count)? {
                    println!("{}", show(&d, kind));
                }
            }
        }
        Command::Balance { address, index } => {
            let info = node
                .info()
                .await
                .with_context(|| format!("cannot reach the node at {}", cli.rpc))?;
            let kind = ChainId::new(info.chain_id.clone())?.kind();
            let address = match address {
                Some(a) => a.clone(),
                None => load_wallet(&cli)?.address(*index)?.address.encode(kind),
            };
            let account = node.account(&address).await?;
            println!("address: {}", account.address);
            println!(
                "balance: {} ({} base units)",
                account.balance,
                account.balance.base_units()
            );
            println!("nonce:   {} (next: {})", account.nonce, account.next_nonce);
            println!("at:      block {} ({})", account.at.height, account.at.hash);
        }
        Command::Send {
            to,
            amount,
            fee,
            from_index,
            no_wait,
            finalized,
            timeout,
        } => {
            let (wallet, mut keystore) = keys::load_wallet_and_keystore(&cli)?;
            let info = node
                .info()
                .await
                .with_context(|| format!("cannot reach the node at {}", cli.rpc))?;
            let chain_id = ChainId::new(info.chain_id.clone())?;
            let kind = chain_id.kind();
            let to =
                Address::decode(to, kind).with_context(|| format!("invalid recipient {to:?}"))?;
            let amount = Amount::from_rtc_str(amount)?;
            let fee = match fee {
                Some(f) => Amount::from_rtc_str(f)?,
                None => node.estimate_fee().await?.fee,
            };
            // The spending policy of a keystore wallet applies before anything is signed.
            if let Some(keystore) = keystore.as_mut() {
                let mut state = rustchain_wallet::policy::PolicyState::load(keystore)?;
                state
                    .authorize_spend(to, amount, rustchain_wallet::policy::now_ms())
                    .context("refused by this wallet's spending policy")?;
                state.store(keystore)?;
            }
            let key = wallet.key(*from_index)?;
            let from = Address::from_public_key(&key.public_key()).encode(kind);
            let account = node.account(&from).await?;
            let tx = sign_transfer(&key, chain_id, account.next_nonce, to, amount, fee);
            let submitted = node
                .submit(&to_hex(&tx))
                .await
                .context("the node refused the transaction")?;
            println!(
                "submitted {} (nonce {}, fee {})",
                submitted.hash, tx.body.nonce, fee
            );
            if *no_wait {
                return Ok(());
            }
            let mut receipt = node
                .wait_for_receipt(&submitted.hash, Duration::from_secs(*timeout))
                .await?;
            if *finalized && receipt.error.is_none() {
                receipt = node
                    .wait_for_finality(&submitted.hash, Duration::from_secs(*timeout))
                    .await?;
            }
            let finality = if receipt.finalized {
                "finalized"
            } else {
                "not final yet"
            };
            match receipt.error {
                None => println!(
                    "included in block {} ({}), {finality}: success, sent {} to {}",
                    receipt.block_height,
                    receipt.block_hash,
                    amount,
                    to.encode(kind)
                ),
                Some(reason) => {
                    bail!(
                        "included in block {} but failed: {reason} (fee {} paid)",
                        receipt.block_height,
                        receipt.fee_paid
                    )
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
