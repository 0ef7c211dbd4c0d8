// Package browsertest renders an HTML page in headless Chromium and
// measures the layout of its plots as the browser drew them: text that
// overlaps other text, text cut off by the edge of its figure, and axes
// with fewer than two tick labels. The measurements come from the
// rendered page (getBoundingClientRect of every text element), not from
// the SVG source, so they see what a reader sees: real font metrics,
// scaling, and clipping by the figure's box.
//
// Chromium is Debian's chromium package; .ci/run installs it. Without it
// the tests that use this package skip with the reason, unless
// EMLAB_REQUIRE_BROWSER is set (CI), when they fail.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Problem is one layout defect found on the rendered page.
type Problem struct {
	Kind   string `json:"kind"`   // "overlap", "clipped" or "ticks"
	Figure string `json:"figure"` // the figure's title
	Detail string `json:"detail"` // the texts involved, with their boxes
}

func (p Problem) String() string { return p.Kind + " in «" + p.Figure + "»: " + p.Detail }

// Page is what Measure found: the problems, how many figures and texts
// it measured (so a test can tell a clean page from an empty one) and a
// full-page screenshot (PNG).
type Page struct {
	Problems       []Problem
	Figures, Texts int
	Screenshot     []byte
}

// Chromium returns the path of a Chromium binary, or skips the test
// (fails it when EMLAB_REQUIRE_BROWSER is set) when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if os.Getenv("EMLAB_REQUIRE_BROWSER") != "" {
		t.Fatal("EMLAB_REQUIRE_BROWSER is set but chromium is not installed")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
	return ""
}

// measureJS walks every plot (svg.plot, svg.heatmap) on the page. Text
// boxes are the browser's own (getBoundingClientRect after layout, in CSS
// pixels). Two texts overlap when their boxes share more than tol pixels
// both ways; a text is clipped when its box leaves its figure's box by
// more than tol. An axis (g.axis) needs two tick labels inside the
// figure.
const measureJS = `(() => {
  const tol = 1;
  const out = {problems: [], figures: 0, texts: 0};
  const box = r => '[' + [r.left, r.top, r.right, r.bottom].map(v => v.toFixed(1)).join(' ') + ']';
  for (const svg of document.querySelectorAll('svg.plot, svg.heatmap')) {
    out.figures++;
    const t = svg.querySelector('title');
    const fig = t ? t.textContent : '(untitled)';
    const sb = svg.getBoundingClientRect();
    const texts = [];
    for (const el of svg.querySelectorAll('text')) {
      const s = el.textContent.trim();
      if (s === '') continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      texts.push({s, r});
    }
    out.texts += texts.length;
    for (const x of texts) {
      if (x.r.left < sb.left - tol || x.r.right > sb.right + tol || x.r.top < sb.top - tol || x.r.bottom > sb.bottom + tol) {
        out.problems.push({kind: 'clipped', figure: fig, detail: JSON.stringify(x.s) + ' ' + box(x.r) + ' leaves the figure ' + box(sb)});
      }
    }
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        const a = texts[i].r, b = texts[j].r;
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > tol && h > tol) {
          out.problems.push({kind: 'overlap', figure: fig, detail: JSON.stringify(texts[i].s) + ' ' + box(a) + ' overlaps ' + JSON.stringify(texts[j].s) + ' ' + box(b)});
        }
      }
    }
    for (const ax of svg.querySelectorAll('g.axis')) {
      let n = 0;
      for (const el of ax.querySelectorAll('g.tick text')) {
        const r = el.getBoundingClientRect();
        if (el.textContent.trim() !== '' && r.width > 0 && r.left >= sb.left - tol && r.right <= sb.right + tol && r.top >= sb.top - tol && r.bottom <= sb.bottom + tol) n++;
      }
      if (n < 2) {
        const l = ax.querySelector('.axis-label');
        out.problems.push({kind: 'ticks', figure: fig, detail: (l ? JSON.stringify(l.textContent) : ax.getAttribute('class')) + ' has ' + n + ' tick label(s)'});
      }
    }
  }
  return JSON.stringify(out);
})()`

// Measure loads url in headless Chromium (width pixels wide) and measures
// its plots.
func Measure(t testing.TB, url string, width int) Page {
	t.Helper()
	bin := Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	opts := AllocatorOptions(t, bin, width, 1200)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer bcancel() // closes the browser and its user-data directory's lock

	if err := chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("browser: load %s: %v", url, err)
	}
	raw, err := chromedp.Run(bctx, chromedp.Evaluate[string](measureJS))
	if err != nil {
		t.Fatalf("browser: measure %s: %v", url, err)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("browser: screenshot %s: %v", url, err)
	}
	if dir := os.Getenv("EMLAB_SCREENSHOT_DIR"); dir != "" {
		partShots(t, bctx, dir, width)
	}
	var m struct {
		Problems []Problem `json:"problems"`
		Figures  int       `json:"figures"`
		Texts    int       `json:"texts"`
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("browser: read the measurements: %v", err)
	}
	return Page{Problems: m.Problems, Figures: m.Figures, Texts: m.Texts, Screenshot: shot}
}

// SaveScreenshot writes the page's screenshot as name.png under
// $EMLAB_SCREENSHOT_DIR (or the test's temporary directory) and returns
// the path.
func SaveScreenshot(t testing.TB, p Page, name string) string {
	t.Helper()
	dir := os.Getenv("EMLAB_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("%s/%s.png", dir, name)
	if err := os.WriteFile(path, p.Screenshot, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// partShots saves a screenshot of each section heading's first screen and
// of each figure, so that a reader can look at them one by one
// (width-section-ID.png, width-figure-NN.png under dir).
func partShots(t testing.TB, ctx context.Context, dir string, width int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Name every figure (after the measurements, so they see the page as
	// written).
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => { const fs = document.querySelectorAll('figure'); fs.forEach((f, i) => { f.dataset.shot = i; }); return fs.length; })()`))
	if err != nil {
		t.Fatalf("browser: count figures: %v", err)
	}
	save := func(name, sel string) {
		b, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("browser: screenshot %s: %v", sel, err)
		}
		if err := os.WriteFile(fmt.Sprintf("%s/%d-%s.png", dir, width, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	save("top", "body > h1")
	if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('#claims')`)); ok {
		save("claims", "#claims")
	}
	for i := range n {
		save(fmt.Sprintf("figure-%02d", i), fmt.Sprintf(`figure[data-shot="%d"]`, i))
	}
}

// AllocatorOptions are the headless Chromium options every browser test
// uses: a fresh profile in a temporary directory and a window of w × h.
// As root in a container Chromium needs --no-sandbox; the networking flags
// stop it from calling out, which a closed network refuses.
func AllocatorOptions(t testing.TB, bin string, w, h int) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(w, h),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
}
