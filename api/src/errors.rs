//! Every error as `(code, message, fields)`, plus the errors bindings raise while reading
//! arguments ([`ArgError`]), and the table of every code ([`ERRORS`]) that the bindings'
//! exception classes and typings are checked against.

use crate::naming::Naming;
use crate::value::{Record, Value};
use crate::views;
use shardtally::{ConfigError, DecodeError, Error};

/// Which family an error belongs to (a Python base class; the JS `code` prefix says it too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// A setting was rejected when a machine was created (Python: also a `ValueError`).
    Config,
    /// An input was rejected; the machine is unchanged.
    Input,
    /// An argument had the wrong type or value for the binding to pass it on.
    Argument,
    /// Bytes are not a valid snapshot or message (Python: also a `ValueError`).
    Decode,
}

/// An error as a binding throws it.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorView {
    /// The stable code (`"KEY_TOO_LONG"`).
    pub code: &'static str,
    /// The family.
    pub family: Family,
    /// The human-readable message, with setting names in the binding's naming.
    pub message: String,
    /// The offending values, snake_case names in declaration order.
    pub fields: Vec<(&'static str, Value)>,
    /// Core's verdict for an error of `Global::handle_batch`: the batch can never be applied.
    pub rejects_batch: bool,
}

/// Errors raised by bindings while converting arguments, before anything reaches a machine.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArgError {
    /// A time that is not an integer number of milliseconds in range.
    InvalidTime {
        /// The value given, rendered.
        value: String,
    },
    /// A delta that is not a signed 64-bit integer.
    InvalidDelta {
        /// The value given, rendered.
        value: String,
    },
    /// A key that is not a well-formed string (a lone surrogate is not UTF-8).
    InvalidKey {
        /// The argument's name.
        argument: &'static str,
    },
    /// Any other argument of the wrong type or out of range.
    InvalidArgument {
        /// The argument's name.
        argument: String,
        /// What it must be.
        expected: String,
        /// The value given, rendered.
        value: String,
    },
}

impl ArgError {
    /// An [`ArgError::InvalidArgument`].
    pub fn invalid(argument: impl Into<String>, expected: impl Into<String>, value: impl ToString) -> ArgError {
        ArgError::InvalidArgument { argument: argument.into(), expected: expected.into(), value: value.to_string() }
    }
}

impl std::fmt::Display for ArgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArgError::InvalidTime { value } => {
                write!(f, "time must be an integer number of milliseconds in 0..=9007199254740991, got {value}")
            }
            ArgError::InvalidDelta { value } => write!(f, "delta must be an integer in the signed 64-bit range, got {value}"),
            ArgError::InvalidKey { argument } => write!(f, "{argument} must be a well-formed string (no lone surrogates)"),
            ArgError::InvalidArgument { argument, expected, value } => write!(f, "{argument} must be {expected}, got {value}"),
        }
    }
}

impl std::error::Error for ArgError {}

/// One error code of the public surface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorInfo {
    /// The stable code.
    pub code: &'static str,
    /// Its family.
    pub family: Family,
    /// The Python exception class.
    pub python: &'static str,
    /// Python built-in exceptions the class also derives from (besides its family's base).
    pub python_also: &'static [&'static str],
    /// Its fields (snake_case).
    pub fields: &'static [&'static str],
    /// What it means.
    pub doc: &'static str,
}

macro_rules! errors {
    ($( $code:literal $family:ident $python:ident [$($also:ident),*] [$($field:ident),*] $doc:literal; )*) => {
        /// Every error code, grouped by family.
        pub const ERRORS: &[ErrorInfo] = &[$(
            ErrorInfo {
                code: $code,
                family: Family::$family,
                python: stringify!($python),
                python_also: &[$(stringify!($also)),*],
                fields: &[$(stringify!($field)),*],
                doc: $doc,
            },
        )*];
    };
}

