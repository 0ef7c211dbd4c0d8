package tasks

import (
	"testing"

	"emlab/internal/data"
)

// BenchmarkFileGenerate: the cost of one training document of each
// example task file (the mixture calls Generate for every document).
func BenchmarkFileGenerate(b *testing.B) {
	for _, name := range exampleFiles {
		task, err := LoadFile(examplePath(name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			r := data.RNG(1, "bench")
			for b.Loop() {
				task.Generate(r)
			}
		})
	}
}

// BenchmarkFileHeldout: reading a document back to its split.
func BenchmarkFileHeldout(b *testing.B) {
	for _, name := range exampleFiles {
		task, err := LoadFile(examplePath(name))
		if err != nil {
			b.Fatal(err)
		}
		doc := task.Generate(data.RNG(1, "bench"))
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				task.Heldout(doc)
			}
		})
	}
}
