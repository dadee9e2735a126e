//! docs/p2p.md names the protocol ids, topics and limits the code uses.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rustchain_p2p::sync::{MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, SYNC_PROTOCOL};
use rustchain_p2p::{
    GossipKind, IDENTIFY_PROTOCOL_VERSION, MAX_BLOCKS_PER_REQUEST, MAX_HEADERS_PER_REQUEST,
};

#[test]
fn p2p_doc_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/p2p.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let mut expected = vec![
        SYNC_PROTOCOL.to_string(),
        IDENTIFY_PROTOCOL_VERSION.to_string(),
        "/rustchain/<chain_id>/kad/1".to_string(),
        format!("**{MAX_HEADERS_PER_REQUEST}**"),
        format!("**{MAX_BLOCKS_PER_REQUEST}**"),
        format!("({MAX_REQUEST_BYTES} bytes)"),
        format!("({MAX_RESPONSE_BYTES} bytes)"),
    ];
    for kind in GossipKind::ALL {
        expected.push(format!("`/rustchain/<chain_id>/{kind}/borsh/1`"));
    }
    for needle in expected {
        assert!(
            doc.contains(&needle),
            "docs/p2p.md does not mention {needle}"
        );
    }
}
