//! Per-patient clipping and Gaussian noise on plain slices, for the DP-SGD code elsewhere (no
//! tensor library needed).
//!
//! DP-SGD step, with these helpers: for each sampled patient, flatten the gradient into a slice
//! and [`clip_l2`] it to C; sum the clipped gradients; [`add_gaussian_noise`] with standard
//! deviation [`noise_std`]`(σ, C)` = σ·C to the sum
//! ([`add_gaussian_noise_f64`] for an f64 accumulator); divide by the expected batch size q·n.

use rand::{CryptoRng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::PrivacyError;

/// Shrinks the clipping factor by this much (relative) so that the clipped vector's norm stays
/// ≤ `max_norm` after each element is rounded to f32 (rounding moves each element by at most
/// 2⁻²⁴ relative, so the norm by at most 2⁻²⁴ relative; 2⁻²² leaves a margin).
const CLIP_MARGIN: f64 = 1.0 / (1u64 << 22) as f64;

/// Scales `values` so that its L2 norm is at most `max_norm` and returns the factor applied:
/// 1 when the norm is already ≤ `max_norm` (the slice is untouched), otherwise slightly below
/// `max_norm / norm` (so a factor < 1 means "this patient was clipped"). The norm is computed in
/// f64, and the result's norm is ≤ `max_norm` after rounding to f32.
///
/// A slice with a NaN or infinite element cannot be bounded by scaling: it is zeroed and the
/// factor is 0 (a zero contribution is within any bound, so the privacy guarantee holds).
///
/// # Panics
/// If `max_norm` is not finite and > 0 (a configuration error, checked where the study's
/// parameters are read; [`check_max_norm`] does that check).
pub fn clip_l2(values: &mut [f32], max_norm: f64) -> f64 {
    if let Err(e) = check_max_norm(max_norm) {
        panic!("clip_l2: {e}");
    }
    let norm = l2_norm(values);
    if !norm.is_finite() {
        values.fill(0.0);
        return 0.0;
    }
    if norm <= max_norm {
        return 1.0;
    }
    let factor = max_norm / norm * (1.0 - CLIP_MARGIN);
    for v in values.iter_mut() {
        *v = (f64::from(*v) * factor) as f32;
    }
    factor
}

/// Checks a clipping norm: finite and > 0.
pub fn check_max_norm(max_norm: f64) -> Result<(), PrivacyError> {
    if max_norm.is_finite() && max_norm > 0.0 {
        Ok(())
    } else {
        Err(PrivacyError::invalid(
            "max_norm",
            max_norm,
            "finite and > 0",
        ))
    }
}

/// The L2 norm of `values`, accumulated in f64 (NaN or +∞ if an element is not finite).
pub fn l2_norm(values: &[f32]) -> f64 {
    values
        .iter()
        .map(|&v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        .sqrt()
}

/// The standard deviation of DP-SGD's noise on the sum of clipped gradients: σ·C.
pub fn noise_std(noise_multiplier: f64, max_norm: f64) -> f64 {
    noise_multiplier * max_norm
}

/// Adds independent N(0, std_dev²) noise to every element of `values` (sampled in f64, then
/// rounded to f32).
///
/// The RNG must be cryptographically secure ([`secure_rng`] in production; [`seeded_rng`] only
/// for reproducible simulations): anyone who can predict the noise can remove it.
///
/// # Errors
/// `std_dev` must be finite and ≥ 0 (0 adds nothing).
pub fn add_gaussian_noise<R: RngCore + CryptoRng + ?Sized>(
    values: &mut [f32],
    std_dev: f64,
    rng: &mut R,
) -> Result<(), PrivacyError> {
    check_std_dev(std_dev)?;
    if std_dev > 0.0 {
        for v in values.iter_mut() {
            *v = (f64::from(*v) + std_dev * standard_normal(rng)) as f32;
        }
    }
    Ok(())
}

/// As [`add_gaussian_noise`], for an f64 accumulator (the sum of clipped gradients).
pub fn add_gaussian_noise_f64<R: RngCore + CryptoRng + ?Sized>(
    values: &mut [f64],
    std_dev: f64,
    rng: &mut R,
) -> Result<(), PrivacyError> {
    check_std_dev(std_dev)?;
    if std_dev > 0.0 {
        for v in values.iter_mut() {
            *v += std_dev * standard_normal(rng);
        }
    }
    Ok(())
}

fn check_std_dev(std_dev: f64) -> Result<(), PrivacyError> {
    if std_dev.is_finite() && std_dev >= 0.0 {
        Ok(())
    } else {
        Err(PrivacyError::invalid("std_dev", std_dev, "finite and >= 0"))
    }
}

/// A ChaCha20 generator seeded from the operating system: the one to use for real rounds.
pub fn secure_rng() -> ChaCha20Rng {
    ChaCha20Rng::from_entropy()
}

/// A ChaCha20 generator from a fixed seed, for reproducible simulations and tests. Its noise is
/// known to whoever knows the seed: never use it for data that must stay private.
pub fn seeded_rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// Draws one standard-normal value (exposed so callers need not depend on `rand_distr`).
pub fn standard_normal<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_vectors_are_untouched() {
        let mut v = [0.3f32, -0.4]; // norm 0.5
        let before = v;
        assert_eq!(clip_l2(&mut v, 1.0), 1.0);
        assert_eq!(v, before);
        // Exactly on the bound: untouched too.
        let mut v = [3.0f32, 4.0];
        assert_eq!(clip_l2(&mut v, 5.0), 1.0);
        assert_eq!(v, [3.0, 4.0]);
        let mut empty: [f32; 0] = [];
        assert_eq!(clip_l2(&mut empty, 1.0), 1.0);
        let mut zeros = [0.0f32; 4];
        assert_eq!(clip_l2(&mut zeros, 1.0), 1.0);
    }

    #[test]
    fn long_vectors_are_scaled_onto_the_bound() {
        let mut v = [3.0f32, 4.0]; // norm 5
        let factor = clip_l2(&mut v, 1.0);
        assert!((factor - 0.2).abs() < 1e-6, "{factor}");
        // Direction kept: (0.6, 0.8), just inside the unit ball.
        assert!(
            (v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6,
            "{v:?}"
        );
        let norm = l2_norm(&v);
        assert!(norm <= 1.0 && norm > 1.0 - 1e-6, "{norm}");
    }

    #[test]
    fn clipped_norm_never_exceeds_the_bound() {
        // Many random vectors of many sizes and scales; the bound must hold after f32 rounding.
        let mut rng = seeded_rng(7);
        for n in [1usize, 2, 3, 17, 1000, 100_000] {
            for scale in [1e-3f64, 1.0, 37.0, 1e6] {
                for max_norm in [1e-3f64, 0.1, 1.0, 3.7] {
                    let mut v: Vec<f32> = (0..n)
                        .map(|_| (scale * standard_normal(&mut rng)) as f32)
                        .collect();
                    let before = l2_norm(&v);
                    let factor = clip_l2(&mut v, max_norm);
                    let after = l2_norm(&v);
                    assert!(
                        after <= max_norm,
                        "n={n} scale={scale} C={max_norm}: norm {after}"
                    );
                    assert!((0.0..=1.0).contains(&factor));
                    if before > max_norm {
                        // Clipped vectors land on the bound (within the safety margin).
                        assert!(after >= max_norm * (1.0 - 1e-5), "{after}");
                    } else {
                        assert_eq!(factor, 1.0);
                    }
                }
            }
        }
    }

    #[test]
    fn non_finite_gradients_are_zeroed() {
        let mut v = [1.0f32, f32::NAN, 2.0];
        assert_eq!(clip_l2(&mut v, 1.0), 0.0);
        assert_eq!(v, [0.0; 3]);
        let mut v = [f32::INFINITY, 0.0];
        assert_eq!(clip_l2(&mut v, 1.0), 0.0);
        assert_eq!(v, [0.0; 2]);
        // Elements whose squares overflow f32 are fine: the norm is taken in f64.
        let mut v = [3e30f32, 4e30];
        let factor = clip_l2(&mut v, 5.0);
        assert!((factor - 1e-30).abs() < 1e-36);
        assert!(l2_norm(&v) <= 5.0);
    }

    #[test]
    fn bad_bounds_are_refused_by_name() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = check_max_norm(bad).unwrap_err();
            assert!(err.to_string().contains("max_norm"), "{err}");
            let panicked = std::panic::catch_unwind(|| clip_l2(&mut [1.0], bad));
            assert!(panicked.is_err(), "clip_l2 accepted max_norm {bad}");
        }
        assert!(check_max_norm(1.0).is_ok());
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let err = add_gaussian_noise(&mut [1.0], bad, &mut seeded_rng(0)).unwrap_err();
            assert!(err.to_string().contains("std_dev"), "{err}");
            assert!(add_gaussian_noise_f64(&mut [1.0], bad, &mut seeded_rng(0)).is_err());
        }
    }

    #[test]
    fn noise_has_the_requested_moments() {
        // 200 000 draws of N(0, 2.5²): the sample mean is within 5 standard errors of 0
        // (5 · 2.5/√200000 ≈ 0.028) and the sample std within 1 % of 2.5.
        let n = 200_000;
        let mut v = vec![1.0f32; n];
        add_gaussian_noise(&mut v, 2.5, &mut seeded_rng(42)).unwrap();
        let mean = v.iter().map(|&x| f64::from(x) - 1.0).sum::<f64>() / n as f64;
        let var = v
            .iter()
            .map(|&x| (f64::from(x) - 1.0 - mean).powi(2))
            .sum::<f64>()
            / (n - 1) as f64;
        assert!(mean.abs() < 0.028, "mean {mean}");
        assert!((var.sqrt() / 2.5 - 1.0).abs() < 0.01, "std {}", var.sqrt());
    }

    #[test]
    fn zero_noise_changes_nothing_and_seeds_reproduce() {
        let mut v = [1.0f32, 2.0];
        add_gaussian_noise(&mut v, 0.0, &mut seeded_rng(1)).unwrap();
        assert_eq!(v, [1.0, 2.0]);
        let (mut a, mut b) = ([0.0f32; 8], [0.0f32; 8]);
        add_gaussian_noise(&mut a, 1.0, &mut seeded_rng(9)).unwrap();
        add_gaussian_noise(&mut b, 1.0, &mut seeded_rng(9)).unwrap();
        assert_eq!(a, b);
        let mut c = [0.0f32; 8];
        add_gaussian_noise(&mut c, 1.0, &mut secure_rng()).unwrap();
        assert_ne!(a, c);
        assert_eq!(noise_std(1.1, 2.0), 2.2);
        let mut w = [0.0f64; 8];
        add_gaussian_noise_f64(&mut w, 1.0, &mut seeded_rng(9)).unwrap();
        for (x, y) in w.iter().zip(a) {
            // Same seed, same draws: the f32 version is the f64 one rounded.
            assert_eq!(*x as f32, y);
        }
    }
}
