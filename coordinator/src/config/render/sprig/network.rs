//! sprig's `getHostByName`: one address of the host, picked at random, as text.
//!
//! Go resolves with `net.LookupHost` and indexes the result at random, so an unknown host
//! panics with `invalid argument to Intn`; we return that message as the error. We resolve
//! through the system resolver (`getaddrinfo`), which may list IPv6 addresses (e.g. `::1`
//! for `localhost`) that Go's own resolver, reading `/etc/hosts` first, would not.

use std::net::ToSocketAddrs;

use rand::Rng;

use super::super::value::{Func, Ty, Value};

/// Pushes `getHostByName` with Go's parameter types.
pub(crate) fn register(out: &mut Vec<(&'static str, Func)>) {
    out.push((
        "getHostByName",
        Func::new(&[Ty::String], |a| {
            let name = a.first().and_then(Value::as_str).unwrap_or("");
            let mut addrs: Vec<String> = (name, 0)
                .to_socket_addrs()
                .map(|it| it.map(|sa| sa.ip().to_string()).collect())
                .unwrap_or_default();
            addrs.dedup();
            if addrs.is_empty() {
                return Err("invalid argument to Intn".into());
            }
            let pick = rand::thread_rng().gen_range(0..addrs.len());
            Ok(Value::str(addrs.swap_remove(pick)))
        }),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_literal_addresses_and_refuses_unknown_hosts() {
        let mut funcs = Vec::new();
        register(&mut funcs);
        let f = &funcs[0].1;
        // The reference renderer prints 127.0.0.1 for `getHostByName "127.0.0.1"` and fails
        // with "invalid argument to Intn" for an unresolvable name.
        let got = (f.call)(vec![Value::str("127.0.0.1")]).map(|v| v.to_go_string());
        assert_eq!(got.as_deref(), Ok("127.0.0.1"));
        let err = (f.call)(vec![Value::str("no.such.host.invalid")]).err();
        assert_eq!(err.as_deref(), Some("invalid argument to Intn"));
    }
}
