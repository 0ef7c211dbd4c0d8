package tasks

import (
	"fmt"
	"strings"
)

// AnswerLoss is implemented by tasks that can restrict the training loss to
// a document's answer. The mixture scores every document token by default,
// which for modadd includes the operands a and b: they are uniformly random,
// so their loss is an irreducible ln p each whose minibatch gradient never
// vanishes. Under Adam that noise keeps the shared weights moving at a
// step of ≈ lr per coordinate and holds the weight norm up against the
// weight decay that grokking needs (measured in docs/calibration.md: with
// the loss on every token the window MLP memorised modadd but did not
// generalise in 3000 steps). Nanda et al. 2023 and Power et al. 2022 train on
// the answer only.
type AnswerLoss interface {
	// PromptLen returns the number of leading characters of a training
	// document (as Generate made it) that form its prompt, whose targets
	// are not scored, and 0 when the whole document is scored. The position
	// of the prompt's last character, whose target is the first answer
	// character, stays scored, and so does the answer's separator.
	PromptLen(doc string) int
}

// Batch implements data.Source. It is the mixture's batch with, for each
// document of a task implementing AnswerLoss, the targets of its prompt
// positions set to −1; for other tasks it is data.Mixture.Batch unchanged.
// Characters are tokens under the stream's character tokenizer, so a
// prompt of n characters occupies the document's first n positions.
func (s *Stream) Batch(step int64, B, T int, tokens, targets []int32) {
	if len(tokens) != B*T || len(targets) != B*T {
		panic(fmt.Sprintf("tasks.Stream: batch buffers of %d and %d, want B*T=%d", len(tokens), len(targets), B*T))
	}
	masker := make([]AnswerLoss, len(s.Tasks))
	masking := false
	for i, t := range s.Tasks {
		if a, ok := t.(AnswerLoss); ok {
			masker[i], masking = a, true
		}
	}
	for b := 0; b < B; b++ {
		tok, tgt := tokens[b*T:(b+1)*T], targets[b*T:(b+1)*T]
		placed := s.Window(step, b, T, tok, tgt)
		if !masking {
			continue
		}
		for _, d := range placed {
			a := masker[d.Comp]
			if a == nil {
				continue
			}
			n := a.PromptLen(s.Tok.Decode(tok[d.Start : d.Start+d.Len]))
			// Positions Start … Start+n−2 predict prompt characters;
			// Start+n−1 (the prompt's last) predicts the answer.
			for i := d.Start; i < d.Start+n-1 && i < d.Start+d.Len; i++ {
				tgt[i] = -1
			}
		}
	}
}

// promptThroughEquals is the length in characters of doc up to and
// including its first "=", or 0 when it has none (then nothing is masked).
func promptThroughEquals(doc string) int {
	i := strings.IndexByte(doc, '=')
	if i < 0 {
		return 0
	}
	return len([]rune(doc[:i+1]))
}
