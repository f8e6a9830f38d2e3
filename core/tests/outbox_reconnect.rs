//! After a failed send the outbox pauses for a seeded reconnect delay in [200 ms, 5 s), asks
//! the host to reconnect, re-sends the message once and drops it if that fails too; it keeps
//! accepting and delivering messages through any number of failures (count's worker died
//! after one failed reconnect and its queue was never sent).

#![allow(clippy::unwrap_used)]

use shardtally::outbox::{OfferOutcome, Outbox, OutboxConfig, OutboxOutput, OutboxTimer};
use shardtally::Timestamp;

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn outputs(o: &mut Outbox) -> Vec<OutboxOutput> {
    std::iter::from_fn(|| o.poll_output()).collect()
}

fn sends(outs: &[OutboxOutput]) -> Vec<(u64, u32)> {
    outs.iter()
        .filter_map(|o| match o {
            OutboxOutput::Send { id, attempt, .. } => Some((*id, *attempt)),
            _ => None,
        })
        .collect()
}

#[test]
fn reconnect_delays_are_seeded_jitter_in_200_to_5000_ms() {
    let mut delays = Vec::new();
    for seed in 0..400u64 {
        let delay = |seed| {
            let mut o = Outbox::new(OutboxConfig::builder().seed(seed).build().unwrap());
            o.offer(b"m".to_vec(), t(1_000));
            o.failed(1, t(1_000));
            let d = o.next_deadline().unwrap();
            assert_eq!(d.timer, OutboxTimer::Reconnect);
            d.at.as_millis() - 1_000
        };
        let d = delay(seed);
        assert!((200..5_000).contains(&d), "seed {seed}: {d}");
        assert_eq!(delay(seed), d, "the same seed gives the same delay");
        delays.push(d);
    }
    assert!(delays.iter().min().unwrap() < &500 && delays.iter().max().unwrap() > &4_700, "spread over the range");
}

#[test]
fn a_failed_message_is_resent_once_after_the_reconnect_then_given_up() {
    let mut o = Outbox::new(OutboxConfig::default());
    o.offer(b"a".to_vec(), t(0));
    o.offer(b"b".to_vec(), t(0));
    assert_eq!(sends(&outputs(&mut o)), vec![(1, 1)]);
    assert!(o.failed(1, t(10)));
    assert!(!o.failed(1, t(10)), "a second report changes nothing");
    assert!(o.is_reconnecting());
    assert!(outputs(&mut o).is_empty(), "nothing is sent while reconnecting");

    let at = o.poll_timeout().unwrap();
    let before = o.snapshot();
    o.handle_timeout(t(at.as_millis() - 1));
    assert_eq!(o.snapshot(), before, "an early timeout changes nothing");
    o.handle_timeout(at);
    assert_eq!(outputs(&mut o)[..2], [OutboxOutput::Reconnect, OutboxOutput::Send { id: 1, attempt: 2, message: b"a".to_vec() }]);
    let after = o.snapshot();
    o.handle_timeout(at);
    assert_eq!(o.snapshot(), after, "a repeated timeout changes nothing");

    // The re-send fails too: the message is given up, and the next one goes after a reconnect.
    assert!(o.failed(1, at));
    let outs = outputs(&mut o);
    assert_eq!(outs, vec![OutboxOutput::GaveUp { id: 1, message: b"a".to_vec() }]);
    let at2 = o.poll_timeout().unwrap();
    assert!((200..5_000).contains(&(at2.as_millis() - at.as_millis())));
    o.handle_timeout(at2);
    assert_eq!(sends(&outputs(&mut o)), vec![(2, 1)]);
    assert!(o.sent(2, at2));
    let s = o.stats();
    assert_eq!((s.failures, s.resends, s.reconnects, s.gave_up, s.delivered), (2, 1, 2, 1, 1));
}

#[test]
fn offers_are_buffered_and_delivered_after_any_number_of_failures() {
    let mut o = Outbox::new(OutboxConfig::builder().seed(7).build().unwrap());
    let mut now = 0;
    o.offer(b"first".to_vec(), t(now));
    // Fail every transmission of the first message: it is given up after two.
    for _ in 0..2 {
        let id = o.in_flight_ids()[0];
        o.failed(id, t(now));
        // Offers keep being accepted while reconnecting.
        assert!(matches!(o.offer(format!("m{now}").into_bytes(), t(now)), OfferOutcome::Queued { .. }));
        now = o.poll_timeout().unwrap().as_millis();
        o.handle_timeout(t(now));
    }
    assert_eq!(o.stats().gave_up, 1);
    // Everything offered since is delivered once the sink answers again.
    let mut delivered = Vec::new();
    while let Some(id) = o.in_flight_ids().first().copied() {
        assert!(o.sent(id, t(now)));
        delivered.push(id);
    }
    assert_eq!(delivered, vec![2, 3]);
    assert!(o.is_empty() && !o.is_reconnecting());
}

#[test]
fn an_unanswered_send_times_out_as_a_failure() {
    let mut o = Outbox::new(OutboxConfig::builder().send_timeout_ms(1_000).build().unwrap());
    o.offer(b"a".to_vec(), t(100));
    let d = o.next_deadline().unwrap();
    assert_eq!((d.at, d.timer), (t(1_100), OutboxTimer::SendTimeout));
    o.handle_timeout(t(1_100));
    assert_eq!((o.stats().timeouts, o.stats().failures), (1, 1));
    assert!(o.is_reconnecting() && o.in_flight_ids().is_empty());
    assert!(!o.sent(1, t(1_200)), "a late answer for a timed-out send is ignored");
    let at = o.poll_timeout().unwrap();
    o.handle_timeout(at);
    assert_eq!(sends(&outputs(&mut o)), vec![(1, 1), (1, 2)]);
}

#[test]
fn a_wider_window_sends_several_and_resends_in_id_order() {
    let mut o = Outbox::new(OutboxConfig::builder().max_in_flight(3).build().unwrap());
    for m in [b"a", b"b", b"c", b"d"] {
        o.offer(m.to_vec(), t(0));
    }
    assert_eq!(sends(&outputs(&mut o)), vec![(1, 1), (2, 1), (3, 1)]);
    o.failed(3, t(5));
    o.failed(1, t(6));
    assert!(o.sent(2, t(7)), "answers for other in-flight messages still count");
    assert_eq!(o.queued_ids(), vec![1, 3, 4], "re-sends first, by id");
    let at = o.poll_timeout().unwrap();
    o.handle_timeout(at);
    assert_eq!(sends(&outputs(&mut o)), vec![(1, 2), (3, 2), (4, 1)]);
}
