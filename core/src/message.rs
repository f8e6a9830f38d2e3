//! Messages between machines: a shard's [`Batch`], the global's [`Ack`] and its
//! [`GenerationNotice`].
//!
//! The host carries them (an RPC, a queue, a function call) but cannot forge their
//! contents: fields are read through getters, and bytes from the wire are turned back into
//! messages with [`Batch::decode`] / [`Ack::decode`] / [`GenerationNotice::decode`], which
//! validate them (every encoding carries a CRC-32C checksum, see [`crate::snapshot`]).

use crate::error::DecodeError;
use crate::snapshot::{self, Kind};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Identifies one life of a shard: its index and the incarnation the host chose when it
/// created the shard with no saved state.
///
/// The global deduplicates batches per `ShardRef`, so a shard that lost its state (and
/// therefore restarts its sequence numbers) can never be mistaken for a duplicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ShardRef {
    /// The shard index.
    pub shard: u32,
    /// The incarnation chosen by the host (a random number, a start time, a counter).
    pub incarnation: u64,
}

impl fmt::Display for ShardRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.shard, self.incarnation)
    }
}

/// Why a batch was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FlushReason {
    /// Pending requests reached `flush_after_requests`.
    Requests,
    /// No increment arrived for `flush_after_idle_ms`.
    Idle,
    /// The oldest pending delta reached `flush_max_age_ms`.
    MaxAge,
    /// The host asked with `flush`.
    Manual,
    /// The shard is draining (it is being retired).
    Drain,
    /// Re-sending an unacknowledged batch after a failure or a timeout.
    Retry,
}

impl FlushReason {
    /// The reason as a stable lower-case string (`"requests"`, `"max_age"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FlushReason::Requests => "requests",
            FlushReason::Idle => "idle",
            FlushReason::MaxAge => "max_age",
            FlushReason::Manual => "manual",
            FlushReason::Drain => "drain",
            FlushReason::Retry => "retry",
        }
    }
}

impl fmt::Display for FlushReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One key's delta in a batch, tagged with the generation the shard knew when it accepted
/// the increments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchEntry {
    pub(crate) key: Arc<str>,
    pub(crate) generation: u64,
    pub(crate) delta: i64,
}

impl BatchEntry {
    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }
    /// The generation the deltas were accepted under (see [`Global::reset`](crate::Global::reset)).
    pub fn generation(&self) -> u64 {
        self.generation
    }
    /// The summed delta.
    pub fn delta(&self) -> i64 {
        self.delta
    }
}

/// A shard's deltas on their way to the global: `(shard, incarnation, seq)`, the entries
/// sorted by key, and why it was sent.
///
/// A batch is re-sent unchanged (same `seq`, same entries) until it is acknowledged, so the
/// global can apply it exactly once. Cloning is cheap (the entries are shared).
#[derive(Clone, Serialize, Deserialize)]
pub struct Batch {
    pub(crate) from: ShardRef,
    pub(crate) seq: u64,
    pub(crate) reason: FlushReason,
    pub(crate) entries: Arc<Vec<BatchEntry>>,
    /// In memory only (never encoded, ignored by `==`): the hashes of the entries' keys, one
    /// per entry, when a shard of this process cut the batch, so a global merging it hashes
    /// no key (see `keys::index`). `None` for a decoded batch.
    #[serde(skip)]
    pub(crate) hashes: Option<Arc<Vec<u32>>>,
}

impl PartialEq for Batch {
    fn eq(&self, other: &Batch) -> bool {
        (self.from, self.seq, self.reason) == (other.from, other.seq, other.reason) && self.entries == other.entries
    }
}

impl Eq for Batch {}

impl fmt::Debug for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("from", &self.from)
            .field("seq", &self.seq)
            .field("reason", &self.reason)
            .field("entries", &self.entries)
            .finish()
    }
}

