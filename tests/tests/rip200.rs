//! RIP-200 end to end on a real node process: simulated miners attest every window of an epoch
//! over RPC (two of them on one machine, one a virtual machine), the node is killed with
//! SIGKILL in the middle of the epoch and restarted, and the first block of the next epoch pays
//! exactly the pot, split as `rustchain_consensus::rip200::settle` computes from the recorded
//! windows, to the miners' accounts.
//!
//! A fifth miner is the real `rustchain-miner` binary in hardware mode, fingerprinting the
//! machine the test runs on: on a VM (like the CI machines) it is recorded as one and earns
//! nothing; on bare metal it earns its share. Either way its payout is the computed one.
//!
//! One validator, 500 ms slots, 16-slot epochs of four 4-slot windows (8 s per epoch).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use rustchain_consensus::rip200::{settle, EpochEntry};
use rustchain_primitives::attestation::{
    CacheLevel, CpuidEvidence, PlatformEvidence, TimingEvidence,
};
use rustchain_primitives::{
    encode, Address, Arch, Attestation, AttestationBody, AttestationMode, ChainId, Checkpoint,
    HardwareEvidence, KeyPair, NetworkKind, PublicKey,
};
use rustchain_rpc_types::{
    AccountJson, AttestResultJson, ChallengeJson, EpochRewardsJson, InfoJson, MinerJson,
};
use rustchain_tests::{run_binary, wait_until, NodeProcess, Testnet};

const SLOT_MS: u64 = 500;
const EPOCH_SLOTS: u64 = 16;
const WINDOWS: u32 = 4;

/// A desktop's evidence; `cores` varies the hardware profile, `vm` makes it a KVM guest.
fn evidence(cores: u32, vm: bool) -> HardwareEvidence {
    HardwareEvidence {
        arch: Arch::X86_64,
        cpuid: Some(CpuidEvidence {
            vendor: "GenuineIntel".into(),
            brand: "Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz".into(),
            signature: 0x000906ea,
            features: CpuidEvidence::FEATURE_SSE2
                | CpuidEvidence::FEATURE_SSE3
                | CpuidEvidence::FEATURE_SSE41
                | CpuidEvidence::FEATURE_SSE42
                | CpuidEvidence::FEATURE_AVX
                | CpuidEvidence::FEATURE_AVX2
                | CpuidEvidence::FEATURE_AES
                | CpuidEvidence::FEATURE_LM,
            caches: vec![
                CacheLevel::new(1, 1, 32),
                CacheLevel::new(2, 3, 256),
                CacheLevel::new(3, 3, 12 * 1024),
            ],
            hypervisor_bit: vm,
            hypervisor_vendor: vm.then(|| "KVMKVMKVM".to_string()),
            hyperv_root_partition: false,
            microcode: None,
        }),
        logical_cpus: cores * 2,
        physical_cores: Some(cores),
        memory_mib: 16_384,
        os: "Linux".into(),
        platform: PlatformEvidence {
            cpuinfo_hypervisor_flag: vm,
            ..PlatformEvidence::default()
        },
        timing: TimingEvidence::default(),
        unmeasured: vec![],
    }
}

struct Miner {
    key: KeyPair,
    cores: u32,
    vm: bool,
}

fn attestation(ch: &ChallengeJson, miner: &Miner) -> Attestation {
    let evidence = evidence(miner.cores, miner.vm);
    let mut body = AttestationBody {
        chain_id: ChainId::new(&ch.chain_id).unwrap(),
        miner: miner.key.public_key(),
        epoch: ch.epoch,
        window: ch.window,
        reference: Checkpoint {
            height: ch.reference.height,
            hash: ch.reference.hash,
        },
        mode: AttestationMode::Simulated,
        profile_hash: evidence.profile_hash(),
        evidence,
        pow_nonce: 0,
    };
    assert!(body.solve_pow(ch.pow_bits, 0, 1 << 26));
    body.sign(&miner.key)
}

async fn challenge(node: &NodeProcess) -> ChallengeJson {
    node.http()
        .request("attest_getChallenge", rpc_params![])
        .await
        .unwrap()
}

/// Waits for a challenge in `epoch`, window `window` or later, early enough in its window that
/// an attestation is included in a block of the same window's epoch. `None` once the epoch is
/// over.
async fn challenge_for(node: &NodeProcess, epoch: u64, window: u32) -> Option<ChallengeJson> {
    let ch = wait_until(node, |http| async move {
        let ch: ChallengeJson = http
            .request("attest_getChallenge", rpc_params![])
            .await
            .unwrap();
        let late = ch.window == WINDOWS - 1 && ch.ms_to_next_window < 2 * SLOT_MS;
        let ready = ch.epoch > epoch || (ch.epoch == epoch && ch.window >= window && !late);
        ready.then_some(ch)
    })
    .await;
    (ch.epoch == epoch).then_some(ch)
}

async fn submit(node: &NodeProcess, a: &Attestation) -> AttestResultJson {
    let hex = format!("0x{}", hex::encode(encode(a)));
    node.http()
        .request("attest_submit", rpc_params![hex])
        .await
        .unwrap_or_else(|e| panic!("attest_submit refused: {e}"))
}

