//! `[[cdn]]`: the CDNs `anp cache purge` and `anp deploy mark --purge-…` fan out to.

use alphanode::Error;
use anp_http::purge::{Cloudflare, CloudflarePlan, Varnish};
use anp_http::CdnTarget;
use serde_spanned::Spanned;

use super::raw::{Ctx, RawCdn};

impl Ctx<'_> {
    /// Checks one `[[cdn]]`: its name, its kind and exactly the keys that kind takes.
    pub(super) fn cdn(&self, r: &RawCdn) -> Result<CdnTarget, Error> {
        let name = r.name.get_ref();
        let name_ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !name_ok {
            return self.err(
                r.name.span(),
                "cdn.name",
                format!("{name:?} is invalid: expected 1-64 chars of [a-z0-9_-]"),
            );
        }
        // A key the kind does not take: named with its line, so a typo'd kind or a key copied
        // from the other kind is not silently ignored.
        let not_for = |key: &Option<Spanned<String>>, k: &str, kind: &str| -> Result<(), Error> {
            match key {
                Some(v) => self.err(
                    v.span(),
                    &format!("cdn {name}"),
                    format!("`{k}` does not apply to kind \"{kind}\""),
                ),
                None => Ok(()),
            }
        };
        let required = |key: &Option<Spanned<String>>, k: &str, kind: &str, example: &str| match key
        {
            Some(v) => Ok(v.clone()),
            None => self.err(
                r.kind.span(),
                &format!("cdn {name}"),
                format!("kind \"{kind}\" needs `{k}`: expected e.g. {k} = {example}"),
            ),
        };
        let target = match r.kind.get_ref().as_str() {
            "varnish" => {
                not_for(&r.zone_id, "zone_id", "varnish")?;
                not_for(&r.api_token_env, "api_token_env", "varnish")?;
                not_for(&r.api_base, "api_base", "varnish")?;
                not_for(&r.plan, "plan", "varnish")?;
                let url = required(&r.url, "url", "varnish", "\"http://127.0.0.1:6081\"")?;
                match Varnish::new(name, url.get_ref()) {
                    Ok(v) => CdnTarget::Varnish(v),
                    Err(e) => return self.err(url.span(), "cdn.url", e.message()),
                }
            }
            "cloudflare" => {
                not_for(&r.url, "url", "cloudflare")?;
                let zone = required(
                    &r.zone_id,
                    "zone_id",
                    "cloudflare",
                    "\"023e105f4ecef8ad9ca31a8372d0c353\"",
                )?;
                let env = required(
                    &r.api_token_env,
                    "api_token_env",
                    "cloudflare",
                    "\"CLOUDFLARE_API_TOKEN\"",
                )?;
                let base = r.api_base.as_ref().map(|b| b.get_ref().as_str());
                let plan = match &r.plan {
                    None => CloudflarePlan::default(),
                    Some(p) => match CloudflarePlan::parse(p.get_ref()) {
                        Some(plan) => plan,
                        None => {
                            return self.err(
                                p.span(),
                                &format!("cdn {name}"),
                                format!(
                                    "plan {:?} is not a Cloudflare plan: expected \"free\", \
                                     \"pro\", \"business\" or \"enterprise\" (the account's plan \
                                     sets the purge rate limits kept to; default \"free\", the \
                                     slowest)",
                                    p.get_ref()
                                ),
                            )
                        }
                    },
                };
                match Cloudflare::new(name, zone.get_ref(), env.get_ref(), base) {
                    Ok(c) => CdnTarget::Cloudflare(c.with_plan(plan)),
                    Err(e) => {
                        // Point at the key the message is about.
                        let span = if e.message().contains("zone_id") {
                            zone.span()
                        } else if e.message().contains("api_token_env") {
                            env.span()
                        } else {
                            r.api_base
                                .as_ref()
                                .map_or_else(|| r.kind.span(), |b| b.span())
                        };
                        return self.err(span, &format!("cdn {name}"), e.message());
                    }
                }
            }
            other => {
                return self.err(
                    r.kind.span(),
                    "cdn.kind",
                    format!("{other:?} is not a CDN kind: expected \"varnish\" or \"cloudflare\""),
                )
            }
        };
        Ok(target)
    }
}
