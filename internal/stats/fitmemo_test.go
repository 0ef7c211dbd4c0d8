package stats

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"emlab/internal/rundir"
)

// TestFitMemoMatchesFresh: curves analysed through one memo give, bit for
// bit in every number (the fits' own parameters and weights included),
// the results of analysing each alone: a curve
// whose levels another metric already carries (exact match and the
// multiple-choice grade scoring a task identically) takes that curve's
// fits, and one with the same scores under a lower-is-better metric
// (where the chance rate does not apply, so the sigmoid's box differs)
// gets its own. Each result owns its fits: changing one leaves the other
// as it was.
func TestFitMemoMatchesFresh(t *testing.T) {
	cfg := AnalyzeConfig{Options: DefaultOptions(), Forecast: 2}
	cfg.Boot = 32
	base := synthCurve(rand.New(rand.NewPCG(17, 1)), synthShapes()[0], 10, 3, 400)
	var curves []*Curve
	for _, metric := range []string{rundir.ExactMatch, rundir.MCGrade, rundir.Brier} {
		c := *base
		c.Metric = metric
		curves = append(curves, &c)
	}
	memo := newFitMemo()
	var got []*Result
	for _, c := range curves {
		r, err := analyzeOne(context.Background(), c, cfg, memo)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
		fresh, err := analyzeOne(context.Background(), c, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := bitDiff(reflect.ValueOf(r), reflect.ValueOf(fresh), c.Key()); d != "" {
			t.Errorf("through the memo and alone: %s", d)
		}
	}
	if memo.hits != 1 {
		t.Errorf("memo served %d fit sets, want 1 (the grade's, from exact match)", memo.hits)
	}
	if got[0].Verdict != VerdictEmergent || got[0].Forecast == nil {
		t.Fatalf("exact match: verdict %s, forecast %v: the case must fit every model, bootstrap and forecast", got[0].Verdict, got[0].Forecast)
	}
	grade, err := analyzeOne(context.Background(), curves[1], cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got[0].Fits {
		got[0].Fits[i].Params["changed"] = 1
		got[0].Fits[i].theta[0]++
	}
	if d := bitDiff(reflect.ValueOf(got[1]), reflect.ValueOf(grade), "grade"); d != "" {
		t.Errorf("changing exact match's fits changed the grade's result: %s", d)
	}
}

// bitDiff says where a and b first differ, comparing floats by their
// bits (NaN equals NaN) and skipping functions; "" when nowhere.
func bitDiff(a, b reflect.Value, path string) string {
	if a.Kind() != b.Kind() {
		return path + ": kinds differ"
	}
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		if math.Float64bits(a.Float()) != math.Float64bits(b.Float()) {
			return fmt.Sprintf("%s: %v vs %v", path, a.Float(), b.Float())
		}
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return path + ": nil vs not nil"
			}
			return ""
		}
		return bitDiff(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if d := bitDiff(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); d != "" {
				return d
			}
		}
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() || (a.Kind() == reflect.Slice && a.IsNil() != b.IsNil()) {
			return fmt.Sprintf("%s: lengths %d vs %d (or nil vs empty)", path, a.Len(), b.Len())
		}
		for i := 0; i < a.Len(); i++ {
			if d := bitDiff(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
	case reflect.Map:
		if a.Len() != b.Len() || a.IsNil() != b.IsNil() {
			return fmt.Sprintf("%s: %d vs %d keys (or nil vs empty)", path, a.Len(), b.Len())
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() {
				return fmt.Sprintf("%s[%v]: missing", path, k)
			}
			if d := bitDiff(a.MapIndex(k), bv, fmt.Sprintf("%s[%v]", path, k)); d != "" {
				return d
			}
		}
	case reflect.Func:
	case reflect.String:
		if a.String() != b.String() {
			return fmt.Sprintf("%s: %q vs %q", path, a.String(), b.String())
		}
	case reflect.Bool:
		if a.Bool() != b.Bool() {
			return path + ": bools differ"
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		if a.Int() != b.Int() {
			return fmt.Sprintf("%s: %d vs %d", path, a.Int(), b.Int())
		}
	default:
		return fmt.Sprintf("%s: kind %s not compared", path, a.Kind())
	}
	return ""
}
