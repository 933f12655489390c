//! A small SQL tokenizer for the CREATE statements SQLite keeps in
//! `sqlite_master.sql`.
//!
//! It knows just enough of SQLite's lexical rules to find comments,
//! parentheses and commas reliably: string literals, the three quoted
//! identifier styles (`"x"`, `[x]`, `` `x` ``) and both comment styles, so
//! that a `--` or `)` inside a string or a quoted name is never mistaken for
//! structure. It never fails: unterminated constructs run to the end of the
//! text, because a description is not worth refusing a table over.

/// What a token is; only the distinctions the DDL reader needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A bare word: a keyword or an unquoted identifier.
    Word,
    /// `"x"`, `[x]` or `` `x` ``.
    QuotedIdent,
    /// `'text'`.
    String,
    /// A numeric literal.
    Number,
    /// `-- text` up to the end of the line (the newline is not included).
    LineComment,
    /// `/* text */`.
    BlockComment,
    /// Any other single character: `(`, `)`, `,`, operators.
    Punct,
}

/// One token: its kind, its byte range in the source, and the 0-based line
/// it starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    pub line: usize,
}

impl Token {
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        source.get(self.start..self.end).unwrap_or("")
    }

    pub fn is_comment(&self) -> bool {
        matches!(self.kind, Kind::LineComment | Kind::BlockComment)
    }

    /// True for the unquoted keyword `word` (ASCII case-insensitive).
    pub fn is_word(&self, source: &str, word: &str) -> bool {
        self.kind == Kind::Word && self.text(source).eq_ignore_ascii_case(word)
    }

    pub fn is_punct(&self, source: &str, c: char) -> bool {
        self.kind == Kind::Punct && self.text(source).starts_with(c)
    }
}

/// Splits `sql` into tokens, whitespace dropped.
pub fn tokenize(sql: &str) -> Vec<Token> {
    let mut lexer = Lexer { sql, chars: sql.char_indices().peekable(), line: 0 };
    let mut tokens = Vec::new();
    while let Some(token) = lexer.next_token() {
        tokens.push(token);
    }
    tokens
}

struct Lexer<'a> {
    sql: &'a str,
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    line: usize,
}

impl Lexer<'_> {
    fn bump(&mut self) -> Option<(usize, char)> {
        let next = self.chars.next();
        if let Some((_, '\n')) = next {
            self.line += 1;
        }
        next
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().map(|&(_, c)| c)
    }

    /// The byte offset of the next character, or the end of the text.
    fn offset(&mut self) -> usize {
        self.chars.peek().map_or(self.sql.len(), |&(i, _)| i)
    }

    fn next_token(&mut self) -> Option<Token> {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        let line = self.line;
        let (start, c) = self.bump()?;
        let kind = match c {
            '-' if self.peek() == Some('-') => {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.bump();
                }
                Kind::LineComment
            }
            '/' if self.peek() == Some('*') => {
                self.bump();
                let mut star = false;
                while let Some((_, c)) = self.bump() {
                    if star && c == '/' {
                        break;
                    }
                    star = c == '*';
                }
                Kind::BlockComment
            }
            '\'' => {
                self.quoted('\'');
                Kind::String
            }
            '"' | '`' => {
                self.quoted(c);
                Kind::QuotedIdent
            }
            '[' => {
                // Brackets have no escape: the name ends at the first `]`.
                while let Some((_, c)) = self.bump() {
                    if c == ']' {
                        break;
                    }
                }
                Kind::QuotedIdent
            }
            c if c.is_ascii_digit() || (c == '.' && self.peek().is_some_and(|n| n.is_ascii_digit())) => {
                let mut previous = c;
                while let Some(n) = self.peek() {
                    let exponent_sign = matches!(n, '+' | '-') && matches!(previous, 'e' | 'E') && !self.is_hex(start);
                    if !(n.is_ascii_alphanumeric() || n == '.' || n == '_' || exponent_sign) {
                        break;
                    }
                    previous = n;
                    self.bump();
                }
                Kind::Number
            }
            c if is_word_char(c) => {
                while self.peek().is_some_and(is_word_char) {
                    self.bump();
                }
                Kind::Word
            }
            _ => Kind::Punct,
        };
        let end = self.offset();
        Some(Token { kind, start, end, line })
    }

    /// Consumes up to the closing `quote`; a doubled quote is an escape.
    fn quoted(&mut self, quote: char) {
        while let Some((_, c)) = self.bump() {
            if c == quote {
                if self.peek() == Some(quote) {
                    self.bump();
                } else {
                    break;
                }
            }
        }
    }

    fn is_hex(&self, start: usize) -> bool {
        let head = self.sql.get(start..).unwrap_or("");
        head.starts_with("0x") || head.starts_with("0X")
    }
}

