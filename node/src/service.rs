//! Starting and stopping the node.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use parking_lot::{Mutex, RwLock};
use rustchain_consensus::{SlotClock, SystemClock};
use rustchain_genesis::{dev_genesis, dev_validator_key, Genesis, GenesisSpec};
use rustchain_mempool::Mempool;
use rustchain_p2p::{load_or_create_identity, Network, P2pConfig};
use rustchain_primitives::hash::parse_hex_array;
use rustchain_primitives::KeyPair;
use rustchain_rpc::{NodeStatus, RpcContext};
use rustchain_state::{Chain, ChainError};
use tokio::sync::{broadcast, mpsc, watch, Notify};
use tokio::task::JoinSet;
use zeroize::Zeroizing;

use crate::config::{GenesisSource, NodeConfig, WalletSettings};
use crate::engine::{Engine, Misbehaviour};
use crate::network::{ChainSyncServer, GossipLoop};
use crate::producer::{HeadEvents, Producer};
use crate::sync::SyncLoop;

/// Loads and validates the configured genesis.
pub fn load_genesis(source: &GenesisSource) -> anyhow::Result<Genesis> {
    let spec = match source {
        GenesisSource::Dev => dev_genesis(),
        GenesisSource::File(path) => GenesisSpec::load(path)?,
    };
    Ok(spec.validate()?)
}

/// Reads a validator key file: one line of 0x-hex (32 bytes).
pub fn load_validator_key(path: &PathBuf) -> anyhow::Result<KeyPair> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read validator key file {}", path.display()))?,
    );
    let secret = Zeroizing::new(parse_hex_array::<32>(text.trim()).map_err(|e| {
        anyhow::anyhow!(
            "validator key file {} must hold 0x-hex of 32 bytes: {e}",
            path.display()
        )
    })?);
    Ok(KeyPair::from_secret_bytes(&secret)?)
}

