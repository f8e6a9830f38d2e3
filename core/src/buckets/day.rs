//! Calendar days and periods, with the civil-date arithmetic done here (no date library).
//!
//! A [`Day`] is a date of the proleptic Gregorian calendar in years `0000..=9999`, ordered
//! chronologically and written `YYYY-MM-DD`. Day numbers count days since 1970-01-01 (day 0)
//! with Howard Hinnant's `days_from_civil` / `civil_from_days` algorithms.

use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Milliseconds in a day.
pub const MS_PER_DAY: i64 = 86_400_000;

/// A calendar date (`YYYY-MM-DD`), ordered chronologically.
///
/// ```
/// use shardtally::buckets::Day;
/// let d: Day = "2022-10-17".parse()?;
/// assert_eq!((d.year(), d.month(), d.day()), (2022, 10, 17));
/// assert_eq!(d.to_string(), "2022-10-17");
/// assert_eq!(Day::from_days_since_epoch(d.days_since_epoch() + 15), Some(Day::new(2022, 11, 1)?));
/// assert!(Day::new(2023, 2, 29).is_err());
/// # Ok::<(), shardtally::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Day {
    year: u16,
    month: u8,
    day: u8,
}

impl Day {
    /// The first representable day, `0000-01-01`.
    pub const MIN: Day = Day { year: 0, month: 1, day: 1 };
    /// The last representable day, `9999-12-31`.
    pub const MAX: Day = Day { year: 9999, month: 12, day: 31 };

    /// The date `year-month-day`. Errors: [`Error::InvalidArgument`] when it is not a date of
    /// the years `0000..=9999`.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Day, Error> {
        let d = Day { year, month, day };
        if d.is_valid() {
            Ok(d)
        } else {
            Err(Error::InvalidArgument { argument: "day", value: format!("{year:04}-{month:02}-{day:02}"), expected: "a calendar date" })
        }
    }

    /// Parses `YYYY-MM-DD` (exactly that shape). Errors: [`Error::InvalidArgument`].
    pub fn parse(s: &str) -> Result<Day, Error> {
        let bad = |expected| Error::InvalidArgument { argument: "day", expected, value: s.to_owned() };
        if s.is_empty() {
            return Err(bad("present"));
        }
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad("a date YYYY-MM-DD"));
        }
        let year = digits(&b[0..4]).ok_or_else(|| bad("a date YYYY-MM-DD"))?;
        let month = digits(&b[5..7]).ok_or_else(|| bad("a date YYYY-MM-DD"))?;
        let day = digits(&b[8..10]).ok_or_else(|| bad("a date YYYY-MM-DD"))?;
        let d = Day { year: year as u16, month: month as u8, day: day as u8 };
        if d.is_valid() {
            Ok(d)
        } else {
            Err(bad("a calendar date"))
        }
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, `1..=12`.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, `1..=31`.
    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(self) -> i64 {
        days_from_civil(i64::from(self.year), i64::from(self.month), i64::from(self.day))
    }

    /// The day `days` days after 1970-01-01, or `None` outside [`Day::MIN`]`..=`[`Day::MAX`].
    pub fn from_days_since_epoch(days: i64) -> Option<Day> {
        if days < Day::MIN.days_since_epoch() || days > Day::MAX.days_since_epoch() {
            return None;
        }
        let (y, m, d) = civil_from_days(days);
        Some(Day { year: y as u16, month: m as u8, day: d as u8 })
    }

    /// The day `n` days later (earlier when negative), or `None` out of range.
    pub fn checked_add_days(self, n: i64) -> Option<Day> {
        Day::from_days_since_epoch(self.days_since_epoch().checked_add(n)?)
    }

    /// Whether the fields form a date of the years `0000..=9999` (false only for values
    /// decoded from untrusted bytes).
    pub(crate) fn is_valid(self) -> bool {
        self.year <= 9999 && (1..=12).contains(&self.month) && self.day >= 1 && self.day <= days_in_month(self.year, self.month)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Day {
    type Err = Error;
    fn from_str(s: &str) -> Result<Day, Error> {
        Day::parse(s)
    }
}

/// A year, a month or a day: what [`Buckets::rollup`](crate::Buckets::rollup) and
/// [`Buckets::period_totals`](crate::Buckets::period_totals) work on.
///
/// ```
/// use shardtally::buckets::{Day, Period};
/// let p = Period::parse("2022-10")?;
/// assert_eq!(p, Period::Month(2022, 10));
/// assert_eq!(p.days()?, (Day::new(2022, 10, 1)?, Day::new(2022, 10, 31)?));
/// assert_eq!(Period::parse("2024")?.days()?.1, Day::new(2024, 12, 31)?);
/// assert!(Period::Month(2022, 13).days().is_err());
/// # Ok::<(), shardtally::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Period {
    /// A whole year.
    Year(u16),
    /// A month of a year: `(year, month)`.
    Month(u16, u8),
    /// One day.
    Day(Day),
}

impl Period {
    /// Parses `YYYY`, `YYYY-MM` or `YYYY-MM-DD`. Errors: [`Error::InvalidArgument`] (an
    /// empty string is a missing period).
    pub fn parse(s: &str) -> Result<Period, Error> {
        let bad = |expected| Error::InvalidArgument { argument: "period", expected, value: s.to_owned() };
        let b = s.as_bytes();
        match b.len() {
            0 => Err(bad("present")),
            4 => digits(b).map(|y| Period::Year(y as u16)).ok_or_else(|| bad("YYYY, YYYY-MM or YYYY-MM-DD")),
            7 if b[4] == b'-' => {
                let (Some(y), Some(m)) = (digits(&b[..4]), digits(&b[5..])) else {
                    return Err(bad("YYYY, YYYY-MM or YYYY-MM-DD"));
                };
                let p = Period::Month(y as u16, m as u8);
                p.days().map(|_| p).map_err(|_| bad("a calendar month"))
            }
            10 => Day::parse(s).map(Period::Day).map_err(|_| bad("YYYY, YYYY-MM or YYYY-MM-DD")),
            _ => Err(bad("YYYY, YYYY-MM or YYYY-MM-DD")),
        }
    }

