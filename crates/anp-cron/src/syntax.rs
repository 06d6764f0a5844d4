//! Field-level validation and normalisation of cron text.
//!
//! This is not a cron parser: croner parses and matches. This pass checks
//! each field against its own range and grammar so that errors can name the
//! field, the bad value and what is allowed, and it rewrites the text into the
//! plain numeric form croner expects (names to numbers, `?` to `*`, macros
//! expanded, `+` in front of the day-of-week field where Vixie cron ANDs the
//! two day fields).
//!
//! Two forms copied from other systems are rewritten here too, so croner
//! never sees them: a list with a bare `*` in it (`*,1`, Vixie cron) becomes
//! the field's whole range, and a step on a single value (`5/15`, Quartz,
//! robfig/cron, Kubernetes) becomes a range to the field's end (`5-59/15`).
//! The class of the job and the day-field rule still read the text as
//! written, so `*,1` starts with `*` and `1,*` does not, as in Vixie cron.

use crate::error::{CronError, CronField};

/// The result of checking an expression.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    /// Six fields (seconds first) in the form croner parses.
    pub(crate) croner_text: String,
    /// Neither the minute nor the hour field starts with `*`.
    pub(crate) fixed_time: bool,
    /// The expression was written with a seconds field.
    pub(crate) has_seconds: bool,
}

/// The macros, with what they expand to.
const MACROS: &[(&str, &str)] = &[
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

const FIELD_COUNT_EXPECTED: &str =
    "5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds field, \
     or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly";

const MONTH_NAMES: &[&str] = &[
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAY_NAMES: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// What one field accepts.
#[derive(Debug, Clone, Copy)]
struct Spec {
    field: CronField,
    min: u32,
    max: u32,
    /// Names for values, the first naming `name_base`.
    names: &'static [&'static str],
    name_base: u32,
}

impl Spec {
    const fn of(field: CronField) -> Spec {
        let (min, max, names, name_base): (u32, u32, &'static [&'static str], u32) = match field {
            CronField::Second | CronField::Minute => (0, 59, &[], 0),
            CronField::Hour => (0, 23, &[], 0),
            CronField::DayOfMonth => (1, 31, &[], 0),
            CronField::Month => (1, 12, MONTH_NAMES, 1),
            CronField::DayOfWeek => (0, 7, DAY_NAMES, 0),
        };
        Spec {
            field,
            min,
            max,
            names,
            name_base,
        }
    }

    /// The allowed values, e.g. `0-59` or `1-12 or JAN-DEC`.
    fn values(&self) -> String {
        match self.field {
            CronField::Month => "1-12 or JAN-DEC".to_owned(),
            CronField::DayOfWeek => "0-7 or SUN-SAT (0 and 7 are Sunday)".to_owned(),
            _ => format!("{}-{}", self.min, self.max),
        }
    }

    /// Where a step on a single value (`A/N`) ends: the field's maximum, as in
    /// Quartz, robfig/cron and Kubernetes. Day-of-week ends on Saturday (6), as
    /// in robfig/cron, so `1/2` is Monday, Wednesday, Friday and `*/N` is
    /// unchanged; `7/N` (Sunday written as 7) is Sunday alone.
    fn single_step_end(&self, start: u32) -> u32 {
        match self.field {
            CronField::DayOfWeek => start.max(6),
            _ => self.max,
        }
    }

    /// The whole grammar of the field, for errors that are not about one value.
    fn grammar(&self) -> String {
        let extra = match self.field {
            CronField::DayOfMonth => {
                ", L (last day), LW (last weekday), nW (weekday nearest day n), ?"
            }
            CronField::DayOfWeek => {
                ", nL (last weekday n of the month), n#k (k-th weekday n, k in 1-5), ?"
            }
            _ => "",
        };
        format!(
            "a value in {}, *, a range A-B, a step */N, A/N or A-B/N{extra}, or a comma list of these",
            self.values()
        )
    }
}

/// A problem with one field: what is wrong, and what is expected.
type Problem = (String, String);

