//! Reserved slots: a route reserves one on a replica for a request id; a connection of that
//! request id on that replica consumes the oldest one; the rest lapse at their expiry.

use super::replicas::Slot;
use crate::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Reservation {
    pub(super) req: Arc<str>,
    pub(super) replica: Slot,
    pub(super) expires_at: Timestamp,
}

#[derive(Debug, Default)]
pub(super) struct Reservations {
    pub(super) next_id: u64,
    by_id: BTreeMap<u64, Reservation>,
    /// `(expires_at, id)`: the expiry queue.
    expiry: BTreeSet<(Timestamp, u64)>,
    /// `(replica, id)`: a replica's reservations, oldest first (at most `limit` of them),
    /// where a connection finds the one it consumes. Integer keys keep routing cheap.
    by_replica: BTreeSet<(Slot, u64)>,
}

impl Reservations {
    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Every reservation, oldest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u64, &Reservation)> + '_ {
        self.by_id.iter().map(|(id, r)| (*id, r))
    }

    /// Adds a reservation with the next id (or `id`, when restoring); returns its id.
    pub(super) fn add(&mut self, id: Option<u64>, r: Reservation) -> u64 {
        let id = id.unwrap_or(self.next_id);
        self.next_id = self.next_id.max(id.saturating_add(1));
        self.expiry.insert((r.expires_at, id));
        self.by_replica.insert((r.replica, id));
        self.by_id.insert(id, r);
        id
    }

    /// The reservation `id`, if live.
    pub(super) fn get(&self, id: u64) -> Option<&Reservation> {
        self.by_id.get(&id)
    }

    /// The oldest reservation of `req` on `replica`.
    pub(super) fn oldest_of(&self, req: &str, replica: Slot) -> Option<u64> {
        self.by_replica
            .range((replica, 0)..=(replica, u64::MAX))
            .map(|(_, id)| *id)
            .find(|id| self.by_id.get(id).is_some_and(|r| *r.req == *req))
    }

    pub(super) fn remove(&mut self, id: u64) -> Option<Reservation> {
        let r = self.by_id.remove(&id)?;
        self.expiry.remove(&(r.expires_at, id));
        self.by_replica.remove(&(r.replica, id));
        Some(r)
    }

    /// The earliest expiry.
    pub(super) fn next_expiry(&self) -> Option<Timestamp> {
        self.expiry.first().map(|(at, _)| *at)
    }

    /// Removes and returns the earliest reservation (with its id) if it expires at or
    /// before `now`.
    pub(super) fn pop_expired(&mut self, now: Timestamp) -> Option<(u64, Reservation)> {
        let &(at, id) = self.expiry.first()?;
        if at > now {
            return None;
        }
        self.remove(id).map(|r| (id, r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_consume_the_oldest_and_expiry_goes_in_time_order() {
        let mut r = Reservations::default();
        let a: Arc<str> = "a".into();
        let res = |replica, ms| Reservation { req: a.clone(), replica, expires_at: Timestamp::from_millis(ms) };
        assert_eq!(r.add(None, res(1, 50)), 0);
        assert_eq!(r.add(None, res(1, 20)), 1);
        assert_eq!(r.add(None, res(2, 10)), 2);
        assert_eq!(r.oldest_of(&a, 1), Some(0));
        assert_eq!(r.oldest_of(&a, 3), None);
        assert_eq!(r.next_expiry(), Some(Timestamp::from_millis(10)));
        assert_eq!(r.pop_expired(Timestamp::from_millis(9)), None);
        assert_eq!(r.pop_expired(Timestamp::from_millis(20)).map(|(id, x)| (id, x.replica)), Some((2, 2)));
        assert_eq!(r.pop_expired(Timestamp::from_millis(20)).map(|(id, x)| (id, x.expires_at)), Some((1, Timestamp::from_millis(20))));
        assert_eq!(r.len(), 1);
        assert!(r.remove(0).is_some());
        assert_eq!((r.len(), r.next_expiry(), r.next_id), (0, None, 3));
    }
}
