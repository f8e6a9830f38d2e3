//! Conversions between JavaScript and the public surface of `shardtally-api`: one converter
//! for every output (`Value` → JS), one for every error (`ErrorView` → `ShardtallyError`),
//! options as `(names, values)`, number arguments checked by `shardtally_api::js`, and the
//! packed forms of storage rows (`RowOp`s out, stored pairs in).

use napi::bindgen_prelude::{
    Array, BigInt, BigInt64ArraySlice, BigUint64ArraySlice, Either, Either3, Either6, Float64ArraySlice, FnArgs, Function, FunctionRef,
    JsObjectValue, Null, Object, ToNapiValue, Uint32ArraySlice, Uint8ArraySlice, Unknown,
};
use napi::{sys, Env, JsValue, Result};
use shardtally::journal::RowOp;
use shardtally::settings::SettingValue;
use shardtally_api::js::{self, PackedColumn};
use shardtally_api::naming::camel;
use shardtally_api::options::{OptionList, OptionValue, Options};
use shardtally_api::{AnyError, Entries, Naming, Record, Value};
use std::cell::RefCell;
use std::ffi::CString;

/// A JS function kept across calls, called with raw values.
type Callback = FunctionRef<FnArgs<(sys::napi_value, sys::napi_value, sys::napi_value)>, Unknown<'static>>;

thread_local! {
    /// `ShardtallyError`, the entries builder and the row builder of this thread's JS
    /// environment (`setup`).
    static CALLBACKS: RefCell<Option<[Callback; 3]>> = const { RefCell::new(None) };
    /// Field names in camelCase as C strings, made once each (napi takes C strings).
    static NAMES: RefCell<Vec<(&'static str, CString)>> = const { RefCell::new(Vec::new()) };
}

/// Sets field `name` (snake_case, set in camelCase) of `o`.
fn set_field(o: &mut Object<'_>, name: &'static str, value: Unknown<'_>) -> Result<()> {
    NAMES.with(|names| {
        let mut names = names.borrow_mut();
        let i = match names.iter().position(|(n, _)| std::ptr::eq(*n, name) || *n == name) {
            Some(i) => i,
            None => {
                names.push((name, CString::new(camel(name))?));
                names.len() - 1
            }
        };
        o.set_c_named_property(&names[i].1, value)
    })
}

/// A JS function as `setup` receives it.
pub(crate) type JsFunction<'a> = Function<'a, FnArgs<(sys::napi_value, sys::napi_value, sys::napi_value)>, Unknown<'static>>;

/// Registers the error class and the builders of keyed lists and of row operations (called
/// once by the shared JS).
pub(crate) fn setup(error: &JsFunction<'_>, entries: &JsFunction<'_>, rows: &JsFunction<'_>) -> Result<()> {
    let refs = [error.create_ref()?, entries.create_ref()?, rows.create_ref()?];
    CALLBACKS.with(|c| *c.borrow_mut() = Some(refs));
    Ok(())
}

/// The registered functions, in `setup`'s order.
#[derive(Clone, Copy)]
enum Registered {
    ErrorClass,
    Entries,
    Rows,
}

/// Calls a registered function (`new` for the error class) with three values.
fn callback<'e>(env: &'e Env, which: Registered, args: [Unknown<'e>; 3]) -> Result<Unknown<'e>> {
    CALLBACKS.with(|c| {
        let c = c.borrow();
        let f = c.as_ref().ok_or_else(|| internal("setup: it was not called"))?[which as usize].borrow_back(env)?;
        let args = FnArgs::from((args[0].raw(), args[1].raw(), args[2].raw()));
        match which {
            Registered::ErrorClass => f.new_instance(args),
            _ => f.call(args),
        }
    })
}

// ----- outputs -----

/// Any value of the public surface as JS: records as plain objects with camelCase fields
/// and a `type` tag, integers as numbers when safe (else bigints), bytes as `Uint8Array`,
/// entries packed and rebuilt by the shared JS.
pub(crate) fn to_js<'e>(env: &'e Env, v: &Value) -> Result<Unknown<'e>> {
    match v {
        Value::Null => Null.into_unknown(env),
        Value::Bool(b) => (*b).into_unknown(env),
        Value::U64(x) => int(env, i128::from(*x)),
        Value::I64(x) => int(env, i128::from(*x)),
        Value::Str(s) => (&**s).into_unknown(env),
        Value::Bytes(b) => Uint8ArraySlice::copy_from(env, b)?.into_unknown(env),
        Value::List(items) => Array::from_vec(env, items.iter().map(|i| to_js(env, i)).collect::<Result<Vec<_>>>()?)?.into_unknown(env),
        Value::Record(r) => record(env, r).map(|o| o.to_unknown()),
        Value::Entries(e) => entries(env, e),
    }
}

