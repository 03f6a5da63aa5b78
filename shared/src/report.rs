//! Reporting: human-readable durations and numbers, aligned tables, the build's optimisation.

use std::fmt;
use std::time::Duration;

/// A duration with three significant digits and a fitting unit: `1.23 s`, `45.6 ms`, `789 µs`.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(shared::report::human_duration(Duration::from_micros(45_600)), "45.6 ms");
/// ```
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    let (value, unit) = if secs >= 1.0 {
        (secs, "s")
    } else if secs >= 1e-3 {
        (secs * 1e3, "ms")
    } else if secs >= 1e-6 {
        (secs * 1e6, "µs")
    } else {
        (secs * 1e9, "ns")
    };
    let decimals = if value >= 100.0 || unit == "ns" {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.decimals$} {unit}")
}

/// An integer with thousands separators: `2000000` → `2,000,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A plain-text table: a header row, a rule, then rows. Columns are padded to their widest
/// cell; cells that look like numbers (start with a digit) are right-aligned.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new<S: ToString>(header: impl IntoIterator<Item = S>) -> Self {
        Table { header: header.into_iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    /// Appends a row (missing cells are left blank, extra cells are dropped).
    pub fn row<S: ToString>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        let mut row: Vec<String> = cells.into_iter().map(|c| c.to_string()).collect();
        row.resize(self.header.len(), String::new());
        self.rows.push(row);
        self
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|col| {
                std::iter::once(&self.header)
                    .chain(&self.rows)
                    .map(|row| row[col].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let numeric = |cell: &str| cell.starts_with(|c: char| c.is_ascii_digit());
        let line = |f: &mut fmt::Formatter<'_>, row: &[String]| -> fmt::Result {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(
                    |(cell, &w)| {
                        if numeric(cell) { format!("{cell:>w$}") } else { format!("{cell:<w$}") }
                    },
                )
                .collect();
            writeln!(f, "{}", cells.join("  ").trim_end())
        };
        line(f, &self.header)?;
        let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
        writeln!(f, "{}", rule.join("  "))?;
        for row in &self.rows {
            line(f, row)?;
        }
        Ok(())
    }
}

/// The optimisation level `shared` (and so the workloads) was compiled with: "0" to "3", "s", "z".
pub const OPT_LEVEL: &str = env!("SHARED_OPT_LEVEL");

/// Whether the workloads were compiled with optimisation.
pub fn optimized() -> bool {
    OPT_LEVEL != "0"
}

/// A one-line description of the build, for examples that print timings. It warns when
/// the build is unoptimised, because such timings can be 10× slower and misleading.
pub fn build_note() -> String {
    if optimized() {
        format!("optimised build (opt-level {OPT_LEVEL})")
    } else {
        "UNOPTIMISED build (opt-level 0): timings are not representative; \
         use the workspace's dev profile or --release"
            .to_string()
    }
}

/// Prints the build note on stderr, but only for an unoptimised build: for examples whose
/// timings are not the point, yet should not mislead.
pub fn warn_if_unoptimized() {
    if !optimized() {
        eprintln!("warning: {}", build_note());
    }
}

/// Prints `value` as one line of JSON on stdout (the `--json` output).
pub fn print_json(value: &impl serde::Serialize) -> std::io::Result<()> {
    let line = serde_json::to_string(value).map_err(std::io::Error::other)?;
    println!("{line}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_have_three_significant_digits() {
        assert_eq!(human_duration(Duration::from_secs(1)), "1.00 s");
        assert_eq!(human_duration(Duration::from_millis(1234)), "1.23 s");
        assert_eq!(human_duration(Duration::from_secs(75)), "75.0 s");
        assert_eq!(human_duration(Duration::from_micros(45_600)), "45.6 ms");
        assert_eq!(human_duration(Duration::from_micros(789)), "789 µs");
        assert_eq!(human_duration(Duration::from_nanos(3_500)), "3.50 µs");
        assert_eq!(human_duration(Duration::from_nanos(42)), "42 ns");
        assert_eq!(human_duration(Duration::ZERO), "0 ns");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(2_000_000), "2,000,000");
        assert_eq!(thousands(148_933), "148,933");
    }

    #[test]
    fn table_aligns_columns() {
        let mut table = Table::new(["model", "workers", "elapsed"]);
        table.row(["sequential", "1", "612 ms"]).row(["threads", "12", "1.02 s"]);
        let expected = "\
model       workers  elapsed
----------  -------  -------
sequential        1   612 ms
threads          12   1.02 s
";
        assert_eq!(table.to_string(), expected);
    }

    #[test]
    fn build_note_matches_level() {
        assert!(["0", "1", "2", "3", "s", "z"].contains(&OPT_LEVEL));
        assert_eq!(build_note().contains("UNOPTIMISED"), !optimized());
    }
}
