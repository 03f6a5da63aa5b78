//! Command-line conventions every example shares: flatten [`Common`] into a binary's
//! `clap` arguments, parse numbers with [`whole`] and [`seconds`], and name a choice as its
//! flag spells it with [`spelled`].
//!
//! Every number a flag takes has a range a reader can finish in reasonable time and memory:
//! its `value_name` states it (`N≤1024`), and its parser checks it, so that every error
//! names both the flag and the range:
//!
//! ```text
//! error: invalid value 'abc' for '--workers <N≤1024>': expected a whole number from 1 to 1024
//! ```
//!
//! Bad values get that message and exit code 2 — never a panic.

use std::ops::RangeInclusive;

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

/// `--trace FILE`, for the binaries that draw a timeline: flatten it into their `Args`
/// (`#[command(flatten)] trace: Trace`) and call [`Trace::write`] once the run is over.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Trace {
    /// Also write the timeline to FILE as a trace to open in Perfetto (ui.perfetto.dev) or
    /// chrome://tracing
    #[arg(long, value_name = "FILE")]
    pub trace: Option<std::path::PathBuf>,
}

impl Trace {
    /// Writes `timeline`'s spans to the file, if `--trace` named one.
    pub fn write(&self, timeline: &crate::timeline::Timeline) -> anyhow::Result<()> {
        use anyhow::Context;
        use std::io::Write;
        let Some(path) = &self.trace else { return Ok(()) };
        timeline.write_trace(path).with_context(|| format!("writing {}", path.display()))?;
        let wrote = format!("The timeline is in {}: open it at ui.perfetto.dev.", path.display());
        writeln!(crate::report::out(), "{wrote}")?;
        Ok(())
    }
}

/// A clap `value_parser` for a whole number in `range` (`value_parser = whole::<u32>(1..=64)`),
/// whose every error says the same thing — `expected a whole number from 1 to 64` — where
/// clap's `value_parser!(u32).range(..)` passes on std's wording for some values ("invalid
/// digit found in string", "number too large to fit in target type").
pub fn whole<T>(range: RangeInclusive<u64>) -> impl Fn(&str) -> Result<T, String> + Clone
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
{
    move |text: &str| {
        let number = text.trim().parse::<u64>().ok().filter(|n| range.contains(n));
        number.and_then(|n| T::try_from(n).ok()).ok_or_else(|| {
            format!("expected a whole number from {} to {}", range.start(), range.end())
        })
    }
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

/// A `ValueEnum` choice as its flag takes it: clap's own spelling of the variant (`multi`
/// for `Flavor::Multi`, `square-root` for `Role::SquareRoot`), for a report or a child's
/// command line — never a hand-written copy that can drift from the flag.
pub fn spelled<V: clap::ValueEnum>(value: &V) -> String {
    let name = value.to_possible_value().expect("a variant clap skips has no spelling");
    name.get_name().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Parser, ValueEnum};

    /// Every variant's spelling is what its flag parses back, two-word variants included.
    #[test]
    fn a_choice_is_spelled_as_its_flag_reads_it() {
        #[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
        enum Role {
            Square,
            SquareRoot,
        }
        assert_eq!(spelled(&Role::SquareRoot), "square-root");
        for &role in Role::value_variants() {
            assert_eq!(Role::from_str(&spelled(&role), false), Ok(role));
        }
    }

    #[derive(Debug, Parser)]
    struct Demo {
        #[arg(long, value_name = "N≤64", default_value = "2", value_parser = whole::<u32>(1..=64))]
        workers: u32,
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
        assert_eq!((demo.workers, demo.wait), (3, 0.0));
        assert_eq!(demo.common.time_scale, TimeScale::new(0.01).unwrap());
        assert!(demo.common.json);
        let defaults = Demo::try_parse_from(["demo"]).unwrap();
        assert_eq!((defaults.workers, defaults.wait), (2, 0.5));
        assert_eq!((defaults.common.time_scale, defaults.common.json), (TimeScale::REAL, false));
    }

    #[test]
    fn every_bad_value_names_its_flag_and_range() {
        for (bad, names) in [
            (
                &["demo", "--workers", "0"][..],
                "'--workers <N≤64>': expected a whole number from 1 to 64",
            ),
            (
                &["demo", "--workers", "65"],
                "'--workers <N≤64>': expected a whole number from 1 to 64",
            ),
            (
                &["demo", "--workers", "-1"],
                "'--workers <N≤64>': expected a whole number from 1 to 64",
            ),
            (
                &["demo", "--workers", "abc"],
                "'--workers <N≤64>': expected a whole number from 1 to 64",
            ),
            // Beyond 64 bits: std's parse would say "number too large to fit in target type".
            (
                &["demo", "--workers", "99999999999999999999999"],
                "expected a whole number from 1 to 64",
            ),
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