impl Batch {
    /// The shard life that sent it.
    pub fn from(&self) -> ShardRef {
        self.from
    }
    /// The sequence number (starts at 1 for each incarnation, one per batch).
    pub fn seq(&self) -> u64 {
        self.seq
    }
    /// Why this transmission happened ([`FlushReason::Retry`] for re-sends).
    pub fn reason(&self) -> FlushReason {
        self.reason
    }
    /// The entries, sorted by key, then generation.
    pub fn entries(&self) -> &[BatchEntry] {
        &self.entries
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Whether the batch has no entries (never true for a batch a shard emits).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Encodes the batch for the wire.
    pub fn encode(&self) -> Vec<u8> {
        snapshot::encode(Kind::Batch, self)
    }

    /// The key hashes carried in memory, when they match the entries.
    #[inline]
    pub(crate) fn hashes(&self) -> Option<&[u32]> {
        self.hashes.as_deref().map(Vec::as_slice).filter(|h| h.len() == self.entries.len())
    }

    /// Decodes and validates a batch from the wire.
    pub fn decode(bytes: &[u8]) -> Result<Batch, DecodeError> {
        let batch: Batch = snapshot::decode(Kind::Batch, bytes)?;
        if batch.seq == 0 {
            return Err(DecodeError::corrupt("batch seq 0"));
        }
        check_sorted_entries(&batch.entries)?;
        Ok(batch)
    }
}

/// Entries must be non-empty keys, strictly increasing by (key, generation).
pub(crate) fn check_sorted_entries(entries: &[BatchEntry]) -> Result<(), DecodeError> {
    for (i, e) in entries.iter().enumerate() {
        if e.key.is_empty() {
            return Err(DecodeError::corrupt("empty key"));
        }
        if i > 0 {
            let p = &entries[i - 1];
            if (&*p.key, p.generation) >= (&*e.key, e.generation) {
                return Err(DecodeError::corrupt("entries not sorted by key and generation"));
            }
        }
    }
    Ok(())
}

/// The global's answer to a batch, routed back to the shard that sent it.
///
/// It also carries the global's reset generation, so the shard tags later increments with
/// it, and the keys of the batch whose deltas were dropped because the key was reset, so the
/// shard drops its own stale pending deltas for them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub(crate) to: ShardRef,
    pub(crate) seq: u64,
    pub(crate) duplicate: bool,
    pub(crate) generation: u64,
    pub(crate) stale: Vec<(Arc<str>, u64)>,
}

impl Ack {
    /// The shard life the ack is for.
    pub fn to(&self) -> ShardRef {
        self.to
    }
    /// The acknowledged batch's sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }
    /// The batch had already been applied: this ack applied nothing.
    pub fn is_duplicate(&self) -> bool {
        self.duplicate
    }
    /// The global's current reset generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }
    /// Keys of the batch whose deltas were dropped as older than the key's last reset,
    /// with the key's current generation, sorted by key.
    pub fn stale_keys(&self) -> impl Iterator<Item = (&str, u64)> {
        self.stale.iter().map(|(k, g)| (&**k, *g))
    }

    /// Encodes the ack for the wire.
    pub fn encode(&self) -> Vec<u8> {
        snapshot::encode(Kind::Ack, self)
    }

    /// Decodes and validates an ack from the wire.
    pub fn decode(bytes: &[u8]) -> Result<Ack, DecodeError> {
        let ack: Ack = snapshot::decode(Kind::Ack, bytes)?;
        if ack.seq == 0 {
            return Err(DecodeError::corrupt("ack seq 0"));
        }
        check_stale(&ack.stale, ack.generation)?;
        Ok(ack)
    }
}

/// Stale keys must be non-empty, strictly increasing, with generations the global has reached.
fn check_stale(stale: &[(Arc<str>, u64)], generation: u64) -> Result<(), DecodeError> {
    if stale.windows(2).any(|w| w[0].0 >= w[1].0) || stale.iter().any(|(k, g)| k.is_empty() || *g > generation) {
        return Err(DecodeError::corrupt("stale keys not sorted"));
    }
    Ok(())
}

/// A reset, announced by the global to a shard at once (not only with its next ack).
///
/// [`Global::reset`](crate::Global::reset) emits one for every shard it knows, as
/// [`GlobalOutput::Notice`](crate::GlobalOutput::Notice); the host delivers it to
/// [`Shard::handle_generation_notice`](crate::Shard::handle_generation_notice) (or, in a
/// tree, to the mid-level global owning that upstream shard,
/// [`Global::handle_generation_notice`](crate::Global::handle_generation_notice)). The shard
/// drops its pending deltas of the reset key and tags new increments with the new generation,
/// so increments it accepts after learning count, and none it accepted before do.
///
/// Learning a notice is always safe, so a notice may be delivered late, twice, or to a shard
/// the global never heard from (see [`Global::generation_notice`](crate::Global::generation_notice));
/// a lost notice only delays learning until the shard's next acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationNotice {
    pub(crate) to: ShardRef,
    pub(crate) generation: u64,
    pub(crate) stale: Vec<(Arc<str>, u64)>,
}

