//! The sprig 3.2.3 function library (`sprig.TxtFuncMap()`), as werf gives it to templates,
//! without `expandenv` (werf removes it) and with werf's `env` replacing sprig's.
//!
//! One module per family of functions; each exposes `register`, which pushes its functions
//! with parameter types that mirror sprig's Go signatures (the engine checks arguments against
//! them as Go's reflection does). Helper modules (`casing`, `goutils`, `json`, `regex_go`, ...)
//! hold what several families share. Every function's output is checked against Go's in the
//! module's tests and in the golden cases (`tests/render/cases/sprig-*`).

mod casing;
mod certs;
mod conv;
mod crypto;
mod date;
mod defaults;
mod dicts;
mod encoding;
mod gotime;
mod gotime_parse;
mod goutils;
mod json;
mod json_decode;
mod keys;
mod lists;
mod network;
mod numeric;
mod paths;
mod random;
mod reflect;
mod regex;
mod regex_go;
mod semver;
mod strings;
mod url;

#[cfg(test)]
mod testkit;

use super::value::Func;

/// Every sprig function, by name.
pub fn functions() -> Vec<(&'static str, Func)> {
    let mut out = Vec::with_capacity(200);
    conv::register(&mut out);
    defaults::register(&mut out);
    dicts::register(&mut out);
    encoding::register(&mut out);
    lists::register(&mut out);
    numeric::register(&mut out);
    paths::register(&mut out);
    reflect::register(&mut out);
    regex::register(&mut out);
    strings::register(&mut out);
    url::register(&mut out);
    semver::register(&mut out);
    date::register(&mut out);
    random::register(&mut out);
    network::register(&mut out);
    crypto::register(&mut out);
    certs::register(&mut out);
    out
}
