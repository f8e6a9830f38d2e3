//! The keys HTTP request counters record into buckets: `"METHOD route"`, the route being the
//! request path with its ids collapsed.
//!
//! Every request-counting host (the ASGI middleware of the Python package, the Node
//! `(req, res, next)` middleware) forms its keys with these two functions, so a request is
//! counted under the same key whichever language served it:
//!
//! - [`default_route`] collapses the segments of a path that are ids: all ASCII digits
//!   become `:id`, a UUID (8-4-4-4-12 hex digits, either case) becomes `:uuid`. Nothing else
//!   changes (percent-escapes are not decoded, nor is the query looked at; hosts pass the
//!   path as the client sent it, without the query). The empty path is `/`.
//! - [`request_key`] names the method (one of [`METHODS`], else `OTHER`: a client chooses
//!   the method, and must not create keys at will) and cuts the key to a bound of UTF-8
//!   bytes, at a character boundary.
//!
//! ```
//! use shardtally::buckets::{default_route, request_key};
//!
//! let route = default_route("/users/42/orders/3f2c1b9e-0a5d-4c1e-9a7b-1234567890ab");
//! assert_eq!(route, "/users/:id/orders/:uuid");
//! assert_eq!(request_key("GET", &route, 256), "GET /users/:id/orders/:uuid");
//! assert_eq!(request_key("PROPFIND", "/dav", 256), "OTHER /dav");
//! assert_eq!(request_key("GET", "/été", 8), "GET /ét"); // 8 bytes: `é` is two
//! ```

/// The methods counted under their own name (RFC 9110's eight and `PATCH`); any other is
/// counted as `OTHER`. Names are case-sensitive, as in HTTP: `get` is `OTHER`.
pub const METHODS: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];

/// The route of a request path: every segment after a `/` that is all ASCII digits becomes
/// `:id`, and every one that is a UUID (8-4-4-4-12 hex digits) becomes `:uuid`; the rest of
/// the path is kept as it is. The empty path is `/`.
///
/// `/users/42/orders/3F2C1B9E-0A5D-4C1E-9A7B-1234567890AB/items/7` is
/// `/users/:id/orders/:uuid/items/:id`; `/users/42abc`, `/users/-42`, `/users/4.2` and
/// `/users/%34%32` stay as they are; the text before the first `/` is never collapsed
/// (`*`, `42`).
///
/// ```
/// use shardtally::buckets::default_route;
/// assert_eq!(default_route("/users/42/"), "/users/:id/");
/// assert_eq!(default_route("//42//"), "//:id//");
/// assert_eq!(default_route(""), "/");
/// ```
pub fn default_route(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    let mut route = String::with_capacity(path.len());
    let mut segments = path.split('/');
    // The text before the first slash is not a segment of the path: kept as it is.
    route.push_str(segments.next().unwrap_or_default());
    for segment in segments {
        route.push('/');
        route.push_str(collapse(segment));
    }
    route
}

/// A segment's route: `:id`, `:uuid` or itself.
fn collapse(segment: &str) -> &str {
    let bytes = segment.as_bytes();
    if !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit) {
        ":id"
    } else if is_uuid(bytes) {
        ":uuid"
    } else {
        segment
    }
}

/// Whether `s` is 8-4-4-4-12 hex digits joined by hyphens (any case).
fn is_uuid(s: &[u8]) -> bool {
    s.len() == 36 && s.iter().enumerate().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() })
}

