//! `rustchain-miner attest --once` against a minimal JSON-RPC node stand-in on 127.0.0.1 that
//! serves `attest_getChallenge` and checks what arrives at `attest_submit` the way a validator
//! would (decoding limits, profile hash, signature, proof of work, chain and window). The real
//! node's methods are tested in the node crate; this checks the miner's side of the wire.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};

use rustchain_consensus::rip200::classify;
use rustchain_primitives::attestation::leading_zero_bits;
use rustchain_primitives::{Amount, Attestation, AttestationMode, Hash};
use rustchain_rpc_types::{AttestResultJson, BlockRef, ChallengeJson};

const BIN: &str = env!("CARGO_BIN_EXE_rustchain-miner");

fn challenge() -> ChallengeJson {
    ChallengeJson {
        chain_id: "dev-mock".into(),
        epoch: 7,
        window: 1,
        windows_per_epoch: 5,
        reference: BlockRef {
            height: 42,
            hash: Hash([9; 32]),
        },
        pow_bits: 8,
        simulated_allowed: true,
        window_start_slot: 40,
        window_end_slot: 80,
        slot_duration_ms: 1_000,
        ms_to_next_window: 30_000,
    }
}

/// Handles one JSON-RPC request; returns the response body.
fn answer(request: &serde_json::Value, seen: &Mutex<Vec<Attestation>>) -> serde_json::Value {
    let id = request["id"].clone();
    let method = request["method"].as_str().unwrap_or("");
    let result = match method {
        "attest_getChallenge" => serde_json::to_value(challenge()).unwrap(),
        "attest_submit" => {
            let hex = request["params"][0].as_str().unwrap();
            let bytes = hex::decode(hex.trim_start_matches("0x")).unwrap();
            let a = Attestation::decode(&bytes).unwrap();
            a.verify_signature().unwrap();
            let c = challenge();
            assert_eq!(a.body.chain_id.as_str(), c.chain_id);
            assert_eq!((a.body.epoch, a.body.window), (c.epoch, c.window));
            assert_eq!(a.body.reference.height, c.reference.height);
            assert_eq!(a.body.reference.hash, c.reference.hash);
            assert!(leading_zero_bits(&a.body.pow_hash()) >= c.pow_bits);
            let verdict = classify(&a.body.evidence);
            let result = AttestResultJson {
                id: a.hash(),
                epoch: a.body.epoch,
                window: a.body.window,
                class: verdict.class,
                multiplier_bps: if verdict.verdict.earns() { 10_000 } else { 0 },
                verdict: verdict.verdict.as_str().into(),
                reasons: verdict.reasons,
                profile_hash: a.body.profile_hash,
                expected_reward: Amount::from_base_units(if verdict.verdict.earns() {
                    30_000_000
                } else {
                    0
                }),
            };
            seen.lock().unwrap().push(a);
            serde_json::to_value(result).unwrap()
        }
        other => {
            return serde_json::json!({"jsonrpc": "2.0", "id": id,
                "error": {"code": -32601, "message": format!("no method {other}")}})
        }
    };
    serde_json::json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn serve(stream: TcpStream, seen: Arc<Mutex<Vec<Attestation>>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap();
                }
            }
        }
        assert!(length <= 64 * 1024, "request too large");
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let response = answer(&request, &seen).to_string();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            response.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(response.as_bytes()).unwrap();
    }
}

fn mock_node() -> (String, Arc<Mutex<Vec<Attestation>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let shared = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = shared.clone();
            std::thread::spawn(move || serve(stream, seen));
        }
    });
    (url, seen)
}

fn keygen(dir: &std::path::Path) -> std::path::PathBuf {
    let key = dir.join("miner.key");
    let out = Command::new(BIN)
        .args(["keygen", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    key
}

#[test]
fn attest_once_simulated_reaches_the_node_and_prints_a_status_line() {
    let (url, seen) = mock_node();
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let out = Command::new(BIN)
        .args(["attest", "--once", "--simulated", "--node", &url, "--key"])
        .arg(&key)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("epoch 7 window 2/5  verdict=bare_metal class=modern multiplier=1.00x"),
        "{stdout}"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body.mode, AttestationMode::Simulated);
}

#[test]
fn attest_once_hardware_sends_this_machines_evidence() {
    let (url, seen) = mock_node();
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let out = Command::new(BIN)
        .args(["attest", "--once", "--node", &url, "--key"])
        .arg(&key)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("epoch 7 window 2/5  verdict="),
        "{stdout}"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let a = &seen[0];
    assert_eq!(a.body.mode, AttestationMode::Hardware);
    assert!(!a.body.evidence.timing.cache_curve.is_empty());
    // On a machine whose CPUID says "hypervisor", the status line says so.
    if a.body
        .evidence
        .cpuid
        .as_ref()
        .is_some_and(|c| c.hypervisor_bit)
    {
        assert!(stdout.contains("verdict=virtual_machine"), "{stdout}");
        assert!(stdout.contains("multiplier=0.00x"));
    }
}

#[test]
fn attest_once_gives_up_on_a_node_that_is_not_there() {
    // A port nobody listens on: bind, note the port, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let started = std::time::Instant::now();
    let out = Command::new(BIN)
        .args([
            "attest",
            "--once",
            "--simulated",
            "--node",
            &format!("http://127.0.0.1:{port}"),
            "--key",
        ])
        .arg(&key)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("challenge failed"), "{stderr}");
    assert!(stderr.contains("giving up after 5 failures"), "{stderr}");
    // Backoff 1 + 2 + 4 + 8 s between the five tries.
    assert!(started.elapsed().as_secs() >= 15);
}
