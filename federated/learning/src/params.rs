//! A model's named parameters as one flat `f32` vector and back.
//!
//! The layout is the variables of a candle [`VarMap`] **sorted by name**, each
//! flattened row-major, concatenated. Every site and the aggregator build the
//! same architecture, so they derive the same [`ParamLayout`]; a vector is only
//! ever loaded into a model whose layout matches name for name and shape for
//! shape (anything else is refused, never reshaped).

use anyhow::{bail, Result};
use candle_core::{Device, Tensor, Var};
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

/// `flat` (a vector for `layout`) as safetensors bytes, one tensor per parameter under its
/// layout name: the file a model version is published as, and the bytes its SHA-256 (the
/// digest the consortium contract cites) is taken of. The `safetensors` crate writes them.
pub fn to_safetensors(layout: &ParamLayout, flat: &[f32]) -> Result<Vec<u8>> {
    if flat.len() != layout.len() {
        bail!(
            "parameter vector has {} scalars, the layout needs {}",
            flat.len(),
            layout.len()
        );
    }
    let mut tensors = Vec::with_capacity(layout.entries.len());
    let mut off = 0;
    for (name, shape) in &layout.entries {
        let n: usize = shape.iter().product();
        let t = Tensor::from_slice(&flat[off..off + n], shape.as_slice(), &Device::Cpu)?;
        tensors.push((name.clone(), t));
        off += n;
    }
    Ok(safetensors::serialize(tensors, None)?)
}

/// The flat vector for `layout` from [`to_safetensors`] bytes: every parameter of the layout
/// must be there with its shape, and nothing else.
pub fn from_safetensors(layout: &ParamLayout, bytes: &[u8]) -> Result<Vec<f32>> {
    let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)?;
    if tensors.len() != layout.entries.len() {
        bail!(
            "the model file has {} tensors, the layout {}",
            tensors.len(),
            layout.entries.len()
        );
    }
    let mut flat = Vec::with_capacity(layout.len());
    for (name, shape) in &layout.entries {
        let t = tensors
            .get(name)
            .ok_or_else(|| anyhow::anyhow!("the model file has no tensor `{name}`"))?;
        if t.dims() != shape.as_slice() {
            bail!(
                "tensor `{name}` has shape {:?}, the layout {shape:?}",
                t.dims()
            );
        }
        flat.extend(t.flatten_all()?.to_vec1::<f32>()?);
    }
    if let Some(i) = flat.iter().position(|x| !x.is_finite()) {
        bail!("the model file has a non-finite value at {i}");
    }
    Ok(flat)
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

    #[test]
    fn a_model_file_is_safetensors_by_layout_name_and_reads_back() {
        let l = ParamLayout::of(&map(&[("b", &[2]), ("a", &[2, 2])]));
        let v = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let bytes = to_safetensors(&l, &v).unwrap();
        // Read by the safetensors crate itself: names, shapes, little-endian f32 data.
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let a = st.tensor("a").unwrap();
        assert_eq!(a.shape(), &[2, 2]);
        assert_eq!(a.dtype(), safetensors::Dtype::F32);
        let a_vals: Vec<f32> = a
            .data()
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(a_vals, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(from_safetensors(&l, &bytes).unwrap(), v);
        // The same parameters always give the same bytes (one digest per model version).
        assert_eq!(to_safetensors(&l, &v).unwrap(), bytes);
        // Another layout is refused by name or shape.
        let other = ParamLayout::of(&map(&[("b", &[2]), ("a", &[4])]));
        assert!(from_safetensors(&other, &bytes).is_err());
        let renamed = ParamLayout::of(&map(&[("c", &[2]), ("a", &[2, 2])]));
        assert!(from_safetensors(&renamed, &bytes).is_err());
    }
}