impl GenerationNotice {
    /// The shard life the notice is addressed to (a routing hint: any shard may learn it).
    pub fn to(&self) -> ShardRef {
        self.to
    }
    /// The global's reset generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }
    /// The reset keys with their new generation, sorted by key.
    pub fn keys(&self) -> impl Iterator<Item = (&str, u64)> {
        self.stale.iter().map(|(k, g)| (&**k, *g))
    }
    /// The same notice addressed to another shard.
    #[must_use]
    pub fn readdressed(&self, to: ShardRef) -> GenerationNotice {
        GenerationNotice { to, ..self.clone() }
    }

    /// Encodes the notice for the wire.
    pub fn encode(&self) -> Vec<u8> {
        snapshot::encode(Kind::Notice, self)
    }

    /// Decodes and validates a notice from the wire.
    pub fn decode(bytes: &[u8]) -> Result<GenerationNotice, DecodeError> {
        let notice: GenerationNotice = snapshot::decode(Kind::Notice, bytes)?;
        check_stale(&notice.stale, notice.generation)?;
        Ok(notice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(entries: Vec<BatchEntry>) -> Batch {
        Batch { from: ShardRef { shard: 1, incarnation: 2 }, seq: 3, reason: FlushReason::Idle, entries: Arc::new(entries), hashes: None }
    }

    fn entry(k: &str, g: u64, d: i64) -> BatchEntry {
        BatchEntry { key: k.into(), generation: g, delta: d }
    }

    #[test]
    fn batch_round_trips() {
        let b = batch(vec![entry("a", 0, 1), entry("a", 1, 2), entry("b", 0, -4)]);
        assert_eq!(Batch::decode(&b.encode()).unwrap(), b);
    }

    #[test]
    fn key_hashes_stay_in_memory() {
        let plain = batch(vec![entry("a", 0, 1), entry("b", 0, 2)]);
        let hashed = Batch { hashes: Some(Arc::new(vec![crate::keys::hash_of("a"), crate::keys::hash_of("b")])), ..plain.clone() };
        assert_eq!(hashed.encode(), plain.encode(), "the wire bytes do not carry them");
        assert_eq!(format!("{hashed:?}"), format!("{plain:?}"));
        assert_eq!(hashed, plain);
        assert!(hashed.hashes().is_some() && Batch::decode(&hashed.encode()).unwrap().hashes().is_none());
        let wrong = Batch { hashes: Some(Arc::new(vec![1])), ..plain };
        assert!(wrong.hashes().is_none(), "hashes that do not match the entries are ignored");
    }

    #[test]
    fn unsorted_or_empty_keys_are_rejected() {
        let b = batch(vec![entry("b", 0, 1), entry("a", 0, 2)]);
        assert!(Batch::decode(&b.encode()).is_err());
        let b = batch(vec![entry("a", 0, 1), entry("a", 0, 2)]);
        assert!(Batch::decode(&b.encode()).is_err());
        let b = batch(vec![entry("", 0, 1)]);
        assert!(Batch::decode(&b.encode()).is_err());
    }

    #[test]
    fn ack_round_trips() {
        let a = Ack { to: ShardRef { shard: 0, incarnation: 9 }, seq: 4, duplicate: false, generation: 2, stale: vec![("x".into(), 2)] };
        let back = Ack::decode(&a.encode()).unwrap();
        assert_eq!(back, a);
        assert_eq!(back.stale_keys().collect::<Vec<_>>(), vec![("x", 2)]);
        assert!(Ack::decode(&a.encode()[..7]).is_err());
    }

    #[test]
    fn notice_round_trips_and_is_validated() {
        let n = GenerationNotice { to: ShardRef { shard: 3, incarnation: 1 }, generation: 4, stale: vec![("x".into(), 4)] };
        assert_eq!(GenerationNotice::decode(&n.encode()).unwrap(), n);
        assert_eq!(n.readdressed(ShardRef { shard: 5, incarnation: 2 }).to().shard, 5);
        let future = GenerationNotice { stale: vec![("x".into(), 5)], ..n.clone() };
        assert!(GenerationNotice::decode(&future.encode()).is_err());
        assert!(Ack::decode(&n.encode()).is_err(), "kinds are not interchangeable");
    }
}
