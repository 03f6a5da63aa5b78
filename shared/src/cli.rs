//! Command-line conventions every example shares: flatten [`Common`] into a binary's
//! `clap` arguments, and use [`positive`] for counts such as `--workers`.
//!
//! Bad values (`--workers 0`, `--workers -1`, `--workers abc`) get a clap error message
//! and exit code 2 — never a panic.

use std::str::FromStr;

/// Flags every binary accepts.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// Multiply every simulated wait by F (0.01 runs the waits 100× faster)
    #[arg(long, value_name = "F", default_value_t = 1.0, value_parser = time_scale,
          allow_negative_numbers = true)]
    pub time_scale: f64,

    /// Also print the run's figures as one JSON object, on the last line of stdout
    #[arg(long)]
    pub json: bool,
}

impl Common {
    /// Applies the flags that have a global effect (the time scale).
    pub fn apply(&self) {
        crate::waits::set_time_scale(self.time_scale);
    }
}

/// Parses a whole number of at least 1 (a clap `value_parser`).
pub fn positive<T: FromStr + PartialOrd + From<u8>>(text: &str) -> Result<T, String> {
    match text.trim().parse::<T>() {
        Ok(n) if n >= T::from(1) => Ok(n),
        _ => Err(format!("`{text}` is not a whole number of at least 1")),
    }
}

/// Parses a time-scale factor: a finite number ≥ 0.
pub fn time_scale(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 => Ok(f),
        _ => Err(format!("`{text}` is not a number ≥ 0 (1 = real time, 0.01 = 100× faster)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Demo {
        #[arg(long, default_value_t = 2, value_parser = positive::<usize>, allow_negative_numbers = true)]
        workers: usize,
        #[command(flatten)]
        common: Common,
    }

    #[test]
    fn accepts_good_values() {
        let demo =
            Demo::try_parse_from(["demo", "--workers", "3", "--time-scale", "0.01", "--json"])
                .unwrap();
        assert_eq!(demo.workers, 3);
        assert_eq!(demo.common.time_scale, 0.01);
        assert!(demo.common.json);
        let defaults = Demo::try_parse_from(["demo"]).unwrap();
        assert_eq!(
            (defaults.workers, defaults.common.time_scale, defaults.common.json),
            (2, 1.0, false)
        );
    }

    #[test]
    fn rejects_bad_values_with_a_message() {
        for bad in [
            &["demo", "--workers", "0"][..],
            &["demo", "--workers", "-1"],
            &["demo", "--workers", "abc"],
            &["demo", "--time-scale", "-2"],
            &["demo", "--time-scale", "NaN"],
            &["demo", "--time-scale", "fast"],
        ] {
            let err = Demo::try_parse_from(bad).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{bad:?}");
            assert_eq!(err.exit_code(), 2);
        }
    }

    #[test]
    fn positive_parses_whole_numbers() {
        assert_eq!(positive::<u64>("2000000"), Ok(2_000_000));
        assert!(positive::<u64>("1.5").is_err());
        assert!(positive::<usize>("0").unwrap_err().contains("at least 1"));
    }
}
