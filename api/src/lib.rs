//! # shardtally-api
//!
//! The public surface of shardtally described once, in Rust, for the Python, Node and
//! WebAssembly bindings to consume mechanically — the way one schema drives every validator
//! in pydantic-core. The layers, in one direction:
//!
//! ```text
//! shardtally (core: pure machines)
//!     └─ shardtally-api (this crate: settings, errors, output views, run loop, JS numbers)
//!            ├─ bindings-python  (pyo3)        → Python objects, exceptions
//!            ├─ bindings-node    (napi-rs)  ┐
//!            └─ bindings-wasm    (wasm-bindgen) ┴→ bindings-js (one JS API, one .d.ts)
//! ```
//!
//! A binding never names a setting, an error field or an output field itself:
//!
//! - **Settings** ([`options`]): the binding reads its language's options into
//!   `(name, value)` pairs; [`options::new_shard`] and friends match names in the binding's
//!   [`Naming`], reject unknown names with the closest valid one, and build the machine.
//! - **Errors** ([`errors`]): every error becomes an [`ErrorView`] — stable `code`, message,
//!   named fields — and [`errors::ERRORS`] lists every code with its family, Python class
//!   and fields; bindings' exception classes and typings are checked against it.
//! - **Outputs** ([`views`], [`value`]): every output, outcome and view is a [`Value`] — tagged
//!   records and columnar entries — converted by one function per binding.
//! - **Run loop** ([`machine::RunLoop`]): `poll_timeout`, `handle_timeout`,
//!   `take_state_changed`, `snapshot`, `next_deadline`, outputs and stats of every machine
//!   behind one trait, wrapped once per binding.
//! - **Rebuilding from rows** ([`rebuild`]): a global or shard rebuilt from its stored rows a
//!   page at a time ([`rebuild::Rebuild`] over the core builders).
//! - **JavaScript numbers** ([`js`]): time, delta and integer checks and the columnar packing
//!   shared by both JS bindings.
//!
//! ```
//! use shardtally::settings::SettingValue;
//! use shardtally_api::{options::{new_shard, OptionValue}, AnyError, Naming};
//!
//! let options = vec![
//!     ("shard".to_string(), OptionValue::Value(SettingValue::Int(0))),
//!     ("incarnation".to_string(), OptionValue::Value(SettingValue::Int(1))),
//!     ("flushAfterRequest".to_string(), OptionValue::Value(SettingValue::Int(10))),
//! ];
//! let err = AnyError::from(new_shard(Naming::Camel, &options).unwrap_err()).view(Naming::Camel);
//! assert_eq!(err.code, "CONFIG_UNKNOWN_SETTING");
//! assert_eq!(err.message, "unknown setting \"flushAfterRequest\" (did you mean \"flushAfterRequests\"?)");
//! ```
//!
//! `ARCHITECTURE.md` at the repository root lists the steps to expose a new machine.

pub mod errors;
pub mod js;
pub mod machine;
pub mod naming;
pub mod options;
pub mod rebuild;
pub mod value;
pub mod views;

pub use errors::{AnyError, ArgError, ErrorInfo, ErrorView, Family, ERRORS};
pub use machine::RunLoop;
pub use naming::Naming;
pub use options::OptionValue;
pub use value::{Column, Entries, Record, Value};
