//! Private keys for sprig's `genPrivateKey` and the `*WithKey` certificate functions: key
//! generation, Go's PEM encodings of each key type (`pemBlockForKey`) and sprig's
//! `parsePrivateKeyPEM`, with its error texts where we can match them.
//!
//! Encodings follow Go: RSA as PKCS#1 (`RSA PRIVATE KEY`), P-256 ECDSA as SEC 1
//! (`EC PRIVATE KEY`), Ed25519 as PKCS#8 (`PRIVATE KEY`), DSA as sprig's own ASN.1
//! `SEQUENCE { version, P, Q, G, Y, X }` (`DSA PRIVATE KEY`). Randomness comes from the OS.
//! Only P-256 is supported among EC curves (Go also parses P-224/384/521 keys).

use base64::Engine as _;
use rand::rngs::OsRng;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};

/// A private key of a type Go's x509 package can use.
pub(crate) enum PrivKey {
    Rsa(Box<rsa::RsaPrivateKey>),
    Ecdsa(p256::SecretKey),
    Ed25519(Box<ed25519_dalek::SigningKey>),
    /// DSA keys parse, but Go cannot sign certificates with them.
    Dsa,
}

/// Go's `pem.EncodeToMemory`: 64-column base64 between BEGIN/END lines.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Go's `pem.Decode`: the first PEM block anywhere in `text`, as (type, bytes).
pub(crate) fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + 11..];
    let label_end = rest.find("-----")?;
    let label = &rest[..label_end];
    let body_and_end = rest[label_end + 5..].trim_start_matches(['\r', '\n']);
    let end_marker = format!("-----END {label}-----");
    let body = &body_and_end[..body_and_end.find(&end_marker)?];
    let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()?;
    Some((label.to_string(), der))
}

/// DER `INTEGER` of an unsigned big-endian magnitude.
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    if v.first().is_none_or(|b| b & 0x80 != 0) {
        v.insert(0, 0);
    }
    der_tlv(0x02, &v)
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// Ed25519 PKCS#8 as Go's `MarshalPKCS8PrivateKey` writes it (no public key).
fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}

/// SEC 1 `ECPrivateKey` as Go's `MarshalECPrivateKey` writes it: with the named-curve
/// parameters and the uncompressed public point (p256's own encoding omits the curve, which
/// OpenSSL and Go then cannot read).
fn ec_sec1(k: &p256::SecretKey) -> Vec<u8> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    const PRIME256V1: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let mut body = der_tlv(0x02, &[1]);
    body.extend(der_tlv(0x04, &k.to_bytes()));
    body.extend(der_tlv(0xa0, &PRIME256V1));
    let point = k.public_key().to_encoded_point(false);
    let mut bits = vec![0u8];
    bits.extend_from_slice(point.as_bytes());
    body.extend(der_tlv(0xa1, &der_tlv(0x03, &bits)));
    der_tlv(0x30, &body)
}

impl PrivKey {
    pub(crate) fn generate_rsa(bits: usize) -> Result<PrivKey, String> {
        rsa::RsaPrivateKey::new(&mut OsRng, bits)
            .map(|k| PrivKey::Rsa(Box::new(k)))
            .map_err(|e| e.to_string())
    }

    /// Go's `pemBlockForKey` as text.
    pub(crate) fn to_pem(&self) -> Result<String, String> {
        match self {
            PrivKey::Rsa(k) => {
                let der = k.to_pkcs1_der().map_err(|e| e.to_string())?;
                Ok(pem_encode("RSA PRIVATE KEY", der.as_bytes()))
            }
            PrivKey::Ecdsa(k) => Ok(pem_encode("EC PRIVATE KEY", &ec_sec1(k))),
            PrivKey::Ed25519(k) => Ok(pem_encode("PRIVATE KEY", &ed25519_pkcs8(&k.to_bytes()))),
            PrivKey::Dsa => Err("DSA keys cannot be re-encoded".into()),
        }
    }

    /// The SubjectPublicKeyInfo DER of the public half.
    pub(crate) fn public_key_der(&self) -> Result<Vec<u8>, String> {
        let doc = match self {
            PrivKey::Rsa(k) => k.to_public_key().to_public_key_der(),
            PrivKey::Ecdsa(k) => k.public_key().to_public_key_der(),
            PrivKey::Ed25519(k) => k.verifying_key().to_public_key_der(),
            PrivKey::Dsa => {
                return Err("x509: certificate private key does not implement crypto.Signer".into())
            }
        };
        doc.map(|d| d.as_bytes().to_vec())
            .map_err(|e| e.to_string())
    }
}

