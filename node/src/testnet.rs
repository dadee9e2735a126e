//! `rustchain-node testnet`: writes a ready-to-run local network, like CometBFT's `testnet`.
//!
//! ```text
//! OUT/genesis.toml               the network's genesis (fresh validator keys, dev accounts funded)
//! OUT/node0/config.toml          node 0's settings: datadir, genesis, key, RPC and p2p ports,
//!                                 every other node as a bootnode
//! OUT/node0/validator.key        node 0's validator secret key (0x-hex, mode 0600)
//! OUT/node0/data/p2p_key         node 0's libp2p identity (so its peer id is known in advance)
//! OUT/node4/...                  full nodes (no validator.key), when --full-nodes is given
//! ```
//!
//! Start each node with `rustchain-node --config OUT/nodeI/config.toml`. Node `i` listens for
//! peers on 127.0.0.1:(p2p-port + i) and for JSON-RPC on 127.0.0.1:(rpc-port + i). The funded
//! accounts are the dev accounts of the well-known dev mnemonic (shown with the testnet address
//! prefix): a local testnet is for testing, never for value.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use rustchain_genesis::{
    default_jail_slots, dev_account_key, dev_genesis, GenesisAccountSpec, GenesisSpec,
    GenesisValidator, DEV_ACCOUNT_COUNT,
};
use rustchain_p2p::{load_or_create_identity, Multiaddr, PeerId};
use rustchain_primitives::{Address, Amount, ChainId, KeyPair};

