//! Canonical JSON: the one byte form of a payload that every verifier recomputes.
//!
//! It follows the JSON Canonicalization Scheme (RFC 8785): object members sorted by
//! the UTF-16 code units of their names, no whitespace, strings escaped as
//! ECMAScript's `JSON.stringify` does, non-integer numbers written as ECMAScript's
//! `Number.prototype.toString`. One deliberate difference: integers held exactly
//! (any `i64`/`u64`) are written exactly, where RFC 8785 would first round them to a
//! double. Rounding would give two different payloads (2^53 and 2^53 + 1) the same
//! canonical form, so altering one into the other would go unnoticed. For every
//! integer within ±2^53 the output is byte-for-byte RFC 8785.
//!
//! `serde_json` is built with `preserve_order` in this workspace, so a `Map` iterates
//! in insertion order; sorting here is what makes the form independent of it.

use serde_json::{Map, Number, Value};

/// The canonical form of `value` as a string.
pub fn to_canonical_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// Appends the canonical form of `value` to `out`.
pub fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map),
    }
}

fn write_object(out: &mut String, map: &Map<String, Value>) {
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    // RFC 8785 §3.2.3: compare names as sequences of UTF-16 code units, not code points
    // (they differ for characters above U+FFFF against U+E000..U+FFFF).
    members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    out.push('{');
    for (i, (name, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, name);
        out.push(':');
        write_value(out, value);
    }
    out.push('}');
}

/// Escapes as `JSON.stringify`: the two-character escapes for \b \t \n \f \r " \,
/// `\u00xx` (lower-case hex) for the other control characters, everything else as is.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_number(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        out.push_str(&i.to_string());
    } else if let Some(u) = n.as_u64() {
        out.push_str(&u.to_string());
    } else if let Some(f) = n.as_f64() {
        write_double(out, f);
    } else {
        // Only reachable with serde_json's arbitrary_precision; its text is already minimal.
        out.push_str(&n.to_string());
    }
}

/// ECMAScript `Number.prototype.toString` for a finite double (serde_json never holds
/// NaN or infinities).
fn write_double(out: &mut String, f: f64) {
    if f == 0.0 {
        out.push('0');
        return;
    }
    if f < 0.0 {
        out.push('-');
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, as ECMAScript requires:
    // "d.ddde±x" → digits "dddd", decimal exponent x.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let k = digits.len() as i32;
    // ECMAScript's n: the value is 0.digits × 10^n.
    let n = exponent + 1;
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).abs().to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(text: &str) -> String {
        to_canonical_string(&serde_json::from_str(text).unwrap())
    }

    #[test]
    fn rfc8785_primitives_example() {
        // RFC 8785 §3.2.2: the input and the output it publishes.
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        assert_eq!(
            canon(input),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    #[test]
    fn rfc8785_sorts_by_utf16_code_units() {
        // RFC 8785 §3.2.3: U+1F600 (a surrogate pair in UTF-16) sorts before U+FB33.
        let input = r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh",
            "1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#;
        let names: Vec<String> = {
            let out = canon(input);
            let parsed: Value = serde_json::from_str(&out).unwrap();
            parsed.as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(names, ["\r", "1", "\u{80}", "ö", "€", "😀", "\u{fb33}"]);
    }

    #[test]
    fn ecmascript_number_forms() {
        let cases: &[(f64, &str)] = &[
            (1.5, "1.5"),
            (-0.0, "0"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123456789012.5, "123456789012.5"),
            (0.000001, "0.000001"),
            (0.0000001, "1e-7"),
            (-2.5e-8, "-2.5e-8"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ];
        for (f, expected) in cases {
            assert_eq!(to_canonical_string(&json!(f)), *expected, "{f:e}");
        }
    }

    #[test]
    fn insertion_order_and_whitespace_do_not_matter_but_values_do() {
        let a = canon(r#"{ "b": [1, {"y": 2, "x": 1}], "a": "t" }"#);
        let b = canon(r#"{"a":"t","b":[1,{"x":1,"y":2}]}"#);
        assert_eq!(a, b);
        assert_eq!(a, r#"{"a":"t","b":[1,{"x":1,"y":2}]}"#);
        assert_ne!(canon(r#"{"a":[1,2]}"#), canon(r#"{"a":[2,1]}"#));
    }

    #[test]
    fn large_integers_stay_exact() {
        let big = json!(9007199254740993u64);
        assert_eq!(to_canonical_string(&big), "9007199254740993");
        assert_ne!(to_canonical_string(&big), to_canonical_string(&json!(9007199254740992u64)));
        assert_eq!(to_canonical_string(&json!(i64::MIN)), i64::MIN.to_string());
    }
}
