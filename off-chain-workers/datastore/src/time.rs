//! FHIR `date` / `dateTime` ↔ milliseconds since the Unix epoch (UTC), without a date library:
//! the store keeps times as integers so ordering and windows are plain SQL.

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (inverse of [`days_from_civil`]).
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

const DAY_MS: i64 = 86_400_000;

fn num(s: &str, lo: i64, hi: i64) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|v| (lo..=hi).contains(v))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    days_from_civil(
        if m == 12 { y + 1 } else { y },
        if m == 12 { 1 } else { m + 1 },
        1,
    ) - days_from_civil(y, m, 1)
}

/// Parses a FHIR `date` (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`) to the day number of its first day.
pub(crate) fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.split('-');
    let y_s = it.next()?;
    if y_s.len() != 4 {
        return None;
    }
    let y = num(y_s, 1, 9999)?;
    let m = match it.next() {
        Some(m) if m.len() == 2 => num(m, 1, 12)?,
        Some(_) => return None,
        None => 1,
    };
    let d = match it.next() {
        Some(d) if d.len() == 2 => num(d, 1, days_in_month(y, m))?,
        Some(_) => return None,
        None => 1,
    };
    if it.next().is_some() {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Parses a FHIR `dateTime` to ms since the epoch, UTC. A date alone means its midnight UTC; a
/// time needs a zone (`Z` or `±hh:mm`), as FHIR requires.
pub(crate) fn parse_date_time(s: &str) -> Option<i64> {
    let Some((date, time)) = s.split_once('T') else {
        return parse_date(s).map(|d| d * DAY_MS);
    };
    if date.len() != 10 {
        return None;
    }
    let day = parse_date(date)?;
    let (clock, offset_min) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (c, z) = time.split_at(at);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let (hh, mm) = z[1..].split_once(':')?;
        (c, sign * (num(hh, 0, 14)? * 60 + num(mm, 0, 59)?))
    };
    let mut parts = clock.split(':');
    let h = num(parts.next()?, 0, 23)?;
    let mi = num(parts.next()?, 0, 59)?;
    let sec = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
    if whole.len() != 2 {
        return None;
    }
    let s_ = num(whole, 0, 60)?;
    let ms = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().chain(std::iter::repeat('0')).take(3).collect();
        num(&digits, 0, 999)?
    };
    Some(day * DAY_MS + ((h * 60 + mi - offset_min) * 60 + s_) * 1000 + ms)
}

/// Formats ms since the epoch as a FHIR `dateTime` in UTC, to the second.
pub(crate) fn format_date_time(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(DAY_MS));
    let s = ms.rem_euclid(DAY_MS) / 1000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Formats ms since the epoch as a FHIR `dateTime` in UTC, to the millisecond.
pub(crate) fn format_date_time_ms(ms: i64) -> String {
    let s = format_date_time(ms);
    format!("{}.{:03}Z", &s[..s.len() - 1], ms.rem_euclid(1000))
}

/// Formats a day number as a FHIR `date`.
pub(crate) fn format_date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Whole years between a birth date (day number) and an instant: the age on that day.
pub(crate) fn age_years(birth_day: i64, at_ms: i64) -> i64 {
    let (by, bm, bd) = civil_from_days(birth_day);
    let (y, m, d) = civil_from_days(at_ms.div_euclid(DAY_MS));
    y - by - i64::from((m, d) < (bm, bd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        // 2000-03-01T00:00:00Z = 951868800 s (date -u -d 2000-03-01 +%s).
        assert_eq!(parse_date_time("2000-03-01"), Some(951_868_800_000));
        assert_eq!(
            parse_date_time("2000-03-01T01:30:00+01:30"),
            Some(951_868_800_000)
        );
        assert_eq!(
            parse_date_time("2000-03-01T00:00:00.25Z"),
            Some(951_868_800_250)
        );
        assert_eq!(format_date_time(951_868_800_000), "2000-03-01T00:00:00Z");
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(
            parse_date("2024-02-29").map(format_date).as_deref(),
            Some("2024-02-29")
        );
        assert_eq!(
            parse_date_time("2000-03-01T10:00:00"),
            None,
            "zone required"
        );
        assert_eq!(parse_date("1990-1-01"), None);
    }

    #[test]
    fn age_counts_birthdays() {
        let birth = parse_date("1980-06-15").unwrap();
        assert_eq!(
            age_years(birth, parse_date_time("2020-06-14T23:59:59Z").unwrap()),
            39
        );
        assert_eq!(age_years(birth, parse_date_time("2020-06-15").unwrap()), 40);
    }
}
