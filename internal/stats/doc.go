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
//   - BIG-bench's breakthroughness and linearity (Srivastava et al. 2022,
//     "Beyond the Imitation Game", appendix B) on chance-normalised scores —
//     descriptive numbers, with a documented floor for flat curves.
//   - Fits of four (five with ≥ 8 levels) models by weighted least squares
//     (Levenberg–Marquardt): constant; a line in log x; a power law in the
//     error (Kaplan et al. 2020; the smooth reading of Schaeffer et al. 2023,
//     "Are Emergent Abilities of Large Language Models a Mirage?"); a
//     sigmoid in log x with floor, ceiling, midpoint and width; and a broken
//     power law (Caballero et al. 2022, "Broken Neural Scaling Laws").
//     Models are compared by AIC, BIC and leave-one-level-out error.
//   - Wei et al. 2022 ("Emergent Abilities of Large Language Models")'s
//     operational definition made a test: near chance at small scale (a
//     binomial test against the chance rate with the number of items) and
//     clearly above it at large scale.
//   - x_star, the sigmoid midpoint, and x_cross, the first crossing of
//     chance + Delta, with percentile-bootstrap intervals over seeds and
//     items.
//   - A verdict — emergent, smooth, flat or insufficient — with every test
//     behind it as Evidence (see Analyze for the rules).
//
// # Is it real?
//
// Mirage compares a task's sharp metric (exact match) with smooth metrics
// of the same outputs and checks exact match ≈ p^L (Schaeffer et al. 2023).
// FitLossThreshold is the loss view (Du et al. 2024, "Understanding
// Emergent Abilities of Language Models from the Loss Perspective"): score
// against eval loss over all sizes and checkpoints, a flat-then-linear fit
// with threshold L*, and one curve for all sizes against one per size.
// ForecastCurve fits the smaller rungs of a ladder and predicts the larger
// ones with intervals: could this emergence have been predicted?
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
// generator seeded by (seed, label, chunk index), so results do not depend
// on the number of workers; JSON numbers are written with 6 significant
// digits. The measured accuracy of every estimator is in docs/stats.md.
package stats
