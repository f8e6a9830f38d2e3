//! Conversions between JS values and core types, with validation.
//!
//! JS numbers are checked to be finite, integral and within range; 64-bit inputs also
//! accept a `bigint`. Outputs use a `number` when the value is a safe integer and a
//! `bigint` otherwise. Objects handed to JS are fresh plain objects.

use crate::error::{invalid_argument, invalid_delta, invalid_time, JsResult};
use js_sys::{Array, BigInt64Array, Float64Array, Object, Reflect, Uint32Array, Uint8Array};
use shardtally::{Batch, BatchEntry, Timestamp};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

/// Largest safe JS integer, `2^53 - 1`.
pub(crate) const MAX_SAFE: u64 = (1 << 53) - 1;

/// A finite integral number in `0..=max`, or `None` (also for non-numbers).
fn whole(value: &JsValue, max: f64) -> Option<f64> {
    let n = value.as_f64()?;
    (n.is_finite() && n.fract() == 0.0 && (0.0..=max).contains(&n)).then_some(n)
}

/// Whether a value stands for "not given" (`undefined` or `null`).
pub(crate) fn absent(value: &JsValue) -> bool {
    value.is_undefined() || value.is_null()
}

/// `nowMs`: a finite integral number in `0..=2^53-1`, else `INVALID_TIME`.
pub(crate) fn time(value: &JsValue) -> JsResult<Timestamp> {
    match whole(value, MAX_SAFE as f64) {
        Some(n) => Ok(Timestamp::from_millis(n as u64)),
        None => Err(invalid_time(value)),
    }
}

/// A time handed to JS: milliseconds as a `number`, clamped to `2^53-1` (a deadline that
/// far away never fires for any valid `nowMs`).
pub(crate) fn from_time(t: Timestamp) -> f64 {
    t.as_millis().min(MAX_SAFE) as f64
}

/// A delta: a safe-integer `number` or a `bigint` in the `i64` range, else `INVALID_DELTA`.
pub(crate) fn delta(value: &JsValue) -> JsResult<i64> {
    if let Some(n) = value.as_f64() {
        if n.is_finite() && n.fract() == 0.0 && n.abs() <= MAX_SAFE as f64 {
            return Ok(n as i64);
        }
    } else if value.is_bigint() {
        if let Ok(v) = i64::try_from(value.clone()) {
            return Ok(v);
        }
    }
    Err(invalid_delta(value))
}

/// A string argument, else `INVALID_ARGUMENT`.
pub(crate) fn string(value: &JsValue, name: &str) -> JsResult<String> {
    value.as_string().ok_or_else(|| invalid_argument(name, "a string", value))
}

/// An unsigned 32-bit argument given as a `number`.
pub(crate) fn u32_arg(value: &JsValue, name: &str) -> JsResult<u32> {
    whole(value, f64::from(u32::MAX)).map(|n| n as u32).ok_or_else(|| invalid_argument(name, "an integer number in 0..=4294967295", value))
}

/// An unsigned 64-bit argument: a non-negative safe-integer `number` or a `bigint`.
pub(crate) fn u64_arg(value: &JsValue, name: &str) -> JsResult<u64> {
    if let Some(n) = whole(value, MAX_SAFE as f64) {
        return Ok(n as u64);
    }
    if value.is_bigint() {
        if let Ok(v) = u64::try_from(value.clone()) {
            return Ok(v);
        }
    }
    Err(invalid_argument(name, "a non-negative safe integer or a bigint below 2^64", value))
}

/// A `Uint8Array` (a Node `Buffer` is one) copied out of JS memory.
pub(crate) fn bytes(value: &JsValue, name: &str) -> JsResult<Vec<u8>> {
    match value.dyn_ref::<Uint8Array>() {
        Some(array) => Ok(array.to_vec()),
        None => Err(invalid_argument(name, "a Uint8Array", value)),
    }
}

/// Message bytes: a `Uint8Array`, or an output object (a batch or an acknowledgement) whose
/// `bytes` property is one.
pub(crate) fn message_bytes(value: &JsValue, name: &str) -> JsResult<Vec<u8>> {
    if value.is_object() && value.dyn_ref::<Uint8Array>().is_none() {
        if let Some(array) = Reflect::get(value, &JsValue::from_str("bytes"))?.dyn_ref::<Uint8Array>() {
            return Ok(array.to_vec());
        }
    }
    bytes(value, name)
}

