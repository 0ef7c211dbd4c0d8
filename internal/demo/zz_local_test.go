package demo

import (
	"encoding/json"
	"os"
	"testing"
)

func TestZZLocalJudge(t *testing.T) {
	dir, name := os.Getenv("JUDGE_DIR"), os.Getenv("JUDGE_STUDY")
	if dir == "" {
		t.Skip("local")
	}
	s, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	o := AnalyzeOptions(true)
	o.Stats.Boot = 200
	in, _, err := newInput(dir, true, o)
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.Judge(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(j.Findings, "", "  ")
	t.Logf("%s", b)
}
