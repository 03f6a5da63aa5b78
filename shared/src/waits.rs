//! Simulated I/O: waits given in seconds and scaled by the `--time-scale` factor.
//!
//! Examples stand in for a network call or a disk read with a wait of a known length.
//! Tests run the very same examples faster with `--time-scale 0.01` (100× faster).
//! This module only computes durations: each example sleeps with its own runtime
//! (`std::thread::sleep`, `tokio::time::sleep`, `smol::Timer`), because how a wait is
//! spent is exactly what the chapters compare.
//!
//! The scale is a value, not a global setting: a binary gets it from its parsed flags
//! (`args.common.time_scale`) and hands it to whatever waits. A binary cannot parse the flag
//! and forget to apply it, as it could with a global it had to set first: a simulated wait
//! is made from the parsed scale. (A wait written as a plain `Duration` is not a simulated
//! one and ignores the flag: don't write one for a wait that stands in for I/O.)

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How fast simulated time passes: 1 is real time, 0.01 is 100× faster, 0 skips every wait.
///
/// ```
/// use std::time::Duration;
/// use shared::waits::TimeScale;
/// let fast: TimeScale = "0.01".parse().unwrap();
/// assert_eq!(fast.secs(2.0), Duration::from_millis(20));
/// assert_eq!(TimeScale::REAL.secs(1.5), Duration::from_millis(1500));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct TimeScale(f64);

impl TimeScale {
    /// Real time: every wait lasts as long as it says.
    pub const REAL: TimeScale = TimeScale(1.0);
    /// The largest factor accepted (a 1 s wait then lasts about 17 minutes).
    pub const MAX: f64 = 1_000.0;

    /// The factor, if it is a number from 0 to [`TimeScale::MAX`].
    pub fn new(factor: f64) -> Option<Self> {
        (0.0..=Self::MAX).contains(&factor).then_some(TimeScale(factor))
    }

    /// The factor every wait is multiplied by.
    pub fn factor(self) -> f64 {
        self.0
    }

    /// A simulated wait of `seconds`, scaled: `secs(1.5)` is 1.5 s at scale 1.
    /// Negative or not-a-number inputs give zero; huge ones saturate.
    pub fn secs(self, seconds: f64) -> Duration {
        let scaled = seconds * self.0;
        if scaled.is_nan() || scaled <= 0.0 {
            Duration::ZERO
        } else {
            Duration::try_from_secs_f64(scaled).unwrap_or(Duration::MAX)
        }
    }

    /// `wait`, scaled.
    pub fn scaled(self, wait: Duration) -> Duration {
        self.secs(wait.as_secs_f64())
    }
}

impl Default for TimeScale {
    fn default() -> Self {
        Self::REAL
    }
}

impl fmt::Display for TimeScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `1e-9` rather than a line of zeros; `0.01` and `2` as they are.
        if self.0 != 0.0 && self.0 < 1e-4 { write!(f, "{:e}", self.0) } else { self.0.fmt(f) }
    }
}

/// Parses `--time-scale` values; clap uses this through `FromStr`.
impl FromStr for TimeScale {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.trim().parse().ok().and_then(TimeScale::new).ok_or_else(|| {
            format!(
                "expected a number from 0 to {} (1 = real time, 0.01 = 100× faster)",
                TimeScale::MAX
            )
        })
    }
}

/// A small random number generator (SplitMix64) for simulated waits: the same seed gives the
/// same numbers on every machine, so a run can be repeated (`--seed`). Not for cryptography.
#[derive(Debug, Clone)]
pub struct Random(u64);

impl Random {
    /// A generator whose numbers follow from `seed`.
    pub fn new(seed: u64) -> Self {
        Random(seed)
    }

    /// A seed that differs from run to run, taken from the clock.
    pub fn clock_seed() -> u64 {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        now.map_or(0, |d| d.as_nanos() as u64 % 1_000_000)
    }

    /// The next number, uniform over all `u64`s.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `items` in a random order (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, (self.next_u64() % (i as u64 + 1)) as usize);
        }
    }
}

/// `n` simulated waits in seconds, all different and 0.5 s apart (0.5, 1.0, 1.5, …), in the
/// random order that `seed` gives: the same seed, the same order.
pub fn shuffled_waits(n: u32, seed: u64) -> Vec<f64> {
    let mut waits: Vec<f64> = (1..=n).map(|i| 0.5 * f64::from(i)).collect();
    Random::new(seed).shuffle(&mut waits);
    waits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffled_waits_are_reproducible_distinct_and_apart() {
        assert_eq!(shuffled_waits(5, 7), shuffled_waits(5, 7));
        let mut waits = shuffled_waits(5, 7);
        waits.sort_by(f64::total_cmp);
        assert_eq!(waits, [0.5, 1.0, 1.5, 2.0, 2.5]);
        assert_ne!(shuffled_waits(5, 7), shuffled_waits(5, 8), "seeds 7 and 8 give one order");
    }

    #[test]
    fn scale_multiplies_every_wait() {
        assert_eq!(TimeScale::default().secs(2.0), Duration::from_secs(2));
        let fast = TimeScale::new(0.01).unwrap();
        assert_eq!(fast.scaled(Duration::from_secs(3)), Duration::from_millis(30));
        assert_eq!(fast.secs(0.5), Duration::from_millis(5));
        assert_eq!(TimeScale::new(0.0).unwrap().secs(10.0), Duration::ZERO);
        assert_eq!(TimeScale::REAL.secs(-1.0), Duration::ZERO);
        assert_eq!(TimeScale::REAL.secs(1e300), Duration::MAX);
    }

    #[test]
    fn random_is_reproducible_and_shuffles() {
        let (mut a, mut b) = (Random::new(7), Random::new(7));
        assert_eq!([a.next_u64(), a.next_u64()], [b.next_u64(), b.next_u64()]);
        assert_ne!(Random::new(7).next_u64(), Random::new(8).next_u64());
        let mut items: Vec<u32> = (0..10).collect();
        Random::new(1).shuffle(&mut items);
        assert_ne!(items, (0..10).collect::<Vec<_>>());
        items.sort();
        assert_eq!(items, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn parses_only_sensible_factors() {
        assert_eq!("0.01".parse(), Ok(TimeScale(0.01)));
        assert_eq!(" 2 ".parse(), Ok(TimeScale(2.0)));
        let shown = |text: &str| text.parse::<TimeScale>().unwrap().to_string();
        assert_eq!(
            (shown("1"), shown("0.01"), shown("0"), shown("1e-300")),
            ("1".into(), "0.01".into(), "0".into(), "1e-300".into())
        );
        assert_eq!("0".parse(), Ok(TimeScale(0.0)));
        for bad in ["-1", "NaN", "inf", "1001", "fast", ""] {
            let err = bad.parse::<TimeScale>().unwrap_err();
            assert!(err.contains("from 0 to 1000"), "{bad:?}: {err}");
        }
    }
}