/// Key ids: a `Uint32Array` or an array of integer numbers.
pub(crate) fn ids(value: &JsValue) -> JsResult<Vec<u32>> {
    if let Some(typed) = value.dyn_ref::<Uint32Array>() {
        return Ok(typed.to_vec());
    }
    if Array::is_array(value) {
        let array: &Array = value.unchecked_ref();
        return array.iter().map(|v| u32_arg(&v, "ids[i]")).collect();
    }
    Err(invalid_argument("ids", "a Uint32Array or an array of integer numbers", value))
}

/// Deltas: a `Float64Array` or array of safe integers, a `BigInt64Array`, or an array mixing
/// safe-integer numbers and bigints.
pub(crate) fn deltas(value: &JsValue) -> JsResult<Vec<i64>> {
    if let Some(typed) = value.dyn_ref::<BigInt64Array>() {
        return Ok(typed.to_vec());
    }
    if let Some(typed) = value.dyn_ref::<Float64Array>() {
        return typed
            .to_vec()
            .into_iter()
            .map(|n| {
                if n.is_finite() && n.fract() == 0.0 && n.abs() <= MAX_SAFE as f64 {
                    Ok(n as i64)
                } else {
                    Err(invalid_delta(&JsValue::from_f64(n)))
                }
            })
            .collect();
    }
    if Array::is_array(value) {
        let array: &Array = value.unchecked_ref();
        return array.iter().map(|v| delta(&v)).collect();
    }
    Err(invalid_argument("deltas", "a Float64Array, a BigInt64Array or an array of numbers or bigints", value))
}

/// Multi-key increments: the keys concatenated, with each entry's key span and delta.
pub(crate) struct Entries {
    keys: String,
    spans: Vec<(usize, usize, i64)>,
}

impl Entries {
    /// `(key, delta)` pairs for `Shard::increments`.
    pub(crate) fn pairs(&self) -> Vec<(&str, i64)> {
        self.spans.iter().map(|&(start, end, d)| (&self.keys[start..end], d)).collect()
    }
}

/// Multi-key increments: a `Record<string, delta>`, a `Map<string, delta>` or an array of
/// `[key, delta]` pairs.
///
/// When every key is a string and every delta a `number` (the usual case), the entries
/// cross in one call (`packEntries` of `pkg/objects.js`); otherwise entry by entry.
pub(crate) fn entries(value: &JsValue) -> JsResult<Entries> {
    let packed = pack_entries(value);
    if packed.is_null() {
        return entries_one_by_one(value);
    }
    let packed: &Array = packed.unchecked_ref();
    let keys = packed.get(0).as_string().unwrap_or_default();
    let lengths = Uint32Array::from(packed.get(1)).to_vec();
    let deltas = Float64Array::from(packed.get(2)).to_vec();
    let mut spans = Vec::with_capacity(lengths.len());
    let mut start = 0;
    for (units, d) in lengths.into_iter().zip(deltas) {
        let end = start + utf16_prefix_bytes(&keys[start..], units as usize);
        if !(d.is_finite() && d.fract() == 0.0 && d.abs() <= MAX_SAFE as f64) {
            return Err(invalid_delta(&JsValue::from_f64(d)));
        }
        spans.push((start, end, d as i64));
        start = end;
    }
    Ok(Entries { keys, spans })
}

/// The byte length of the first `units` UTF-16 code units of `s`.
fn utf16_prefix_bytes(s: &str, units: usize) -> usize {
    let ascii = s.as_bytes().iter().take(units).take_while(|b| b.is_ascii()).count();
    if ascii == units {
        return units;
    }
    let mut seen = 0;
    for (i, c) in s.char_indices() {
        if seen >= units {
            return i;
        }
        seen += c.len_utf16();
    }
    s.len()
}