    /// The first and last day of the period. Errors: [`Error::InvalidArgument`] for a year
    /// above 9999 or a month outside `1..=12`.
    pub fn days(self) -> Result<(Day, Day), Error> {
        let bad = || Error::InvalidArgument { argument: "period", value: self.to_string(), expected: "a calendar period" };
        match self {
            Period::Year(y) => Ok((Day::new(y, 1, 1).map_err(|_| bad())?, Day::new(y, 12, 31).map_err(|_| bad())?)),
            Period::Month(y, m) => {
                let first = Day::new(y, m, 1).map_err(|_| bad())?;
                Ok((first, Day { day: days_in_month(y, m), ..first }))
            }
            Period::Day(d) if d.is_valid() => Ok((d, d)),
            Period::Day(_) => Err(bad()),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Year(y) => write!(f, "{y:04}"),
            Period::Month(y, m) => write!(f, "{y:04}-{m:02}"),
            Period::Day(d) => d.fmt(f),
        }
    }
}

impl FromStr for Period {
    type Err = Error;
    fn from_str(s: &str) -> Result<Period, Error> {
        Period::parse(s)
    }
}

/// The local day of `at_ms` (ms since the Unix epoch) at a fixed UTC offset, or `None`
/// beyond [`Day::MAX`].
pub(crate) fn day_of(at_ms: u64, offset_minutes: i32) -> Option<Day> {
    let local = i128::from(at_ms) + i128::from(offset_minutes) * 60_000;
    let days = i64::try_from(local.div_euclid(i128::from(MS_PER_DAY))).ok()?;
    Day::from_days_since_epoch(days)
}

/// The UTC milliseconds of the first local millisecond of `day` at a fixed UTC offset
/// (negative before the epoch).
pub(crate) fn day_start_ms(day: Day, offset_minutes: i32) -> i64 {
    day.days_since_epoch() * MS_PER_DAY - i64::from(offset_minutes) * 60_000
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

fn is_leap(year: u16) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let mp = (m + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + d - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The date of a day number (Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip_over_the_whole_range() {
        assert_eq!(Day::new(1970, 1, 1).unwrap().days_since_epoch(), 0);
        assert_eq!(Day::new(2000, 3, 1).unwrap().days_since_epoch(), 11_017);
        assert_eq!(Day::new(1969, 12, 31).unwrap().days_since_epoch(), -1);
        let (lo, hi) = (Day::MIN.days_since_epoch(), Day::MAX.days_since_epoch());
        let mut prev: Option<Day> = None;
        for n in lo..=hi {
            let d = Day::from_days_since_epoch(n).unwrap();
            assert!(d.is_valid());
            assert_eq!(d.days_since_epoch(), n);
            if let Some(p) = prev {
                assert!(p < d, "ordering follows day numbers");
            }
            prev = Some(d);
        }
        assert_eq!(Day::from_days_since_epoch(lo - 1), None);
        assert_eq!(Day::from_days_since_epoch(hi + 1), None);
    }

    #[test]
    fn leap_years_follow_the_gregorian_rules() {
        assert!(Day::new(2000, 2, 29).is_ok());
        assert!(Day::new(1900, 2, 29).is_err());
        assert!(Day::new(2024, 2, 29).is_ok());
        assert!(Day::new(2023, 2, 29).is_err());
        assert!(Day::new(2023, 4, 31).is_err());
        assert!(Day::new(10_000, 1, 1).is_err());
    }

    #[test]
    fn parsing_is_strict() {
        for bad in ["", "2022-1-17", "2022/10/17", "2022-10-17 ", "+022-10-17", "2022-00-10", "2022-10-32", "abcd-ef-gh"] {
            assert_eq!(Day::parse(bad).map_err(|e| e.code()), Err("INVALID_ARGUMENT"), "{bad:?}");
        }
        assert_eq!(Day::parse("0000-01-01"), Ok(Day::MIN));
        assert_eq!(Period::parse("2022-02"), Ok(Period::Month(2022, 2)));
        assert_eq!(Period::parse("2022-10-17").unwrap().to_string(), "2022-10-17");
        for bad in ["", "22", "2022-1", "2022-13", "20x2", "2022-10-1x"] {
            assert!(Period::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn local_days_with_offsets() {
        // 2022-10-17T00:00Z.
        let t = 1_665_964_800_000u64;
        let d17 = Day::new(2022, 10, 17).unwrap();
        assert_eq!(day_of(t, 0), Some(d17));
        assert_eq!(day_of(t - 1, 0), d17.checked_add_days(-1));
        assert_eq!(day_of(t, -300), d17.checked_add_days(-1), "19:00 the day before in UTC-5");
        assert_eq!(day_start_ms(d17, -300), t as i64 + 5 * 3_600_000);
        assert_eq!(day_start_ms(d17, 330), t as i64 - 330 * 60_000);
        assert_eq!(day_of(0, -1), Day::new(1969, 12, 31).ok());
        assert_eq!(day_of(u64::MAX, 0), None);
    }
}
