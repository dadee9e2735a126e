//! Node configuration: a TOML file with the same settings as the flags; flags win.
//!
//! ```toml
//! dev = true
//! datadir = "/var/lib/rustchain"
//! rpc_addr = "127.0.0.1:8099"
//! genesis = "genesis.toml"
//! validator_key = "validator.key"
//! log_format = "json"
//! log_level = "info"
//!
//! [rpc]
//! max_request_body_bytes = 262144
//! max_connections = 128
//! max_batch_len = 32
//!
//! [p2p]
//! listen = ["/ip4/0.0.0.0/tcp/30333"]
//! bootnodes = ["/ip4/192.0.2.1/tcp/30333/p2p/12D3KooW..."]
//! max_peers = 50
//! discovery = true
//!
//! [mempool]
//! max_txs = 50000
//! max_bytes = 67108864
//! max_per_sender = 256
//! expiry_ms = 1800000
//!
//! [wallet]                     # the embedded wallet; off unless `keystore` is set
//! keystore = "node-wallet.json"
//! password_file = "wallet-password.txt"
//! account = 0
//! token_file = "wallet-token.txt"  # optional; required when rpc_addr is not loopback
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rustchain_mempool::MempoolConfig;
use rustchain_rpc::RpcConfig;
use serde::Deserialize;

use crate::cli::{Cli, LogFormat};
use crate::engine::Misbehaviour;
use rustchain_p2p::Multiaddr;

/// RPC limits in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpcSection {
    /// Largest request body.
    pub max_request_body_bytes: Option<u32>,
    /// Largest response body.
    pub max_response_body_bytes: Option<u32>,
    /// Most connections.
    pub max_connections: Option<u32>,
    /// Most calls per batch.
    pub max_batch_len: Option<u32>,
    /// Most subscriptions per connection.
    pub max_subscriptions_per_connection: Option<u32>,
}

/// The embedded wallet in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletSection {
    /// Keystore file.
    pub keystore: Option<PathBuf>,
    /// File holding the keystore password.
    pub password_file: Option<PathBuf>,
    /// BIP-44 account.
    pub account: Option<u32>,
    /// File holding the bearer token.
    pub token_file: Option<PathBuf>,
}

/// The resolved embedded-wallet settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletSettings {
    /// Keystore file.
    pub keystore: PathBuf,
    /// File holding the keystore password.
    pub password_file: PathBuf,
    /// BIP-44 account.
    pub account: u32,
    /// File holding the bearer token, if any.
    pub token_file: Option<PathBuf>,
}

/// Mempool limits in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MempoolSection {
    /// Most transactions.
    pub max_txs: Option<usize>,
    /// Most bytes.
    pub max_bytes: Option<usize>,
    /// Most per sender.
    pub max_per_sender: Option<usize>,
    /// Expiry in ms.
    pub expiry_ms: Option<u64>,
}

/// Networking in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P2pSection {
    /// Listen multiaddresses.
    pub listen: Option<Vec<String>>,
    /// Bootnodes (each ending in `/p2p/<peer id>`).
    pub bootnodes: Option<Vec<String>>,
    /// Most connected peers.
    pub max_peers: Option<u32>,
    /// Kademlia discovery.
    pub discovery: Option<bool>,
}

/// Resolved networking settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct P2pSettings {
    /// Listen addresses.
    pub listen: Vec<Multiaddr>,
    /// Bootnodes.
    pub bootnodes: Vec<Multiaddr>,
    /// Most connected peers.
    pub max_peers: u32,
    /// Kademlia discovery.
    pub discovery: bool,
}

/// Default libp2p port.
pub const DEFAULT_P2P_PORT: u16 = 30333;

fn parse_multiaddrs(what: &str, items: &[String]) -> anyhow::Result<Vec<Multiaddr>> {
    items
        .iter()
        .map(|s| {
            s.parse::<Multiaddr>().with_context(|| {
                format!(
                    "invalid {what} {s:?}: expected a multiaddress like /ip4/127.0.0.1/tcp/30333"
                )
            })
        })
        .collect()
}

