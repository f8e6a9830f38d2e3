//! Compact forms of the large outputs (batches and publishes) for `index.js`, which turns
//! them into the documented plain objects in JavaScript. Creating one JavaScript object per
//! entry through Node-API costs about a microsecond; the compact form is one string of
//! keys, their UTF-16 lengths and a `Float64Array` of values, so a batch crosses in a fixed
//! number of calls. Values beyond `2^53 - 1` fall back to the full entries. Arrays are
//! copied into JavaScript-owned memory (cheaper than external buffers with finalizers).

use crate::convert::{int, MAX_SAFE_INT};
use crate::output::{BatchEntry, KeyTotal};
use napi::bindgen_prelude::{Float64ArraySlice, Object, Uint32ArraySlice, Uint8ArraySlice};
use napi::{Env, Result};
use shardtally as st;

/// Keys concatenated, with their lengths in UTF-16 code units (JavaScript string lengths).
fn pack_keys<'a>(keys: impl Iterator<Item = &'a str>) -> (String, Vec<u32>) {
    let mut joined = String::new();
    let mut lens = Vec::new();
    for key in keys {
        joined.push_str(key);
        let units = if key.is_ascii() { key.len() } else { key.encode_utf16().count() };
        lens.push(u32::try_from(units).unwrap_or(u32::MAX));
    }
    (joined, lens)
}

/// The values as `f64` when every one is a safe integer.
fn safe_values(values: impl Iterator<Item = i128>) -> Option<Vec<f64>> {
    values.map(|v| (v.unsigned_abs() <= u128::from(MAX_SAFE_INT)).then_some(v as f64)).collect()
}

/// Sets `joined`, `lens` and the value arrays, or `entries` when a value is not safe.
fn set_batch_fields(env: &Env, o: &mut Object<'_>, b: &st::Batch) -> Result<()> {
    o.set("bytes", Uint8ArraySlice::copy_from(env, b.encode())?)?;
    o.set("shard", b.from().shard)?;
    o.set("incarnation", int(b.from().incarnation))?;
    o.set("seq", int(b.seq()))?;
    o.set("reason", b.reason().as_str())?;
    let entries = b.entries();
    let generations = safe_values(entries.iter().map(|e| i128::from(e.generation())));
    let deltas = safe_values(entries.iter().map(|e| i128::from(e.delta())));
    match (generations, deltas) {
        (Some(generations), Some(deltas)) => {
            let (joined, lens) = pack_keys(entries.iter().map(st::BatchEntry::key));
            o.set("joined", joined)?;
            o.set("lens", Uint32ArraySlice::copy_from(env, lens)?)?;
            o.set("generations", Float64ArraySlice::copy_from(env, generations)?)?;
            o.set("values", Float64ArraySlice::copy_from(env, deltas)?)
        }
        _ => o.set("entries", entries.iter().map(BatchEntry::from).collect::<Vec<_>>()),
    }
}

/// A shard batch, compact.
pub(crate) fn batch<'e>(env: &'e Env, b: &st::Batch) -> Result<Object<'e>> {
    let mut o = Object::new(env)?;
    o.set("type", "batch")?;
    set_batch_fields(env, &mut o, b)?;
    Ok(o)
}

/// A global output, compact (`None` for kinds this binding does not know yet).
pub(crate) fn global_output<'e>(env: &'e Env, out: &st::GlobalOutput) -> Result<Option<Object<'e>>> {
    let mut o = Object::new(env)?;
    match out {
        st::GlobalOutput::Publish(p) => {
            o.set("type", "publish")?;
            o.set("version", int(p.version))?;
            o.set("mode", p.mode.as_str())?;
            o.set("reason", p.reason.as_str())?;
            match safe_values(p.entries.iter().map(|(_, t)| i128::from(*t))) {
                Some(totals) => {
                    let (joined, lens) = pack_keys(p.entries.iter().map(|(k, _)| &**k));
                    o.set("joined", joined)?;
                    o.set("lens", Uint32ArraySlice::copy_from(env, lens)?)?;
                    o.set("values", Float64ArraySlice::copy_from(env, totals)?)?;
                }
                None => {
                    let entries: Vec<KeyTotal> = p.entries.iter().map(|(k, t)| KeyTotal { key: k.to_string(), total: int(*t) }).collect();
                    o.set("entries", entries)?;
                }
            }
        }
        st::GlobalOutput::Forward(b) => {
            o.set("type", "forward")?;
            set_batch_fields(env, &mut o, b)?;
        }
        _ => return Ok(None),
    }
    Ok(Some(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_pack_with_javascript_lengths() {
        let (joined, lens) = pack_keys(["a", "é€", "😀x"].into_iter());
        assert_eq!(joined, "aé€😀x");
        assert_eq!(lens, vec![1, 2, 3]);
    }

    #[test]
    fn unsafe_values_fall_back() {
        assert_eq!(safe_values([1i128, -(1 << 53) + 1].into_iter()), Some(vec![1.0, -9_007_199_254_740_991.0]));
        assert_eq!(safe_values([1i128, 1 << 53].into_iter()), None);
    }
}
