/// Replaces every known secret in a text with `***`. Every line that
/// leaves the host (log, error, report) passes through one of these.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        // Longest first, so a secret containing another is replaced whole.
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_occurrence_of_every_secret() {
        let r = Redactor::new(["hunter2".to_string(), "tok".to_string()]);
        assert_eq!(r.redact("pw=hunter2 again hunter2, tok"), "pw=*** again ***, ***");
    }

    #[test]
    fn empty_secrets_are_ignored() {
        let r = Redactor::new([String::new()]);
        assert_eq!(r.redact("nothing to hide"), "nothing to hide");
    }
}
