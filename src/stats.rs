//! Summary statistics of a param blob (min, max, mean, population std) in one read of memory.
//!
//! These are the numbers a pycaffe user prints with numpy (`p.data.min()`, `.max()`, `.mean()`,
//! `.std()`, the std with numpy's default `ddof=0`), computed more accurately than numpy does on
//! `float32` arrays: every sum runs in `f64`, and the spread is summed around a local mean, so a
//! large mean neither drifts the mean nor cancels the variance away.
//!
//! How it stays at memory speed: the array is cut into blocks small enough to stay in the L1
//! cache (4096 elements). Each block is read from memory once; its sum and then its squared
//! deviations from its own mean are accumulated in 16 independent lanes, which the compiler
//! turns into SIMD (AVX2 when the CPU has it, detected at run time), and the second pass over
//! the block reads the cache, not memory.
//! Blocks are merged with Chan, Golub and LeVeque's pairwise update, which is as accurate as
//! numpy's two-pass `std` (no `E[x²] - mean²` cancellation). Large arrays are split across
//! threads in fixed-size tasks merged in order, so the result does not depend on the number of
//! threads.

use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{ArrayBase, Data, Dimension};

/// Elements per cache-resident block: 16 KiB of `f32`, well inside any L1 data cache, so the
/// second (deviation) pass over a block costs no memory traffic.
const BLOCK: usize = 4096;

/// Independent accumulators per pass: enough chains to hide the latency of the `f64` additions
/// (each lane waits only on its own previous add) with SSE2's 2-wide registers and with AVX2's
/// 4-wide ones. The same count for both kernels, so that both give the same bits. The compiler
/// vectorizes the fixed-size inner loops.
const LANES: usize = 16;

/// Elements per parallel task (64 blocks, 1 MiB): large enough that starting a thread (tens of
/// microseconds) is noise next to it, small enough that mid-size params (CaffeNet's conv3 has
/// 0.9M weights) still split over two cores. Fixed, so that the merge order, hence every bit
/// of the result, does not depend on the thread count.
const TASK: usize = 64 * BLOCK;

/// Statistics of an array of `f32`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// The number of elements.
    pub count: usize,
    /// The smallest element, NaNs ignored; `+inf` for an empty array.
    pub min: f32,
    /// The largest element, NaNs ignored; `-inf` for an empty array.
    pub max: f32,
    /// The mean; NaN if any element is NaN; 0 for an empty array.
    pub mean: f64,
    /// The population standard deviation (numpy's `ddof=0`); NaN if any element is NaN or
    /// infinite; 0 for an empty array.
    pub std: f64,
}

/// Statistics of `values`, using every core the machine offers for large arrays.
pub fn stats(values: &[f32]) -> Stats {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    stats_with_threads(values, threads)
}

/// Statistics of an ndarray array of any layout; see [`stats`].
pub fn array_stats<S, D>(array: &ArrayBase<S, D>) -> Stats
where
    S: Data<Elem = f32>,
    D: Dimension,
{
    // The statistics do not depend on element order, so any contiguous layout (C, Fortran or
    // permuted) is read as it lies in memory; only a strided view needs a copy.
    match array.as_slice_memory_order() {
        Some(values) => stats(values),
        None => stats(&array.iter().copied().collect::<Vec<f32>>()),
    }
}

/// Statistics of `values` on at most `threads` threads (0 counts as 1). The result is the same,
/// bit for bit, for every thread count.
pub fn stats_with_threads(values: &[f32], threads: usize) -> Stats {
    let tasks: Vec<&[f32]> = values.chunks(TASK).collect();
    let threads = threads.clamp(1, tasks.len().max(1));
    let partials: Vec<Partial> = if threads == 1 {
        tasks.iter().map(|t| task(t)).collect()
    } else {
        parallel(&tasks, threads)
    };
    partials.into_iter().fold(Partial::EMPTY, Partial::merge).finish()
}