async fn balance_at(node: &NodeProcess, address: &str, height: u64) -> u64 {
    let account: AccountJson = node
        .http()
        .request("state_getAccount", rpc_params![address, height])
        .await
        .unwrap();
    account.balance.base_units()
}

/// A one-validator network (plus `full_nodes` full nodes) with short epochs, not started.
fn short_epoch_net(full_nodes: u32) -> Testnet {
    Testnet::write(
        1,
        full_nodes,
        SLOT_MS,
        &[
            "--epoch-slots",
            &EPOCH_SLOTS.to_string(),
            "--attestation-windows",
            &WINDOWS.to_string(),
        ],
    )
}

/// `rustchain-miner keygen` into the network's directory: the key file and the public key it
/// prints.
fn miner_keygen(net: &Testnet, name: &str) -> (std::path::PathBuf, PublicKey) {
    let key_file = net.dir.path().join(name);
    let (ok, stdout, stderr) = run_binary(
        "rustchain-miner",
        &["keygen", "--out", key_file.to_str().unwrap()],
    );
    assert!(ok, "keygen failed: {stdout}{stderr}");
    let key = stdout
        .lines()
        .find_map(|l| l.strip_prefix("miner public key: "))
        .expect("keygen prints the public key")
        .trim()
        .parse()
        .unwrap();
    (key_file, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_epoch_pays_exactly_its_pot_by_weight_across_a_restart() {
    let mut net = short_epoch_net(0);
    net.start(0, &[]);
    let info: InfoJson = net
        .node(0)
        .http()
        .request("system_info", rpc_params![])
        .await
        .unwrap();
    let kind = match info.network.as_str() {
        "dev" => NetworkKind::Dev,
        "test" => NetworkKind::Test,
        other => panic!("a local testnet on network {other}"),
    };
    let miners = [
        Miner {
            key: KeyPair::generate(),
            cores: 6,
            vm: false,
        },
        // The same machine under a second key: shares the first one's weight.
        Miner {
            key: KeyPair::generate(),
            cores: 6,
            vm: false,
        },
        Miner {
            key: KeyPair::generate(),
            cores: 8,
            vm: false,
        },
        // A KVM guest: accepted, recorded, paid nothing.
        Miner {
            key: KeyPair::generate(),
            cores: 4,
            vm: true,
        },
    ];

    // The hardware-mode miner's key.
    let (key_file, hardware_miner) = miner_keygen(&net, "miner.key");

    // Attest every window of the next full epoch; the second miner skips window 2.
    let epoch = challenge(net.node(0)).await.epoch + 1;
    for window in 0..WINDOWS {
        let Some(ch) = challenge_for(net.node(0), epoch, window).await else {
            break;
        };
        for (i, m) in miners.iter().enumerate() {
            if i == 1 && ch.window == 2 {
                continue;
            }
            let result = submit(net.node(0), &attestation(&ch, m)).await;
            assert_eq!((result.epoch, result.window), (epoch, ch.window));
            if m.vm {
                assert_eq!(result.verdict, "virtual_machine", "{result:?}");
                assert_eq!(result.multiplier_bps, 0);
            }
        }
        if ch.window == 2 {
            // The real miner, in hardware mode, on this machine.
            let url = net.node(0).http_url();
            let key = key_file.clone();
            let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || {
                run_binary(
                    "rustchain-miner",
                    &[
                        "attest",
                        "--node",
                        &url,
                        "--once",
                        "--key",
                        key.to_str().unwrap(),
                    ],
                )
            })
            .await
            .unwrap();
            assert!(ok, "rustchain-miner attest failed: {stdout}{stderr}");
        }
        if ch.window == 1 {
            // Wait until window 1 is on chain, then crash the node in the middle of the epoch.
            let key = miners[0].key.public_key();
            wait_until(net.node(0), |http| async move {
                let m: Result<MinerJson, _> = http.request("miner_get", rpc_params![key]).await;
                m.ok()
                    .filter(|m| m.last_window == 1 && m.last_epoch == epoch)
            })
            .await;
            net.kill(0);
            net.start(0, &[]);
        }
    }

    // The first block of the next epoch settles this one.
    let rewards: EpochRewardsJson = wait_until(net.node(0), |http| async move {
        let r: Result<EpochRewardsJson, _> =
            http.request("epoch_getRewards", rpc_params![epoch]).await;
        r.ok().filter(|r| r.settled)
    })
    .await;
    assert_eq!(rewards.miners.len(), miners.len() + 1, "{rewards:?}");
    let hardware = rewards
        .miners
        .iter()
        .find(|m| m.miner == hardware_miner)
        .expect("the hardware-mode miner is enrolled");
    assert_eq!(
        hardware.verdict == "bare_metal",
        hardware.multiplier_bps > 0,
        "{hardware:?}"
    );
    // Windows attested before the crash are still counted.
    let first = &rewards
        .miners
        .iter()
        .find(|m| m.miner == miners[0].key.public_key())
        .unwrap();
    assert!(first.windows.starts_with(&[0, 1]), "{first:?}");
    let pot = rewards.pot.unwrap();
    assert_eq!(rewards.paid, pot, "exactly the pot");
    let entries: Vec<EpochEntry> = rewards
        .miners
        .iter()
        .map(|m| EpochEntry {
            miner: m.miner,
            profile_hash: m.profile_hash,
            windows: m.windows.iter().fold(0, |acc, w| acc | (1u64 << w)),
            multiplier_bps: m.multiplier_bps,
        })
        .collect();
    let expected = settle(pot, &entries);
    let height = rewards.settled_at_height.unwrap();
    for m in &rewards.miners {
        let want = expected
            .iter()
            .find(|p| p.miner == m.miner)
            .map_or(0, |p| p.amount.base_units());
        assert_eq!(m.reward.unwrap().base_units(), want, "{m:?}");
        let address = Address::from_public_key(&m.miner).encode(kind);
        let credited = balance_at(net.node(0), &address, height).await
            - balance_at(net.node(0), &address, height - 1).await;
        assert_eq!(credited, want, "balance of {address}");
    }
    let vm = rewards
        .miners
        .iter()
        .find(|m| m.miner == miners[3].key.public_key())
        .unwrap();
    assert_eq!(
        (vm.verdict.as_str(), vm.reward.unwrap().base_units()),
        ("virtual_machine", 0)
    );
    // One machine, two keys: together no more than the single-key machine with as many windows.
    let of = |k: &KeyPair| {
        rewards
            .miners
            .iter()
            .find(|m| m.miner == k.public_key())
            .unwrap()
            .reward
            .unwrap()
            .base_units()
    };
    assert!(of(&miners[0].key) + of(&miners[1].key) <= of(&miners[2].key) + 1);

    // Later blocks never pay the epoch again.
    let again: EpochRewardsJson = net
        .node(0)
        .http()
        .request("epoch_getRewards", rpc_params![epoch])
        .await
        .unwrap();
    assert_eq!(again, rewards);
}

/// An attestation submitted to a full node (which produces nothing) reaches the validator by
/// gossip and is put in its block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attestations_submitted_to_a_full_node_are_gossiped_to_the_validator() {
    let mut net = short_epoch_net(1);
    net.start(0, &[]);
    net.start(1, &[]);
    // The full node has synced and is connected.
    let validator_head = rustchain_tests::head(net.node(0)).await.head.height;
    wait_until(net.node(1), |http| async move {
        let h: rustchain_rpc_types::HeadJson =
            http.request("chain_getHead", rpc_params![]).await.unwrap();
        let health: rustchain_rpc_types::HealthJson =
            http.request("system_health", rpc_params![]).await.unwrap();
        (h.head.height >= validator_head && health.peers >= 1).then_some(())
    })
    .await;
    let miner = Miner {
        key: KeyPair::generate(),
        cores: 6,
        vm: false,
    };
    let key = miner.key.public_key();
    // Submit in the first window where the full node accepts it (it may lag by a slot).
    let ch = challenge(net.node(1)).await;
    let epoch = ch.epoch + 1;
    let ch = challenge_for(net.node(1), epoch, 0).await.unwrap();
    let result = submit(net.node(1), &attestation(&ch, &miner)).await;
    assert_eq!(result.epoch, epoch);
    // The validator's chain records it: only gossip could have brought it there.
    let record: MinerJson = wait_until(net.node(0), |http| async move {
        let m: Result<MinerJson, _> = http.request("miner_get", rpc_params![key]).await;
        m.ok()
    })
    .await;
    assert_eq!((record.last_epoch, record.attestations), (epoch, 1));
}