/// Checks `expr` and rewrites it for croner.
pub(crate) fn check(expr: &str) -> Result<Checked, CronError> {
    let whole = |problem: String, expected: &str| CronError::Expression {
        expr: expr.to_owned(),
        problem,
        expected: expected.to_owned(),
    };

    let tokens: Vec<&str> = expr.split_whitespace().collect();
    let expanded: Vec<&str>;
    let fields: &[&str] = match tokens.as_slice() {
        [] => return Err(whole("empty expression".to_owned(), FIELD_COUNT_EXPECTED)),
        [first, ..] if first.starts_with('@') => {
            if tokens.len() > 1 {
                return Err(whole(
                    format!("macro {first:?} followed by more text"),
                    "the macro alone, e.g. @daily",
                ));
            }
            if first.eq_ignore_ascii_case("@reboot") {
                return Err(whole(
                    "@reboot is not supported (a schedule has no boot to run at)".to_owned(),
                    "one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, \
                     or a 5- or 6-field expression",
                ));
            }
            let Some((_, expansion)) = MACROS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(first))
            else {
                return Err(whole(
                    format!("unknown macro {first:?}"),
                    "one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly",
                ));
            };
            expanded = expansion.split(' ').collect();
            &expanded
        }
        _ if tokens.len() == 5 || tokens.len() == 6 => &tokens,
        _ => {
            return Err(whole(
                format!("got {} fields", tokens.len()),
                FIELD_COUNT_EXPECTED,
            ))
        }
    };

    let has_seconds = fields.len() == 6;
    let kinds: &[CronField] = if has_seconds {
        &[
            CronField::Second,
            CronField::Minute,
            CronField::Hour,
            CronField::DayOfMonth,
            CronField::Month,
            CronField::DayOfWeek,
        ]
    } else {
        &[
            CronField::Minute,
            CronField::Hour,
            CronField::DayOfMonth,
            CronField::Month,
            CronField::DayOfWeek,
        ]
    };

    let mut normalized = Vec::with_capacity(6);
    if !has_seconds {
        normalized.push("0".to_owned());
    }
    for (&kind, &text) in kinds.iter().zip(fields) {
        let spec = Spec::of(kind);
        let field = check_field(&spec, text).map_err(|(problem, expected)| CronError::Field {
            expr: expr.to_owned(),
            field: kind,
            problem,
            expected,
        })?;
        normalized.push(field);
    }

    // The Debian (Vixie) classification reads the text: a field is a
    // wildcard when its first character is `*` (`?` counts as `*` in the
    // day fields, the only place it is allowed).
    let offset = usize::from(has_seconds);
    let starts_wild = |i: usize| fields[i].starts_with('*') || fields[i].starts_with('?');
    let fixed_time = !starts_wild(offset) && !starts_wild(offset + 1);

    // Vixie: when either day field starts with `*` the two are ANDed; only
    // when both are restricted are they ORed. croner ORs unless a field is
    // exactly `*` or the day-of-week field carries its `+` (AND) prefix.
    if starts_wild(offset + 2) || starts_wild(offset + 4) {
        normalized[5].insert(0, '+');
    }

    Ok(Checked {
        croner_text: normalized.join(" "),
        fixed_time,
        has_seconds,
    })
}

