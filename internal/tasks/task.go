// Package tasks is the ability battery: each task is a text format with a
// seeded, endless generator of training documents, a held-out evaluation set
// the generator can never produce, the prompt/answer split of each
// evaluation item, its chance level and the metrics that apply. Tasks are
// kept in a registry (Lookup, List) and named with parameters in the syntax
// `add(digits=3,format=reversed)`.
//
// # Splits
//
// Every task has a split key per item (for add, the unordered operand pair;
// for modadd, the unordered residue pair; for random-sequence tasks, the
// sequence itself). An item is held out when Unit(Hash64(salt|key)) <
// heldout fraction, with a salt fixed by the task name and version — not by
// the run seed — so every run of a ladder is scored on the same items and
// never trains on them. Generate rejects held-out items; Eval returns only
// held-out items; Heldout(doc) re-derives the keys from a document's text, and
// the tests check both directions. The exception is a Memorised variant
// (facts): stored knowledge can only be asked about the facts trained on,
// so its items are training documents, and it never measures generalisation.
//
// # Robustness
//
// add, icl and stories take perturb=…: Eval adds variants "V/perturbed=P"
// whose prompts are perturbed in ways that keep the answer (perturb.go),
// while the training documents, and with perturb=none the spec and the
// items, stay exactly as they are without the parameter.
//
// # Evaluation items
//
// The harness places Prompt at position 0 of a window (where every training
// window's first document starts), scores Answer given Prompt (log-prob,
// token accuracy), and for exact match generates greedily until the
// separator, passes the text to Task.Extract and compares with Target.
// Items with Choices are multiple choice / minimal pairs: score each choice
// as a continuation of Prompt; Correct indexes the right one.
package tasks

import (
	"math/rand/v2"
)

// Variant is a reporting unit of a task: items with the same Variant are
// scored and aggregated together, e.g. "add/scratchpad/3" or "icl/k=4".
type Variant struct {
	Name string
	// Chance is the expected exact match (or mc_grade for choice tasks, or
	// top-1 token accuracy where noted) of a model that knows the format but
	// nothing else; a random-weight model should score at or below it.
	Chance float64
	// Metrics that apply to this variant (names from package rundir).
	Metrics []string
	// Generate is true when exact match needs free generation (a scratchpad
	// or chain of thought precedes the final answer).
	Generate bool
	// Trained is false for variants whose shape never occurs in training
	// (held-out lengths of add, gaps beyond the training range, prompts
	// with perturbations the training text never has).
	Trained bool
	// Memorised is true for variants whose items are the training
	// documents themselves, not held out (facts: knowledge is the recall
	// of the facts trained on). Their scores measure what was stored, never
	// generalisation, and Heldout is false on their text.
	Memorised bool
	// OutOfVocab is true for a perturbed variant whose prompts hold a
	// character that none of the task's training documents holds (add's
	// spaces): the model never trained that token's embedding, so a score
	// there measures an unseen token as much as robustness.
	OutOfVocab bool
	// Perturbs names the clean variant this one perturbs (robustness:
	// "add/plain/2" for "add/plain/2/perturbed=spaces"); empty for clean
	// variants. A perturbation keeps the answer.
	Perturbs string
}

// Dist is, for each answer position, a reference distribution over a small
// set of symbols (markov: the Bayes-optimal in-context predictor).
type Dist struct {
	Symbols []string    // the symbols, each one token
	Bayes   [][]float64 // [answer position][symbol] posterior predictive
	True    [][]float64 // [answer position][symbol] the generating chain's probabilities
}

// Item is one held-out evaluation item.
type Item struct {
	Task    string // task name, e.g. "add"
	Variant string // reporting variant, e.g. "add/plain/3"
	Key     string // the split key (what was hashed)
	Prompt  string // fed to the model first, at position 0
	Answer  string // teacher-forced continuation to score (includes any scratchpad)
	Target  string // final answer compared with Task.Extract(generated); equals Answer when there is no scratchpad
	// Choices are alternative continuations of Prompt (minimal pairs,
	// multiple choice); Correct indexes the right one. Empty otherwise.
	Choices []string
	Correct int
	Subtask int // parity subtask, −1 when not applicable
	// Vars are per-item variables for probes, documented per task
	// (add: "carry" carry-out bits and "digits" answer digits, least
	// significant first; multihop: "bridge" entity index; ...).
	Vars map[string][]int
	// Text holds per-item strings for probes (multihop: "bridge" name).
	Text map[string]string
	Dist *Dist // markov only
}

// Task is one ability: a document format, its generator and its held-out set.
type Task interface {
	// Name is the registry name ("add").
	Name() string
	// Version changes whenever the format, the split or the generator's
	// output for a given seed changes.
	Version() int
	// Spec is the canonical call with every parameter, e.g.
	// "add(digits=2,format=plain,heldout=0.1,eval_digits=3)".
	Spec() string
	// Alphabet lists every character a document or item can contain (for
	// the character tokenizer); never '\n'.
	Alphabet() string
	// MaxLen bounds the length of a training document and of Prompt+Answer
	// (and Prompt+each choice) of an evaluation item, in characters.
	MaxLen() int
	// Generate draws one training document from r. It never emits a
	// held-out item.
	Generate(r *rand.Rand) string
	// Heldout reports whether a document in training format contains a
	// held-out item; Generate's documents never do, and Prompt+Answer of
	// every evaluation item does (except in Memorised variants, whose items
	// are training documents).
	Heldout(doc string) bool
	// Eval returns up to n distinct held-out items per variant (or, for
	// Memorised variants, trained items), drawn from data.RNG(seed, ...):
	// the harness should use one fixed seed (0) so all runs see the same
	// items. Fewer than n come back when a variant's item set is smaller.
	Eval(seed uint64, n int) []Item
	// Variants lists the reporting variants Eval produces, in order.
	Variants() []Variant
	// Extract returns the final answer in a generated continuation of
	// it.Prompt (generation stops at the separator, which is not included),
	// for comparison with it.Target.
	Extract(it *Item, generated string) string
}

// TrainSampler is implemented by tasks that can also score items from the
// training distribution (variant name + "/train"), to measure the gap
// between memorised and held-out items (grokking). These items are NOT
// held out: report them apart.
type TrainSampler interface {
	TrainItems(seed uint64, n int) []Item
}

// FactSet is implemented by tasks whose items are a finite set of
// memorised facts (facts): the knowledge a model stores is the mean of the
// `bits` metric over a uniform sample of items times Facts, at most MaxBits.
type FactSet interface {
	Facts() int
	MaxBits() float64
}
