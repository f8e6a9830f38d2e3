//! A request id's sticky entry: the replicas holding its connections or reservations (the
//! sticky one, last routed to, last) and its places in pending creations.

use super::replicas::Slot;

/// A request id's connections and reservations on one replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Holding {
    pub(super) replica: Slot,
    pub(super) conns: u32,
    pub(super) reserved: u32,
}

/// How a holding changes.
#[derive(Clone, Copy, Debug)]
pub(super) enum Hold {
    /// A route reserved a slot (the replica becomes the sticky one).
    Reserve,
    /// A connection took a reserved slot.
    Consume,
    /// A connection took a free slot.
    Connect,
    /// A reservation lapsed.
    Release,
    /// A connection closed.
    Close,
}

/// Holdings in order, kept inline when there is one (nearly always), so a sticky entry
/// costs no allocation of its own and a route no extra cache miss.
#[derive(Debug, Default)]
enum Holdings {
    #[default]
    None,
    One(Holding),
    Many(Vec<Holding>),
}

#[derive(Debug, Default)]
pub(super) struct Sticky {
    holdings: Holdings,
    /// Places taken in pending creations.
    pub(super) waiting: u32,
}

impl Sticky {
    pub(super) fn holdings(&self) -> &[Holding] {
        match &self.holdings {
            Holdings::None => &[],
            Holdings::One(h) => std::slice::from_ref(h),
            Holdings::Many(v) => v,
        }
    }

    pub(super) fn holdings_mut(&mut self) -> &mut [Holding] {
        match &mut self.holdings {
            Holdings::None => &mut [],
            Holdings::One(h) => std::slice::from_mut(h),
            Holdings::Many(v) => v,
        }
    }

    /// Appends a holding (it becomes the sticky one).
    pub(super) fn push(&mut self, h: Holding) {
        self.holdings = match std::mem::take(&mut self.holdings) {
            Holdings::None => Holdings::One(h),
            Holdings::One(a) => Holdings::Many(vec![a, h]),
            Holdings::Many(mut v) => {
                v.push(h);
                Holdings::Many(v)
            }
        };
    }

    fn remove(&mut self, i: usize) -> Holding {
        let (removed, rest) = match std::mem::take(&mut self.holdings) {
            Holdings::None => unreachable!("no holding {i} to remove"),
            Holdings::One(h) => (h, Holdings::None),
            Holdings::Many(mut v) => {
                let h = v.remove(i);
                (h, if v.len() == 1 { Holdings::One(v[0]) } else { Holdings::Many(v) })
            }
        };
        self.holdings = rest;
        removed
    }

    /// Nothing held and nothing waited for: the entry can go.
    pub(super) fn is_empty(&self) -> bool {
        self.holdings().is_empty() && self.waiting == 0
    }

    /// Applies `change` to the holding on `slot` (adding it for a reservation or a
    /// connection, moving it last for a reservation) and drops it when it holds nothing.
    pub(super) fn apply(&mut self, slot: Slot, change: Hold) -> Applied {
        let pos = self.holdings().iter().position(|h| h.replica == slot);
        let (i, mut listed) = match (pos, change) {
            (Some(i), Hold::Reserve) if i + 1 < self.holdings().len() => {
                let h = self.remove(i);
                self.push(h);
                (self.holdings().len() - 1, true)
            }
            (Some(i), _) => (i, false),
            (None, Hold::Reserve | Hold::Connect) => {
                self.push(Holding { replica: slot, conns: 0, reserved: 0 });
                (self.holdings().len() - 1, true)
            }
            (None, _) => return Applied { empty: self.is_empty(), listed: false },
        };
        let h = &mut self.holdings_mut()[i];
        match change {
            Hold::Reserve => h.reserved += 1,
            Hold::Consume => {
                h.reserved -= 1;
                h.conns += 1;
            }
            Hold::Connect => h.conns += 1,
            Hold::Release => h.reserved -= 1,
            Hold::Close => h.conns -= 1,
        }
        if h.conns == 0 && h.reserved == 0 {
            self.remove(i);
            listed = true;
        }
        Applied { empty: self.is_empty(), listed }
    }
}

/// What [`Sticky::apply`] changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Applied {
    /// Nothing is held and nothing waited for any more: the entry can go.
    pub(super) empty: bool,
    /// The replicas listed as holding the request id, or their order, changed.
    pub(super) listed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replicas(s: &Sticky) -> Vec<Slot> {
        s.holdings().iter().map(|h| h.replica).collect()
    }

    #[test]
    fn a_reservation_makes_its_replica_the_sticky_one() {
        let mut s = Sticky::default();
        let kept = Applied { empty: false, listed: false };
        let moved = Applied { empty: false, listed: true };
        assert_eq!(s.apply(1, Hold::Reserve), moved);
        assert_eq!(s.apply(2, Hold::Connect), moved);
        assert_eq!(replicas(&s), vec![1, 2]);
        assert_eq!(s.apply(1, Hold::Reserve), moved);
        assert_eq!(replicas(&s), vec![2, 1]);
        assert_eq!(s.apply(1, Hold::Reserve), kept, "already the sticky one");
        assert_eq!(s.apply(1, Hold::Release), kept);
        assert_eq!(s.apply(1, Hold::Consume), kept);
        assert_eq!(s.holdings()[1], Holding { replica: 1, conns: 1, reserved: 1 });
        assert_eq!(s.apply(2, Hold::Close), moved);
        assert_eq!(replicas(&s), vec![1]);
        assert_eq!(s.apply(1, Hold::Release), kept);
        assert_eq!(s.apply(3, Hold::Close), kept, "no holding on 3: nothing changes");
        assert_eq!(s.apply(1, Hold::Close), Applied { empty: true, listed: true }, "nothing left");
        s.waiting = 1;
        assert!(!s.is_empty());
    }
}
