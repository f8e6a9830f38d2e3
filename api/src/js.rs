//! What the two JavaScript bindings (napi-rs and wasm-bindgen) share: number conversions
//! with JavaScript's limits, the columnar packing of keyed lists and of row operations, the
//! unpacking of what the shared JS packs (keys, byte strings, stored rows), and the errors of
//! the arguments it checks.
//!
//! JavaScript numbers are doubles: an integer is exact up to `2^53 - 1`. Times are numbers
//! of milliseconds in `0 ..= 2^53 - 1`; deltas and other 64-bit inputs are safe-integer
//! numbers or bigints; 64-bit outputs are numbers when safe and bigints otherwise.

use crate::errors::ArgError;
use crate::naming::camel;
use crate::options::BucketsStoredRow;
use crate::value::{Column, Entries};
use shardtally::journal::RowOp;
use shardtally::settings::SettingValue;
use shardtally::{Shard, Timestamp};

/// `Number.MAX_SAFE_INTEGER`.
pub const MAX_SAFE: u64 = (1 << 53) - 1;

/// A time from a JS number (`INVALID_TIME` unless finite, integral, in `0 ..= 2^53 - 1`).
pub fn time(ms: f64) -> Result<Timestamp, ArgError> {
    safe_u64(ms).map(Timestamp::from_millis).ok_or_else(|| ArgError::InvalidTime { value: number(ms) })
}

/// A time for JS: milliseconds, capped at `2^53 - 1` (a deadline that far away never fires
/// for any valid time).
pub fn time_out(t: Timestamp) -> f64 {
    t.as_millis().min(MAX_SAFE) as f64
}

/// A delta from a JS number (`INVALID_DELTA` unless a safe integer).
pub fn delta(v: f64) -> Result<i64, ArgError> {
    if v.is_finite() && v.fract() == 0.0 && v.abs() <= MAX_SAFE as f64 {
        Ok(v as i64)
    } else {
        Err(ArgError::InvalidDelta { value: number(v) })
    }
}

/// Deltas from a `Float64Array` into `out`, each checked as by [`delta`] (the first that is
/// not a safe integer is the error), in one pass the compiler can vectorise: the hot path of
/// `incrementIds`. Returns the largest magnitude.
pub fn deltas(values: &[f64], out: &mut Vec<i64>) -> Result<u64, ArgError> {
    out.clear();
    let (mut all_safe, mut largest) = (true, 0u64);
    out.extend(values.iter().map(|f| {
        let d = *f as i64;
        all_safe &= d as f64 == *f && d.unsigned_abs() <= MAX_SAFE;
        largest = largest.max(d.unsigned_abs());
        d
    }));
    if all_safe {
        return Ok(largest);
    }
    match values.iter().find(|f| delta(**f).is_err()) {
        Some(bad) => delta(*bad).map(|_| 0),
        None => Ok(largest),
    }
}

/// A delta from a JS bigint given as `i128` (`INVALID_DELTA` unless in the signed 64-bit range).
pub fn delta_big(v: i128) -> Result<i64, ArgError> {
    i64::try_from(v).map_err(|_| ArgError::InvalidDelta { value: format!("{v}n") })
}

/// A setting's value from a JS number: an integer when it is a safe integer, else a float
/// (which integer settings reject, naming the value).
pub fn setting(v: f64) -> SettingValue {
    if v.is_finite() && v.fract() == 0.0 && v.abs() <= MAX_SAFE as f64 {
        SettingValue::Int(v as i128)
    } else {
        SettingValue::Float(v)
    }
}

/// A non-negative safe integer from a JS number, or `None`.
pub fn safe_u64(v: f64) -> Option<u64> {
    (v.is_finite() && v.fract() == 0.0 && (0.0..=MAX_SAFE as f64).contains(&v)).then_some(v as u64)
}

/// An unsigned argument from a JS number within `0 ..= max` (`INVALID_ARGUMENT` otherwise).
pub fn uint(argument: &str, v: f64, max: u64) -> Result<u64, ArgError> {
    safe_u64(v).filter(|x| *x <= max).ok_or_else(|| ArgError::invalid(argument, format!("an integer in 0..={max}"), number(v)))
}

