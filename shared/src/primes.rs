//! The CPU-bound workload: counting primes by trial division.
//!
//! Trial division (try every odd divisor up to √n) is deliberately plain: honest CPU work
//! whose cost grows with `n`, written the way anyone would write it in any language, so
//! timings can be compared across languages and models. It is not a fast way to count
//! primes — a sieve would be — and that is not the point.

use std::ops::Range;

/// Known answers, for tests and for self-checking examples: `(limit, primes below limit)`.
pub const KNOWN_COUNTS: [(u64, u64); 5] =
    [(10, 4), (1_000, 168), (1_000_000, 78_498), (2_000_000, 148_933), (10_000_000, 664_579)];

/// The number of primes below `limit`, if it is one of [`KNOWN_COUNTS`].
pub fn known_count(limit: u64) -> Option<u64> {
    KNOWN_COUNTS.iter().find(|&&(known_limit, _)| known_limit == limit).map(|&(_, count)| count)
}

/// Is `n` prime? Trial division by 2 and then by odd numbers up to √n.
#[allow(
    clippy::manual_is_multiple_of,
    reason = "`n % d == 0` reads the same in every language, which keeps comparisons fair"
)]
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n < 4 {
        return true;
    }
    if n % 2 == 0 {
        return false;
    }
    let mut divisor = 3;
    while divisor * divisor <= n {
        if n % divisor == 0 {
            return false;
        }
        divisor += 2;
    }
    true
}

/// How many primes lie in `range` (start included, end excluded).
///
/// ```
/// use shared::primes::count_primes;
/// assert_eq!(count_primes(0..10), 4); // 2, 3, 5, 7
/// assert_eq!(count_primes(0..1_000) + count_primes(1_000..2_000), count_primes(0..2_000));
/// ```
pub fn count_primes(range: Range<u64>) -> u64 {
    range.filter(|&n| is_prime(n)).count() as u64
}

/// Splits `range` into `jobs` consecutive sub-ranges of roughly *equal cost*.
///
/// A prime `p` costs about √p / 2 divisions (the odd divisors up to √p), and primes thin
/// out as 1/ln n; every other number stops at its smallest factor, after about 1.5
/// divisions on average. So the numbers near 10,000,000 cost several times more than those
/// near 1,000,000, and equal-width chunks would leave one job with the expensive end. We
/// place the boundaries where the estimated cumulative cost reaches equal steps.
///
/// Every number of `range` lands in exactly one sub-range; none is empty unless `jobs`
/// exceeds the number of values.
///
/// ```
/// use shared::primes::split_balanced;
/// let jobs = split_balanced(0..1_000_000, 4);
/// assert_eq!((jobs[0].start, jobs[3].end), (0, 1_000_000));
/// // The cheap low numbers get the widest job.
/// assert!(jobs[0].end - jobs[0].start > jobs[3].end - jobs[3].start);
/// ```
pub fn split_balanced(range: Range<u64>, jobs: usize) -> Vec<Range<u64>> {
    let jobs = jobs.max(1);
    let (lo, hi) = (range.start, range.end.max(range.start));
    let (cost_lo, cost_hi) = (cumulative_cost(lo), cumulative_cost(hi));
    let mut bounds = vec![lo];
    for i in 1..jobs {
        let target = cost_lo + (cost_hi - cost_lo) * i as f64 / jobs as f64;
        let previous = *bounds.last().expect("bounds starts non-empty");
        let mut bound = first_reaching(target, previous, hi);
        // Where there are enough numbers, no job is left empty: at least one number since
        // the previous bound, and one for each job still to come.
        if hi - lo >= jobs as u64 {
            bound = bound.max(previous + 1).min(hi - (jobs - i) as u64);
        }
        bounds.push(bound);
    }
    bounds.push(hi);
    bounds.windows(2).map(|w| w[0]..w[1]).collect()
}

/// Splits `range` into `jobs` sub-ranges of equal width (the naive split, for comparison).
pub fn split_even(range: Range<u64>, jobs: usize) -> Vec<Range<u64>> {
    let jobs = jobs.max(1) as u64;
    let (lo, hi) = (range.start, range.end.max(range.start));
    let width = hi - lo;
    (0..jobs).map(|i| lo + width * i / jobs..lo + width * (i + 1) / jobs).collect()
}

