//! A strict reader of the Prometheus text exposition format (0.0.4), so the tests check that
//! `/metrics` is what a Prometheus server accepts, and the series it holds.

use std::collections::BTreeMap;

/// Samples by series: the metric name and its labels, sorted (`name{a="1",b="2"}`).
pub type Samples = BTreeMap<String, f64>;

/// Parses the Prometheus text exposition format (0.0.4) strictly: every line a comment, a
/// `# HELP`/`# TYPE` line or a sample; one TYPE per family, before its samples; names and
/// label names valid; label values quoted with only `\\`, `\"`, `\n` escapes; no series twice;
/// histogram buckets cumulative, ending in `+Inf` equal to `_count`. Panics naming the line.
pub fn parse_prometheus(text: &str) -> Samples {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Samples::new();
    for (n, line) in text.lines().enumerate() {
        let at = || format!("line {}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start().splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("TYPE"), Some(name), Some(kind)) => {
                    assert!(valid_name(name), "bad metric name, {}", at());
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                        "unknown type, {}",
                        at()
                    );
                    assert!(
                        types.insert(name.to_string(), kind.to_string()).is_none(),
                        "TYPE twice, {}",
                        at()
                    );
                    assert!(
                        !samples.keys().any(|k| family_of(k, &types) == Some(name)),
                        "TYPE after its samples, {}",
                        at()
                    );
                }
                (Some("HELP"), Some(name), _) => {
                    assert!(valid_name(name), "bad metric name, {}", at())
                }
                _ => {} // a plain comment
            }
            continue;
        }
        let (series, value) = parse_sample(line).unwrap_or_else(|why| panic!("{why}, {}", at()));
        assert!(
            samples.insert(series.clone(), value).is_none(),
            "series twice, {}",
            at()
        );
        assert!(
            family_of(&series, &types).is_some(),
            "sample without a TYPE, {}",
            at()
        );
    }
    check_histograms(&samples, &types);
    samples
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `name{labels} value [timestamp]` as (`name{sorted labels}`, value).
fn parse_sample(line: &str) -> Result<(String, f64), String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if !valid_name(name) {
        return Err("bad metric name".into());
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        loop {
            let (start, c) = chars.next().ok_or("unterminated labels")?;
            if c == '}' {
                rest = &inner[start + 1..];
                break;
            }
            if c == ',' && !labels.is_empty() {
                continue;
            }
            let eq = inner[start..].find('=').ok_or("label without =")? + start;
            let label = &inner[start..eq];
            if !valid_name(label) || label.contains(':') {
                return Err(format!("bad label name {label:?}"));
            }
            while chars.peek().is_some_and(|(i, _)| *i <= eq) {
                chars.next();
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err("label value not quoted".into());
            }
            let mut value = String::new();
            loop {
                match chars.next().ok_or("unterminated label value")?.1 {
                    '"' => break,
                    '\\' => match chars.next().ok_or("dangling escape")?.1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        other => return Err(format!("bad escape \\{other}")),
                    },
                    '\n' => return Err("newline in label value".into()),
                    other => value.push(other),
                }
            }
            labels.push(format!("{label}={value:?}"));
        }
    }
    let mut words = rest
        .strip_prefix(' ')
        .ok_or("no space before value")?
        .split(' ');
    let value = match words.next().ok_or("no value")? {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().map_err(|e| format!("bad value {v:?}: {e}"))?,
    };
    if let Some(ts) = words.next() {
        ts.parse::<i64>()
            .map_err(|e| format!("bad timestamp: {e}"))?;
    }
    if words.next().is_some() {
        return Err("text after the timestamp".into());
    }
    let mut sorted = labels.clone();
    sorted.sort();
    if sorted
        .windows(2)
        .any(|w| label_name(&w[0]) == label_name(&w[1]))
    {
        return Err("label twice".into());
    }
    Ok((format!("{name}{{{}}}", sorted.join(",")), value))
}