/// An integer: a `number` when safe, else a `bigint`.
pub(crate) fn int(env: &Env, v: i128) -> Result<Unknown<'_>> {
    if js::is_safe(v) {
        (v as f64).into_unknown(env)
    } else {
        v.into_unknown(env)
    }
}

fn record<'e>(env: &'e Env, r: &Record) -> Result<Object<'e>> {
    let mut o = Object::new(env)?;
    if let Some(tag) = r.tag {
        set_field(&mut o, "type", tag.into_unknown(env)?)?;
    }
    for (name, v) in &r.fields {
        set_field(&mut o, name, to_js(env, v)?)?;
    }
    Ok(o)
}

fn entries<'e>(env: &'e Env, e: &Entries) -> Result<Unknown<'e>> {
    if e.is_empty() {
        return Array::from_vec(env, Vec::<Null>::new())?.into_unknown(env);
    }
    let p = js::pack(e);
    let mut columns = Vec::with_capacity(2 * p.columns.len());
    for (name, column) in p.columns {
        columns.push(name.into_unknown(env)?);
        columns.push(match column {
            PackedColumn::F64(v) => Float64ArraySlice::copy_from(env, v)?.into_unknown(env)?,
            PackedColumn::I64(v) => BigInt64ArraySlice::copy_from(env, v)?.into_unknown(env)?,
            PackedColumn::U64(v) => BigUint64ArraySlice::copy_from(env, v)?.into_unknown(env)?,
        });
    }
    let joined = p.joined.into_unknown(env)?;
    let lens = Uint32ArraySlice::copy_from(env, p.lens)?.into_unknown(env)?;
    callback(env, Registered::Entries, [joined, lens, Array::from_vec(env, columns)?.into_unknown(env)?])
}

/// A value, or the error to throw.
pub(crate) fn out<'e, V: Into<Value>, E: Into<AnyError>>(env: &'e Env, r: std::result::Result<V, E>) -> Result<Unknown<'e>> {
    match r {
        Ok(v) => to_js(env, &v.into()),
        Err(e) => Err(error(env, e)),
    }
}

/// Storage operations packed for one crossing (`shardtally_api::js::PackedRows`) and rebuilt
/// into `RowOp` objects by the shared JS.
pub(crate) fn row_ops(env: &Env, ops: impl Iterator<Item = RowOp>) -> Result<Unknown<'_>> {
    let p = js::pack_row_ops(ops);
    let args = [
        p.names.into_unknown(env)?,
        Uint32ArraySlice::copy_from(env, p.lens)?.into_unknown(env)?,
        Uint8ArraySlice::copy_from(env, p.bytes)?.into_unknown(env)?,
    ];
    callback(env, Registered::Rows, args)
}

// ----- errors -----

/// A `ShardtallyError`: code, message, the fields in camelCase and `rejectsBatch`.
pub(crate) fn error_value(env: &Env, e: impl Into<AnyError>) -> Result<Unknown<'_>> {
    let view = e.into().view(Naming::Camel);
    let mut fields = record(env, &view.fields_record())?;
    set_field(&mut fields, "rejects_batch", view.rejects_batch.into_unknown(env)?)?;
    callback(env, Registered::ErrorClass, [view.message.as_str().into_unknown(env)?, view.code.into_unknown(env)?, fields.to_unknown()])
}

/// A `ShardtallyError` to throw.
pub(crate) fn error(env: &Env, e: impl Into<AnyError>) -> napi::Error {
    match error_value(env, e) {
        Ok(v) => napi::Error::from(v),
        Err(e) => e,
    }
}

// ----- arguments -----

/// A JS number or bigint argument.
pub(crate) type Num = Either<f64, BigInt>;

/// A bigint as `i128`, saturated beyond 128 bits (it is out of every range then).
fn big(b: &BigInt) -> i128 {
    match b.get_i128() {
        (v, true) => v,
        _ if b.sign_bit => i128::MIN,
        _ => i128::MAX,
    }
}

/// A time in milliseconds.
pub(crate) fn time(env: &Env, ms: f64) -> Result<shardtally::Timestamp> {
    js::time(ms).map_err(|e| error(env, e))
}

