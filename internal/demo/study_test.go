package demo

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRegistry: every study has a name, a claim, an experiment and sweeps
// whose embedded files (full and quick) expand into plans named after the
// file; every embedded file belongs to some study; the order lists only
// registered studies.
func TestRegistry(t *testing.T) {
	all := All()
	if len(all) != len(registry) {
		t.Fatalf("All() has %d studies, the registry %d", len(all), len(registry))
	}
	used := map[string]bool{}
	for _, s := range all {
		if s.Name == "" || s.Claim == "" || s.Experiment == "" || s.Judge == nil || len(s.Sweeps) == 0 {
			t.Errorf("study %+v lacks a name, claim, experiment, sweep or Judge", s)
		}
		if !strings.HasSuffix(s.Claim, ".") {
			t.Errorf("study %s: the claim %q is not one sentence ending in a full stop", s.Name, s.Claim)
		}
		for _, w := range s.Sweeps {
			for _, quick := range []bool{false, true} {
				p, err := LoadPlan(w, quick)
				if err != nil {
					t.Errorf("study %s: %v", s.Name, err)
					continue
				}
				if len(p.Runs) == 0 {
					t.Errorf("study %s: sweep %s (quick %v) has no runs", s.Name, w, quick)
				}
			}
			used[w+".toml"], used[w+"-quick.toml"] = true, true
		}
		for _, w := range s.QuickSweeps {
			if !slices.Contains(s.Sweeps, w) {
				t.Errorf("study %s: quick sweep %s is not one of its sweeps", s.Name, w)
			}
		}
	}
	entries, err := fs.ReadDir(studiesFS, "studies")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !used[e.Name()] {
			t.Errorf("embedded studies/%s belongs to no study", e.Name())
		}
	}
	for _, n := range order {
		if _, ok := registry[n]; !ok {
			t.Errorf("order names %q, which is not registered", n)
		}
	}
	if _, err := Lookup("cott"); err == nil || !strings.Contains(err.Error(), "cot") {
		t.Errorf("Lookup of an unknown name: %v, want the list of studies", err)
	}
}

// TestQuickPlansAreSmaller: a quick sweep never costs more than its full
// one, so --quick is the cheaper form of every study.
func TestQuickPlansAreSmaller(t *testing.T) {
	for _, w := range Sweeps(All(), false) {
		full, err1 := LoadPlan(w, false)
		quick, err2 := LoadPlan(w, true)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if quick.FLOPs > full.FLOPs*1.0001 {
			t.Errorf("sweep %s: quick plan %.3g FLOPs > full %.3g", w, quick.FLOPs, full.FLOPs)
		}
	}
}

// TestStudiesJudgeEmptyDirectory: with no runs at all every study judges
// without error and says inconclusive (there is nothing to judge), with
// each finding's fields filled.
func TestStudiesJudgeEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	o := AnalyzeOptions(true)
	o.Stats.Boot = 20
	in, _, err := newInput(dir, true, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range All() {
		j, err := s.Judge(context.Background(), in)
		if err != nil {
			t.Errorf("study %s: %v", s.Name, err)
			continue
		}
		if len(j.Findings) == 0 {
			t.Errorf("study %s: no findings", s.Name)
		}
		for _, f := range j.Findings {
			if f.Verdict != VerdictInconclusive || f.Pass || f.Claim == "" || f.Detail == "" {
				t.Errorf("study %s without runs: %+v, want an inconclusive verdict with a claim and a detail", s.Name, f)
			}
		}
	}
}

