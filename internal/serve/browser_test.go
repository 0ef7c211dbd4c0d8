package serve

import (
	"bytes"
	"context"
	"emlab/internal/report/browsertest"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestBrowser loads the dashboard in headless Chromium: the page loads,
// the runs table lists the runs, plots render as SVG with paths, the page's
// script polls the JSON endpoint and redraws under the page's CSP without
// exceptions, and a screenshot is saved ($EMLAB_SCREENSHOT_DIR or a
// temporary directory).
func TestBrowser(t *testing.T) {
	bin := browsertest.Chromium(t) // skips, or fails under EMLAB_REQUIRE_BROWSER, without it
	dir, now := fixture(t)
	s, err := New(dir, Options{Now: func() time.Time { return now }, Fresh: time.Minute, PollMillis: 300})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := httptest.NewServer(s)
	defer ts.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	opts := browsertest.AllocatorOptions(t, bin, 1280, 1600)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer bcancel() // closes the browser and its user-data directory's lock

	var mu sync.Mutex
	var exceptions []string
	if err := chromedp.Listen(bctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			mu.Lock()
			d := e.ExceptionDetails
			msg := fmt.Sprintf("%s at %s:%d", d.Text, d.URL, d.LineNumber)
			if d.Exception != nil {
				msg += ": " + d.Exception.Description
			}
			exceptions = append(exceptions, msg)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}

	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("browser: %s: %v", what, err)
		}
	}
	step("load the page", chromedp.Do(bctx,
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#runs tbody tr`)),
	))
	ids, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#runs tbody tr')).map(r => r.cells[0].textContent)`))
	step("read the runs table", err)
	abilityPaths, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#abilities svg path').length`))
	step("count ability paths", err)
	// The script's first poll redraws the live plot and stamps the time.
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById('live-status').textContent.startsWith('(updated')`, chromedp.WithPollingTimeout(20*time.Second)))
	step("wait for the live update", err)
	livePaths, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#live svg g.series path').length`))
	step("count live-curve paths", err)
	status, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById('live-status').textContent`))
	step("read the live status", err)
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	step("screenshot", err)
	// After the script redrew the table, a run's name is still a link: a
	// click opens its page with its curves, evaluations and probes.
	// The page's poll (every 300 ms here) replaces the table's rows, and a
	// click is several browser calls (find the node, scroll it into view,
	// read its box, press): a redraw between them leaves the click holding
	// a removed node ("Could not find node"), which a loaded machine makes
	// likely. That is the test racing the page, not a broken link, so the
	// click is retried on exactly that error; a link that is missing or
	// leads nowhere still fails.
	click := chromedp.Click(chromedp.CSS(`#runs tbody tr[data-run="induction/attn2"] a`))
	for try := 1; ; try++ {
		err := chromedp.Do(bctx, click)
		if err == nil || try == 5 || !strings.Contains(err.Error(), "Could not find node") {
			step("click a run's name", err)
			break
		}
		t.Logf("click %d raced a redraw of the runs table: %v", try, err)
	}
	step("open a run's page", chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS(`#probes`))))
	runURL, err := chromedp.Run(bctx, chromedp.Evaluate[string](`location.pathname + location.search`))
	step("read the run page's address", err)
	runPaths, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#metrics svg g.series path').length`))
	step("count the run page's loss paths", err)
	probeRows, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#probes tbody tr').length`))
	step("count the run page's probe rows", err)
	runShot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	step("screenshot the run page", err)
	if runURL != "/run?id=induction%2Fattn2" || runPaths == 0 || probeRows == 0 {
		t.Errorf("run page: at %q, %d loss paths, %d probe rows", runURL, runPaths, probeRows)
	}

	joined := strings.Join(ids, "\n")
	for _, want := range []string{"ladder/r0", "ladder/r5", "induction/attn2", "grokking/modadd", "sweep2/running", "sweep2/<img src=x onerror=alert(1)>", "sweep2/damaged", "sweep2/escape"} {
		if !strings.Contains(joined, want) {
			t.Errorf("runs table lacks %q (has %q)", want, ids)
		}
	}
	if len(ids) != 19 { // the fixture's 17 readable runs and 2 unreadable ones
		t.Errorf("runs table has %d rows, want 19", len(ids))
	}
	if livePaths == 0 || abilityPaths == 0 {
		t.Errorf("plots did not render: %d live-curve paths, %d ability paths", livePaths, abilityPaths)
	}
	t.Logf("%d rows, %d live paths, %d ability paths, status %s", len(ids), livePaths, abilityPaths, status)
	mu.Lock()
	if len(exceptions) > 0 {
		t.Errorf("page threw: %q", exceptions)
	}
	mu.Unlock()
	if !bytes.HasPrefix(shot, []byte{0xff, 0xd8}) && !bytes.HasPrefix(shot, []byte("\x89PNG")) {
		t.Fatalf("screenshot is not an image (%d bytes)", len(shot))
	}
	out := os.Getenv("EMLAB_SCREENSHOT_DIR")
	if out == "" {
		out = t.TempDir()
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ext := ".png"
	if bytes.HasPrefix(shot, []byte{0xff, 0xd8}) {
		ext = ".jpg"
	}
	path := filepath.Join(out, "dashboard"+ext)
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "dashboard-run"+ext), runShot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%s)", path, fmt.Sprintf("%d bytes", len(shot)))
}
