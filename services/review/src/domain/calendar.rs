//! Working days (工作日): Monday–Friday, minus a tenant's public holidays, plus its 调休 working
//! weekends. Deadlines are counted in working days from the Asia/Shanghai date of an instant and
//! fall at the end of the last day.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, TimeZone, Utc, Weekday};

/// Asia/Shanghai has had no daylight saving since 1991, so a fixed +08:00 offset is exact.
pub fn shanghai() -> FixedOffset {
    #[allow(clippy::unwrap_used)] // 8 hours is a valid offset
    FixedOffset::east_opt(8 * 3600).unwrap()
}

/// Returns the Asia/Shanghai calendar date of an instant.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&shanghai()).date_naive()
}

/// A tenant's working-day calendar (possibly several years merged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkingCalendar {
    holidays: BTreeSet<NaiveDate>,
    extra_working_days: BTreeSet<NaiveDate>,
}

impl WorkingCalendar {
    /// Returns a calendar with these holidays and 调休 working days.
    pub fn new(
        holidays: impl IntoIterator<Item = NaiveDate>,
        extra_working_days: impl IntoIterator<Item = NaiveDate>,
    ) -> Self {
        Self {
            holidays: holidays.into_iter().collect(),
            extra_working_days: extra_working_days.into_iter().collect(),
        }
    }

    /// Adds another year's days.
    pub fn merge(&mut self, other: WorkingCalendar) {
        self.holidays.extend(other.holidays);
        self.extra_working_days.extend(other.extra_working_days);
    }

    /// Returns whether `day` is a working day.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.extra_working_days.contains(&day) {
            return true;
        }
        if self.holidays.contains(&day) {
            return false;
        }
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// Returns the `n`-th working day after `start` (`start` itself does not count; `n = 0`
    /// returns `start`).
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut day = start;
        let mut left = n;
        while left > 0 {
            day = day.checked_add_days(Days::new(1)).unwrap_or(day);
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// Returns the deadline `n` working days after `from`: the end of that day in Asia/Shanghai
    /// (the first instant of the next calendar day).
    pub fn due_at(&self, from: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let last = self.add_working_days(local_date(from), n);
        end_of_day(last)
    }
}

/// Returns the first instant after the Asia/Shanghai date `day`.
pub fn end_of_day(day: NaiveDate) -> DateTime<Utc> {
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    let midnight = next.and_hms_opt(0, 0, 0).unwrap_or_default();
    shanghai()
        .from_local_datetime(&midnight)
        .single()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// Returns whether `today` lies in the inclusive range `[start, end]`; an empty bound is open.
/// An unparsable bound never matches.
pub fn in_range(today: NaiveDate, start: &str, end: &str) -> bool {
    let after_start = start.is_empty() || parse_date(start).is_some_and(|s| today >= s);
    let before_end = end.is_empty() || parse_date(end).is_some_and(|e| today <= e);
    after_start && before_end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).expect("date")
    }

    #[test]
    fn weekends_are_skipped() {
        let cal = WorkingCalendar::default();
        // 2024-06-07 is a Friday: 3 working days later is Wednesday 06-12.
        assert_eq!(cal.add_working_days(d("2024-06-07"), 3), d("2024-06-12"));
        assert_eq!(cal.add_working_days(d("2024-06-07"), 0), d("2024-06-07"));
        assert!(!cal.is_working_day(d("2024-06-08")));
    }

    #[test]
    fn holidays_are_skipped_and_make_up_weekends_count() {
        // 2024 National Day: Oct 1–7 off; Sep 29 (Sun) and Oct 12 (Sat) are working days.
        let holidays = [
            "2024-10-01",
            "2024-10-02",
            "2024-10-03",
            "2024-10-04",
            "2024-10-07",
        ];
        let cal = WorkingCalendar::new(
            holidays.iter().map(|s| d(s)),
            [d("2024-09-29"), d("2024-10-12")],
        );
        assert!(cal.is_working_day(d("2024-09-29")));
        assert!(!cal.is_working_day(d("2024-10-07")));
        // From Friday Sep 27: Sun 29 (1), Mon 30 (2), Tue Oct 8 (3).
        assert_eq!(cal.add_working_days(d("2024-09-27"), 3), d("2024-10-08"));
        // Ten working days from Sep 30 reach Oct 14 because Oct 12 is worked.
        assert_eq!(cal.add_working_days(d("2024-09-30"), 5), d("2024-10-12"));
    }

    #[test]
    fn deadlines_end_with_the_shanghai_day() {
        let cal = WorkingCalendar::default();
        // 2024-06-07 20:00 UTC is already Saturday 04:00 in Shanghai.
        let from = Utc
            .with_ymd_and_hms(2024, 6, 7, 20, 0, 0)
            .single()
            .expect("time");
        let due = cal.due_at(from, 1);
        assert_eq!(
            due,
            Utc.with_ymd_and_hms(2024, 6, 10, 16, 0, 0)
                .single()
                .expect("time")
        );
    }

    #[test]
    fn date_ranges_are_inclusive_and_may_be_open() {
        assert!(in_range(d("2024-03-01"), "2024-03-01", "2024-05-31"));
        assert!(in_range(d("2024-05-31"), "2024-03-01", "2024-05-31"));
        assert!(!in_range(d("2024-06-01"), "2024-03-01", "2024-05-31"));
        assert!(in_range(d("2030-01-01"), "2024-03-01", ""));
        assert!(!in_range(d("2024-03-01"), "bad", ""));
    }
}