/// `testnet` arguments.
#[derive(Debug, Clone, Args)]
pub struct TestnetArgs {
    /// Number of validators.
    #[arg(long, default_value_t = 4)]
    pub validators: u32,
    /// Number of non-validator full nodes.
    #[arg(long, default_value_t = 0)]
    pub full_nodes: u32,
    /// Output directory (must not exist or be empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Slot duration in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub slot_ms: u64,
    /// Chain id (must start with `test-` or `dev-`).
    #[arg(long, default_value = "test-local")]
    pub chain_id: String,
    /// libp2p port of node 0; node i uses this + i.
    #[arg(long, default_value_t = 30333)]
    pub p2p_port: u16,
    /// JSON-RPC port of node 0; node i uses this + i.
    #[arg(long, default_value_t = 8100)]
    pub rpc_port: u16,
    /// Jail periods in slots for a first and second offence (`A,B`).
    #[arg(long, value_delimiter = ',', default_values_t = default_jail_slots())]
    pub jail_slots: Vec<u64>,
    /// Slots per RIP-200 reward epoch.
    #[arg(long, default_value_t = 60)]
    pub epoch_slots: u64,
    /// Attestation windows per epoch (must divide --epoch-slots).
    #[arg(long, default_value_t = 5)]
    pub attestation_windows: u64,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct TestnetLayout {
    /// The genesis file.
    pub genesis: PathBuf,
    /// Each node's config file, validators first.
    pub configs: Vec<PathBuf>,
    /// Each node's peer id.
    pub peer_ids: Vec<PeerId>,
}

fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

fn toml_string(path: &Path) -> String {
    // TOML basic strings: escape backslashes and quotes.
    let text = path.display().to_string();
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Writes the network described by `args`.
pub fn write_testnet(args: &TestnetArgs) -> anyhow::Result<TestnetLayout> {
    if args.validators == 0 {
        bail!("--validators must be at least 1");
    }
    let nodes = args.validators + args.full_nodes;
    if u32::from(args.p2p_port) + nodes > 65_535 || u32::from(args.rpc_port) + nodes > 65_535 {
        bail!("port ranges run past 65535: lower --p2p-port or --rpc-port");
    }
    if args.slot_ms < 100 {
        bail!("--slot-ms must be at least 100");
    }
    let chain_id = ChainId::new(&args.chain_id)
        .map_err(|e| anyhow::anyhow!("invalid --chain-id {:?}: {e}", args.chain_id))?;
    if chain_id.kind() == rustchain_primitives::NetworkKind::Main {
        bail!(
            "--chain-id {:?} names a mainnet chain; a local testnet id starts with test- or dev-",
            args.chain_id
        );
    }
    let [first_jail, second_jail] = <[u64; 2]>::try_from(args.jail_slots.as_slice())
        .map_err(|_| anyhow::anyhow!("--jail-slots takes two numbers"))?;
    if args.out.exists()
        && std::fs::read_dir(&args.out)
            .with_context(|| format!("cannot read {}", args.out.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} exists and is not empty; choose a new --out directory",
            args.out.display()
        );
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let out = std::fs::canonicalize(&args.out)?;

    let keys: Vec<KeyPair> = (0..args.validators).map(|_| KeyPair::generate()).collect();
    let kind = chain_id.kind();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let template = dev_genesis();
    let accounts = (0..DEV_ACCOUNT_COUNT)
        .map(|i| {
            let key = dev_account_key(i)?;
            Ok(GenesisAccountSpec {
                address: Address::from_public_key(&key.public_key()).encode(kind),
                balance: Amount::from_base_units(100_000 * Amount::UNITS_PER_RTC),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let spec = GenesisSpec {
        chain_id,
        genesis_time_ms: now_ms - now_ms % 1000,
        slot_duration_ms: args.slot_ms,
        validators: keys
            .iter()
            .enumerate()
            .map(|(i, k)| GenesisValidator {
                public_key: k.public_key(),
                name: format!("validator-{i}"),
            })
            .collect(),
        jail_slots: [first_jail, second_jail],
        epoch_slots: args.epoch_slots,
        attestation_windows: args.attestation_windows,
        accounts,
        ..template
    };
    spec.validate()
        .context("the generated genesis is invalid")?;
    let genesis_path = out.join("genesis.toml");
    std::fs::write(&genesis_path, spec.to_toml())?;

    // Identities first, so every node can name every other as a bootnode.
    let mut peer_ids = Vec::new();
    for i in 0..nodes {
        let data = out.join(format!("node{i}")).join("data");
        std::fs::create_dir_all(&data)?;
        let identity = load_or_create_identity(&data.join("p2p_key"))?;
        peer_ids.push(identity.public().to_peer_id());
    }
    let address = |i: u32| -> anyhow::Result<Multiaddr> {
        Ok(format!(
            "/ip4/127.0.0.1/tcp/{}/p2p/{}",
            u32::from(args.p2p_port) + i,
            peer_ids[i as usize]
        )
        .parse()?)
    };
    let mut configs = Vec::new();
    for i in 0..nodes {
        let dir = out.join(format!("node{i}"));
        let mut config = format!(
            "# Node {i} of a local RustChain testnet (written by `rustchain-node testnet`).\n\
             # Start it with: rustchain-node --config {config}\n\
             datadir = {datadir}\n\
             genesis = {genesis}\n\
             rpc_addr = \"127.0.0.1:{rpc}\"\n",
            config = dir.join("config.toml").display(),
            datadir = toml_string(&dir.join("data")),
            genesis = toml_string(&genesis_path),
            rpc = u32::from(args.rpc_port) + i,
        );
        if let Some(key) = keys.get(i as usize) {
            let key_path = dir.join("validator.key");
            write_secret(
                &key_path,
                &format!("0x{}\n", hex::encode(*key.secret_bytes())),
            )?;
            config.push_str(&format!("validator_key = {}\n", toml_string(&key_path)));
        }
        let bootnodes = (0..nodes)
            .filter(|j| *j != i)
            .map(|j| address(j).map(|a| format!("\"{a}\"")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        config.push_str(&format!(
            "\n[p2p]\nlisten = [\"/ip4/127.0.0.1/tcp/{}\"]\nbootnodes = [{}]\n",
            u32::from(args.p2p_port) + i,
            bootnodes.join(", ")
        ));
        let path = dir.join("config.toml");
        std::fs::write(&path, config)?;
        configs.push(path);
    }
    Ok(TestnetLayout {
        genesis: genesis_path,
        configs,
        peer_ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use crate::config::NodeConfig;
    use clap::Parser;

    fn args(out: &Path) -> TestnetArgs {
        TestnetArgs {
            validators: 3,
            full_nodes: 1,
            out: out.to_path_buf(),
            slot_ms: 500,
            chain_id: "test-local".into(),
            p2p_port: 40000,
            rpc_port: 41000,
            jail_slots: vec![10, 20],
            epoch_slots: 16,
            attestation_windows: 4,
        }
    }

    #[test]
    fn writes_configs_that_the_node_accepts() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("net");
        let layout = write_testnet(&args(&out)).unwrap();
        assert_eq!(layout.configs.len(), 4);
        let genesis = GenesisSpec::load(&layout.genesis)
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(genesis.validator_keys().len(), 3);
        assert_eq!(genesis.jail_slots, [10, 20]);
        assert_eq!((genesis.epoch_slots, genesis.attestation_windows), (16, 4));
        for (i, path) in layout.configs.iter().enumerate() {
            let cli = Cli::try_parse_from(["rustchain-node", "--config", path.to_str().unwrap()])
                .unwrap();
            let config = NodeConfig::resolve(&cli).unwrap();
            let p2p = config.p2p.unwrap();
            assert_eq!(p2p.bootnodes.len(), 3, "every other node is a bootnode");
            assert_eq!(config.rpc.addr.port(), 41000 + i as u16);
            assert_eq!(config.validator_key.is_some(), i < 3);
            if let Some(key) = config.validator_key {
                let key = crate::service::load_validator_key(&key).unwrap();
                assert!(genesis.validator_keys().contains(&key.public_key()));
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::metadata(out.join(format!("node{i}/validator.key")))
                        .unwrap()
                        .permissions()
                        .mode();
                    assert_eq!(mode & 0o777, 0o600);
                }
            }
            // The identity written in advance is the one the bootnode addresses name.
            let identity =
                load_or_create_identity(&out.join(format!("node{i}/data/p2p_key"))).unwrap();
            assert_eq!(identity.public().to_peer_id(), layout.peer_ids[i]);
        }
        // A second run into the same directory is refused rather than overwriting keys.
        let err = write_testnet(&args(&out)).unwrap_err();
        assert!(err.to_string().contains("not empty"), "{err}");
    }

    #[test]
    fn refuses_mainnet_ids_and_bad_counts() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(&dir.path().join("x"));
        a.chain_id = "rustchain".into();
        assert!(write_testnet(&a)
            .unwrap_err()
            .to_string()
            .contains("mainnet"));
        let mut a = args(&dir.path().join("y"));
        a.validators = 0;
        assert!(write_testnet(&a).is_err());
    }
}