/// Estimated divisions to test every number below `x`: 1.5 per number, plus the primes'
/// ∫ √t / (2 ln t) dt ≈ x^1.5 / (3 ln x).
fn cumulative_cost(x: u64) -> f64 {
    let primes = |x: f64| x.powf(1.5) / (3.0 * x.ln());
    let x = x as f64;
    // For the first few numbers the primes' term is meaningless (ln x is tiny): it starts at
    // 8, from zero, so that the cost never jumps (a jump would leave some jobs empty).
    1.5 * x + if x >= 8.0 { primes(x) - primes(8.0) } else { 0.0 }
}

/// The smallest `x` in `lo..=hi` whose cumulative cost reaches `target` (binary search).
fn first_reaching(target: f64, mut lo: u64, mut hi: u64) -> u64 {
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if cumulative_cost(mid) < target {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real cost of testing `n`: how many divisions `is_prime` performs.
    fn divisions(n: u64) -> u64 {
        if n < 4 || n.is_multiple_of(2) {
            return 1;
        }
        let mut count = 1;
        let mut divisor = 3;
        while divisor * divisor <= n {
            count += 1;
            if n.is_multiple_of(divisor) {
                break;
            }
            divisor += 2;
        }
        count
    }

    #[test]
    fn small_numbers() {
        let primes: Vec<u64> = (0..30).filter(|&n| is_prime(n)).collect();
        assert_eq!(primes, [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
        assert!(!is_prime(9) && !is_prime(25) && !is_prime(49));
        assert!(is_prime(1_000_003));
        assert!(!is_prime(1_000_001)); // 101 × 9901
    }

    #[test]
    fn known_counts_below_two_million() {
        for (limit, expected) in KNOWN_COUNTS.into_iter().filter(|&(l, _)| l <= 2_000_000) {
            assert_eq!(count_primes(0..limit), expected, "primes below {limit}");
        }
    }

    #[test]
    #[ignore = "takes several seconds; run with --ignored"]
    fn known_count_below_ten_million() {
        assert_eq!(count_primes(0..10_000_000), 664_579);
    }

    #[test]
    fn known_count_lookup() {
        assert_eq!(known_count(1_000_000), Some(78_498));
        assert_eq!(known_count(12_345), None);
    }

    #[test]
    fn splits_cover_the_range_exactly_once() {
        for jobs in [1, 2, 3, 7, 16, 64] {
            for split in [split_balanced(0..100_000, jobs), split_even(0..100_000, jobs)] {
                assert_eq!(split.len(), jobs);
                assert_eq!(split[0].start, 0);
                assert_eq!(split[jobs - 1].end, 100_000);
                assert!(split.windows(2).all(|w| w[0].end == w[1].start));
                let total: u64 = split.iter().cloned().map(count_primes).sum();
                assert_eq!(total, 9_592, "primes below 100,000 with {jobs} jobs");
            }
        }
    }

    #[test]
    fn as_many_jobs_as_numbers_gives_no_empty_job() {
        for n in 1..=40 {
            let split = split_balanced(0..n, n as usize);
            assert!(split.iter().all(|r| r.end - r.start == 1), "{n}: {split:?}");
        }
    }

    #[test]
    fn more_jobs_than_numbers_gives_empty_jobs() {
        let split = split_balanced(0..3, 5);
        assert_eq!(split.len(), 5);
        assert_eq!(split.iter().map(|r| r.end - r.start).sum::<u64>(), 3);
        assert_eq!(split_balanced(5..5, 2), vec![5..5, 5..5]);
    }

    /// The balanced split keeps every job within 3 % of the mean cost, measured in real
    /// divisions; the even split does not (its last job costs far more than its first).
    #[test]
    fn balanced_split_has_equal_cost() {
        let cost = |r: &Range<u64>| r.clone().map(divisions).sum::<u64>() as f64;
        let spread = |split: Vec<Range<u64>>| {
            let costs: Vec<f64> = split.iter().map(cost).collect();
            let mean = costs.iter().sum::<f64>() / costs.len() as f64;
            costs.iter().map(|c| (c - mean).abs() / mean).fold(0.0, f64::max)
        };
        let balanced = spread(split_balanced(0..1_000_000, 16));
        let even = spread(split_even(0..1_000_000, 16));
        assert!(balanced < 0.03, "balanced split is off by {balanced:.3}");
        assert!(even > 0.5, "even split unexpectedly balanced: {even:.3}");
    }
}
