//! Starting and stopping the node.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use parking_lot::{Mutex, RwLock};
use rustchain_consensus::{SlotClock, SystemClock};
use rustchain_genesis::{dev_genesis, dev_validator_key, Genesis, GenesisSpec};
use rustchain_mempool::Mempool;
use rustchain_primitives::hash::parse_hex_array;
use rustchain_primitives::KeyPair;
use rustchain_rpc::{NodeStatus, RpcContext};
use rustchain_state::Chain;
use tokio::sync::{broadcast, watch};
use zeroize::Zeroizing;

use crate::config::{GenesisSource, NodeConfig};
use crate::finality::FinalityDriver;
use crate::producer::{HeadEvents, Producer};

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
        syncing: false,
        peers: 0,
    }));
    let ctx = RpcContext {
        chain: chain.clone(),
        mempool: mempool.clone(),
        new_heads: events.new_heads.clone(),
        finalized_heads: events.finalized_heads.clone(),
        status,
        clock: clock.clone(),
        version: env!("CARGO_PKG_VERSION").into(),
    };
    let rpc = rustchain_rpc::start(&config.rpc, ctx).await?;
    tracing::info!(
        http = %format!("http://{}", rpc.local_addr),
        ws = %format!("ws://{}", rpc.local_addr),
        role,
        "JSON-RPC listening"
    );
    if !is_validator {
        tracing::warn!("not a validator and networking is not implemented yet: this node serves its stored chain but will not advance");
    }

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let validator_key = key.filter(|_| is_validator);
    let finality = Arc::new(Mutex::new(FinalityDriver::new(
        chain.clone(),
        validator_key.clone(),
        events.clone(),
    )?));
    let mut producer_task = validator_key.map(|key| {
        let producer = Arc::new(Producer::new(
            chain.clone(),
            mempool,
            key,
            clock,
            events,
            finality,
        ));
        tokio::spawn(producer.run(shutdown_rx))
    });

    let outcome: anyhow::Result<()> = match producer_task.as_mut() {
        Some(task) => tokio::select! {
            signal = wait_for_signal() => {
                tracing::info!(signal, "shutting down");
                Ok(())
            }
            finished = task => match finished {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(anyhow::Error::new(e).context("fatal: block production stopped")),
                Err(e) => Err(anyhow::anyhow!("block production task panicked: {e}")),
            },
        },
        None => {
            let signal = wait_for_signal().await;
            tracing::info!(signal, "shutting down");
            Ok(())
        }
    };
    let _ = shutdown_tx.send(true);
    if let Some(task) = producer_task {
        if !task.is_finished() {
            let _ = task.await;
        }
    }
    rpc.stop().await;
    let head = chain.head();
    drop(chain);
    tracing::info!(height = head.height, hash = %head.hash, "stopped");
    outcome
}
