//! The sync request-response protocol, `/rustchain/sync/borsh/1`.
//!
//! One request and one response per stream. Each is a frame: a `u32` little-endian length,
//! then that many bytes of borsh ([`SyncRequest`] / [`SyncResponse`]). A request frame is at
//! most [`MAX_REQUEST_BYTES`], a response frame at most [`MAX_RESPONSE_BYTES`]; a larger length
//! prefix is an error before any of the body is read, and the body must decode exactly (no
//! trailing bytes). The responder closes the stream after its response.
//!
//! Ranges are capped: a `HeadersByRange` count above [`MAX_HEADERS_PER_REQUEST`] or a
//! `BlocksByRange` count above [`MAX_BLOCKS_PER_REQUEST`] is clamped to the cap before the
//! node's [`SyncServer`] sees it. A `Headers` or `Blocks` response that would exceed the frame
//! limit is cut to the longest prefix that fits; a client that receives fewer items than it
//! asked for continues from the last one it got.

use std::io;

use borsh::{BorshDeserialize, BorshSerialize};
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::{request_response, PeerId, StreamProtocol};
use rustchain_primitives::{Block, BlockHeader, FinalityCertificate, Hash, Vote};

/// Protocol id of the sync protocol.
pub const SYNC_PROTOCOL: &str = "/rustchain/sync/borsh/1";
/// Largest request body.
pub const MAX_REQUEST_BYTES: usize = 1024;
/// Largest response body.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// Most headers in one `HeadersByRange`.
pub const MAX_HEADERS_PER_REQUEST: u32 = 512;
/// Most blocks in one `BlocksByRange`.
pub const MAX_BLOCKS_PER_REQUEST: u32 = 64;
/// Most votes in one `Votes` answer.
pub const MAX_VOTES_PER_RESPONSE: usize = 4096;
/// Longest `Error` message a response carries (longer ones are cut).
pub const MAX_ERROR_MESSAGE_BYTES: usize = 1024;

/// A sync request. The borsh enum tag is the variant index (0 = `Status`).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum SyncRequest {
    /// The peer's chain status.
    Status,
    /// Headers at heights `start, start + 1, ...`, at most `count` (capped at
    /// [`MAX_HEADERS_PER_REQUEST`]) of the responder's canonical chain.
    HeadersByRange {
        /// first height
        start: u64,
        /// how many
        count: u32,
    },
    /// Blocks at heights `start, start + 1, ...`, at most `count` (capped at
    /// [`MAX_BLOCKS_PER_REQUEST`]) of the responder's canonical chain.
    BlocksByRange {
        /// first height
        start: u64,
        /// how many
        count: u32,
    },
    /// One block by hash (any fork the responder knows).
    BlockByHash {
        /// the block hash
        hash: Hash,
    },
    /// The finality certificate that finalized the block at `height`, if any.
    FinalityCertificate {
        /// height of the finalized block
        height: u64,
    },
    /// The finality votes the responder holds whose target is above `above_height` (so a node
    /// that missed some gossip learns the same justified blocks as its peers).
    Votes {
        /// only votes with a target height above this
        above_height: u64,
    },
}

impl SyncRequest {
    /// The request with its range counts capped at the protocol maximums.
    pub fn clamped(self) -> SyncRequest {
        match self {
            SyncRequest::HeadersByRange { start, count } => SyncRequest::HeadersByRange {
                start,
                count: count.min(MAX_HEADERS_PER_REQUEST),
            },
            SyncRequest::BlocksByRange { start, count } => SyncRequest::BlocksByRange {
                start,
                count: count.min(MAX_BLOCKS_PER_REQUEST),
            },
            other => other,
        }
    }
}

/// A peer's view of its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct PeerStatus {
    /// Its genesis block hash (a different one means a different network).
    pub genesis_hash: Hash,
    /// Height of its best block.
    pub head_height: u64,
    /// Hash of its best block.
    pub head_hash: Hash,
    /// Height of its last finalized block.
    pub finalized_height: u64,
    /// Hash of its last finalized block.
    pub finalized_hash: Hash,
}