/// Runs the tasks on this thread and `threads - 1` helpers, each taking the next task not yet
/// taken, and returns their partials in task order. Taking tasks one by one (rather than a
/// fixed share each) means that a helper the OS schedules late, on a machine busy with other
/// work, delays nothing: the running threads take its share.
fn parallel(tasks: &[&[f32]], threads: usize) -> Vec<Partial> {
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(values) = tasks.get(index) else {
                return done;
            };
            done.push((index, task(values)));
        }
    };
    let mut slots: Vec<Option<Partial>> = vec![None; tasks.len()];
    std::thread::scope(|scope| {
        // A helper the OS refuses (resource limits) is not an error: there is one fewer.
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
            .collect();
        let mut done = work();
        for helper in helpers {
            // A helper cannot panic (the task code does not); were it to, its tasks stay
            // empty slots and are redone below.
            done.extend(helper.join().unwrap_or_default());
        }
        for (index, partial) in done {
            if let Some(slot) = slots.get_mut(index) {
                *slot = Some(partial);
            }
        }
    });
    slots
        .into_iter()
        .zip(tasks)
        .map(|(slot, values)| slot.unwrap_or_else(|| task(values)))
        .collect()
}

/// The merged statistics of one task's blocks, in order.
fn task(values: &[f32]) -> Partial {
    values.chunks(BLOCK).map(block).fold(Partial::EMPTY, Partial::merge)
}

/// What is known of a run of elements: enough to merge two runs exactly as if the
/// statistics had been computed over their concatenation.
#[derive(Debug, Clone, Copy)]
struct Partial {
    count: usize,
    min: f32,
    max: f32,
    /// The elements' sum. Carried instead of the mean so that the final mean is one division
    /// of a sum that was added up in lanes, blocks and tasks (a tree, more accurate than a
    /// running sum), not the result of a rounding at every merge.
    sum: f64,
    /// Sum of squared deviations from the mean.
    m2: f64,
}

impl Partial {
    const EMPTY: Partial = Partial {
        count: 0,
        min: f32::INFINITY,
        max: f32::NEG_INFINITY,
        sum: 0.0,
        m2: 0.0,
    };

    fn mean(&self) -> f64 {
        self.sum / self.count as f64
    }

    /// Chan, Golub and LeVeque's update: the combined mean, and the combined squared deviations
    /// as both parts' plus the term that accounts for their means differing. Every term is
    /// non-negative, so nothing cancels.
    fn merge(self, other: Partial) -> Partial {
        if other.count == 0 {
            return self;
        }
        if self.count == 0 {
            return other;
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        let delta = other.mean() - self.mean();
        Partial {
            count: self.count + other.count,
            min: min(self.min, other.min),
            max: max(self.max, other.max),
            sum: self.sum + other.sum,
            m2: self.m2 + other.m2 + delta * delta * (na * nb / n),
        }
    }

    fn finish(self) -> Stats {
        // An empty array keeps the values `inspect` always printed for it (mean and std 0).
        let n = self.count.max(1) as f64;
        Stats {
            count: self.count,
            min: self.min,
            max: self.max,
            mean: self.sum / n,
            std: (self.m2 / n).sqrt(),
        }
    }
}

/// `if v < m { v } else { m }`: a NaN `v` compares false and is ignored, as `f32::min` ignores
/// it, but this form is the single SIMD `min` instruction (`f32::min` also checks `m` for NaN,
/// which the accumulators never are).
#[inline(always)]
fn min(m: f32, v: f32) -> f32 {
    if v < m {
        v
    } else {
        m
    }
}

#[inline(always)]
fn max(m: f32, v: f32) -> f32 {
    if v > m {
        v
    } else {
        m
    }
}

/// Statistics of at most [`BLOCK`] elements, with the widest kernel this CPU runs.
fn block(values: &[f32]) -> Partial {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: `block_avx2` only needs AVX2, which the CPU was just checked to have (the
        // check is one cached load, nothing next to a block).
        return unsafe { block_avx2(values) };
    }
    block_lanes::<LANES>(values)
}

/// The same kernel compiled for AVX2: the same operations in the same order (so the same
/// result), on registers twice as wide. On the CaffeNet's weights it is about 1.6 times as fast
/// as the baseline x86-64 (SSE2) build, close to the speed of merely reading the memory (see
/// `benches/model_io.rs`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn block_avx2(values: &[f32]) -> Partial {
    block_lanes::<LANES>(values)
}

