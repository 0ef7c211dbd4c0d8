package assemble

import (
	"os"
	"path/filepath"
	"testing"

	"emlab/internal/report"
	"emlab/internal/report/browsertest"
)

// TestReportLayout renders the report of the synthetic tree (a ladder, the
// induction, grokking and quanta runs) in headless Chromium and fails on
// any overlapping text, text clipped by its figure's edge, or axis with
// fewer than two tick labels, as measured on the rendered page.
// EMLAB_REPORT_FILE, when set, measures that report instead (a real
// demo's, say).
func TestReportLayout(t *testing.T) {
	path := os.Getenv("EMLAB_REPORT_FILE")
	minFigures, minTexts := 1, 10 // a given report may have few sections
	if path == "" {
		minFigures, minTexts = 5, 100 // the tree's report has every section
		browsertest.Chromium(t)       // skip before building when there is no browser
		rep, _ := buildTree(t)
		path = filepath.Join(t.TempDir(), "report.html")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := report.Write(f, rep); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, width := range []int{1280} {
		p := browsertest.Measure(t, "file://"+abs, width)
		t.Logf("width %d: %d figures, %d texts measured, %d problems; screenshot %s", width, p.Figures, p.Texts, len(p.Problems),
			browsertest.SaveScreenshot(t, p, "report-"+itoa(width)))
		if p.Figures < minFigures || p.Texts < minTexts {
			t.Errorf("width %d: measured only %d figures and %d texts: the page did not render its plots", width, p.Figures, p.Texts)
		}
		for _, pr := range p.Problems {
			t.Errorf("width %d: %s", width, pr)
		}
	}
}

func itoa(n int) string {
	b := []byte{}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
