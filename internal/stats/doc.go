// Package stats decides whether an ability emerged, where, and whether the
// emergence is real, and fits scaling laws. It works on plain curves — (x,
// score) points per (task, metric) — and imports nothing model-side (only
// the standard library and gonum), so it also serves results from other
// systems. Input comes from CSV (ReadCurvesCSV, ReadScalingCSV) or emlab
// run directories (ReadRuns). Library code never prints; output is the
// JSON of Result, ChinchillaFit and SingleAxisFit.
//
// # Curves
//
// A Curve is a (task, metric) series on one axis (params, non-embedding
// params, tokens, FLOPs, step or eval loss). Points at the same x from
// several seeds are pooled into a Level (mean, spread, items). Each level's
// sampling variance — binomial p̃(1−p̃)/n from the item count, a given
// standard error, or the between-seed variance — weights the fits; with
// replicate seeds but no item counts the pooled within-level variance is
// used. All fits run on t = log10 x (−log10 x for eval loss, so larger t
// always means more scale).
//
// # Emergence
//
// Analyze computes, for one curve:
//
//   - The curve oriented: a metric where lower is better (edit distance,
//     loss, perplexity: the metric's kind in package rundir's vocabulary,
//     with the aliases of published tables mapped onto it, MetricKind) is
//     judged negated, so "improves" always means better.
//   - BIG-bench's breakthroughness and linearity (Srivastava et al. 2022,
//     "Beyond the Imitation Game", appendix B) on chance-normalised scores —
//     descriptive numbers, with a documented floor for flat curves.
//   - Fits of four (five with ≥ 8 levels) models by weighted least squares
//     (Levenberg–Marquardt), each with a random effect per level — the
//     model-to-model scatter of a family of models beyond their sampling
//     noise, estimated by Paule–Mandel — used by every test: constant; a
//     line in log x; a power law in the error (Kaplan et al. 2020; the
//     smooth reading of Schaeffer et al. 2023, "Are Emergent Abilities of
//     Large Language Models a Mirage?"); a sigmoid in log x with floor,
//     ceiling, midpoint and width; and a broken power law (Caballero et al.
//     2022, "Broken Neural Scaling Laws"). Models are compared by AIC, BIC
//     and leave-one-level-out error.
//   - Wei et al. 2022 ("Emergent Abilities of Large Language Models")'s
//     operational definition made a test: near chance at the two smallest
//     scales (a binomial test against the chance rate with the number of
//     items) and clearly above it at the largest.
//   - x_star, the sigmoid midpoint, and x_cross, the first crossing of
//     chance + Delta, with percentile-bootstrap intervals over seeds,
//     items and the family variance.
//   - A verdict — emergent, smooth, flat, inverse (worse with scale;
//     McKenzie et al. 2023), non_monotone (rises then falls or the
//     reverse; Wei et al. 2022b) or insufficient — with its reason and every
//     test behind it as Evidence (see Analyze for the rules). An emergent
//     verdict needs six levels and a sigmoid that wins out of sample; a
//     verdict resting on fewer than MinItems items per evaluation is
//     flagged; a constant curve is flat with nothing fitted
//     (NotApplicable). Curves with more than MaxLevels distinct x are
//     binned first.
//
// # Is it real?
//
// JudgeMirage is the one rule deciding whether a task's sharp metric (exact
// match) shows a metric artifact: verdict artifact, not_artifact,
// inconclusive or not_applicable, from a smooth metric of the same outputs
// chosen by a fixed order (SmoothMetricNames) that counts as smooth only if
// its smooth fit passes a goodness-of-fit test, no transition model fits
// it better, and it rests on enough items; it also checks exact match ≈
// p^L (Schaeffer et al. 2023). Judgements gives every curve's verdict,
// reason, flags and its task's mirage verdict in one value, for the report
// and the findings. FitLossThreshold is the loss view (Du et al. 2024,
// "Understanding Emergent Abilities of Language Models from the Loss
// Perspective"): score against eval loss over all sizes and checkpoints, a
// flat-then-linear fit with threshold L*, and one curve for all sizes
// against one per size. ForecastCurve fits the smaller rungs of a ladder
// and predicts the larger ones with intervals: could this emergence have
// been predicted? (ForecastAnalyzed is the same forecast for a curve
// Analyze has analysed, reading the sigmoid of all rungs from its result.)
//
// # Paired comparisons and items
//
// McNemar and PairedBootstrap compare two runs on the same items (exact
// binomial or continuity-corrected χ²; a bootstrap of the mean paired
// difference). ItemViewOf is Schaeffer et al. 2024's per-item view of a
// ladder: the items that flip from wrong to right between rungs, and each
// item's correlation of score with log scale.
//
// # Scaling laws
//
// FitChinchilla fits L(N, D) = E + A/N^α + B/D^β by Hoffmann et al. 2022
// ("Training Compute-Optimal Large Language Models") approach 3: Huber loss
// (δ = 1e-3) on log loss, L-BFGS (gonum/optimize) from their grid of
// initialisations, bootstrap intervals, and the compute-optimal N*(C),
// D*(C) and tokens per parameter. FitPowerLaw fits one axis, L = E + A·x^(−α),
// and FitKaplan Kaplan et al. 2020's L = (X_c/x)^α.
//
// # Reproducibility
//
// Bootstrap replicates are split into fixed chunks, each drawing from a
// generator seeded by (seed, label, chunk index), and run on all cores, so
// results do not depend on the number of workers; AnalyzeCurves analyses
// curves in parallel, each on its own. JSON numbers are written with 6
// significant digits. The measured accuracy of every estimator is in docs/stats.md.
package stats
