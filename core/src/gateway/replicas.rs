//! The replica table: connections per replica, reserved slots, and two ordered indices —
//! replicas with room by `(count, creation order)` for least-loaded routing, and idle
//! replicas by `(idle since, creation order)` for scale-in.

use crate::time::Timestamp;
use ahash::AHashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A replica's slot in the table (reused after retirement; never leaves the gateway).
pub(super) type Slot = u32;

#[derive(Debug)]
pub(super) struct Replica {
    pub(super) id: Arc<str>,
    /// Creation order (ties between equally loaded replicas go to the older one).
    pub(super) order: u64,
    /// Open connections: connection id → request id.
    pub(super) conns: AHashMap<Box<str>, Arc<str>>,
    /// Slots reserved by routes and not yet taken by a connection.
    pub(super) reserved: u32,
    /// When the count last dropped to zero (or the replica appeared empty); `None` while busy.
    pub(super) idle_since: Option<Timestamp>,
}

impl Replica {
    /// Slots taken: connections plus reservations.
    pub(super) fn count(&self) -> u32 {
        (self.conns.len() as u32).saturating_add(self.reserved)
    }
}

#[derive(Debug)]
pub(super) struct Replicas {
    limit: u32,
    slots: Vec<Option<Replica>>,
    free: Vec<Slot>,
    index: AHashMap<Arc<str>, Slot>,
    by_order: BTreeMap<u64, Slot>,
    /// Replicas below the limit: `(count, order, slot)`.
    open: BTreeSet<(u32, u64, Slot)>,
    /// Replicas at zero: `(idle since, order, slot)`.
    idle: BTreeSet<(Timestamp, u64, Slot)>,
    pub(super) next_order: u64,
}

impl Replicas {
    pub(super) fn new(limit: u32) -> Self {
        Replicas {
            limit,
            slots: Vec::new(),
            free: Vec::new(),
            index: AHashMap::new(),
            by_order: BTreeMap::new(),
            open: BTreeSet::new(),
            idle: BTreeSet::new(),
            next_order: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.index.len()
    }

    pub(super) fn slot(&self, id: &str) -> Option<Slot> {
        self.index.get(id).copied()
    }

    /// The replica in `slot`. Slots come from this table, so a missing one is a bug; it
    /// panics only in debug builds' tests of that bug, never on host input.
    pub(super) fn get(&self, slot: Slot) -> &Replica {
        match self.slots.get(slot as usize) {
            Some(Some(r)) => r,
            _ => unreachable!("replica slot {slot} is not in use"),
        }
    }

    fn get_mut(&mut self, slot: Slot) -> &mut Replica {
        match self.slots.get_mut(slot as usize) {
            Some(Some(r)) => r,
            _ => unreachable!("replica slot {slot} is not in use"),
        }
    }

    pub(super) fn has_room(&self, slot: Slot) -> bool {
        self.get(slot).count() < self.limit
    }

    /// Slots in creation order.
    pub(super) fn in_order(&self) -> impl Iterator<Item = Slot> + '_ {
        self.by_order.values().copied()
    }

    /// The least-loaded replica below the limit (ties: creation order).
    pub(super) fn least_loaded(&self) -> Option<Slot> {
        self.open.first().map(|&(_, _, slot)| slot)
    }

    /// The replica idle the longest: `(idle since, slot)`.
    pub(super) fn longest_idle(&self) -> Option<(Timestamp, Slot)> {
        self.idle.first().map(|&(at, _, slot)| (at, slot))
    }