/// Checks one field and returns it in croner's numeric form.
fn check_field(spec: &Spec, text: &str) -> Result<String, Problem> {
    let day_field = matches!(spec.field, CronField::DayOfMonth | CronField::DayOfWeek);
    if text == "?" && day_field {
        return Ok("*".to_owned());
    }
    if text.contains('?') {
        return Err((
            format!("{text:?} is not valid"),
            if day_field {
                "? alone, meaning any day".to_owned()
            } else {
                spec.grammar()
            },
        ));
    }
    if text == "*" {
        return Ok("*".to_owned());
    }
    let items: Vec<&str> = text.split(',').collect();
    if spec.field == CronField::DayOfMonth
        && items.iter().any(|i| i.eq_ignore_ascii_case("L"))
        && items.iter().any(|i| i.eq_ignore_ascii_case("LW"))
    {
        // croner keeps one "last day" flag per field, so it cannot hold both.
        return Err((
            format!("both L and LW in {text:?}"),
            "either L (last day) or LW (last weekday)".to_owned(),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    let mut whole_range = false;
    for item in &items {
        if item.is_empty() {
            return Err((
                format!("empty list element in {text:?}"),
                "values separated by single commas, e.g. 1,15".to_owned(),
            ));
        }
        if *item == "*" {
            whole_range = true;
        } else {
            out.push(check_item(spec, item)?);
        }
    }
    if whole_range {
        // Vixie cron: `*` in a list is the whole range, whatever else the
        // list holds. Written as a range, not `*`, because croner treats a
        // day field that is exactly `*` as "any day" and would AND the day
        // fields where Vixie ORs them (`1,*` does not start with `*`).
        return Ok(format!("{}-{}", spec.min, spec.max));
    }
    Ok(out.join(","))
}

/// Checks one element of a comma list. Names and letters are accepted in
/// any case; messages quote the text as written.
fn check_item(spec: &Spec, item: &str) -> Result<String, Problem> {
    match spec.field {
        CronField::DayOfMonth => {
            if item.eq_ignore_ascii_case("L") || item.eq_ignore_ascii_case("LW") {
                return Ok(item.to_ascii_uppercase());
            }
            if let Some(day) = item.strip_suffix(['W', 'w']) {
                let day = value(spec, item, day, false)?;
                return Ok(format!("{day}W"));
            }
        }
        CronField::DayOfWeek => {
            if item.eq_ignore_ascii_case("L") {
                return Err((
                    format!("{item:?} alone"),
                    "nL for the last weekday n of the month, e.g. 5L or FRIL for the last Friday"
                        .to_owned(),
                ));
            }
            if let Some((day, nth)) = item.split_once('#') {
                let day = value(spec, item, day, false)?;
                let Some(nth_value) = number(nth).filter(|n| (1..=5).contains(n)) else {
                    return Err((
                        format!("occurrence {nth:?} in {item:?} out of range"),
                        "1-5 after #, e.g. 5#3 for the third Friday".to_owned(),
                    ));
                };
                return Ok(format!("{day}#{nth_value}"));
            }
            if let Some(day) = item.strip_suffix(['L', 'l']) {
                let day = value(spec, item, day, false)?;
                return Ok(format!("{day}L"));
            }
        }
        _ => {}
    }

    let (base, step) = match item.split_once('/') {
        Some((base, step)) => (base, Some(step)),
        None => (item, None),
    };
    if step.is_some() && base.is_empty() {
        return Err((
            format!("no start before / in {item:?}"),
            "*/N, A/N or A-B/N, e.g. */15 or 5/15".to_owned(),
        ));
    }
    let step = match step {
        None => None,
        Some("") => {
            return Err((
                format!("no step after / in {item:?}"),
                format!("*/N, A/N or A-B/N with N in 1-{}", spec.max),
            ))
        }
        Some(step) => match number(step) {
            Some(n) if (1..=spec.max).contains(&n) => Some(n),
            Some(n) if n != u32::MAX => {
                return Err((format!("step {n} out of range"), format!("1-{}", spec.max)))
            }
            Some(_) => {
                return Err((
                    format!("step {step} out of range"),
                    format!("1-{}", spec.max),
                ))
            }
            None => {
                return Err((
                    format!("step {step:?} in {item:?} is not a number"),
                    format!("*/N, A/N or A-B/N with N in 1-{}", spec.max),
                ))
            }
        },
    };

    let base = if base == "*" {
        "*".to_owned()
    } else if let Some((start, end)) = base.split_once('-') {
        let start_value = value(spec, item, start, false)?;
        let end_value = value(spec, item, end, true)?;
        if start_value > end_value {
            return Err((
                format!("range {start}-{end} is reversed"),
                "the smaller value first, e.g. 2-5".to_owned(),
            ));
        }
        format!("{start_value}-{end_value}")
    } else {
        let single = value(spec, item, base, false)?;
        if step.is_some() {
            // `A/N` is `A-max/N`; croner only takes the range form.
            format!("{single}-{}", spec.single_step_end(single))
        } else {
            single.to_string()
        }
    };
    Ok(match step {
        Some(step) => format!("{base}/{step}"),
        None => base,
    })
}

/// Reads one value: a number in the field's range, or a name where the field
/// has names. `range_end` lets `SUN` close a range as 7 (`MON-SUN`).
fn value(spec: &Spec, item: &str, token: &str, range_end: bool) -> Result<u32, Problem> {
    if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
        return match number(token) {
            Some(n) if (spec.min..=spec.max).contains(&n) => Ok(n),
            Some(n) if n != u32::MAX => Err((format!("value {n} out of range"), spec.values())),
            _ => Err((format!("value {token} out of range"), spec.values())),
        };
    }
    if !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphabetic()) {
        if spec.names.is_empty() {
            return Err((format!("{token:?} is not a number"), spec.values()));
        }
        return match spec
            .names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(token))
        {
            Some(0) if range_end && spec.field == CronField::DayOfWeek => Ok(7),
            Some(index) => Ok(spec.name_base + index as u32),
            None => Err((format!("unknown name {token:?}"), spec.values())),
        };
    }
    Err((format!("{item:?} is not valid"), spec.grammar()))
}

