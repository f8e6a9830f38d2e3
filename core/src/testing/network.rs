//! The simulated network: messages in transit between simulated hosts.

/// Where a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    /// A leaf shard, by index.
    Shard(u32),
    /// A mid-level global of a two-level tree, by index.
    Mid(u32),
    /// The top-level global.
    Top,
}

/// A message in transit: encoded bytes, as a real transport would carry them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A batch (encoded with [`Batch::encode`](crate::Batch::encode)) on its way to a global.
    Batch {
        /// The sender.
        from: Node,
        /// The receiving global.
        to: Node,
        /// The encoded batch.
        bytes: Vec<u8>,
    },
    /// An acknowledgement on its way back.
    Ack {
        /// The receiving shard (or mid-level global's upstream shard).
        to: Node,
        /// The encoded ack.
        bytes: Vec<u8>,
    },
    /// A generation notice (encoded with [`GenerationNotice::encode`](crate::GenerationNotice::encode))
    /// on its way from a global to a shard or a mid-level global.
    Notice {
        /// The receiving shard or mid-level global.
        to: Node,
        /// The encoded notice.
        bytes: Vec<u8>,
    },
}

/// Messages in transit, in the order they were sent. Delivery picks any of them, so the
/// network can reorder, delay, drop and duplicate batches, acknowledgements and notices.
#[derive(Clone, Debug, Default)]
pub struct Network {
    in_transit: Vec<Message>,
}

impl Network {
    /// Sends a message.
    pub fn send(&mut self, m: Message) {
        self.in_transit.push(m);
    }

    /// Number of messages in transit.
    pub fn len(&self) -> usize {
        self.in_transit.len()
    }

    /// Whether nothing is in transit.
    pub fn is_empty(&self) -> bool {
        self.in_transit.is_empty()
    }

    /// Removes and returns message `i % len` (the network delivers or drops it).
    pub fn take(&mut self, i: usize) -> Option<Message> {
        if self.in_transit.is_empty() {
            return None;
        }
        let i = i % self.in_transit.len();
        Some(self.in_transit.remove(i))
    }

    /// Copies message `i % len` (the network duplicates it).
    pub fn duplicate(&mut self, i: usize) {
        if !self.in_transit.is_empty() {
            let m = self.in_transit[i % self.in_transit.len()].clone();
            self.in_transit.push(m);
        }
    }

    /// The messages in transit, oldest first.
    pub fn messages(&self) -> &[Message] {
        &self.in_transit
    }
}