/// Letters, digits, `_` and `$`, plus every non-ASCII character, which
/// SQLite accepts in bare identifiers.
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

/// The name an identifier token stands for: quotes removed, doubled quotes
/// undone. SQLite also accepts a string literal where a name is expected,
/// so `'x'` is unquoted too.
pub fn unquote(text: &str) -> String {
    let mut chars = text.chars();
    let (Some(first), Some(last)) = (chars.next(), chars.next_back()) else {
        return text.to_string();
    };
    let inner = || text.get(1..text.len() - 1).unwrap_or("");
    match (first, last) {
        ('"', '"') => inner().replace("\"\"", "\""),
        ('`', '`') => inner().replace("``", "`"),
        ('\'', '\'') => inner().replace("''", "'"),
        ('[', ']') => inner().to_string(),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(Kind, &str, usize)> {
        tokenize(sql).iter().map(|t| (t.kind, t.text(sql), t.line)).collect()
    }

    #[test]
    fn comments_inside_strings_and_names_are_not_comments() {
        let sql = "a DEFAULT '--x' \"b--c\" [d--e] `f--g` -- real\n/* block\n */ h";
        assert_eq!(
            kinds(sql),
            vec![
                (Kind::Word, "a", 0),
                (Kind::Word, "DEFAULT", 0),
                (Kind::String, "'--x'", 0),
                (Kind::QuotedIdent, "\"b--c\"", 0),
                (Kind::QuotedIdent, "[d--e]", 0),
                (Kind::QuotedIdent, "`f--g`", 0),
                (Kind::LineComment, "-- real", 0),
                (Kind::BlockComment, "/* block\n */", 1),
                (Kind::Word, "h", 2),
            ]
        );
    }

    #[test]
    fn escapes_and_numbers() {
        let sql = "'it''s' \"a\"\"b\" 1.5e-3 0x1F x-1";
        assert_eq!(
            kinds(sql),
            vec![
                (Kind::String, "'it''s'", 0),
                (Kind::QuotedIdent, "\"a\"\"b\"", 0),
                (Kind::Number, "1.5e-3", 0),
                (Kind::Number, "0x1F", 0),
                (Kind::Word, "x", 0),
                (Kind::Punct, "-", 0),
                (Kind::Number, "1", 0),
            ]
        );
    }

    #[test]
    fn unterminated_constructs_run_to_the_end() {
        for sql in ["'abc", "\"abc", "[abc", "/* abc", "-- abc", "é€ (", ""] {
            let tokens = tokenize(sql);
            assert!(tokens.iter().all(|t| t.end <= sql.len()), "{sql}");
        }
        assert_eq!(kinds("'a\n-- b"), vec![(Kind::String, "'a\n-- b", 0)]);
    }

    #[test]
    fn unquote_handles_every_style() {
        assert_eq!(unquote("\"a\"\"b\""), "a\"b");
        assert_eq!(unquote("[my col]"), "my col");
        assert_eq!(unquote("`x``y`"), "x`y");
        assert_eq!(unquote("'s'"), "s");
        assert_eq!(unquote("plain"), "plain");
        assert_eq!(unquote("\""), "\"");
        assert_eq!(unquote(""), "");
    }
}
