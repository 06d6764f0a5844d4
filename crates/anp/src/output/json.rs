//! `--json` output: one value on stdout, numbers rounded by field name.

use super::*;

/// Prints one JSON value on stdout, numbers rounded by field name: `*_ms` and `*_s` (times) to
/// 3 decimals, `*_per_s` (rates) to whole numbers, `*_rate`/`*_rate_*` (fractions) to 3
/// decimals (a percentage with 1), `*_pct` to 1. Values inside an object or array under such a
/// field (per-queue ages, min/max pairs) are rounded like it; a job's `args` (user data) are
/// never touched. Field order is kept.
pub fn json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, Rounding::default());
    v.serialize(&mut ser)?;
    buf.push(b'\n');
    out(&String::from_utf8_lossy(&buf))
}

/// How [`Rounding`] writes the numbers of a value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Digits {
    /// As serialized.
    #[default]
    AsIs,
    /// Rounded to this many decimals (0: an integer).
    Round(i32),
    /// As serialized, and so everything inside (user data such as a job's args).
    Verbatim,
}

/// Fields whose values are user data, written as they are.
pub(super) const VERBATIM: [&str; 1] = ["args"];

/// Decimals kept for a JSON field, by its name's unit suffix (see [`json`]).
pub(super) fn decimals_for(key: &str) -> Option<i32> {
    if key.ends_with("_per_s") {
        Some(0)
    } else if key.ends_with("_ms") || key.ends_with("_s") {
        Some(3)
    } else if key.ends_with("_pct") || key.ends_with("_percent") {
        Some(1)
    } else if key.ends_with("_rate") || key.contains("_rate_") {
        Some(3)
    } else {
        None
    }
}

/// A pretty JSON formatter that rounds floats by the name of the field they are under.
#[derive(Default)]
pub(super) struct Rounding {
    pretty: serde_json::ser::PrettyFormatter<'static>,
    /// Inside an object key: its text is collected in `key`.
    in_key: bool,
    key: String,
    /// How the value being written is written.
    current: Digits,
    /// What each open object or array passes on to its values.
    open: Vec<Digits>,
}

impl Rounding {
    fn inherited(&self) -> Digits {
        self.open.last().copied().unwrap_or_default()
    }
}

impl serde_json::ser::Formatter for Rounding {
    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, value: f64) -> std::io::Result<()> {
        match self.current {
            Digits::Round(0) if value.abs() < 9.0e15 => {
                self.pretty.write_i64(w, value.round() as i64)
            }
            Digits::Round(d) => {
                let f = 10f64.powi(d);
                self.pretty.write_f64(w, (value * f).round() / f)
            }
            Digits::AsIs | Digits::Verbatim => self.pretty.write_f64(w, value),
        }
    }

    fn write_f32<W: ?Sized + Write>(&mut self, w: &mut W, value: f32) -> std::io::Result<()> {
        self.write_f64(w, f64::from(value))
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if self.in_key {
            self.key.push_str(fragment);
        }
        self.pretty.write_string_fragment(w, fragment)
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open.push(self.current);
        self.pretty.begin_array(w)
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open.pop();
        self.pretty.end_array(w)
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.current = self.inherited();
        self.pretty.begin_array_value(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.end_array_value(w)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open.push(self.current);
        self.pretty.begin_object(w)
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open.pop();
        self.pretty.end_object(w)
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.in_key = true;
        self.key.clear();
        self.pretty.begin_object_key(w, first)
    }

    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.in_key = false;
        self.pretty.end_object_key(w)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        let inherited = self.inherited();
        self.current = if inherited == Digits::Verbatim || VERBATIM.contains(&self.key.as_str()) {
            Digits::Verbatim
        } else {
            decimals_for(&self.key).map_or(inherited, Digits::Round)
        };
        self.pretty.begin_object_value(w)
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.end_object_value(w)
    }
}
