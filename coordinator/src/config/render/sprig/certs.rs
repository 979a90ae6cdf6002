//! sprig's certificate functions: `genCA`, `genCAWithKey`, `genSelfSignedCert`,
//! `genSelfSignedCertWithKey`, `genSignedCert`, `genSignedCertWithKey`, `buildCustomCert`,
//! and `genPrivateKey`.
//!
//! Each returns sprig's `certificate` struct, modelled as a [`Certificate`] object whose
//! `Cert` and `Key` fields are exposed as zero-argument members (PEM text). Certificates are
//! built as Go 1.19's `x509.CreateCertificate` builds them from sprig's template: v3, random
//! 128-bit serial, subject `CN=<cn>`, validity now → now + days × 24h, key usage
//! (digitalSignature, keyEncipherment, + certSign for CAs, critical), extended key usage
//! serverAuth + clientAuth, basic constraints (critical), a SHA-1 subject key id for CAs, an
//! authority key id from a signing CA, and SANs for IPs/DNS names. Signatures: SHA-256 with
//! RSA (PKCS#1 v1.5), ECDSA P-256 with SHA-256, or Ed25519. New keys are RSA 2048 as in
//! sprig. Bytes differ from Go's run to run anyway (random keys and serials).

use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use rand::RngCore;
use sha1::{Digest, Sha1};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::der::asn1::{BitString, Ia5String, OctetString, PrintableStringRef, Utf8StringRef};
use x509_cert::der::{Any, Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::{AsExtension, Extension};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate as X509, TbsCertificate, Version};

use super::super::value::{Func, Object, Ty, Value};
use super::keys::{generate_private_key, parse_private_key_pem, pem_decode, pem_encode, PrivKey};

/// sprig's `certificate{Cert, Key}`.
#[derive(Clone, Debug)]
pub(crate) struct Certificate {
    pub cert: String,
    pub key: String,
}

impl Object for Certificate {
    fn go_type(&self) -> String {
        "sprig.certificate".into()
    }

