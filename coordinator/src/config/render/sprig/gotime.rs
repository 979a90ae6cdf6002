//! Go's `time.Time` and `time.Duration` as sprig's date functions expose them to templates.
//!
//! [`GoTime`] is an instant (Unix seconds + nanoseconds), a location and, for values that
//! came from `now`, a monotonic reading; it is an [`Object`] so templates can call its
//! methods and `%v` prints Go's `Time.String()` (through its `String` method). Layouts use
//! Go's reference time `Mon Jan 2 15:04:05 MST 2006`; [`format`] and [`parse`] follow
//! `time/format.go` (`nextStdChunk`, `appendFormat`, `Parse`), including its error texts.
//!
//! Zones come from the system's zoneinfo files as Go reads them (`/usr/share/zoneinfo`,
//! `TZ`, `/etc/localtime`), parsed with the `tz-rs` crate; calendar arithmetic is done here.

use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tz::TimeZone;

use super::super::value::{Func, Object, Ty, Value};

/// Where a time is shown: Go's `*time.Location`.
#[derive(Clone)]
pub(crate) enum Loc {
    Utc,
    /// A zoneinfo zone (also what `Local` resolves to).
    Zone(Rc<TimeZone>),
    /// `time.FixedZone(name, offset)`, as `Parse` makes for unknown offsets.
    Fixed(String, i32),
}

impl Loc {
    /// UTC offset in seconds and zone abbreviation at `unix`.
    fn lookup(&self, unix: i64) -> (i32, String) {
        match self {
            Loc::Utc => (0, "UTC".into()),
            Loc::Fixed(name, off) => (*off, name.clone()),
            Loc::Zone(tz) => match tz.find_local_time_type(unix) {
                Ok(t) => (t.ut_offset(), t.time_zone_designation().to_string()),
                Err(_) => (0, "UTC".into()),
            },
        }
    }
}

/// Go's `time.LoadLocation(name)`; None where Go returns an error.
pub(crate) fn load_location(name: &str) -> Option<Loc> {
    match name {
        "" | "UTC" => Some(Loc::Utc),
        "Local" => Some(local()),
        _ if name.contains("..") || name.starts_with('/') || name.contains('\\') => None,
        _ => zone_file(&format!("/usr/share/zoneinfo/{name}")),
    }
}

fn zone_file(path: &str) -> Option<Loc> {
    let bytes = std::fs::read(path).ok()?;
    TimeZone::from_tz_data(&bytes)
        .ok()
        .map(|tz| Loc::Zone(Rc::new(tz)))
}

/// Go's `time.Local`: `TZ` unset → `/etc/localtime`; `TZ=""` → UTC; else the named zone
/// (a leading `:` dropped), UTC if it cannot be loaded.
pub(crate) fn local() -> Loc {
    match std::env::var("TZ") {
        Err(_) => zone_file("/etc/localtime").unwrap_or(Loc::Utc),
        Ok(tz) if tz.is_empty() => Loc::Utc,
        Ok(tz) => {
            let tz = tz.strip_prefix(':').unwrap_or(&tz);
            if tz.starts_with('/') {
                zone_file(tz).unwrap_or(Loc::Utc)
            } else if tz == "UTC" {
                Loc::Utc
            } else {
                load_location(tz).unwrap_or(Loc::Utc)
            }
        }
    }
}

/// A Go `time.Time`.
#[derive(Clone)]
pub(crate) struct GoTime {
    pub unix: i64,
    pub nsec: u32,
    pub loc: Loc,
    /// Nanoseconds since process start, for values read from the clock (`m=+…` in `%v`).
    pub mono: Option<i64>,
}

fn process_start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

impl GoTime {
    /// Go's `time.Now()`.
    pub(crate) fn now() -> GoTime {
        let start = process_start();
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        GoTime {
            unix: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nsec: d.subsec_nanos(),
            loc: local(),
            mono: Some(i64::try_from(start.elapsed().as_nanos()).unwrap_or(i64::MAX)),
        }
    }