errors! {
    "CONFIG_ZERO" Config ConfigZeroError [] [field] "A setting that must be positive was zero.";
    "CONFIG_BACKOFF_RANGE" Config ConfigBackoffRangeError [] [initial_ms, max_ms] "`retry_initial_ms` is larger than `retry_max_ms`.";
    "CONFIG_TOO_LARGE" Config ConfigTooLargeError [] [field, value, max] "A setting is above its allowed maximum.";
    "CONFIG_PINNED_OUT_OF_RANGE" Config ConfigPinnedOutOfRangeError [] [shard, shard_count] "A pinned router's shard is not below its shard count.";
    "CONFIG_UNKNOWN_SETTING" Config UnknownSettingError [] [setting, suggestion] "No setting has this name; `suggestion` is the closest one, if any.";
    "CONFIG_INVALID_VALUE" Config InvalidConfigError [TypeError] [field, expected, value] "A setting has a value of the wrong type or outside its range.";
    "CONFIG_MISSING" Config MissingSettingError [TypeError] [field] "A required setting is missing.";
    "EMPTY_KEY" Input EmptyKeyError [ValueError] [] "A key was the empty string.";
    "KEY_TOO_LONG" Input KeyTooLongError [ValueError] [len, max] "A key is longer than `max_key_bytes` UTF-8 bytes.";
    "OVERFLOW" Input CounterOverflowError [OverflowError] [key, current, delta] "Adding `delta` to `current` would overflow a signed 64-bit counter.";
    "TABLE_FULL" Input TableFullError [] [table, limit] "Accepting the input would exceed a table's bound.";
    "UNKNOWN_KEY_ID" Input UnknownKeyIdError [LookupError] [id] "A key id this shard never issued.";
    "WRONG_SHARD" Input WrongShardError [ValueError] [expected, got] "A message for another shard (or another incarnation of it).";
    "SHARD_OUT_OF_RANGE" Input ShardOutOfRangeError [ValueError] [shard, shard_count] "A shard count of zero, or a shard outside the count.";
    "LENGTH_MISMATCH" Input LengthMismatchError [ValueError] [what, left, right] "Two inputs that must have the same length do not.";
    "NO_UPSTREAM" Input NoUpstreamError [] [] "This global has no upstream (tiered aggregation was not configured).";
    "NOT_FOUND" Input NotFoundError [LookupError] [what, query] "A query matched nothing.";
    "EMPTY_ID" Input EmptyIdError [ValueError] [what] "An id (cluster, holder, group, replica, connection or request id) was the empty string.";
    "ID_TOO_LONG" Input IdTooLongError [ValueError] [what, len, max] "An id is longer than `max_id_bytes`.";
    "UNKNOWN_CLUSTER" Input UnknownClusterError [LookupError] [cluster] "No cluster has this name.";
    "UNKNOWN_HOLDER" Input UnknownHolderError [LookupError] [cluster, holder] "The holder is not registered in the cluster: register it again.";
    "HOLDER_EXPIRED" Input HolderExpiredError [] [cluster, holder, expired_at] "The holder missed its deadline: it holds no shard and must register again.";
    "NOT_ASSIGNED" Input NotAssignedError [] [cluster, holder] "The holder has no shard yet (it gets one at the next reshard).";
    "CLUSTER_NOT_EMPTY" Input ClusterNotEmptyError [] [cluster, holders] "Only a cluster without live holders can be removed.";
    "WRONG_GROUP" Input WrongGroupError [ValueError] [expected, got] "An input names a group other than the gateway's.";
    "UNKNOWN_REPLICA" Input UnknownReplicaError [LookupError] [replica] "A replica the gateway does not know (never created or reported, or retired).";
    "DUPLICATE_REPLICA" Input DuplicateReplicaError [ValueError] [replica] "A new replica's id is already a replica's.";
    "UNKNOWN_CREATION" Input UnknownCreationError [LookupError] [creation] "A creation id this gateway never issued.";
    "REPLICA_FULL" Input ReplicaFullError [] [replica, limit] "A connection without a reservation found its replica full.";
    "UNKNOWN_CONNECTION" Input UnknownConnectionError [LookupError] [replica, connection] "A message's sender is not a connection open on the replica it names.";
    "DUPLICATE_CONNECTION" Input DuplicateConnectionError [ValueError] [replica, connection] "A connection id is already open on the replica.";
    "PAYLOAD_TOO_LARGE" Input PayloadTooLargeError [ValueError] [len, max] "A payload is larger than its configured bound.";
    "INVALID_ARGUMENT" Argument InvalidArgumentError [TypeError, ValueError] [argument, expected, value] "An argument has the wrong type or value.";
    "INVALID_TIME" Argument InvalidTimeError [TypeError, ValueError] [value] "A time that is not an integer number of milliseconds in range.";
    "INVALID_DELTA" Argument InvalidDeltaError [TypeError, ValueError] [value] "A delta that is not a signed 64-bit integer.";
    "INVALID_KEY" Argument InvalidKeyError [TypeError, ValueError] [argument] "A key that is not a well-formed string (a lone surrogate is not UTF-8).";
    "DECODE_WRONG_KIND" Decode WrongKindError [] [expected] "The bytes are not an encoding of the expected kind.";
    "DECODE_UNSUPPORTED_VERSION" Decode UnsupportedVersionError [] [found, supported] "The encoding's format version is not one this build reads.";
    "DECODE_CHECKSUM" Decode ChecksumError [] [expected, found] "The encoding's checksum does not match its bytes (they were corrupted).";
    "DECODE_CORRUPT" Decode CorruptError [] [reason] "The encoding is truncated, malformed or violates an invariant.";
}