fn label_name(label: &str) -> &str {
    label.split('=').next().unwrap_or_default()
}

/// The declared family a series belongs to (histogram and summary series carry suffixes).
fn family_of<'a>(series: &str, types: &'a BTreeMap<String, String>) -> Option<&'a str> {
    let name = &series[..series.find('{').unwrap_or(series.len())];
    types.iter().find_map(|(family, kind)| {
        let suffixes: &[&str] = match kind.as_str() {
            "histogram" => &["_bucket", "_sum", "_count"],
            "summary" => &["", "_sum", "_count"],
            _ => &[""],
        };
        suffixes
            .iter()
            .any(|s| name.strip_suffix(s) == Some(family.as_str()))
            .then_some(family.as_str())
    })
}

/// Each histogram series: buckets cumulative in `le` order, the last `+Inf`, equal to `_count`.
fn check_histograms(samples: &Samples, types: &BTreeMap<String, String>) {
    for (family, _) in types.iter().filter(|(_, kind)| *kind == "histogram") {
        let prefix = format!("{family}_bucket{{");
        let mut by_series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for (series, value) in samples.range(prefix.clone()..) {
            let Some(labels) = series.strip_prefix(&prefix) else {
                break;
            };
            let labels = labels.trim_end_matches('}');
            let (le, others): (Vec<&str>, Vec<&str>) =
                labels.split(',').partition(|l| l.starts_with("le="));
            let le = le
                .first()
                .map(|l| l.trim_start_matches("le=").trim_matches('"'));
            let le = match le {
                Some("+Inf") => f64::INFINITY,
                Some(v) => v
                    .parse()
                    .unwrap_or_else(|e| panic!("{series}: le {v}: {e}")),
                None => panic!("{series}: a bucket without le"),
            };
            by_series
                .entry(others.join(","))
                .or_default()
                .push((le, *value));
        }
        for (labels, mut buckets) in by_series {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert!(
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "{family}{{{labels}}}: buckets not cumulative: {buckets:?}"
            );
            let last = buckets.last().copied().unwrap_or((0.0, 0.0));
            assert_eq!(
                last.0,
                f64::INFINITY,
                "{family}{{{labels}}}: no +Inf bucket"
            );
            let count = samples.get(&format!("{family}_count{{{labels}}}"));
            assert_eq!(
                count,
                Some(&last.1),
                "{family}{{{labels}}}: _count is not the +Inf bucket"
            );
        }
    }
}

/// The value of a series, 0 when absent (a counter never incremented).
pub fn value(samples: &Samples, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

/// The sum of every series of metric `name` whose labels include all of `having`.
pub fn sum(samples: &Samples, name: &str, having: &[&str]) -> f64 {
    samples
        .iter()
        .filter(|(series, _)| {
            series
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{'))
                && having.iter().all(|label| series.contains(label))
        })
        .map(|(_, v)| v)
        .sum()
}

#[test]
fn the_reader_refuses_what_prometheus_refuses() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n\n\
                # TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.5\nh_count 2\n";
    let samples = parse_prometheus(good);
    assert_eq!(value(&samples, r#"a_total{x="1"}"#), 3.0);
    assert_eq!(value(&samples, "h_count{}"), 2.0);
    for bad in [
        "a 1\n",                                                                          // no TYPE
        "# TYPE a gauge\na{x=1} 1\n",            // unquoted label value
        "# TYPE a gauge\na{x=\"1\"} one\n",      // not a number
        "# TYPE a gauge\na 1\na 2\n",            // a series twice
        "# TYPE a gauge\n# TYPE a gauge\na 1\n", // TYPE twice
        "# TYPE a gauge\na{x=\"\\q\"} 1\n",      // bad escape
        "# TYPE 1a gauge\n",                     // bad name
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_count 2\n", // no +Inf bucket
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n", // not cumulative
    ] {
        let refused = std::panic::catch_unwind(|| parse_prometheus(bad)).is_err();
        assert!(refused, "accepted {bad:?}");
    }
}
