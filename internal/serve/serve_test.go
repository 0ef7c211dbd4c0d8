package serve

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"emlab/internal/report/reporttest"
	"emlab/internal/rundir"
)

const secret = "TOP-SECRET-OUTSIDE-DIR"

// fixture writes a served directory beside an outside directory holding a
// secret, with links from inside pointing out, and runs in every state.
func fixture(t *testing.T) (dir string, now time.Time) {
	t.Helper()
	base := t.TempDir()
	dir = filepath.Join(base, "runs")
	outside := filepath.Join(base, "outside")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	reporttest.Tree(t, dir)
	now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Running: metrics written just now, no DONE.
	running := reporttest.LadderRun(1)
	running.Done = false
	reporttest.Write(t, filepath.Join(dir, "sweep2/running"), running)
	touch(t, filepath.Join(dir, "sweep2/running", rundir.MetricsFile), now.Add(-5*time.Second))
	// Interrupted: same, but quiet for an hour.
	reporttest.Write(t, filepath.Join(dir, "sweep2/stale"), running)
	touch(t, filepath.Join(dir, "sweep2/stale", rundir.MetricsFile), now.Add(-time.Hour))
	// Failed: the sweep recorded it.
	reporttest.Write(t, filepath.Join(dir, "sweep2/failed"), running)
	writeFile(t, filepath.Join(dir, "sweep2/failed/status.json"), `{"state":"failed","error":"exit status 1"}`)
	touch(t, filepath.Join(dir, "sweep2/failed", rundir.MetricsFile), now.Add(-time.Hour))
	// Pending: planned, nothing run.
	writeFile(t, filepath.Join(dir, "sweep2/pending/sweep.json"), `{"experiment":"sweep2"}`)
	// A hostile run name.
	reporttest.Write(t, filepath.Join(dir, "sweep2", `<img src=x onerror=alert(1)>`), reporttest.LadderRun(0))
	// Unreadable: damage in the middle of a file, and a metrics.jsonl that
	// is a link out of the directory (read through the os.Root, refused).
	reporttest.Write(t, filepath.Join(dir, "sweep2/damaged"), running)
	writeFile(t, filepath.Join(dir, "sweep2/damaged", rundir.EvalsFile), "{\"step\":1,\"task\":\"a\",\"metric\":\"m\",\"value\":1}\ngarbage\n{\"step\":2}\n")
	reporttest.Write(t, filepath.Join(dir, "sweep2/escape"), reporttest.Run{Config: running.Config})
	must(t, os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(dir, "sweep2/escape", rundir.MetricsFile)))
	writeFile(t, filepath.Join(dir, "report.html"), "<html><body>the report</body></html>")
	must(t, os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(dir, "link-out.txt")))
	must(t, os.Symlink(outside, filepath.Join(dir, "dir-out")))
	must(t, os.Symlink("report.html", filepath.Join(dir, "link-in.html")))
	return dir, now
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, []byte(s), 0o644))
}

func touch(t *testing.T, path string, at time.Time) {
	t.Helper()
	must(t, os.Chtimes(path, at, at))
}