/// A sync response. The borsh enum tag is the variant index (0 = `Status`).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum SyncResponse {
    /// Answer to `Status`.
    Status(PeerStatus),
    /// Answer to `HeadersByRange`: consecutive headers from `start`, possibly fewer than asked.
    Headers(Vec<BlockHeader>),
    /// Answer to `BlocksByRange`: consecutive blocks from `start`, possibly fewer than asked.
    Blocks(Vec<Block>),
    /// Answer to `BlockByHash`.
    Block(Option<Block>),
    /// Answer to `FinalityCertificate`.
    FinalityCertificate(Option<FinalityCertificate>),
    /// The request could not be served (unknown, busy, internal error...), with a reason.
    Error(String),
    /// Answer to `Votes`: at most [`MAX_VOTES_PER_RESPONSE`] votes.
    Votes(Vec<Vote>),
}

/// Serves sync requests from the node's database. Implemented by the node.
///
/// Called on tokio's blocking thread pool, so it may block on disk reads. `request` already has
/// its counts capped; the response is cut or replaced by an error if its encoding is larger than
/// [`MAX_RESPONSE_BYTES`].
pub trait SyncServer: Send + Sync + 'static {
    /// Answers one request from `peer`.
    fn handle(&self, peer: PeerId, request: SyncRequest) -> SyncResponse;
}

/// Makes `response` fit in `max` encoded bytes: `Headers` and `Blocks` are cut to their longest
/// fitting prefix (at least one item), anything else too large becomes an `Error`.
pub(crate) fn fit_response(response: SyncResponse, max: usize) -> SyncResponse {
    let len = match borsh::object_length(&response) {
        Ok(len) => len,
        Err(e) => return SyncResponse::Error(format!("response not encodable: {e}")),
    };
    if len <= max {
        return match response {
            SyncResponse::Error(msg) if msg.len() > MAX_ERROR_MESSAGE_BYTES => {
                SyncResponse::Error(truncate_message(msg))
            }
            other => other,
        };
    }
    let too_large = || {
        SyncResponse::Error(format!(
            "response of {len} bytes exceeds the {max}-byte limit"
        ))
    };
    match response {
        SyncResponse::Headers(items) => match fitting_prefix(items, max) {
            Some(items) => SyncResponse::Headers(items),
            None => too_large(),
        },
        SyncResponse::Blocks(items) => match fitting_prefix(items, max) {
            Some(items) => SyncResponse::Blocks(items),
            None => too_large(),
        },
        SyncResponse::Votes(items) => match fitting_prefix(items, max) {
            Some(items) => SyncResponse::Votes(items),
            None => too_large(),
        },
        _ => too_large(),
    }
}

/// The longest non-empty prefix of `items` whose response encoding (1-byte tag, 4-byte length,
/// items) fits in `max`.
fn fitting_prefix<T: BorshSerialize>(mut items: Vec<T>, max: usize) -> Option<Vec<T>> {
    let mut total = 1 + 4;
    let mut keep = 0;
    for item in &items {
        let Ok(len) = borsh::object_length(item) else {
            break;
        };
        total += len;
        if total > max {
            break;
        }
        keep += 1;
    }
    if keep == 0 {
        return None;
    }
    items.truncate(keep);
    Some(items)
}

fn truncate_message(mut msg: String) -> String {
    let mut cut = MAX_ERROR_MESSAGE_BYTES;
    while !msg.is_char_boundary(cut) {
        cut -= 1;
    }
    msg.truncate(cut);
    msg
}

