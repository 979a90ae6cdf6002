//! sprig's date functions (`date.go`): `now`, `date`, `dateInZone`, `htmlDate`,
//! `htmlDateInZone`, `dateModify`, `mustDateModify`, `toDate`, `mustToDate`, `unixEpoch`,
//! `ago`, `duration`, `durationRound` (plus the `date_in_zone`/`date_modify` aliases).
//!
//! Time values are [`GoTime`] objects (`time.Time`); an argument Go declares as `time.Time`
//! is checked here and refused with Go's reflection message. sprig's own type switches are
//! kept exactly, quirks included: `duration` of a Go `int` is `0s` (only `int64` and strings
//! count), `date` of a string formats *now*.

use std::rc::Rc;

use super::super::value::{Func, Ty, Value};
use super::gotime::{format, load_location, local, GoTime, Loc};
use super::gotime_parse::{duration_string, parse, parse_duration};

fn time_arg(v: &Value) -> Result<GoTime, String> {
    as_time(v).ok_or_else(|| {
        format!(
            "wrong type for value; expected time.Time; got {}",
            v.go_type()
        )
    })
}

fn as_time(v: &Value) -> Option<GoTime> {
    match v {
        Value::Object(o) => o.as_any()?.downcast_ref::<GoTime>().cloned(),
        _ => None,
    }
}

fn time_value(t: GoTime) -> Value {
    Value::Object(Rc::new(t))
}

