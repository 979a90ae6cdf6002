//! sprig's arithmetic: integer (`add`, `sub`, `mul`, `div`, `mod`, `max`, `min`, ...), float
//! through shopspring/decimal (`addf`, `subf`, `mulf`, `divf`, `add1f`) and rounding.
//!
//! Integer functions convert every argument with cast's `ToInt64` and return Go `int64`,
//! wrapping on overflow like Go; division by zero is Go's runtime panic, reported as an error
//! with the panic's text. The `*f` functions convert each float64 to the decimal with the
//! shortest digits that round-trip (shopspring's `NewFromFloat`), compute exactly (division
//! rounds half away from zero at 16 decimal places, shopspring's `DivisionPrecision`) and
//! convert back to the nearest float64. `randInt` lives in `random.rs`.

use num_bigint::{BigInt, Sign};
use num_traits_lite::pow10;

use super::super::value::{format_float_g, Func, Ty, Value};
use super::conv::{arg, arg_int, to_float64, to_int64};

/// A few integer helpers on [`BigInt`] (kept local to avoid another dependency).
mod num_traits_lite {
    use num_bigint::BigInt;

    /// 10^n as a big integer.
    pub(super) fn pow10(n: u32) -> BigInt {
        BigInt::from(10u32).pow(n)
    }
}

/// Exact decimal `m × 10^e`, shopspring's representation.
#[derive(Clone, Debug)]
struct Dec {
    m: BigInt,
    e: i64,
}

/// The number of decimal places `divf` keeps (shopspring's `DivisionPrecision`).
const DIVISION_PRECISION: i64 = 16;

impl Dec {
    /// shopspring's `NewFromFloat`: the shortest decimal that round-trips to `f`.
    fn from_f64(f: f64) -> Result<Dec, String> {
        if f.is_nan() || f.is_infinite() {
            return Err(format!(
                "Cannot create a Decimal from {}",
                format_float_g(f)
            ));
        }
        if f == 0.0 {
            return Ok(Dec {
                m: BigInt::from(0),
                e: 0,
            });
        }
        let sci = format!("{:e}", f);
        let (mant, exp) = sci.split_once('e').ok_or("bad float")?;
        let exp: i64 = exp.parse().map_err(|_| "bad float")?;
        let neg = mant.starts_with('-');
        let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
        let mut m: BigInt = digits.parse().map_err(|_| "bad float")?;
        if neg {
            m = -m;
        }
        let e = exp - (digits.len() as i64 - 1);
        Ok(Dec { m, e })
    }

    /// The nearest float64 (shopspring's `Float64`, through an exact rational).
    fn to_f64(&self) -> f64 {
        format!("{}e{}", self.m, self.e).parse().unwrap_or(0.0)
    }

    /// Both operands scaled to the smaller exponent.
    fn align(&self, other: &Dec) -> (BigInt, BigInt, i64) {
        let e = self.e.min(other.e);
        let a = &self.m * pow10((self.e - e) as u32);
        let b = &other.m * pow10((other.e - e) as u32);
        (a, b, e)
    }

    fn add(&self, other: &Dec) -> Dec {
        let (a, b, e) = self.align(other);
        Dec { m: a + b, e }
    }

    fn sub(&self, other: &Dec) -> Dec {
        let (a, b, e) = self.align(other);
        Dec { m: a - b, e }
    }

    fn mul(&self, other: &Dec) -> Dec {
        Dec {
            m: &self.m * &other.m,
            e: self.e + other.e,
        }
    }

    /// shopspring's `Div`: the quotient rounded half away from zero to 16 decimal places.
    fn div(&self, other: &Dec) -> Result<Dec, String> {
        if other.m.sign() == Sign::NoSign {
            return Err("decimal division by 0".into());
        }
        // q × 10^16 = (a × 10^ea) / (b × 10^eb) × 10^16
        let shift = self.e - other.e + DIVISION_PRECISION;
        let (num, den) = if shift >= 0 {
            (&self.m * pow10(shift as u32), other.m.clone())
        } else {
            (self.m.clone(), &other.m * pow10((-shift) as u32))
        };
        let mut q = &num / &den; // truncates toward zero
        let r: BigInt = &num - &q * &den;
        let twice: BigInt = r.magnitude().clone().into();
        let twice = twice * 2;
        let den_abs: BigInt = den.magnitude().clone().into();
        if twice >= den_abs {
            if (num.sign() == Sign::Minus) != (den.sign() == Sign::Minus) {
                q -= 1;
            } else {
                q += 1;
            }
        }
        Ok(Dec {
            m: q,
            e: -DIVISION_PRECISION,
        })
    }
}

