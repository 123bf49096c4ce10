//! Fixed-point encoding of model updates into Z_{2^32}, and of weighted FedAvg as Flower does.
//!
//! [`Quantizer`]: a value `x` is clipped to `[−clip, clip]`, mapped to `v = (x + clip)·s` with
//! `s = (2^bits − 1) / (2·clip)`, and rounded *stochastically*: up with probability `v − ⌊v⌋`, so
//! `E[q] = v` and the dequantized value `q/s − clip` is unbiased; its error is below one step
//! `1/s`. Values outside the range are clipped (as in Flower), NaN/∞ are refused.
//!
//! [`WeightedEncoding`]: a site with weight `n_k` (its patient count, at most `max_weight`)
//! contributes `[n_k, n_k·q_1, …, n_k·q_m]`, so the sum reveals only `Σ n_k` and `Σ n_k·q_i`, from
//! which the weighted mean `Σ n_k·x_k / Σ n_k` follows. The constructor checks that the sum of up
//! to `max_sites` such vectors cannot wrap modulo 2^32 — `max_sites·max_weight·(2^bits − 1) <
//! 2^32` — and refuses otherwise ([`Error::RingOverflow`]), the failure of fedbiomed #1210, where
//! sums silently wrapped at 10 sites; and it refuses `clip ≤ 0`, which Flower accepted and later
//! divided by (Flower PR #7633).

use rand_core::RngCore;

use crate::error::{Error, Result};

/// Clip-and-scale quantizer with unbiased stochastic rounding into `[0, 2^bits − 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantizer {
    clip: f64,
    bits: u32,
    scale: f64,
}

fn uniform01<R: RngCore>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

impl Quantizer {
    /// `clip` finite and > 0, `bits` in 1..=31.
    pub fn new(clip: f64, bits: u32) -> Result<Self> {
        if !(clip.is_finite() && clip > 0.0) {
            return Err(Error::InvalidClip { clip });
        }
        if !(1..=31).contains(&bits) {
            return Err(Error::InvalidBits { bits });
        }
        Ok(Self {
            clip,
            bits,
            scale: Self::max_level_of(bits) as f64 / (2.0 * clip),
        })
    }

    fn max_level_of(bits: u32) -> u32 {
        (1u32 << bits) - 1
    }

    /// Largest quantized value, `2^bits − 1`.
    pub fn max_level(&self) -> u32 {
        Self::max_level_of(self.bits)
    }

    /// Clipping range.
    pub fn clip(&self) -> f64 {
        self.clip
    }

    /// Bits per quantized value.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// One quantization step `2·clip / (2^bits − 1)`: the bound on each value's rounding error.
    pub fn step(&self) -> f64 {
        1.0 / self.scale
    }

    /// Quantizes one value (clipped) with stochastic rounding.
    pub fn quantize_one<R: RngCore>(&self, x: f32, rng: &mut R) -> u32 {
        let v = (f64::from(x).clamp(-self.clip, self.clip) + self.clip) * self.scale;
        let floor = v.floor();
        let up = uniform01(rng) < v - floor;
        (floor as u32 + u32::from(up)).min(self.max_level())
    }

    /// Quantizes a vector; refuses NaN or infinite values.
    pub fn quantize<R: RngCore>(&self, values: &[f32], rng: &mut R) -> Result<Vec<u32>> {
        check_finite(values)?;
        Ok(values.iter().map(|&x| self.quantize_one(x, rng)).collect())
    }

    /// Dequantizes one quantized value.
    pub fn dequantize_one(&self, q: u32) -> f64 {
        f64::from(q) / self.scale - self.clip
    }

    /// Dequantizes the sum of `count` quantized vectors: `Σ x̂ = q_sum / s − count·clip`.
    /// (Caller guarantees the sum did not wrap; [`WeightedEncoding`] validates that.)
    pub fn dequantize_sum(&self, sum: &[u32], count: u64) -> Vec<f64> {
        let shift = count as f64 * self.clip;
        sum.iter()
            .map(|&q| f64::from(q) / self.scale - shift)
            .collect()
    }
}

fn check_finite(values: &[f32]) -> Result<()> {
    match values.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(Error::NonFiniteInput { index }),
        None => Ok(()),
    }
}

/// Weighted FedAvg over the ring: sites send `[n_k, n_k·q(w_k)]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightedEncoding {
    quantizer: Quantizer,
    max_weight: u32,
    max_sites: u32,
}

/// The decoded weighted sum.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedMean {
    /// `Σ n_k` over the summed sites.
    pub total_weight: u64,
    /// `Σ n_k·x_k / Σ n_k`, per parameter.
    pub mean: Vec<f64>,
}

