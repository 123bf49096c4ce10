//! A model's named parameters as one flat `f32` vector and back.
//!
//! The layout is the variables of a candle [`VarMap`] **sorted by name**, each
//! flattened row-major, concatenated. Every site and the aggregator build the
//! same architecture, so they derive the same [`ParamLayout`]; a vector is only
//! ever loaded into a model whose layout matches name for name and shape for
//! shape (anything else is refused, never reshaped).

use anyhow::{bail, Result};
use candle_core::{Tensor, Var};
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};

/// Names and shapes of a model's parameters, in flattening order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamLayout {
    /// `(name, shape)` sorted by name.
    pub entries: Vec<(String, Vec<usize>)>,
}

impl ParamLayout {
    /// The layout of `map`'s variables (sorted by name).
    pub fn of(map: &VarMap) -> Self {
        Self {
            entries: named_vars(map)
                .into_iter()
                .map(|(n, v)| (n, v.dims().to_vec()))
                .collect(),
        }
    }

    /// Total number of scalars.
    pub fn len(&self) -> usize {
        self.entries
            .iter()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum()
    }

    /// True when the model has no parameters.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `(name, offset, len)` of each parameter in the flat vector.
    pub fn offsets(&self) -> Vec<(&str, usize, usize)> {
        let mut off = 0;
        self.entries
            .iter()
            .map(|(n, s)| {
                let l = s.iter().product::<usize>();
                let r = (n.as_str(), off, l);
                off += l;
                r
            })
            .collect()
    }
}

/// The variables of `map`, sorted by name (a `VarMap` is a `HashMap`, whose
/// order is not stable across runs or processes).
pub fn named_vars(map: &VarMap) -> Vec<(String, Var)> {
    let data = map.data().lock().expect("varmap lock");
    let mut v: Vec<(String, Var)> = data.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The parameters of `map` as one vector, in [`ParamLayout::of`] order.
pub fn flatten(map: &VarMap) -> Result<Vec<f32>> {
    let vars = named_vars(map);
    let mut out = Vec::with_capacity(vars.iter().map(|(_, v)| v.elem_count()).sum());
    for (_, v) in vars {
        out.extend(v.as_tensor().flatten_all()?.to_vec1::<f32>()?);
    }
    Ok(out)
}

/// Sets `map`'s variables from `flat`, which must have been produced for
/// `layout`; `map`'s own layout must equal `layout` (same names, same shapes)
/// and `flat` must have exactly `layout.len()` scalars.
pub fn load(map: &VarMap, layout: &ParamLayout, flat: &[f32]) -> Result<()> {
    let own = ParamLayout::of(map);
    if &own != layout {
        let diff = own
            .entries
            .iter()
            .zip(&layout.entries)
            .find(|(a, b)| a != b)
            .map(|(a, b)| {
                format!(
                    ": model has {} {:?}, vector has {} {:?}",
                    a.0, a.1, b.0, b.1
                )
            })
            .unwrap_or_else(|| {
                format!(
                    ": model has {} parameters, vector's layout {}",
                    own.entries.len(),
                    layout.entries.len()
                )
            });
        bail!("parameter layout mismatch{diff}");
    }
    if flat.len() != layout.len() {
        bail!(
            "parameter vector has {} scalars, the layout needs {}",
            flat.len(),
            layout.len()
        );
    }
    if let Some(i) = flat.iter().position(|x| !x.is_finite()) {
        bail!("parameter vector has a non-finite value at {i}");
    }
    let vars = named_vars(map);
    let mut off = 0;
    for (_, var) in vars {
        let n = var.elem_count();
        let t = Tensor::from_slice(&flat[off..off + n], var.shape(), var.device())?;
        var.set(&t)?;
        off += n;
    }
    Ok(())
}

/// The gradients of `vars` (in their order) from a backward pass, flattened
/// into one vector; a variable the loss does not depend on gets zeros.
pub fn flatten_grads(
    vars: &[(String, Var)],
    grads: &candle_core::backprop::GradStore,
) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(vars.iter().map(|(_, v)| v.elem_count()).sum());
    for (_, v) in vars {
        match grads.get(v.as_tensor()) {
            Some(g) => out.extend(g.flatten_all()?.to_vec1::<f32>()?),
            None => out.extend(std::iter::repeat_n(0.0f32, v.elem_count())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use candle_nn::Init;

    fn map(shapes: &[(&str, &[usize])]) -> VarMap {
        let m = VarMap::new();
        for (n, s) in shapes {
            m.get(s.to_vec(), n, Init::Const(0.0), DType::F32, &Device::Cpu)
                .unwrap();
        }
        m
    }

    #[test]
    fn flatten_is_sorted_by_name_and_round_trips() {
        let m = map(&[("b", &[2]), ("a", &[2, 2])]);
        let l = ParamLayout::of(&m);
        assert_eq!(l.entries[0].0, "a");
        assert_eq!(l.len(), 6);
        let v = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        load(&m, &l, &v).unwrap();
        let a = m.data().lock().unwrap()["a"]
            .as_tensor()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(a, vec![vec![1.0, 2.0], vec![3.0, 4.0]]);
        let b = m.data().lock().unwrap()["b"]
            .as_tensor()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(b, vec![5.0, 6.0]);
        assert_eq!(flatten(&m).unwrap(), v);
    }

    #[test]
    fn shape_or_length_mismatch_is_refused() {
        let m = map(&[("a", &[2, 2])]);
        let other = ParamLayout::of(&map(&[("a", &[4])]));
        assert!(load(&m, &other, &[0.0; 4]).is_err());
        let renamed = ParamLayout::of(&map(&[("z", &[2, 2])]));
        assert!(load(&m, &renamed, &[0.0; 4]).is_err());
        let l = ParamLayout::of(&m);
        assert!(load(&m, &l, &[0.0; 3]).is_err());
        assert!(load(&m, &l, &[0.0, f32::NAN, 0.0, 0.0]).is_err());
    }
}