fn entries_one_by_one(value: &JsValue) -> JsResult<Entries> {
    let pairs: Array = if Array::is_array(value) {
        value.clone().unchecked_into()
    } else if value.is_instance_of::<js_sys::Map>() {
        Array::from(value)
    } else if value.is_object() && !value.is_function() {
        Object::entries(value.unchecked_ref())
    } else {
        return Err(invalid_argument("entries", "an object of key → delta or an array of [key, delta] pairs", value));
    };
    let mut out = Entries { keys: String::new(), spans: Vec::with_capacity(pairs.length() as usize) };
    for pair in pairs.iter() {
        if !Array::is_array(&pair) {
            return Err(invalid_argument("entries[i]", "a [key, delta] pair", &pair));
        }
        let pair: Array = pair.unchecked_into();
        if pair.length() != 2 {
            return Err(invalid_argument("entries[i]", "a [key, delta] pair", &pair));
        }
        let key = string(&pair.get(0), "key")?;
        let d = delta(&pair.get(1))?;
        let start = out.keys.len();
        out.keys.push_str(&key);
        out.spans.push((start, out.keys.len(), d));
    }
    Ok(out)
}

/// A signed 64-bit output: a `number` when safe, a `bigint` otherwise.
pub(crate) fn from_i64(v: i64) -> JsValue {
    if v.unsigned_abs() <= MAX_SAFE {
        JsValue::from_f64(v as f64)
    } else {
        JsValue::from(v)
    }
}

/// An unsigned 64-bit output: a `number` when safe, a `bigint` otherwise.
pub(crate) fn from_u64(v: u64) -> JsValue {
    if v <= MAX_SAFE {
        JsValue::from_f64(v as f64)
    } else {
        JsValue::from(v)
    }
}

#[wasm_bindgen(raw_module = "./objects.js")]
extern "C" {
    /// `target[name] = value` (`pkg/objects.js`): a fresh plain object cannot throw, so
    /// this skips the exception handling of `Reflect.set`.
    fn set(target: &Object, name: &JsValue, value: &JsValue);
    /// `{ key, generation, delta }` from any JS values.
    #[wasm_bindgen(js_name = entry)]
    fn entry_one(key: &str, generation: &JsValue, delta: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = keyTotal)]
    fn key_total_one(key: &str, total: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = keyDelta)]
    fn key_delta_one(key: &str, delta: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = keyGeneration)]
    fn key_generation_one(key: &str, generation: &JsValue) -> JsValue;
    /// `[{ key, generation, delta }]` from packed keys (one call per list).
    #[wasm_bindgen(js_name = entries)]
    fn entries_packed(keys: &str, lengths: &[u32], generations: &[f64], deltas: &[f64]) -> Array;
    #[wasm_bindgen(js_name = keyTotals)]
    fn key_totals_packed(keys: &str, lengths: &[u32], totals: &[f64]) -> Array;
    #[wasm_bindgen(js_name = keyDeltas)]
    fn key_deltas_packed(keys: &str, lengths: &[u32], deltas: &[f64]) -> Array;
    #[wasm_bindgen(js_name = keyGenerations)]
    fn key_generations_packed(keys: &str, lengths: &[u32], generations: &[f64]) -> Array;
    /// `[keys joined, UTF-16 lengths, deltas]` for the common forms of multi-key increments,
    /// or `null` (then [`entries`] converts entry by entry).
    #[wasm_bindgen(js_name = packEntries)]
    fn pack_entries(value: &JsValue) -> JsValue;
}

/// A 64-bit value of an output list.
#[derive(Clone, Copy)]
pub(crate) enum Int {
    /// Signed (deltas, totals).
    I(i64),
    /// Unsigned (generations).
    U(u64),
}

impl Int {
    /// The value as an exact `f64` when it is a safe integer.
    fn safe(self) -> Option<f64> {
        match self {
            Int::I(v) => (v.unsigned_abs() <= MAX_SAFE).then_some(v as f64),
            Int::U(v) => (v <= MAX_SAFE).then_some(v as f64),
        }
    }

    /// The value as a `number` or `bigint`.
    fn js(self) -> JsValue {
        match self {
            Int::I(v) => from_i64(v),
            Int::U(v) => from_u64(v),
        }
    }
}

/// Keys packed for one crossing: concatenated, with their UTF-16 lengths, and one or two
/// value columns as exact `f64`s (`exact` is false when a value is beyond `2^53-1`).
struct Packed {
    keys: String,
    lengths: Vec<u32>,
    a: Vec<f64>,
    b: Vec<f64>,
    exact: bool,
}

impl Packed {
    fn new(capacity: usize) -> Packed {
        Packed { keys: String::new(), lengths: Vec::with_capacity(capacity), a: Vec::with_capacity(capacity), b: Vec::new(), exact: true }
    }