func newServer(t *testing.T) (*Server, string) {
	t.Helper()
	dir, now := fixture(t)
	s, err := New(dir, Options{Now: func() time.Time { return now }, Fresh: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func get(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.Host = "localhost:8080" // httptest's example.com is refused (DNS rebinding)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPage(t *testing.T) {
	s, _ := newServer(t)
	rec := get(t, s, "GET", "/")
	if rec.Code != 200 {
		t.Fatalf("GET / = %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{`data-run="ladder/r0"`, `data-run="induction/attn2"`, `class="st-running">running`, `class="st-failed">failed`,
		`class="st-pending">pending`, `class="st-interrupted">interrupted`, `class="st-done">done`, `href="/files/report.html"`, `<svg`, `class="series"`, `id="live"`, "add/plain/2"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "<img src=x") {
		t.Errorf("a run name was inserted as markup")
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("page CSP %q", csp)
	}
}

func TestAPIRuns(t *testing.T) {
	s, _ := newServer(t)
	rec := get(t, s, "GET", "/api/runs")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/runs = %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var out RunsJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"done": 13, "running": 1, "failed": 1, "pending": 1, "interrupted": 1, "unreadable": 2}
	for k, v := range want {
		if out.Counts[k] != v {
			t.Errorf("%s runs: %d, want %d (counts %v)", k, out.Counts[k], v, out.Counts)
		}
	}
	if strings.Contains(rec.Body.String(), secret) {
		t.Errorf("/api/runs shows a file outside the directory")
	}
	for _, r := range out.Runs {
		if r.ID == "sweep2/damaged" && !strings.Contains(r.Error, rundir.EvalsFile+":2") {
			t.Errorf("the damaged run's error %q does not name the line", r.Error)
		}
	}
	if !strings.Contains(out.CurvesSVG, `class="series"`) || !strings.Contains(out.CurvesSVG, `data-label="sweep2/running"`) {
		t.Errorf("live curves lack the running run's series")
	}
	rec = get(t, s, "GET", "/api/metrics?run=ladder/r2")
	var m MetricsJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || len(m.Steps) != len(reporttest.Steps) {
		t.Errorf("metrics of ladder/r2: %v %+v", err, m)
	}
	if rec := get(t, s, "GET", "/api/metrics?run=../outside"); rec.Code != 404 {
		t.Errorf("metrics of an unknown run: %d", rec.Code)
	}
}

func TestFiles(t *testing.T) {
	s, _ := newServer(t)
	for _, c := range []struct {
		target string
		code   int
	}{
		{"/files/report.html", 200},
		{"/files/link-in.html", 200}, // a link that stays inside is fine
		{"/files/ladder/r0/" + rundir.MetricsFile, 200},
		{"/files/ladder/r0", 404}, // no directory listings
		{"/files/nope.html", 404},
		{"/files/../outside/secret.txt", 404},
		{"/files/ladder/../../outside/secret.txt", 404},
		{"/files/%2e%2e/outside/secret.txt", 404},
		{"/files/%2E%2E%2Foutside%2Fsecret.txt", 404},
		{"/files/%252e%252e/outside/secret.txt", 404},
		{"/files/..%2foutside%2fsecret.txt", 404},
		{"/files//etc/passwd", 404},
		{"/files/%2fetc%2fpasswd", 404},
		{"/files/link-out.txt", 404},
		{"/files/dir-out/secret.txt", 404},
		{"/files/ladder/r0/..%5c..%5coutside%5csecret.txt", 404},
		{"/files/.", 404},
		{"/../outside/secret.txt", 404},
	} {
		rec := get(t, s, "GET", c.target)
		if rec.Code != c.code {
			t.Errorf("GET %s = %d, want %d", c.target, rec.Code, c.code)
		}
		if strings.Contains(rec.Body.String(), secret) {
			t.Errorf("GET %s leaked the outside file", c.target)
		}
	}
	rec := get(t, s, "GET", "/files/report.html")
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
		t.Errorf("served report CSP %q, want sandbox", csp)
	}
	if ct := get(t, s, "GET", "/files/ladder/r0/"+rundir.ConfigFile).Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("%s served as %q", rundir.ConfigFile, ct)
	}
}

// TestRealServer sends raw request lines over TCP, so no client cleans
// the path first.
func TestRealServer(t *testing.T) {
	s, _ := newServer(t)
	ts := httptest.NewServer(s)
	defer ts.Close()
	for _, raw := range []string{"/files/../outside/secret.txt", "/files/%2e%2e/outside/secret.txt", "/files/./../outside/secret.txt", "/../../outside/secret.txt"} {
		req, err := http.NewRequest("GET", ts.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = raw // sent verbatim in the request line
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 || strings.Contains(string(b), secret) {
			t.Errorf("GET %s = %d %q", raw, resp.StatusCode, b)
		}
	}
}

func TestReadOnly(t *testing.T) {
	s, dir := newServer(t)
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		rec := get(t, s, m, "/files/report.html")
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s = %d, want 405", m, rec.Code)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil || !strings.Contains(string(b), "the report") {
		t.Errorf("report changed: %q %v", b, err)
	}
	if rec := get(t, s, "HEAD", "/"); rec.Code != 200 {
		t.Errorf("HEAD / = %d", rec.Code)
	}
}

func TestCleanRel(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"a/b.html", true}, {"a", true}, {"", false}, {"/a", false}, {"a/../b", false}, {"..", false},
		{"a/./b", false}, {"a//b", false}, {"a\\b", false}, {"a\x00b", false}, {"a/", false},
	} {
		_, err := cleanRel(c.in)
		if (err == nil) != c.ok {
			t.Errorf("cleanRel(%q): err %v, want ok=%v", c.in, err, c.ok)
		}
	}
}
