//! XGBoost's JSON model schema (as written by XGBoost 3.x `Booster.save_model`):
//! what `Gbdt::save` writes and `Gbdt::load` reads, so `xgboost.Booster(
//! model_file=...)` loads our boosters and we load XGBoost's.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::{Gbdt, Tree};

fn fmt_f32(v: f64) -> String {
    // XGBoost writes scalar params as strings like "5E-1"; any float literal parses.
    format!("{:E}", v as f32)
}

impl Gbdt {
    /// Serialises to XGBoost's JSON model schema (`binary:logistic`, `gbtree`).
    pub fn to_xgboost_json(&self) -> Value {
        let trees: Vec<Value> = self
            .trees
            .iter()
            .enumerate()
            .map(|(id, t)| {
                let n = t.left.len();
                json!({
                    "base_weights": t.base_weight,
                    "categories": [], "categories_nodes": [],
                    "categories_segments": [], "categories_sizes": [],
                    "default_left": t.default_left.iter().map(|&b| b as u8).collect::<Vec<_>>(),
                    "id": id,
                    "left_children": t.left,
                    "loss_changes": t.loss_change,
                    "parents": t.parent,
                    "right_children": t.right,
                    "split_conditions": t.split_condition,
                    "split_indices": t.split_index,
                    "split_type": vec![0u8; n],
                    "sum_hessian": t.sum_hessian,
                    "tree_param": {
                        "num_deleted": "0",
                        "num_feature": self.num_features.to_string(),
                        "num_nodes": n.to_string(),
                        "size_leaf_vector": "1"
                    }
                })
            })
            .collect();
        let nt = self.trees.len();
        json!({
            "version": [3, 0, 0],
            "learner": {
                "attributes": {
                    "best_iteration": nt.saturating_sub(1).to_string(),
                    "consentry_eval_logloss": serde_json::to_string(&self.eval_history).unwrap_or_default()
                },
                "feature_names": self.feature_names,
                "feature_types": vec!["float"; if self.feature_names.is_empty() { 0 } else { self.num_features }],
                "gradient_booster": {
                    "name": "gbtree",
                    "model": {
                        "cats": {"enc": [], "feature_segments": [], "sorted_idx": []},
                        "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": nt.to_string()},
                        "iteration_indptr": (0..=nt).collect::<Vec<_>>(),
                        "tree_info": vec![0u8; nt],
                        "trees": trees
                    }
                },
                "learner_model_param": {
                    "base_score": format!("[{}]", fmt_f32(self.base_score)),
                    "boost_from_average": "1",
                    "num_class": "0",
                    "num_feature": self.num_features.to_string(),
                    "num_target": "1"
                },
                "objective": {
                    "name": "binary:logistic",
                    "reg_loss_param": {"scale_pos_weight": fmt_f32(self.scale_pos_weight)}
                }
            }
        })
    }

    /// Reads an XGBoost JSON model (ours or one written by XGBoost 1.x–3.x, numeric splits only).
    pub fn from_xgboost_json(v: &Value) -> Result<Self> {
        let l = v
            .get("learner")
            .context("xgboost json: missing `learner`")?;
        let lmp = &l["learner_model_param"];
        let bs = lmp["base_score"]
            .as_str()
            .context("xgboost json: missing `learner_model_param.base_score`")?;
        // Parsed as f32 (what was written) so the in-memory value is bit-identical after a round trip.
        let base_score = bs
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<f32>()
            .context("xgboost json: `base_score` is not a number")? as f64;
        let num_features: usize = lmp["num_feature"].as_str().unwrap_or("0").parse()?;
        if l["objective"]["name"] != "binary:logistic" {
            bail!(
                "xgboost json: objective must be `binary:logistic`, found {}",
                l["objective"]["name"]
            );
        }
        let spw: f64 = l["objective"]["reg_loss_param"]["scale_pos_weight"]
            .as_str()
            .unwrap_or("1")
            .parse()?;
        let feature_names = serde_json::from_value(l["feature_names"].clone()).unwrap_or_default();
        let model = &l["gradient_booster"]["model"];
        let mut trees = Vec::new();
        for t in model["trees"]
            .as_array()
            .context("xgboost json: missing `trees`")?
        {
            let v = |k: &str| -> Result<Vec<f64>> {
                t[k].as_array()
                    .with_context(|| format!("xgboost json: tree missing `{k}`"))?
                    .iter()
                    .map(|x| {
                        x.as_f64()
                            .or_else(|| x.as_bool().map(|b| b as u8 as f64))
                            .with_context(|| format!("xgboost json: non-numeric `{k}`"))
                    })
                    .collect()
            };
            if t["split_type"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x != 0))
            {
                bail!("xgboost json: categorical splits are not supported");
            }
            trees.push(Tree {
                left: v("left_children")?.iter().map(|&x| x as i32).collect(),
                right: v("right_children")?.iter().map(|&x| x as i32).collect(),
                parent: v("parents")?.iter().map(|&x| x as i64 as i32).collect(),
                split_index: v("split_indices")?.iter().map(|&x| x as u32).collect(),
                split_condition: v("split_conditions")?.iter().map(|&x| x as f32).collect(),
                default_left: v("default_left")?.iter().map(|&x| x != 0.0).collect(),
                loss_change: v("loss_changes")?.iter().map(|&x| x as f32).collect(),
                sum_hessian: v("sum_hessian")?.iter().map(|&x| x as f32).collect(),
                base_weight: v("base_weights")?.iter().map(|&x| x as f32).collect(),
            });
        }
        let eval_history = l["attributes"]["consentry_eval_logloss"]
            .as_str()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        Ok(Self {
            trees,
            base_score,
            num_features,
            feature_names,
            scale_pos_weight: spw,
            eval_history,
        })
    }

    /// Writes the XGBoost JSON model file.
    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        std::fs::write(path, serde_json::to_vec(&self.to_xgboost_json())?)
            .with_context(|| format!("writing GBDT model to {}", path.display()))
    }

    /// Loads an XGBoost JSON model file.
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading GBDT model {}", path.display()))?;
        Self::from_xgboost_json(&serde_json::from_slice(&bytes)?)
    }
}