/// The table entry of a code.
pub fn info(code: &str) -> Option<&'static ErrorInfo> {
    ERRORS.iter().find(|e| e.code == code)
}

impl ErrorView {
    fn new(code: &'static str, message: String, fields: Vec<(&'static str, Value)>) -> ErrorView {
        let family = info(code).map_or(Family::Input, |i| i.family);
        ErrorView { code, family, message, fields, rejects_batch: false }
    }

    /// A machine's runtime error.
    pub fn input(e: &Error) -> ErrorView {
        let fields: Vec<(&'static str, Value)> = match e {
            Error::KeyTooLong { len, max } => vec![("len", (*len).into()), ("max", (*max).into())],
            Error::Overflow { key, current, delta } => {
                vec![("key", key.as_str().into()), ("current", (*current).into()), ("delta", (*delta).into())]
            }
            Error::TableFull { table, limit } => vec![("table", (*table).into()), ("limit", (*limit).into())],
            Error::UnknownKeyId { id } => vec![("id", (*id).into())],
            Error::WrongShard { expected, got } => {
                vec![("expected", views::shard_ref(*expected).into()), ("got", views::shard_ref(*got).into())]
            }
            Error::ShardOutOfRange { shard, shard_count } => vec![("shard", (*shard).into()), ("shard_count", (*shard_count).into())],
            Error::LengthMismatch { what, left, right } => {
                vec![("what", (*what).into()), ("left", (*left).into()), ("right", (*right).into())]
            }
            Error::NotFound { what, query } => vec![("what", (*what).into()), ("query", query.as_str().into())],
            Error::InvalidArgument { argument, expected, value } => {
                vec![("argument", (*argument).into()), ("expected", (*expected).into()), ("value", value.as_str().into())]
            }
            Error::EmptyId { what } => vec![("what", (*what).into())],
            Error::IdTooLong { what, len, max } => vec![("what", (*what).into()), ("len", (*len).into()), ("max", (*max).into())],
            Error::PayloadTooLarge { len, max } => vec![("len", (*len).into()), ("max", (*max).into())],
            Error::UnknownCluster { cluster } => vec![("cluster", cluster.as_str().into())],
            Error::UnknownHolder { cluster, holder } | Error::NotAssigned { cluster, holder } => {
                vec![("cluster", cluster.as_str().into()), ("holder", holder.as_str().into())]
            }
            Error::HolderExpired { cluster, holder, expired_at } => vec![
                ("cluster", cluster.as_str().into()),
                ("holder", holder.as_str().into()),
                ("expired_at", expired_at.as_millis().into()),
            ],
            Error::ClusterNotEmpty { cluster, holders } => vec![("cluster", cluster.as_str().into()), ("holders", (*holders).into())],
            Error::WrongGroup { expected, got } => vec![("expected", expected.as_str().into()), ("got", got.as_str().into())],
            Error::UnknownReplica { replica } | Error::DuplicateReplica { replica } => vec![("replica", replica.as_str().into())],
            Error::UnknownCreation { creation } => vec![("creation", (*creation).into())],
            Error::ReplicaFull { replica, limit } => vec![("replica", replica.as_str().into()), ("limit", (*limit).into())],
            Error::UnknownConnection { replica, connection } | Error::DuplicateConnection { replica, connection } => {
                vec![("replica", replica.as_str().into()), ("connection", connection.as_str().into())]
            }
            _ => Vec::new(),
        };
        ErrorView { rejects_batch: e.rejects_batch(), ..ErrorView::new(e.code(), e.to_string(), fields) }
    }

    /// A configuration error, with setting names rendered in `naming` (fields and message).
    pub fn config(e: &ConfigError, naming: Naming) -> ErrorView {
        let name = |n: &str| Value::from(naming.render(n).as_str());
        let fields = match e {
            ConfigError::Zero { field } => vec![("field", name(field))],
            ConfigError::BackoffRange { initial_ms, max_ms } => vec![("initial_ms", (*initial_ms).into()), ("max_ms", (*max_ms).into())],
            ConfigError::TooLarge { field, value, max } => vec![("field", name(field)), ("value", (*value).into()), ("max", (*max).into())],
            ConfigError::PinnedOutOfRange { shard, shard_count } => {
                vec![("shard", (*shard).into()), ("shard_count", (*shard_count).into())]
            }
            ConfigError::UnknownSetting { name: given, suggestion } => {
                // `setting`, not `name`: JS errors have a `name` of their own.
                vec![("setting", given.as_str().into()), ("suggestion", suggestion.as_deref().map(Value::from).unwrap_or(Value::Null))]
            }
            ConfigError::InvalidSetting { field, expected, value } => {
                vec![("field", name(field)), ("expected", expected.as_str().into()), ("value", value.as_str().into())]
            }
            ConfigError::MissingSetting { field } => vec![("field", name(field))],
            _ => Vec::new(),
        };
        let mut message = e.to_string();
        if naming == Naming::Camel {
            // Core's messages name settings in snake_case; show the caller's names.
            for snake in config_names(e) {
                message = message.replace(snake, &naming.render(snake));
            }
        }
        ErrorView::new(e.code(), message, fields)
    }

    /// A decoding error.
    pub fn decode(e: &DecodeError) -> ErrorView {
        let fields = match e {
            DecodeError::WrongKind { expected } => vec![("expected", (*expected).into())],
            DecodeError::UnsupportedVersion { found, supported } => {
                vec![("found", u64::from(*found).into()), ("supported", u64::from(*supported).into())]
            }
            DecodeError::Checksum { expected, found } => {
                vec![("expected", u64::from(*expected).into()), ("found", u64::from(*found).into())]
            }
            DecodeError::Corrupt { reason } => vec![("reason", reason.as_str().into())],
            _ => Vec::new(),
        };
        ErrorView::new(e.code(), e.to_string(), fields)
    }

    /// An argument error.
    pub fn argument(e: &ArgError) -> ErrorView {
        let (code, fields): (&'static str, Vec<(&'static str, Value)>) = match e {
            ArgError::InvalidTime { value } => ("INVALID_TIME", vec![("value", value.as_str().into())]),
            ArgError::InvalidDelta { value } => ("INVALID_DELTA", vec![("value", value.as_str().into())]),
            ArgError::InvalidKey { argument } => ("INVALID_KEY", vec![("argument", (*argument).into())]),
            ArgError::InvalidArgument { argument, expected, value } => (
                "INVALID_ARGUMENT",
                vec![("argument", argument.as_str().into()), ("expected", expected.as_str().into()), ("value", value.as_str().into())],
            ),
        };
        ErrorView::new(code, e.to_string(), fields)
    }

    /// The fields as a record (for bindings that copy them onto an error object).
    pub fn fields_record(&self) -> Record {
        Record { class: "ErrorFields", tag: None, fields: self.fields.clone() }
    }
}