/// The config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Dev mode.
    pub dev: Option<bool>,
    /// Data directory.
    pub datadir: Option<PathBuf>,
    /// RPC address.
    pub rpc_addr: Option<SocketAddr>,
    /// Genesis file.
    pub genesis: Option<PathBuf>,
    /// Validator key file.
    pub validator_key: Option<PathBuf>,
    /// Log format.
    pub log_format: Option<LogFormat>,
    /// Log filter.
    pub log_level: Option<String>,
    /// RPC limits.
    #[serde(default)]
    pub rpc: RpcSection,
    /// Mempool limits.
    #[serde(default)]
    pub mempool: MempoolSection,
    /// Networking.
    #[serde(default)]
    pub p2p: P2pSection,
    /// The embedded wallet.
    #[serde(default)]
    pub wallet: WalletSection,
}

impl FileConfig {
    /// Reads a config file.
    pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }
}

/// Where the genesis comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenesisSource {
    /// The built-in dev genesis.
    Dev,
    /// A file.
    File(PathBuf),
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Genesis source.
    pub genesis: GenesisSource,
    /// Data directory; `None` means a temporary one (dev only).
    pub datadir: Option<PathBuf>,
    /// Validator key file (`None` in dev mode: the dev key is used).
    pub validator_key: Option<PathBuf>,
    /// RPC settings.
    pub rpc: RpcConfig,
    /// Mempool settings.
    pub mempool: MempoolConfig,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter.
    pub log_level: String,
    /// Networking, or `None` when off (a dev node without listen addresses or bootnodes).
    pub p2p: Option<P2pSettings>,
    /// Test-only misbehaviour.
    pub misbehaviour: Misbehaviour,
    /// The embedded wallet, or `None` (the default: `wallet_*` methods answer 6001).
    pub wallet: Option<WalletSettings>,
}