    /// Go's `time.Unix(sec, 0)` (in Local).
    pub(crate) fn from_unix(sec: i64) -> GoTime {
        GoTime {
            unix: sec,
            nsec: 0,
            loc: local(),
            mono: None,
        }
    }

    pub(crate) fn in_loc(&self, loc: Loc) -> GoTime {
        GoTime {
            loc,
            mono: None,
            ..self.clone()
        }
    }

    /// Nanoseconds since the Unix epoch, saturating.
    pub(crate) fn unix_nanos(&self) -> i128 {
        i128::from(self.unix) * 1_000_000_000 + i128::from(self.nsec)
    }

    /// Go's `t.Add(d)` (keeps the monotonic reading).
    pub(crate) fn add(&self, d: i64) -> GoTime {
        let total = self.unix_nanos() + i128::from(d);
        GoTime {
            unix: i64::try_from(total.div_euclid(1_000_000_000)).unwrap_or(i64::MAX),
            nsec: u32::try_from(total.rem_euclid(1_000_000_000)).unwrap_or(0),
            loc: self.loc.clone(),
            mono: self.mono.map(|m| m.saturating_add(d)),
        }
    }

    /// Go's `time.Since(t)` in nanoseconds (saturating like Go's Duration).
    pub(crate) fn since(&self) -> i64 {
        let now = GoTime::now();
        let d = now.unix_nanos() - self.unix_nanos();
        i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX })
    }

    /// Go's `t.String()`.
    pub(crate) fn go_string(&self) -> String {
        let mut s = format(self, "2006-01-02 15:04:05.999999999 -0700 MST");
        if let Some(m) = self.mono {
            let sign = if m < 0 { '-' } else { '+' };
            let a = m.unsigned_abs();
            s.push_str(&format!(
                " m={sign}{}.{:09}",
                a / 1_000_000_000,
                a % 1_000_000_000
            ));
        }
        s
    }

    /// Civil fields in the time's zone.
    fn civil(&self) -> Civil {
        let (offset, zone) = self.loc.lookup(self.unix);
        let local = self.unix.saturating_add(i64::from(offset));
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let yday = days - days_from_civil(year, 1, 1) + 1;
        Civil {
            year,
            month,
            day,
            yday,
            weekday: (days + 4).rem_euclid(7),
            hour: secs / 3600,
            minute: secs % 3600 / 60,
            second: secs % 60,
            nsec: self.nsec,
            offset,
            zone,
        }
    }
}

struct Civil {
    year: i64,
    month: i64,
    day: i64,
    yday: i64,
    weekday: i64,
    hour: i64,
    minute: i64,
    second: i64,
    nsec: u32,
    offset: i32,
    zone: String,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

pub(crate) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(crate) const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// One element of a Go layout (`nextStdChunk`'s `std` codes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    /// Numeric zone: (ISO 8601 `Z` for UTC, colons, hours only, with seconds).
    NumTZ {
        iso: bool,
        colon: bool,
        short: bool,
        seconds: bool,
    },
    /// Fractional seconds: separator, digit count, trailing zeros trimmed (`9`s).
    Frac(char, usize, bool),
}