/// Waits for SIGINT or SIGTERM and names it.
async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// Runs the node until SIGINT/SIGTERM or a fatal error.
pub async fn run(config: NodeConfig) -> anyhow::Result<()> {
    let genesis = load_genesis(&config.genesis)?;
    let dev = config.genesis == GenesisSource::Dev;

    // Data directory: the configured one, or (dev only) a temporary one removed on exit.
    let mut _temp_dir = None;
    let datadir = match &config.datadir {
        Some(dir) => dir.clone(),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("rustchain-dev-")
                .tempdir()?;
            let path = dir.path().to_path_buf();
            tracing::warn!(
                datadir = %path.display(),
                "dev mode without --datadir: using a temporary data directory that is deleted on exit; pass --datadir to keep the chain"
            );
            _temp_dir = Some(dir);
            path
        }
    };
    std::fs::create_dir_all(&datadir)
        .with_context(|| format!("cannot create data directory {}", datadir.display()))?;
    let db_path = datadir.join("db");
    let chain = Chain::open(&db_path, genesis.clone()).map_err(|e| {
        let text = e.to_string();
        if text.contains("lock") {
            anyhow::anyhow!(
                "data directory {} is in use by another process ({text})",
                datadir.display()
            )
        } else {
            anyhow::Error::new(e).context(format!("cannot open the chain in {}", datadir.display()))
        }
    })?;
    let chain = Arc::new(chain);
    let head = chain.head();
    tracing::info!(
        chain_id = %genesis.chain_id,
        genesis = %chain.genesis_hash(),
        head_height = head.height,
        head = %head.hash,
        datadir = %datadir.display(),
        "chain opened"
    );

    let key = match (&config.validator_key, dev) {
        (_, true) => Some(dev_validator_key(0)?),
        (Some(path), false) => Some(load_validator_key(path)?),
        (None, false) => None,
    };
    let is_validator = key
        .as_ref()
        .is_some_and(|k| genesis.validator_keys().contains(&k.public_key()));
    if let (Some(k), false) = (&key, is_validator) {
        bail!(
            "the validator key {} is not in the genesis validator set",
            k.public_key()
        );
    }
    let role = if is_validator { "validator" } else { "full" };

    let clock: Arc<dyn SlotClock> = Arc::new(SystemClock);
    let mempool = Arc::new(Mutex::new(Mempool::new(
        config.mempool.clone(),
        chain.rules().clone(),
    )));
    let events = HeadEvents {
        new_heads: broadcast::channel(256).0,
        finalized_heads: broadcast::channel(256).0,
    };
    let status = Arc::new(RwLock::new(NodeStatus {
        role: role.into(),
        ..NodeStatus::default()
    }));
    let validator_key = key.filter(|_| is_validator);
    let mut engine = Engine::new(
        chain.clone(),
        mempool.clone(),
        validator_key.clone(),
        events.clone(),
    )?;
    if config.misbehaviour != Misbehaviour::None {
        if genesis.chain_id.kind() == rustchain_primitives::NetworkKind::Main {
            bail!("--misbehave is for tests and is refused on a mainnet chain");
        }
        tracing::warn!(mode = ?config.misbehaviour, "TEST MODE: this validator will misbehave");
        engine.set_misbehaviour(config.misbehaviour);
    }
    let attestation_pool = engine.attestation_pool().clone();
    let engine = Arc::new(Mutex::new(engine));
    let syncing = Arc::new(AtomicBool::new(false));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut tasks: JoinSet<(&'static str, Result<(), ChainError>)> = JoinSet::new();

    // Networking.
    let mut network = None;
    let mut publish = None;
    let mut tx_broadcast = None;
    let mut attestation_broadcast = None;
    if let Some(p2p) = &config.p2p {
        let identity = load_or_create_identity(&datadir.join("p2p_key"))?;
        let mut p2p_config = P2pConfig::new(genesis.chain_id.clone(), chain.genesis_hash());
        p2p_config.listen_addrs = p2p.listen.clone();
        p2p_config.bootnodes = p2p.bootnodes.clone();
        p2p_config.max_peers = p2p.max_peers;
        p2p_config.discovery = p2p.discovery;
        let server = Arc::new(ChainSyncServer::new(engine.clone()));
        let (handle, network_events) = Network::start(p2p_config, identity, server).await?;
        let info = handle.info().await?;
        tracing::info!(
            peer_id = %info.peer_id,
            listen = ?info.listen_addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            bootnodes = p2p.bootnodes.len(),
            "p2p listening"
        );
        let (outbound_tx, outbound_rx) = mpsc::channel(1024);
        let (txs_tx, txs_rx) = mpsc::channel(4096);
        let (attestations_tx, attestations_rx) = mpsc::channel(1024);
        let nudge = Arc::new(Notify::new());
        let gossip = GossipLoop {
            engine: engine.clone(),
            chain: chain.clone(),
            mempool: mempool.clone(),
            attestations: attestation_pool.clone(),
            handle: handle.clone(),
            clock: clock.clone(),
            status: status.clone(),
            sync_nudge: nudge.clone(),
        };
        let rx = shutdown_rx.clone();
        tasks.spawn(async move {
            (
                "gossip",
                gossip
                    .run(network_events, outbound_rx, txs_rx, attestations_rx, rx)
                    .await,
            )
        });
        let sync = SyncLoop {
            engine: engine.clone(),
            handle: handle.clone(),
            clock: clock.clone(),
            status: status.clone(),
            syncing: syncing.clone(),
            nudge,
            interval: Duration::from_millis(genesis.slot_duration_ms.clamp(250, 5_000)),
        };
        let rx = shutdown_rx.clone();
        tasks.spawn(async move { ("sync", sync.run(rx).await) });
        network = Some(handle);
        publish = Some(outbound_tx);
        tx_broadcast = Some(txs_tx);
        attestation_broadcast = Some(attestations_tx);
    } else if !is_validator {
        tracing::warn!("a full node without networking serves its stored chain but never advances; configure [p2p] bootnodes");
    }

    let wallet = match &config.wallet {
        Some(settings) => Some(Arc::new(open_wallet(settings, genesis.chain_id.clone())?)),
        None => None,
    };
    let ctx = RpcContext {
        chain: chain.clone(),
        mempool,
        new_heads: events.new_heads.clone(),
        finalized_heads: events.finalized_heads.clone(),
        status,
        clock: clock.clone(),
        version: env!("CARGO_PKG_VERSION").into(),
        tx_broadcast,
        attestations: attestation_pool,
        attestation_broadcast,
        wallet,
    };
    // --- GitHub webhook receiver (issue 6, scope 2) ---------------------------------------
    let mut rpc_config = config.rpc.clone();
    if let Some(settings) = &config.webhook {
        let mut webhook = settings.load(&datadir)?;
        // A merged pull request pays the bounty claim that submitted it (see
        // `rustchain_rpc::bounty_webhook`).
        webhook.handler = Some(Arc::new(
            rustchain_rpc::bounty_webhook::BountyMergeHandler::new(
                ctx.clone(),
                webhook.state_dir.clone(),
            ),
        ));
        tracing::info!(
            path = rustchain_rpc::webhook::WEBHOOK_PATH,
            repositories = ?webhook.repositories.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            state_dir = %webhook.state_dir.display(),
            handler = webhook.handler.is_some(),
            "GitHub webhook receiver enabled"
        );
        rpc_config.webhook = Some(webhook);
    }
    // --- end of the webhook receiver -----------------------------------------------------
    let rpc = rustchain_rpc::start(&rpc_config, ctx).await?;
    tracing::info!(
        http = %format!("http://{}", rpc.local_addr),
        ws = %format!("ws://{}", rpc.local_addr),
        role,
        "JSON-RPC listening"
    );

    if is_validator {
        let producer = Producer::new(engine.clone(), clock, publish, syncing);
        let rx = shutdown_rx.clone();
        tasks.spawn(async move { ("block production", producer.run(rx).await) });
    }

    let outcome: anyhow::Result<()> = tokio::select! {
        signal = wait_for_signal() => {
            tracing::info!(signal, "shutting down");
            Ok(())
        }
        Some(finished) = tasks.join_next(), if !tasks.is_empty() => match finished {
            Ok((_, Ok(()))) => Ok(()),
            Ok((name, Err(e))) => Err(anyhow::Error::new(e).context(format!("fatal: {name} stopped"))),
            Err(e) => Err(anyhow::anyhow!("a node task panicked: {e}")),
        },
    };
    let _ = shutdown_tx.send(true);
    while tasks.join_next().await.is_some() {}
    if let Some(network) = network {
        network.shutdown().await;
    }
    rpc.stop().await;
    drop(engine);
    let head = chain.head();
    drop(chain);
    tracing::info!(height = head.height, hash = %head.hash, "stopped");
    outcome
}