impl NodeConfig {
    /// Merges flags over the config file over defaults.
    pub fn resolve(cli: &Cli) -> anyhow::Result<NodeConfig> {
        let file = match &cli.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let dev = cli.dev || file.dev.unwrap_or(false);
        let genesis_path = cli.genesis.clone().or(file.genesis.clone());
        let genesis = match (dev, genesis_path) {
            (true, None) => GenesisSource::Dev,
            (true, Some(_)) => {
                bail!("--dev uses the built-in dev genesis; do not also pass --genesis")
            }
            (false, Some(p)) => GenesisSource::File(p),
            (false, None) => {
                bail!("no genesis: pass --genesis FILE, or --dev for a local dev network")
            }
        };
        let datadir = cli.datadir.clone().or(file.datadir.clone());
        if datadir.is_none() && !dev {
            bail!("--datadir is required (only --dev may run on a temporary directory)");
        }
        let validator_key = cli.validator_key.clone().or(file.validator_key.clone());
        if dev && validator_key.is_some() {
            bail!("--dev uses the well-known dev validator key; do not also pass --validator-key");
        }
        let defaults = RpcConfig::default();
        let r = &file.rpc;
        let rpc = RpcConfig {
            addr: cli.rpc_addr.or(file.rpc_addr).unwrap_or(defaults.addr),
            max_request_body_bytes: r
                .max_request_body_bytes
                .unwrap_or(defaults.max_request_body_bytes),
            max_response_body_bytes: r
                .max_response_body_bytes
                .unwrap_or(defaults.max_response_body_bytes),
            max_connections: r.max_connections.unwrap_or(defaults.max_connections),
            max_batch_len: r.max_batch_len.unwrap_or(defaults.max_batch_len),
            max_subscriptions_per_connection: r
                .max_subscriptions_per_connection
                .unwrap_or(defaults.max_subscriptions_per_connection),
        };
        let d = MempoolConfig::default();
        let m = &file.mempool;
        let mempool = MempoolConfig {
            max_txs: m.max_txs.unwrap_or(d.max_txs),
            max_bytes: m.max_bytes.unwrap_or(d.max_bytes),
            max_per_sender: m.max_per_sender.unwrap_or(d.max_per_sender),
            expiry_ms: m.expiry_ms.unwrap_or(d.expiry_ms),
            ..d
        };
        if mempool.max_per_sender == 0 || mempool.max_txs == 0 {
            bail!("mempool.max_txs and mempool.max_per_sender must be positive");
        }
        let listen = if cli.p2p_listen.is_empty() {
            file.p2p.listen.clone().unwrap_or_default()
        } else {
            cli.p2p_listen.clone()
        };
        let bootnodes = if cli.bootnodes.is_empty() {
            file.p2p.bootnodes.clone().unwrap_or_default()
        } else {
            cli.bootnodes.clone()
        };
        let p2p = if dev && listen.is_empty() && bootnodes.is_empty() {
            None
        } else {
            let listen = if listen.is_empty() {
                vec![format!("/ip4/0.0.0.0/tcp/{DEFAULT_P2P_PORT}")]
            } else {
                listen
            };
            Some(P2pSettings {
                listen: parse_multiaddrs("p2p listen address", &listen)?,
                bootnodes: parse_multiaddrs("bootnode", &bootnodes)?,
                max_peers: file.p2p.max_peers.unwrap_or(50),
                discovery: file.p2p.discovery.unwrap_or(true),
            })
        };
        let misbehaviour = match cli.misbehave.as_deref() {
            None => Misbehaviour::None,
            Some("double-propose") => Misbehaviour::DoublePropose,
            Some(other) => bail!("unknown --misbehave mode {other:?} (known: double-propose)"),
        };
        let w = &file.wallet;
        let wallet = match cli.wallet.clone().or(w.keystore.clone()) {
            None => {
                if cli.wallet_password_file.is_some() || cli.wallet_token_file.is_some() {
                    bail!("--wallet-password-file and --wallet-token-file need --wallet FILE");
                }
                None
            }
            Some(keystore) => Some(WalletSettings {
                keystore,
                password_file: cli
                    .wallet_password_file
                    .clone()
                    .or(w.password_file.clone())
                    .context("--wallet needs --wallet-password-file FILE (the node never prompts for a password)")?,
                account: cli.wallet_account.or(w.account).unwrap_or(0),
                token_file: cli.wallet_token_file.clone().or(w.token_file.clone()),
            }),
        };
        Ok(NodeConfig {
            wallet,
            p2p,
            misbehaviour,
            genesis,
            datadir,
            validator_key,
            rpc,
            mempool,
            log_format: cli
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Text),
            log_level: cli
                .log_level
                .clone()
                .or(file.log_level)
                .unwrap_or_else(|| "info".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("rustchain-node").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn flags_override_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(
            &path,
            "dev = true\nrpc_addr = \"127.0.0.1:9000\"\nlog_format = \"json\"\n[mempool]\nmax_txs = 7\n",
        )
        .unwrap();
        let c = NodeConfig::resolve(&cli(&["--config", path.to_str().unwrap()])).unwrap();
        assert_eq!(c.genesis, GenesisSource::Dev);
        assert_eq!(c.rpc.addr.port(), 9000);
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.mempool.max_txs, 7);
        let c = NodeConfig::resolve(&cli(&[
            "--config",
            path.to_str().unwrap(),
            "--rpc-addr",
            "127.0.0.1:9001",
        ]))
        .unwrap();
        assert_eq!(c.rpc.addr.port(), 9001);
    }

    #[test]
    fn clear_errors_for_missing_or_conflicting_settings() {
        assert!(NodeConfig::resolve(&cli(&[]))
            .unwrap_err()
            .to_string()
            .contains("no genesis"));
        let e = NodeConfig::resolve(&cli(&["--genesis", "g.toml"])).unwrap_err();
        assert!(e.to_string().contains("--datadir is required"));
        let e = NodeConfig::resolve(&cli(&["--dev", "--genesis", "g.toml"])).unwrap_err();
        assert!(e.to_string().contains("do not also pass --genesis"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "rpc_adr = \"127.0.0.1:1\"\n").unwrap();
        let e = NodeConfig::resolve(&cli(&["--config", path.to_str().unwrap()])).unwrap_err();
        assert!(format!("{e:#}").contains("unknown field"), "{e:#}");
    }
}