/// An unsigned argument from a JS bigint given as `i128` within `0 ..= max`.
pub fn uint_big(argument: &str, v: i128, max: u64) -> Result<u64, ArgError> {
    u64::try_from(v)
        .ok()
        .filter(|x| *x <= max)
        .ok_or_else(|| ArgError::invalid(argument, format!("an integer in 0..={max}"), format!("{v}n")))
}

/// A JS number as JS prints it (`1.5`, `NaN`, `-Infinity`, `3`).
pub fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e21 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// Whether an integer is exact as a JS number (otherwise it crosses as a bigint).
pub fn is_safe(v: i128) -> bool {
    v.unsigned_abs() <= u128::from(MAX_SAFE)
}

/// [`Entries`] packed for one crossing into JS: every key in one string, each key's length
/// in UTF-16 code units, and each column as doubles when every value is a safe integer,
/// else as 64-bit integers (`BigInt64Array` / `BigUint64Array`). The shared JS layer
/// rebuilds `[{ key, ...columns }]` from it.
#[derive(Clone, Debug, PartialEq)]
pub struct Packed {
    /// The keys, concatenated.
    pub joined: String,
    /// Each key's length in UTF-16 code units.
    pub lens: Vec<u32>,
    /// Column names in camelCase with their values.
    pub columns: Vec<(String, PackedColumn)>,
}

/// One column of [`Packed`].
#[derive(Clone, Debug, PartialEq)]
pub enum PackedColumn {
    /// Every value is a safe integer.
    F64(Vec<f64>),
    /// Signed values, some beyond `2^53 - 1`.
    I64(Vec<i64>),
    /// Unsigned values, some beyond `2^53 - 1`.
    U64(Vec<u64>),
}

/// Packs entries (see [`Packed`]).
pub fn pack(e: &Entries) -> Packed {
    let mut joined = String::with_capacity(e.keys.iter().map(|k| k.len()).sum());
    let mut lens = Vec::with_capacity(e.keys.len());
    for k in &e.keys {
        joined.push_str(k);
        let units = if k.is_ascii() { k.len() } else { k.encode_utf16().count() };
        lens.push(u32::try_from(units).unwrap_or(u32::MAX));
    }
    let columns = e
        .columns
        .iter()
        .map(|(name, c)| {
            let packed = match c {
                Column::I64(v) if v.iter().all(|x| is_safe(i128::from(*x))) => PackedColumn::F64(v.iter().map(|x| *x as f64).collect()),
                Column::U64(v) if v.iter().all(|x| *x <= MAX_SAFE) => PackedColumn::F64(v.iter().map(|x| *x as f64).collect()),
                Column::I64(v) => PackedColumn::I64(v.clone()),
                Column::U64(v) => PackedColumn::U64(v.clone()),
            };
            (camel(name), packed)
        })
        .collect();
    Packed { joined, lens, columns }
}

/// The keys of [`Packed`] form back from one string: `joined` cut at the UTF-16 lengths
/// `lens` (what the JS layer sends for multi-key and buffered increments). `None` when the
/// lengths do not add up to `joined` or cut a character in two.
pub fn split_keys<'a>(joined: &'a str, lens: &[u32]) -> Option<Vec<&'a str>> {
    let mut keys = Vec::with_capacity(lens.len());
    let mut rest = joined;
    for len in lens {
        let units = *len as usize;
        let end = if rest.as_bytes().get(..units)?.is_ascii() {
            units
        } else {
            let mut left = units;
            let mut end = 0;
            for c in rest.chars() {
                if left == 0 {
                    break;
                }
                left = left.checked_sub(c.len_utf16())?;
                end += c.len_utf8();
            }
            if left != 0 {
                return None;
            }
            end
        };
        let (key, tail) = rest.split_at_checked(end)?;
        keys.push(key);
        rest = tail;
    }
    rest.is_empty().then_some(keys)
}

/// Storage operations ([`RowOp`]s) packed for one crossing into JS, rebuilt into `RowOp`
/// objects by the shared JS: each op's name and table joined in `names`, `[op length, table
/// length, key length, value length ([`NO_VALUE`]: none)]` per op in `lens`, and every key
/// and value in `bytes`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackedRows {
    /// Each op's kind (`put`, `delete`, ...) and table, concatenated.
    pub names: String,
    /// Four lengths per op.
    pub lens: Vec<u32>,
    /// Each op's key and value, concatenated.
    pub bytes: Vec<u8>,
}

