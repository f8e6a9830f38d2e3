//! Errors, split by phase: building a configuration ([`ConfigError`]), feeding inputs to a
//! machine ([`Error`]) and decoding snapshots or messages ([`DecodeError`]).
//!
//! Every variant carries the offending values, and every error has a stable
//! machine-readable [`code`](Error::code) that the bindings expose unchanged
//! (`err.code` in JavaScript, `exc.code` in Python).
//!
//! A rejected input leaves the machine exactly as it was: inputs are validated completely
//! before anything changes.

use crate::message::ShardRef;
use crate::time::Timestamp;

/// A configuration was rejected by its builder's `build()`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A setting that must be positive was zero.
    #[error("{field} must be greater than zero")]
    Zero {
        /// The setting's name, as in the builder.
        field: &'static str,
    },
    /// The first retry delay is longer than the largest one.
    #[error("retry_initial_ms ({initial_ms}) must not exceed retry_max_ms ({max_ms})")]
    BackoffRange {
        /// The configured first delay.
        initial_ms: u64,
        /// The configured largest delay.
        max_ms: u64,
    },
    /// A setting is above its allowed maximum.
    #[error("{field} is {value}, at most {max} is allowed")]
    TooLarge {
        /// The setting's name, as in the builder.
        field: &'static str,
        /// The configured value.
        value: u64,
        /// The largest allowed value.
        max: u64,
    },
    /// A pinned router targets a shard outside the shard count.
    #[error("pinned shard {shard} is not below the shard count {shard_count}")]
    PinnedOutOfRange {
        /// The pinned shard.
        shard: u32,
        /// The configured shard count.
        shard_count: u32,
    },
    /// No setting has this name (a typo must not silently keep a default).
    #[error("unknown setting {name:?}{}", suggestion.as_ref().map(|s| format!(" (did you mean {s:?}?)")).unwrap_or_default())]
    UnknownSetting {
        /// The name given.
        name: String,
        /// The closest valid name, if one is close.
        suggestion: Option<String>,
    },
    /// A setting was given a value of the wrong type or outside its type's range.
    #[error("{field} must be {expected}, got {value}")]
    InvalidSetting {
        /// The setting's name, as in the builder.
        field: &'static str,
        /// What the value must be.
        expected: String,
        /// The value given, rendered.
        value: String,
    },
    /// A required setting (a shard's identity) is missing.
    #[error("{field} is required")]
    MissingSetting {
        /// The setting's name.
        field: &'static str,
    },
}

impl ConfigError {
    /// A stable, machine-readable code (`"CONFIG_ZERO"`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::Zero { .. } => "CONFIG_ZERO",
            ConfigError::BackoffRange { .. } => "CONFIG_BACKOFF_RANGE",
            ConfigError::TooLarge { .. } => "CONFIG_TOO_LARGE",
            ConfigError::PinnedOutOfRange { .. } => "CONFIG_PINNED_OUT_OF_RANGE",
            ConfigError::UnknownSetting { .. } => "CONFIG_UNKNOWN_SETTING",
            ConfigError::InvalidSetting { .. } => "CONFIG_INVALID_VALUE",
            ConfigError::MissingSetting { .. } => "CONFIG_MISSING",
        }
    }
}