fn invalid_data(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Reads one frame (`u32` LE length, borsh body of at most `max` bytes) and decodes it.
///
/// A length above `max` is refused before reading the body; the body buffer grows only as bytes
/// actually arrive; a short body is `UnexpectedEof`; a body that does not decode exactly is
/// `InvalidData`.
pub async fn read_frame<T, R>(io: &mut R, max: usize) -> io::Result<T>
where
    T: BorshDeserialize,
    R: AsyncRead + Unpin + Send,
{
    let mut prefix = [0u8; 4];
    io.read_exact(&mut prefix).await.map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            io::Error::new(e.kind(), "truncated frame: missing length prefix")
        } else {
            e
        }
    })?;
    let len = u32::from_le_bytes(prefix) as usize;
    if len > max {
        return Err(invalid_data(format!(
            "frame of {len} bytes exceeds the {max}-byte limit"
        )));
    }
    let mut body = Vec::with_capacity(len.min(64 * 1024));
    (&mut *io).take(len as u64).read_to_end(&mut body).await?;
    if body.len() != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("truncated frame: {} of {len} bytes", body.len()),
        ));
    }
    rustchain_primitives::codec::decode(&body, max).map_err(|e| invalid_data(e.to_string()))
}

/// Encodes `value` and writes it as one frame; refuses (without writing) a body above `max`.
pub async fn write_frame<T, W>(io: &mut W, value: &T, max: usize) -> io::Result<()>
where
    T: BorshSerialize,
    W: AsyncWrite + Unpin + Send,
{
    let len = borsh::object_length(value)?;
    if len > max {
        return Err(invalid_data(format!(
            "frame of {len} bytes exceeds the {max}-byte limit"
        )));
    }
    let len32 = u32::try_from(len).map_err(|_| invalid_data("frame too large".into()))?;
    let mut frame = Vec::with_capacity(4 + len);
    frame.extend_from_slice(&len32.to_le_bytes());
    value.serialize(&mut frame)?;
    io.write_all(&frame).await?;
    io.flush().await
}

/// The request-response codec of the sync protocol.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncCodec;

