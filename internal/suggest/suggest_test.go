package suggest

import (
	"reflect"
	"testing"
)

func TestLevenshtein(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"d_model", "d_modle", 2}, {"same", "same", 0},
	}
	for _, c := range cases {
		if got := Levenshtein(c.a, c.b); got != c.want {
			t.Errorf("Levenshtein(%q,%q)=%d want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestTypoDistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"same", "same", 0},
		{"trian", "train", 1}, {"d_modle", "d_model", 1}, {"ab", "ba", 1},
		// Optimal string alignment edits no substring twice: "ca" → "abc" is 3, not 2.
		{"ca", "abc", 3},
	}
	for _, c := range cases {
		if got := TypoDistance(c.a, c.b); got != c.want {
			t.Errorf("TypoDistance(%q,%q)=%d want %d", c.a, c.b, got, c.want)
		}
		if got := TypoDistance(c.b, c.a); got != c.want {
			t.Errorf("TypoDistance(%q,%q)=%d want %d (symmetric)", c.b, c.a, got, c.want)
		}
	}
}

func TestClosest(t *testing.T) {
	known := []string{"n_layers", "d_model", "n_heads", "n_ctx", "d_vocab", "d_mlp"}
	cases := []struct {
		name string
		want []string
	}{
		{"d_modle", []string{"d_model"}},
		{"n_head", []string{"n_heads"}},
		{"zzzzzzzzz", nil},
		{"D_MODEL", []string{"d_model"}},
	}
	for _, c := range cases {
		if got := Closest(c.name, known, 3); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Closest(%q)=%v want %v", c.name, got, c.want)
		}
	}
	// Swapped letters are one typo, so a short name is found (Levenshtein
	// counts "trian" → "train" as 2, over the limit of 1 for 5 letters).
	if got := Closest("trian", []string{"train", "eval", "tasks"}, 3); !reflect.DeepEqual(got, []string{"train"}) {
		t.Errorf("Closest(trian)=%v want [train]", got)
	}
}
