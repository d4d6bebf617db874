//! Medians and percentiles of measurements.

/// The median of `values` (the lower middle for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    percentile(values, 50.0)
}

/// The nearest-rank percentile `p` (0 to 100) of `values`; 0 for none.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )] // a rank within the slice
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::float_cmp)] // a percentile is one of the values, exactly
    fn nearest_rank() {
        let check = |values: &[f64], p: f64, expect: f64| {
            assert_eq!(percentile(values, p), expect, "{values:?} p{p}");
        };
        check(&[], 50.0, 0.0);
        check(&[3.0], 99.0, 3.0);
        check(&[3.0, 1.0, 2.0], 50.0, 2.0);
        check(&[4.0, 1.0, 3.0, 2.0], 50.0, 2.0);
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        check(&hundred, 99.0, 99.0);
        check(&hundred, 100.0, 100.0);
        check(&hundred, 0.0, 1.0);
    }
}
