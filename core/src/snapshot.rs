//! The byte envelope shared by snapshots and messages.
//!
//! Every encoding starts with the 3-byte magic `b"sht"`, a kind byte and a format version
//! byte, followed by a [postcard](https://docs.rs/postcard) body. Decoding checks all five
//! bytes, decodes the body, then re-validates the machine's invariants, so arbitrary bytes
//! give a [`DecodeError`] and never a panic.

use crate::error::DecodeError;
use serde::{de::DeserializeOwned, Serialize};

/// The current format version of every encoding.
pub const FORMAT_VERSION: u8 = 1;

const MAGIC: &[u8; 3] = b"sht";

/// What an encoding holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    ShardSnapshot = 1,
    GlobalSnapshot = 2,
    RouterSnapshot = 3,
    Batch = 4,
    Ack = 5,
    GatewaySnapshot = 6,
    BucketsSnapshot = 10,
    OutboxSnapshot = 11,
    MembershipSnapshot = 16,
    MembershipCluster = 17,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::ShardSnapshot => "shard snapshot",
            Kind::GlobalSnapshot => "global snapshot",
            Kind::RouterSnapshot => "router snapshot",
            Kind::Batch => "batch",
            Kind::Ack => "ack",
            Kind::BucketsSnapshot => "buckets snapshot",
            Kind::OutboxSnapshot => "outbox snapshot",
            Kind::MembershipSnapshot => "membership snapshot",
            Kind::MembershipCluster => "membership cluster",
            Kind::GatewaySnapshot => "gateway snapshot",
        }
    }
}

/// Encodes `value` behind the envelope header.
pub(crate) fn encode<T: Serialize>(kind: Kind, value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(MAGIC);
    out.push(kind as u8);
    out.push(FORMAT_VERSION);
    // Serializing plain data into a Vec cannot fail: postcard only errors on unsupported
    // serde features (none are used) or a full fixed buffer (we grow).
    match postcard::to_extend(value, out) {
        Ok(v) => v,
        Err(e) => unreachable!("postcard encoding into a Vec failed: {e}"),
    }
}

/// Checks the envelope header and decodes the body.
pub(crate) fn decode<T: DeserializeOwned>(kind: Kind, bytes: &[u8]) -> Result<T, DecodeError> {
    if bytes.len() < 5 || &bytes[..3] != MAGIC || bytes[3] != kind as u8 {
        return Err(DecodeError::WrongKind { expected: kind.name() });
    }
    if bytes[4] != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion { found: bytes[4], supported: FORMAT_VERSION });
    }
    let (value, rest) = postcard::take_from_bytes(&bytes[5..]).map_err(|e| DecodeError::corrupt(e.to_string()))?;
    if !rest.is_empty() {
        return Err(DecodeError::corrupt(format!("{} trailing bytes", rest.len())));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_checked() {
        let bytes = encode(Kind::Batch, &(1u32, "x".to_string()));
        assert_eq!(&bytes[..5], b"sht\x04\x01");
        let ok: (u32, String) = decode(Kind::Batch, &bytes).unwrap();
        assert_eq!(ok, (1, "x".to_string()));
        assert!(matches!(decode::<(u32, String)>(Kind::Ack, &bytes), Err(DecodeError::WrongKind { .. })));
        let mut v2 = bytes.clone();
        v2[4] = 9;
        assert!(matches!(decode::<(u32, String)>(Kind::Batch, &v2), Err(DecodeError::UnsupportedVersion { found: 9, .. })));
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(decode::<(u32, String)>(Kind::Batch, &long), Err(DecodeError::Corrupt { .. })));
        assert!(matches!(decode::<(u32, String)>(Kind::Batch, &bytes[..6]), Err(DecodeError::Corrupt { .. })));
        assert!(matches!(decode::<(u32, String)>(Kind::Batch, b""), Err(DecodeError::WrongKind { .. })));
    }
}
