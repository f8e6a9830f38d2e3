//! Conversions between JavaScript and the public surface of `shardtally-api`: one converter
//! for every output (`Value` → JS), one for every error (`ErrorView` → `ShardtallyError`),
//! options as `(names, values)`, number arguments checked by `shardtally_api::js`, and the
//! packed forms of storage rows (`RowOp`s out, stored pairs in).

use js_sys::{Array, BigInt64Array, BigUint64Array, Float64Array, Function, Object, Reflect, Uint32Array, Uint8Array};
use shardtally::journal::RowOp;
use shardtally::settings::SettingValue;
use shardtally_api::js::{self, PackedColumn};
use shardtally_api::naming::camel;
use shardtally_api::options::{OptionList, OptionValue, Options};
use shardtally_api::{AnyError, Entries, Naming, Record, Value};
use std::cell::RefCell;
use wasm_bindgen::{JsCast, JsValue};

/// A value thrown to JavaScript.
pub(crate) type JsResult<T> = Result<T, JsValue>;

thread_local! {
    /// `ShardtallyError`, the entries builder and the row builder (`setup`).
    static CALLBACKS: RefCell<Option<[Function; 3]>> = const { RefCell::new(None) };
    /// Field names (camelCase) and constant strings already turned into JS strings
    /// (decoding one is costly).
    static NAMES: RefCell<Vec<(&'static str, bool, JsValue)>> = const { RefCell::new(Vec::new()) };
}

/// Registers the error class and the builders of keyed lists and of row operations (called
/// once by the shared JS).
pub(crate) fn setup(error_class: Function, entries: Function, rows: Function) {
    CALLBACKS.with(|c| *c.borrow_mut() = Some([error_class, entries, rows]));
}

/// The registered functions, in `setup`'s order.
#[derive(Clone, Copy)]
enum Registered {
    ErrorClass,
    Entries,
    Rows,
}

/// Calls a registered function (`new` for the error class) with three values.
fn callback(which: Registered, a: &JsValue, b: &JsValue, c: &JsValue) -> JsValue {
    CALLBACKS
        .with(|cb| match &*cb.borrow() {
            Some(f) => match which {
                Registered::ErrorClass => Reflect::construct(&f[0], &Array::of3(a, b, c)),
                _ => f[which as usize].call3(&JsValue::NULL, a, b, c),
            },
            None => wasm_bindgen::throw_str("shardtally: setup() was not called"),
        })
        .unwrap_or_else(|e| e)
}

/// A constant string (a tag, a code) as a JS string, decoded once; in camelCase for a field name.
fn constant(s: &'static str, field: bool) -> JsValue {
    NAMES.with(|names| {
        let mut names = names.borrow_mut();
        if let Some((_, _, v)) = names.iter().find(|(n, f, _)| *f == field && (std::ptr::eq(*n, s) || *n == s)) {
            return v.clone();
        }
        let v = JsValue::from_str(&if field { camel(s) } else { s.to_owned() });
        names.push((s, field, v.clone()));
        v
    })
}

fn name(field: &'static str) -> JsValue {
    constant(field, true)
}

// ----- outputs -----

/// Any value of the public surface as JS: records as plain objects with camelCase fields
/// and a `type` tag, integers as numbers when safe (else bigints), bytes as `Uint8Array`,
/// entries packed and rebuilt by the shared JS.
pub(crate) fn to_js(v: &Value) -> JsValue {
    match v {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::U64(x) => int(i128::from(*x)),
        Value::I64(x) => int(i128::from(*x)),
        Value::Str(s) => JsValue::from_str(s),
        Value::Bytes(b) => Uint8Array::from(&b[..]).into(),
        Value::List(items) => items.iter().map(to_js).collect::<Array>().into(),
        Value::Record(r) => record(r).into(),
        Value::Entries(e) => entries(e),
    }
}

/// An integer: a `number` when safe, else a `bigint`.
pub(crate) fn int(v: i128) -> JsValue {
    if js::is_safe(v) {
        JsValue::from_f64(v as f64)
    } else {
        JsValue::from(v)
    }
}

fn record(r: &Record) -> Object {
    let o = Object::new();
    if let Some(tag) = r.tag {
        let _ = Reflect::set(&o, &name("type"), &constant(tag, false));
    }
    for (field, v) in &r.fields {
        let _ = Reflect::set(&o, &name(field), &to_js(v));
    }
    o
}

fn entries(e: &Entries) -> JsValue {
    if e.is_empty() {
        return Array::new().into();
    }
    let p = js::pack(e);
    let columns = Array::new();
    for (column, values) in p.columns {
        columns.push(&JsValue::from_str(&column));
        columns.push(&match values {
            PackedColumn::F64(v) => Float64Array::from(&v[..]).into(),
            PackedColumn::I64(v) => BigInt64Array::from(&v[..]).into(),
            PackedColumn::U64(v) => BigUint64Array::from(&v[..]).into(),
        });
    }
    callback(Registered::Entries, &JsValue::from_str(&p.joined), &Uint32Array::from(&p.lens[..]), &columns)
}

/// A value, or the error to throw.
pub(crate) fn out<V: Into<Value>, E: Into<AnyError>>(r: Result<V, E>) -> JsResult<JsValue> {
    r.map(|v| to_js(&v.into())).map_err(error)
}

/// Storage operations packed for one crossing (`shardtally_api::js::PackedRows`) and rebuilt
/// into `RowOp` objects by the shared JS.
pub(crate) fn row_ops(ops: impl Iterator<Item = RowOp>) -> JsValue {
    let p = js::pack_row_ops(ops);
    callback(Registered::Rows, &JsValue::from_str(&p.names), &Uint32Array::from(&p.lens[..]), &Uint8Array::from(&p.bytes[..]))
}

// ----- errors -----

/// A `ShardtallyError`: code, message, the fields in camelCase and `rejectsBatch`.
pub(crate) fn error(e: impl Into<AnyError>) -> JsValue {
    let view = e.into().view(Naming::Camel);
    let fields = record(&view.fields_record());
    let _ = Reflect::set(&fields, &name("rejects_batch"), &JsValue::from_bool(view.rejects_batch));
    callback(Registered::ErrorClass, &JsValue::from_str(&view.message), &constant(view.code, false), &fields)
}

/// A machine from the options the shared JS read (`names`, `values`), or the error to throw.
pub(crate) fn make<T, E: Into<AnyError>>(
    names: Vec<String>,
    values: Vec<JsValue>,
    f: impl FnOnce(&Options) -> Result<T, E>,
) -> JsResult<T> {
    f(&options(names, values)?).map_err(error)
}

/// Stored `(table, value)` pairs packed by the shared JS (`shardtally_api::js::split_pairs`).
pub(crate) fn pairs<'a>(tables: &'a str, lens: &[u32], bytes: &'a [u8]) -> JsResult<Vec<(&'a str, &'a [u8])>> {
    js::split_pairs(tables, lens, bytes).ok_or_else(|| internal("stored pairs"))
}

