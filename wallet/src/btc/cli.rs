//! `rustchain-wallet btc ...`: the Bitcoin commands.
//!
//! Wiring (in `main.rs`):
//!
//! ```text
//! #[derive(clap::Subcommand)]
//! enum Command {
//!     /// Bitcoin cold storage: descriptors, addresses, PSBTs
//!     #[command(subcommand)]
//!     Btc(rustchain_wallet::btc::cli::BtcCommand),
//!     // ...
//! }
//! // ...
//! Command::Btc(cmd) => rustchain_wallet::btc::cli::run(cmd, args.account, || load_seed(&args))?,
//! ```
//!
//! `run` calls `load_seed` only for the commands that need the private keys or the xpubs derived
//! from them: `descriptors`, `address` and `psbt create` without `--watch-only`, and `psbt sign`.
//! `multisig`, `psbt combine/finalize/decode/extract/convert` and anything given `--watch-only`
//! never touch the seed. The default network is `testnet`, so a mistake costs test coins; pass
//! `--network bitcoin` for mainnet.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context};
use bitcoin::{Address, Amount, Denomination, Network};
use zeroize::Zeroizing;

use super::accounts::{MasterKey, Purpose};
use super::descriptors::MAX_WATCH_ONLY_BYTES;
use super::descriptors::{multisig_descriptors, WalletDescriptors, WatchOnlyExport};
use super::psbt::create::{
    create_psbt, parse_fee_rate, CreateOptions, Recipient, DEFAULT_LOOKAHEAD,
};
use super::psbt::MAX_PSBT_BASE64_LEN;
use super::psbt::{sign_psbt, PsbtSummary, PsbtVersion, SignPolicy, WalletPsbt};
use super::utxo::{parse_utxo_file, MAX_UTXO_FILE_BYTES};

/// Network selection shared by the commands.
#[derive(Debug, Clone, clap::Args)]
pub struct NetworkArg {
    /// bitcoin (mainnet), testnet, testnet4, signet or regtest
    #[arg(long, default_value = "testnet")]
    pub network: String,
}

impl NetworkArg {
    fn get(&self) -> anyhow::Result<Network> {
        Ok(super::parse_network(&self.network)?)
    }
}

/// PSBT input/output files.
#[derive(Debug, Clone, clap::Args)]
pub struct InOut {
    /// Read the base64 PSBT from this file instead of standard input
    #[arg(long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Write the result to this file instead of standard output
    #[arg(long = "out", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The `btc` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BtcCommand {
    /// Print the account xpubs and output descriptors (with checksums) of BIP-44/49/84/86 and the
    /// BIP-48 multisig cosigner key; optionally write the watch-only export file
    Descriptors {
        #[command(flatten)]
        network: NetworkArg,
        /// Write the watch-only export (JSON, no secrets) to FILE
        #[arg(long, value_name = "FILE")]
        watch_only_out: Option<PathBuf>,
    },
    /// Print a receive (or change) address
    Address {
        #[command(flatten)]
        network: NetworkArg,
        /// 44, 49, 84, 86 (or 48 with a multisig watch-only file)
        #[arg(long, default_value = "84")]
        purpose: String,
        /// Address index
        #[arg(long, default_value_t = 0)]
        index: u32,
        /// The change (internal) chain instead of the receive chain
        #[arg(long)]
        change: bool,
        /// Derive from this watch-only export instead of the seed
        #[arg(long, value_name = "FILE")]
        watch_only: Option<PathBuf>,
    },
    /// Build a P2WSH sorted-multisig wallet from cosigner keys (as printed by `descriptors`)
    Multisig {
        #[command(flatten)]
        network: NetworkArg,
        /// Signatures required
        #[arg(long)]
        threshold: usize,
        /// Cosigner key `[fingerprint/48'/1'/0'/2']tpub...` (repeat for each cosigner)
        #[arg(long = "key", required = true)]
        keys: Vec<String>,
        /// Write a watch-only export with the multisig descriptors to FILE
        #[arg(long, value_name = "FILE")]
        watch_only_out: Option<PathBuf>,
    },
    /// PSBT roles: create, sign, combine, finalize, decode, extract
    #[command(subcommand)]
    Psbt(PsbtCommand),
}