/// A delta: a safe-integer number or a bigint in the signed 64-bit range.
pub(crate) fn delta(env: &Env, v: &Num) -> Result<i64> {
    match v {
        Either::A(f) => js::delta(*f),
        Either::B(b) => js::delta_big(big(b)),
    }
    .map_err(|e| error(env, e))
}

/// An unsigned argument within `0 ..= max`.
pub(crate) fn uint(env: &Env, argument: &str, v: &Num, max: u64) -> Result<u64> {
    match v {
        Either::A(f) => js::uint(argument, *f, max),
        Either::B(b) => js::uint_big(argument, big(b), max),
    }
    .map_err(|e| error(env, e))
}

/// A `u32` argument given as a number.
pub(crate) fn u32(env: &Env, argument: &str, v: f64) -> Result<u32> {
    js::uint(argument, v, u64::from(u32::MAX)).map(|v| v as u32).map_err(|e| error(env, e))
}

/// Deltas: a `Float64Array`, a `BigInt64Array` or an array of numbers and bigints.
pub(crate) type Deltas<'a> = Either3<Float64ArraySlice<'a>, BigInt64ArraySlice<'a>, Array<'a>>;

/// The deltas and a bound on their summed magnitude.
pub(crate) fn deltas(env: &Env, v: Deltas<'_>, out: &mut Vec<i64>) -> Result<u128> {
    let largest = match v {
        Either3::A(slice) => js::deltas(&slice, out).map_err(|e| error(env, e))?,
        Either3::B(slice) => {
            out.clear();
            out.extend_from_slice(&slice);
            out.iter().map(|d| d.unsigned_abs()).max().unwrap_or(0)
        }
        Either3::C(array) => {
            out.clear();
            for i in 0..array.len() {
                let v: Num = array.get(i)?.ok_or_else(|| internal("deltas"))?;
                out.push(delta(env, &v)?);
            }
            out.iter().map(|d| d.unsigned_abs()).max().unwrap_or(0)
        }
    };
    Ok(u128::from(largest) * out.len() as u128)
}

/// Options from the shared JS: names and values (primitives; `[names, values]` for a
/// nested object; `{ other: typeName }` for any other value).
pub(crate) fn options(names: Vec<String>, values: &Array<'_>) -> Result<OptionList> {
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let v: OptionJs<'_> = values.get(i as u32)?.ok_or_else(|| internal("options"))?;
            Ok((name, option(v)?))
        })
        .collect()
}

/// One option value as the shared JS passes it.
type OptionJs<'a> = Option<Either6<f64, bool, String, BigInt, Array<'a>, Object<'a>>>;

fn option(v: OptionJs<'_>) -> Result<OptionValue> {
    Ok(OptionValue::Value(match v {
        None => SettingValue::Null,
        Some(Either6::A(f)) => js::setting(f),
        Some(Either6::B(b)) => SettingValue::Bool(b),
        Some(Either6::C(s)) => SettingValue::Str(s),
        Some(Either6::D(b)) => SettingValue::Int(big(&b)),
        Some(Either6::E(pair)) => {
            let names: Vec<String> = pair.get(0)?.unwrap_or_default();
            let values: Array<'_> = pair.get(1)?.ok_or_else(|| internal("nested options"))?;
            return Ok(OptionValue::Object(options(names, &values)?));
        }
        Some(Either6::F(o)) => SettingValue::Other(o.get::<String>("other")?.unwrap_or_default()),
    }))
}

/// A machine from the options the shared JS read (`names`, `values`), or the error to throw.
pub(crate) fn make<T, E: Into<AnyError>>(
    env: &Env,
    names: Vec<String>,
    values: &Array<'_>,
    f: impl FnOnce(&Options) -> std::result::Result<T, E>,
) -> Result<T> {
    f(&options(names, values)?).map_err(|e| error(env, e))
}

/// Stored `(table, value)` pairs packed by the shared JS (`shardtally_api::js::split_pairs`).
pub(crate) fn pairs<'a>(tables: &'a str, lens: &[u32], bytes: &'a [u8]) -> Result<Vec<(&'a str, &'a [u8])>> {
    js::split_pairs(tables, lens, bytes).ok_or_else(|| internal("stored pairs"))
}

/// A value the shared JS never sends.
pub(crate) fn internal(what: &str) -> napi::Error {
    napi::Error::from_reason(format!("shardtally internal error: malformed {what}"))
}
