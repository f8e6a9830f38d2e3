//! Settings as data: every machine's configuration lists its settings and sets them by name.
//!
//! Each configuration type (`ShardConfig`, `GlobalConfig`, ...) has a `SETTINGS` table —
//! name, kind, documentation line — and its builder has a `set(name, value)` that converts a
//! [`SettingValue`] with the setting's [`SettingKind`]. Language bindings use this to turn a
//! keyword argument or an options object into a configuration without a per-setting line of
//! glue, and to reject an unknown name instead of silently keeping a default.
//!
//! ```
//! use shardtally::{settings::SettingValue, ShardConfig};
//!
//! let mut builder = ShardConfig::builder();
//! builder.set("flush_after_requests", &SettingValue::Int(500))?;
//! assert_eq!(builder.build()?.flush_after_requests(), 500);
//! assert!(ShardConfig::builder().set("flush_after_request", &SettingValue::Int(1)).is_err());
//! assert_eq!(ShardConfig::SETTINGS[0].name, "flush_after_requests");
//! # Ok::<(), shardtally::ConfigError>(())
//! ```

use std::fmt;

/// A setting's value as a binding hands it over, converted from its language's value.
#[derive(Clone, Debug, PartialEq)]
pub enum SettingValue {
    /// `None` / `null` / `undefined`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer (Python `int`, a JS safe-integer `number` or a `bigint`).
    Int(i128),
    /// A number that is not an integer (rejected by integer settings).
    Float(f64),
    /// A string.
    Str(String),
    /// A value of another type, by its type name in the caller's language.
    Other(String),
}

impl fmt::Display for SettingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingValue::Null => f.write_str("null"),
            SettingValue::Bool(b) => write!(f, "{b}"),
            SettingValue::Int(i) => write!(f, "{i}"),
            SettingValue::Float(x) => write!(f, "{x}"),
            SettingValue::Str(s) => write!(f, "{s:?}"),
            SettingValue::Other(t) => write!(f, "a value of type {t}"),
        }
    }
}

/// What values a setting takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingKind {
    /// An integer in `min..=max`.
    Int {
        /// The smallest value.
        min: i128,
        /// The largest value.
        max: i128,
    },
    /// An integer in `min..=max`, or null for "not set".
    OptionalInt {
        /// The smallest value.
        min: i128,
        /// The largest value.
        max: i128,
    },
    /// A boolean.
    Bool,
    /// One of these strings.
    Choice(&'static [&'static str]),
}

impl SettingKind {
    /// What a value must be, for error messages (`"an integer in 0..=255"`).
    pub fn expected(self) -> String {
        match self {
            SettingKind::Int { min, max } => format!("an integer in {min}..={max}"),
            SettingKind::OptionalInt { min, max } => format!("null or an integer in {min}..={max}"),
            SettingKind::Bool => "a boolean".to_owned(),
            SettingKind::Choice(names) => {
                let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
                format!("one of {}", quoted.join(", "))
            }
        }
    }
}

/// One setting of a machine's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettingInfo {
    /// The name, snake_case (bindings render it in their idiom).
    pub name: &'static str,
    /// What values it takes.
    pub kind: SettingKind,
    /// Its documentation as written on the field (lines joined with `\n`; it states the
    /// default). [`SettingInfo::doc_text`] gives it as one line.
    pub doc: &'static str,
}