/// `btc psbt ...`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PsbtCommand {
    /// Create a PSBT paying the recipients from the UTXO file
    Create {
        #[command(flatten)]
        network: NetworkArg,
        /// UTXO file (JSON, see docs/wallet-bitcoin.md)
        #[arg(long, value_name = "FILE")]
        utxos: PathBuf,
        /// Recipient `ADDRESS:AMOUNT`, amount in BTC (`0.001`) or satoshis (`100000sat`); repeat
        #[arg(long = "to", required = true, value_name = "ADDR:AMOUNT")]
        to: Vec<String>,
        /// Fee rate in sat/vB (decimals allowed)
        #[arg(long, value_name = "SAT/VB")]
        fee_rate: String,
        /// PSBT version to write: 0 (BIP-174) or 2 (BIP-370)
        #[arg(long, default_value_t = 2)]
        version: u32,
        /// Wallet: 44, 49, 84, 86, or 48 (multisig from the watch-only file)
        #[arg(long, default_value = "84")]
        purpose: String,
        /// Use this watch-only export (no seed needed)
        #[arg(long, value_name = "FILE")]
        watch_only: Option<PathBuf>,
        /// Change address index on the internal chain
        #[arg(long)]
        change_index: Option<u32>,
        /// Addresses searched per chain for coins without chain/index
        #[arg(long, default_value_t = DEFAULT_LOOKAHEAD)]
        lookahead: u32,
        /// Write the PSBT to this file instead of standard output
        #[arg(long = "out", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Sign the inputs that belong to this seed (prints what is being signed to stderr)
    Sign {
        #[command(flatten)]
        network: NetworkArg,
        #[command(flatten)]
        io: InOut,
        /// Also sign segwit v0 inputs that lack the previous transaction
        #[arg(long)]
        allow_witness_utxo_only: bool,
    },
    /// Combine PSBTs of the same transaction (e.g. signed by different cosigners)
    Combine {
        /// PSBT files (base64)
        #[arg(required = true, num_args = 2..)]
        files: Vec<PathBuf>,
        /// Write the result to this file instead of standard output
        #[arg(long = "out", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Finalize every input (fails unless all inputs have enough signatures)
    Finalize {
        #[command(flatten)]
        io: InOut,
    },
    /// Show inputs, outputs, change, fee and signing progress
    Decode {
        #[command(flatten)]
        network: NetworkArg,
        /// Read the base64 PSBT from this file instead of standard input
        #[arg(long = "in", value_name = "FILE")]
        input: Option<PathBuf>,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Extract the signed network transaction (hex) from a finalized PSBT
    Extract {
        #[command(flatten)]
        io: InOut,
    },
    /// Rewrite a PSBT as version 0 or 2
    Convert {
        #[command(flatten)]
        io: InOut,
        /// Target version: 0 or 2
        #[arg(long)]
        version: u32,
    },
}

fn read_limited(path: &Path, limit: usize) -> anyhow::Result<Vec<u8>> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut buf = Vec::new();
    f.take(limit as u64 + 1)
        .read_to_end(&mut buf)
        .with_context(|| format!("reading {}", path.display()))?;
    if buf.len() > limit {
        bail!("{} is larger than {limit} bytes", path.display());
    }
    Ok(buf)
}

fn read_psbt(path: Option<&Path>) -> anyhow::Result<WalletPsbt> {
    let bytes = match path {
        Some(p) => read_limited(p, MAX_PSBT_BASE64_LEN + 1024)?,
        None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .take(MAX_PSBT_BASE64_LEN as u64 + 1024)
                .read_to_end(&mut buf)
                .context("reading the PSBT from standard input")?;
            buf
        }
    };
    let text =
        std::str::from_utf8(&bytes).context("the PSBT file is not text (base64 expected)")?;
    Ok(WalletPsbt::from_base64(text)?)
}

fn write_text(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match path {
        Some(p) => std::fs::write(p, format!("{text}\n"))
            .with_context(|| format!("writing {}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{text}")?;
            Ok(())
        }
    }
}

fn load_watch_only(path: &Path) -> anyhow::Result<WatchOnlyExport> {
    let bytes = read_limited(path, MAX_WATCH_ONLY_BYTES)?;
    WatchOnlyExport::from_json(&bytes)
        .with_context(|| format!("watch-only file {}", path.display()))
}