    fn push(&mut self, key: &str, a: Int, b: Option<Int>) {
        self.keys.push_str(key);
        let units = if key.is_ascii() { key.len() } else { key.encode_utf16().count() };
        self.lengths.push(u32::try_from(units).unwrap_or(u32::MAX));
        self.a.push(a.safe().unwrap_or_else(|| {
            self.exact = false;
            0.0
        }));
        if let Some(b) = b {
            self.b.push(b.safe().unwrap_or_else(|| {
                self.exact = false;
                0.0
            }));
        }
    }
}

/// Which `{ key, <value> }` shape a keyed list has.
#[derive(Clone, Copy)]
pub(crate) enum Keyed {
    /// `{ key, total }`.
    Total,
    /// `{ key, delta }`.
    Delta,
    /// `{ key, generation }`.
    Generation,
}

/// `[{ key, <value> }]`, in one crossing unless a value is beyond `2^53-1`.
pub(crate) fn keyed<'a>(shape: Keyed, items: impl IntoIterator<Item = (&'a str, Int)>) -> Array {
    let items: Vec<(&str, Int)> = items.into_iter().collect();
    let mut p = Packed::new(items.len());
    for (k, v) in &items {
        p.push(k, *v, None);
    }
    if p.exact {
        return match shape {
            Keyed::Total => key_totals_packed(&p.keys, &p.lengths, &p.a),
            Keyed::Delta => key_deltas_packed(&p.keys, &p.lengths, &p.a),
            Keyed::Generation => key_generations_packed(&p.keys, &p.lengths, &p.a),
        };
    }
    array(items, |(k, v)| match shape {
        Keyed::Total => key_total_one(k, &v.js()),
        Keyed::Delta => key_delta_one(k, &v.js()),
        Keyed::Generation => key_generation_one(k, &v.js()),
    })
}

/// `[{ key, generation, delta }]`, in one crossing unless a value is beyond `2^53-1`.
pub(crate) fn batch_entries(entries: &[BatchEntry]) -> Array {
    let mut p = Packed::new(entries.len());
    for e in entries {
        p.push(e.key(), Int::U(e.generation()), Some(Int::I(e.delta())));
    }
    if p.exact {
        return entries_packed(&p.keys, &p.lengths, &p.a, &p.b);
    }
    array(entries, |e| entry_one(e.key(), &from_u64(e.generation()), &from_i64(e.delta())))
}

