//! Journal rows as storage operations, for hosts without a typed schema.

use crate::value::{Record, Value};
use shardtally::journal::{GatewayRow, GlobalRow, OutboxRow, RowOp, ShardRow};

/// One storage operation (`RowOp`: `op` is `put`, `delete`, `clear` or `delete_below`;
/// `table`; `key` bytes; `value` bytes for `put`, else null). See `shardtally::journal::RowOp`.
pub fn row_op(op: &RowOp) -> Record {
    Record::new("RowOp", None)
        .with("op", op.kind.as_str())
        .with("table", op.table)
        .with("key", op.key.clone())
        .with("value", op.value.clone())
}

/// A shard's rows (`take_changes()` or `rows()`) as storage operations, in order.
pub fn shard_row_ops(rows: &[ShardRow]) -> Value {
    Value::List(rows.iter().map(|r| Value::Record(row_op(&r.op()))).collect())
}

/// A global's rows (`take_changes()` or `rows()`) as storage operations, in order; a tiered
/// global's upstream rows go to `upstream.*` tables.
pub fn global_row_ops(rows: &[GlobalRow]) -> Value {
    Value::List(rows.iter().map(|r| Value::Record(row_op(&r.op()))).collect())
}

/// A gateway's rows (`take_changes()` or `rows()`) as storage operations, in order.
pub fn gateway_row_ops(rows: &[GatewayRow]) -> Value {
    Value::List(rows.iter().map(|r| Value::Record(row_op(&r.op()))).collect())
}

/// An outbox's rows (`take_changes()` or `rows()`) as storage operations, in order.
pub fn outbox_row_ops(rows: &[OutboxRow]) -> Value {
    Value::List(rows.iter().map(|r| Value::Record(row_op(&r.op()))).collect())
}
