//! Output values: what a binding turns into its language's objects, with one converter per
//! binding instead of one per output type.
//!
//! A [`Record`] is a named object with a stable `type` tag (for JS) and snake_case fields in
//! a fixed order; [`Entries`] is a keyed list (batch entries, totals) kept in columns so the
//! JS bindings can cross the boundary once per list, not once per entry.

use std::sync::Arc;

/// A value of the public surface.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `None` / `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An unsigned integer (JS: a `number` when safe, else a `bigint`).
    U64(u64),
    /// A signed integer (JS: a `number` when safe, else a `bigint`).
    I64(i64),
    /// A string.
    Str(Arc<str>),
    /// Bytes (an encoded message or snapshot).
    Bytes(Vec<u8>),
    /// A list.
    List(Vec<Value>),
    /// A named object.
    Record(Record),
    /// A keyed list in columns.
    Entries(Entries),
}

/// A named object: `class` is the type's name in every language (`"FlushOutcome"`), `tag`
/// the JS `type` field (`"sent"`), `fields` the snake_case fields in declaration order.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The type's name (a Python class, a TypeScript interface).
    pub class: &'static str,
    /// The `type` tag of a tagged union member, if it is one.
    pub tag: Option<&'static str>,
    /// Fields in declaration order.
    pub fields: Vec<(&'static str, Value)>,
}

impl Record {
    /// A record with no fields yet.
    pub fn new(class: &'static str, tag: Option<&'static str>) -> Record {
        Record { class, tag, fields: Vec::new() }
    }

    /// Adds a field.
    #[must_use]
    pub fn with(mut self, name: &'static str, value: impl Into<Value>) -> Record {
        self.fields.push((name, value.into()));
        self
    }

    /// The value of a field.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// A keyed list: `keys[i]` with `columns[c].1[i]` for every column. Each entry is an object
/// of class `class` with the field `key` then one field per column.
#[derive(Clone, Debug, PartialEq)]
pub struct Entries {
    /// The entries' type name (`"BatchEntry"`, `"KeyTotal"`).
    pub class: &'static str,
    /// The keys, in order.
    pub keys: Vec<Arc<str>>,
    /// Named value columns, each as long as `keys`.
    pub columns: Vec<(&'static str, Column)>,
}

/// One column of [`Entries`].
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    /// Unsigned integers.
    U64(Vec<u64>),
    /// Signed integers.
    I64(Vec<i64>),
}

impl Column {
    /// The value at `i` (callers index within `keys.len()`).
    pub fn get(&self, i: usize) -> Value {
        match self {
            Column::U64(v) => Value::U64(v[i]),
            Column::I64(v) => Value::I64(v[i]),
        }
    }
}

impl Entries {
    /// Entries of one `(key, value)` column.
    pub fn pairs<'a, V: Copy + 'a>(class: &'static str, column: &'static str, items: impl IntoIterator<Item = (&'a Arc<str>, V)>) -> Entries
    where
        Column: From<Vec<V>>,
    {
        let (keys, values): (Vec<Arc<str>>, Vec<V>) = items.into_iter().map(|(k, v)| (k.clone(), v)).unzip();
        Entries { class, keys, columns: vec![(column, Column::from(values))] }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The entries as records (for bindings that build one object per entry).
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        (0..self.keys.len()).map(move |i| {
            let mut r = Record::new(self.class, None).with("key", Value::Str(self.keys[i].clone()));
            for (name, column) in &self.columns {
                r.fields.push((name, column.get(i)));
            }
            r
        })
    }
}

impl From<Vec<u64>> for Column {
    fn from(v: Vec<u64>) -> Column {
        Column::U64(v)
    }
}

impl From<Vec<i64>> for Column {
    fn from(v: Vec<i64>) -> Column {
        Column::I64(v)
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident $(as $cast:ty)?),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::$variant(v $(as $cast)?)
            }
        }
    )*};
}
value_from!(bool => Bool, u64 => U64, u32 => U64 as u64, usize => U64 as u64, i64 => I64, Vec<u8> => Bytes, Record => Record, Entries => Entries);

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Str(Arc::from(v))
    }
}

impl From<Arc<str>> for Value {
    fn from(v: Arc<str>) -> Value {
        Value::Str(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl Value {
    /// The value as canonical JSON, the form golden traces compare in every runtime:
    /// records become objects with a `"type"` field when tagged and their fields in
    /// snake_case, entries become lists of objects, bytes become lowercase hex strings, and
    /// integers beyond `2^53 - 1` in magnitude become decimal strings.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut String) {
        use std::fmt::Write;
        const SAFE: u64 = (1 << 53) - 1;
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::U64(v) if *v <= SAFE => {
                let _ = write!(out, "{v}");
            }
            Value::I64(v) if v.unsigned_abs() <= SAFE => {
                let _ = write!(out, "{v}");
            }
            Value::U64(v) => {
                let _ = write!(out, "\"{v}\"");
            }
            Value::I64(v) => {
                let _ = write!(out, "\"{v}\"");
            }
            Value::Str(s) => json_string(s, out),
            Value::Bytes(b) => {
                out.push('"');
                for byte in b {
                    let _ = write!(out, "{byte:02x}");
                }
                out.push('"');
            }
            Value::List(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
            Value::Record(r) => {
                out.push('{');
                let mut first = true;
                if let Some(tag) = r.tag {
                    out.push_str("\"type\":");
                    json_string(tag, out);
                    first = false;
                }
                for (name, v) in &r.fields {
                    if !std::mem::take(&mut first) {
                        out.push(',');
                    }
                    json_string(name, out);
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
            Value::Entries(e) => Value::List(e.records().map(Value::Record).collect()).write_json(out),
        }
    }
}

fn json_string(s: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_pins_the_encoding() {
        let entries = Entries {
            class: "BatchEntry",
            keys: vec![Arc::from("a\"b"), Arc::from("c")],
            columns: vec![("generation", Column::U64(vec![0, 1])), ("delta", Column::I64(vec![-5, i64::MIN]))],
        };
        let r = Record::new("BatchOutput", Some("batch"))
            .with("seq", 1u64)
            .with("bytes", vec![0u8, 255])
            .with("entries", entries)
            .with("none", Value::Null)
            .with("big", u64::MAX);
        assert_eq!(
            r.clone().into_json(),
            concat!(
                r#"{"type":"batch","seq":1,"bytes":"00ff","entries":[{"key":"a\"b","generation":0,"delta":-5},"#,
                r#"{"key":"c","generation":1,"delta":"-9223372036854775808"}],"none":null,"big":"18446744073709551615"}"#
            )
        );
        let parsed: serde_json::Value = serde_json::from_str(&r.into_json()).unwrap();
        assert_eq!(parsed["entries"][1]["generation"], 1);
    }

    impl Record {
        fn into_json(self) -> String {
            Value::Record(self).to_json()
        }
    }
}
