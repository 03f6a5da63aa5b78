//! Command-line conventions every example shares: flatten [`Common`] into a binary's
//! `clap` arguments, and use clap's own parsers for numbers.
//!
//! Counts that must be at least 1 are `NonZeroUsize` / `NonZeroU64` fields, bounded numbers
//! use `clap::value_parser!(u32).range(..)`, and the value name states the accepted range
//! (`value_name = "N≥1"`), so that every error names both the flag and the range:
//!
//! ```text
//! error: invalid value 'abc' for '--workers <N≥1>': invalid digit found in string
//! ```
//!
//! Bad values get that message and exit code 2 — never a panic.

use crate::waits::TimeScale;

/// Flags every binary accepts.
///
/// It also lets negative numbers reach every flag's parser (`allow_negative_numbers`), so
/// that `--workers -1` is reported as a bad value of `--workers`, not as an unknown flag `-1`.
#[derive(Debug, Clone, clap::Args)]
#[command(allow_negative_numbers = true)]
pub struct Common {
    /// Multiply every simulated wait by F, from 0 to 1000 (0.01 runs the waits 100× faster;
    /// binaries without simulated waits accept it and change nothing)
    // `allow_hyphen_values`: a value such as `-inf`, which is no number to clap, still reaches
    // the parser and gets its message, instead of "unexpected argument '-i'".
    #[arg(long, value_name = "F", default_value = "1", allow_hyphen_values = true)]
    pub time_scale: TimeScale,

    /// Also print the run's figures as one JSON object, on the last line of stdout
    #[arg(long)]
    pub json: bool,
}

/// The longest simulated wait a flag accepts, in seconds.
pub const MAX_SECONDS: f64 = 3_600.0;

/// Parses a number of seconds from 0 to an hour (a clap `value_parser`, e.g. for `--wait`).
pub fn seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if (0.0..=MAX_SECONDS).contains(&s) => Ok(s),
        _ => Err(format!("expected a number of seconds from 0 to {MAX_SECONDS}")),
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;

    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Demo {
        #[arg(long, value_name = "N≥1", default_value = "2")]
        workers: NonZeroUsize,
        #[arg(long, value_name = "SECONDS", default_value_t = 0.5, value_parser = seconds)]
        wait: f64,
        #[command(flatten)]
        common: Common,
    }

    #[test]
    fn accepts_good_values() {
        let demo = Demo::try_parse_from([
            "demo",
            "--workers",
            "3",
            "--wait",
            "0",
            "--time-scale",
            "0.01",
            "--json",
        ])
        .unwrap();
        assert_eq!((demo.workers.get(), demo.wait), (3, 0.0));
        assert_eq!(demo.common.time_scale, TimeScale::new(0.01).unwrap());
        assert!(demo.common.json);
        let defaults = Demo::try_parse_from(["demo"]).unwrap();
        assert_eq!((defaults.workers.get(), defaults.wait), (2, 0.5));
        assert_eq!((defaults.common.time_scale, defaults.common.json), (TimeScale::REAL, false));
    }

    #[test]
    fn every_bad_value_names_its_flag_and_range() {
        for (bad, names) in [
            (&["demo", "--workers", "0"][..], "'--workers <N≥1>'"),
            (&["demo", "--workers", "-1"], "'--workers <N≥1>'"),
            (&["demo", "--workers", "abc"], "'--workers <N≥1>'"),
            (&["demo", "--wait", "-1"], "seconds from 0 to 3600"),
            (&["demo", "--wait", "1e9"], "seconds from 0 to 3600"),
            (
                &["demo", "--time-scale", "-2"],
                "'--time-scale <F>': expected a number from 0 to 1000",
            ),
            (&["demo", "--time-scale", "NaN"], "number from 0 to 1000"),
            // Not a number to clap, which would otherwise take it for a flag `-i`.
            (&["demo", "--time-scale", "-inf"], "number from 0 to 1000"),
            (&["demo", "--time-scale", "fast"], "number from 0 to 1000"),
        ] {
            let err = Demo::try_parse_from(bad).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{bad:?}");
            assert_eq!(err.exit_code(), 2);
            let message = err.to_string();
            assert!(message.contains(names), "{bad:?}: {message}");
            assert!(message.contains(&format!("'--{}", bad[1].trim_start_matches('-'))));
        }
    }
}