/// The snake_case setting names a configuration error's message may mention.
fn config_names(e: &ConfigError) -> Vec<&str> {
    match e {
        ConfigError::Zero { field } | ConfigError::TooLarge { field, .. } | ConfigError::MissingSetting { field } => vec![field],
        ConfigError::InvalidSetting { field, expected, .. } => {
            let mut names = vec![*field];
            // "a shard index with strategy "pinned"" and "greater than reconnect_min_ms (200)"
            // name another setting.
            names.extend(["strategy", "reconnect_min_ms"].into_iter().filter(|other| expected.contains(other)));
            names
        }
        ConfigError::BackoffRange { .. } => vec!["retry_initial_ms", "retry_max_ms"],
        _ => Vec::new(),
    }
}

/// Anything a binding may have to throw.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyError {
    /// A machine's runtime error.
    Input(Error),
    /// A configuration error.
    Config(ConfigError),
    /// A decoding error.
    Decode(DecodeError),
    /// An argument error.
    Argument(ArgError),
}

impl AnyError {
    /// The error as the binding throws it.
    pub fn view(&self, naming: Naming) -> ErrorView {
        match self {
            AnyError::Input(e) => ErrorView::input(e),
            AnyError::Config(e) => ErrorView::config(e, naming),
            AnyError::Decode(e) => ErrorView::decode(e),
            AnyError::Argument(e) => ErrorView::argument(e),
        }
    }
}

