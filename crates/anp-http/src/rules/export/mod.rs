//! The rules for the edge: Cloudflare Cache Rules (`cloudflare.rs`) and Varnish VCL
//! (`varnish.rs`), deciding as alphanode does (built-in bypass first, then the first matching
//! rule, else bypass).

pub(super) mod cloudflare;
pub(super) mod varnish;

/// Where the exported VCL sends cache misses and bypassed requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarnishBackend {
    /// Host name or IP address of the origin (or of `anp proxy`).
    pub host: String,
    /// Its port.
    pub port: u16,
}

impl Default for VarnishBackend {
    /// `127.0.0.1:8080`.
    fn default() -> Self {
        VarnishBackend {
            host: "127.0.0.1".to_owned(),
            port: 8080,
        }
    }
}

/// A cookie name glob (`wordpress_logged_in_*`) as a regex for the name alone.
pub(super) fn cookie_glob_regex(glob: &str) -> String {
    let mut out = String::new();
    for c in glob.chars() {
        match c {
            '*' => out.push_str("[^=;]*"),
            '?' => out.push_str("[^=;]"),
            c => super::glob::push_escaped(&mut out, c),
        }
    }
    out
}
