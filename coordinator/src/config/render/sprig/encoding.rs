//! sprig's encodings and digests: `b64enc`, `b64dec`, `b32enc`, `b32dec`, `sha1sum`,
//! `sha256sum`, `adler32sum`.
//!
//! The decoders are Go's `encoding/base64` and `encoding/base32` standard (padded) decoders,
//! reproduced quantum by quantum so that sprig's quirk of returning the error text *as the
//! result* (`illegal base64 data at input byte N`) gives Go's exact offsets. Decoded bytes
//! that are not UTF-8 become U+FFFD (Go would keep the raw bytes in its string).

use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::super::value::{Func, Ty, Value};
use super::conv::arg_str;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(B64[(v >> (18 - 6 * k) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64_value(c: u8) -> Option<u8> {
    B64.iter().position(|x| *x == c).map(|p| p as u8)
}

/// Go's `base64.StdEncoding.DecodeString`; the error is the failing input offset.
fn b64_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0usize;
    let is_nl = |c: u8| c == b'\n' || c == b'\r';
    loop {
        let mut dbuf = [0u8; 4];
        let mut dlen = 4;
        let mut trailing: Option<usize> = None;
        let mut j = 0usize;
        while j < 4 {
            let Some(&c) = src.get(si) else {
                if j == 0 {
                    return Ok(out);
                }
                return Err(si - j);
            };
            si += 1;
            if let Some(v) = b64_value(c) {
                dbuf[j] = v;
                j += 1;
                continue;
            }
            if is_nl(c) {
                continue;
            }
            if c != b'=' || j < 2 {
                return Err(si - 1);
            }
            if j == 2 {
                while src.get(si).is_some_and(|c| is_nl(*c)) {
                    si += 1;
                }
                match src.get(si) {
                    None => return Err(src.len()),
                    Some(b'=') => si += 1,
                    Some(_) => return Err(si - 1),
                }
            }
            while src.get(si).is_some_and(|c| is_nl(*c)) {
                si += 1;
            }
            if si < src.len() {
                trailing = Some(si);
            }
            dlen = j;
            break;
        }
        let val = u32::from(dbuf[0]) << 18
            | u32::from(dbuf[1]) << 12
            | u32::from(dbuf[2]) << 6
            | u32::from(dbuf[3]);
        let bytes = [(val >> 16) as u8, (val >> 8) as u8, val as u8];
        out.extend_from_slice(&bytes[..dlen - 1]);
        if let Some(at) = trailing {
            return Err(at);
        }
        if dlen < 4 {
            return Ok(out);
        }
    }
}

fn b32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    for chunk in data.chunks(5) {
        let mut b = [0u8; 5];
        b[..chunk.len()].copy_from_slice(chunk);
        let v = b.iter().fold(0u64, |acc, x| acc << 8 | u64::from(*x));
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for k in 0..8 {
            if k < chars {
                out.push(char::from(B32[(v >> (35 - 5 * k) & 31) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Go's `base32.StdEncoding.DecodeString` (newlines stripped first, as Go does).
fn b32_decode(input: &[u8]) -> Result<Vec<u8>, usize> {
    let src: Vec<u8> = input
        .iter()
        .copied()
        .filter(|c| *c != b'\n' && *c != b'\r')
        .collect();
    let olen = src.len();
    let mut rest: &[u8] = &src;
    let mut out = Vec::new();
    let mut end = false;
    while !rest.is_empty() && !end {
        let mut dbuf = [0u8; 8];
        let mut dlen = 8;
        let mut j = 0usize;
        while j < 8 {
            let Some((&c, tail)) = rest.split_first() else {
                return Err(olen - j);
            };
            rest = tail;
            if c == b'=' && j >= 2 && rest.len() < 8 {
                if rest.len() + j < 7 {
                    return Err(olen);
                }
                for k in 0..7 - j {
                    if rest.get(k).is_some_and(|x| *x != b'=') {
                        return Err(olen - rest.len() + k - 1);
                    }
                }
                dlen = j;
                end = true;
                if matches!(dlen, 1 | 3 | 6) {
                    return Err(olen - rest.len() - 1);
                }
                break;
            }
            match B32.iter().position(|x| *x == c) {
                Some(v) => dbuf[j] = v as u8,
                None => return Err(olen - rest.len() - 1),
            }
            j += 1;
        }
        let v = dbuf.iter().fold(0u64, |acc, x| acc << 5 | u64::from(*x));
        let bytes = [
            (v >> 32) as u8,
            (v >> 24) as u8,
            (v >> 16) as u8,
            (v >> 8) as u8,
            v as u8,
        ];
        let n = match dlen {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(&bytes[..n]);
    }
    Ok(out)
}

/// Lower-case hex of a digest. Written through `encode_to_slice` (a table lookup per byte), not
/// a `format!` per byte nor `hex::encode`'s char iterator: a monorepo's template may call
/// `sha256sum` once per image.
fn hex(bytes: &[u8]) -> String {
    let mut out = vec![0; bytes.len() * 2];
    match hex::encode_to_slice(bytes, &mut out) {
        // Hex digits are ASCII.
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        // Only if `out` were not twice as long as `bytes`.
        Err(_) => hex::encode(bytes),
    }
}

/// Go's `hash/adler32.Checksum`.
pub(crate) fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    b << 16 | a
}

fn string_fn(name: &'static str, f: fn(&str) -> String) -> (&'static str, Func) {
    (
        name,
        Func::new(&[Ty::String], move |a| Ok(Value::str(f(arg_str(&a, 0)?)))),
    )
}

/// Registers b64enc b64dec b32enc b32dec sha1sum sha256sum adler32sum.
pub(crate) fn register(out: &mut Vec<(&'static str, Func)>) {
    out.push(string_fn("b64enc", |s| b64_encode(s.as_bytes())));
    out.push(string_fn("b64dec", |s| match b64_decode(s.as_bytes()) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(at) => format!("illegal base64 data at input byte {at}"),
    }));
    out.push(string_fn("b32enc", |s| b32_encode(s.as_bytes())));
    out.push(string_fn("b32dec", |s| match b32_decode(s.as_bytes()) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(at) => format!("illegal base32 data at input byte {at}"),
    }));
    out.push(string_fn("sha1sum", |s| hex(&Sha1::digest(s.as_bytes()))));
    out.push(string_fn("sha256sum", |s| {
        hex(&Sha256::digest(s.as_bytes()))
    }));
    out.push(string_fn("adler32sum", |s| {
        adler32(s.as_bytes()).to_string()
    }));
}

#[cfg(test)]
mod tests {
    use super::super::testkit::check;

    /// Each expected string is what the Go oracle (`gorender`, Go 1.19 + sprig 3.2.3)
    /// printed for `{{ EXPR }}`; `ERR` rows are the tail of its error message.
    #[test]
    fn matches_go_oracle() {
        check(&[
            (r#"b64enc "hello""#, r#"aGVsbG8="#),
            (r#"b64enc "he""#, r#"aGU="#),
            (r#"b64enc """#, r#""#),
            (r#"b64dec "aGVsbG8=""#, r#"hello"#),
            (
                r#"b64dec "aGVsbG8""#,
                r#"illegal base64 data at input byte 4"#,
            ),
            (r#"b64dec "aGVsbA==""#, r#"hell"#),
            (
                r#"b64dec "aGVsbA=""#,
                r#"illegal base64 data at input byte 7"#,
            ),
            (
                r#"b64dec "aGVs!G8=""#,
                r#"illegal base64 data at input byte 4"#,
            ),
            (
                r#"b64dec "aGVsbG8=x""#,
                r#"illegal base64 data at input byte 8"#,
            ),
            (r#"b64dec "a""#, r#"illegal base64 data at input byte 0"#),
            (r#"b64dec "aGVs\nbG8=""#, r#"hello"#),
            (r#"b64dec "=aGV""#, r#"illegal base64 data at input byte 0"#),
            (r#"b32enc "hello""#, r#"NBSWY3DP"#),
            (r#"b32enc "a""#, r#"ME======"#),
            (r#"b32dec "NBSWY3DP""#, r#"hello"#),
            (
                r#"b32dec "NBSWY3DP====""#,
                r#"illegal base32 data at input byte 8"#,
            ),
            (r#"b32dec "ME======""#, r#"a"#),
            (
                r#"b32dec "ME=====" "#,
                r#"illegal base32 data at input byte 7"#,
            ),
            (
                r#"b32dec "M1======""#,
                r#"illegal base32 data at input byte 1"#,
            ),
            (
                r#"b32dec "MEx=====""#,
                r#"illegal base32 data at input byte 2"#,
            ),
            (
                r#"b32dec "NBSWY3D""#,
                r#"illegal base32 data at input byte 0"#,
            ),
            (
                r#"sha1sum "hello""#,
                r#"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"#,
            ),
            (
                r#"sha256sum "hello""#,
                r#"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"#,
            ),
            (r#"adler32sum "hello""#, r#"103547413"#),
            (r#"adler32sum """#, r#"1"#),
        ]);
    }
}
