//! Durations as written in the pipeline file: an integer and a unit (`500ms`, `30s`, `10m`, `1h`).

use std::time::Duration;

/// Parses `30s`, `10m`, `1h`, `500ms` or a combination such as `1h30m`.
///
/// Returns a short reason on failure, meant to follow "invalid duration: ".
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".to_owned());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "`{text}` must start with a number, as in `30s`, `10m` or `1h`"
            ));
        }
        let (number, after) = rest.split_at(digits);
        let value: u64 = number.parse().map_err(|_| format!("`{number}` is too large"))?;
        let unit_len = after.chars().take_while(char::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let piece = match unit {
            "ms" => Duration::from_millis(value),
            "s" => Duration::from_secs(value),
            "m" => Duration::from_secs(value.saturating_mul(60)),
            "h" => Duration::from_secs(value.saturating_mul(3600)),
            "" => return Err(format!("`{text}` needs a unit: `ms`, `s`, `m` or `h`")),
            other => return Err(format!("unknown unit `{other}`; use `ms`, `s`, `m` or `h`")),
        };
        total = total.saturating_add(piece);
        rest = after;
    }
    if total.is_zero() {
        return Err("a duration must be longer than zero".to_owned());
    }
    Ok(total)
}

/// Formats a duration the way the file writes it, as short as it stays exact.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis.is_multiple_of(3_600_000) {
        format!("{}h", millis / 3_600_000)
    } else if millis.is_multiple_of(60_000) {
        format!("{}m", millis / 60_000)
    } else if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else {
        format!("{millis}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let check = |input: &str, expect: Result<u64, &str>| {
            let got = parse_duration(input).map(|d| u64::try_from(d.as_millis()).unwrap());
            match expect {
                Ok(ms) => assert_eq!(got, Ok(ms), "{input}"),
                Err(fragment) => {
                    let err = got.expect_err(input);
                    assert!(err.contains(fragment), "{input}: {err}");
                }
            }
        };
        check("30s", Ok(30_000));
        check("10m", Ok(600_000));
        check("1h", Ok(3_600_000));
        check("1h30m", Ok(5_400_000));
        check("250ms", Ok(250));
        check("", Err("empty"));
        check("10", Err("needs a unit"));
        check("10d", Err("unknown unit"));
        check("s", Err("must start with a number"));
        check("0s", Err("longer than zero"));
    }

    #[test]
    fn formats() {
        for text in ["30s", "10m", "1h", "250ms", "90s"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }
}
