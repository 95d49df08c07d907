//! Gradient-boosted decision trees for the `malicious` decision: logistic loss, Newton leaves,
//! histogram splits over per-feature quantile bins, column subsampling with a fixed seed.
//!
//! Why trees next to the logistic heads: the benign outliers that set a 0.1 % false-positive
//! threshold are *extreme* builds (a 1 MB ESM bundle, a file of SVG path strings, asm.js), and
//! a linear model extrapolates straight through them; trees score by region and saturate.
//! Explanations stay exact: each split's change of the node value is credited to its feature
//! (Saabas), so contributions sum to the score's log-odds just as the linear terms do.

use serde::{Deserialize, Serialize};

/// One tree node: a split (`feature`, `threshold`, children) or a leaf (`left == 0`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Node {
    /// Log-odds of this node (leaf: the prediction; split: the value before the split).
    pub value: f32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub feature: u32,
    #[serde(default, skip_serializing_if = "is_zero_f")]
    pub threshold: f32,
    /// Child for `x[feature] <= threshold`; 0 marks a leaf (the root is never a child).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub left: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub right: u32,
}

fn is_zero(x: &u32) -> bool {
    *x == 0
}

fn is_zero_f(x: &f32) -> bool {
    *x == 0.0
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

/// A boosted ensemble: `logit = base + Σ tree(x)`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Forest {
    pub base: f32,
    pub trees: Vec<Tree>,
}

impl Forest {
    pub fn logit(&self, x: &[f32]) -> f32 {
        self.base + self.trees.iter().map(|t| leaf(t, x).value).sum::<f32>()
    }

    /// Per-feature contributions (Saabas): `base + Σ contributions = logit`.
    pub fn contributions(&self, x: &[f32]) -> Vec<f32> {
        let mut out = vec![0f32; x.len()];
        for t in &self.trees {
            let mut i = 0usize;
            loop {
                let n = &t.nodes[i];
                if n.left == 0 {
                    break;
                }
                let next = if x[n.feature as usize] <= n.threshold {
                    n.left
                } else {
                    n.right
                } as usize;
                out[n.feature as usize] += t.nodes[next].value - n.value;
                i = next;
            }
        }
        out
    }

    /// Root values are the trees' share of the prior: the part no feature explains.
    pub fn intercept(&self) -> f32 {
        self.base + self.trees.iter().map(|t| t.nodes[0].value).sum::<f32>()
    }
}

fn leaf<'t>(t: &'t Tree, x: &[f32]) -> &'t Node {
    let mut i = 0usize;
    loop {
        let n = &t.nodes[i];
        if n.left == 0 {
            return n;
        }
        i = if x[n.feature as usize] <= n.threshold {
            n.left
        } else {
            n.right
        } as usize;
    }
}

/// Boosting settings; the defaults are what `rampart js train` uses.
#[derive(Debug, Clone)]
pub struct BoostParams {
    pub trees: usize,
    pub depth: usize,
    pub learning_rate: f32,
    /// L2 on leaf values (Newton step denominator).
    pub lambda: f32,
    /// Smallest hessian sum in a child.
    pub min_child_weight: f32,
    /// Share of features each tree may split on.
    pub colsample: f32,
    /// Quantile bins per feature.
    pub bins: usize,
    pub seed: u64,
}