/// An input was rejected; the machine is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key was the empty string.
    #[error("key must not be empty")]
    EmptyKey,
    /// A key is longer than `max_key_bytes`.
    #[error("key is {len} bytes, at most {max} are allowed")]
    KeyTooLong {
        /// The key's length in bytes.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// Adding `delta` to `current` would overflow a signed 64-bit integer.
    #[error("adding {delta} to {current} for key {key:?} overflows a 64-bit counter")]
    Overflow {
        /// The key whose count would overflow.
        key: String,
        /// The pending delta or total the increment was added to.
        current: i64,
        /// The rejected delta.
        delta: i64,
    },
    /// Accepting the input would exceed a table's bound.
    #[error("{table} is full ({limit} entries)")]
    TableFull {
        /// Which table: `"pending keys"`, `"interned keys"`, `"totals"`.
        table: &'static str,
        /// The configured bound.
        limit: usize,
    },
    /// A key id that this shard never issued.
    #[error("key id {id} was not issued by this shard")]
    UnknownKeyId {
        /// The unknown id.
        id: u32,
    },
    /// A message meant for another shard (or another incarnation of it) was delivered here.
    #[error("message for shard {got} delivered to shard {expected}")]
    WrongShard {
        /// This shard.
        expected: ShardRef,
        /// The shard the message names.
        got: ShardRef,
    },
    /// A shard count of zero, or a shard index outside the count.
    #[error("shard {shard} is not below the shard count {shard_count}")]
    ShardOutOfRange {
        /// The requested shard (or count).
        shard: u32,
        /// The shard count in force.
        shard_count: u32,
    },
    /// Two inputs that must have the same length do not.
    #[error("{what}: {left} and {right} items do not match")]
    LengthMismatch {
        /// What was being matched (`"keys and deltas"`).
        what: &'static str,
        /// Length of the first sequence.
        left: usize,
        /// Length of the second sequence.
        right: usize,
    },
    /// This global has no upstream shard (tiered aggregation was not configured).
    #[error("this global has no upstream")]
    NoUpstream,
    /// A query matched nothing.
    #[error("no {what} for {query}")]
    NotFound {
        /// What was looked for (`"daily totals"`, ...).
        what: &'static str,
        /// The query, rendered (`"2022-10-17..=2022-10-17"`).
        query: String,
    },
    /// An argument is missing, malformed or out of range (the same code as a binding's
    /// argument errors).
    #[error("{argument} must be {expected}, got {value:?}")]
    InvalidArgument {
        /// Which argument (`"day"`, `"range"`, `"event time"`, ...).
        argument: &'static str,
        /// What it must be.
        expected: &'static str,
        /// The value given, rendered.
        value: String,
    },
    /// An id (a cluster, holder, group, replica, connection or request id) was the empty
    /// string.
    #[error("{what} must not be empty")]
    EmptyId {
        /// Which id: `"cluster id"`, `"holder id"`, `"group"`, `"replica id"`,
        /// `"connection id"`, `"request id"`.
        what: &'static str,
    },
    /// An id is longer than `max_id_bytes`.
    #[error("{what} is {len} bytes, at most {max} are allowed")]
    IdTooLong {
        /// Which id (as for [`Error::EmptyId`]).
        what: &'static str,
        /// The id's length in bytes.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// No cluster has this name.
    #[error("unknown cluster {cluster:?}")]
    UnknownCluster {
        /// The name given.
        cluster: String,
    },
    /// The holder is not registered in the cluster (never was, unregistered, or removed by a
    /// reshard after it expired): register it again.
    #[error("holder {holder:?} is not registered in cluster {cluster:?}")]
    UnknownHolder {
        /// The cluster.
        cluster: String,
        /// The holder.
        holder: String,
    },
    /// The holder missed its deadline: it holds no shard and must register again.
    #[error("holder {holder:?} of cluster {cluster:?} expired at {expired_at}")]
    HolderExpired {
        /// The cluster.
        cluster: String,
        /// The holder.
        holder: String,
        /// Its deadline: last heartbeat + heartbeat interval + grace period.
        expired_at: Timestamp,
    },
    /// The holder is registered but has no shard yet (it gets one at the next reshard).
    #[error("holder {holder:?} of cluster {cluster:?} has no shard assigned")]
    NotAssigned {
        /// The cluster.
        cluster: String,
        /// The holder.
        holder: String,
    },
    /// Only a cluster without live holders can be removed.
    #[error("cluster {cluster:?} still has {holders} live holders")]
    ClusterNotEmpty {
        /// The cluster.
        cluster: String,
        /// Its live holders.
        holders: usize,
    },
    /// An input names a group other than the gateway's.
    #[error("input for group {got:?} delivered to group {expected:?}")]
    WrongGroup {
        /// The gateway's group.
        expected: String,
        /// The group the input names.
        got: String,
    },
    /// A replica the gateway does not know (never created or reported, or retired).
    #[error("unknown replica {replica:?}")]
    UnknownReplica {
        /// The replica id given.
        replica: String,
    },
    /// A new replica's id is already a replica's.
    #[error("replica {replica:?} already exists")]
    DuplicateReplica {
        /// The replica id given.
        replica: String,
    },
    /// A creation id this gateway never issued.
    #[error("creation {creation} was not issued by this gateway")]
    UnknownCreation {
        /// The raw creation id.
        creation: u64,
    },
    /// A connection without a reservation found its replica full.
    #[error("replica {replica:?} is full ({limit} connections)")]
    ReplicaFull {
        /// The replica.
        replica: String,
        /// The configured limit.
        limit: u32,
    },
    /// A message's sender is not a connection open on the replica it names.
    #[error("connection {connection:?} is not open on replica {replica:?}")]
    UnknownConnection {
        /// The replica.
        replica: String,
        /// The connection id given.
        connection: String,
    },
    /// A connection id is already open on the replica for another request id, or is listed
    /// twice in a report.
    #[error("connection {connection:?} is already open on replica {replica:?}")]
    DuplicateConnection {
        /// The replica.
        replica: String,
        /// The connection id given.
        connection: String,
    },
    /// A payload is larger than its configured bound.
    #[error("payload is {len} bytes, at most {max} are allowed")]
    PayloadTooLarge {
        /// Its length in bytes.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
}

impl Error {
    /// Whether this error from [`Global::handle_batch`](crate::Global::handle_batch) means
    /// the batch can never be applied as it is — a key longer than the global's bound, a total
    /// that would overflow, or the global's key table full — so the host should report it to
    /// the shard with [`Shard::handle_rejection`](crate::Shard::handle_rejection) rather than as
    /// a failure to retry. Other errors (an upstream shard's full pending table in a tiered
    /// global) are transient: report them with `handle_failure`. (An upstream shard's pending
    /// delta overflowing also reads as `Overflow`; it needs a sum near 2^63.)
    pub fn rejects_batch(&self) -> bool {
        matches!(self, Error::KeyTooLong { .. } | Error::Overflow { .. } | Error::TableFull { table: "totals", .. })
    }

    /// A stable, machine-readable code (`"EMPTY_KEY"`, `"OVERFLOW"`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Error::EmptyKey => "EMPTY_KEY",
            Error::KeyTooLong { .. } => "KEY_TOO_LONG",
            Error::Overflow { .. } => "OVERFLOW",
            Error::TableFull { .. } => "TABLE_FULL",
            Error::UnknownKeyId { .. } => "UNKNOWN_KEY_ID",
            Error::WrongShard { .. } => "WRONG_SHARD",
            Error::ShardOutOfRange { .. } => "SHARD_OUT_OF_RANGE",
            Error::LengthMismatch { .. } => "LENGTH_MISMATCH",
            Error::NoUpstream => "NO_UPSTREAM",
            Error::NotFound { .. } => "NOT_FOUND",
            Error::InvalidArgument { .. } => "INVALID_ARGUMENT",
            Error::EmptyId { .. } => "EMPTY_ID",
            Error::IdTooLong { .. } => "ID_TOO_LONG",
            Error::UnknownCluster { .. } => "UNKNOWN_CLUSTER",
            Error::UnknownHolder { .. } => "UNKNOWN_HOLDER",
            Error::HolderExpired { .. } => "HOLDER_EXPIRED",
            Error::NotAssigned { .. } => "NOT_ASSIGNED",
            Error::ClusterNotEmpty { .. } => "CLUSTER_NOT_EMPTY",
            Error::WrongGroup { .. } => "WRONG_GROUP",
            Error::UnknownReplica { .. } => "UNKNOWN_REPLICA",
            Error::DuplicateReplica { .. } => "DUPLICATE_REPLICA",
            Error::UnknownCreation { .. } => "UNKNOWN_CREATION",
            Error::ReplicaFull { .. } => "REPLICA_FULL",
            Error::UnknownConnection { .. } => "UNKNOWN_CONNECTION",
            Error::DuplicateConnection { .. } => "DUPLICATE_CONNECTION",
            Error::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
        }
    }
}

