//! What is wrong with a rules file: one [`Problem`] per finding, each naming the file, the
//! line, the rule and the key.

use std::fmt;

/// One thing wrong with a rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, as given to [`Rules::load`](super::Rules::load) or
    /// [`Rules::parse`](super::Rules::parse).
    pub file: String,
    /// The line (1-based), when the problem is at one place in the text.
    pub line: Option<usize>,
    /// The rule's name, when the problem is inside a `[[rule]]`.
    pub rule: Option<String>,
    /// The key at fault (`edge_ttl`, `match.path`, `bypass.session_cookies`), when there is one.
    pub key: Option<String>,
    /// What failed and what was expected.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ":")?;
        if let Some(rule) = &self.rule {
            write!(f, " rule {rule:?}:")?;
        }
        if let Some(key) = &self.key {
            write!(f, " {key}:")?;
        }
        write!(f, " {}", self.message)
    }
}

/// A rules file that cannot be used: it could not be read, is not TOML, or breaks a rule of
/// the format. Every problem found is listed, not only the first. Not retried: fix the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesError {
    /// Every problem found, in file order.
    pub problems: Vec<Problem>,
    /// Set when the file could not be read (a missing file is `NotFound`).
    pub io: Option<std::io::ErrorKind>,
}

impl RulesError {
    pub(crate) fn one(problem: Problem) -> RulesError {
        RulesError {
            problems: vec![problem],
            io: None,
        }
    }
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RulesError {}
