//! How deep a document's text and its variables nest, measured without recursion, so
//! that nothing recursive (the parser, the limits' walk) ever meets a deeper one.

use async_graphql::Value;

/// Brackets (`{`, `[`, `(`) open at once anywhere in a document, and levels of arrays
/// and objects in its variables.
pub const MAX_NESTING: usize = 64;

/// The deepest bracket nesting of a document's text, stopping at the first level past
/// `MAX_NESTING`; strings, block strings and comments are skipped. One pass, no
/// recursion: this runs before the parser, whose recursion it bounds.
pub(super) fn bracket_nesting(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // `\"""` is an escaped delimiter inside a block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
                if depth > MAX_NESTING {
                    return depth;
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// Levels of arrays and objects in a variables value, past `MAX_NESTING` or not,
/// measured without recursion.
pub(super) fn value_nesting(value: &Value) -> usize {
    let mut stack = vec![(value, 0usize)];
    let mut deepest = 0;
    while let Some((value, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        if depth > MAX_NESTING {
            break;
        }
        match value {
            Value::List(items) => stack.extend(items.iter().map(|v| (v, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|v| (v, depth + 1))),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_skips_strings_and_comments() {
        assert_eq!(bracket_nesting("{ a(x: \"{{{[[\") { b } }"), 2);
        assert_eq!(bracket_nesting("{ a # {{{{\n }"), 1);
        assert_eq!(bracket_nesting("{ a(x: \"\"\" {{ \\\"\"\" {{ \"\"\") }"), 2);
        let deep = "[".repeat(100_000);
        assert_eq!(bracket_nesting(&deep), MAX_NESTING + 1);
    }
}
