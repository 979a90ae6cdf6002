//! Go's `time.ParseInLocation` and `time.Duration` text (`String`, `ParseDuration`), with
//! Go's error texts, for sprig's `toDate`, `dateModify`, `duration` and friends.
//!
//! Follows `time/format.go`'s `parse` element by element (same layout chunking as
//! [`super::gotime::next_chunk`]); zone abbreviations are matched against the local zone at
//! that instant only (Go searches all the zone's abbreviations), a rare difference.

use super::gotime::{days_from_civil, next_chunk, GoTime, Loc, Std, DAYS, MONTHS};

/// Go's unexported `quote` for time errors: double quotes, `"` and `\` escaped.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

struct Fields {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
    nsec: i64,
    utc: bool,
    offset: Option<i32>,
    zone_name: String,
}

fn getnum(v: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = v.as_bytes();
    let d0 = b.first().filter(|c| c.is_ascii_digit())?;
    match b.get(1).filter(|c| c.is_ascii_digit()) {
        Some(d1) => Some((i64::from(d0 - b'0') * 10 + i64::from(d1 - b'0'), &v[2..])),
        None if fixed => None,
        None => Some((i64::from(d0 - b'0'), &v[1..])),
    }
}

fn lookup_name<'a>(names: &[&str], v: &'a str) -> Option<(i64, &'a str)> {
    names.iter().enumerate().find_map(|(i, name)| {
        let head = v.get(..name.len())?;
        head.eq_ignore_ascii_case(name)
            .then(|| (i as i64, &v[name.len()..]))
    })
}

/// Go's `skip`: match a literal layout prefix; a space matches a run of spaces.
fn skip<'a>(mut value: &'a str, mut prefix: &str) -> Option<&'a str> {
    while let Some(p) = prefix.chars().next() {
        if p == ' ' {
            if !value.is_empty() && !value.starts_with(' ') {
                return None;
            }
            prefix = prefix.trim_start_matches(' ');
            value = value.trim_start_matches(' ');
            continue;
        }
        let v = value.chars().next().filter(|&c| c == p)?;
        value = &value[v.len_utf8()..];
        prefix = &prefix[p.len_utf8()..];
    }
    Some(value)
}

/// `.123` style fraction of `n` bytes (separator included) as nanoseconds.
fn nanos(v: &str, n: usize) -> Option<i64> {
    let digits = v.get(1..n)?;
    if !digits.bytes().all(|c| c.is_ascii_digit()) || digits.is_empty() {
        return None;
    }
    let mut d: String = digits.chars().take(9).collect();
    while d.len() < 9 {
        d.push('0');
    }
    d.parse().ok()
}