    fn method(&self, name: &str) -> Option<Func> {
        let text = match name {
            "Cert" => self.cert.clone(),
            "Key" => self.key.clone(),
            _ => return None,
        };
        Some(Func::new(&[], move |_| Ok(Value::str(text.as_str()))))
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

const OID_CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_SHA256_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
const OID_CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// `pkix.Name{CommonName: cn}`: PrintableString when it fits, else UTF8String.
fn subject(cn: &str) -> Result<Name, String> {
    if cn.is_empty() {
        return Ok(RdnSequence(Vec::new()));
    }
    let value = match PrintableStringRef::new(cn) {
        Ok(p) => Any::encode_from(&p).map_err(err)?,
        Err(_) => Any::encode_from(&Utf8StringRef::new(cn).map_err(err)?).map_err(err)?,
    };
    let atv = AttributeTypeAndValue { oid: OID_CN, value };
    let rdn = RelativeDistinguishedName(
        x509_cert::der::asn1::SetOfVec::try_from(vec![atv]).map_err(err)?,
    );
    Ok(RdnSequence(vec![rdn]))
}

/// Go's `time.Time` in a certificate: UTCTime before 2050, GeneralizedTime after.
fn cert_time(unix: u64) -> Result<Time, String> {
    let d = Duration::from_secs(unix);
    if unix < 2_524_608_000 {
        x509_cert::der::asn1::UtcTime::from_unix_duration(d)
            .map(Time::UtcTime)
            .map_err(err)
    } else {
        x509_cert::der::asn1::GeneralizedTime::from_unix_duration(d)
            .map(Time::GeneralTime)
            .map_err(err)
    }
}

/// The parts of sprig's `getBaseCertTemplate` that callers vary.
struct Template {
    cn: String,
    ips: Vec<IpAddr>,
    dns: Vec<String>,
    days: i64,
    is_ca: bool,
}

/// The issuer: its name, subject key id and signing key.
struct Issuer<'a> {
    name: Option<Name>,
    key_id: Option<Vec<u8>>,
    key: &'a PrivKey,
}

fn extension<T: AsExtension>(
    value: &T,
    subject: &Name,
    critical: bool,
) -> Result<Extension, String> {
    let mut e = value.to_extension(subject, &[]).map_err(err)?;
    e.critical = critical;
    Ok(e)
}

/// `x509.CreateCertificate` for sprig's templates; returns (cert PEM, key PEM).
fn create(t: &Template, key: &PrivKey, issuer: &Issuer) -> Result<(String, String), String> {
    let spki_der = key.public_key_der()?;
    let spki = SubjectPublicKeyInfoOwned::from_der(&spki_der).map_err(err)?;
    let subject = subject(&t.cn)?;
    let issuer_name = issuer.name.clone().unwrap_or_else(|| subject.clone());
    let mut serial = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut serial);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(err)?
        .as_secs();
    let until = (now as i64)
        .saturating_add(t.days.saturating_mul(86_400))
        .max(0) as u64;
    let mut usages = KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment;
    if t.is_ca {
        usages |= KeyUsages::KeyCertSign;
    }
    let mut exts = vec![
        extension(&KeyUsage(usages), &subject, true)?,
        extension(
            &ExtendedKeyUsage(vec![OID_SERVER_AUTH, OID_CLIENT_AUTH]),
            &subject,
            false,
        )?,
        extension(
            &BasicConstraints {
                ca: t.is_ca,
                path_len_constraint: None,
            },
            &subject,
            true,
        )?,
    ];
    if t.is_ca {
        let bits = spki.subject_public_key.raw_bytes();
        let id = OctetString::new(Sha1::digest(bits).to_vec()).map_err(err)?;
        exts.push(extension(&SubjectKeyIdentifier(id), &subject, false)?);
    }
    if let (Some(id), true) = (&issuer.key_id, issuer_name != subject) {
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(id.clone()).map_err(err)?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        };
        exts.push(extension(&aki, &subject, false)?);
    }
    let mut names = Vec::new();
    for d in &t.dns {
        names.push(GeneralName::DnsName(Ia5String::new(d).map_err(err)?));
    }
    for ip in &t.ips {
        let bytes = match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        names.push(GeneralName::IpAddress(
            OctetString::new(bytes).map_err(err)?,
        ));
    }
    if !names.is_empty() {
        exts.push(extension(
            &SubjectAltName(names),
            &subject,
            t.cn.is_empty(),
        )?);
    }
    let algorithm = match issuer.key {
        PrivKey::Rsa(_) => AlgorithmIdentifierOwned {
            oid: OID_SHA256_RSA,
            parameters: Some(Any::null()),
        },
        PrivKey::Ecdsa(_) => AlgorithmIdentifierOwned {
            oid: OID_ECDSA_SHA256,
            parameters: None,
        },
        PrivKey::Ed25519(_) => AlgorithmIdentifierOwned {
            oid: OID_ED25519,
            parameters: None,
        },
        PrivKey::Dsa => {
            return Err("x509: certificate private key does not implement crypto.Signer".into())
        }
    };
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&serial).map_err(err)?,
        signature: algorithm.clone(),
        issuer: issuer_name,
        validity: Validity {
            not_before: cert_time(now)?,
            not_after: cert_time(until)?,
        },
        subject,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(exts),
    };
    let tbs_der = tbs.to_der().map_err(err)?;
    let signature = sign(issuer.key, &tbs_der)?;
    let cert = X509 {
        tbs_certificate: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(&signature).map_err(err)?,
    };
    let cert_pem = pem_encode("CERTIFICATE", &cert.to_der().map_err(err)?);
    Ok((cert_pem, key.to_pem()?))
}

