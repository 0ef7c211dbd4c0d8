package jsonl

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type row struct {
	Step int `json:"step"`
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, text string
		want       int
		err        string
	}{
		{"clean", "{\"step\":0}\n{\"step\":1}\n", 2, ""},
		{"partial last line", "{\"step\":0}\n{\"step\":1}\n{\"step\":2,\"lo", 2, ""},
		{"blank lines", "\n{\"step\":0}\n\n", 1, ""},
		{"damage in the middle", "{\"step\":0}\ngarbage\n{\"step\":2}\n", 0, "line 2"},
		{"empty", "", 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name+".jsonl")
			os.WriteFile(p, []byte(c.text), 0o644)
			rows, err := Read[row](p, false)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), p) {
					t.Fatalf("err = %v, want %q and the path", err, c.err)
				}
				return
			}
			if err != nil || len(rows) != c.want {
				t.Fatalf("rows %v err %v, want %d rows", rows, err, c.want)
			}
		})
	}
	if rows, err := Read[row](filepath.Join(dir, "missing"), true); rows != nil || err != nil {
		t.Errorf("missing, ok: %v %v", rows, err)
	}
	if _, err := Read[row](filepath.Join(dir, "missing"), false); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}
