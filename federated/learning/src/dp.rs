//! Clipping, Gaussian noise and the accountant: re-exported from
//! `consentry-privacy`, which owns them (this crate only calls them).

pub use consentry_privacy::{
    add_gaussian_noise_f64, calibrate_noise_multiplier, clip_l2, l2_norm, secure_rng, seeded_rng,
    DpSgdEvent, RdpAccountant,
};