/// sprig's `execDecimalOp`: folds `rest` into `first` with `op`, exactly, then to float64.
fn decimal_fold(
    first: &Value,
    rest: &[Value],
    op: impl Fn(&Dec, &Dec) -> Result<Dec, String>,
) -> Result<Value, String> {
    let mut acc = Dec::from_f64(to_float64(first))?;
    for v in rest {
        acc = op(&acc, &Dec::from_f64(to_float64(v))?)?;
    }
    Ok(Value::Float(acc.to_f64()))
}

/// Go's `math.Max`: NaN wins, +0 beats -0.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            b
        } else {
            a
        }
    } else if a > b {
        a
    } else {
        b
    }
}

/// Go's `math.Min`: NaN wins, -0 beats +0.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            a
        } else {
            b
        }
    } else if a < b {
        a
    } else {
        b
    }
}

/// sprig's `round`: rounds up when the fractional part (after scaling by 10^places) is at
/// least `round_on`, using the signed fraction exactly as Go's `math.Modf` gives it.
fn round(v: f64, places: i64, round_on: f64) -> f64 {
    let pow = 10f64.powf(places as f64);
    let digit = pow * v;
    let frac = digit - digit.trunc();
    let r = if frac >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    r / pow
}

const DIV_ZERO: &str = "runtime error: integer divide by zero";