impl From<Error> for AnyError {
    fn from(e: Error) -> Self {
        AnyError::Input(e)
    }
}

impl From<ConfigError> for AnyError {
    fn from(e: ConfigError) -> Self {
        AnyError::Config(e)
    }
}

impl From<DecodeError> for AnyError {
    fn from(e: DecodeError) -> Self {
        AnyError::Decode(e)
    }
}

impl From<ArgError> for AnyError {
    fn from(e: ArgError) -> Self {
        AnyError::Argument(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shardtally::ShardRef;

    /// One error of every kind core and this layer have.
    fn samples() -> Vec<AnyError> {
        let r = ShardRef { shard: 1, incarnation: 2 };
        vec![
            ConfigError::Zero { field: "max_keys" }.into(),
            ConfigError::BackoffRange { initial_ms: 5, max_ms: 4 }.into(),
            ConfigError::TooLarge { field: "max_keys", value: 9, max: 8 }.into(),
            ConfigError::PinnedOutOfRange { shard: 3, shard_count: 3 }.into(),
            ConfigError::UnknownSetting { name: "sed".into(), suggestion: Some("seed".into()) }.into(),
            ConfigError::InvalidSetting { field: "flush_after_requests", expected: "an integer".into(), value: "1.5".into() }.into(),
            ConfigError::MissingSetting { field: "incarnation" }.into(),
            Error::EmptyKey.into(),
            Error::KeyTooLong { len: 9, max: 8 }.into(),
            Error::Overflow { key: "k".into(), current: i64::MAX, delta: 1 }.into(),
            Error::TableFull { table: "totals", limit: 1 }.into(),
            Error::UnknownKeyId { id: 7 }.into(),
            Error::WrongShard { expected: r, got: r }.into(),
            Error::ShardOutOfRange { shard: 0, shard_count: 0 }.into(),
            Error::LengthMismatch { what: "keys and deltas", left: 1, right: 2 }.into(),
            Error::NoUpstream.into(),
            Error::NotFound { what: "daily totals", query: "2022-10-17".into() }.into(),
            Error::EmptyId { what: "holder id" }.into(),
            Error::IdTooLong { what: "holder id", len: 9, max: 8 }.into(),
            Error::UnknownCluster { cluster: "c".into() }.into(),
            Error::UnknownHolder { cluster: "c".into(), holder: "h".into() }.into(),
            Error::HolderExpired { cluster: "c".into(), holder: "h".into(), expired_at: shardtally::Timestamp::from_millis(5) }.into(),
            Error::NotAssigned { cluster: "c".into(), holder: "h".into() }.into(),
            Error::ClusterNotEmpty { cluster: "c".into(), holders: 2 }.into(),
            Error::WrongGroup { expected: "a".into(), got: "b".into() }.into(),
            Error::UnknownReplica { replica: "r".into() }.into(),
            Error::DuplicateReplica { replica: "r".into() }.into(),
            Error::UnknownCreation { creation: 3 }.into(),
            Error::ReplicaFull { replica: "r".into(), limit: 2 }.into(),
            Error::UnknownConnection { replica: "r".into(), connection: "c".into() }.into(),
            Error::DuplicateConnection { replica: "r".into(), connection: "c".into() }.into(),
            Error::PayloadTooLarge { len: 9, max: 8 }.into(),
            ArgError::invalid("shard", "an integer", "x").into(),
            ArgError::InvalidTime { value: "-1".into() }.into(),
            ArgError::InvalidDelta { value: "1.5".into() }.into(),
            ArgError::InvalidKey { argument: "key" }.into(),
            DecodeError::WrongKind { expected: "batch" }.into(),
            DecodeError::UnsupportedVersion { found: 9, supported: 1 }.into(),
            DecodeError::Checksum { expected: 1, found: 2 }.into(),
            DecodeError::Corrupt { reason: "x".into() }.into(),
        ]
    }

    #[test]
    fn the_table_lists_every_error_with_its_fields_in_order() {
        let samples = samples();
        assert_eq!(samples.len(), ERRORS.len(), "one sample per code");
        for e in &samples {
            let v = e.view(Naming::Snake);
            let info = info(v.code).unwrap_or_else(|| panic!("{} is not in ERRORS", v.code));
            let names: Vec<&str> = v.fields.iter().map(|(n, _)| *n).collect();
            assert_eq!(names, info.fields, "{}", v.code);
            assert_eq!(v.family, info.family);
        }
        let mut codes: Vec<&str> = ERRORS.iter().map(|e| e.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ERRORS.len(), "codes are unique");
    }

    #[test]
    fn an_engine_invalid_argument_is_the_bindings_code_with_the_same_fields() {
        let core = ErrorView::input(&Error::InvalidArgument { argument: "period", expected: "a calendar period", value: "2022-13".into() });
        let binding = ErrorView::argument(&ArgError::invalid("period", "a calendar period", "2022-13"));
        assert_eq!((core.code, core.family), (binding.code, Family::Argument));
        assert_eq!(core.fields.iter().map(|(n, _)| *n).collect::<Vec<_>>(), info("INVALID_ARGUMENT").map(|i| i.fields.to_vec()).unwrap());
    }

    #[test]
    fn config_errors_speak_the_callers_naming() {
        let e = ConfigError::Zero { field: "max_pending_keys" };
        let v = ErrorView::config(&e, Naming::Camel);
        assert_eq!(v.message, "maxPendingKeys must be greater than zero");
        assert_eq!(v.fields, vec![("field", Value::from("maxPendingKeys"))]);
        let v = ErrorView::config(&ConfigError::BackoffRange { initial_ms: 5, max_ms: 4 }, Naming::Camel);
        assert_eq!(v.message, "retryInitialMs (5) must not exceed retryMaxMs (4)");
        assert_eq!(ErrorView::config(&e, Naming::Snake).message, "max_pending_keys must be greater than zero");
        let e = shardtally::OutboxConfig::builder().reconnect_min_ms(300).reconnect_max_ms(300).build().unwrap_err();
        assert_eq!(ErrorView::config(&e, Naming::Camel).message, "reconnectMaxMs must be greater than reconnectMinMs (300), got 300");
    }

    #[test]
    fn rejects_batch_is_cores_verdict() {
        assert!(ErrorView::input(&Error::Overflow { key: "k".into(), current: 1, delta: 1 }).rejects_batch);
        assert!(!ErrorView::input(&Error::TableFull { table: "pending keys", limit: 1 }).rejects_batch);
        assert!(!ErrorView::argument(&ArgError::InvalidKey { argument: "key" }).rejects_batch);
    }
}
