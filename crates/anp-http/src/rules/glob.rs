//! Path globs: matched with `globset` (`*` and `?` stay inside one path segment, `**` crosses
//! segments, `{a,b}` alternatives), and translated into an anchored regex for the CDN exports
//! (the same text works in Rust's `regex`, Cloudflare's `matches` and Varnish's PCRE2).

use std::fmt;

use globset::{GlobBuilder, GlobMatcher};

/// A path glob of a rule's `match.path`, such as `/assets/**` or `/blog/*/comments`.
#[derive(Clone)]
pub struct PathGlob {
    text: String,
    matcher: GlobMatcher,
}

impl fmt::Debug for PathGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PathGlob({:?})", self.text)
    }
}

impl PartialEq for PathGlob {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for PathGlob {}

impl PartialOrd for PathGlob {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PathGlob {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

/// The characters that make a glob more than a literal path.
const META: [char; 3] = ['*', '?', '{'];

impl PathGlob {
    /// Compiles a glob; the error says what is wrong and what is expected.
    pub(crate) fn new(text: &str) -> Result<PathGlob, String> {
        if !text.starts_with('/') {
            return Err(format!(
                "{text:?} is not a path glob: expected a path starting with /, e.g. /assets/**"
            ));
        }
        if let Some(c) = text
            .chars()
            .find(|c| !c.is_ascii_graphic() || matches!(c, '"' | '\\' | '[' | ']'))
        {
            return Err(format!(
                "{text:?} contains {c:?}: expected printable ASCII without spaces, quotes, \
                 backslashes or [character classes] (use {{a,b}} alternatives)"
            ));
        }
        let mut depth = 0;
        for (i, c) in text.char_indices() {
            match c {
                '{' if depth > 0 => {
                    return Err(format!(
                        "{text:?} nests {{…}} alternatives: expected one level"
                    ))
                }
                '{' => depth += 1,
                '}' => depth -= 1,
                '*' if depth > 0 && text[i + 1..].starts_with('*') => {
                    return Err(format!(
                        "{text:?} has ** inside {{…}}: expected * or literal text there"
                    ))
                }
                _ => {}
            }
        }
        let glob = GlobBuilder::new(text)
            .literal_separator(true)
            .backslash_escape(false)
            .build()
            .map_err(|e| format!("{text:?} is not a valid glob: {e}"))?;
        Ok(PathGlob {
            text: text.to_owned(),
            matcher: glob.compile_matcher(),
        })
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `path` matches.
    pub fn is_match(&self, path: &str) -> bool {
        self.matcher.is_match(path)
    }

    /// The text before the first wildcard: every matching path starts with it.
    pub(crate) fn literal_prefix(&self) -> &str {
        let end = self.text.find(META).unwrap_or(self.text.len());
        &self.text[..end]
    }

    /// A glob without wildcards (it matches one path).
    pub(crate) fn is_literal(&self) -> bool {
        !self.text.contains(META)
    }

    /// For `/assets/**`: `/assets/` (it matches every path starting with that).
    pub(crate) fn subtree_base(&self) -> Option<&str> {
        let base = self.text.strip_suffix("**")?;
        (base.ends_with('/') && !base.contains(META)).then_some(base)
    }

    /// An anchored regex matching the same paths, for the CDN exports.
    pub(crate) fn to_regex(&self) -> String {
        let chars: Vec<char> = self.text.chars().collect();
        let mut out = String::from("^");
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '*' && chars.get(i + 1) == Some(&'*') {
                let after_sep = i > 0 && chars[i - 1] == '/';
                match chars.get(i + 2) {
                    // `/**` at the end: everything below (the `/` is already written).
                    None if after_sep => out.push_str(".*"),
                    // `/**/`: zero or more segments between the separators.
                    Some('/') if after_sep => {
                        out.push_str("(?:.*/)?");
                        i += 1;
                    }
                    // Not a whole segment: globset reads it as `*`.
                    _ => out.push_str("[^/]*"),
                }
                i += 2;
                continue;
            }
            match c {
                '*' => out.push_str("[^/]*"),
                '?' => out.push_str("[^/]"),
                '{' => out.push_str("(?:"),
                '}' => out.push(')'),
                ',' if self.text[..i].rfind('{') > self.text[..i].rfind('}') => out.push('|'),
                c => push_escaped(&mut out, c),
            }
            i += 1;
        }
        out.push('$');
        out
    }
}

/// Appends `c`, escaped if it means something in a regex.
pub(crate) fn push_escaped(out: &mut String, c: char) {
    if "\\.+*?()|[]{}^$#&-~".contains(c) {
        out.push('\\');
    }
    out.push(c);
}

/// `text` as a regex matching it literally.
pub(crate) fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(s: &str) -> PathGlob {
        PathGlob::new(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_export_regex_agrees_with_globset() {
        let globs = [
            "/assets/**",
            "/**",
            "/**/*.js",
            "/blog/*/comments",
            "/a/**/b",
            "/img/?.png",
            "/{en,fr}/docs/**",
            "/x**y",
            "/app.{js,css}",
            "/exact/path.html",
            "/a.b+c(d)",
        ];
        let paths = [
            "/",
            "/assets",
            "/assets/",
            "/assets/app.js",
            "/assets/js/app.js",
            "/app.js",
            "/a/b",
            "/a/x/b",
            "/a/x/y/b",
            "/ab",
            "/blog/1/comments",
            "/blog/1/2/comments",
            "/img/a.png",
            "/img/ab.png",
            "/en/docs/x",
            "/de/docs/x",
            "/fr/docs/",
            "/xzzy",
            "/x/y",
            "/app.css",
            "/app.jsx",
            "/exact/path.html",
            "/exact/pathxhtml",
            "/a.b+c(d)",
        ];
        for g in globs {
            let pg = glob(g);
            let re = regex::Regex::new(&pg.to_regex())
                .unwrap_or_else(|e| panic!("{g}: {} does not compile: {e}", pg.to_regex()));
            for p in paths {
                assert_eq!(
                    pg.is_match(p),
                    re.is_match(p),
                    "glob {g} (regex {}) on {p}",
                    pg.to_regex()
                );
            }
        }
    }

    #[test]
    fn prefixes_and_subtrees() {
        assert_eq!(glob("/assets/**").subtree_base(), Some("/assets/"));
        assert_eq!(glob("/assets/*.js").subtree_base(), None);
        assert_eq!(glob("/assets/*.js").literal_prefix(), "/assets/");
        assert!(glob("/robots.txt").is_literal());
        assert!(PathGlob::new("assets/**").is_err());
        assert!(PathGlob::new("/a/[ab]").is_err());
        assert!(PathGlob::new("/{a,{b,c}}").is_err());
    }
}
