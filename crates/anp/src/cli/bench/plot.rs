//! `anp bench --plots DIR --from FILE…`: the scaling series of earlier `anp bench --json`
//! results, with the peers harness's JSON lines on the same axes, as SVG charts.
//!
//! A series is every result of one name (`alphanode <backend>`, or the `NAME=` given before a
//! file) whose options differ in one scaling dimension only (backlog depth, queues, worker
//! processes, args size, concurrency); a chart is one figure (B jobs/s, B peak RSS, A jobs/s,
//! C p99) against one dimension, written as `<dimension>-<figure>.svg`. Results of the same
//! options are combined by their median. A peer line (`peer`, `workload`, `per_s`, …, see the
//! peers README) is a point at its own `jobs` or `concurrency`, and at the standard workload's
//! value (1 queue, 1 worker process, `{"i": n}` args) on the other charts: the peers harness
//! has no such options. Axes are logarithmic where the values span two decades or more.
//!
//! Only the SVG backend of `plotters` is built (no system fonts: the SVG names a sans-serif
//! font and the viewer draws the text).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use serde_json::Value;

/// The args of a standard-workload job, `{"i":99999}`: where peers stand on the args chart.
const STANDARD_ARGS_BYTES: f64 = 11.0;

/// A scaling dimension: file stem, axis label, chart title, the x value of alphanode's `runs`,
/// the option that was set (what results are grouped by) and the peers' x value.
struct Dimension {
    stem: &'static str,
    axis: &'static str,
    title: &'static str,
    ours: fn(&Value) -> Option<f64>,
    option: fn(&Value) -> Option<f64>,
    peer: fn(&Value) -> Option<f64>,
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

const DIMENSIONS: [Dimension; 5] = [
    Dimension {
        stem: "backlog",
        axis: "jobs enqueued in A and processed in B (backlog depth)",
        title: "backlog depth",
        ours: |r| num(r, "jobs"),
        option: |r| num(r, "jobs"),
        peer: |p| num(p, "jobs"),
    },
    Dimension {
        stem: "queues",
        axis: "queues served by one worker",
        title: "queues",
        ours: |r| num(r, "queues"),
        option: |r| num(r, "queues"),
        peer: |_| Some(1.0),
    },
    Dimension {
        stem: "workers",
        axis: "worker processes",
        title: "worker processes",
        ours: |r| num(r, "workers"),
        option: |r| num(r, "workers"),
        peer: |_| Some(1.0),
    },
    Dimension {
        stem: "payload",
        axis: "args per job (bytes of JSON)",
        title: "args size",
        // The bytes actually sent (`{"i": n}` without --payload-bytes).
        ours: |r| {
            r.get("args_bytes")
                .and_then(|b| num(b, "max"))
                .or_else(|| num(r, "payload_bytes"))
        },
        option: |r| num(r, "payload_bytes"),
        peer: |_| Some(STANDARD_ARGS_BYTES),
    },
    Dimension {
        stem: "concurrency",
        axis: "worker concurrency (jobs at once per process)",
        title: "concurrency",
        ours: |r| num(r, "concurrency"),
        option: |r| num(r, "concurrency"),
        peer: |p| num(p, "concurrency"),
    },
];

/// A figure: (file stem, axis label, key in alphanode's JSON, peers' workload and key).
struct Figure {
    stem: &'static str,
    axis: &'static str,
    title: &'static str,
    ours: &'static str,
    peer: (&'static str, &'static str),
}

const FIGURES: [Figure; 4] = [
    Figure {
        stem: "b-process",
        axis: "B: jobs processed per second",
        title: "B. process",
        ours: "process_per_s",
        peer: ("B", "per_s"),
    },
    Figure {
        stem: "b-rss",
        axis: "B: worker peak RSS (MiB)",
        title: "B. worker peak RSS",
        ours: "peak_rss_mib",
        peer: ("B", "peak_rss_mib"),
    },
    Figure {
        stem: "a-enqueue",
        axis: "A: jobs enqueued per second (bulk)",
        title: "A. bulk enqueue",
        ours: "enqueue_per_s",
        peer: ("A", "per_s"),
    },
    Figure {
        stem: "c-p99",
        axis: "C: latency p99 (ms)",
        title: "C. latency p99",
        ours: "latency_p99_ms",
        peer: ("C", "p99_ms"),
    },
];

/// One alphanode result (a `--json` object) under its series name.
struct Ours {
    name: String,
    result: Value,
}

/// What the files hold.
#[derive(Default)]
struct Inputs {
    ours: Vec<Ours>,
    peers: Vec<Value>,
}

/// Reads `[NAME=]PATH` arguments: a whole-file JSON object, or JSON lines (alphanode results
/// and peers lines mixed).
fn read_inputs(from: &[String]) -> anyhow::Result<Inputs> {
    let mut inputs = Inputs::default();
    for arg in from {
        let (name, path) = match arg.split_once('=') {
            Some((name, path)) if !name.contains('/') && !name.is_empty() => {
                (Some(name.to_owned()), path)
            }
            _ => (None, arg.as_str()),
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("bench --plots: cannot read {path}: expected a JSON file written by anp bench --json or the peers harness"))?;
        let values: Vec<Value> = match serde_json::from_str::<Value>(&text) {
            Ok(v) => vec![v],
            Err(_) => text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .enumerate()
                .map(|(i, l)| {
                    serde_json::from_str(l).with_context(|| {
                        format!(
                            "bench --plots: {path} line {}: not JSON: expected one JSON object per line",
                            i + 1
                        )
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        };
        for v in values {
            if v.get("peer").is_some() {
                inputs.peers.push(v);
            } else if let Some(runs) = v.get("runs") {
                let backend = runs
                    .get("backend")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned();
                inputs.ours.push(Ours {
                    name: name
                        .clone()
                        .unwrap_or_else(|| format!("alphanode {backend}")),
                    result: v,
                });
            } else {
                anyhow::bail!(
                    "bench --plots: {path}: an object that is neither an anp bench --json result \
                     (no \"runs\") nor a peers line (no \"peer\")"
                );
            }
        }
    }
    Ok(inputs)
}

/// A line or a set of points on one chart.
struct Series {
    label: String,
    peer: bool,
    points: Vec<(f64, f64)>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The options of a result other than dimension `d`, as a key and a legend text (results
/// with equal keys and names form one series).
fn others(runs: &Value, d: &Dimension) -> String {
    DIMENSIONS
        .iter()
        .filter(|o| o.stem != d.stem)
        .map(|o| format!("{} {}", o.stem, (o.option)(runs).map_or("-".into(), label)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Alphanode's series on dimension `d` for figure `f`: only those with two or more values of
/// `d`.
fn our_series(inputs: &Inputs, d: &Dimension, f: &Figure) -> Vec<Series> {
    // (name, other options) -> x -> values
    let mut groups: BTreeMap<(String, String), BTreeMap<u64, Vec<f64>>> = BTreeMap::new();
    for o in &inputs.ours {
        let Some(runs) = o.result.get("runs") else {
            continue;
        };
        let (Some(x), Some(y)) = ((d.ours)(runs), num(&o.result, f.ours)) else {
            continue;
        };
        groups
            .entry((o.name.clone(), others(runs, d)))
            .or_default()
            .entry(x.to_bits())
            .or_default()
            .push(y);
    }
    // Only results with two or more values of `d` make a line.
    groups.retain(|_, by_x| by_x.len() > 1);
    let many_per_name = |name: &str| groups.keys().filter(|(n, _)| n == name).count() > 1;
    let mut out = Vec::new();
    for ((name, rest), by_x) in &groups {
        let mut points: Vec<(f64, f64)> = by_x
            .iter()
            .map(|(x, ys)| (f64::from_bits(*x), median(ys.clone())))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let label = if many_per_name(name) {
            format!("{name} ({rest})")
        } else {
            name.clone()
        };
        out.push(Series {
            label,
            peer: false,
            points,
        });
    }
    out
}

/// The peers' points for figure `f` on dimension `d`, one series per peer and backend.
fn peer_series(inputs: &Inputs, d: &Dimension, f: &Figure) -> Vec<Series> {
    let mut groups: BTreeMap<String, BTreeMap<u64, Vec<f64>>> = BTreeMap::new();
    for p in &inputs.peers {
        if p.get("workload").and_then(Value::as_str) != Some(f.peer.0) {
            continue;
        }
        let (Some(x), Some(y)) = ((d.peer)(p), num(p, f.peer.1)) else {
            continue;
        };
        let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("");
        let label = format!("{} {} ({})", s("peer"), s("version"), s("backend"));
        groups
            .entry(label)
            .or_default()
            .entry(x.to_bits())
            .or_default()
            .push(y);
    }
    groups
        .into_iter()
        .map(|(label, by_x)| {
            let mut points: Vec<(f64, f64)> = by_x
                .into_iter()
                .map(|(x, ys)| (f64::from_bits(x), median(ys)))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                label,
                peer: true,
                points,
            }
        })
        .collect()
}

/// Writes every chart that has a series; returns the files written.
pub(super) fn write_plots(dir: &Path, from: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let inputs = read_inputs(from)?;
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "bench --plots: cannot create {}: expected a writable directory",
            dir.display()
        )
    })?;
    let mut written = Vec::new();
    for d in &DIMENSIONS {
        for f in &FIGURES {
            let mut series = our_series(&inputs, d, f);
            if series.is_empty() {
                continue;
            }
            series.extend(peer_series(&inputs, d, f));
            let path = dir.join(format!("{}-{}.svg", d.stem, f.stem));
            draw(&path, d, f, &series)
                .map_err(|e| anyhow::anyhow!("bench --plots: drawing {}: {e}", path.display()))?;
            written.push(path);
        }
    }
    if written.is_empty() {
        anyhow::bail!(
            "bench --plots: no scaling series in the files given: expected two or more anp bench \
             --json results of one store that differ in one of --jobs, --queues, --workers, \
             --payload-bytes, --concurrency"
        );
    }
    Ok(written)
}

/// Whether values from `lo` to `hi` span two decades or more (drawn on a log axis).
fn spans_decades(lo: f64, hi: f64) -> bool {
    lo > 0.0 && hi / lo >= 100.0
}

/// The axis range around `lo..hi`: a margin on a linear axis (from 0 when that is near), a
/// factor on a log axis.
fn padded(lo: f64, hi: f64, log: bool) -> (f64, f64) {
    if log {
        (lo / 1.5, hi * 1.5)
    } else {
        let span = (hi - lo).max(hi.abs() * 0.1).max(1e-9);
        let bottom = if lo - span * 0.1 < 0.0 || lo < span {
            0.0
        } else {
            lo - span * 0.1
        };
        (bottom, hi + span * 0.15)
    }
}

/// [`padded`] for the y axis, with room above the values for the legend (upper right).
fn padded_y(lo: f64, hi: f64, log: bool) -> (f64, f64) {
    let (bottom, top) = padded(lo, hi, log);
    if log {
        (bottom, top * (top / bottom).powf(0.4))
    } else {
        (bottom, top + (top - bottom) * 0.4)
    }
}

/// `12345.6` → `12,346` (as the report's table); small values keep decimals.
fn label(v: f64) -> String {
    if v.abs() >= 1000.0 {
        super::report::thousands(v)
    } else if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

const OURS: [RGBColor; 4] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
];
const PEERS: [RGBColor; 6] = [
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

fn draw(path: &Path, d: &Dimension, f: &Figure, series: &[Series]) -> anyhow::Result<()> {
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (xlo, xhi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    let (ylo, yhi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
        (a.min(y), b.max(y))
    });
    let (xlog, ylog) = (spans_decades(xlo, xhi), spans_decades(ylo, yhi));
    let (x0, x1) = padded(xlo, xhi, xlog);
    let (y0, y1) = padded_y(ylo, yhi, ylog);
    let title = format!("{} vs {}", f.title, d.title);
    let xaxis = if xlog {
        format!("{} (log scale)", d.axis)
    } else {
        d.axis.to_owned()
    };
    let yaxis = if ylog {
        format!("{} (log scale)", f.axis)
    } else {
        f.axis.to_owned()
    };
    let texts = Texts {
        title: &title,
        xaxis: &xaxis,
        yaxis: &yaxis,
    };
    match (xlog, ylog) {
        (false, false) => chart(path, &texts, x0..x1, y0..y1, series),
        (true, false) => chart(path, &texts, (x0..x1).log_scale(), y0..y1, series),
        (false, true) => chart(path, &texts, x0..x1, (y0..y1).log_scale(), series),
        (true, true) => chart(
            path,
            &texts,
            (x0..x1).log_scale(),
            (y0..y1).log_scale(),
            series,
        ),
    }
}

struct Texts<'a> {
    title: &'a str,
    xaxis: &'a str,
    yaxis: &'a str,
}

fn chart<X, Y>(path: &Path, t: &Texts<'_>, x: X, y: Y, series: &[Series]) -> anyhow::Result<()>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let root = SVGBackend::new(path, (860, 520)).into_drawing_area();
    let e = |e: DrawingAreaErrorKind<_>| anyhow::anyhow!("{e}");
    root.fill(&WHITE).map_err(e)?;
    let mut c = ChartBuilder::on(&root)
        .caption(t.title, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(84)
        .build_cartesian_2d(x, y)
        .map_err(e)?;
    c.configure_mesh()
        .x_desc(t.xaxis)
        .y_desc(t.yaxis)
        .x_label_formatter(&|v| label(*v))
        .y_label_formatter(&|v| label(*v))
        .axis_desc_style(("sans-serif", 15))
        .label_style(("sans-serif", 13))
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .draw()
        .map_err(e)?;
    let (mut ours, mut peers) = (0usize, 0usize);
    for s in series {
        let color = if s.peer {
            peers += 1;
            PEERS[(peers - 1) % PEERS.len()]
        } else {
            ours += 1;
            OURS[(ours - 1) % OURS.len()]
        };
        let pts = s.points.clone();
        if s.peer {
            if pts.len() > 1 {
                c.draw_series(LineSeries::new(pts.clone(), color.stroke_width(1)))
                    .map_err(e)?;
            }
            c.draw_series(
                pts.iter()
                    .map(|&p| TriangleMarker::new(p, 7, color.filled())),
            )
            .map_err(e)?
            .label(format!("{} (peer)", s.label))
            .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 6, color.filled()));
        } else {
            c.draw_series(LineSeries::new(pts.clone(), color.stroke_width(3)))
                .map_err(e)?
                .label(s.label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
                });
            c.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(e)?;
            c.draw_series(
                pts.iter().map(|&(px, py)| {
                    Text::new(label(py), (px, py), ("sans-serif", 11).into_font())
                }),
            )
            .map_err(e)?;
        }
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(0x99, 0x99, 0x99))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_log_axes() {
        assert_eq!(label(1_234_567.4), "1,234,567");
        assert_eq!(label(100.0), "100");
        assert_eq!(label(14.84), "14.8");
        assert_eq!(label(3.456), "3.46");
        assert!(spans_decades(1000.0, 1_000_000.0));
        assert!(!spans_decades(1.0, 10.0));
        assert!(!spans_decades(0.0, 10.0));
        // A linear axis starts at 0 when the values are not far from it, else just below them.
        assert_eq!(padded(5.0, 20.0, false).0, 0.0);
        assert!((padded(100.0, 110.0, false).0 - 98.9).abs() < 1e-9);
    }
}
