//! sprig's random functions: `randAlphaNum`, `randAlpha`, `randAscii`, `randNumeric`,
//! `randInt`, `randBytes`, `shuffle`, `uuidv4`.
//!
//! Values come from the OS-seeded `rand` generator (sprig uses crypto/rand for strings and
//! bytes, math/rand for `randInt`/`shuffle`); only the shapes are Go's: alphabets, lengths,
//! base64 for `randBytes`, canonical UUID text. Go's edge behaviour is kept: a negative
//! length gives "" for the string functions, and `randInt` with `max <= min` and
//! `randBytes` with a negative count fail with Go's panic messages.

use base64::Engine as _;
use rand::seq::SliceRandom;
use rand::Rng;

use super::super::value::{Func, Ty, Value};

const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";

fn int_arg(args: &[Value], i: usize) -> i64 {
    match args.get(i) {
        Some(Value::Int(n) | Value::Int64(n)) => *n,
        _ => 0,
    }
}

/// goutils' `CryptoRandom*`: `count` characters drawn from `alphabet`; "" if count < 1.
fn random_string(count: i64, alphabet: &[u8]) -> String {
    let mut rng = rand::thread_rng();
    (0..count.max(0))
        .filter_map(|_| alphabet.get(rng.gen_range(0..alphabet.len())))
        .map(|&b| char::from(b))
        .collect()
}

fn ascii() -> Vec<u8> {
    (32u8..=126).collect()
}

/// Pushes the random functions with Go's parameter types.
pub(crate) fn register(out: &mut Vec<(&'static str, Func)>) {
    let alnum: Vec<u8> = [ALPHA, DIGITS].concat();
    out.push((
        "randAlphaNum",
        Func::new(&[Ty::Int], move |a| {
            Ok(Value::str(random_string(int_arg(&a, 0), &alnum)))
        }),
    ));
    out.push((
        "randAlpha",
        Func::new(&[Ty::Int], |a| {
            Ok(Value::str(random_string(int_arg(&a, 0), ALPHA)))
        }),
    ));
    out.push((
        "randAscii",
        Func::new(&[Ty::Int], |a| {
            Ok(Value::str(random_string(int_arg(&a, 0), &ascii())))
        }),
    ));
    out.push((
        "randNumeric",
        Func::new(&[Ty::Int], |a| {
            Ok(Value::str(random_string(int_arg(&a, 0), DIGITS)))
        }),
    ));
    out.push((
        "randInt",
        Func::new(&[Ty::Int, Ty::Int], |a| {
            let (min, max) = (int_arg(&a, 0), int_arg(&a, 1));
            let n = max.checked_sub(min).filter(|n| *n > 0);
            let n = n.ok_or_else(|| "invalid argument to Intn".to_string())?;
            Ok(Value::Int(min + rand::thread_rng().gen_range(0..n)))
        }),
    ));
    out.push((
        "randBytes",
        Func::new(&[Ty::Int], |a| {
            let count = usize::try_from(int_arg(&a, 0))
                .map_err(|_| "runtime error: makeslice: len out of range".to_string())?;
            let mut buf = vec![0u8; count];
            rand::thread_rng().fill(buf.as_mut_slice());
            Ok(Value::str(
                base64::engine::general_purpose::STANDARD.encode(buf),
            ))
        }),
    ));
    out.push((
        "shuffle",
        Func::new(&[Ty::String], |a| {
            let mut chars: Vec<char> = a
                .first()
                .and_then(Value::as_str)
                .unwrap_or("")
                .chars()
                .collect();
            chars.shuffle(&mut rand::thread_rng());
            Ok(Value::str(chars.into_iter().collect::<String>()))
        }),
    ));
    out.push((
        "uuidv4",
        Func::new(&[], |_| Ok(Value::str(uuid::Uuid::new_v4().to_string()))),
    ));
}

#[cfg(test)]
mod tests {
    //! Shapes only (values are random); edge cases checked against the reference renderer:
    //! `randAlphaNum -1` prints "", `randInt 5 5` fails with "invalid argument to Intn".
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

    fn text(name: &str, args: Vec<Value>) -> String {
        call(name, args)
            .map(|v| v.to_go_string())
            .unwrap_or_default()
    }

    #[test]
    fn strings_have_the_requested_shape() {
        let s = text("randAlphaNum", vec![Value::Int(32)]);
        assert!(s.len() == 32 && s.bytes().all(|b| b.is_ascii_alphanumeric()));
        let s = text("randAlpha", vec![Value::Int(10)]);
        assert!(s.len() == 10 && s.bytes().all(|b| b.is_ascii_alphabetic()));
        let s = text("randNumeric", vec![Value::Int(8)]);
        assert!(s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()));
        let s = text("randAscii", vec![Value::Int(50)]);
        assert!(s.len() == 50 && s.bytes().all(|b| (32..=126).contains(&b)));
        assert_eq!(text("randAlphaNum", vec![Value::Int(-1)]), "");
        assert_eq!(text("randAlpha", vec![Value::Int(0)]), "");
    }

    #[test]
    fn numbers_bytes_and_uuids_have_go_shapes() {
        for _ in 0..100 {
            let Ok(Value::Int(n)) = call("randInt", vec![Value::Int(3), Value::Int(6)]) else {
                panic!("randInt returns an int");
            };
            assert!((3..6).contains(&n));
        }
        let err = call("randInt", vec![Value::Int(5), Value::Int(5)]).err();
        assert_eq!(err.as_deref(), Some("invalid argument to Intn"));
        let b = text("randBytes", vec![Value::Int(24)]);
        assert_eq!(b.len(), 32);
        let u = text("uuidv4", vec![]);
        let groups: Vec<usize> = u.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(u.as_bytes().get(14), Some(&b'4'));
        let mut s: Vec<char> = text("shuffle", vec![Value::str("héllo")]).chars().collect();
        let mut want: Vec<char> = "héllo".chars().collect();
        s.sort_unstable();
        want.sort_unstable();
        assert_eq!(s, want);
    }
}
