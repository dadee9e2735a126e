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
//!
//! [webhook]                    # GitHub webhooks on POST /webhooks/github; off unless enabled
//! enabled = true
//! max_body_bytes = 1048576     # default 1 MiB; larger bodies get 413
//! state_dir = "/var/lib/rustchain/webhooks"  # default <datadir>/webhooks: processed delivery ids
//!
//! [[webhook.repository]]       # one per repository; at least one when enabled
//! name = "owner/repo"          # as GitHub's repository.full_name (case does not matter)
//! secret_file = "owner-repo.secret"  # first line is the webhook secret; must not be empty
//! ```
//!
//! The webhook's rules (signatures, replays, answers) are in [`rustchain_rpc::webhook`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rustchain_mempool::MempoolConfig;
use rustchain_rpc::webhook::{RepositorySecret, WebhookConfig, WebhookSecret};
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

/// The repository webhook receiver in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    /// Serve `POST /webhooks/github` (default false).
    pub enabled: Option<bool>,
    /// Largest body read (default 1 MiB).
    pub max_body_bytes: Option<usize>,
    /// Where processed delivery ids are kept (default `<datadir>/webhooks`).
    pub state_dir: Option<PathBuf>,
    /// `[[webhook.repository]]` entries.
    #[serde(default)]
    pub repository: Vec<WebhookRepository>,
}

/// One `[[webhook.repository]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookRepository {
    /// `owner/repo`.
    pub name: String,
    /// File whose first line is the webhook secret.
    pub secret_file: PathBuf,
}

/// The resolved webhook settings (secrets not read yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Largest body read.
    pub max_body_bytes: usize,
    /// State directory; `None` means `<datadir>/webhooks`.
    pub state_dir: Option<PathBuf>,
    /// Repositories and their secret files.
    pub repositories: Vec<WebhookRepository>,
}

impl WebhookSettings {
    /// Reads the secret files and checks everything; the handler is left `None`.
    pub fn load(&self, datadir: &Path) -> anyhow::Result<WebhookConfig> {
        let mut config = WebhookConfig::new(
            self.state_dir
                .clone()
                .unwrap_or_else(|| datadir.join("webhooks")),
        );
        config.max_body_bytes = self.max_body_bytes;
        for repo in &self.repositories {
            let what = format!("webhook secret of {}", repo.name);
            let secret = crate::service::read_secret_line(&repo.secret_file, &what)?;
            config.repositories.push(RepositorySecret {
                name: repo.name.clone(),
                secret: WebhookSecret::new(secret.as_bytes()),
            });
        }
        config
            .validate()
            .context("invalid [webhook] configuration")?;
        Ok(config)
    }
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
    /// Repository webhooks.
    #[serde(default)]
    pub webhook: WebhookSection,
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
    /// The GitHub webhook receiver, or `None` (the default).
    pub webhook: Option<WebhookSettings>,
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
            // Filled in at start from `webhook` (its secrets are read then).
            webhook: None,
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
        let h = &file.webhook;
        let webhook = h.enabled.unwrap_or(false).then(|| WebhookSettings {
            max_body_bytes: h
                .max_body_bytes
                .unwrap_or(rustchain_rpc::webhook::DEFAULT_MAX_BODY_BYTES),
            state_dir: h.state_dir.clone(),
            repositories: h.repository.clone(),
        });
        Ok(NodeConfig {
            webhook,
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
    fn webhook_section() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        let secret = dir.path().join("node.secret");
        std::fs::write(&secret, "s3cret value\nignored second line\n").unwrap();
        std::fs::write(
            &path,
            format!(
                "dev = true\n[webhook]\nenabled = true\nmax_body_bytes = 4096\n\
                 [[webhook.repository]]\nname = \"rustchain/node\"\nsecret_file = {:?}\n",
                secret.display().to_string()
            ),
        )
        .unwrap();
        let c = NodeConfig::resolve(&cli(&["--config", path.to_str().unwrap()])).unwrap();
        let settings = c.webhook.expect("enabled");
        assert_eq!(settings.max_body_bytes, 4096);
        assert_eq!(settings.state_dir, None);
        let webhook = settings.load(Path::new("/data")).unwrap();
        assert_eq!(webhook.state_dir, Path::new("/data/webhooks"));
        assert_eq!(webhook.max_body_bytes, 4096);
        assert_eq!(webhook.repositories.len(), 1);
        assert_eq!(webhook.repositories[0].name, "rustchain/node");
        assert_eq!(
            webhook.repositories[0].secret,
            WebhookSecret::new("s3cret value")
        );
        assert!(webhook.handler.is_none());
        assert!(!format!("{webhook:?}").contains("s3cret"));

        // Off by default, and off when not enabled even with repositories listed.
        let c = NodeConfig::resolve(&cli(&["--dev"])).unwrap();
        assert!(c.webhook.is_none() && c.rpc.webhook.is_none());
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("enabled = true", "enabled = false");
        std::fs::write(&path, text).unwrap();
        let c = NodeConfig::resolve(&cli(&["--config", path.to_str().unwrap()])).unwrap();
        assert!(c.webhook.is_none());

        // Unknown keys, empty secrets, missing files, no repositories, bad names.
        std::fs::write(&path, "dev = true\n[webhook]\nenable = true\n").unwrap();
        let e = NodeConfig::resolve(&cli(&["--config", path.to_str().unwrap()])).unwrap_err();
        assert!(format!("{e:#}").contains("unknown field"), "{e:#}");
        let empty = dir.path().join("empty.secret");
        std::fs::write(&empty, "\n").unwrap();
        let repo = |name: &str, file: &Path| WebhookRepository {
            name: name.into(),
            secret_file: file.to_path_buf(),
        };
        let settings = |repositories| WebhookSettings {
            max_body_bytes: 1024,
            state_dir: Some(dir.path().join("state")),
            repositories,
        };
        let e = settings(vec![repo("a/b", &empty)])
            .load(dir.path())
            .unwrap_err();
        assert!(format!("{e:#}").contains("is empty"), "{e:#}");
        let e = settings(vec![repo("a/b", &dir.path().join("missing"))])
            .load(dir.path())
            .unwrap_err();
        assert!(format!("{e:#}").contains("cannot read"), "{e:#}");
        let e = settings(vec![]).load(dir.path()).unwrap_err();
        assert!(format!("{e:#}").contains("no repository"), "{e:#}");
        let e = settings(vec![repo("not-a-repo", &secret)])
            .load(dir.path())
            .unwrap_err();
        assert!(format!("{e:#}").contains("owner/name"), "{e:#}");
        let mut zero = settings(vec![repo("a/b", &secret)]);
        zero.max_body_bytes = 0;
        assert!(zero.load(dir.path()).is_err());
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
