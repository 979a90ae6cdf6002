//! sprig's password and symmetric-crypto functions (`crypto.go`): `bcrypt`, `htpasswd`,
//! `derivePassword`, `encryptAES`, `decryptAES`. Keys and certificates live in
//! `sprig/certs.rs`.
//!
//! Go's behaviour is kept where templates can see it: `bcrypt` writes `$2a$10$` hashes (cost
//! 10, Go's default), `derivePassword` is the Master Password algorithm sprig implements
//! (scrypt N=32768 r=8 p=2 → HMAC-SHA256 → template characters), so its output is
//! deterministic and equal to Go's; `encryptAES` is AES-256-CBC with the password
//! zero-padded/truncated to 32 bytes, PKCS#7 padding and a random IV in front, base64'd;
//! `decryptAES` does not check the padding, and where Go panics on malformed input (short
//! data, bad padding) we return Go's panic message as the error.

use aes::cipher::{generic_array::GenericArray, BlockDecrypt, BlockEncrypt, KeyInit};
use aes::Aes256;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

use super::super::value::{Func, Ty, Value};

const SEED: &str = "com.lyndir.masterpassword";

fn templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_chars(c: u8) -> &'static [u8] {
    match c {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        b'x' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
        _ => b"",
    }
}

/// sprig's `derivePassword(counter, passwordType, password, user, site)`.
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    let Some(templates) = templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let scoped = |name: &str| {
        let mut b = SEED.as_bytes().to_vec();
        b.extend_from_slice(&(name.len() as u32).to_be_bytes());
        b.extend_from_slice(name.as_bytes());
        b
    };
    let mut key = [0u8; 64];
    let derived = scrypt::Params::new(15, 8, 2, 64)
        .map_err(|e| e.to_string())
        .and_then(|p| {
            scrypt::scrypt(password.as_bytes(), &scoped(user), &p, &mut key)
                .map_err(|e| e.to_string())
        });
    if let Err(e) = derived {
        return format!("failed to derive password: {e}");
    }
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&key) else {
        return "failed to derive password: bad key".into();
    };
    let mut message = scoped(site);
    message.extend_from_slice(&counter.to_be_bytes());
    mac.update(&message);
    let seed = mac.finalize().into_bytes();
    let template = templates[usize::from(seed[0]) % templates.len()];
    template
        .bytes()
        .enumerate()
        .filter_map(|(i, c)| {
            let chars = template_chars(c);
            let pick = usize::from(*seed.get(i + 1)?) % chars.len().max(1);
            chars.get(pick).map(|&b| char::from(b))
        })
        .collect()
}

