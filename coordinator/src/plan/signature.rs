//! Stage signatures: sha256 over the format version, the stage name, the stage's own inputs
//! and the previous stage's signature, so a change anywhere below a stage changes it too.
//!
//! Every field is length-prefixed, so no two different input lists hash alike however their
//! strings are chosen. Bump [`FORMAT`] whenever what goes in changes: every cached stage is
//! then rebuilt, which is the point.

use sha2::{Digest, Sha256};

/// The signature format; part of every signature.
pub const FORMAT: &str = "conveyor-stage-v1";

/// The signature of stage `name` with `inputs` (in their defined order) on top of `parent`.
pub fn signature(name: &str, inputs: &[(String, String)], parent: Option<&str>) -> String {
    let mut h = Sha256::new();
    field(&mut h, FORMAT);
    field(&mut h, name);
    for (k, v) in inputs {
        field(&mut h, k);
        field(&mut h, v);
    }
    field(&mut h, "parent");
    field(&mut h, parent.unwrap_or(""));
    lower_hex(&h.finalize())
}

/// Lower-case hex of `bytes` (a table lookup per nibble: the hex crate's iterator showed up in
/// profiles of 50,000-stage plans).
fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

fn field(h: &mut Sha256, s: &str) {
    h.update((s.len() as u64).to_le_bytes());
    h.update(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn signatures_are_lowercase_sha256_hex() {
        let s = signature(
            "from",
            &kv(&[("from", "docker.io/library/alpine:latest")]),
            None,
        );
        assert_eq!(s.len(), 64);
        assert!(s
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    }

    #[test]
    fn hex_matches_the_hex_crate() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(lower_hex(&bytes), hex::encode(&bytes));
    }

    #[test]
    fn every_part_counts_and_fields_do_not_run_together() {
        let base = signature("install", &kv(&[("commands", "ab")]), Some("p"));
        assert_ne!(
            base,
            signature("setup", &kv(&[("commands", "ab")]), Some("p"))
        );
        assert_ne!(
            base,
            signature("install", &kv(&[("commands", "ab")]), Some("q"))
        );
        assert_ne!(base, signature("install", &kv(&[("commands", "ab")]), None));
        assert_ne!(
            base,
            signature("install", &kv(&[("command", "sab")]), Some("p"))
        );
        assert_ne!(
            base,
            signature("install", &kv(&[("commands", "a"), ("b", "")]), Some("p"))
        );
        assert_eq!(
            base,
            signature("install", &kv(&[("commands", "ab")]), Some("p"))
        );
    }
}
