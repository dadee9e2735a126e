//! The `rustchain-wallet` CLI.

mod multisig;

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
use zeroize::Zeroizing;

/// RustChain wallet: HD accounts from a mnemonic, balances and transfers over a node's JSON-RPC.
///
/// The mnemonic comes from --mnemonic-file, the RUSTCHAIN_MNEMONIC environment variable, or
/// --dev (the public dev mnemonic; dev networks only). An encrypted keystore is not implemented
/// yet.
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

    /// File holding the BIP-39 mnemonic (one line).
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
    /// m-of-n multisig accounts: register one, and collect approvals for its calls offline
    /// (create, sign, combine, finalize, submit).
    Multisig {
        #[command(subcommand)]
        command: multisig::MultisigCommand,
    },
    /// List derived addresses (index, address, derivation path).
    Accounts {
        /// How many addresses.
        #[arg(long, default_value_t = 10)]
        count: u32,
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
    let phrase: Zeroizing<String> = match (&cli.mnemonic_file, cli.dev) {
        (Some(_), true) => bail!("pass either --dev or --mnemonic-file, not both"),
        (Some(path), false) => Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read mnemonic file {}", path.display()))?,
        ),
        (None, true) => Zeroizing::new(rustchain_genesis::DEV_MNEMONIC.to_string()),
        (None, false) => match std::env::var("RUSTCHAIN_MNEMONIC") {
            Ok(m) => Zeroizing::new(m),
            Err(_) => bail!("no mnemonic: pass --mnemonic-file FILE, set RUSTCHAIN_MNEMONIC, or use --dev on a dev network"),
        },
    };
    Ok(HdWallet::from_mnemonic(&phrase, "", cli.account)?)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let node = NodeClient::new(&cli.rpc)?;
    match &cli.command {
        Command::Multisig { command } => multisig::run(&cli, command).await?,
        Command::Accounts { count } => {
            let wallet = load_wallet(&cli)?;
            let info = node
                .info()
                .await
                .with_context(|| format!("cannot reach the node at {}", cli.rpc))?;
            let kind = ChainId::new(info.chain_id.clone())?.kind();
            for d in wallet.addresses(*count)? {
                println!("{}", show(&d, kind));
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
            timeout,
        } => {
            let wallet = load_wallet(&cli)?;
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
                None => info.min_fee,
            };
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
            let receipt = node
                .wait_for_receipt(&submitted.hash, Duration::from_secs(*timeout))
                .await?;
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
