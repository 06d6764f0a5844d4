//! The overview's charts, drawn on the server as inline SVG (no script, no image request):
//! throughput (attempts finished per minute) and failure rate over the last hour or day, one
//! bar per bucket, with each deploy marker in the range as a vertical line whose `<title>`
//! (the browser's hover) names the version, the owner and the rollback command. Styling is by
//! class from the served stylesheet (the CSP allows no inline style).

use std::fmt::Write as _;

use alphanode::{DeployMarker, StatCounts, StatKey};
use jiff::{SignedDuration, Timestamp};

use super::escape;

/// Width and height of the drawing (the SVG scales to its box).
const W: f64 = 600.0;
const H: f64 = 160.0;
/// Left and bottom room for the axis labels.
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 20.0;

/// A range of buckets: `n` buckets of `step` ending at `end`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Range {
    /// The end (exclusive; the start of the next minute).
    pub(super) end: Timestamp,
    /// Bucket length.
    pub(super) step: SignedDuration,
    /// Buckets.
    pub(super) n: usize,
}

impl Range {
    /// The start of the first bucket.
    pub(super) fn start(&self) -> Timestamp {
        let total = self.step * i32::try_from(self.n).unwrap_or(i32::MAX);
        self.end.checked_sub(total).unwrap_or(Timestamp::MIN)
    }

    /// The bucket `t` falls into.
    fn bucket(&self, t: Timestamp) -> Option<usize> {
        let since = t.duration_since(self.start());
        if since.is_negative() || t >= self.end {
            return None;
        }
        let i = since.as_secs() / self.step.as_secs().max(1);
        usize::try_from(i).ok().filter(|i| *i < self.n)
    }
}

/// Per-bucket sums of the stats rows.
pub(super) fn buckets(rows: &[(StatKey, StatCounts)], r: Range) -> Vec<StatCounts> {
    let mut out = vec![StatCounts::default(); r.n];
    for (k, c) in rows {
        if let Some(i) = r.bucket(k.minute) {
            out[i].merge(c);
        }
    }
    out
}

/// Throughput: attempts finished per minute, completed and failed stacked.
pub(super) fn throughput(
    b: &[StatCounts],
    r: Range,
    deploys: &[DeployMarker],
    label: &str,
) -> String {
    let per_min = r.step.as_secs() as f64 / 60.0;
    let values: Vec<(f64, f64)> = b
        .iter()
        .map(|c| (c.completed as f64 / per_min, c.failed as f64 / per_min))
        .collect();
    let max = values.iter().map(|(a, f)| a + f).fold(0.0, f64::max);
    let top = nice(max);
    let mut s = open(label);
    axis(&mut s, r, top, "/min");
    let bw = (W - LEFT) / r.n as f64;
    for (i, (ok, failed)) in values.iter().enumerate() {
        let x = LEFT + i as f64 * bw;
        let h_ok = (H - BOTTOM) * ok / top;
        let h_f = (H - BOTTOM) * failed / top;
        if ok + failed > 0.0 {
            let _ = write!(
                s,
                "<g><title>{}: {} completed/min, {} failed/min</title>\
                 <rect class=\"bar-ok\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h_ok:.1}\"/>\
                 <rect class=\"bar-failed\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h_f:.1}\"/></g>",
                escape(&bucket_label(r, i)),
                rate(*ok),
                rate(*failed),
                H - BOTTOM - h_ok,
                (bw - 1.0).max(0.5),
                H - BOTTOM - h_ok - h_f,
                (bw - 1.0).max(0.5),
            );
        }
    }
    markers(&mut s, r, deploys);
    s.push_str("</svg>");
    s
}

/// Failure rate per bucket (failed / attempts), in percent.
pub(super) fn failure_rate(
    b: &[StatCounts],
    r: Range,
    deploys: &[DeployMarker],
    label: &str,
) -> String {
    let values: Vec<Option<f64>> = b
        .iter()
        .map(|c| {
            let a = c.completed + c.failed;
            (a > 0).then(|| 100.0 * c.failed as f64 / a as f64)
        })
        .collect();
    let max = values.iter().flatten().copied().fold(0.0, f64::max);
    let top = nice(max.max(1.0));
    let mut s = open(label);
    axis(&mut s, r, top, "%");
    let bw = (W - LEFT) / r.n as f64;
    for (i, v) in values.iter().enumerate() {
        let Some(v) = v else { continue };
        let x = LEFT + i as f64 * bw;
        let h = (H - BOTTOM) * v / top;
        let _ = write!(
            s,
            "<g><title>{}: {v:.1} % failed</title><rect class=\"bar-rate\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\"/></g>",
            escape(&bucket_label(r, i)),
            H - BOTTOM - h,
            (bw - 1.0).max(0.5),
        );
    }
    markers(&mut s, r, deploys);
    s.push_str("</svg>");
    s
}