/// Parses `ADDRESS:AMOUNT` (BTC, or satoshis with a `sat` suffix).
pub fn parse_recipient(s: &str, network: Network) -> anyhow::Result<Recipient> {
    let (addr, amount) = s
        .rsplit_once(':')
        .with_context(|| format!("recipient {s:?} must be ADDRESS:AMOUNT"))?;
    let address = Address::from_str(addr)
        .with_context(|| format!("address {addr:?}"))?
        .require_network(network)
        .with_context(|| format!("address {addr:?} on {network}"))?;
    let amount = amount.trim();
    let amount = if let Some(sats) = amount.strip_suffix("sat") {
        Amount::from_sat(
            sats.trim()
                .parse()
                .with_context(|| format!("amount {amount:?}"))?,
        )
    } else {
        Amount::from_str_in(
            amount
                .trim_end_matches("btc")
                .trim_end_matches("BTC")
                .trim(),
            Denomination::Bitcoin,
        )
        .with_context(|| format!("amount {amount:?} (BTC, or satoshis with a sat suffix)"))?
    };
    Ok(Recipient { address, amount })
}

fn master_from(
    load_seed: impl FnOnce() -> anyhow::Result<Zeroizing<[u8; 64]>>,
    network: Network,
) -> anyhow::Result<MasterKey> {
    let seed = load_seed()?;
    Ok(MasterKey::from_seed(seed.as_ref(), network)?)
}

/// Runs a `btc` command. `load_seed` is called only by commands that need the seed.
pub fn run(
    cmd: BtcCommand,
    account: u32,
    load_seed: impl FnOnce() -> anyhow::Result<Zeroizing<[u8; 64]>>,
) -> anyhow::Result<()> {
    match cmd {
        BtcCommand::Descriptors {
            network,
            watch_only_out,
        } => {
            let master = master_from(load_seed, network.get()?)?;
            let export = WatchOnlyExport::from_master(&master, account)?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "network: {}   master fingerprint: {}",
                export.network,
                master.fingerprint()
            )?;
            for w in &export.wallets {
                let purpose = Purpose::from_number(w.purpose)?;
                writeln!(
                    out,
                    "\nBIP-{} ({}) account {}",
                    w.purpose,
                    purpose.script_name(),
                    w.account
                )?;
                if let Some(k) = &w.key {
                    writeln!(out, "  key:      {k}")?;
                }
                writeln!(out, "  receive:  {}", w.external)?;
                writeln!(out, "  change:   {}", w.internal)?;
            }
            if let Some(k) = &export.multisig_key {
                writeln!(
                    out,
                    "\nBIP-48 P2WSH multisig cosigner key (share with cosigners):\n  {k}"
                )?;
            }
            if let Some(path) = watch_only_out {
                let json = serde_json::to_string_pretty(&export)?;
                std::fs::write(&path, json + "\n")
                    .with_context(|| format!("writing {}", path.display()))?;
                writeln!(out, "\nwatch-only export written to {}", path.display())?;
            }
            Ok(())
        }
        BtcCommand::Address {
            network,
            purpose,
            index,
            change,
            watch_only,
        } => {
            let purpose = Purpose::from_str(&purpose)?;
            let address = match watch_only {
                Some(path) => load_watch_only(&path)?
                    .wallet(purpose.number())?
                    .address(change, index)?,
                None => {
                    let master = master_from(load_seed, network.get()?)?;
                    master.account(purpose, account)?.address(change, index)?
                }
            };
            println!("{address}");
            Ok(())
        }
        BtcCommand::Multisig {
            network,
            threshold,
            keys,
            watch_only_out,
        } => {
            let network = network.get()?;
            let wallet = multisig_descriptors(threshold, &keys, network)?;
            println!("{threshold}-of-{} P2WSH sorted multisig", keys.len());
            println!("  receive:  {}", wallet.external);
            println!("  change:   {}", wallet.internal);
            println!("  first address: {}", wallet.address(false, 0)?);
            if let Some(path) = watch_only_out {
                let export = WatchOnlyExport::multisig(network, threshold, &wallet);
                std::fs::write(&path, serde_json::to_string_pretty(&export)? + "\n")
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("watch-only export written to {}", path.display());
            }
            Ok(())
        }
        BtcCommand::Psbt(cmd) => run_psbt(cmd, account, load_seed),
    }
}