fn sign(key: &PrivKey, message: &[u8]) -> Result<Vec<u8>, String> {
    use rsa::signature::{SignatureEncoding, Signer};
    match key {
        PrivKey::Rsa(k) => {
            let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new((**k).clone());
            Ok(signer.try_sign(message).map_err(err)?.to_vec())
        }
        PrivKey::Ecdsa(k) => {
            let signer = p256::ecdsa::SigningKey::from(k);
            let sig: p256::ecdsa::DerSignature = signer.try_sign(message).map_err(err)?;
            Ok(sig.to_vec())
        }
        PrivKey::Ed25519(k) => Ok(k.try_sign(message).map_err(err)?.to_vec()),
        PrivKey::Dsa => {
            Err("x509: certificate private key does not implement crypto.Signer".into())
        }
    }
}

/// sprig's `getNetIPs` and `getAlternateDNSStrs` for a `[]interface{}` argument.
fn strings(v: &Value, what: &str) -> Result<Vec<String>, String> {
    let items = match v {
        Value::List(l) => l.items.clone(),
        _ => Vec::new(),
    };
    items
        .iter()
        .map(|item| match item {
            Value::Str(s) => Ok(s.to_string()),
            other => Err(format!("{what}: {} is not a string", other.to_go_string())),
        })
        .collect()
}

fn template(a: &[Value], is_ca: bool) -> Result<Template, String> {
    let cn = a.first().and_then(Value::as_str).unwrap_or("").to_string();
    let (ips, dns, days) = if is_ca {
        (Vec::new(), Vec::new(), int(a.get(1)))
    } else {
        let ips = strings(a.get(1).unwrap_or(&Value::Nil), "error parsing ip")?
            .into_iter()
            .map(|s| {
                s.parse::<IpAddr>()
                    .map_err(|_| format!("error parsing ip: {s}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let dns = strings(
            a.get(2).unwrap_or(&Value::Nil),
            "error processing alternate dns name",
        )?;
        (ips, dns, int(a.get(3)))
    };
    Ok(Template {
        cn,
        ips,
        dns,
        days,
        is_ca,
    })
}

fn int(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Int(n) | Value::Int64(n)) => *n,
        _ => 0,
    }
}

fn cert_value(cert: String, key: String) -> Value {
    Value::Object(Rc::new(Certificate { cert, key }))
}

fn new_rsa() -> Result<PrivKey, String> {
    PrivKey::generate_rsa(2048).map_err(|e| format!("error generating rsa key: {e}"))
}

fn pem_key(a: &[Value], i: usize) -> Result<PrivKey, String> {
    let text = a.get(i).and_then(Value::as_str).unwrap_or("");
    parse_private_key_pem(text).map_err(|e| format!("parsing private key: {e}"))
}

/// Self-signed (CA or leaf) with `key`.
fn self_signed(t: &Template, key: &PrivKey) -> Result<Value, String> {
    let issuer = Issuer {
        name: None,
        key_id: None,
        key,
    };
    let (cert, key) =
        create(t, key, &issuer).map_err(|e| format!("error creating certificate: {e}"))?;
    Ok(cert_value(cert, key))
}

/// Signed by the `ca` certificate object.
fn signed(t: &Template, ca: &Value, key: &PrivKey) -> Result<Value, String> {
    let ca = match ca {
        Value::Object(o) => o
            .as_any()
            .and_then(|a| a.downcast_ref::<Certificate>())
            .cloned(),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "wrong type for value; expected sprig.certificate; got {}",
            ca.go_type()
        )
    })?;
    let (_, der) = pem_decode(&ca.cert).ok_or("unable to decode certificate")?;
    let parent = X509::from_der(&der)
        .map_err(|e| format!("error parsing certificate: decodedSignerCert.Bytes: {e}"))?;
    let signer =
        parse_private_key_pem(&ca.key).map_err(|e| format!("error parsing private key: {e}"))?;
    let key_id = parent
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == ObjectIdentifier::new_unwrap("2.5.29.14"))
        .and_then(|e| OctetString::from_der(e.extn_value.as_bytes()).ok())
        .map(|o| o.as_bytes().to_vec());
    let issuer = Issuer {
        name: Some(parent.tbs_certificate.subject.clone()),
        key_id,
        key: &signer,
    };
    let (cert, key) =
        create(t, key, &issuer).map_err(|e| format!("error creating certificate: {e}"))?;
    Ok(cert_value(cert, key))
}