/// The opening tag, labelled for screen readers.
fn open(label: &str) -> String {
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\" \
         xmlns=\"http://www.w3.org/2000/svg\">",
        escape(label)
    )
}

/// The axes: the value scale on the left (with its unit), start and end times below (UTC).
fn axis(s: &mut String, r: Range, top: f64, unit: &str) {
    // A day's range names the dates too.
    let fmt = if r.end.duration_since(r.start()).as_secs() > 3600 {
        "%m-%d %H:%M"
    } else {
        "%H:%M"
    };
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{y}\" x2=\"{W}\" y2=\"{y}\"/>\
         <line class=\"axis\" x1=\"{LEFT}\" y1=\"0\" x2=\"{LEFT}\" y2=\"{y}\"/>\
         <text class=\"tick\" x=\"{lx}\" y=\"12\" text-anchor=\"end\">{} {unit}</text>\
         <text class=\"tick\" x=\"{lx}\" y=\"{y}\" text-anchor=\"end\">0</text>\
         <text class=\"tick\" x=\"{LEFT}\" y=\"{H}\">{}</text>\
         <text class=\"tick\" x=\"{W}\" y=\"{H}\" text-anchor=\"end\">{} UTC</text>",
        rate(top),
        r.start().strftime(fmt),
        r.end.strftime(fmt),
        y = H - BOTTOM,
        lx = LEFT - 4.0,
    );
}

/// Each deploy in the range: a line and a flag, hover text in `<title>`.
fn markers(s: &mut String, r: Range, deploys: &[DeployMarker]) {
    let span = r.end.duration_since(r.start()).as_secs_f64();
    for d in deploys {
        let since = d.at.duration_since(r.start()).as_secs_f64();
        if since < 0.0 || d.at > r.end || span <= 0.0 {
            continue;
        }
        let x = LEFT + (W - LEFT) * since / span;
        let title = format!(
            "deploy {} at {} — owner: {} — rollback: {}",
            d.version,
            super::utc(d.at),
            d.owner.as_deref().unwrap_or("(none recorded)"),
            d.rollback.as_deref().unwrap_or("(none recorded)")
        );
        let _ = write!(
            s,
            "<g class=\"deploy-marker\" tabindex=\"0\"><title>{}</title>\
             <line x1=\"{x:.1}\" y1=\"0\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\
             <rect x=\"{:.1}\" y=\"0\" width=\"8\" height=\"8\"/></g>",
            escape(&title),
            H - BOTTOM,
            x - 4.0,
        );
    }
}

/// The bucket's start time.
fn bucket_label(r: Range, i: usize) -> String {
    let t = r
        .start()
        .checked_add(r.step * i32::try_from(i).unwrap_or(0))
        .unwrap_or(r.end);
    t.strftime("%H:%M UTC").to_string()
}

/// A rate for people: `12`, `3.5`, `0.25`.
fn rate(x: f64) -> String {
    crate::output::ms(x)
}

/// A round scale top at or above `max` (1, 2, 5 × 10^n).
fn nice(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(max.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * p >= max {
            return m * p;
        }
    }
    10.0 * p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deploy_in_range_is_drawn_with_its_hover_text() {
        let end: Timestamp = "2026-12-06T12:00:00Z".parse().expect("ts");
        let r = Range {
            end,
            step: SignedDuration::from_secs(60),
            n: 60,
        };
        let d = DeployMarker {
            at: "2026-12-06T11:30:00Z".parse().expect("ts"),
            version: "v42".into(),
            owner: Some("web <team>".into()),
            rollback: Some("deploy v41".into()),
            note: None,
        };
        let old = DeployMarker {
            at: "2026-12-06T10:00:00Z".parse().expect("ts"),
            version: "v1".into(),
            ..d.clone()
        };
        let svg = throughput(&vec![StatCounts::default(); 60], r, &[d, old], "t");
        assert!(svg.contains("deploy v42 at 2026-12-06 11:30:00 UTC — owner: web &lt;team&gt; — rollback: deploy v41"), "{svg}");
        assert!(!svg.contains("v1 at"), "{svg}");
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(3.0), 5.0);
        assert_eq!(nice(120.0), 200.0);
    }
}
