//! `fmt.Sprintf`: the format-string walk of Go's `doPrintf` (flags, width, precision,
//! `*` operands, explicit `[n]` argument indexes, and the `%!(...)` error forms); each verb
//! is printed by the shared [`Printer`](super::Printer).

use super::super::value::Value;
use super::{type_name, Flags, Printer};

fn parsenum(s: &[u8], start: usize) -> (Option<usize>, usize) {
    let mut i = start;
    let mut num: usize = 0;
    let mut isnum = false;
    while i < s.len() && s[i].is_ascii_digit() {
        if num > 1_000_000 {
            return (None, s.len());
        }
        num = num * 10 + usize::from(s[i] - b'0');
        isnum = true;
        i += 1;
    }
    (isnum.then_some(num), i)
}

/// Parses `[n]` at `i`: (new arg number, new i, found).
fn arg_number(p: &mut Sprintf, s: &[u8], i: usize, arg_num: usize) -> (usize, usize, bool) {
    if i >= s.len() || s[i] != b'[' {
        return (arg_num, i, false);
    }
    p.reordered = true;
    let rest = &s[i..];
    let mut parsed = (0usize, 1usize, false);
    if rest.len() >= 3 {
        if let Some(close) = rest.iter().skip(1).position(|c| *c == b']').map(|x| x + 1) {
            let (n, newi) = parsenum(rest, 1);
            parsed = match n {
                Some(n) if newi == close && n > 0 => (n - 1, close + 1, true),
                Some(0) if newi == close => (usize::MAX, close + 1, true),
                _ => (0, close + 1, false),
            };
        }
    }
    let (index, wid, ok) = parsed;
    if ok && index < p.nargs {
        return (index, i + wid, true);
    }
    p.good_arg_num = false;
    (arg_num, i + wid, ok)
}

struct Sprintf {
    reordered: bool,
    good_arg_num: bool,
    nargs: usize,
}

fn int_from_arg(args: &[Value], n: usize) -> (Option<i64>, usize) {
    match args.get(n) {
        Some(Value::Int(i) | Value::Int64(i)) if i.abs() <= 1_000_000 => (Some(*i), n + 1),
        Some(_) => (None, n + 1),
        None => (None, n),
    }
}

/// `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut p = Printer::default();
    let mut st = Sprintf {
        reordered: false,
        good_arg_num: true,
        nargs: args.len(),
    };
    let s = format.as_bytes();
    let end = s.len();
    let mut arg_num = 0usize;
    let mut i = 0usize;
    'outer: while i < end {
        st.good_arg_num = true;
        let lasti = i;
        while i < end && s[i] != b'%' {
            i += 1;
        }
        if i > lasti {
            p.buf.push_str(&format[lasti..i]);
        }
        if i >= end {
            break;
        }
        i += 1;
        p.f = Flags::default();
        while i < end {
            match s[i] {
                b'#' => p.f.sharp = true,
                b'0' => p.f.zero = !p.f.minus,
                b'+' => p.f.plus = true,
                b'-' => {
                    p.f.minus = true;
                    p.f.zero = false;
                }
                b' ' => p.f.space = true,
                c => {
                    if c.is_ascii_lowercase() && arg_num < args.len() {
                        if c == b'v' {
                            p.f.sharp_v = p.f.sharp;
                            p.f.sharp = false;
                            p.f.plus_v = p.f.plus;
                            p.f.plus = false;
                        }
                        p.print_arg(&args[arg_num], c as char);
                        arg_num += 1;
                        i += 1;
                        continue 'outer;
                    }
                    break;
                }
            }
            i += 1;
        }
        let (a, ni, mut after_index) = arg_number(&mut st, s, i, arg_num);
        arg_num = a;
        i = ni;
        if i < end && s[i] == b'*' {
            i += 1;
            let (w, na) = int_from_arg(args, arg_num);
            arg_num = na;
            match w {
                Some(w) => {
                    p.f.wid = Some(w.unsigned_abs() as usize);
                    if w < 0 {
                        p.f.minus = true;
                        p.f.zero = false;
                    }
                }
                None => p.buf.push_str("%!(BADWIDTH)"),
            }
            after_index = false;
        } else {
            let (w, ni) = parsenum(s, i);
            p.f.wid = w;
            i = ni;
            if after_index && w.is_some() {
                st.good_arg_num = false;
            }
        }
        if i + 1 < end && s[i] == b'.' {
            i += 1;
            if after_index {
                st.good_arg_num = false;
            }
            let (a, ni, ai) = arg_number(&mut st, s, i, arg_num);
            arg_num = a;
            i = ni;
            after_index = ai;
            if i < end && s[i] == b'*' {
                i += 1;
                let (pr, na) = int_from_arg(args, arg_num);
                arg_num = na;
                match pr {
                    Some(pr) if pr >= 0 => p.f.prec = Some(pr as usize),
                    Some(_) => p.f.prec = None,
                    None => {
                        p.f.prec = None;
                        p.buf.push_str("%!(BADPREC)");
                    }
                }
                after_index = false;
            } else {
                let (pr, ni) = parsenum(s, i);
                i = ni;
                p.f.prec = Some(pr.unwrap_or(0));
            }
        }
        if !after_index {
            let (a, ni, _) = arg_number(&mut st, s, i, arg_num);
            arg_num = a;
            i = ni;
        }
        if i >= end {
            p.buf.push_str("%!(NOVERB)");
            break;
        }
        let verb = format[i..].chars().next().unwrap_or('?');
        i += verb.len_utf8();
        if verb == '%' {
            p.buf.push('%');
        } else if !st.good_arg_num {
            p.buf.push_str("%!");
            p.buf.push(verb);
            p.buf.push_str("(BADINDEX)");
        } else if arg_num >= args.len() {
            p.buf.push_str("%!");
            p.buf.push(verb);
            p.buf.push_str("(MISSING)");
        } else {
            if verb == 'v' {
                p.f.sharp_v = p.f.sharp;
                p.f.sharp = false;
                p.f.plus_v = p.f.plus;
                p.f.plus = false;
            }
            p.print_arg(&args[arg_num], verb);
            arg_num += 1;
        }
    }
    if !st.reordered && arg_num < args.len() {
        p.f = Flags::default();
        p.buf.push_str("%!(EXTRA ");
        for (k, a) in args[arg_num..].iter().enumerate() {
            if k > 0 {
                p.buf.push_str(", ");
            }
            if let Value::Nil = a {
                p.buf.push_str("<nil>");
            } else {
                p.buf.push_str(&type_name(a));
                p.buf.push('=');
                p.print_arg(a, 'v');
            }
        }
        p.buf.push(')');
    }
    p.buf
}