impl WeightedEncoding {
    /// Validates that `max_sites` sites of weight up to `max_weight` cannot wrap 2^32.
    pub fn new(quantizer: Quantizer, max_weight: u32, max_sites: u32) -> Result<Self> {
        let worst = u128::from(max_sites.max(1))
            * u128::from(max_weight.max(1))
            * u128::from(quantizer.max_level());
        if max_sites == 0 || max_weight == 0 || worst > u128::from(u32::MAX) {
            return Err(Error::RingOverflow {
                max_sites,
                max_weight,
                bits: quantizer.bits(),
                needed_bits: (worst as f64 + 1.0).log2(),
            });
        }
        Ok(Self {
            quantizer,
            max_weight,
            max_sites,
        })
    }

    /// The quantizer.
    pub fn quantizer(&self) -> &Quantizer {
        &self.quantizer
    }

    /// Length of the encoded vector for `params` parameters: `params + 1`.
    pub fn vector_len(params: usize) -> usize {
        params + 1
    }

    /// `[n_k, n_k·q(x_1), …, n_k·q(x_m)]`.
    pub fn encode<R: RngCore>(&self, values: &[f32], weight: u32, rng: &mut R) -> Result<Vec<u32>> {
        if weight > self.max_weight {
            return Err(Error::WeightTooLarge {
                weight,
                max: self.max_weight,
            });
        }
        check_finite(values)?;
        let mut out = Vec::with_capacity(values.len() + 1);
        out.push(weight);
        // n·q ≤ max_weight·(2^bits − 1) < 2^32 by construction.
        out.extend(
            values
                .iter()
                .map(|&x| weight * self.quantizer.quantize_one(x, rng)),
        );
        Ok(out)
    }

