//! Percent-encoding of a URL path segment or a form value: unreserved
//! characters stay, every other byte becomes `%XX`. One copy for the SDK
//! and the host: the host compiles this file too (`#[path]`).

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