impl SettingInfo {
    /// The documentation as one line of single-spaced words.
    pub fn doc_text(&self) -> String {
        self.doc.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// A configuration builder driven by name: what bindings use to build any machine's
/// configuration from their language's options. Implemented by every configuration's builder.
pub trait ConfigBuilder: Sized {
    /// The configuration it builds.
    type Config;
    /// The settings it takes.
    const SETTINGS: &'static [SettingInfo];
    /// A builder starting from the defaults.
    fn new() -> Self;
    /// Sets one setting by its snake_case name (see the builders' `set`).
    fn set(&mut self, name: &str, value: &SettingValue) -> Result<(), crate::ConfigError>;
    /// Validates and returns the configuration.
    fn build(self) -> Result<Self::Config, crate::ConfigError>;
}

/// A Rust type a setting can have: converts from and to [`SettingValue`].
pub trait SettingType: Sized {
    /// The values it takes.
    const KIND: SettingKind;
    /// Converts a value, or `None` when it is not one this type takes.
    fn from_setting(value: &SettingValue) -> Option<Self>;
    /// The value as a [`SettingValue`].
    fn to_setting(&self) -> SettingValue;
}

macro_rules! int_setting {
    ($($t:ty => $max:expr),*) => {$(
        impl SettingType for $t {
            const KIND: SettingKind = SettingKind::Int { min: <$t>::MIN as i128, max: $max as i128 };
            fn from_setting(value: &SettingValue) -> Option<Self> {
                match value {
                    SettingValue::Int(i) if *i <= $max as i128 => <$t>::try_from(*i).ok(),
                    _ => None,
                }
            }
            fn to_setting(&self) -> SettingValue {
                SettingValue::Int(*self as i128)
            }
        }
    )*};
}

// `usize` settings (table bounds) take the `u32` range on every platform, so a value is
// accepted or rejected the same way on 64-bit hosts and on wasm32.
int_setting!(u8 => u8::MAX, u16 => u16::MAX, u32 => u32::MAX, u64 => u64::MAX, usize => u32::MAX, i32 => i32::MAX, i64 => i64::MAX);

impl SettingType for bool {
    const KIND: SettingKind = SettingKind::Bool;
    fn from_setting(value: &SettingValue) -> Option<Self> {
        match value {
            SettingValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
    fn to_setting(&self) -> SettingValue {
        SettingValue::Bool(*self)
    }
}

impl SettingType for Option<u32> {
    const KIND: SettingKind = SettingKind::OptionalInt { min: 0, max: u32::MAX as i128 };
    fn from_setting(value: &SettingValue) -> Option<Self> {
        match value {
            SettingValue::Null => Some(None),
            v => u32::from_setting(v).map(Some),
        }
    }
    fn to_setting(&self) -> SettingValue {
        self.map_or(SettingValue::Null, |v| SettingValue::Int(i128::from(v)))
    }
}

/// Implements [`SettingType`] for a field-less enum with stable lower-case names
/// (`as_str`), listed in `$names` in the order of `$variants`.
macro_rules! choice_setting {
    ($t:ty, [$($variant:path => $name:literal),* $(,)?]) => {
        impl $crate::settings::SettingType for $t {
            const KIND: $crate::settings::SettingKind = $crate::settings::SettingKind::Choice(&[$($name),*]);
            fn from_setting(value: &$crate::settings::SettingValue) -> Option<Self> {
                match value {
                    $( $crate::settings::SettingValue::Str(s) if s == $name => Some($variant), )*
                    _ => None,
                }
            }
            fn to_setting(&self) -> $crate::settings::SettingValue {
                $crate::settings::SettingValue::Str(match self { $( $variant => $name, )* }.to_owned())
            }
        }
    };
}
pub(crate) use choice_setting;

/// Defines a configuration struct with defaults, getters, a `SETTINGS` table, `settings()`,
/// and a builder with one setter per setting plus `set(name, value)`. Validation lives in
/// each builder's hand-written `build()`. Each field's doc comment is its documentation in
/// the table, so it should state the default.
macro_rules! config {
    (
        $(#[$meta:meta])*
        $name:ident, $builder:ident {
            $( #[doc = $doc:literal] $(#[doc = $more:literal])* $field:ident : $ty:ty = $default:expr, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name {
            $( $field: $ty, )*
        }

        impl $name {
            /// Every setting: name, kind and documentation, in declaration order.
            pub const SETTINGS: &'static [$crate::settings::SettingInfo] = &[
                $( $crate::settings::SettingInfo {
                    name: stringify!($field),
                    kind: <$ty as $crate::settings::SettingType>::KIND,
                    doc: concat!($doc $(, "\n", $more)*),
                }, )*
            ];

            /// A builder starting from the defaults.
            pub fn builder() -> $builder {
                $builder { inner: Self::default() }
            }

            /// A builder starting from these settings.
            pub fn to_builder(&self) -> $builder {
                $builder { inner: *self }
            }

            /// Every setting's value, in the order of `SETTINGS`.
            pub fn settings(&self) -> Vec<(&'static str, $crate::settings::SettingValue)> {
                vec![ $( (stringify!($field), $crate::settings::SettingType::to_setting(&self.$field)), )* ]
            }

            $( #[doc = $doc] $(#[doc = $more])* pub fn $field(&self) -> $ty { self.$field } )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $( $field: $default, )* }
            }
        }

        #[doc = concat!("Builds a validated [`", stringify!($name), "`]. Each setter is documented on the getter of the same name.")]
        #[derive(Clone, Copy, Debug)]
        pub struct $builder {
            inner: $name,
        }

        impl $builder {
            $(
                #[doc = concat!("Sets `", stringify!($field), "` (see [`", stringify!($name), "::", stringify!($field), "`]).")]
                #[must_use]
                pub fn $field(mut self, value: $ty) -> Self {
                    self.inner.$field = value;
                    self
                }
            )*

            /// Sets one setting by its snake_case name. Errors (nothing changes):
            /// [`ConfigError::UnknownSetting`](crate::ConfigError::UnknownSetting) and
            /// [`ConfigError::InvalidSetting`](crate::ConfigError::InvalidSetting) (a value of
            /// the wrong type or outside the type's range; bounds are checked by `build()`).
            pub fn set(&mut self, name: &str, value: &$crate::settings::SettingValue) -> Result<(), $crate::ConfigError> {
                match name {
                    $( stringify!($field) => {
                        self.inner.$field = $crate::settings::SettingType::from_setting(value).ok_or_else(|| {
                            $crate::ConfigError::InvalidSetting {
                                field: stringify!($field),
                                expected: <$ty as $crate::settings::SettingType>::KIND.expected(),
                                value: value.to_string(),
                            }
                        })?;
                        Ok(())
                    } )*
                    _ => Err($crate::ConfigError::UnknownSetting { name: name.to_owned(), suggestion: None }),
                }
            }
        }

        impl $crate::settings::ConfigBuilder for $builder {
            type Config = $name;
            const SETTINGS: &'static [$crate::settings::SettingInfo] = $name::SETTINGS;
            fn new() -> Self {
                $name::builder()
            }
            fn set(&mut self, name: &str, value: &$crate::settings::SettingValue) -> Result<(), $crate::ConfigError> {
                $builder::set(self, name, value)
            }
            fn build(self) -> Result<$name, $crate::ConfigError> {
                $builder::build(self)
            }
        }
    };
}
pub(crate) use config;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_convert_within_their_range_only() {
        assert_eq!(u8::from_setting(&SettingValue::Int(255)), Some(255));
        assert_eq!(u8::from_setting(&SettingValue::Int(256)), None);
        assert_eq!(u32::from_setting(&SettingValue::Int(-1)), None);
        assert_eq!(u64::from_setting(&SettingValue::Int(i128::from(u64::MAX))), Some(u64::MAX));
        assert_eq!(usize::from_setting(&SettingValue::Int(1 << 32)), None, "usize takes the u32 range everywhere");
        assert_eq!(u32::from_setting(&SettingValue::Float(1.5)), None);
        assert_eq!(u32::from_setting(&SettingValue::Bool(true)), None);
        assert_eq!(u32::from_setting(&SettingValue::Str("1".into())), None);
        assert_eq!(Option::<u32>::from_setting(&SettingValue::Null), Some(None));
        assert_eq!(Option::<u32>::from_setting(&SettingValue::Int(3)), Some(Some(3)));
        assert_eq!(i32::from_setting(&SettingValue::Int(-60)), Some(-60));
    }

    #[test]
    fn kinds_describe_themselves() {
        assert_eq!(u8::KIND.expected(), "an integer in 0..=255");
        assert_eq!(Option::<u32>::KIND.expected(), "null or an integer in 0..=4294967295");
        assert_eq!(SettingKind::Choice(&["a", "b"]).expected(), "one of \"a\", \"b\"");
        assert_eq!(SettingValue::Str("x".into()).to_string(), "\"x\"");
        assert_eq!(SettingValue::Other("object".into()).to_string(), "a value of type object");
    }
}
