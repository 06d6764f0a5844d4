//! The one redaction of store URLs: whatever is printed about a store — logs, errors, `--json`
//! output, `/api/` answers — goes through [`redact_url`], so a password never leaves the process.

/// `url` with the password of its `user:password@` part replaced by `***` (a lone `secret@` —
/// Redis' password-only form — becomes `***@`). Any other part is kept as typed.
///
/// The credentials end at the **last** `@` of the URL, not the first: a password may hold `@`,
/// `/`, `?` or `#` typed as they are (`redis://u:p@ss/w?rd@host:6379/0`), and the URL parser of
/// the Redis backend reads it that way too. When a path or query happens to hold an `@`, more is
/// hidden than needed, never less. A URL without a scheme, or a `sqlite://` URL (a file path
/// never carries credentials), is returned unchanged.
///
/// ```
/// use anp_core::redact::redact_url;
/// assert_eq!(redact_url("redis://u:s3cr@tpass@h:6379/0"), "redis://u:***@h:6379/0");
/// assert_eq!(redact_url("rediss://s3cret@h:6380"), "rediss://***@h:6380");
/// assert_eq!(redact_url("sqlite://anp.db"), "sqlite://anp.db");
/// ```
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    if scheme.eq_ignore_ascii_case("sqlite") {
        return url.to_owned();
    }
    let Some(at) = rest.rfind('@') else {
        return url.to_owned();
    };
    let creds = &rest[..at];
    let redacted = match creds.split_once(':') {
        Some((user, _)) if !user.contains(['/', '?', '#']) => format!("{user}:***"),
        _ => "***".to_owned(),
    };
    format!("{scheme}://{redacted}{}", &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    const SECRETS: [&str; 6] = ["s3cr@tpass", "p:ss", "p%40ss", "pa/ss@x", "a?b#c", "@@@"];

    #[test]
    fn no_password_survives_in_any_url_form() {
        for scheme in ["redis", "rediss", "redis+cluster", "rediss+cluster"] {
            for user in ["", "default", "us%3Aer", "u@x"] {
                for secret in SECRETS {
                    let creds = if user.is_empty() {
                        format!("{secret}@")
                    } else {
                        format!("{user}:{secret}@")
                    };
                    for tail in ["h:6379", "h:6379/2", "a:1,b:2", "h:1?ca=/etc/ca.pem"] {
                        let url = format!("{scheme}://{creds}{tail}");
                        let out = redact_url(&url);
                        assert!(
                            !out.contains(secret),
                            "{url:?} redacted to {out:?} still shows {secret:?}"
                        );
                        assert!(out.ends_with(&format!("@{tail}")), "{url:?} -> {out:?}");
                        assert!(out.starts_with(&format!("{scheme}://")), "{out:?}");
                        assert!(out.contains("***"), "{out:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn keeps_the_user_name_and_everything_after_the_host() {
        assert_eq!(redact_url("redis://u:secret@h:1/0"), "redis://u:***@h:1/0");
        assert_eq!(redact_url("redis://secret@h"), "redis://***@h");
        assert_eq!(
            redact_url("rediss+cluster://app:p@ss@a:1,b:2?ca=/x.pem"),
            "rediss+cluster://app:***@a:1,b:2?ca=/x.pem"
        );
    }

    #[test]
    fn leaves_urls_without_credentials_alone() {
        for url in [
            "sqlite://anp.db",
            "sqlite:///var/lib/a@b.db",
            "redis://127.0.0.1:6379",
            "not a url",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }
}