/// Shortest wallet token accepted.
const MIN_WALLET_TOKEN_LEN: usize = 16;

/// The first line of a secret file, which must not be empty.
pub(crate) fn read_secret_line(
    path: &std::path::Path,
    what: &str,
) -> anyhow::Result<Zeroizing<String>> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the {what} file {}", path.display()))?,
    );
    let line = Zeroizing::new(
        text.lines()
            .next()
            .unwrap_or_default()
            .trim_end()
            .to_string(),
    );
    if line.is_empty() {
        bail!("the {what} file {} is empty", path.display());
    }
    Ok(line)
}

/// Opens and unlocks the embedded wallet (Argon2id: about a third of a second).
fn open_wallet(
    settings: &WalletSettings,
    chain_id: rustchain_primitives::ChainId,
) -> anyhow::Result<rustchain_rpc::WalletAccess> {
    use rustchain_wallet::keystore::SecretString;
    let password = read_secret_line(&settings.password_file, "wallet password")?;
    let token = match &settings.token_file {
        Some(path) => {
            let token = read_secret_line(path, "wallet token")?;
            if token.len() < MIN_WALLET_TOKEN_LEN {
                bail!(
                    "the wallet token in {} is shorter than {MIN_WALLET_TOKEN_LEN} characters",
                    path.display()
                );
            }
            Some(token)
        }
        None => None,
    };
    let passphrase =
        SecretString::new(std::env::var("RUSTCHAIN_BIP39_PASSPHRASE").unwrap_or_default());
    let wallet = rustchain_wallet::embedded::EmbeddedWallet::open(
        &settings.keystore,
        &SecretString::new(password.as_str()),
        &passphrase,
        settings.account,
        chain_id,
    )
    .with_context(|| format!("cannot open the wallet {}", settings.keystore.display()))?;
    tracing::info!(
        wallet = %wallet.metadata().name,
        chain = %wallet.metadata().chain,
        account = settings.account,
        token_required = token.is_some(),
        "embedded wallet unlocked; wallet_* RPC methods enabled"
    );
    Ok(rustchain_rpc::WalletAccess::new(
        wallet,
        token.as_ref().map(|t| t.as_str()),
    ))
}
