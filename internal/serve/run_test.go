package serve

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRunPage: every run in the table links to its page, which shows its
// loss curves, evaluations and probes; an unknown or hostile id is a 404
// that reads nothing, and a hostile run name is escaped everywhere.
func TestRunPage(t *testing.T) {
	s, _ := newServer(t)
	page := get(t, s, "GET", "/").Body.String()
	for _, id := range []string{"sweep2/running", "sweep2/failed", "induction/attn2"} {
		// html/template writes the escapes in lower case (%2f).
		if !strings.Contains(strings.ToLower(page), strings.ToLower(`<a href="/run?id=`+url.QueryEscape(id)+`">`)) {
			t.Errorf("the runs table does not link %s to its page", id)
		}
	}
	rec := get(t, s, "GET", "/run?id="+url.QueryEscape("sweep2/running"))
	if rec.Code != http.StatusOK {
		t.Fatalf("/run?id=sweep2/running: %d %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	for _, want := range []string{"<h1>Run <code>sweep2/running</code></h1>", `id="metrics"`, "<svg", "training loss", "eval loss",
		`<table id="evals">`, "lower is better", "← all runs"} {
		if !strings.Contains(body, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	probes := get(t, s, "GET", "/run?id="+url.QueryEscape("induction/attn2")).Body.String()
	for _, want := range []string{`<table id="probes">`, "<td>prefix_matching</td><td>max</td>", "<td>icl_score</td><td>min</td>",
		`<td class="n">n/a</td>`, "n/a: the row measures the whole model"} {
		if !strings.Contains(probes, want) {
			t.Errorf("induction run page lacks %q", want)
		}
	}
	if strings.Contains(probes, ">-1<") {
		t.Errorf("run page shows -1 for a layer or head that does not apply")
	}
	if got := rec.Header().Get("Content-Security-Policy"); got != pageCSP {
		t.Errorf("run page CSP %q", got)
	}
	hostile := "sweep2/<img src=x onerror=alert(1)>"
	rec = get(t, s, "GET", "/run?id="+url.QueryEscape(hostile))
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "<img src=x") {
		t.Errorf("hostile run name: %d, unescaped markup on its page", rec.Code)
	}
	for _, id := range []string{"nope", "../outside", "sweep2/escape/../../outside", ""} {
		if rec := get(t, s, "GET", "/run?id="+url.QueryEscape(id)); rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), secret) {
			t.Errorf("/run?id=%q: %d, want 404 without the secret", id, rec.Code)
		}
	}
}