/// `rustchain-miner run` attests window after window on its own, with one status line each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_miner_run_loop_attests_every_window() {
    let mut net = short_epoch_net(0);
    net.start(0, &[]);
    let (key_file, miner) = miner_keygen(&net, "run.key");
    let mut child = std::process::Command::new(rustchain_tests::binary("rustchain-miner"))
        .args([
            "run",
            "--node",
            &net.node(0).http_url(),
            "--key",
            key_file.to_str().unwrap(),
            "--simulated",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Three windows on chain, each attested once (2 s windows).
    let record: MinerJson = wait_until(net.node(0), |http| async move {
        let m: Result<MinerJson, _> = http.request("miner_get", rpc_params![miner]).await;
        m.ok().filter(|m| m.attestations >= 3)
    })
    .await;
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let status_lines = stdout.lines().filter(|l| l.contains("verdict=")).count();
    assert!(status_lines >= 3, "one status line per window: {stdout}");
    // No window twice: the chain would have refused it, and the attestation count would lag.
    let rewards: Vec<EpochRewardsJson> = {
        let mut out = Vec::new();
        for epoch in record.first_epoch..=record.last_epoch {
            let r: Result<EpochRewardsJson, _> = net
                .node(0)
                .http()
                .request("epoch_getRewards", rpc_params![epoch])
                .await;
            out.extend(r.ok());
        }
        out
    };
    let windows: usize = rewards
        .iter()
        .flat_map(|r| r.miners.iter().filter(|m| m.miner == miner))
        .map(|m| m.windows.len())
        .sum();
    assert_eq!(windows as u64, record.attestations);
}