/// Registers add1 add sub div mod mul add1f addf subf divf mulf biggest max min maxf minf
/// ceil floor round.
pub(crate) fn register(out: &mut Vec<(&'static str, Func)>) {
    let any = Ty::Any;
    out.push((
        "add1",
        Func::new(&[any], |a| {
            Ok(Value::Int64(to_int64(&arg(&a, 0)).wrapping_add(1)))
        }),
    ));
    out.push((
        "add",
        Func::variadic(&[], any, |a| {
            Ok(Value::Int64(
                a.iter().fold(0i64, |s, v| s.wrapping_add(to_int64(v))),
            ))
        }),
    ));
    out.push((
        "sub",
        Func::new(&[any, any], |a| {
            Ok(Value::Int64(
                to_int64(&arg(&a, 0)).wrapping_sub(to_int64(&arg(&a, 1))),
            ))
        }),
    ));
    out.push((
        "div",
        Func::new(&[any, any], |a| {
            let (x, y) = (to_int64(&arg(&a, 0)), to_int64(&arg(&a, 1)));
            if y == 0 {
                return Err(DIV_ZERO.into());
            }
            Ok(Value::Int64(x.wrapping_div(y)))
        }),
    ));
    out.push((
        "mod",
        Func::new(&[any, any], |a| {
            let (x, y) = (to_int64(&arg(&a, 0)), to_int64(&arg(&a, 1)));
            if y == 0 {
                return Err(DIV_ZERO.into());
            }
            Ok(Value::Int64(x.wrapping_rem(y)))
        }),
    ));
    out.push((
        "mul",
        Func::variadic(&[any], any, |a| {
            let first = to_int64(&arg(&a, 0));
            Ok(Value::Int64(
                a.iter()
                    .skip(1)
                    .fold(first, |p, v| p.wrapping_mul(to_int64(v))),
            ))
        }),
    ));
    out.push((
        "add1f",
        Func::new(&[any], |a| {
            decimal_fold(&arg(&a, 0), &[Value::Int(1)], |x, y| Ok(x.add(y)))
        }),
    ));
    out.push((
        "addf",
        Func::variadic(&[], any, |a| {
            decimal_fold(&Value::Float(0.0), &a, |x, y| Ok(x.add(y)))
        }),
    ));
    out.push((
        "subf",
        Func::variadic(&[any], any, |a| {
            decimal_fold(&arg(&a, 0), a.get(1..).unwrap_or(&[]), |x, y| Ok(x.sub(y)))
        }),
    ));
    out.push((
        "mulf",
        Func::variadic(&[any], any, |a| {
            decimal_fold(&arg(&a, 0), a.get(1..).unwrap_or(&[]), |x, y| Ok(x.mul(y)))
        }),
    ));
    out.push((
        "divf",
        Func::variadic(&[any], any, |a| {
            decimal_fold(&arg(&a, 0), a.get(1..).unwrap_or(&[]), Dec::div)
        }),
    ));
    for name in ["biggest", "max"] {
        out.push((
            name,
            Func::variadic(&[any], any, |a| {
                let first = to_int64(&arg(&a, 0));
                Ok(Value::Int64(
                    a.iter().skip(1).map(to_int64).fold(first, i64::max),
                ))
            }),
        ));
    }
    out.push((
        "min",
        Func::variadic(&[any], any, |a| {
            let first = to_int64(&arg(&a, 0));
            Ok(Value::Int64(
                a.iter().skip(1).map(to_int64).fold(first, i64::min),
            ))
        }),
    ));
    out.push((
        "maxf",
        Func::variadic(&[any], any, |a| {
            let first = to_float64(&arg(&a, 0));
            Ok(Value::Float(
                a.iter().skip(1).map(to_float64).fold(first, go_max),
            ))
        }),
    ));
    out.push((
        "minf",
        Func::variadic(&[any], any, |a| {
            let first = to_float64(&arg(&a, 0));
            Ok(Value::Float(
                a.iter().skip(1).map(to_float64).fold(first, go_min),
            ))
        }),
    ));
    out.push((
        "ceil",
        Func::new(&[any], |a| Ok(Value::Float(to_float64(&arg(&a, 0)).ceil()))),
    ));
    out.push((
        "floor",
        Func::new(&[any], |a| {
            Ok(Value::Float(to_float64(&arg(&a, 0)).floor()))
        }),
    ));
    out.push((
        "round",
        Func::variadic(&[any, Ty::Int], Ty::Float64, |a| {
            let round_on = match a.get(2) {
                Some(Value::Float(f)) => *f,
                _ => 0.5,
            };
            Ok(Value::Float(round(
                to_float64(&arg(&a, 0)),
                arg_int(&a, 1)?,
                round_on,
            )))
        }),
    ));
}

#[cfg(test)]
mod tests {
    use super::super::testkit::check;

    /// Each expected string is what the Go oracle (`gorender`, Go 1.19 + sprig 3.2.3)
    /// printed for `{{ EXPR }}`; `ERR` rows are the tail of its error message.
    #[test]
    fn matches_go_oracle() {
        check(&[
            (r#"add1 5"#, r#"6"#),
            (r#"add 1 2 "3" 4.9"#, r#"10"#),
            (r#"add"#, r#"0"#),
            (r#"sub 10 3.5"#, r#"7"#),
            (r#"div 10 3"#, r#"3"#),
            (r#"div -7 2"#, r#"-3"#),
            (
                r#"div 1 0"#,
                r#"ERR error calling div: runtime error: integer divide by zero"#,
            ),
            (r#"mod 10 3"#, r#"1"#),
            (r#"mod -7 3"#, r#"-1"#),
            (
                r#"mod 1 0"#,
                r#"ERR error calling mod: runtime error: integer divide by zero"#,
            ),
            (r#"mul 2 3 4"#, r#"24"#),
            (r#"mul 5"#, r#"5"#),
            (r#"add1f 1.1"#, r#"2.1"#),
            (r#"addf 1.1 2.2"#, r#"3.3"#),
            (r#"addf 0.1 0.2"#, r#"0.3"#),
            (r#"subf 1 0.9"#, r#"0.1"#),
            (r#"mulf 1.1 3"#, r#"3.3"#),
            (r#"divf 1 3"#, r#"0.3333333333333333"#),
            (r#"divf 2 3"#, r#"0.6666666666666667"#),
            (r#"divf -2 3"#, r#"-0.6666666666666667"#),
            (
                r#"divf 1 0"#,
                r#"ERR error calling divf: decimal division by 0"#,
            ),
            (r#"divf 10 4 2"#, r#"1.25"#),
            (r#"biggest 1 5 3"#, r#"5"#),
            (r#"max 1 "7" 3"#, r#"7"#),
            (r#"min 4 2 9"#, r#"2"#),
            (r#"maxf 1.5 2.5 -1"#, r#"2.5"#),
            (r#"minf 1.5 2.5 -1"#, r#"-1"#),
            (r#"ceil 1.2"#, r#"2"#),
            (r#"floor 1.8"#, r#"1"#),
            (r#"round 3.14159 2"#, r#"3.14"#),
            (r#"round -1.5 0"#, r#"-2"#),
            (r#"round 2.5 0"#, r#"3"#),
            (r#"round 1.4 0 0.3"#, r#"2"#),
            (r#"round 123.456 -1"#, r#"120"#),
            (r#"add1 "x""#, r#"1"#),
            (r#"addf "1.5" nil"#, r#"1.5"#),
            (r#"divf 1e300 1e-300"#, r#"+Inf"#),
            (r#"mulf 0.1 0.1"#, r#"0.01"#),
        ]);
    }
}
