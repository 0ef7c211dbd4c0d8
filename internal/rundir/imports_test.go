package rundir

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// allowedImports are the emlab packages each package of the analysis half
// may import (docs/ARCHITECTURE.md): rundir is a leaf, and the statistics,
// the report and the index read runs through it without any model code.
// numfmt, the one number format, is a leaf that both the statistics and
// the report write their numbers with.
var allowedImports = map[string][]string{
	"internal/rundir":          {"internal/atomicfile"},
	"internal/numfmt":          {},
	"internal/stats":           {"internal/numfmt", "internal/rundir"},
	"internal/report":          {"internal/numfmt"},
	"internal/report/assemble": {"internal/numfmt", "internal/report", "internal/rundir", "internal/stats"},
	"internal/store":           {"internal/rundir"},
}

// TestImports checks the import arrows of the analysis half against
// allowedImports, reading the non-test Go files of each package.
func TestImports(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for pkg, allowed := range allowedImports {
		files, err := filepath.Glob(filepath.Join(root, pkg, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", pkg, err)
		}
		got := map[string]bool{}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if rest, ok := strings.CutPrefix(path, "emlab/"); ok {
					got[rest] = true
				}
			}
		}
		var bad []string
		for imp := range got {
			if !contains(allowed, imp) {
				bad = append(bad, imp)
			}
		}
		sort.Strings(bad)
		if len(bad) > 0 {
			t.Errorf("%s imports %v; it may import only %v", pkg, bad, allowed)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
