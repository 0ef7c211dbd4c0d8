package rundir

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// ownedNames are the run directory's file names that only this package
// spells: everyone else writes and reads them through its constants, so
// that there is one owner of the format.
var ownedNames = regexp.MustCompile(`\b(metrics|evals|probes|samples)\.jsonl\b|\bconfig\.json\b`)

// allowed lists the directories outside this package whose Go files may
// spell an owned name in a string literal, each with the reason.
var allowed = map[string]string{
	"internal/hf/": "a Hugging Face model directory's config.json is that format's file, not a run directory's",
}

// TestOneOwner scans every Go file of the module (tests included) for
// string literals that spell the names of the run directory's files, and
// fails on any outside this package and the allowed list.
func TestOneOwner(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from %s: %v", root, err)
	}
	self, _ := filepath.Abs(".")
	var found []string
	scanned := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == self || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		for dir := range allowed {
			if strings.HasPrefix(rel, dir) {
				return nil
			}
		}
		scanned++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				s = lit.Value
			}
			if m := ownedNames.FindString(s); m != "" {
				found = append(found, relative(fset.Position(lit.Pos()).String(), root)+": "+m)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 100 {
		t.Fatalf("scanned %d Go files: the walk did not cover the module", scanned)
	}
	sort.Strings(found)
	for _, f := range found {
		t.Errorf("%s is spelled outside package rundir: use its constant", f)
	}
}

// relative shortens a position to be relative to the module root.
func relative(pos, root string) string {
	return strings.TrimPrefix(pos, root+string(filepath.Separator))
}
