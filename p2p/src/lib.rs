//! RustChain peer-to-peer networking.
//!
//! **Empty: not implemented yet.** The libp2p stack (TCP + noise + yamux, identify, ping,
//! Kademlia discovery, gossipsub topics for blocks, transactions, votes and attestations, and
//! request-response range sync) arrives with the networking and finality work. Until then a node
//! runs alone: `system_health` reports 0 peers and a non-validator node does not advance.