/// Parses a short run of ASCII digits; `None` for anything else or for
/// numbers too long to be any field's value.
fn number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = text.trim_start_matches('0');
    if digits.len() > 4 {
        return Some(u32::MAX);
    }
    Some(digits.parse().unwrap_or(0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn text(expr: &str) -> String {
        check(expr).unwrap().croner_text
    }

    #[test]
    fn normalises_names_macros_and_question_marks() {
        assert_eq!(text("0 9 * jan-Mar mon-FRI"), "0 0 9 * 1-3 +1-5");
        assert_eq!(text("0 9 ? * SUN"), "0 0 9 * * +0");
        assert_eq!(text("0 0 * * MON-SUN"), "0 0 0 * * +1-7");
        assert_eq!(text("@midnight"), "0 0 0 * * +*");
        assert_eq!(text("@WEEKLY"), "0 0 0 * * +0");
        assert_eq!(text("@hourly"), "0 0 * * * +*");
        assert_eq!(text("5 0 0 L * *"), "5 0 0 L * +*");
        assert_eq!(text("0 0 15W,LW * *"), "0 0 0 15W,LW * +*");
        assert_eq!(text("0 0 * * FRIL,1#2"), "0 0 0 * * +5L,1#2");
    }

    #[test]
    fn day_fields_are_anded_when_either_starts_with_a_star() {
        assert_eq!(text("0 0 1,15 * MON"), "0 0 0 1,15 * 1");
        assert_eq!(text("0 0 */2 * MON"), "0 0 0 */2 * +1");
        assert_eq!(text("0 0 1,15 * */2"), "0 0 0 1,15 * +*/2");
        assert_eq!(text("0 0 L * 5"), "0 0 0 L * 5");
    }

    #[test]
    fn rewrites_star_in_a_list_and_single_value_steps() {
        // A list holding `*` is the whole range, written as a range so that
        // croner's "exactly `*`" rule never sees it; `+` still follows the
        // first character.
        assert_eq!(text("0 0 *,1 * 1"), "0 0 0 1-31 * +1");
        assert_eq!(text("0 0 1,* * 1"), "0 0 0 1-31 * 1");
        assert_eq!(text("0 0 1 * *,MON"), "0 0 0 1 * +0-7");
        assert_eq!(text("*,5 1,* * *,jan *"), "0 0-59 0-23 * 1-12 +*");
        // `A/N` is `A-max/N`; day-of-week stops at Saturday.
        assert_eq!(text("5/15 * * * *"), "0 5-59/15 * * * +*");
        assert_eq!(text("0 10/5 * * *"), "0 0 10-23/5 * * +*");
        assert_eq!(text("0 0 10/10 FEB/5 *"), "0 0 0 10-31/10 2-12/5 +*");
        assert_eq!(text("0 0 * * 1/2"), "0 0 0 * * +1-6/2");
        assert_eq!(text("0 0 * * mon/2,7/3"), "0 0 0 * * +1-6/2,7-7/3");
        assert_eq!(text("5/15 0 0 * * *"), "5-59/15 0 0 * * +*");
        assert_eq!(text("0,5/15 */20 * * *"), "0 0,5-59/15 */20 * * +*");
    }

    #[test]
    fn classifies_fixed_time_from_the_text() {
        let fixed = |e: &str| check(e).unwrap().fixed_time;
        assert!(fixed("30 2 * * *"));
        assert!(fixed("0,30 2 * * *"));
        assert!(fixed("30 1-2 * * *"));
        assert!(fixed("@daily"));
        assert!(fixed("@weekly"));
        assert!(fixed("* 30 2 * * *"));
        assert!(!fixed("*/15 * * * *"));
        assert!(!fixed("0 * * * *"));
        assert!(!fixed("* 2 * * *"));
        assert!(!fixed("0 */2 * * *"));
        assert!(!fixed("@hourly"));
        assert!(!fixed("0 * 2 * * *"));
    }

    #[test]
    fn number_handles_leading_zeros_and_long_runs() {
        assert_eq!(number("007"), Some(7));
        assert_eq!(number("0"), Some(0));
        assert_eq!(number("99999999999"), Some(u32::MAX));
        assert_eq!(number("1a"), None);
        assert_eq!(number(""), None);
    }
}