/// sprig's `generatePrivateKey(typ)`: the PEM text, or sprig's message on failure.
pub(crate) fn generate_private_key(typ: &str) -> String {
    let key = match typ {
        "" | "rsa" => PrivKey::generate_rsa(4096),
        "dsa" => return generate_dsa(),
        "ecdsa" => Ok(PrivKey::Ecdsa(p256::SecretKey::random(&mut OsRng))),
        "ed25519" => Ok(PrivKey::Ed25519(Box::new(
            ed25519_dalek::SigningKey::generate(&mut OsRng),
        ))),
        _ => return format!("Unknown type {typ}"),
    };
    match key.and_then(|k| k.to_pem()) {
        Ok(pem) => pem,
        Err(e) => format!("failed to generate private key: {e}"),
    }
}

/// DSA L=2048 N=256, encoded as sprig's `DSAKeyFormat`.
fn generate_dsa() -> String {
    let components = dsa::Components::generate(&mut OsRng, dsa::KeySize::DSA_2048_256);
    let key = dsa::SigningKey::generate(&mut OsRng, components);
    let public = key.verifying_key();
    let c = public.components();
    let mut body = der_uint(&[0]);
    for n in [c.p(), c.q(), c.g(), public.y(), key.x()] {
        body.extend(der_uint(&n.to_bytes_be()));
    }
    pem_encode("DSA PRIVATE KEY", &der_tlv(0x30, &body))
}

/// sprig's `parsePrivateKeyPEM`.
pub(crate) fn parse_private_key_pem(text: &str) -> Result<PrivKey, String> {
    let (label, der) = pem_decode(text).ok_or("no PEM data in input")?;
    if label == "PRIVATE KEY" {
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_der(&der) {
            return Ok(PrivKey::Rsa(Box::new(k)));
        }
        if let Ok(k) = p256::SecretKey::from_pkcs8_der(&der) {
            return Ok(PrivKey::Ecdsa(k));
        }
        if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_der(&der) {
            return Ok(PrivKey::Ed25519(Box::new(k)));
        }
        return Err("decoding PEM as PKCS#8: x509: failed to parse private key".into());
    }
    let Some(kind) = label.strip_suffix(" PRIVATE KEY") else {
        return Err(format!("no private key data in PEM block of type {label}"));
    };
    match kind {
        "RSA" => rsa::RsaPrivateKey::from_pkcs1_der(&der)
            .map(|k| PrivKey::Rsa(Box::new(k)))
            .map_err(|e| format!("parsing RSA private key from PEM: {e}")),
        "EC" => p256::SecretKey::from_sec1_der(&der)
            .map(PrivKey::Ecdsa)
            .map_err(|e| format!("parsing EC private key from PEM: {e}")),
        "DSA" if der.first() == Some(&0x30) => Ok(PrivKey::Dsa),
        "DSA" => Err("parsing DSA private key from PEM: asn1: structure error".into()),
        _ => Err(format!("invalid private key type {label}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_round_trip_through_pem() {
        for typ in ["ecdsa", "ed25519"] {
            let pem = generate_private_key(typ);
            assert!(parse_private_key_pem(&pem).is_ok(), "{typ}: {pem}");
        }
        let ec = generate_private_key("ecdsa");
        assert!(ec.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
        let ed = generate_private_key("ed25519");
        assert!(ed.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        // Output of the reference renderer for an unknown type.
        assert_eq!(generate_private_key("foo"), "Unknown type foo");
    }

    #[test]
    fn refuses_what_sprig_refuses() {
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = |t: &str| parse_private_key_pem(t).err().unwrap_or_default();
        assert_eq!(err("garbage"), "no PEM data in input");
        assert_eq!(
            err(cert),
            "no private key data in PEM block of type CERTIFICATE"
        );
        let odd = "-----BEGIN FOO PRIVATE KEY-----\nAAAA\n-----END FOO PRIVATE KEY-----\n";
        assert_eq!(err(odd), "invalid private key type FOO PRIVATE KEY");
    }
}