/// Splits a layout at its first element: (literal prefix, element and its text, rest).
pub(crate) fn next_chunk(layout: &str) -> (&str, Option<(Std, &str)>, &str) {
    let b = layout.as_bytes();
    let at = |i: usize, s: &str| layout.get(i..).is_some_and(|r| r.starts_with(s));
    let lower_after = |i: usize| b.get(i).is_some_and(u8::is_ascii_lowercase);
    for i in 0..b.len() {
        let hit = |std: Std, len: usize| Some((std, i, len));
        let found = match b[i] {
            b'J' if at(i, "January") => hit(Std::LongMonth, 7),
            b'J' if at(i, "Jan") && !lower_after(i + 3) => hit(Std::Month, 3),
            b'M' if at(i, "Monday") => hit(Std::LongWeekDay, 6),
            b'M' if at(i, "Mon") && !lower_after(i + 3) => hit(Std::WeekDay, 3),
            b'M' if at(i, "MST") => hit(Std::TZ, 3),
            b'0' => match b.get(i + 1) {
                Some(b'1') => hit(Std::ZeroMonth, 2),
                Some(b'2') => hit(Std::ZeroDay, 2),
                Some(b'3') => hit(Std::ZeroHour12, 2),
                Some(b'4') => hit(Std::ZeroMinute, 2),
                Some(b'5') => hit(Std::ZeroSecond, 2),
                Some(b'6') => hit(Std::Year, 2),
                Some(b'0') if b.get(i + 2) == Some(&b'2') => hit(Std::ZeroYearDay, 3),
                _ => None,
            },
            b'1' if b.get(i + 1) == Some(&b'5') => hit(Std::Hour, 2),
            b'1' => hit(Std::NumMonth, 1),
            b'2' if at(i, "2006") => hit(Std::LongYear, 4),
            b'2' => hit(Std::Day, 1),
            b'_' if at(i, "_2006") => {
                return (
                    &layout[..i + 1],
                    Some((Std::LongYear, "2006")),
                    &layout[i + 5..],
                )
            }
            b'_' if at(i, "_2") => hit(Std::UnderDay, 2),
            b'_' if at(i, "__2") => hit(Std::UnderYearDay, 3),
            b'3' => hit(Std::Hour12, 1),
            b'4' => hit(Std::Minute, 1),
            b'5' => hit(Std::Second, 1),
            b'P' if b.get(i + 1) == Some(&b'M') => hit(Std::PM, 2),
            b'p' if b.get(i + 1) == Some(&b'm') => hit(Std::Pm, 2),
            b'-' | b'Z' => {
                let iso = b[i] == b'Z';
                let forms: [(&str, bool, bool, bool); 5] = [
                    ("070000", false, false, true),
                    ("07:00:00", true, false, true),
                    ("0700", false, false, false),
                    ("07:00", true, false, false),
                    ("07", false, true, false),
                ];
                forms.iter().find(|f| at(i + 1, f.0)).and_then(|f| {
                    let std = Std::NumTZ {
                        iso,
                        colon: f.1,
                        short: f.2,
                        seconds: f.3,
                    };
                    hit(std, f.0.len() + 1)
                })
            }
            c @ (b'.' | b',') if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let ch = b[i + 1];
                let n = b[i + 1..].iter().take_while(|&&x| x == ch).count();
                if b.get(i + 1 + n).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    hit(Std::Frac(char::from(c), n, ch == b'9'), n + 1)
                }
            }
            _ => None,
        };
        if let Some((std, i, len)) = found {
            return (
                &layout[..i],
                Some((std, &layout[i..i + len])),
                &layout[i + len..],
            );
        }
    }
    (layout, None, "")
}

fn pad(n: i64, width: usize) -> String {
    if n < 0 {
        format!("-{:0width$}", -n)
    } else {
        format!("{n:0width$}")
    }
}

