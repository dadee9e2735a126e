//! Command-line interface.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The RustChain full node.
#[derive(Debug, Parser)]
#[command(name = "rustchain-node", version, about, long_about = None)]
pub struct Cli {
    /// Run a single-validator dev network (well-known dev keys, 1 s slots; never for real value).
    #[arg(long, global = true)]
    pub dev: bool,

    /// Data directory (database). In --dev mode without it, a temporary directory is used and
    /// deleted on exit.
    #[arg(long, value_name = "DIR", global = true)]
    pub datadir: Option<PathBuf>,

    /// JSON-RPC listen address, HTTP and WebSocket [default: 127.0.0.1:8099].
    #[arg(long, value_name = "ADDR")]
    pub rpc_addr: Option<SocketAddr>,

    /// TOML configuration file; accepts the same settings as the flags (flags win).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// Genesis TOML file (not needed with --dev).
    #[arg(long, value_name = "FILE", global = true)]
    pub genesis: Option<PathBuf>,

    /// File holding this validator's secret key as 0x-hex (not needed with --dev).
    #[arg(long, value_name = "FILE")]
    pub validator_key: Option<PathBuf>,

    /// libp2p listen address, repeatable [default: /ip4/0.0.0.0/tcp/30333; a --dev node
    /// runs without networking unless given one].
    #[arg(long = "p2p-listen", value_name = "MULTIADDR")]
    pub p2p_listen: Vec<String>,

    /// Peer to dial at start, `/ip4/.../tcp/.../p2p/<peer id>`; repeatable.
    #[arg(long = "bootnode", value_name = "MULTIADDR")]
    pub bootnodes: Vec<String>,

    /// Serve this encrypted keystore as the embedded wallet (`wallet_*` RPC methods). Off by
    /// default.
    #[arg(long, value_name = "FILE")]
    pub wallet: Option<PathBuf>,

    /// File whose first line is the embedded wallet's keystore password (required with
    /// --wallet; the node never prompts).
    #[arg(long, value_name = "FILE")]
    pub wallet_password_file: Option<PathBuf>,

    /// BIP-44 account the embedded wallet serves [default: 0].
    #[arg(long, value_name = "N")]
    pub wallet_account: Option<u32>,

    /// File whose first line is a bearer token: `wallet_*` calls must then carry
    /// `Authorization: Bearer TOKEN`. Without it the wallet is served only on a loopback RPC
    /// address.
    #[arg(long, value_name = "FILE")]
    pub wallet_token_file: Option<PathBuf>,

    /// Test only: make this validator misbehave (`double-propose`). Refused on a mainnet chain.
    #[arg(long, value_name = "MODE", hide = true)]
    pub misbehave: Option<String>,

    /// Log format [default: text].
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,

    /// Log filter, e.g. `info` or `rustchain_node=debug` [default: info; RUST_LOG also works].
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,

    /// What to do (default: run the node).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay the stored chain from genesis and check every block's roots and the head state.
    VerifyChain,
    /// Print the dev network's genesis as TOML (a starting point for your own genesis file).
    DevGenesis,
    /// Write a ready-to-run local network: genesis, validator keys and one config per node.
    Testnet(crate::testnet::TestnetArgs),
}
