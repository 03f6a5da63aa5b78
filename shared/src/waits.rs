//! Simulated I/O: waits given as durations, scaled by one global time-scale factor.
//!
//! Examples stand in for a network call or a disk read with a wait of a known length.
//! Tests run the very same examples faster with `--time-scale 0.01` (100× faster).
//! This module only computes durations: each example sleeps with its own runtime
//! (`std::thread::sleep`, `tokio::time::sleep`, `smol::Timer`), because how a wait is
//! spent is exactly what the chapters compare.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The bits of an `f64`; 1.0 until [`set_time_scale`] is called.
static TIME_SCALE_BITS: AtomicU64 = AtomicU64::new(0x3FF0_0000_0000_0000);

/// Sets the global factor every simulated wait is multiplied by.
///
/// # Panics
/// If `scale` is negative, NaN or infinite; the `--time-scale` flag rejects those first.
pub fn set_time_scale(scale: f64) {
    assert!(scale.is_finite() && scale >= 0.0, "invalid time scale {scale}");
    TIME_SCALE_BITS.store(scale.to_bits(), Ordering::Relaxed);
}

/// The current global time-scale factor.
pub fn time_scale() -> f64 {
    f64::from_bits(TIME_SCALE_BITS.load(Ordering::Relaxed))
}

/// `wait` multiplied by the global time scale.
pub fn scaled(wait: Duration) -> Duration {
    wait.mul_f64(time_scale())
}

/// A simulated wait of `seconds`, already scaled: `simulated(1.5)` is 1.5 s at scale 1.
pub fn simulated(seconds: f64) -> Duration {
    scaled(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test, because the scale is global and tests run on parallel threads.
    #[test]
    fn scale_multiplies_every_wait() {
        assert_eq!(time_scale(), 1.0);
        assert_eq!(simulated(2.0), Duration::from_secs(2));
        set_time_scale(0.01);
        assert_eq!(scaled(Duration::from_secs(3)), Duration::from_millis(30));
        assert_eq!(simulated(0.5), Duration::from_millis(5));
        set_time_scale(0.0);
        assert_eq!(simulated(10.0), Duration::ZERO);
        set_time_scale(1.0);
    }
}