    /// Adds an empty replica with the next creation order (or `order`, when restoring).
    pub(super) fn add(&mut self, id: Arc<str>, order: Option<u64>, at: Timestamp) -> Slot {
        let order = order.unwrap_or(self.next_order);
        self.next_order = self.next_order.max(order.saturating_add(1));
        let replica = Replica { id: id.clone(), order, conns: AHashMap::new(), reserved: 0, idle_since: Some(at) };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(replica);
                slot
            }
            None => {
                self.slots.push(Some(replica));
                (self.slots.len() - 1) as Slot
            }
        };
        self.index.insert(id, slot);
        self.by_order.insert(order, slot);
        self.open.insert((0, order, slot));
        self.idle.insert((at, order, slot));
        slot
    }

    /// Removes a replica (it must hold nothing).
    pub(super) fn remove(&mut self, slot: Slot) -> Arc<str> {
        let r = match self.slots.get_mut(slot as usize).and_then(Option::take) {
            Some(r) => r,
            None => unreachable!("replica slot {slot} is not in use"),
        };
        let count = r.count();
        self.open.remove(&(count, r.order, slot));
        if let Some(at) = r.idle_since {
            self.idle.remove(&(at, r.order, slot));
        }
        self.by_order.remove(&r.order);
        self.index.remove(&r.id);
        self.free.push(slot);
        r.id
    }

    /// Changes a replica through `f` and re-indexes it; a count that drops to zero marks it
    /// idle since `at`. Returns the counts before and after.
    pub(super) fn change<T>(&mut self, slot: Slot, at: Timestamp, f: impl FnOnce(&mut Replica) -> T) -> (u32, u32, T) {
        let limit = self.limit;
        let r = self.get_mut(slot);
        let before = r.count();
        let out = f(r);
        let after = r.count();
        let order = r.order;
        let was_idle = r.idle_since;
        if after == 0 && was_idle.is_none() {
            r.idle_since = Some(at);
        } else if after > 0 {
            r.idle_since = None;
        }
        let now_idle = r.idle_since;
        if before != after {
            if before < limit {
                self.open.remove(&(before, order, slot));
            }
            if after < limit {
                self.open.insert((after, order, slot));
            }
        }
        if was_idle != now_idle {
            if let Some(t) = was_idle {
                self.idle.remove(&(t, order, slot));
            }
            if let Some(t) = now_idle {
                self.idle.insert((t, order, slot));
            }
        }
        (before, after, out)
    }

    /// Restores a replica's idle time from a snapshot.
    pub(super) fn set_idle_since(&mut self, slot: Slot, idle_since: Option<Timestamp>) {
        let r = self.get_mut(slot);
        let (order, old) = (r.order, r.idle_since);
        r.idle_since = idle_since;
        if let Some(t) = old {
            self.idle.remove(&(t, order, slot));
        }
        if let Some(t) = idle_since {
            self.idle.insert((t, order, slot));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn least_loaded_breaks_ties_by_creation_order_and_skips_full_replicas() {
        let mut r = Replicas::new(2);
        let a = r.add("a".into(), None, t(0));
        let b = r.add("b".into(), None, t(0));
        assert_eq!(r.least_loaded(), Some(a));
        r.change(a, t(1), |x| x.reserved += 1);
        assert_eq!(r.least_loaded(), Some(b));
        r.change(b, t(1), |x| x.reserved += 2);
        assert_eq!(r.least_loaded(), Some(a));
        r.change(a, t(1), |x| x.reserved += 1);
        assert_eq!(r.least_loaded(), None, "both full");
        r.change(b, t(2), |x| x.reserved -= 1);
        assert_eq!(r.least_loaded(), Some(b));
    }

    #[test]
    fn idle_tracking_follows_the_count() {
        let mut r = Replicas::new(5);
        let a = r.add("a".into(), None, t(3));
        assert_eq!(r.longest_idle(), Some((t(3), a)));
        r.change(a, t(4), |x| x.reserved += 1);
        assert_eq!(r.longest_idle(), None);
        r.change(a, t(9), |x| x.reserved -= 1);
        assert_eq!(r.longest_idle(), Some((t(9), a)));
        assert_eq!(&*r.remove(a), "a");
        assert_eq!((r.len(), r.longest_idle(), r.least_loaded()), (0, None, None));
        let b = r.add("b".into(), None, t(10));
        assert_eq!(b, a, "slots are reused");
        assert_eq!(r.get(b).order, 1, "creation order is not");
    }
}
