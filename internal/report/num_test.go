package report

import "testing"

func TestNum(t *testing.T) {
	cases := []struct {
		v    float64
		want string
	}{
		{0.5, "0.5"},
		{123.4, "123"},
		{2.5e4, "25k"},
		{9.996e11, "1T"}, // rounds before the unit is picked, not 1e+03G
		{999.4e9, "999G"},
		{3.95e12, "3.95T"},
		{-2.5e6, "-2.5M"},
		{1.5e-4, "1.50e-04"},
	}
	for _, c := range cases {
		if got := Num(c.v); got != c.want {
			t.Errorf("Num(%g) = %q, want %q", c.v, got, c.want)
		}
	}
}
