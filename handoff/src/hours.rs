//! Business hours: when agents are at their desks. Outside them the bot
//! still opens tickets but tells the user, with an away message, when
//! someone will be back ([`BusinessHours::next_opening`]).
//!
//! Pure time arithmetic, no I/O. Hours are local to a fixed UTC offset
//! (help desks publish "09:00–21:00 UTC+8"; daylight saving is not handled).

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// The desk's opening hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// Local time's offset from UTC in minutes (480 for UTC+8).
    #[serde(default)]
    pub utc_offset_minutes: i32,
    /// Opening periods; a day may have several, and a period whose `close` is
    /// not after its `open` runs past midnight.
    pub periods: Vec<Period>,
    /// Local dates when the desk is closed all day.
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
}

/// One opening period on a weekday, in local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub day: Weekday,
    pub open: NaiveTime,
    pub close: NaiveTime,
}

impl BusinessHours {
    /// Open around the clock.
    pub fn always() -> BusinessHours {
        let midnight = NaiveTime::MIN;
        BusinessHours {
            utc_offset_minutes: 0,
            periods: [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
            ]
            .into_iter()
            .map(|day| Period {
                day,
                open: midnight,
                close: midnight,
            })
            .collect(),
            holidays: Vec::new(),
        }
    }

    fn offset(&self) -> FixedOffset {
        FixedOffset::east_opt(self.utc_offset_minutes * 60)
            .unwrap_or(FixedOffset::east_opt(0).expect("UTC"))
    }

    /// Whether agents are expected at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.offset()).naive_local();
        // A period that started yesterday may still be running.
        for days_back in [0i64, 1] {
            let start_date = local.date() - Duration::days(days_back);
            if self.holidays.contains(&start_date) {
                continue;
            }
            for p in self
                .periods
                .iter()
                .filter(|p| p.day == start_date.weekday())
            {
                let start = start_date.and_time(p.open);
                let end = if p.close > p.open {
                    start_date.and_time(p.close)
                } else {
                    (start_date + Duration::days(1)).and_time(p.close)
                };
                if start <= local && local < end {
                    return true;
                }
            }
        }
        false
    }

    /// When the desk next opens after `at` (`at` itself if open now); `None`
    /// if it never opens within two weeks (no periods, or all holidays).
    pub fn next_opening(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(at) {
            return Some(at);
        }
        let offset = self.offset();
        let local = at.with_timezone(&offset).naive_local();
        (0..15)
            .flat_map(|d| {
                let date = local.date() + Duration::days(d);
                self.periods
                    .iter()
                    .filter(move |p| p.day == date.weekday())
                    .map(move |p| (date, p.open))
            })
            .filter(|(date, _)| !self.holidays.contains(date))
            .map(|(date, open)| date.and_time(open))
            .filter(|start| *start > local)
            .min()
            .and_then(|start| start.and_local_timezone(offset).single())
            .map(|t| t.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn weekdays_nine_to_nine_utc8() -> BusinessHours {
        BusinessHours {
            utc_offset_minutes: 480,
            periods: [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ]
            .into_iter()
            .map(|day| Period {
                day,
                open: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
                close: NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
            })
            .collect(),
            holidays: vec![NaiveDate::from_ymd_opt(2025, 10, 1).unwrap()],
        }
    }

    #[test]
    fn the_desk_is_open_in_local_hours_and_closed_outside_them() {
        let hours = weekdays_nine_to_nine_utc8();
        // Monday 2025-06-02 10:00 in UTC+8 is 02:00 UTC.
        assert!(hours.is_open(utc("2025-06-02T02:00:00Z")));
        assert!(!hours.is_open(utc("2025-06-02T00:59:59Z")), "08:59 local");
        assert!(!hours.is_open(utc("2025-06-02T13:00:00Z")), "21:00 local");
        assert!(!hours.is_open(utc("2025-06-07T04:00:00Z")), "Saturday");
        assert!(!hours.is_open(utc("2025-10-01T04:00:00Z")), "holiday");
    }

    #[test]
    fn after_friday_evening_the_desk_next_opens_on_monday_morning() {
        let hours = weekdays_nine_to_nine_utc8();
        let friday_night = utc("2025-06-06T14:00:00Z"); // 22:00 local
        assert_eq!(
            hours.next_opening(friday_night),
            Some(utc("2025-06-09T01:00:00Z"))
        );
        let open_now = utc("2025-06-06T05:00:00Z");
        assert_eq!(hours.next_opening(open_now), Some(open_now));
    }

    #[test]
    fn a_night_shift_runs_past_midnight() {
        let hours = BusinessHours {
            utc_offset_minutes: 0,
            periods: vec![Period {
                day: Weekday::Mon,
                open: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
                close: NaiveTime::from_hms_opt(6, 0, 0).unwrap(),
            }],
            holidays: vec![],
        };
        assert!(hours.is_open(utc("2025-06-02T23:00:00Z")));
        assert!(
            hours.is_open(utc("2025-06-03T05:59:00Z")),
            "Tuesday early morning"
        );
        assert!(!hours.is_open(utc("2025-06-03T06:00:00Z")));
        assert!(BusinessHours::always().is_open(utc("2025-06-07T04:00:00Z")));
    }
}
