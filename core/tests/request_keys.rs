//! The request-key rule over random paths, methods and bounds: a key is the longest prefix
//! of `"METHOD route"` that fits the bound at a character boundary, its method one of the
//! nine or `OTHER`; a route keeps every `/` and every segment that is not an id, and
//! collapsing it again changes nothing.

use proptest::prelude::*;
use shardtally::buckets::{default_route, request_key, METHODS};

/// Paths made of segments likely to be ids, near-ids and multi-byte text.
fn path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        "[0-9]{1,6}",
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "[0-9a-gA-G-]{30,40}",
        "[a-z0-9.%-]{0,8}",
        "\\PC{0,6}",
    ];
    (proptest::bool::ANY, proptest::collection::vec(segment, 0..6))
        .prop_map(|(rooted, segments)| format!("{}{}", if rooted { "/" } else { "" }, segments.join("/")))
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![proptest::sample::select(METHODS.to_vec()).prop_map(str::to_owned), "[A-Za-z]{0,9}"]
}

fn is_id(segment: &str) -> bool {
    let b = segment.as_bytes();
    (!b.is_empty() && b.iter().all(u8::is_ascii_digit))
        || (b.len() == 36
            && b.iter().enumerate().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { *c == b'-' } else { c.is_ascii_hexdigit() }))
}

proptest! {
    #[test]
    fn a_route_collapses_ids_only(path in path()) {
        let route = default_route(&path);
        if path.is_empty() {
            prop_assert_eq!(route, "/");
            return Ok(());
        }
        let (given, got): (Vec<&str>, Vec<&str>) = (path.split('/').collect(), route.split('/').collect());
        prop_assert_eq!(given.len(), got.len(), "every slash is kept");
        for (i, (g, r)) in given.iter().zip(&got).enumerate() {
            let expected = match *g {
                s if i > 0 && is_id(s) && s.contains('-') => ":uuid",
                s if i > 0 && is_id(s) => ":id",
                s => s,
            };
            prop_assert_eq!(*r, expected);
        }
        prop_assert_eq!(default_route(&route), route.clone(), "collapsing twice changes nothing");
    }

    #[test]
    fn a_key_is_the_longest_prefix_that_fits(method in method(), path in path(), bound in 0usize..40) {
        let route = default_route(&path);
        let key = request_key(&method, &route, bound);
        let name = if METHODS.contains(&method.as_str()) { method.as_str() } else { "OTHER" };
        let whole = format!("{name} {route}");
        prop_assert!(key.len() <= bound);
        prop_assert!(whole.starts_with(&key));
        if let Some(next) = whole[key.len()..].chars().next() {
            prop_assert!(key.len() + next.len_utf8() > bound, "{:?} could take {:?}", key, next);
        }
    }
}