    /// Decodes the unmasked sum of `sites` encoded vectors into the weighted mean.
    pub fn decode(&self, sum: &[u32], sites: u32) -> Result<WeightedMean> {
        if sites > self.max_sites {
            return Err(Error::TooManySites {
                sites,
                max: self.max_sites,
            });
        }
        let (&total, rest) = sum.split_first().ok_or(Error::EmptyVector)?;
        if total == 0 {
            return Err(Error::ZeroTotalWeight);
        }
        let w = f64::from(total);
        let mean = self
            .quantizer
            .dequantize_sum(rest, u64::from(total))
            .into_iter()
            .map(|s| s / w)
            .collect();
        Ok(WeightedMean {
            total_weight: u64::from(total),
            mean,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn invalid_parameters_are_refused() {
        assert_eq!(
            Quantizer::new(0.0, 16).unwrap_err(),
            Error::InvalidClip { clip: 0.0 }
        );
        assert!(matches!(
            Quantizer::new(-1.0, 16),
            Err(Error::InvalidClip { .. })
        ));
        assert!(matches!(
            Quantizer::new(f64::NAN, 16),
            Err(Error::InvalidClip { .. })
        ));
        assert!(matches!(
            Quantizer::new(f64::INFINITY, 16),
            Err(Error::InvalidClip { .. })
        ));
        assert_eq!(
            Quantizer::new(1.0, 0).unwrap_err(),
            Error::InvalidBits { bits: 0 }
        );
        assert_eq!(
            Quantizer::new(1.0, 32).unwrap_err(),
            Error::InvalidBits { bits: 32 }
        );
        let q = Quantizer::new(1.0, 8).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        assert_eq!(
            q.quantize(&[0.0, f32::NAN], &mut rng).unwrap_err(),
            Error::NonFiniteInput { index: 1 }
        );
    }

    #[test]
    fn overflow_validation() {
        // Flower's defaults (2^22 levels, max_weight 1000) would wrap at 2^32 with 10 sites.
        let q22 = Quantizer::new(8.0, 22).unwrap();
        match WeightedEncoding::new(q22, 1000, 10).unwrap_err() {
            Error::RingOverflow { needed_bits, .. } => assert!(needed_bits > 32.0),
            e => panic!("unexpected {e}"),
        }
        // 16 bits: 10 sites × 6553 × 65535 < 2^32, one more unit of weight is too much.
        let q16 = Quantizer::new(1.0, 16).unwrap();
        assert!(WeightedEncoding::new(q16, 6553, 10).is_ok());
        assert!(WeightedEncoding::new(q16, 6554, 10).is_err());
        assert!(WeightedEncoding::new(q16, 1, 65537).is_ok());
        assert!(WeightedEncoding::new(q16, 1, 65538).is_err());
        assert!(WeightedEncoding::new(q16, 0, 10).is_err());
        let enc = WeightedEncoding::new(q16, 100, 10).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        assert_eq!(
            enc.encode(&[0.5], 101, &mut rng).unwrap_err(),
            Error::WeightTooLarge {
                weight: 101,
                max: 100
            }
        );
        assert_eq!(enc.decode(&[0, 0], 1).unwrap_err(), Error::ZeroTotalWeight);
        assert_eq!(
            enc.decode(&[1, 0], 11).unwrap_err(),
            Error::TooManySites { sites: 11, max: 10 }
        );
    }

    #[test]
    fn the_first_refused_setting_would_wrap() {
        // One unit of weight above the accepted maximum: ten worst-case sites exceed 2^32, so the
        // refusal is not over-cautious, and the accepted maximum is the tight bound.
        let levels = u64::from(Quantizer::new(1.0, 16).unwrap().max_level());
        assert!(10 * 6553 * levels <= u64::from(u32::MAX));
        assert!(10 * 6554 * levels > u64::from(u32::MAX));
    }

    proptest::proptest! {
        #[test]
        fn quantize_round_trip_within_one_step(
            x in -100.0f32..100.0, clip in 0.01f64..50.0, bits in 1u32..=31, seed: u64,
        ) {
            let q = Quantizer::new(clip, bits).unwrap();
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let level = q.quantize_one(x, &mut rng);
            proptest::prop_assert!(level <= q.max_level());
            let back = q.dequantize_one(level);
            let clipped = f64::from(x).clamp(-clip, clip);
            proptest::prop_assert!((back - clipped).abs() <= q.step() * (1.0 + 1e-9));
        }
    }

    #[test]
    fn worst_case_sum_does_not_wrap() {
        // Every site at max weight sending +clip everywhere: the validated bound is tight.
        let q = Quantizer::new(2.0, 16).unwrap();
        let enc = WeightedEncoding::new(q, 6553, 10).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut sum = vec![0u32; 4];
        for _ in 0..10 {
            let v = enc.encode(&[2.0, 5.0, -2.0], 6553, &mut rng).unwrap();
            for (s, x) in sum.iter_mut().zip(v) {
                *s = s.wrapping_add(x);
            }
        }
        let m = enc.decode(&sum, 10).unwrap();
        assert_eq!(m.total_weight, 65530);
        assert!((m.mean[0] - 2.0).abs() < 1e-9 && (m.mean[1] - 2.0).abs() < 1e-9);
        assert!((m.mean[2] + 2.0).abs() < 1e-9);
        assert_eq!(sum[1], 10 * 6553 * 65535); // the largest possible sum, below 2^32
    }

    #[test]
    fn round_trip_error_below_one_step() {
        let q = Quantizer::new(3.0, 12).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        for i in 0..10_000 {
            let x = -3.5 + 7.0 * (i as f32) / 10_000.0;
            let back = q.dequantize_one(q.quantize_one(x, &mut rng));
            let clipped = f64::from(x).clamp(-3.0, 3.0);
            assert!((back - clipped).abs() <= q.step() + 1e-12, "{x} -> {back}");
        }
    }

    #[test]
    fn stochastic_rounding_is_unbiased() {
        // A value a third of the way between two levels: deterministic rounding would be off by
        // a third of a step; the mean of many stochastic roundings must be within a few
        // standard errors of the value itself.
        let q = Quantizer::new(1.0, 4).unwrap(); // coarse: step = 2/15
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        for &x in &[0.1f32, -0.37, 0.999, -0.05] {
            let n = 200_000;
            let mean: f64 = (0..n)
                .map(|_| q.dequantize_one(q.quantize_one(x, &mut rng)))
                .sum::<f64>()
                / n as f64;
            let se = q.step() / 2.0 / (n as f64).sqrt();
            assert!(
                (mean - f64::from(x)).abs() < 5.0 * se,
                "x = {x}: mean {mean}, se {se}"
            );
        }
    }

    #[test]
    fn weighted_mean_matches_float_fedavg() {
        let q = Quantizer::new(1.0, 16).unwrap();
        let enc = WeightedEncoding::new(q, 2000, 10).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let sites: Vec<(u32, Vec<f32>)> = vec![
            (120, vec![0.5, -0.25, 0.9]),
            (1500, vec![-0.1, 0.3, 0.0]),
            (37, vec![0.99, -0.99, 0.4]),
        ];
        let mut sum = vec![0u32; 4];
        for (n, w) in &sites {
            for (s, x) in sum.iter_mut().zip(enc.encode(w, *n, &mut rng).unwrap()) {
                *s = s.wrapping_add(x);
            }
        }
        let m = enc.decode(&sum, 3).unwrap();
        let total: u32 = sites.iter().map(|(n, _)| n).sum();
        assert_eq!(m.total_weight, u64::from(total));
        for i in 0..3 {
            let exact: f64 = sites
                .iter()
                .map(|(n, w)| f64::from(*n) * f64::from(w[i]))
                .sum::<f64>()
                / f64::from(total);
            assert!(
                (m.mean[i] - exact).abs() <= q.step(),
                "param {i}: {} vs {exact}",
                m.mean[i]
            );
        }
    }
}
