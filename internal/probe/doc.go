// Package probe measures mechanisms inside emlab's models: claims about
// attention, representations, abstraction and memorisation turned into
// numbers per checkpoint. docs/probes.md defines every probe
// with its perfect and random values and the measured attn2 phase change.
//
// # Pure functions
//
// The measures are functions of activations or weights that never modify
// their inputs: head detectors over one layer's pattern (B, H, T, T)
// returning one score per head (PrevTokenScores, PrefixMatchingScores,
// DuplicateTokenScores, EntropyScores, DistanceScores), stacked into a
// [layer][head] Matrix by HeadScores; the OV-circuit CopyingScore
// (Elhage et al. 2021); EffectiveRank and PrincipalComponents; the Fourier
// measures of Nanda et al. 2023 (FourierEnergy, KeyFrequencies, Gini,
// RestrictedExcluded); LinearProbe (logistic regression); ICLScore;
// ParityCoefficient; KnowledgeBits.
//
// # Models
//
// RunWithCache runs a model once and copies the named activations
// (TransformerLens names, nn.ActName) into a Cache, so later forward passes
// cannot change what a probe reads. AblateHead zero- or mean-ablates one
// head of a GPT and measures a Metric with and without it, restoring the
// model exactly.
//
// # The suite
//
// Probes lists the named probes `emlab probe` runs; each says when it
// applies and turns a checkpoint into lines of probes.jsonl (rundir.Probe,
// named by rundir's probe names), merged by rundir.MergeProbes so that
// re-probing a step replaces its lines. Probe inputs are
// drawn from Env.Seed, not the run seed, so every run and step sees the
// same inputs.
package probe
