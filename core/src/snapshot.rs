//! The byte envelope shared by snapshots and messages.
//!
//! Every encoding starts with the 3-byte magic `b"sht"`, a kind byte and a format version
//! byte, followed by a [postcard](https://docs.rs/postcard) body and a CRC-32C (Castagnoli)
//! checksum of everything before it, 4 bytes little-endian. Decoding checks the header, then
//! the checksum ([`DecodeError::Checksum`]: every single-byte corruption, and every burst of
//! up to 32 bits, is caught), decodes the body, then re-validates the machine's invariants,
//! so arbitrary bytes give a [`DecodeError`] and never a panic.
//!
//! The checksum is computed by the [`crc`](https://docs.rs/crc) crate (`CRC_32_ISCSI`, no
//! `std`, no platform code, so it builds for `wasm32-unknown-unknown`), slicing by 16 bytes
//! (a 16 KiB table): a batch of 100 counters (~2 KiB) is checked in well under a
//! microsecond, where the byte-at-a-time table took most of a batch's encoding time.

use crate::error::DecodeError;
use serde::{de::DeserializeOwned, Serialize};

/// The current format version of every encoding.
///
/// Version 2 added the CRC-32C trailer, generation notices, journal rows and the write
/// log's record ids; version 1 encodings are not read.
pub const FORMAT_VERSION: u8 = 2;

const MAGIC: &[u8; 3] = b"sht";
const HEADER: usize = 5;
const TRAILER: usize = 4;
const CRC32C: crc::Crc<u32, crc::Table<16>> = crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);

/// The CRC-32C of `bytes`.
pub(crate) fn checksum(bytes: &[u8]) -> u32 {
    CRC32C.checksum(bytes)
}

/// `bytes` with a correct checksum appended: lets fuzzing reach the body decoders.
#[cfg(feature = "testing")]
pub(crate) fn seal(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out.extend_from_slice(&checksum(bytes).to_le_bytes());
    out
}

/// What an encoding holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    ShardSnapshot = 1,
    GlobalSnapshot = 2,
    RouterSnapshot = 3,
    Batch = 4,
    Ack = 5,
    Notice = 6,
    ShardRow = 7,
    GlobalRow = 8,
    GatewaySnapshot = 9,
    BucketsSnapshot = 10,
    OutboxSnapshot = 11,
    BucketsMeta = 12,
    GatewayRow = 13,
    OutboxRow = 14,
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
            Kind::Notice => "generation notice",
            Kind::ShardRow => "shard journal row",
            Kind::GlobalRow => "global journal row",
            Kind::GatewaySnapshot => "gateway snapshot",
            Kind::BucketsSnapshot => "buckets snapshot",
            Kind::OutboxSnapshot => "outbox snapshot",
            Kind::BucketsMeta => "buckets meta row",
            Kind::GatewayRow => "gateway journal row",
            Kind::OutboxRow => "outbox journal row",
            Kind::MembershipSnapshot => "membership snapshot",
            Kind::MembershipCluster => "membership cluster",
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
    let mut out = match postcard::to_extend(value, out) {
        Ok(v) => v,
        Err(e) => unreachable!("postcard encoding into a Vec failed: {e}"),
    };
    let sum = checksum(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Checks the envelope header and decodes the body.
pub(crate) fn decode<T: DeserializeOwned>(kind: Kind, bytes: &[u8]) -> Result<T, DecodeError> {
    if bytes.len() < 5 || &bytes[..3] != MAGIC || bytes[3] != kind as u8 {
        return Err(DecodeError::WrongKind { expected: kind.name() });
    }
    if bytes[4] != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion { found: bytes[4], supported: FORMAT_VERSION });
    }
    if bytes.len() < HEADER + TRAILER {
        return Err(DecodeError::corrupt("shorter than the envelope"));
    }
    let (signed, trailer) = bytes.split_at(bytes.len() - TRAILER);
    let mut found = [0u8; TRAILER];
    found.copy_from_slice(trailer);
    let (found, expected) = (u32::from_le_bytes(found), checksum(signed));
    if found != expected {
        return Err(DecodeError::Checksum { expected, found });
    }
    let (value, rest) = postcard::take_from_bytes(&signed[HEADER..]).map_err(|e| DecodeError::corrupt(e.to_string()))?;
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
        assert_eq!(&bytes[..5], b"sht\x04\x02");
        let ok: (u32, String) = decode(Kind::Batch, &bytes).unwrap();
        assert_eq!(ok, (1, "x".to_string()));
        assert!(matches!(decode::<(u32, String)>(Kind::Ack, &bytes), Err(DecodeError::WrongKind { .. })));
        let mut v2 = bytes.clone();
        v2[4] = 9;
        assert!(matches!(decode::<(u32, String)>(Kind::Batch, &v2), Err(DecodeError::UnsupportedVersion { found: 9, .. })));
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(decode::<(u32, String)>(Kind::Batch, &long), Err(DecodeError::Checksum { .. })));
        assert!(matches!(decode::<(u32, String)>(Kind::Batch, &bytes[..6]), Err(DecodeError::Corrupt { .. })));
        assert!(matches!(decode::<(u32, String)>(Kind::Batch, &bytes[..9]), Err(DecodeError::Checksum { .. })));
        // A body that is valid postcard but followed by extra bytes, correctly signed.
        let mut padded = bytes[..bytes.len() - 4].to_vec();
        padded.push(0);
        let sum = checksum(&padded);
        padded.extend_from_slice(&sum.to_le_bytes());
        assert!(matches!(decode::<(u32, String)>(Kind::Batch, &padded), Err(DecodeError::Corrupt { .. })));
        assert!(matches!(decode::<(u32, String)>(Kind::Batch, b""), Err(DecodeError::WrongKind { .. })));
    }

    #[test]
    fn the_checksum_is_crc32c() {
        // The standard check value of CRC-32C.
        assert_eq!(checksum(b"123456789"), 0xE306_9283);
    }
}