fn run_psbt(
    cmd: PsbtCommand,
    account: u32,
    load_seed: impl FnOnce() -> anyhow::Result<Zeroizing<[u8; 64]>>,
) -> anyhow::Result<()> {
    match cmd {
        PsbtCommand::Create {
            network,
            utxos,
            to,
            fee_rate,
            version,
            purpose,
            watch_only,
            change_index,
            lookahead,
            output,
        } => {
            let purpose = Purpose::from_str(&purpose)?;
            let version = PsbtVersion::from_number(version)?;
            let wallet: WalletDescriptors = match &watch_only {
                Some(path) => load_watch_only(path)?.wallet(purpose.number())?,
                None => {
                    let master = master_from(load_seed, network.get()?)?;
                    WalletDescriptors::from_account(&master.account(purpose, account)?)?
                }
            };
            let net = wallet.network;
            let utxo_bytes = read_limited(&utxos, MAX_UTXO_FILE_BYTES)?;
            let coins = parse_utxo_file(&utxo_bytes, net)?;
            let recipients = to
                .iter()
                .map(|s| parse_recipient(s, net))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let opts = CreateOptions {
                fee_rate_sat_per_kwu: parse_fee_rate(&fee_rate)?,
                version,
                change_index,
                lookahead,
            };
            let (psbt, summary) = create_psbt(&wallet, &coins, &recipients, &opts)?;
            eprintln!(
                "created PSBT v{}: {} input(s), fee {} (~{} vB, {:?}){}",
                version.number(),
                summary.inputs.len(),
                summary.fee,
                summary.estimated_vsize,
                summary.algorithm,
                match &summary.change {
                    Some((a, amt, i)) => format!(", change {amt} to {a} (internal index {i})"),
                    None => ", no change".into(),
                }
            );
            write_text(output.as_deref(), &psbt.to_base64()?)
        }
        PsbtCommand::Sign {
            network,
            io,
            allow_witness_utxo_only,
        } => {
            let net = network.get()?;
            let mut psbt = read_psbt(io.input.as_deref())?;
            let master = master_from(load_seed, net)?;
            eprint!(
                "{}",
                PsbtSummary::new(&psbt, net, Some(master.fingerprint()))
            );
            let report = sign_psbt(
                &mut psbt,
                &master,
                SignPolicy {
                    allow_witness_utxo_only,
                },
            )?;
            for (i, what) in &report.signed {
                eprintln!("signed input #{i}: {what}");
            }
            write_text(io.output.as_deref(), &psbt.to_base64()?)
        }
        PsbtCommand::Combine { files, output } => {
            let mut iter = files.iter();
            let first = iter.next().context("no PSBT files")?;
            let mut acc = read_psbt(Some(first))?;
            for f in iter {
                acc = acc
                    .combine(read_psbt(Some(f))?)
                    .with_context(|| format!("combining {}", f.display()))?;
            }
            write_text(output.as_deref(), &acc.to_base64()?)
        }
        PsbtCommand::Finalize { io } => {
            let mut psbt = read_psbt(io.input.as_deref())?;
            psbt.finalize()?;
            write_text(io.output.as_deref(), &psbt.to_base64()?)
        }
        PsbtCommand::Decode {
            network,
            input,
            json,
        } => {
            let psbt = read_psbt(input.as_deref())?;
            let summary = PsbtSummary::new(&psbt, network.get()?, None);
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print!("{summary}");
            }
            Ok(())
        }
        PsbtCommand::Extract { io } => {
            let psbt = read_psbt(io.input.as_deref())?;
            let tx = psbt.extract()?;
            eprintln!("txid {}  ({} vB)", tx.compute_txid(), tx.vsize());
            write_text(
                io.output.as_deref(),
                &bitcoin::consensus::encode::serialize_hex(&tx),
            )
        }
        PsbtCommand::Convert { io, version } => {
            let psbt = read_psbt(io.input.as_deref())?;
            let converted = psbt.convert(PsbtVersion::from_number(version)?)?;
            write_text(io.output.as_deref(), &converted.to_base64()?)
        }
    }
}