/// A value the shared JS never sends.
pub(crate) fn internal(what: &str) -> JsValue {
    JsValue::from_str(&format!("shardtally internal error: malformed {what}"))
}

// ----- arguments -----

/// A bigint as `i128`, saturated beyond 128 bits (it is out of every range then).
fn big(v: &JsValue) -> i128 {
    i128::try_from(v.clone()).unwrap_or_else(|_| if v.lt(&JsValue::from(0)) { i128::MIN } else { i128::MAX })
}

/// A time in milliseconds.
pub(crate) fn time(ms: f64) -> JsResult<shardtally::Timestamp> {
    js::time(ms).map_err(error)
}

/// A delta: a safe-integer number or a bigint in the signed 64-bit range.
pub(crate) fn delta(v: &JsValue) -> JsResult<i64> {
    match v.as_f64() {
        Some(f) => js::delta(f),
        None => js::delta_big(big(v)),
    }
    .map_err(error)
}

/// An unsigned argument (a number or a bigint) within `0 ..= max`.
pub(crate) fn uint(argument: &str, v: &JsValue, max: u64) -> JsResult<u64> {
    match v.as_f64() {
        Some(f) => js::uint(argument, f, max),
        None => js::uint_big(argument, big(v), max),
    }
    .map_err(error)
}

/// A `u32` argument given as a number.
pub(crate) fn u32(argument: &str, v: f64) -> JsResult<u32> {
    js::uint(argument, v, u64::from(u32::MAX)).map(|v| v as u32).map_err(error)
}

/// Deltas (a `Float64Array`, a `BigInt64Array` or an array of numbers and bigints) and a
/// bound on their summed magnitude.
pub(crate) fn deltas(v: &JsValue) -> JsResult<(Vec<i64>, u128)> {
    let mut out = Vec::new();
    let largest = if let Some(a) = v.dyn_ref::<Float64Array>() {
        js::deltas(&a.to_vec(), &mut out).map_err(error)?
    } else {
        out = match v.dyn_ref::<BigInt64Array>() {
            Some(a) => a.to_vec(),
            None => v.dyn_ref::<Array>().ok_or_else(|| internal("deltas"))?.iter().map(|d| delta(&d)).collect::<JsResult<_>>()?,
        };
        out.iter().map(|d| d.unsigned_abs()).max().unwrap_or(0)
    };
    let magnitude = u128::from(largest) * out.len() as u128;
    Ok((out, magnitude))
}

/// Options from the shared JS: names and values (primitives; `[names, values]` for a
/// nested object; `{ other: typeName }` for any other value).
pub(crate) fn options(names: Vec<String>, values: Vec<JsValue>) -> JsResult<OptionList> {
    if names.len() != values.len() {
        return Err(internal("options"));
    }
    names.into_iter().zip(values).map(|(n, v)| Ok((n, option(&v)?))).collect()
}

fn option(v: &JsValue) -> JsResult<OptionValue> {
    Ok(OptionValue::Value(if v.is_null() || v.is_undefined() {
        SettingValue::Null
    } else if let Some(f) = v.as_f64() {
        js::setting(f)
    } else if let Some(b) = v.as_bool() {
        SettingValue::Bool(b)
    } else if let Some(s) = v.as_string() {
        SettingValue::Str(s)
    } else if v.is_bigint() {
        SettingValue::Int(big(v))
    } else if let Some(pair) = v.dyn_ref::<Array>() {
        let names = pair.get(0).dyn_into::<Array>().map_err(|_| internal("nested options"))?.iter().filter_map(|n| n.as_string()).collect();
        let values = pair.get(1).dyn_into::<Array>().map_err(|_| internal("nested options"))?.to_vec();
        return Ok(OptionValue::Object(options(names, values)?));
    } else {
        SettingValue::Other(Reflect::get(v, &JsValue::from_str("other"))?.as_string().unwrap_or_default())
    }))
}
