//! Names in each language's idiom: snake_case for Rust and Python, camelCase for JavaScript.
//!
//! Every name of the public surface (settings, error fields, output fields) is written once,
//! in snake_case, and rendered here; nothing else converts case.

/// A language's naming convention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Naming {
    /// `flush_after_requests` (Rust, Python).
    Snake,
    /// `flushAfterRequests` (JavaScript, TypeScript).
    Camel,
}

impl Naming {
    /// `name` (snake_case) in this convention.
    pub fn render(self, name: &str) -> String {
        match self {
            Naming::Snake => name.to_owned(),
            Naming::Camel => camel(name),
        }
    }

    /// Whether `given` is `name` (snake_case) written in this convention, without allocating.
    pub fn matches(self, given: &str, name: &str) -> bool {
        match self {
            Naming::Snake => given == name,
            Naming::Camel => {
                let mut expected = CamelChars { inner: name.chars(), upper: false };
                given.chars().all(|c| expected.next() == Some(c)) && expected.next().is_none()
            }
        }
    }
}

/// `snake_case` → `snakeCase`.
pub fn camel(name: &str) -> String {
    CamelChars { inner: name.chars(), upper: false }.collect()
}

struct CamelChars<'a> {
    inner: std::str::Chars<'a>,
    upper: bool,
}

impl Iterator for CamelChars<'_> {
    type Item = char;
    fn next(&mut self) -> Option<char> {
        loop {
            let c = self.inner.next()?;
            if c == '_' {
                self.upper = true;
                continue;
            }
            let out = if std::mem::take(&mut self.upper) { c.to_ascii_uppercase() } else { c };
            return Some(out);
        }
    }
}

/// The candidate closest to `given` by edit distance, when it is close enough to be a
/// plausible typo (at most a third of the longer name's length, and at least 2 edits allowed).
pub fn closest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let d = edit_distance(&given.to_ascii_lowercase(), &c.to_ascii_lowercase());
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.filter(|(d, c)| *d <= (given.len().max(c.len()) / 3).max(2)).map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb { diagonal } else { 1 + diagonal.min(above).min(row[j]) };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_renders_and_matches() {
        assert_eq!(camel("flush_after_requests"), "flushAfterRequests");
        assert_eq!(camel("seed"), "seed");
        assert_eq!(Naming::Camel.render("max_age_ms"), "maxAgeMs");
        assert!(Naming::Camel.matches("flushAfterRequests", "flush_after_requests"));
        assert!(!Naming::Camel.matches("flushAfterRequest", "flush_after_requests"));
        assert!(!Naming::Camel.matches("flush_after_requests", "flush_after_requests"));
        assert!(!Naming::Camel.matches("flushAfterRequestsX", "flush_after_requests"));
        assert!(Naming::Snake.matches("seed", "seed"));
    }

    #[test]
    fn closest_suggests_plausible_typos_only() {
        let names = ["flushAfterRequests", "flushAfterIdleMs", "seed"];
        assert_eq!(closest("flushAfterRequest", names), Some("flushAfterRequests"));
        assert_eq!(closest("flushafterrequests", names), Some("flushAfterRequests"));
        assert_eq!(closest("sed", names), Some("seed"));
        assert_eq!(closest("colour", names), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
