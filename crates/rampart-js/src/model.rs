//! The classifier's model: standardized features and logistic-regression heads, trained here
//! (no I/O) and stored as a small JSON file.
//!
//! Why logistic regression: every score decomposes exactly into per-feature contributions
//! (`weight × standardized value`), which is what the reasons are made of; it trains in seconds
//! with a fixed seed and no dependencies; inference is one dot product. EVAL.md measures it
//! against the targets; a tree ensemble would have to beat it by a margin to be worth losing
//! exact explanations.

use serde::{Deserialize, Serialize};

use crate::features::{FEATURES_VERSION, dimension};

/// One logistic-regression head: `p = sigmoid(bias + Σ weights[i] · z[i])` over standardized
/// features `z`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Head {
    /// `malicious` (any category vs benign), or a category (`magecart`, `cryptomining`,
    /// `malware`: one category vs the other malicious ones).
    pub name: String,
    pub bias: f32,
    pub weights: Vec<f32>,
}

impl Head {
    /// Log-odds of the head for standardized features.
    pub fn logit(&self, z: &[f32]) -> f32 {
        self.bias + self.weights.iter().zip(z).map(|(w, x)| w * x).sum::<f32>()
    }
}

/// A trained model, as stored in `model/classifier.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    /// Shown in API answers and alerts, so a score can be traced to the model that gave it.
    pub version: String,
    /// The feature layout this model was trained for (see `features.rs`).
    pub features_version: u32,
    pub mean: Vec<f32>,
    pub scale: Vec<f32>,
    /// Probability of the `malicious` head at which the score is 49 (malicious); chosen on
    /// held-out benign code for the false-positive target.
    pub threshold: f32,
    pub heads: Vec<Head>,
    /// Boosted trees for the `malicious` decision over raw features; when present they replace
    /// the `malicious` logistic head for scoring (the category heads stay linear).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forest: Option<crate::boost::Forest>,
    /// How the model was made (corpus sizes, seed, parameters); informational.
    #[serde(default)]
    pub provenance: serde_json::Value,
}

/// Why a model file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the model file is not valid JSON for a model: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "the model was trained for feature layout {found}, this build computes layout {expected}; retrain it with `rampart js train`"
    )]
    FeaturesVersion { found: u32, expected: u32 },
    #[error("the model has {found} values per vector where {expected} are needed")]
    Dimension { found: usize, expected: usize },
    #[error("the model has no `{0}` head")]
    MissingHead(&'static str),
}

/// The heads every model has.
pub const HEADS: [&str; 4] = ["malicious", "magecart", "cryptomining", "malware"];

impl Model {
    /// Parses and checks a model file.
    pub fn from_json(text: &str) -> Result<Self, ModelError> {
        let model: Model = serde_json::from_str(text)?;
        if model.features_version != FEATURES_VERSION {
            return Err(ModelError::FeaturesVersion {
                found: model.features_version,
                expected: FEATURES_VERSION,
            });
        }
        let n = dimension();
        for len in [model.mean.len(), model.scale.len()]
            .into_iter()
            .chain(model.heads.iter().map(|h| h.weights.len()))
        {
            if len != n {
                return Err(ModelError::Dimension {
                    found: len,
                    expected: n,
                });
            }
        }
        for name in HEADS {
            if !model.heads.iter().any(|h| h.name == name) {
                return Err(ModelError::MissingHead(name));
            }
        }
        Ok(model)
    }

    /// The model shipped in this build (`crates/rampart-js/model/classifier.json`).
    pub fn embedded() -> &'static Model {
        static MODEL: std::sync::OnceLock<Model> = std::sync::OnceLock::new();
        MODEL.get_or_init(|| {
            Model::from_json(include_str!("../model/classifier.json"))
                .expect("the embedded model matches this build (checked by a unit test)")
        })
    }

    pub fn head(&self, name: &str) -> &Head {
        self.heads
            .iter()
            .find(|h| h.name == name)
            .expect("checked by from_json")
    }

    /// Log-odds that the script is malicious, from raw features.
    pub fn malicious_logit(&self, x: &[f32]) -> f32 {
        match &self.forest {
            Some(f) => f.logit(x),
            None => self.head("malicious").logit(&self.standardize(x)),
        }
    }

    /// Each feature's share of [`Model::malicious_logit`] (linear terms, or tree-path credits).
    pub fn malicious_contributions(&self, x: &[f32]) -> Vec<f32> {
        match &self.forest {
            Some(f) => f.contributions(x),
            None => {
                let head = self.head("malicious");
                self.standardize(x)
                    .iter()
                    .zip(&head.weights)
                    .map(|(z, w)| z * w)
                    .collect()
            }
        }
    }

    /// Standardized features, clipped so one extreme value cannot dominate a score.
    pub fn standardize(&self, x: &[f32]) -> Vec<f32> {
        x.iter()
            .zip(self.mean.iter().zip(&self.scale))
            .map(|(v, (m, s))| ((v - m) / s).clamp(-8.0, 8.0))
            .collect()
    }
}