/// One pass from memory for the sum, one pass from cache for the squared deviations from the
/// block's mean, the min and the max. Min and max sit in the second pass to leave the first
/// pass's registers to the sum: with all four in one pass, baseline x86-64 spilled the
/// accumulators to the stack and ran three times slower.
#[inline(always)]
fn block_lanes<const L: usize>(values: &[f32]) -> Partial {
    let (body, tail) = values.as_chunks::<L>();
    let mut sum = [0f64; L];
    for chunk in body {
        for i in 0..L {
            sum[i] += f64::from(chunk[i]);
        }
    }
    for (i, &v) in tail.iter().enumerate() {
        sum[i] += f64::from(v);
    }
    let total = pairwise_sum(sum);
    let mean = total / values.len().max(1) as f64;
    let mut sq = [0f64; L];
    let mut lo = [f32::INFINITY; L];
    let mut hi = [f32::NEG_INFINITY; L];
    for chunk in body {
        for i in 0..L {
            let d = f64::from(chunk[i]) - mean;
            sq[i] += d * d;
            lo[i] = min(lo[i], chunk[i]);
            hi[i] = max(hi[i], chunk[i]);
        }
    }
    for (i, &v) in tail.iter().enumerate() {
        let d = f64::from(v) - mean;
        sq[i] += d * d;
        lo[i] = min(lo[i], v);
        hi[i] = max(hi[i], v);
    }
    Partial {
        count: values.len(),
        min: lo.into_iter().fold(f32::INFINITY, min),
        max: hi.into_iter().fold(f32::NEG_INFINITY, max),
        sum: total,
        m2: pairwise_sum(sq),
    }
}

