//! A measured result as a text template with numbers in its holes, so that the same cell of
//! several runs can be reduced to the median of each number (`--runs N`).

use std::time::Duration;

use crate::stats::{mib, ms, rate, thousands};

/// One number of a result, with how it is printed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// Per second, printed whole with separators.
    Rate(f64),
    /// Printed in ms or s.
    Time(Duration),
    /// KiB, printed in MiB.
    Kib(u64),
    Count(u64),
    /// A share (1.0 = all), printed as a whole percentage.
    Percent(f64),
}

impl Num {
    fn text(self) -> String {
        match self {
            Num::Rate(r) => rate(r),
            Num::Time(d) => ms(d),
            Num::Kib(k) => mib(k),
            Num::Count(n) => thousands(n),
            Num::Percent(p) => format!("{:.0} %", p * 100.0),
        }
    }

    fn value(self) -> f64 {
        match self {
            Num::Rate(r) | Num::Percent(r) => r,
            Num::Time(d) => d.as_secs_f64(),
            Num::Kib(k) | Num::Count(k) => k as f64,
        }
    }

    /// The same kind of number with value `v` (as [`Num::value`] gives it).
    fn with(self, v: f64) -> Num {
        match self {
            Num::Rate(_) => Num::Rate(v),
            Num::Time(_) => Num::Time(Duration::from_secs_f64(v.max(0.0))),
            Num::Kib(_) => Num::Kib(v.round().max(0.0) as u64),
            Num::Count(_) => Num::Count(v.round().max(0.0) as u64),
            Num::Percent(_) => Num::Percent(v),
        }
    }
}

/// A result: `template` with each `{}` replaced by the next number.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    template: String,
    nums: Vec<Num>,
}

impl Value {
    pub fn new(template: impl Into<String>, nums: impl Into<Vec<Num>>) -> Value {
        Value {
            template: template.into(),
            nums: nums.into(),
        }
    }

    pub fn text(&self) -> String {
        let mut out = String::with_capacity(self.template.len() + 8 * self.nums.len());
        let mut nums = self.nums.iter();
        let mut parts = self.template.split("{}");
        out.push_str(parts.next().unwrap_or(""));
        for part in parts {
            // More holes than numbers is a bench bug: show it, do not panic.
            out.push_str(&nums.next().map_or_else(|| "?".into(), |n| n.text()));
            out.push_str(part);
        }
        out
    }

    /// The median of each number over `values`; None when they are not the same template
    /// with the same kinds of numbers (then there is nothing to take the median of).
    pub fn median(values: &[&Value]) -> Option<Value> {
        let first = values.first()?;
        let same_shape = values.iter().all(|v| {
            v.template == first.template
                && v.nums.len() == first.nums.len()
                && v.nums
                    .iter()
                    .zip(&first.nums)
                    .all(|(a, b)| std::mem::discriminant(a) == std::mem::discriminant(b))
        });
        if !same_shape {
            return None;
        }
        let nums = (0..first.nums.len())
            .map(|i| {
                let mut xs: Vec<f64> = values.iter().map(|v| v.nums[i].value()).collect();
                first.nums[i].with(median(&mut xs))
            })
            .collect::<Vec<_>>();
        Some(Value::new(first.template.clone(), nums))
    }
}

/// The median of `xs` (the mean of the middle two for an even count; 0 when empty).
pub fn median(xs: &mut [f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_unstable_by(f64::total_cmp);
    let mid = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[mid]
    } else {
        (xs[mid - 1] + xs[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latency(p50_ms: u64, p99_ms: u64) -> Value {
        Value::new(
            "p50 {}, p99 {}",
            [
                Num::Time(Duration::from_millis(p50_ms)),
                Num::Time(Duration::from_millis(p99_ms)),
            ],
        )
    }

    #[test]
    fn fills_the_holes_in_order() {
        let v = Value::new(
            "{}/s; {} of {}",
            [Num::Rate(1234.4), Num::Count(5), Num::Kib(2048)],
        );
        assert_eq!(v.text(), "1,234/s; 5 of 2.0 MiB");
        assert_eq!(
            Value::new("{} of Any", [Num::Percent(0.476)]).text(),
            "48 % of Any"
        );
        assert_eq!(Value::new("{} and {}", [Num::Count(1)]).text(), "1 and ?");
    }

    #[test]
    fn median_is_taken_number_by_number() {
        let runs = [latency(3, 900), latency(5, 20), latency(4, 40)];
        let refs: Vec<&Value> = runs.iter().collect();
        assert_eq!(Value::median(&refs), Some(latency(4, 40)));
        let even = [latency(2, 10), latency(4, 30)];
        let refs: Vec<&Value> = even.iter().collect();
        assert_eq!(Value::median(&refs), Some(latency(3, 20)));
    }

    #[test]
    fn different_shapes_have_no_median() {
        let a = latency(1, 2);
        let b = Value::new("p50 {}, p99 {}", [Num::Count(1), Num::Count(2)]);
        let c = Value::new("p50 {}", [Num::Time(Duration::ZERO)]);
        assert_eq!(Value::median(&[&a, &b]), None);
        assert_eq!(Value::median(&[&a, &c]), None);
        assert_eq!(Value::median(&[]), None);
    }
}