/// sprig's `dateInZone` type switch: time, or Unix seconds from int/int64, else now.
fn date_in_zone(layout: &str, date: &Value, zone: &str) -> String {
    let t = match date {
        Value::Int(s) | Value::Int64(s) => GoTime::from_unix(*s),
        other => as_time(other).unwrap_or_else(GoTime::now),
    };
    let loc = load_location(zone).unwrap_or(Loc::Utc);
    format(&t.in_loc(loc), layout)
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn arg(a: &[Value], i: usize) -> Value {
    a.get(i).cloned().unwrap_or(Value::Nil)
}

/// Pushes the date functions with Go's parameter types.
pub(crate) fn register(out: &mut Vec<(&'static str, Func)>) {
    out.push(("now", Func::new(&[], |_| Ok(time_value(GoTime::now())))));
    out.push((
        "date",
        Func::new(&[Ty::String, Ty::Any], |a| {
            Ok(Value::str(date_in_zone(
                text(&arg(&a, 0)),
                &arg(&a, 1),
                "Local",
            )))
        }),
    ));
    for name in ["dateInZone", "date_in_zone"] {
        out.push((
            name,
            Func::new(&[Ty::String, Ty::Any, Ty::String], |a| {
                let zone = arg(&a, 2);
                Ok(Value::str(date_in_zone(
                    text(&arg(&a, 0)),
                    &arg(&a, 1),
                    text(&zone),
                )))
            }),
        ));
    }
    out.push((
        "htmlDate",
        Func::new(&[Ty::Any], |a| {
            Ok(Value::str(date_in_zone("2006-01-02", &arg(&a, 0), "Local")))
        }),
    ));
    out.push((
        "htmlDateInZone",
        Func::new(&[Ty::Any, Ty::String], |a| {
            let zone = arg(&a, 1);
            Ok(Value::str(date_in_zone(
                "2006-01-02",
                &arg(&a, 0),
                text(&zone),
            )))
        }),
    ));
    for name in ["dateModify", "date_modify"] {
        out.push((
            name,
            Func::new(&[Ty::String, Ty::Any], |a| {
                let t = time_arg(&arg(&a, 1))?;
                Ok(time_value(match parse_duration(text(&arg(&a, 0))) {
                    Ok(d) => t.add(d),
                    Err(_) => t,
                }))
            }),
        ));
    }
    out.push((
        "mustDateModify",
        Func::new(&[Ty::String, Ty::Any], |a| {
            let t = time_arg(&arg(&a, 1))?;
            let d = parse_duration(text(&arg(&a, 0)))?;
            Ok(time_value(t.add(d)))
        }),
    ));
    out.push((
        "toDate",
        Func::new(&[Ty::String, Ty::String], |a| {
            let t = parse(text(&arg(&a, 0)), text(&arg(&a, 1)), &local()).unwrap_or(GoTime {
                unix: -62_135_596_800, // Go's zero Time, 0001-01-01 00:00:00 UTC
                nsec: 0,
                loc: Loc::Utc,
                mono: None,
            });
            Ok(time_value(t))
        }),
    ));
    out.push((
        "mustToDate",
        Func::new(&[Ty::String, Ty::String], |a| {
            parse(text(&arg(&a, 0)), text(&arg(&a, 1)), &local()).map(time_value)
        }),
    ));
    out.push((
        "unixEpoch",
        Func::new(&[Ty::Any], |a| {
            let t = time_arg(&arg(&a, 0))?;
            Ok(Value::str(t.unix.to_string()))
        }),
    ));
    out.push((
        "ago",
        Func::new(&[Ty::Any], |a| {
            let t = match arg(&a, 0) {
                Value::Int(s) | Value::Int64(s) => GoTime::from_unix(s),
                other => as_time(&other).unwrap_or_else(GoTime::now),
            };
            Ok(Value::str(duration_string(round_to_second(t.since()))))
        }),
    ));
    out.push((
        "duration",
        Func::new(&[Ty::Any], |a| {
            let n = match arg(&a, 0) {
                Value::Str(s) => s.parse::<i64>().unwrap_or(0),
                Value::Int64(n) => n,
                _ => 0,
            };
            Ok(Value::str(duration_string(n.wrapping_mul(1_000_000_000))))
        }),
    ));
    out.push((
        "durationRound",
        Func::new(&[Ty::Any], |a| {
            let d = match arg(&a, 0) {
                Value::Str(s) => parse_duration(&s).unwrap_or(0),
                Value::Int64(n) => n,
                other => as_time(&other).map_or(0, |t| t.since()),
            };
            Ok(Value::str(duration_round(d)))
        }),
    ));
}

/// Go's `d.Round(time.Second)`: halves away from zero.
fn round_to_second(d: i64) -> i64 {
    let m = 1_000_000_000;
    let r = d % m;
    if d < 0 {
        let r = -r;
        if r + r < m {
            d + r
        } else {
            d.checked_sub(m - r).unwrap_or(i64::MIN)
        }
    } else if r + r < m {
        d - r
    } else {
        d.checked_add(m - r).unwrap_or(i64::MAX)
    }
}

/// sprig's `durationRound`: the largest whole unit, `y` (365 days) to `s`.
fn duration_round(d: i64) -> String {
    let u = d.unsigned_abs();
    let hour = 3_600_000_000_000u64;
    let units = [
        (hour * 24 * 365, "y"),
        (hour * 24 * 30, "mo"),
        (hour * 24, "d"),
        (hour, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
    ];
    for (size, name) in units {
        if u > size {
            return format!("{}{name}", u / size);
        }
    }
    "0s".into()
}

#[cfg(test)]
mod tests {
    //! Expected strings are the reference renderer's output for the same calls (with
    //! explicit zones, so the machine's local zone does not matter).
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, String> {
        let mut funcs = Vec::new();
        register(&mut funcs);
        let (_, f) = funcs
            .into_iter()
            .find(|(n, _)| *n == name)
            .expect("registered");
        (f.call)(args)
    }

    fn utc(layout: &str, value: &str) -> Value {
        time_value(parse(layout, value, &Loc::Utc).expect("parses"))
    }

    #[test]
    fn formats_like_go() {
        let layout = "2006-01-02 15:04:05 MST Mon Jan _2 3PM .000 Z07:00 -0700 __2 002 06";
        let got = call(
            "dateInZone",
            vec![
                Value::str(layout),
                Value::Int(1_700_000_000),
                Value::str("UTC"),
            ],
        );
        assert_eq!(
            got.map(|v| v.to_go_string()).as_deref(),
            Ok("2023-11-14 22:13:20 UTC Tue Nov 14 10PM .000 Z +0000 318 318 23")
        );
        let layout = "Monday, January 2, 2006 15:04:05.999 MST -07:00 pm";
        let got = call(
            "dateInZone",
            vec![
                Value::str(layout),
                Value::Int64(1_700_000_000),
                Value::str("America/New_York"),
            ],
        );
        assert_eq!(
            got.map(|v| v.to_go_string()).as_deref(),
            Ok("Tuesday, November 14, 2023 17:13:20 EST -05:00 pm")
        );
        let got = call(
            "htmlDateInZone",
            vec![Value::Int(1_700_000_000), Value::str("Asia/Tokyo")],
        );
        assert_eq!(got.map(|v| v.to_go_string()).as_deref(), Ok("2023-11-15"));
        let got = call(
            "dateInZone",
            vec![
                Value::str("2006 MST"),
                Value::Int(0),
                Value::str("Bad/Zone"),
            ],
        );
        assert_eq!(got.map(|v| v.to_go_string()).as_deref(), Ok("1970 UTC"));
    }

    #[test]
    fn parses_and_prints_times_like_go() {
        let cases = [
            (
                utc("2006-01-02", "2024-02-29"),
                "2024-02-29 00:00:00 +0000 UTC",
            ),
            (
                utc("2006-01-02T15:04:05Z07:00", "2024-03-01T10:00:00+02:00"),
                "2024-03-01 10:00:00 +0200 +0200",
            ),
            (
                utc("2006-01-02T15:04:05.000Z", "2024-03-01T10:00:00.123Z"),
                "2024-03-01 10:00:00.123 +0000 UTC",
            ),
            (
                utc(
                    "Jan 2 2006 3:04:05.999999 PM MST",
                    "Mar 5 2024 4:05:06.5 PM CET",
                ),
                "2024-03-05 16:05:06.5 +0000 CET",
            ),
        ];
        for (t, want) in cases {
            assert_eq!(t.to_go_string(), want);
        }
        let errors = [
            (
                "2006-01-02",
                "2024-02-30",
                "parsing time \"2024-02-30\": day out of range",
            ),
            (
                "2006-01-02",
                "2024-1-30",
                "parsing time \"2024-1-30\" as \"2006-01-02\": cannot parse \"1-30\" as \"01\"",
            ),
            (
                "2006-01-02",
                "2024-01-30x",
                "parsing time \"2024-01-30x\": extra text: \"x\"",
            ),
            (
                "15:04",
                "25:00",
                "parsing time \"25:00\": hour out of range",
            ),
        ];
        for (layout, value, want) in errors {
            assert_eq!(parse(layout, value, &Loc::Utc).err().as_deref(), Some(want));
        }
    }

    #[test]
    fn modifies_and_measures_like_go() {
        let day = || utc("2006-01-02", "2024-02-29");
        let modify =
            |d: &str| call("dateModify", vec![Value::str(d), day()]).map(|v| v.to_go_string());
        assert_eq!(
            modify("1h30m").as_deref(),
            Ok("2024-02-29 01:30:00 +0000 UTC")
        );
        assert_eq!(
            modify("bad").as_deref(),
            Ok("2024-02-29 00:00:00 +0000 UTC")
        );
        assert_eq!(
            modify("-1.5h").as_deref(),
            Ok("2024-02-28 22:30:00 +0000 UTC")
        );
        assert_eq!(
            modify("1.5us").as_deref(),
            Ok("2024-02-29 00:00:00.0000015 +0000 UTC")
        );
        let must = |d: &str| call("mustDateModify", vec![Value::str(d), day()]).err();
        assert_eq!(
            must("1x").as_deref(),
            Some("time: unknown unit \"x\" in duration \"1x\"")
        );
        assert_eq!(
            must("1").as_deref(),
            Some("time: missing unit in duration \"1\"")
        );
        let epoch = call("unixEpoch", vec![day()]).map(|v| v.to_go_string());
        assert_eq!(epoch.as_deref(), Ok("1709164800"));
        let text = |name: &str, v: Value| {
            call(name, vec![v])
                .map(|v| v.to_go_string())
                .unwrap_or_default()
        };
        assert_eq!(text("duration", Value::str("95")), "1m35s");
        assert_eq!(text("duration", Value::Int(95)), "0s");
        assert_eq!(text("duration", Value::Int64(3700)), "1h1m40s");
        assert_eq!(text("duration", Value::str("-3725")), "-1h2m5s");
        assert_eq!(text("duration", Value::str("100000")), "27h46m40s");
        assert_eq!(text("durationRound", Value::str("2h30m")), "2h");
        assert_eq!(text("durationRound", Value::Int64(1000)), "0s");
        assert_eq!(text("durationRound", Value::str("400h")), "16d");
        assert_eq!(text("durationRound", Value::str("9000h")), "1y");
        assert_eq!(text("durationRound", Value::Int(5)), "0s");
        let refused = call("unixEpoch", vec![Value::Int(5)]).err();
        assert_eq!(
            refused.as_deref(),
            Some("wrong type for value; expected time.Time; got int")
        );
    }
}