func TestMergeFindings(t *testing.T) {
	f := func(id, claim string) Finding { return Finding{ID: id, Claim: claim} }
	cases := []struct {
		name string
		prev []Finding
		ids  []string
		now  []Finding
		want []string // id:claim
	}{
		{"empty", nil, []string{"cot"}, []Finding{f("cot", "a"), f("cot", "b")}, []string{"cot:a", "cot:b"}},
		{"replaced in place", []Finding{f("x", "1"), f("cot", "old"), f("cot", "old2"), f("y", "2")}, []string{"cot"},
			[]Finding{f("cot", "new")}, []string{"x:1", "cot:new", "y:2"}},
		{"others kept, new appended", []Finding{f("x", "1")}, []string{"cot", "longrange"},
			[]Finding{f("longrange", "l"), f("cot", "c")}, []string{"x:1", "cot:c", "longrange:l"}},
		{"objects without an id dropped", []Finding{f("", "old demo"), f("x", "1")}, []string{"emergence"},
			[]Finding{f("emergence", "e")}, []string{"x:1", "emergence:e"}},
		{"a study with no objects now loses its old ones", []Finding{f("cot", "old"), f("x", "1")}, []string{"cot"},
			nil, []string{"x:1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, g := range mergeFindings(c.prev, c.ids, c.now) {
				got = append(got, g.ID+":"+g.Claim)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestFindingsFile: findings.json has exactly the six keys (items an
// empty array, never null), reads back, and a damaged file is an error
// naming it and is left as it was.
func TestFindingsFile(t *testing.T) {
	dir := t.TempDir()
	if err := writeFindings(dir, []Finding{{ID: "cot", Claim: "c", Verdict: VerdictSupported, Pass: true, Detail: "d"}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, FindingsFile))
	if err != nil {
		t.Fatal(err)
	}
	var raw []map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range raw[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"claim", "detail", "id", "items", "pass", "verdict"}; !slices.Equal(keys, want) {
		t.Errorf("keys %q, want exactly %q", keys, want)
	}
	if _, ok := raw[0]["items"].([]any); !ok {
		t.Errorf("items is %v, want an array", raw[0]["items"])
	}
	got, err := ReadFindings(dir)
	if err != nil || len(got) != 1 || got[0].ID != "cot" {
		t.Errorf("read back %+v, %v", got, err)
	}
	for _, bad := range []string{`{"id": "x"}`, `[{"id": "x", "colour": 1}]`, `[{"id": 3}]`, "[{"} {
		path := filepath.Join(dir, FindingsFile)
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadFindings(dir)
		if err == nil || !strings.Contains(err.Error(), FindingsFile) {
			t.Errorf("%s: error %v, want one naming %s", bad, err, FindingsFile)
		}
		// Finish refuses too, and leaves the file alone.
		if _, err := Finish(context.Background(), FinishOptions{Out: dir, Studies: DemoStudies(), Analyze: AnalyzeOptions(true)}); err == nil {
			t.Errorf("%s: Finish accepted a damaged findings.json", bad)
		}
		if b, _ := os.ReadFile(path); string(b) != bad {
			t.Errorf("%s: Finish rewrote a damaged findings.json", bad)
		}
	}
}

// TestFinishKeepsOtherStudies: judging one study replaces its own
// objects and keeps those of studies not judged now; the report's claims
// table lists them all.
func TestFinishKeepsOtherStudies(t *testing.T) {
	dir := t.TempDir()
	other := Finding{ID: "not-a-registered-study", Claim: "kept as it was", Verdict: VerdictSupported, Pass: true, Detail: "d", Items: []string{"i"}}
	stale := Finding{ID: "grokking", Claim: "stale", Verdict: VerdictSupported, Pass: true, Detail: "from an earlier run", Items: []string{}}
	if err := writeFindings(dir, []Finding{other, stale}); err != nil {
		t.Fatal(err)
	}
	g, _ := Lookup("grokking")
	o := FinishOptions{Out: dir, Studies: []*Study{g}, Analyze: AnalyzeOptions(true)}
	if _, err := Finish(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFindings(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != other.ID || got[0].Claim != other.Claim || got[1].ID != "grokking" || got[1].Claim == "stale" ||
		got[1].Verdict != VerdictInconclusive {
		t.Errorf("findings after judging grokking on no runs: %+v", got)
	}
	b, _ := os.ReadFile(filepath.Join(dir, ReportFile))
	if !strings.Contains(string(b), "kept as it was") {
		t.Error("the claims table lacks the other study's claim")
	}
}