/// Go's `t.Format(layout)`.
pub(crate) fn format(t: &GoTime, layout: &str) -> String {
    let c = t.civil();
    let mut out = String::new();
    let mut rest = layout;
    loop {
        let (prefix, std, tail) = next_chunk(rest);
        out.push_str(prefix);
        let Some((std, _)) = std else { break };
        rest = tail;
        let month = MONTHS.get((c.month - 1) as usize).copied().unwrap_or("");
        let day = DAYS.get(c.weekday as usize).copied().unwrap_or("");
        let h12 = if c.hour % 12 == 0 { 12 } else { c.hour % 12 };
        match std {
            Std::Year => out.push_str(&pad(c.year.rem_euclid(100), 2)),
            Std::LongYear => out.push_str(&pad(c.year, 4)),
            Std::Month => out.push_str(month.get(..3).unwrap_or("")),
            Std::LongMonth => out.push_str(month),
            Std::NumMonth => out.push_str(&c.month.to_string()),
            Std::ZeroMonth => out.push_str(&pad(c.month, 2)),
            Std::WeekDay => out.push_str(day.get(..3).unwrap_or("")),
            Std::LongWeekDay => out.push_str(day),
            Std::Day => out.push_str(&c.day.to_string()),
            Std::UnderDay => out.push_str(&format!("{:>2}", c.day)),
            Std::ZeroDay => out.push_str(&pad(c.day, 2)),
            Std::UnderYearDay => out.push_str(&format!("{:>3}", c.yday)),
            Std::ZeroYearDay => out.push_str(&pad(c.yday, 3)),
            Std::Hour => out.push_str(&pad(c.hour, 2)),
            Std::Hour12 => out.push_str(&h12.to_string()),
            Std::ZeroHour12 => out.push_str(&pad(h12, 2)),
            Std::Minute => out.push_str(&c.minute.to_string()),
            Std::ZeroMinute => out.push_str(&pad(c.minute, 2)),
            Std::Second => out.push_str(&c.second.to_string()),
            Std::ZeroSecond => out.push_str(&pad(c.second, 2)),
            Std::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            Std::TZ if !c.zone.is_empty() => out.push_str(&c.zone),
            Std::TZ => out.push_str(&numeric_zone(c.offset, false, false, false)),
            Std::NumTZ {
                iso,
                colon,
                short,
                seconds,
            } => {
                if iso && c.offset == 0 {
                    out.push('Z');
                } else {
                    out.push_str(&numeric_zone(c.offset, colon, short, seconds));
                }
            }
            Std::Frac(sep, n, trim) => {
                let digits = format!("{:09}", c.nsec);
                let mut d = &digits[..n.min(9)];
                if trim {
                    d = d.trim_end_matches('0');
                }
                if !d.is_empty() || !trim {
                    out.push(sep);
                    out.push_str(d);
                }
            }
        }
    }
    out
}

fn numeric_zone(offset: i32, colon: bool, short: bool, seconds: bool) -> String {
    let mut s = String::new();
    let zone = offset / 60;
    s.push(if zone < 0 { '-' } else { '+' });
    let (zone, abs) = (zone.abs(), offset.abs());
    s.push_str(&format!("{:02}", zone / 60));
    if colon {
        s.push(':');
    }
    if !short {
        s.push_str(&format!("{:02}", zone % 60));
    }
    if seconds {
        if colon {
            s.push(':');
        }
        s.push_str(&format!("{:02}", abs % 60));
    }
    s
}

impl Object for GoTime {
    fn go_type(&self) -> String {
        "time.Time".into()
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn method(&self, name: &str) -> Option<Func> {
        let t = self.clone();
        let int = |v: i64| Value::Int(v);
        Some(match name {
            "String" => Func::new(&[], move |_| Ok(Value::str(t.go_string()))),
            "Format" => Func::new(&[Ty::String], move |a| {
                let layout = a.first().and_then(Value::as_str).unwrap_or("");
                Ok(Value::str(format(&t, layout)))
            }),
            "Unix" => Func::new(&[], move |_| Ok(Value::Int64(t.unix))),
            "UnixNano" => Func::new(&[], move |_| {
                Ok(Value::Int64(t.unix_nanos().try_into().unwrap_or(i64::MAX)))
            }),
            "UTC" => Func::new(&[], move |_| Ok(Value::Object(Rc::new(t.in_loc(Loc::Utc))))),
            "Local" => Func::new(&[], move |_| Ok(Value::Object(Rc::new(t.in_loc(local()))))),
            "Year" => Func::new(&[], move |_| Ok(int(t.civil().year))),
            "YearDay" => Func::new(&[], move |_| Ok(int(t.civil().yday))),
            "Day" => Func::new(&[], move |_| Ok(int(t.civil().day))),
            "Hour" => Func::new(&[], move |_| Ok(int(t.civil().hour))),
            "Minute" => Func::new(&[], move |_| Ok(int(t.civil().minute))),
            "Second" => Func::new(&[], move |_| Ok(int(t.civil().second))),
            "Nanosecond" => Func::new(&[], move |_| Ok(int(i64::from(t.nsec)))),
            "IsZero" => Func::new(&[], move |_| {
                Ok(Value::Bool(t.unix == -62_135_596_800 && t.nsec == 0))
            }),
            _ => return None,
        })
    }
}