/// The value length of a [`PackedRows`] op without a value.
pub const NO_VALUE: u32 = u32::MAX;

/// Packs row operations (see [`PackedRows`]).
pub fn pack_row_ops(ops: impl Iterator<Item = RowOp>) -> PackedRows {
    let mut p = PackedRows::default();
    for op in ops {
        let (kind, value) = (op.kind.as_str(), op.value.as_deref());
        p.names.push_str(kind);
        p.names.push_str(op.table);
        p.lens.extend([kind.len(), op.table.len(), op.key.len()].map(|n| n as u32));
        p.lens.push(value.map_or(NO_VALUE, |v| v.len() as u32));
        p.bytes.extend_from_slice(&op.key);
        p.bytes.extend_from_slice(value.unwrap_or_default());
    }
    p
}

/// Byte strings packed by the shared JS: `bytes` cut at the lengths `lens`. `None` when the
/// lengths do not add up to `bytes`.
pub fn split_bytes(bytes: &[u8], lens: impl Iterator<Item = u32>) -> Option<Vec<&[u8]>> {
    let mut rest = bytes;
    let parts = lens
        .map(|n| {
            let (part, tail) = rest.split_at_checked(n as usize)?;
            rest = tail;
            Some(part)
        })
        .collect::<Option<Vec<_>>>()?;
    rest.is_empty().then_some(parts)
}

/// Stored `(table, value)` pairs packed by the shared JS: the tables joined, `[table length
/// (UTF-16), value length]` per pair, and the values in one byte array. `None` when the
/// lengths do not fit.
pub fn split_pairs<'a>(tables: &'a str, lens: &[u32], bytes: &'a [u8]) -> Option<Vec<(&'a str, &'a [u8])>> {
    if lens.len() % 2 != 0 {
        return None;
    }
    let names: Vec<u32> = lens.iter().step_by(2).copied().collect();
    let tables = split_keys(tables, &names)?;
    let values = split_bytes(bytes, lens.iter().skip(1).step_by(2).copied())?;
    Some(tables.into_iter().zip(values).collect())
}

/// Stored buckets rows packed by the shared JS, per row: `joined` holds its type (`raw`,
/// `daily`, `meta`), day and key, `lens` their UTF-16 lengths and its meta bytes' length,
/// `counts` its count or total, `bytes` the meta rows' bytes. `None` when the lengths do
/// not fit.
pub fn split_buckets_rows(joined: &str, lens: &[u32], counts: &[i64], bytes: &[u8]) -> Option<Vec<BucketsStoredRow>> {
    if lens.len() != 4 * counts.len() {
        return None;
    }
    let texts: Vec<u32> = lens.chunks(4).flat_map(|c| c[..3].iter().copied()).collect();
    let texts = split_keys(joined, &texts)?;
    let blobs = split_bytes(bytes, lens.chunks(4).map(|c| c[3]))?;
    Some(
        texts
            .chunks(3)
            .zip(counts)
            .zip(blobs)
            .map(|((t, count), blob)| {
                let (day, key) = (t[1].to_owned(), t[2].to_owned());
                match t[0] {
                    "raw" => BucketsStoredRow::Raw { day, key, count: *count },
                    "daily" => BucketsStoredRow::Daily { day, key, total: *count },
                    _ => BucketsStoredRow::Meta(blob.to_vec()),
                }
            })
            .collect(),
    )
}

/// The error of an argument the shared JS found to have the wrong type, by the code it
/// chose (its message comes from here like every other).
pub fn argument_error(code: &str, argument: String, expected: String, value: String) -> ArgError {
    match code {
        "INVALID_TIME" => ArgError::InvalidTime { value },
        "INVALID_DELTA" => ArgError::InvalidDelta { value },
        "INVALID_KEY" => ArgError::InvalidKey { argument: "key" },
        _ => ArgError::InvalidArgument { argument, expected, value },
    }
}

/// Most requests the JS layer buffers between two calls into the engine.
const BUFFER_REQUESTS: u64 = 1 << 16;
/// Pending magnitudes above this stop buffering: a buffered sum (a safe integer) added to a
/// pending delta can then not reach the 64-bit limit, so `OVERFLOW` stays with its call.
const BOUND_LIMIT: u128 = 1 << 62;
/// [`Coalescing::room`] packs the request room above 32 bits of key room.
pub const KEY_ROOM_SPAN: u64 = 1 << 32;