/// The bucket key of a request: `"METHOD route"`, the method being one of [`METHODS`] or
/// else `OTHER`, cut to at most `max_key_bytes` UTF-8 bytes at a character boundary (a
/// character that does not fit whole is left out). Use the `max_key_bytes` of the
/// [`Buckets`](crate::buckets::Buckets) the keys go to (default 256), so none is refused as
/// too long.
///
/// ```
/// use shardtally::buckets::request_key;
/// assert_eq!(request_key("PATCH", "/", 256), "PATCH /");
/// assert_eq!(request_key("get", "/", 256), "OTHER /");
/// assert_eq!(request_key("GET", "/abcdefgh", 10), "GET /abcde");
/// assert_eq!(request_key("GET", "/😀x", 8), "GET /"); // the emoji is four bytes
/// ```
pub fn request_key(method: &str, route: &str, max_key_bytes: usize) -> String {
    let method = if METHODS.contains(&method) { method } else { "OTHER" };
    // Cut before copying: a route may be as long as a client's path.
    let room = max_key_bytes.saturating_sub(method.len() + 1);
    let route = &route[..floor_char_boundary(route, room)];
    let mut key = String::with_capacity(method.len() + 1 + route.len());
    key.push_str(method);
    key.push(' ');
    key.push_str(route);
    // Only a bound shorter than the method and its space cuts into them (ASCII).
    key.truncate(max_key_bytes.min(key.len()));
    key
}

/// The largest character boundary of `s` at or below `at` (`str::floor_char_boundary`, not
/// stable in the minimum Rust version).
fn floor_char_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    let mut end = at;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_and_uuid_segments_collapse() {
        for (path, route) in [
            ("/", "/"),
            ("/users", "/users"),
            ("/users/42", "/users/:id"),
            ("/users/42/", "/users/:id/"),
            ("/users/42/orders/3f2c1b9e-0a5d-4c1e-9a7b-1234567890ab", "/users/:id/orders/:uuid"),
            ("/a/3F2C1B9E-0A5D-4C1E-9A7B-1234567890AB/7", "/a/:uuid/:id"),
            ("/1/2/3", "/:id/:id/:id"),
            ("/007", "/:id"),
            ("//42//", "//:id//"),
        ] {
            assert_eq!(default_route(path), route, "{path:?}");
        }
    }

    #[test]
    fn other_segments_stay() {
        for path in [
            "/v2/users",
            "/users/42abc",
            "/users/-42",
            "/users/4.2",
            "/users/%34%32",
            "/users/١٢", // digits, but not ASCII ones
            "/a/3f2c1b9e0a5d4c1e9a7b1234567890ab",
            "/a/3f2c1b9e-0a5d-4c1e-9a7b-1234567890abc",
            "/a/g3f2c1b9-0a5d-4c1e-9a7b-1234567890ab",
            "/a/3f2c1b9e-0a5d-4c1e-9a7b1-234567890ab",
            "*",
            "42",
            "42/x",
            "/12\n",
        ] {
            assert_eq!(default_route(path), path, "{path:?}");
        }
    }

    #[test]
    fn the_empty_path_is_the_root() {
        assert_eq!(default_route(""), "/");
    }

    #[test]
    fn unknown_methods_are_other() {
        for method in METHODS {
            assert_eq!(request_key(method, "/", 256), format!("{method} /"));
        }
        for method in ["get", "PROPFIND", "", "GET ", "OTHER"] {
            assert_eq!(request_key(method, "/x", 256), "OTHER /x", "{method:?}");
        }
    }

    #[test]
    fn keys_are_cut_to_whole_characters() {
        assert_eq!(request_key("GET", "/abcdefgh", 10), "GET /abcde");
        assert_eq!(request_key("GET", "/ééé", 9), "GET /éé");
        assert_eq!(request_key("GET", "/ééé", 8), "GET /é");
        assert_eq!(request_key("GET", "/😀x", 8), "GET /");
        assert_eq!(request_key("GET", "/😀x", 9), "GET /😀");
        assert_eq!(request_key("GET", "/😀x", 10), "GET /😀x");
    }

    #[test]
    fn a_bound_below_the_method_cuts_the_method() {
        assert_eq!(request_key("DELETE", "/x", 7), "DELETE ");
        assert_eq!(request_key("DELETE", "/x", 6), "DELETE");
        assert_eq!(request_key("DELETE", "/x", 3), "DEL");
        assert_eq!(request_key("DELETE", "/x", 0), "");
    }
}
