//! Percent-encoding of a URL path segment or a form value: unreserved
//! characters stay, every other byte becomes `%XX`. One copy for the SDK
//! and the host: the host compiles this file too (`#[path]`).

/// Encodes `text` as one path segment or form value: ASCII letters,
/// digits and `-._~` stay, every other UTF-8 byte becomes `%XX` in upper
/// case. A `/` is encoded too, so a name that holds one stays one segment.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