thread_local! {
    /// Property names and tags already turned into JS strings (decoding a string is a
    /// costly part of building an object from Rust).
    static NAMES: std::cell::RefCell<Vec<(&'static str, JsValue)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A constant string as a JS string, decoded once per name.
fn js_str(name: &'static str) -> JsValue {
    NAMES.with(|names| {
        let mut names = names.borrow_mut();
        if let Some((_, v)) = names.iter().find(|(n, _)| std::ptr::eq(*n, name) || *n == name) {
            return v.clone();
        }
        let v = JsValue::from_str(name);
        names.push((name, v.clone()));
        v
    })
}

/// Builds a plain JS object property by property.
pub(crate) struct Obj(Object);

impl Obj {
    /// An empty plain object.
    pub(crate) fn new() -> Obj {
        Obj(Object::new())
    }

    /// Sets `name` to `value`.
    pub(crate) fn val(self, name: &'static str, value: &JsValue) -> Obj {
        // `Reflect.set` on a fresh plain object cannot throw.
        set(&self.0, &js_str(name), value);
        self
    }

    /// Sets `name` to a string.
    pub(crate) fn str(self, name: &'static str, value: &str) -> Obj {
        self.val(name, &JsValue::from_str(value))
    }

    /// Sets `name` to a constant string (cached as a JS string, like property names).
    pub(crate) fn tag(self, name: &'static str, value: &'static str) -> Obj {
        self.val(name, &js_str(value))
    }

    /// Sets `name` to a number.
    pub(crate) fn u32(self, name: &'static str, value: u32) -> Obj {
        self.val(name, &JsValue::from_f64(f64::from(value)))
    }

    /// Sets `name` to a count (`number`, or `bigint` beyond `2^53-1`).
    pub(crate) fn usize(self, name: &'static str, value: usize) -> Obj {
        self.val(name, &from_u64(value as u64))
    }

    /// Sets `name` to an unsigned 64-bit value (`number` or `bigint`).
    pub(crate) fn u64(self, name: &'static str, value: u64) -> Obj {
        self.val(name, &from_u64(value))
    }

    /// Sets `name` to a signed 64-bit value (`number` or `bigint`).
    pub(crate) fn i64(self, name: &'static str, value: i64) -> Obj {
        self.val(name, &from_i64(value))
    }

    /// Sets `name` to a boolean.
    pub(crate) fn bool(self, name: &'static str, value: bool) -> Obj {
        self.val(name, &JsValue::from_bool(value))
    }

    /// The object.
    pub(crate) fn into_object(self) -> Object {
        self.0
    }
}

impl From<Obj> for JsValue {
    fn from(o: Obj) -> JsValue {
        o.0.into()
    }
}

/// An array of the converted items.
pub(crate) fn array<T>(items: impl IntoIterator<Item = T>, f: impl Fn(T) -> JsValue) -> Array {
    items.into_iter().map(f).collect()
}

/// A batch as `{ type, bytes, shard, incarnation, seq, reason, entries }`; `type` is
/// `"batch"` for a shard's output and `"forward"` for a tiered global's.
pub(crate) fn batch(tag: &'static str, b: &Batch) -> JsValue {
    let from = b.from();
    Obj::new()
        .tag("type", tag)
        .val("bytes", &Uint8Array::from(&b.encode()[..]))
        .u32("shard", from.shard)
        .u64("incarnation", from.incarnation)
        .u64("seq", b.seq())
        .tag("reason", b.reason().as_str())
        .val("entries", &batch_entries(b.entries()))
        .into()
}

/// Reads an options object: `undefined` and `null` stand for "not given", both for the
/// object and for each option.
pub(crate) struct Options {
    obj: Option<Object>,
}

impl Options {
    /// Wraps the `options` argument (`undefined`, `null` or an object).
    pub(crate) fn new(value: &JsValue, name: &str) -> JsResult<Options> {
        if absent(value) {
            return Ok(Options { obj: None });
        }
        if !value.is_object() || Array::is_array(value) {
            return Err(invalid_argument(name, "an options object", value));
        }
        Ok(Options { obj: Some(value.clone().unchecked_into()) })
    }

    /// The value of option `name`, `None` when not given. A throwing getter propagates.
    pub(crate) fn get(&self, name: &str) -> JsResult<Option<JsValue>> {
        let Some(obj) = &self.obj else { return Ok(None) };
        let v = Reflect::get(obj, &JsValue::from_str(name))?;
        Ok((!absent(&v)).then_some(v))
    }

    /// An option that must be given.
    pub(crate) fn required(&self, name: &str, expected: &str) -> JsResult<JsValue> {
        self.get(name)?.ok_or_else(|| invalid_argument(name, expected, &JsValue::UNDEFINED))
    }

    /// A `u32` option.
    pub(crate) fn u32(&self, name: &str) -> JsResult<Option<u32>> {
        self.get(name)?.map(|v| u32_arg(&v, name)).transpose()
    }

    /// A `u64` option (`number` or `bigint`).
    pub(crate) fn u64(&self, name: &str) -> JsResult<Option<u64>> {
        self.get(name)?.map(|v| u64_arg(&v, name)).transpose()
    }

    /// A `usize` option: a safe integer, saturated to the platform's `usize` so that core
    /// reports a value too large for its bound (`CONFIG_TOO_LARGE`) as on 64-bit hosts.
    pub(crate) fn usize(&self, name: &str) -> JsResult<Option<usize>> {
        Ok(self.u64(name)?.map(|v| usize::try_from(v).unwrap_or(usize::MAX)))
    }

    /// A `u8` option given as a `number`, saturated to 255 (core rejects out-of-range values).
    pub(crate) fn u8(&self, name: &str) -> JsResult<Option<u8>> {
        Ok(self.u32(name)?.map(|v| u8::try_from(v).unwrap_or(u8::MAX)))
    }

    /// A nested options object.
    pub(crate) fn nested(&self, name: &str) -> JsResult<Option<Options>> {
        self.get(name)?.map(|v| Options::new(&v, name)).transpose()
    }
}