/// Go's `time.ParseInLocation(layout, value, loc)`.
pub(crate) fn parse(layout: &str, value: &str, loc: &Loc) -> Result<GoTime, String> {
    let bad = |elem: &str, rest: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            quote(value),
            quote(layout),
            quote(rest),
            quote(elem)
        )
    };
    let range = |what: &str| format!("parsing time {}: {what} out of range", quote(value));
    let mut f = Fields {
        year: 0,
        month: -1,
        day: -1,
        hour: 0,
        min: 0,
        sec: 0,
        nsec: 0,
        utc: false,
        offset: None,
        zone_name: String::new(),
    };
    let (mut am, mut pm) = (false, false);
    let (mut lay, mut v) = (layout, value);
    loop {
        let (prefix, std, suffix) = next_chunk(lay);
        v = skip(v, prefix).ok_or_else(|| bad(prefix, v))?;
        let Some((std, stdstr)) = std else {
            if !v.is_empty() {
                return Err(format!(
                    "parsing time {}: extra text: {}",
                    quote(value),
                    quote(v)
                ));
            }
            break;
        };
        lay = suffix;
        let rest = v;
        let fail = || bad(stdstr, rest);
        match std {
            Std::Year => {
                let (y, r) = getnum(v, true).ok_or_else(fail)?;
                f.year = if y >= 69 { y + 1900 } else { y + 2000 };
                v = r;
            }
            Std::LongYear => {
                let p = v.get(..4).filter(|p| p.bytes().all(|c| c.is_ascii_digit()));
                f.year = p.and_then(|p| p.parse().ok()).ok_or_else(fail)?;
                v = &v[4..];
            }
            Std::Month | Std::LongMonth => {
                let names: Vec<&str> = if std == Std::Month {
                    MONTHS.iter().map(|m| &m[..3]).collect()
                } else {
                    MONTHS.to_vec()
                };
                let (m, r) = lookup_name(&names, v).ok_or_else(fail)?;
                f.month = m + 1;
                v = r;
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (m, r) = getnum(v, std == Std::ZeroMonth).ok_or_else(fail)?;
                if !(1..=12).contains(&m) {
                    return Err(bad_range(value, layout, stdstr, r, "month"));
                }
                f.month = m;
                v = r;
            }
            Std::WeekDay | Std::LongWeekDay => {
                let names: Vec<&str> = if std == Std::WeekDay {
                    DAYS.iter().map(|d| &d[..3]).collect()
                } else {
                    DAYS.to_vec()
                };
                v = lookup_name(&names, v).ok_or_else(fail)?.1;
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if std == Std::UnderDay && v.starts_with(' ') {
                    v = &v[1..];
                }
                let (d, r) = getnum(v, std == Std::ZeroDay).ok_or_else(fail)?;
                f.day = d;
                v = r;
            }
            Std::UnderYearDay | Std::ZeroYearDay => return Err(fail()),
            Std::Hour | Std::Hour12 | Std::ZeroHour12 => {
                let (h, r) = getnum(v, std == Std::ZeroHour12).ok_or_else(fail)?;
                let max = if std == Std::Hour { 23 } else { 12 };
                if h > max {
                    return Err(bad_range(value, layout, stdstr, r, "hour"));
                }
                f.hour = h;
                v = r;
            }
            Std::Minute | Std::ZeroMinute => {
                let (m, r) = getnum(v, std == Std::ZeroMinute).ok_or_else(fail)?;
                if m > 59 {
                    return Err(bad_range(value, layout, stdstr, r, "minute"));
                }
                f.min = m;
                v = r;
            }
            Std::Second | Std::ZeroSecond => {
                let (s, r) = getnum(v, std == Std::ZeroSecond).ok_or_else(fail)?;
                if s > 59 {
                    return Err(bad_range(value, layout, stdstr, r, "second"));
                }
                f.sec = s;
                v = r;
                // A fraction in the value that the layout does not spell out.
                let b = v.as_bytes();
                let next_is_frac = matches!(next_chunk(lay).1, Some((Std::Frac(..), _)));
                if b.len() >= 2
                    && matches!(b[0], b'.' | b',')
                    && b[1].is_ascii_digit()
                    && !next_is_frac
                {
                    let n = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    f.nsec = nanos(v, n).ok_or_else(fail)?;
                    v = &v[n..];
                }
            }
            Std::PM | Std::Pm => {
                let p = v.get(..2).ok_or_else(fail)?;
                let (am_s, pm_s) = if std == Std::PM {
                    ("AM", "PM")
                } else {
                    ("am", "pm")
                };
                if p == pm_s {
                    pm = true;
                } else if p == am_s {
                    am = true;
                } else {
                    return Err(fail());
                }
                v = &v[2..];
            }
            Std::NumTZ {
                iso,
                colon,
                short,
                seconds,
            } => {
                if iso && v.starts_with('Z') {
                    f.utc = true;
                    v = &v[1..];
                    continue;
                }
                let b = v.as_bytes();
                let sign = match b.first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err(fail()),
                };
                let mut i = 1;
                let two = |i: &mut usize, sep: bool| -> Option<i64> {
                    if sep {
                        if b.get(*i) != Some(&b':') {
                            return None;
                        }
                        *i += 1;
                    }
                    let (n, _) = getnum(v.get(*i..)?, true)?;
                    *i += 2;
                    Some(n)
                };
                let hh = two(&mut i, false).ok_or_else(fail)?;
                let mm = if short {
                    0
                } else {
                    two(&mut i, colon).ok_or_else(fail)?
                };
                let ss = if seconds {
                    two(&mut i, colon).ok_or_else(fail)?
                } else {
                    0
                };
                if hh > 24 || mm > 60 || ss > 60 {
                    let what = if hh > 24 {
                        "time zone offset hour"
                    } else {
                        "time zone offset minute"
                    };
                    return Err(bad_range(value, layout, stdstr, &v[i..], what));
                }
                f.offset = Some((sign * (hh * 3600 + mm * 60 + ss)) as i32);
                v = &v[i..];
            }
            Std::TZ => {
                if v.starts_with("UTC") {
                    f.utc = true;
                    v = &v[3..];
                    continue;
                }
                let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                if !(3..=5).contains(&n) {
                    return Err(fail());
                }
                f.zone_name = v[..n].to_string();
                v = &v[n..];
            }
            Std::Frac(_, n, trim) => {
                let b = v.as_bytes();
                if trim {
                    if b.len() < 2 || !matches!(b[0], b'.' | b',') || !b[1].is_ascii_digit() {
                        continue;
                    }
                    let k = b[1..]
                        .iter()
                        .take(9)
                        .take_while(|c| c.is_ascii_digit())
                        .count();
                    f.nsec = nanos(v, k + 1).ok_or_else(fail)?;
                    v = &v[k + 1..];
                } else {
                    if b.len() < n + 1 || !matches!(b[0], b'.' | b',') {
                        return Err(fail());
                    }
                    f.nsec = nanos(v, n + 1).ok_or_else(fail)?;
                    v = &v[n + 1..];
                }
            }
        }
    }
    if pm && f.hour < 12 {
        f.hour += 12;
    } else if am && f.hour == 12 {
        f.hour = 0;
    }
    if f.month < 0 {
        f.month = 1;
    }
    if f.day < 0 {
        f.day = 1;
    }
    let leap = f.year % 4 == 0 && (f.year % 100 != 0 || f.year % 400 == 0);
    let days_in = match f.month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if f.day < 1 || f.day > days_in {
        return Err(range("day"));
    }
    let civil =
        days_from_civil(f.year, f.month, f.day) * 86_400 + f.hour * 3600 + f.min * 60 + f.sec;
    let at = |unix: i64, loc: Loc| GoTime {
        unix,
        nsec: f.nsec as u32,
        loc,
        mono: None,
    };
    if f.utc {
        return Ok(at(civil, Loc::Utc));
    }
    if let Some(off) = f.offset {
        let unix = civil - i64::from(off);
        let (local_off, name) = offset_at(loc, unix);
        if local_off == off && (f.zone_name.is_empty() || name == f.zone_name) {
            return Ok(at(unix, loc.clone()));
        }
        return Ok(at(unix, Loc::Fixed(f.zone_name, off)));
    }
    if !f.zone_name.is_empty() {
        let (off, name) = offset_at(loc, civil);
        if name == f.zone_name {
            return Ok(at(civil - i64::from(off), loc.clone()));
        }
        return Ok(at(civil, Loc::Fixed(f.zone_name, 0)));
    }
    // Go's Date in `loc`: civil time minus the offset in effect then.
    let (guess, _) = offset_at(loc, civil);
    let (off, _) = offset_at(loc, civil - i64::from(guess));
    Ok(at(civil - i64::from(off), loc.clone()))
}

