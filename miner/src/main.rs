//! `rustchain-miner`: fingerprint this machine, manage the miner key, attest every window.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand};
use rustchain_miner::attest::{self, Backoff, NodeClient};
use rustchain_miner::evidence::{fingerprint_live, fingerprint_replay, simulated_evidence};
use rustchain_miner::keyfile::{self, KdfCost};
use rustchain_miner::report;
use rustchain_primitives::{AttestationMode, KeyPair};
use zeroize::Zeroizing;

#[derive(Debug, Parser)]
#[command(
    name = "rustchain-miner",
    version,
    about = "RustChain miner: fingerprint the hardware, attest every window (RIP-200)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the hardware evidence and the verdict validators will reach, with every reason.
    Fingerprint {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Replay a recorded machine (cpuid.txt, proc/, sys/ ... as in shared/fixtures).
        #[arg(long, value_name = "DIR")]
        replay: Option<PathBuf>,
    },
    /// Write a new miner key file (mode 0600).
    Keygen {
        /// The key file to create (never overwritten).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Encrypt the key with the passphrase in this file (first line).
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
    },
    /// Attest the current window.
    Attest {
        #[command(flatten)]
        opts: AttestOpts,
        /// Attest one window and exit (the only mode of this command; kept for clarity).
        #[arg(long)]
        once: bool,
    },
    /// Attest every window until stopped.
    Run {
        #[command(flatten)]
        opts: AttestOpts,
    },
}

#[derive(Debug, Args)]
struct AttestOpts {
    /// Node JSON-RPC address.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8099")]
    node: String,
    /// Miner key file (from `keygen`).
    #[arg(long, value_name = "FILE", env = "RUSTCHAIN_MINER_KEY")]
    key: PathBuf,
    /// Passphrase file for an encrypted key file.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Submit a made-up evidence record in Simulated mode (dev and test chains only).
    #[arg(long)]
    simulated: bool,
}

fn passphrase(path: Option<&Path>) -> anyhow::Result<Option<Zeroizing<Vec<u8>>>> {
    path.map(keyfile::read_passphrase)
        .transpose()
        .context("reading the passphrase file")
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Fingerprint { json, replay } => {
            let fp = match replay {
                Some(dir) => fingerprint_replay(&dir)?,
                None => fingerprint_live(),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&report::json(&fp))?);
            } else {
                print!("{}", report::text(&fp));
            }
            Ok(())
        }
        Command::Keygen {
            out,
            passphrase_file,
        } => {
            let pass = passphrase(passphrase_file.as_deref())?;
            let key = KeyPair::generate();
            keyfile::write(
                &out,
                &key,
                pass.as_deref().map(|p| p.as_slice()),
                KdfCost::default(),
            )?;
            println!(
                "wrote {} ({}, mode 0600)\nminer public key: {}",
                out.display(),
                if pass.is_some() {
                    "encrypted with Argon2id + XChaCha20-Poly1305"
                } else {
                    "plain hex secret: keep it private"
                },
                key.public_key()
            );
            Ok(())
        }
        Command::Attest { opts, once: _ } => runtime()?.block_on(attest_loop(opts, true)),
        Command::Run { opts } => runtime()?.block_on(attest_loop(opts, false)),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Most failed tries of `attest --once` before giving up.
const ONCE_MAX_FAILURES: u32 = 5;

async fn attest_loop(opts: AttestOpts, once: bool) -> anyhow::Result<()> {
    let pass = passphrase(opts.passphrase_file.as_deref())?;
    let key = keyfile::read(&opts.key, pass.as_deref().map(|p| p.as_slice()))?;
    drop(pass);
    let client = NodeClient::new(&opts.node)
        .with_context(|| format!("cannot use node address {}", opts.node))?;
    let mode = if opts.simulated {
        AttestationMode::Simulated
    } else {
        AttestationMode::Hardware
    };
    eprintln!(
        "miner {} attesting to {} ({} mode)",
        key.public_key(),
        opts.node,
        if opts.simulated {
            "simulated"
        } else {
            "hardware"
        }
    );
    let mut backoff = Backoff::default();
    let mut last: Option<(u64, u32)> = None;
    loop {
        let challenge = match client.challenge().await {
            Ok(c) => c,
            Err(e) => {
                let delay = backoff.next_delay();
                eprintln!("challenge failed: {e} (retrying in {} s)", delay.as_secs());
                if once && backoff.failures() >= ONCE_MAX_FAILURES {
                    bail!("giving up after {} failures: {e}", backoff.failures());
                }
                tokio::time::sleep(delay).await;
                continue;
            }
        };
        if last == Some((challenge.epoch, challenge.window)) {
            tokio::time::sleep(attest::wait_for_next_window(&challenge)).await;
            continue;
        }
        let evidence = if opts.simulated {
            simulated_evidence(&key.public_key())
        } else {
            tokio::task::spawn_blocking(|| fingerprint_live().evidence).await?
        };
        let built = {
            let (challenge, key) = (challenge.clone(), key.clone());
            tokio::task::spawn_blocking(move || {
                attest::build_attestation(&challenge, &key, mode, evidence)
            })
            .await?
        };
        let attestation = match built {
            Ok(a) => a,
            Err(e) => {
                // Not a transient failure: the node or the evidence must change.
                if once {
                    bail!("epoch {} window {}: {e}", challenge.epoch, challenge.window);
                }
                eprintln!("epoch {} window {}: {e}", challenge.epoch, challenge.window);
                last = Some((challenge.epoch, challenge.window));
                tokio::time::sleep(attest::wait_for_next_window(&challenge)).await;
                continue;
            }
        };
        match client.submit(&attestation).await {
            Ok(result) => {
                println!(
                    "{}",
                    attest::status_line(&result, challenge.windows_per_epoch)
                );
                backoff.reset();
                last = Some((challenge.epoch, challenge.window));
                if once {
                    return Ok(());
                }
                tokio::time::sleep(attest::wait_for_next_window(&challenge)).await;
            }
            Err(e) => {
                let delay = backoff.next_delay();
                eprintln!(
                    "epoch {} window {}: submit failed: {e} (retrying in {} s)",
                    challenge.epoch,
                    challenge.window,
                    delay.as_secs()
                );
                if once && backoff.failures() >= ONCE_MAX_FAILURES {
                    bail!("giving up after {} failures: {e}", backoff.failures());
                }
                tokio::time::sleep(delay).await;
            }
        }
    }
}