/// The lanes added as a balanced tree, so that no lane's rounding weighs more than another's.
#[inline(always)]
fn pairwise_sum<const L: usize>(mut lanes: [f64; L]) -> f64 {
    const { assert!(L.is_power_of_two()) };
    let mut width = L;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            lanes[i] += lanes[i + width];
        }
    }
    lanes[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deterministic generator the numpy references below were computed from: a 32-bit
    /// LCG (Numerical Recipes' constants), its top 24 bits scaled to `[lo, lo + width)` in f64
    /// and rounded once to f32, so Python reproduces every element exactly.
    fn lcg(n: usize, seed: u32, lo: f64, width: f64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (f64::from(s >> 8) / 16_777_216.0 * width + lo) as f32
            })
            .collect()
    }

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs()
    }

    #[test]
    fn small_arrays_by_hand() {
        // [1, 2, 3, 4]: mean 2.5, squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, var 5/4.
        let s = stats(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!((s.count, s.min, s.max, s.mean), (4, 1.0, 4.0, 2.5));
        assert_eq!(s.std, 1.25f64.sqrt());
        // One element: no spread.
        let s = stats(&[-7.5]);
        assert_eq!((s.min, s.max, s.mean, s.std), (-7.5, -7.5, -7.5, 0.0));
        // [-2, 0, 0, 2, 5]: mean 1, deviations 9 + 1 + 1 + 1 + 16 = 28, var 5.6.
        let s = stats(&[-2.0, 0.0, 0.0, 2.0, 5.0]);
        assert_eq!((s.min, s.max, s.mean), (-2.0, 5.0, 1.0));
        assert!(close(s.std, 5.6f64.sqrt(), 1e-15), "{s:?}");
    }

    #[test]
    fn edge_cases_do_not_panic() {
        let s = stats(&[]);
        assert_eq!(
            (s.count, s.min, s.max, s.mean, s.std),
            (0, f32::INFINITY, f32::NEG_INFINITY, 0.0, 0.0)
        );
        // NaNs are skipped by min/max (as f32::min does) and poison mean and std (as numpy does).
        let s = stats(&[1.0, f32::NAN, 3.0]);
        assert_eq!((s.min, s.max), (1.0, 3.0));
        assert!(s.mean.is_nan() && s.std.is_nan());
        let s = stats(&[1.0, f32::INFINITY]);
        assert_eq!((s.max, s.mean), (f32::INFINITY, f64::INFINITY));
        assert!(s.std.is_nan());
        // A strided view is copied, not refused.
        let a = ndarray::Array2::from_shape_fn((6, 5), |(i, j)| (i * 5 + j) as f32);
        let column = a.column(2); // 2, 7, 12, 17, 22, 27: mean 14.5
        let s = array_stats(&column);
        assert_eq!((s.min, s.max, s.mean), (2.0, 27.0, 14.5));
        // Deviations ±2.5, ±7.5, ±12.5: var (6.25 + 56.25 + 156.25) * 2 / 6 = 437.5 / 6.
        assert!(close(s.std, (437.5f64 / 6.0).sqrt(), 1e-15), "{s:?}");
    }

    #[test]
    fn tails_and_block_edges() {
        // Every length around the lane, block and task boundaries: the blocked result equals a
        // plain two-pass f64 computation to rounding.
        for n in [1, 15, 16, 17, 4095, 4096, 4097, 8191, TASK - 1, TASK + 1, 3 * TASK + 5] {
            let v = lcg(n, n as u32, -1.0, 2.0);
            let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n as f64;
            let var = v.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / n as f64;
            let s = stats_with_threads(&v, 3);
            assert!((s.mean - mean).abs() < 1e-12, "n {n}: {} vs {mean}", s.mean);
            assert!(close(s.std, var.sqrt(), 1e-12), "n {n}: {} vs {}", s.std, var.sqrt());
            let lo = v.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!((s.min, s.max), (lo, hi), "n {n}");
        }
    }

    #[test]
    fn every_kernel_gives_the_same_bits() {
        // `block` picks the AVX2 build where the CPU has it; `block_lanes` called from here is
        // the baseline build. Same operations in the same order, so the same bits.
        for n in [1, 17, 1000, BLOCK] {
            let v = lcg(n, 5, 1e3, 1.0);
            let (a, b) = (block(&v), block_lanes::<LANES>(&v));
            assert_eq!(
                (a.count, a.min, a.max, a.sum.to_bits(), a.m2.to_bits()),
                (b.count, b.min, b.max, b.sum.to_bits(), b.m2.to_bits())
            );
        }
    }

    #[test]
    fn same_bits_for_every_thread_count() {
        let v = lcg(5 * TASK + 123, 9, -3.0, 6.0);
        let one = stats_with_threads(&v, 1);
        for threads in [0, 2, 3, 4, 7, 64] {
            assert_eq!(stats_with_threads(&v, threads), one, "{threads} threads");
        }
    }

    #[test]
    fn matches_numpy_in_float64() {
        // Reference computed with numpy 2.4.6 on the same elements, in float64:
        //   import numpy as np
        //   s, a = 12345, []
        //   for _ in range(1_000_000):
        //       s = (s * 1664525 + 1013904223) % 2**32
        //       a.append((s >> 8) / 16777216.0 * 0.2 - 0.1)
        //   a = np.array(a).astype(np.float32); d = a.astype(np.float64)
        //   print(repr(a.min()), repr(a.max()), repr(d.mean()), repr(d.std()))
        let s = stats(&lcg(1_000_000, 12345, -0.1, 0.2));
        assert_eq!((s.min, s.max), (NUMPY_MIN, NUMPY_MAX));
        assert!(close(s.mean, NUMPY_MEAN, 1e-10), "{} vs {NUMPY_MEAN}", s.mean);
        assert!(close(s.std, NUMPY_STD, 1e-13), "{} vs {NUMPY_STD}", s.std);
    }
    // Printed by the script above; math.fsum over the same float64 values gives the same
    // mean and std to the last digit.
    const NUMPY_MIN: f32 = -0.09999976;
    const NUMPY_MAX: f32 = 0.09999974;
    const NUMPY_MEAN: f64 = -1.5769394361243057e-05;
    const NUMPY_STD: f64 = 0.05775382665929291;

    #[test]
    fn large_mean_does_not_drift() {
        // 2^24 elements cycling through 10000, 10000.25, 10000.5, 10000.75 (all exact in f32).
        // By hand: mean 10000.375; deviations ±0.125, ±0.375, so var (0.015625 + 0.140625) / 2
        // = 0.078125 and std sqrt(0.078125) = 0.27950849718747371.
        let v: Vec<f32> = (0..1usize << 24).map(|i| 10_000.0 + (i % 4) as f32 * 0.25).collect();
        let s = stats(&v);
        assert_eq!((s.min, s.max), (10_000.0, 10_000.75));
        assert!((s.mean - 10_000.375).abs() < 1e-9, "{}", s.mean);
        assert!(close(s.std, 0.078125f64.sqrt(), 1e-9), "{}", s.std);
        // Why the care: a running f32 sum rounds every addition once its ulp nears the elements
        // (between 2^36 and 2^38 each 10000 added counts as 8192 or 16384), and the one-pass
        // E[x²] - mean² in f32 loses every digit of a 0.078 variance under a 1e8 mean square.
        let naive_sum: f32 = v.iter().sum();
        let naive_mean = f64::from(naive_sum) / v.len() as f64;
        assert!((naive_mean - 10_000.375).abs() > 1.0, "naive f32 mean {naive_mean}");
        let naive_sq: f32 = v.iter().map(|x| x * x).sum();
        let naive_var = f64::from(naive_sq) / v.len() as f64 - naive_mean * naive_mean;
        assert!((naive_var - 0.078125).abs() > 1.0, "naive f32 var {naive_var}");
    }
}