fn offset_at(loc: &Loc, unix: i64) -> (i32, String) {
    let probe = GoTime {
        unix,
        nsec: 0,
        loc: loc.clone(),
        mono: None,
    };
    let s = super::gotime::format(&probe, "-070000 MST");
    let (num, name) = s.split_once(' ').unwrap_or((&s, ""));
    let sign = if num.starts_with('-') { -1 } else { 1 };
    let digits: Vec<i32> = num
        .bytes()
        .skip(1)
        .map(|c| i32::from(c.wrapping_sub(b'0')))
        .collect();
    let part = |i: usize| {
        digits.get(i).copied().unwrap_or(0) * 10 + digits.get(i + 1).copied().unwrap_or(0)
    };
    (
        sign * (part(0) * 3600 + part(2) * 60 + part(4)),
        name.to_string(),
    )
}

fn bad_range(value: &str, _layout: &str, _elem: &str, _rest: &str, what: &str) -> String {
    format!("parsing time {}: {what} out of range", quote(value))
}

/// Go's `Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(crate) fn duration_string(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, scale) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac_text(u, scale));
        out.push_str(unit);
    } else {
        let secs = u / 1_000_000_000;
        let (h, m) = (secs / 3600, secs % 3600 / 60);
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac_text(u % 60_000_000_000, 1_000_000_000));
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// `u / scale` with its fraction, trailing zeros dropped.
fn frac_text(u: u64, scale: u64) -> String {
    let whole = u / scale;
    let frac = u % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let width = scale.ilog10() as usize;
    let f = format!("{frac:0width$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

/// Go's `time.ParseDuration`.
pub(crate) fn parse_duration(s: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", quote(s));
    let mut rest = s;
    let neg = rest.starts_with('-');
    if rest.starts_with('-') || rest.starts_with('+') {
        rest = &rest[1..];
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int: u128 = rest[..int_len].parse().unwrap_or(0);
        rest = &rest[int_len..];
        let mut frac = "";
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac = &r[..n];
            rest = &r[n..];
        }
        if int_len == 0 && frac.is_empty() {
            return Err(invalid());
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: u128 = match unit {
            "" => return Err(format!("time: missing unit in duration {}", quote(s))),
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    quote(unit),
                    quote(s)
                ))
            }
        };
        let mut part = int.checked_mul(scale).ok_or_else(invalid)?;
        let mut div = scale;
        for d in frac.bytes() {
            div /= 10;
            if div == 0 {
                break;
            }
            part += u128::from(d - b'0') * div;
        }
        total = total.checked_add(part).ok_or_else(invalid)?;
        if total > 1u128 << 63 {
            return Err(invalid());
        }
    }
    let total = i128::try_from(total).map_err(|_| invalid())?;
    let signed = if neg { -total } else { total };
    i64::try_from(signed).map_err(|_| invalid())
}
