//! The run-loop methods every stateful machine has, behind one trait, so each binding
//! writes its wrappers for them once (a macro per binding) instead of once per machine.

use crate::value::Record;
use crate::views;
use shardtally::buckets::Buckets;
use shardtally::outbox::Outbox;
use shardtally::{Gateway, Global, GlobalOutput, Membership, Shard, ShardOutput, Timestamp};

/// A stateful machine's run loop (SPEC §1.3): outputs, one timer, persistence hints.
pub trait RunLoop {
    /// The earliest deadline: call [`handle_timeout`](Self::handle_timeout) then.
    fn poll_timeout(&self) -> Option<Timestamp>;
    /// Fires every deadline `<= now`; a no-op when early or repeated.
    fn handle_timeout(&mut self, now: Timestamp);
    /// Whether the state changed since the last call.
    fn take_state_changed(&mut self) -> bool;
    /// The whole state as versioned bytes.
    fn snapshot(&self) -> Vec<u8>;
    /// The next deadline and why it fires, as a `Deadline` record.
    fn next_deadline(&self) -> Option<Record>;
    /// The next output as a tagged record (JS bindings; Python wraps messages itself);
    /// always `None` for a machine without outputs (buckets).
    fn poll_output_record(&mut self) -> Option<Record>;
    /// Activity counters.
    fn stats_record(&self) -> Record;
    /// The settings in force, what `restore` takes besides the snapshot: a `<Machine>Settings`
    /// record ([`views::settings`]), a tiered global's with its upstream shard's.
    fn config_record(&self) -> Record;
}

impl RunLoop for Shard {
    fn poll_timeout(&self) -> Option<Timestamp> {
        Shard::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Timestamp) {
        Shard::handle_timeout(self, now);
    }
    fn take_state_changed(&mut self) -> bool {
        Shard::take_state_changed(self)
    }
    fn snapshot(&self) -> Vec<u8> {
        Shard::snapshot(self)
    }
    fn next_deadline(&self) -> Option<Record> {
        Shard::next_deadline(self).map(views::deadline)
    }
    fn poll_output_record(&mut self) -> Option<Record> {
        match self.poll_output()? {
            ShardOutput::SendBatch(b) => Some(views::batch(&b, false)),
            // `ShardOutput` is non-exhaustive; every kind it has today is listed above.
            _ => None,
        }
    }
    fn stats_record(&self) -> Record {
        views::shard_stats(self.stats())
    }
    fn config_record(&self) -> Record {
        views::settings("ShardSettings", self.config().settings())
    }
}

impl RunLoop for Global {
    fn poll_timeout(&self) -> Option<Timestamp> {
        Global::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Timestamp) {
        Global::handle_timeout(self, now);
    }
    fn take_state_changed(&mut self) -> bool {
        Global::take_state_changed(self)
    }
    fn snapshot(&self) -> Vec<u8> {
        Global::snapshot(self)
    }
    fn next_deadline(&self) -> Option<Record> {
        Global::next_deadline(self).map(views::deadline)
    }
    fn poll_output_record(&mut self) -> Option<Record> {
        Some(match self.poll_output()? {
            GlobalOutput::Publish(p) => views::publish(&p),
            GlobalOutput::Forward(b) => views::batch(&b, true),
            GlobalOutput::Notice(n) => views::notice(&n),
            // `GlobalOutput` is non-exhaustive; every kind it has today is listed above.
            _ => return None,
        })
    }
    fn stats_record(&self) -> Record {
        views::global_stats(self.stats())
    }
    fn config_record(&self) -> Record {
        let config = views::settings("GlobalSettings", self.config().settings());
        match self.upstream() {
            Some(shard) => config.with("upstream", shard.config_record()),
            None => config,
        }
    }
}

/// The run-loop methods that only forward to the machine's own, and its outputs through a
/// view function.
macro_rules! run_loop {
    ($machine:ty, $settings:literal, $output:expr, $stats:path) => {
        impl RunLoop for $machine {
            fn poll_timeout(&self) -> Option<Timestamp> {
                <$machine>::poll_timeout(self)
            }
            fn handle_timeout(&mut self, now: Timestamp) {
                <$machine>::handle_timeout(self, now);
            }
            fn take_state_changed(&mut self) -> bool {
                <$machine>::take_state_changed(self)
            }
            fn snapshot(&self) -> Vec<u8> {
                <$machine>::snapshot(self)
            }
            fn next_deadline(&self) -> Option<Record> {
                <$machine>::next_deadline(self).map(views::deadline)
            }
            fn poll_output_record(&mut self) -> Option<Record> {
                #[allow(clippy::redundant_closure_call)]
                ($output)(self)
            }
            fn stats_record(&self) -> Record {
                $stats(self.stats())
            }
            fn config_record(&self) -> Record {
                views::settings($settings, self.config().settings())
            }
        }
    };
}

run_loop!(Gateway, "GatewaySettings", |g: &mut Gateway| g.poll_output().map(|o| views::gateway_output(&o)), views::gateway_stats);
run_loop!(
    Membership,
    "MembershipSettings",
    |m: &mut Membership| m.poll_output().map(|o| views::membership_output(&o)),
    views::membership_stats
);
run_loop!(Outbox, "OutboxSettings", |o: &mut Outbox| o.poll_output().map(|out| views::outbox_output(&out)), views::outbox_stats);
run_loop!(Buckets, "BucketsSettings", |_: &mut Buckets| None, views::buckets_stats);