/// Bytes could not be decoded as a snapshot or message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes do not start with shardtally's magic and the expected kind.
    #[error("not a shardtally {expected} encoding")]
    WrongKind {
        /// The kind that was expected (`"shard snapshot"`, `"batch"`, ...).
        expected: &'static str,
    },
    /// The format version is not one this build reads.
    #[error("format version {found} is not supported (this build reads version {supported})")]
    UnsupportedVersion {
        /// The version in the bytes.
        found: u8,
        /// The version this build reads.
        supported: u8,
    },
    /// The checksum does not match the bytes: they were corrupted (in storage or in transit).
    #[error("checksum mismatch: computed {expected:#010x}, stored {found:#010x}")]
    Checksum {
        /// The CRC-32C computed over the bytes.
        expected: u32,
        /// The CRC-32C stored in the bytes.
        found: u32,
    },
    /// The body is truncated, malformed or violates an invariant.
    #[error("corrupt encoding: {reason}")]
    Corrupt {
        /// What was wrong.
        reason: String,
    },
}

impl DecodeError {
    /// A stable, machine-readable code (`"DECODE_WRONG_KIND"`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::WrongKind { .. } => "DECODE_WRONG_KIND",
            DecodeError::UnsupportedVersion { .. } => "DECODE_UNSUPPORTED_VERSION",
            DecodeError::Checksum { .. } => "DECODE_CHECKSUM",
            DecodeError::Corrupt { .. } => "DECODE_CORRUPT",
        }
    }

    pub(crate) fn corrupt(reason: impl Into<String>) -> Self {
        DecodeError::Corrupt { reason: reason.into() }
    }
}