impl request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = SyncRequest;
    type Response = SyncResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, MAX_REQUEST_BYTES).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, MAX_RESPONSE_BYTES).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: SyncRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &request, MAX_REQUEST_BYTES).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: SyncResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &response, MAX_RESPONSE_BYTES).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use libp2p::futures::executor::block_on;
    use libp2p::futures::io::Cursor;
    use libp2p::request_response::Codec;
    use rustchain_primitives::{PublicKey, Signature};

    fn protocol() -> StreamProtocol {
        StreamProtocol::new(SYNC_PROTOCOL)
    }

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut f = (body.len() as u32).to_le_bytes().to_vec();
        f.extend_from_slice(body);
        f
    }

    fn header(height: u64) -> BlockHeader {
        BlockHeader {
            version: 1,
            height,
            slot: height,
            timestamp_ms: 0,
            parent_hash: Hash([1; 32]),
            transactions_root: Hash::ZERO,
            attestations_root: Hash::ZERO,
            evidence_root: Hash::ZERO,
            state_root: Hash::ZERO,
            receipts_root: Hash::ZERO,
            proposer: PublicKey([2; 32]),
            signature: Signature([3; 64]),
        }
    }

    #[test]
    fn request_and_response_round_trip() {
        let mut codec = SyncCodec;
        let requests = [
            SyncRequest::Status,
            SyncRequest::HeadersByRange {
                start: 5,
                count: 10,
            },
            SyncRequest::BlocksByRange { start: 1, count: 2 },
            SyncRequest::BlockByHash {
                hash: Hash([9; 32]),
            },
            SyncRequest::FinalityCertificate { height: 7 },
        ];
        for req in requests {
            let mut buf = Vec::new();
            block_on(codec.write_request(&protocol(), &mut buf, req.clone())).unwrap();
            assert_eq!(
                u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize,
                buf.len() - 4
            );
            let back = block_on(codec.read_request(&protocol(), &mut Cursor::new(buf))).unwrap();
            assert_eq!(back, req);
        }
        let resp = SyncResponse::Headers(vec![header(1), header(2)]);
        let mut buf = Vec::new();
        block_on(codec.write_response(&protocol(), &mut buf, resp.clone())).unwrap();
        let back = block_on(codec.read_response(&protocol(), &mut Cursor::new(buf))).unwrap();
        assert_eq!(back, resp);
    }

    #[test]
    fn truncated_frames_are_errors() {
        let mut codec = SyncCodec;
        let body = borsh::to_vec(&SyncRequest::HeadersByRange { start: 1, count: 2 }).unwrap();
        let full = frame(&body);
        for cut in [0, 2, 4, full.len() - 1] {
            let err =
                block_on(codec.read_request(&protocol(), &mut Cursor::new(full[..cut].to_vec())))
                    .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "cut at {cut}");
            assert!(err.to_string().contains("truncated"), "{err}");
        }
    }

    #[test]
    fn oversized_length_prefix_is_refused_without_reading_the_body() {
        let mut codec = SyncCodec;
        // Claims 2 KiB (above the 1 KiB request limit) and provides nothing.
        let mut bytes = 2048u32.to_le_bytes().to_vec();
        bytes.push(0);
        let err = block_on(codec.read_request(&protocol(), &mut Cursor::new(bytes))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("exceeds"), "{err}");

        let bytes = u32::MAX.to_le_bytes().to_vec();
        let err = block_on(codec.read_response(&protocol(), &mut Cursor::new(bytes))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn trailing_bytes_and_garbage_are_errors() {
        let mut codec = SyncCodec;
        let mut body = borsh::to_vec(&SyncRequest::Status).unwrap();
        body.push(0xaa);
        let err =
            block_on(codec.read_request(&protocol(), &mut Cursor::new(frame(&body)))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("trailing"), "{err}");

        // unknown enum tag
        let err = block_on(codec.read_request(&protocol(), &mut Cursor::new(frame(&[0x77]))))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);

        // a Headers vector claiming 4 billion entries backed by no data
        let err = block_on(codec.read_response(
            &protocol(),
            &mut Cursor::new(frame(&[1, 0xff, 0xff, 0xff, 0xff])),
        ))
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn writing_an_oversized_frame_is_refused() {
        let mut buf = Vec::new();
        let big = SyncResponse::Error("x".repeat(100));
        let err = block_on(write_frame(&mut buf, &big, 50)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(buf.is_empty());
    }

    #[test]
    fn counts_are_clamped() {
        assert_eq!(
            SyncRequest::HeadersByRange {
                start: 3,
                count: u32::MAX
            }
            .clamped(),
            SyncRequest::HeadersByRange {
                start: 3,
                count: MAX_HEADERS_PER_REQUEST
            }
        );
        assert_eq!(
            SyncRequest::BlocksByRange {
                start: 3,
                count: 1000
            }
            .clamped(),
            SyncRequest::BlocksByRange {
                start: 3,
                count: MAX_BLOCKS_PER_REQUEST
            }
        );
        assert_eq!(
            SyncRequest::BlocksByRange { start: 3, count: 5 }.clamped(),
            SyncRequest::BlocksByRange { start: 3, count: 5 }
        );
    }

    #[test]
    fn oversized_responses_are_cut_or_replaced() {
        let headers: Vec<_> = (0..10).map(header).collect();
        let one = borsh::object_length(&headers[0]).unwrap();
        // room for exactly three headers
        let max = 1 + 4 + 3 * one;
        match fit_response(SyncResponse::Headers(headers.clone()), max) {
            SyncResponse::Headers(h) => assert_eq!(h, headers[..3].to_vec()),
            other => panic!("unexpected {other:?}"),
        }
        // fits: unchanged
        let all = SyncResponse::Headers(headers.clone());
        assert_eq!(fit_response(all.clone(), 1 << 20), all);
        // not even one fits
        assert!(matches!(
            fit_response(SyncResponse::Headers(headers), 10),
            SyncResponse::Error(_)
        ));
        // anything else too large
        assert!(matches!(
            fit_response(SyncResponse::Error("y".repeat(5000)), 100),
            SyncResponse::Error(m) if m.contains("exceeds")
        ));
        // long error messages are cut
        match fit_response(SyncResponse::Error("é".repeat(2000)), 1 << 20) {
            SyncResponse::Error(m) => assert!(m.len() <= MAX_ERROR_MESSAGE_BYTES),
            other => panic!("unexpected {other:?}"),
        }
    }
}