impl Default for BoostParams {
    fn default() -> Self {
        Self {
            trees: 200,
            depth: 4,
            learning_rate: 0.1,
            lambda: 1.0,
            min_child_weight: 1.0,
            colsample: 0.3,
            bins: 32,
            seed: 7,
        }
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Per-feature split candidates: distinct quantiles of the training values.
fn cut_points(rows: &[&[f32]], feature: usize, bins: usize) -> Vec<f32> {
    let mut v: Vec<f32> = rows.iter().map(|r| r[feature]).collect();
    v.sort_by(f32::total_cmp);
    let mut cuts = Vec::new();
    for b in 1..bins {
        let x = v[(b * v.len() / bins).min(v.len() - 1)];
        if cuts.last() != Some(&x) && Some(&x) != v.last() {
            cuts.push(x);
        }
    }
    cuts
}

/// Trains the ensemble on labelled, weighted rows.
pub fn train(rows: &[&[f32]], y: &[bool], w: &[f32], p: &BoostParams) -> Forest {
    let n = rows.len();
    let dim = rows.first().map_or(0, |r| r.len());
    let cuts: Vec<Vec<f32>> = (0..dim).map(|f| cut_points(rows, f, p.bins)).collect();
    // Bin index of each value: column-major for cache-friendly histograms.
    let binned: Vec<Vec<u8>> = (0..dim)
        .map(|f| {
            rows.iter()
                .map(|r| cuts[f].partition_point(|c| *c < r[f]) as u8)
                .collect()
        })
        .collect();
    let useful: Vec<usize> = (0..dim).filter(|&f| !cuts[f].is_empty()).collect();
    let (pos, total): (f32, f32) = y.iter().zip(w).fold((0.0, 0.0), |(p, t), (l, w)| {
        (p + if *l { *w } else { 0.0 }, t + w)
    });
    let prior = (pos / total).clamp(1e-4, 1.0 - 1e-4);
    let base = (prior / (1.0 - prior)).ln();
    let mut f = vec![base; n];
    let mut trees = Vec::with_capacity(p.trees);
    let mut state = p.seed;
    let mut g = vec![0f32; n];
    let mut h = vec![0f32; n];
    for _ in 0..p.trees {
        for i in 0..n {
            let prob = 1.0 / (1.0 + (-f[i]).exp());
            g[i] = w[i] * (prob - f32::from(u8::from(y[i])));
            h[i] = w[i] * (prob * (1.0 - prob)).max(1e-6);
        }
        let mut features: Vec<usize> = useful.clone();
        for i in (1..features.len()).rev() {
            let j = (splitmix(&mut state) % (i as u64 + 1)) as usize;
            features.swap(i, j);
        }
        features.truncate(((features.len() as f32 * p.colsample).ceil() as usize).max(1));
        let tree = grow(&binned, &cuts, &features, &g, &h, p);
        for i in 0..n {
            f[i] += leaf(&tree, rows[i]).value;
        }
        trees.push(tree);
    }
    Forest { base, trees }
}

fn grow(
    binned: &[Vec<u8>],
    cuts: &[Vec<f32>],
    features: &[usize],
    g: &[f32],
    h: &[f32],
    p: &BoostParams,
) -> Tree {
    let value = |gs: f32, hs: f32| -gs / (hs + p.lambda) * p.learning_rate;
    let all: Vec<u32> = (0..g.len() as u32).collect();
    let mut nodes = Vec::new();
    // (node index, rows, depth)
    let (g0, h0) = sums(&all, g, h);
    nodes.push(Node {
        value: value(g0, h0),
        feature: 0,
        threshold: 0.0,
        left: 0,
        right: 0,
    });
    let mut stack = vec![(0usize, all, 0usize)];
    while let Some((id, members, depth)) = stack.pop() {
        if depth >= p.depth || members.len() < 2 {
            continue;
        }
        let (gs, hs) = sums(&members, g, h);
        let parent_score = gs * gs / (hs + p.lambda);
        let mut best: Option<(f32, usize, usize)> = None; // (gain, feature, bin)
        let mut hist_g = vec![0f32; p.bins + 1];
        let mut hist_h = vec![0f32; p.bins + 1];
        for &feat in features {
            hist_g.iter_mut().for_each(|x| *x = 0.0);
            hist_h.iter_mut().for_each(|x| *x = 0.0);
            let col = &binned[feat];
            for &r in &members {
                let b = col[r as usize] as usize;
                hist_g[b] += g[r as usize];
                hist_h[b] += h[r as usize];
            }
            let (mut gl, mut hl) = (0f32, 0f32);
            for b in 0..cuts[feat].len() {
                gl += hist_g[b];
                hl += hist_h[b];
                let (gr, hr) = (gs - gl, hs - hl);
                if hl < p.min_child_weight || hr < p.min_child_weight {
                    continue;
                }
                let gain = gl * gl / (hl + p.lambda) + gr * gr / (hr + p.lambda) - parent_score;
                if best.is_none_or(|(bg, _, _)| gain > bg) {
                    best = Some((gain, feat, b));
                }
            }
        }
        let Some((gain, feat, bin)) = best else {
            continue;
        };
        if gain <= 1e-6 {
            continue;
        }
        let col = &binned[feat];
        let (l, r): (Vec<u32>, Vec<u32>) = members
            .iter()
            .partition(|&&i| (col[i as usize] as usize) <= bin);
        let (gl, hl) = sums(&l, g, h);
        let (gr, hr) = sums(&r, g, h);
        let (li, ri) = (nodes.len(), nodes.len() + 1);
        nodes.push(Node {
            value: value(gl, hl),
            feature: 0,
            threshold: 0.0,
            left: 0,
            right: 0,
        });
        nodes.push(Node {
            value: value(gr, hr),
            feature: 0,
            threshold: 0.0,
            left: 0,
            right: 0,
        });
        let node = &mut nodes[id];
        node.feature = feat as u32;
        node.threshold = cuts[feat][bin];
        node.left = li as u32;
        node.right = ri as u32;
        stack.push((li, l, depth + 1));
        stack.push((ri, r, depth + 1));
    }
    Tree { nodes }
}

fn sums(members: &[u32], g: &[f32], h: &[f32]) -> (f32, f32) {
    members.iter().fold((0.0, 0.0), |(a, b), &i| {
        (a + g[i as usize], b + h[i as usize])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_band_a_line_cannot() {
        // Malicious only in the middle of feature 0's range: no single weight can say that.
        let data: Vec<Vec<f32>> = (0..200)
            .map(|i| {
                vec![
                    (i % 10) as f32 / 10.0,
                    ((i / 10) % 3) as f32,
                    (i % 7) as f32 / 7.0,
                ]
            })
            .collect();
        let rows: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        let y: Vec<bool> = data.iter().map(|r| r[0] > 0.25 && r[0] < 0.65).collect();
        let w = vec![1.0; rows.len()];
        let params = BoostParams {
            trees: 50,
            depth: 2,
            colsample: 1.0,
            ..BoostParams::default()
        };
        let forest = train(&rows, &y, &w, &params);
        for (r, label) in rows.iter().zip(&y) {
            assert_eq!(forest.logit(r) > 0.0, *label, "{r:?}");
            let c = forest.contributions(r);
            let total = forest.intercept() + c.iter().sum::<f32>();
            assert!(
                (total - forest.logit(r)).abs() < 1e-3,
                "{total} vs {}",
                forest.logit(r)
            );
        }
    }
}
