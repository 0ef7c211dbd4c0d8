package jsonl

import (
	"fmt"
	"strings"
	"testing"
)

// TestScanSkipsHugeLines: a line over MaxScanLine is skipped and reported
// with its number and length; the lines around it are read; blank lines
// are skipped; a last line without its newline is read.
func TestScanSkipsHugeLines(t *testing.T) {
	huge := strings.Repeat("x", MaxScanLine+10)
	in := "a\n\n" + huge + "\nb\n" + strings.Repeat("y", MaxScanLine-1) + "\nc"
	var got []string
	var skips []string
	err := Scan(strings.NewReader(in), func(ln int, b []byte) error {
		s := string(b)
		if len(s) > 10 {
			s = fmt.Sprintf("%d×%c", len(s), s[0])
		}
		got = append(got, fmt.Sprintf("%d:%s", ln, s))
		return nil
	}, func(ln int, n int64) { skips = append(skips, fmt.Sprintf("%d:%d", ln, n)) })
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("1:a 4:b 5:%d×y 6:c", MaxScanLine-1)
	if strings.Join(got, " ") != want {
		t.Errorf("lines %v, want %s", got, want)
	}
	if strings.Join(skips, " ") != fmt.Sprintf("3:%d", MaxScanLine+11) {
		t.Errorf("skipped %v", skips)
	}
}