/// sprig's `buildCustomCertificate(b64cert, b64key)`.
fn build_custom(b64cert: &str, b64key: &str) -> Result<Value, String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let cert = b64
        .decode(b64cert)
        .map_err(|_| "unable to decode base64 certificate")?;
    let key = b64
        .decode(b64key)
        .map_err(|_| "unable to decode base64 private key")?;
    let cert = String::from_utf8_lossy(&cert).into_owned();
    let key = String::from_utf8_lossy(&key).into_owned();
    let (_, der) = pem_decode(&cert).ok_or("unable to decode certificate")?;
    X509::from_der(&der)
        .map_err(|e| format!("error parsing certificate: decodedCert.Bytes: {e}"))?;
    parse_private_key_pem(&key).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(cert_value(cert, key))
}

/// Pushes the certificate functions with Go's parameter types.
pub(crate) fn register(out: &mut Vec<(&'static str, Func)>) {
    use Ty::{Any as A, Int as I, List as L, String as S};
    out.push((
        "genPrivateKey",
        Func::new(&[S], |a| {
            let typ = a.first().and_then(Value::as_str).unwrap_or("");
            Ok(Value::str(generate_private_key(typ)))
        }),
    ));
    out.push((
        "genCA",
        Func::new(&[S, I], |a| self_signed(&template(&a, true)?, &new_rsa()?)),
    ));
    out.push((
        "genCAWithKey",
        Func::new(&[S, I, S], |a| {
            self_signed(&template(&a, true)?, &pem_key(&a, 2)?)
        }),
    ));
    out.push((
        "genSelfSignedCert",
        Func::new(&[S, L, L, I], |a| {
            self_signed(&template(&a, false)?, &new_rsa()?)
        }),
    ));
    out.push((
        "genSelfSignedCertWithKey",
        Func::new(&[S, L, L, I, S], |a| {
            self_signed(&template(&a, false)?, &pem_key(&a, 4)?)
        }),
    ));
    out.push((
        "genSignedCert",
        Func::new(&[S, L, L, I, A], |a| {
            let t = template(&a, false)?;
            signed(&t, a.get(4).unwrap_or(&Value::Nil), &new_rsa()?)
        }),
    ));
    out.push((
        "genSignedCertWithKey",
        Func::new(&[S, L, L, I, A, S], |a| {
            let t = template(&a, false)?;
            signed(&t, a.get(4).unwrap_or(&Value::Nil), &pem_key(&a, 5)?)
        }),
    ));
    out.push((
        "buildCustomCert",
        Func::new(&[S, S], |a| {
            let text = |i: usize| a.get(i).and_then(Value::as_str).unwrap_or("").to_string();
            build_custom(&text(0), &text(1))
        }),
    ));
}

#[cfg(test)]
mod tests {
    //! Certificates are random, so tests check structure; error texts are the reference
    //! renderer's for the same calls.
    use super::super::super::value::ElemKind;
    use super::*;
    use x509_cert::der::DecodePem;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, String> {
        let mut funcs = Vec::new();
        register(&mut funcs);
        let (_, f) = funcs
            .into_iter()
            .find(|(n, _)| *n == name)
            .expect("registered");
        (f.call)(args)
    }

    fn field(v: &Value, name: &str) -> String {
        let Value::Object(o) = v else {
            return String::new();
        };
        o.method(name)
            .and_then(|m| (m.call)(vec![]).ok())
            .map(|v| v.to_go_string())
            .unwrap_or_default()
    }

    fn ext<'a>(c: &'a X509, oid: &str) -> Option<&'a Extension> {
        let oid = ObjectIdentifier::new_unwrap(oid);
        c.tbs_certificate
            .extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == oid)
    }

    fn list(items: &[&str]) -> Value {
        let items = items.iter().map(|s| Value::str(*s)).collect();
        Value::list(ElemKind::Any, items)
    }

    #[test]
    fn ca_and_signed_certificates_have_gos_shape() {
        let key = Value::str(generate_private_key("ecdsa"));
        let ca = call(
            "genCAWithKey",
            vec![Value::str("my-ca"), Value::Int(365), key],
        );
        let ca = ca.expect("CA");
        assert_eq!(ca.go_type(), "sprig.certificate");
        let ca_cert = X509::from_pem(field(&ca, "Cert")).expect("CA parses");
        let ski = ext(&ca_cert, "2.5.29.14").expect("CA has a subject key id");
        let bc = ext(&ca_cert, "2.5.29.19").expect("basic constraints");
        assert!(bc.critical);
        assert_eq!(
            BasicConstraints::from_der(bc.extn_value.as_bytes()).map(|b| b.ca),
            Ok(true)
        );
        let leaf_key = Value::str(generate_private_key("ed25519"));
        let args = vec![
            Value::str("leaf"),
            list(&["10.0.0.1", "::1"]),
            list(&["example.com"]),
            Value::Int(30),
            ca.clone(),
            leaf_key,
        ];
        let leaf = call("genSignedCertWithKey", args).expect("leaf");
        let leaf_cert = X509::from_pem(field(&leaf, "Cert")).expect("leaf parses");
        assert_eq!(
            leaf_cert.tbs_certificate.issuer,
            ca_cert.tbs_certificate.subject
        );
        let aki = ext(&leaf_cert, "2.5.29.35").expect("authority key id");
        let aki = AuthorityKeyIdentifier::from_der(aki.extn_value.as_bytes()).expect("aki");
        let ski = OctetString::from_der(ski.extn_value.as_bytes()).expect("ski");
        assert_eq!(aki.key_identifier, Some(ski));
        assert!(ext(&leaf_cert, "2.5.29.17").is_some(), "SANs present");
        assert!(field(&leaf, "Key").starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let rebuilt = call(
            "buildCustomCert",
            vec![
                Value::str(base64::engine::general_purpose::STANDARD.encode(field(&leaf, "Cert"))),
                Value::str(base64::engine::general_purpose::STANDARD.encode(field(&leaf, "Key"))),
            ],
        );
        assert_eq!(rebuilt.map(|c| field(&c, "Cert")), Ok(field(&leaf, "Cert")));
    }

    #[test]
    fn refuses_like_sprig() {
        let e = |name: &str, args: Vec<Value>| call(name, args).err().unwrap_or_default();
        let ca_key = |k: &str| vec![Value::str("x"), Value::Int(1), Value::str(k)];
        assert_eq!(
            e("genCAWithKey", ca_key("garbage")),
            "parsing private key: no PEM data in input"
        );
        let cert_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(
            e("genCAWithKey", ca_key(cert_pem)),
            "parsing private key: no private key data in PEM block of type CERTIFICATE"
        );
        let ss = |ips: Value, dns: Value| vec![Value::str("x"), ips, dns, Value::Int(1)];
        assert_eq!(
            e("genSelfSignedCert", ss(list(&["1.2.3"]), Value::Nil)),
            "error parsing ip: 1.2.3"
        );
        let five = Value::list(ElemKind::Any, vec![Value::Int(5)]);
        assert_eq!(
            e("genSelfSignedCert", ss(five.clone(), Value::Nil)),
            "error parsing ip: 5 is not a string"
        );
        assert_eq!(
            e("genSelfSignedCert", ss(Value::Nil, five)),
            "error processing alternate dns name: 5 is not a string"
        );
        let custom = |c: &str, k: &str| vec![Value::str(c), Value::str(k)];
        assert_eq!(
            e("buildCustomCert", custom("!!", "")),
            "unable to decode base64 certificate"
        );
        assert_eq!(
            e("buildCustomCert", custom("YWJj", "!!")),
            "unable to decode base64 private key"
        );
        assert_eq!(
            e("buildCustomCert", custom("YWJj", "YWJj")),
            "unable to decode certificate"
        );
    }
}