/// What the JS layer's per-call buffer in front of a shard needs besides
/// [`Shard::coalescing_room`]: a bound on the magnitude of every pending delta (the sum of
/// the magnitudes added since the shard last had nothing pending), so buffering stops
/// before a buffered sum could overflow a pending delta.
#[derive(Clone, Copy, Debug, Default)]
pub struct Coalescing {
    bound: u128,
}

impl Coalescing {
    /// The bound for a shard as it is (a new or restored one).
    pub fn new(shard: &Shard) -> Coalescing {
        Coalescing { bound: shard.pending().iter().map(|e| u128::from(e.delta().unsigned_abs())).sum() }
    }

    /// Call before an input that adds deltas.
    pub fn start(&mut self, shard: &Shard) {
        if shard.pending_keys() == 0 {
            self.bound = 0;
        }
    }

    /// Call after an input added deltas of at most this summed magnitude.
    pub fn added(&mut self, magnitude: u128) {
        self.bound = self.bound.saturating_add(magnitude);
    }

    /// How many more requests at the time of the last input the JS layer may
    /// buffer (high bits, above [`KEY_ROOM_SPAN`]) and how many new distinct keys (low 32
    /// bits): core's room, capped, and zero once pending magnitudes come near the limit.
    pub fn room(&mut self, shard: &Shard) -> f64 {
        self.start(shard);
        if self.bound > BOUND_LIMIT {
            return 0.0;
        }
        let room = shard.coalescing_room();
        let keys = (room.new_keys as u64).min(KEY_ROOM_SPAN - 1);
        (room.requests.min(BUFFER_REQUESTS) * KEY_ROOM_SPAN + keys) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn times_and_deltas_follow_javascripts_limits() {
        assert_eq!(time(5.0), Ok(Timestamp::from_millis(5)));
        for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY, 9_007_199_254_740_992.0] {
            assert!(matches!(time(bad), Err(ArgError::InvalidTime { .. })), "{bad}");
        }
        assert_eq!(delta(-9_007_199_254_740_991.0), Ok(-9_007_199_254_740_991));
        assert_eq!(delta(0.5), Err(ArgError::InvalidDelta { value: "0.5".into() }));
        assert_eq!(
            uint("shard", 4_294_967_296.0, u64::from(u32::MAX)).unwrap_err().to_string(),
            "shard must be an integer in 0..=4294967295, got 4294967296"
        );
        assert_eq!(uint_big("seq", -1, u64::MAX).unwrap_err().to_string(), "seq must be an integer in 0..=18446744073709551615, got -1n");
        assert_eq!(number(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(time_out(Timestamp::MAX), 9_007_199_254_740_991.0);
    }

    #[test]
    fn split_keys_inverts_packing() {
        let e = Entries { class: "KeyTotal", keys: vec![Arc::from("ab"), Arc::from("é🔑"), Arc::from("c")], columns: vec![] };
        let p = pack(&e);
        assert_eq!(split_keys(&p.joined, &p.lens), Some(vec!["ab", "é🔑", "c"]));
        assert_eq!(split_keys("é🔑", &[2, 1]), None, "a length that cuts a character");
        assert_eq!(split_keys("abc", &[1, 1]), None, "lengths that leave a rest");
        assert_eq!(split_keys("ab", &[3]), None, "lengths beyond the string");
        assert_eq!(split_keys("", &[]), Some(vec![]));
    }

    #[test]
    fn numbers_for_settings_and_big_deltas() {
        assert_eq!(setting(5.0), SettingValue::Int(5));
        assert_eq!(setting(1.5), SettingValue::Float(1.5));
        assert_eq!(setting(9_007_199_254_740_992.0), SettingValue::Float(9_007_199_254_740_992.0), "not a safe integer");
        assert_eq!(delta_big(-5), Ok(-5));
        let mut out = Vec::new();
        assert_eq!(deltas(&[1.0, -3.0, -0.0], &mut out), Ok(3));
        assert_eq!(out, vec![1, -3, 0]);
        assert_eq!(deltas(&[1.0, 0.5, f64::NAN], &mut out), Err(ArgError::InvalidDelta { value: "0.5".into() }));
        assert_eq!(deltas(&[9_007_199_254_740_992.0], &mut out), Err(ArgError::InvalidDelta { value: "9007199254740992".into() }));
        assert_eq!(delta_big(1 << 63), Err(ArgError::InvalidDelta { value: "9223372036854775808n".into() }));
    }

    #[test]
    fn coalescing_room_stops_near_the_limit() {
        use shardtally::{ShardConfig, ShardRef};
        let config = ShardConfig::builder().flush_after_requests(5).max_pending_keys(10).build().unwrap();
        let mut s = Shard::new(config, ShardRef { shard: 0, incarnation: 1 });
        let t = Timestamp::from_millis(1);
        let mut c = Coalescing::new(&s);
        c.start(&s);
        s.increment("a", i64::MAX, t).unwrap();
        c.added(u128::from(i64::MAX.unsigned_abs()));
        assert_eq!(c.room(&s), 0.0, "a pending delta near the limit stops buffering");
        s.flush(t);
        let room = c.room(&s) as u64;
        assert_eq!((room / KEY_ROOM_SPAN, room % KEY_ROOM_SPAN), (BUFFER_REQUESTS, 10), "in flight: no request limit");
        assert_eq!(Coalescing::new(&s).bound, 0);
    }

    #[test]
    fn row_ops_and_stored_rows_unpack_as_packed() {
        use shardtally::journal::RowOpKind;
        let ops = [
            RowOp { kind: RowOpKind::Put, table: "slots", key: vec![1, 2], value: Some(vec![9]) },
            RowOp { kind: RowOpKind::Delete, table: "meta", key: vec![], value: None },
        ];
        let p = pack_row_ops(ops.into_iter());
        assert_eq!(p.names, "putslotsdeletemeta");
        assert_eq!(p.lens, vec![3, 5, 2, 1, 6, 4, 0, NO_VALUE]);
        assert_eq!(p.bytes, vec![1, 2, 9]);
        assert_eq!(split_bytes(&[1, 2, 3], [1, 2].into_iter()), Some(vec![&[1][..], &[2, 3][..]]));
        assert_eq!(split_bytes(&[1, 2, 3], [1, 1].into_iter()), None, "a rest");
        assert_eq!(split_bytes(&[1], [2].into_iter()), None, "beyond the bytes");
        assert_eq!(split_pairs("metaé", &[4, 1, 1, 2], &[7, 8, 9]), Some(vec![("meta", &[7][..]), ("é", &[8, 9][..])]));
        assert_eq!(split_pairs("meta", &[4], &[]), None, "a pair without its value length");
        let rows = split_buckets_rows("raw2026-01-01xmeta", &[3, 10, 1, 0, 4, 0, 0, 2], &[5, 0], &[1, 2]);
        let raw = BucketsStoredRow::Raw { day: "2026-01-01".into(), key: "x".into(), count: 5 };
        assert_eq!(rows, Some(vec![raw, BucketsStoredRow::Meta(vec![1, 2])]));
        assert_eq!(split_buckets_rows("raw", &[3, 0, 0], &[1], &[]), None, "four lengths a row");
    }

    #[test]
    fn argument_errors_by_code() {
        let e = |code| argument_error(code, "ids".into(), "an array".into(), "5".into());
        assert_eq!(e("INVALID_TIME"), ArgError::InvalidTime { value: "5".into() });
        assert_eq!(e("INVALID_KEY"), ArgError::InvalidKey { argument: "key" });
        assert_eq!(e("INVALID_ARGUMENT").to_string(), "ids must be an array, got 5");
    }

    #[test]
    fn packing_counts_utf16_units_and_keeps_big_values_exact() {
        let e = Entries {
            class: "KeyTotal",
            keys: vec![Arc::from("a"), Arc::from("é🔑")],
            columns: vec![("total", Column::I64(vec![1, i64::MAX])), ("key_generation", Column::U64(vec![0, 1]))],
        };
        let p = pack(&e);
        assert_eq!(p.joined, "aé🔑");
        assert_eq!(p.lens, vec![1, 3]);
        assert_eq!(p.columns[0], ("total".to_string(), PackedColumn::I64(vec![1, i64::MAX])));
        assert_eq!(p.columns[1], ("keyGeneration".to_string(), PackedColumn::F64(vec![0.0, 1.0])));
    }
}