/// Mean and scale of each feature over `rows` (scale = standard deviation plus a floor, so rare
/// binary features do not get huge standardized values).
pub fn standardization(rows: &[&[f32]]) -> (Vec<f32>, Vec<f32>) {
    let n = dimension();
    let count = rows.len().max(1) as f64;
    let mut mean = vec![0f64; n];
    for r in rows {
        for (m, v) in mean.iter_mut().zip(r.iter()) {
            *m += f64::from(*v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= count);
    let mut var = vec![0f64; n];
    for r in rows {
        for ((s, v), m) in var.iter_mut().zip(r.iter()).zip(&mean) {
            *s += (f64::from(*v) - m).powi(2);
        }
    }
    let scale = var
        .iter()
        .map(|s| ((s / count).sqrt() + 0.02) as f32)
        .collect();
    (mean.into_iter().map(|m| m as f32).collect(), scale)
}

/// Training settings; the defaults are what `rampart js train` uses.
#[derive(Debug, Clone)]
pub struct TrainParams {
    pub epochs: usize,
    pub learning_rate: f32,
    /// L2 penalty on the weights (not the bias).
    pub l2: f32,
}

impl Default for TrainParams {
    fn default() -> Self {
        Self {
            epochs: 300,
            learning_rate: 0.05,
            l2: 0.03,
        }
    }
}

pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Trains one head by full-batch Adam on weighted log-loss. `z` are standardized rows, `y` the
/// labels, `w` per-sample weights (the caller balances classes and families). Deterministic:
/// weights start at zero and every step uses the whole batch.
pub fn train_head(name: &str, z: &[Vec<f32>], y: &[bool], w: &[f32], p: &TrainParams) -> Head {
    let n = dimension();
    let total: f32 = w.iter().sum::<f32>().max(f32::MIN_POSITIVE);
    let mut weights = vec![0f32; n + 1]; // last = bias
    let (mut m1, mut m2) = (vec![0f32; n + 1], vec![0f32; n + 1]);
    let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
    let mut grad = vec![0f32; n + 1];
    for step in 1..=p.epochs {
        grad.iter_mut().for_each(|g| *g = 0.0);
        for ((row, &label), &sw) in z.iter().zip(y).zip(w) {
            let logit = weights[n]
                + weights[..n]
                    .iter()
                    .zip(row)
                    .map(|(a, b)| a * b)
                    .sum::<f32>();
            let err = (sigmoid(logit) - f32::from(u8::from(label))) * sw / total;
            for (g, x) in grad[..n].iter_mut().zip(row) {
                *g += err * x;
            }
            grad[n] += err;
        }
        for (g, wt) in grad[..n].iter_mut().zip(&weights[..n]) {
            *g += p.l2 * wt;
        }
        let (c1, c2) = (1.0 - b1.powi(step as i32), 1.0 - b2.powi(step as i32));
        for i in 0..=n {
            m1[i] = b1 * m1[i] + (1.0 - b1) * grad[i];
            m2[i] = b2 * m2[i] + (1.0 - b2) * grad[i] * grad[i];
            weights[i] -= p.learning_rate * (m1[i] / c1) / ((m2[i] / c2).sqrt() + eps);
        }
    }
    let bias = weights.pop().unwrap_or(0.0);
    Head {
        name: name.to_string(),
        bias,
        weights,
    }
}

/// Page Shield's scale: 1 = certainly malicious, 99 = certainly clean, below 50 = malicious.
/// Probability `threshold` maps to 49; the two sides are stretched linearly.
pub fn score(probability: f32, threshold: f32) -> u8 {
    let (p, t) = (
        probability.clamp(0.0, 1.0),
        threshold.clamp(1e-6, 1.0 - 1e-6),
    );
    let s = if p >= t {
        49.0 - 48.0 * (p - t) / (1.0 - t)
    } else {
        99.0 - 49.0 * p / t
    };
    s.round().clamp(1.0, 99.0) as u8
}

pub(crate) fn probability(head: &Head, z: &[f32]) -> f32 {
    sigmoid(head.logit(z))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_page_shield_scale() {
        assert_eq!(score(0.9, 0.9), 49);
        assert_eq!(score(1.0, 0.9), 1);
        assert_eq!(score(0.0, 0.9), 99);
        assert!(score(0.89, 0.9) >= 50);
        assert!(score(0.2, 0.9) > score(0.8, 0.9));
    }

    #[test]
    fn the_embedded_model_loads() {
        let m = Model::embedded();
        assert_eq!(m.features_version, FEATURES_VERSION);
        assert!(m.threshold > 0.0 && m.threshold < 1.0);
    }

    #[test]
    fn training_separates_a_linear_problem() {
        let n = dimension();
        let mut z = Vec::new();
        let mut y = Vec::new();
        for i in 0..40 {
            let mut row = vec![0f32; n];
            row[3] = if i % 2 == 0 { 1.0 } else { -1.0 };
            row[7] = (i % 5) as f32 / 5.0;
            z.push(row);
            y.push(i % 2 == 0);
        }
        let w = vec![1.0; z.len()];
        let head = train_head("t", &z, &y, &w, &TrainParams::default());
        assert!(head.weights[3] > 1.0, "{}", head.weights[3]);
        for (row, label) in z.iter().zip(&y) {
            assert_eq!(probability(&head, row) > 0.5, *label);
        }
    }
}