/// bcrypt at Go's default cost, in Go's `$2a$` spelling.
fn bcrypt_hash(input: &str) -> String {
    match bcrypt::hash_with_result(input, 10) {
        Ok(parts) => parts.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

fn aes_key(password: &str) -> Aes256 {
    let mut key = [0u8; 32];
    for (k, b) in key.iter_mut().zip(password.bytes()) {
        *k = b;
    }
    Aes256::new(&GenericArray::from(key))
}

fn encrypt_aes(password: &str, plaintext: &str) -> String {
    if plaintext.is_empty() {
        return String::new();
    }
    let cipher = aes_key(password);
    let mut content = plaintext.as_bytes().to_vec();
    let pad = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(pad as u8, pad));
    let mut out = vec![0u8; 16];
    rand::thread_rng().fill(out.as_mut_slice());
    let mut prev: [u8; 16] = out[..16].try_into().unwrap_or([0; 16]);
    for chunk in content.chunks(16) {
        let mut block = [0u8; 16];
        for (i, b) in block.iter_mut().enumerate() {
            *b = chunk.get(i).copied().unwrap_or(0) ^ prev[i];
        }
        let mut ga = GenericArray::from(block);
        cipher.encrypt_block(&mut ga);
        prev = ga.into();
        out.extend_from_slice(&prev);
    }
    base64::engine::general_purpose::STANDARD.encode(out)
}

fn decrypt_aes(password: &str, crypt64: &str) -> Result<String, String> {
    if crypt64.is_empty() {
        return Ok(String::new());
    }
    let crypt = base64::engine::general_purpose::STANDARD
        .decode(crypt64)
        .map_err(go_base64_error)?;
    if crypt.len() < 16 {
        return Err(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            crypt.len()
        ));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err("crypto/cipher: input not full blocks".into());
    }
    let cipher = aes_key(password);
    let mut prev: [u8; 16] = iv.try_into().unwrap_or([0; 16]);
    let mut out = Vec::with_capacity(body.len());
    for chunk in body.chunks(16) {
        let block: [u8; 16] = chunk.try_into().unwrap_or([0; 16]);
        let mut ga = GenericArray::from(block);
        cipher.decrypt_block(&mut ga);
        out.extend(ga.iter().zip(prev).map(|(a, b)| a ^ b));
        prev = block;
    }
    let Some(&last) = out.last() else {
        return Err("runtime error: index out of range [-1]".into());
    };
    let keep = out.len() as i64 - i64::from(last);
    let keep = usize::try_from(keep)
        .map_err(|_| format!("runtime error: slice bounds out of range [:{keep}]"))?;
    out.truncate(keep);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `base64.CorruptInputError` text.
fn go_base64_error(e: base64::DecodeError) -> String {
    let at = match e {
        base64::DecodeError::InvalidByte(i, _) | base64::DecodeError::InvalidLastSymbol(i, _) => i,
        base64::DecodeError::InvalidLength(i) => i,
        base64::DecodeError::InvalidPadding => 0,
    };
    format!("illegal base64 data at input byte {at}")
}

fn s(a: &[Value], i: usize) -> &str {
    a.get(i).and_then(Value::as_str).unwrap_or("")
}

/// Pushes the password and AES functions with Go's parameter types.
pub(crate) fn register(out: &mut Vec<(&'static str, Func)>) {
    out.push((
        "bcrypt",
        Func::new(&[Ty::String], |a| Ok(Value::str(bcrypt_hash(s(&a, 0))))),
    ));
    out.push((
        "htpasswd",
        Func::new(&[Ty::String, Ty::String], |a| {
            let user = s(&a, 0);
            Ok(Value::str(if user.contains(':') {
                format!("invalid username: {user}")
            } else {
                format!("{user}:{}", bcrypt_hash(s(&a, 1)))
            }))
        }),
    ));
    out.push((
        "derivePassword",
        Func::new(
            &[Ty::Int, Ty::String, Ty::String, Ty::String, Ty::String],
            |a| {
                let counter = match a.first() {
                    Some(Value::Int(n) | Value::Int64(n)) => *n as u32,
                    _ => 0,
                };
                let p = derive_password(counter, s(&a, 1), s(&a, 2), s(&a, 3), s(&a, 4));
                Ok(Value::str(p))
            },
        ),
    ));
    out.push((
        "encryptAES",
        Func::new(&[Ty::String, Ty::String], |a| {
            Ok(Value::str(encrypt_aes(s(&a, 0), s(&a, 1))))
        }),
    ));
    out.push((
        "decryptAES",
        Func::new(&[Ty::String, Ty::String], |a| {
            decrypt_aes(s(&a, 0), s(&a, 1)).map(Value::str)
        }),
    ));
}

#[cfg(test)]
mod tests {
    //! Expected values are the reference renderer's output for the same calls.
    use super::*;

    #[test]
    fn derives_passwords_like_go() {
        let cases = [
            (
                1,
                "long",
                "password",
                "user",
                "example.com",
                "ZedaFaxcZaso9*",
            ),
            (
                2,
                "maximum",
                "pässword",
                "üser",
                "site",
                "d4$1TlP5d4g2&bWxWLPy",
            ),
            (1, "pin", "p", "u", "s", "2461"),
            (
                1,
                "nope",
                "p",
                "u",
                "s",
                "cannot find password template nope",
            ),
        ];
        for (counter, kind, password, user, site, want) in cases {
            assert_eq!(derive_password(counter, kind, password, user, site), want);
        }
    }

    #[test]
    fn hashes_and_encrypts_like_go() {
        let h = bcrypt_hash("x");
        assert!(h.len() == 60 && h.starts_with("$2a$10$"), "{h}");
        // Go's `htpasswd "user" "pass"` produced this hash; it must verify.
        let go = "$2a$10$9BogI.hzKd2fiPNi6V2sQuxywjNbPRuuX4httXwMMgIfoEYq6Dm4y";
        assert_eq!(bcrypt::verify("pass", go).ok(), Some(true));
        // Go's `encryptAES "secretkey" "hello werf, this is more than one block"`.
        let go = "9QrRDB8SzL1c5eDpyqT345hIAPyHfMBrgq/KEmS9SFvQZSp3XFaloqNrr8Z61hrpHOp8xn88nhkFUJ3J7gVLFw==";
        let plain = "hello werf, this is more than one block";
        assert_eq!(decrypt_aes("secretkey", go).as_deref(), Ok(plain));
        let ours = encrypt_aes("secretkey", "plaintext");
        assert_eq!(decrypt_aes("secretkey", &ours).as_deref(), Ok("plaintext"));
        assert_eq!(encrypt_aes("k", ""), "");
        assert_eq!(decrypt_aes("k", "").as_deref(), Ok(""));
    }

    #[test]
    fn fails_on_malformed_ciphertext_like_go() {
        let cases = [
            (
                "k",
                "YWJj",
                "runtime error: slice bounds out of range [:16] with capacity 3",
            ),
            (
                "k",
                "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=",
                "crypto/cipher: input not full blocks",
            ),
            ("k", "!!", "illegal base64 data at input byte 0"),
            (
                "k",
                "YWJjZGVmZ2hpamtsbW5vcA==",
                "runtime error: index out of range [-1]",
            ),
        ];
        for (key, data, want) in cases {
            assert_eq!(decrypt_aes(key, data).err().as_deref(), Some(want));
        }
    }
}
