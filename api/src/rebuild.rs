//! Machines rebuilt from their stored rows a page at a time: what the bindings'
//! `GlobalBuilder` and `ShardBuilder` hold. A host reads its rows with a cursor and hands
//! each page of `(table, value)` pairs to [`Rebuild::add`], then calls
//! [`Rebuild::finish`]; no list of every row is ever made, in the host or here.
//!
//! ```
//! use shardtally::journal::RowStore;
//! use shardtally::{Global, GlobalConfig, Timestamp};
//! use shardtally_api::{options, rebuild::Rebuild, Naming};
//!
//! let mut global = Global::new(GlobalConfig::default());
//! global.reset("a", Timestamp::from_millis(1))?;
//! let mut store = RowStore::new();
//! store.apply_global(&global.take_changes());
//! let pairs: Vec<(&str, &[u8])> = store.pairs().collect();
//!
//! let mut builder = Rebuild::new(options::global_builder(Naming::Camel, &[])?);
//! for page in pairs.chunks(2) {
//!     builder.add(page.iter().copied())?;
//! }
//! assert_eq!(builder.finish()?.snapshot(), global.snapshot());
//! // A finished builder is spent.
//! assert_eq!(builder.finish().unwrap_err().view(Naming::Camel).code, "INVALID_ARGUMENT");
//! # Ok::<(), shardtally_api::AnyError>(())
//! ```

use crate::errors::{AnyError, ArgError};
use shardtally::journal::{GlobalBuilder, ShardBuilder};
use shardtally::{DecodeError, Global, Shard};

/// A core builder that takes stored `(table, value)` pairs one at a time.
pub trait StoredRows {
    /// The machine it builds.
    type Machine;
    /// The tables to read first, in this order, before every other: then no row waits for
    /// another in the builder.
    const READ_FIRST: &'static [&'static str];
    /// Adds one stored row (its first error is final: every later call returns it).
    fn add_stored(&mut self, table: &str, value: &[u8]) -> Result<(), DecodeError>;
    /// The machine, once every row was added.
    fn finish(self) -> Result<Self::Machine, DecodeError>;
}

impl StoredRows for GlobalBuilder {
    type Machine = Global;
    const READ_FIRST: &'static [&'static str] = GlobalBuilder::READ_FIRST;
    fn add_stored(&mut self, table: &str, value: &[u8]) -> Result<(), DecodeError> {
        GlobalBuilder::add_stored(self, table, value)
    }
    fn finish(self) -> Result<Global, DecodeError> {
        GlobalBuilder::finish(self)
    }
}

impl StoredRows for ShardBuilder {
    type Machine = Shard;
    const READ_FIRST: &'static [&'static str] = ShardBuilder::READ_FIRST;
    fn add_stored(&mut self, table: &str, value: &[u8]) -> Result<(), DecodeError> {
        ShardBuilder::add_stored(self, table, value)
    }
    fn finish(self) -> Result<Shard, DecodeError> {
        ShardBuilder::finish(self)
    }
}

/// A machine being rebuilt page by page. [`finish`](Self::finish) hands the machine over
/// and spends the builder: a later `add` or `finish` is `INVALID_ARGUMENT`. A bad row is the
/// core builder's `DECODE_*` error, returned again by every later call.
#[derive(Debug)]
pub struct Rebuild<B> {
    builder: Option<B>,
}

impl<B: StoredRows> Rebuild<B> {
    /// Wraps a core builder (see [`options::global_builder`](crate::options::global_builder),
    /// [`options::shard_builder`](crate::options::shard_builder)).
    pub fn new(builder: B) -> Rebuild<B> {
        Rebuild { builder: Some(builder) }
    }

    /// Adds a page of stored `(table, value)` pairs, in order, stopping at the first error.
    pub fn add<T: AsRef<str>, V: AsRef<[u8]>>(&mut self, pairs: impl IntoIterator<Item = (T, V)>) -> Result<(), AnyError> {
        let builder = self.builder.as_mut().ok_or_else(spent)?;
        for (table, value) in pairs {
            builder.add_stored(table.as_ref(), value.as_ref())?;
        }
        Ok(())
    }

    /// The tables to read first, in this order (see [`StoredRows::READ_FIRST`]).
    pub fn read_first() -> &'static [&'static str] {
        B::READ_FIRST
    }

    /// The machine (checks what single rows could not); the builder is spent after it,
    /// whatever the outcome.
    pub fn finish(&mut self) -> Result<B::Machine, AnyError> {
        Ok(self.builder.take().ok_or_else(spent)?.finish()?)
    }
}

fn spent() -> AnyError {
    ArgError::invalid("builder", "a builder that finish() has not spent", "a finished builder").into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::options::{global_builder, shard_builder, OptionValue};
    use crate::Naming;
    use shardtally::journal::RowStore;
    use shardtally::settings::SettingValue;
    use shardtally::{ShardConfig, ShardRef, Timestamp};

    #[test]
    fn a_shard_page_by_page_equals_from_rows_and_a_bad_row_is_final() {
        let t = Timestamp::from_millis(3);
        let mut s = Shard::new(ShardConfig::default(), ShardRef { shard: 1, incarnation: 2 });
        s.increments(&[("x", 4), ("y", 5), ("z", 6)], t).unwrap();
        let mut store = RowStore::new();
        store.apply_shard(&s.take_changes());
        let pairs: Vec<(&str, &[u8])> = store.pairs().collect();
        let mut b = Rebuild::new(shard_builder(Naming::Snake, &[]).unwrap());
        for page in pairs.rchunks(1) {
            b.add(page.iter().copied()).unwrap();
        }
        assert_eq!(b.finish().unwrap().snapshot(), s.snapshot());

        let mut bad = Rebuild::new(shard_builder(Naming::Snake, &[]).unwrap());
        let first = bad.add([("meta", &b"x"[..])]).unwrap_err().view(Naming::Snake);
        assert!(first.code.starts_with("DECODE_"), "{}", first.code);
        assert_eq!(bad.add(pairs.iter().copied()).unwrap_err().view(Naming::Snake), first);
        assert_eq!(bad.finish().unwrap_err().view(Naming::Snake), first);
        assert_eq!(bad.add(pairs.iter().copied()).unwrap_err().view(Naming::Snake).code, "INVALID_ARGUMENT");
    }

    #[test]
    fn a_global_builder_takes_its_settings_and_upstream() {
        let int = |n: &str, v: i128| (n.to_string(), OptionValue::Value(SettingValue::Int(v)));
        let upstream = |o: Vec<_>| vec![("upstream".to_string(), OptionValue::Object(o))];
        let mut tiered = Rebuild::new(global_builder(Naming::Snake, &upstream(vec![int("flush_after_requests", 3)])).unwrap());
        let with_identity = upstream(vec![int("shard", 0), int("incarnation", 1), int("flush_after_requests", 3)]);
        let mut g = crate::options::new_global(Naming::Snake, &with_identity).unwrap();
        g.reset("k", Timestamp::from_millis(1)).unwrap();
        let mut store = RowStore::new();
        store.apply_global(&g.take_changes());
        tiered.add(store.pairs()).unwrap();
        assert_eq!(tiered.finish().unwrap().snapshot(), g.snapshot());
        assert_eq!(global_builder(Naming::Snake, &[int("nope", 1)]).unwrap_err().code(), "CONFIG_UNKNOWN_SETTING");
    }
}
