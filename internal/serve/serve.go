// Package serve is emlab's dashboard: a read-only web view of the run
// directories under one root — the runs table with each run's status, live
// training curves while a sweep runs (the page polls a JSON endpoint),
// per-ability plots and links to the HTML reports found under the root.
//
// # Safety
//
// The server only reads. It answers GET and HEAD and nothing else. Every
// file it serves is opened through an os.Root on the directory, which
// refuses names that leave it — "..", absolute paths, and symbolic links
// pointing outside — and names with ".." elements are rejected before
// that. It serves regular files only (no directory listings), opened
// without blocking so a FIFO cannot hold a request. It answers only
// requests whose Host header is localhost, an IP address, the machine's
// name or a name it was given, so a DNS-rebinding page cannot read it
// through the victim's browser. Pages carry a
// Content-Security-Policy that forbids scripts other than the dashboard's
// own, and served HTML files (reports) run with no scripts at all. The CLI
// listens on the loopback interface unless told otherwise.
package serve

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"math"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"emlab/internal/report"
	"emlab/internal/report/assemble"
	"emlab/internal/rundir"
)

// Options tune the server.
type Options struct {
	// Fresh is how recently metrics.jsonl must have changed for a run
	// without DONE to count as running (default 2 minutes).
	Fresh time.Duration
	// Now is the clock (default time.Now); tests fix it.
	Now func() time.Time
	// PollMillis is how often the page polls for live curves (default 2000).
	PollMillis int
	// Hosts are host names the server answers to besides localhost, IP
	// addresses and the machine's name (see hostAllowed).
	Hosts []string
}

// Server serves one directory.
type Server struct {
	dir  string
	root *os.Root
	o    Options
}

// New opens dir for serving. Close releases it.
func New(dir string, o Options) (*Server, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("dashboard directory: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("dashboard directory: %w", err) // os names the path
	}
	if o.Fresh <= 0 {
		o.Fresh = 2 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PollMillis <= 0 {
		o.PollMillis = 2000
	}
	return &Server{dir: abs, root: root, o: o}, nil
}

// Close releases the directory.
func (s *Server) Close() error { return s.root.Close() }

// Dir is the absolute directory served.
func (s *Server) Dir() string { return s.dir }

//go:embed app.js
var appJS []byte

// pageCSP allows the dashboard's own script and JSON requests only.
const pageCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// fileCSP applies to files served from the directory: reports are static
// HTML with inline SVG and CSS, so nothing else is allowed, and sandbox
// gives them an opaque origin.
const fileCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"

// ServeHTTP routes: / (the dashboard), /app.js, /api/runs (JSON: runs and
// the live-curve SVG), /api/metrics?run=ID (JSON: one run's metrics),
// /run?id=ID (a run's page: its curves, evaluations and probes) and
// /files/PATH (a file under the directory).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if !s.hostAllowed(r.Host) {
		refuseHost(w)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "read-only: only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/" || p == "/index.html":
		s.page(w, r)
	case p == "/app.js":
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		w.Write(appJS)
	case p == "/api/runs":
		s.apiRuns(w, r)
	case p == "/api/metrics":
		s.apiMetrics(w, r)
	case p == "/run":
		s.runPage(w, r)
	case strings.HasPrefix(p, "/files/"):
		s.file(w, r, strings.TrimPrefix(p, "/files/"))
	default:
		http.NotFound(w, r)
	}
}

// cleanRel checks a path relative to the root: no empty, absolute, "." or
// ".." elements, backslashes or NUL bytes. It returns the path in
// slash form or an error.
func cleanRel(rel string) (string, error) {
	if rel == "" || strings.HasPrefix(rel, "/") || strings.ContainsAny(rel, "\\\x00") || filepath.IsAbs(rel) {
		return "", errors.New("bad path")
	}
	for _, el := range strings.Split(rel, "/") {
		if el == "" || el == "." || el == ".." {
			return "", errors.New("bad path")
		}
	}
	return rel, nil
}

func (s *Server) file(w http.ResponseWriter, r *http.Request, rel string) {
	rel, err := cleanRel(rel)
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	f, fi, err := s.openRegular(filepath.FromSlash(rel))
	if err != nil {
		// Names that escape the root, names that do not exist and files
		// that are not regular answer alike, so the answer says nothing
		// about the outside.
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	ct := mime.TypeByExtension(path.Ext(rel))
	switch path.Ext(rel) {
	case ".jsonl", ".json", ".toml", ".txt", ".log", ".csv", "":
		ct = "text/plain; charset=utf-8"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Security-Policy", fileCSP)
	http.ServeContent(w, r, fi.Name(), fi.ModTime(), f)
}

// RunRow is one row of the runs table (and of /api/runs).
type RunRow struct {
	ID       string   `json:"id"`
	Status   string   `json:"status"`
	Params   *float64 `json:"params"`
	Step     int      `json:"step"`
	Loss     *float64 `json:"loss"`
	EvalLoss *float64 `json:"eval_loss"`
	Tokens   float64  `json:"tokens"`
	Error    string   `json:"error,omitempty"`
}

// RunsJSON is /api/runs.
type RunsJSON struct {
	Runs []RunRow `json:"runs"`
	// Counts by status.
	Counts map[string]int `json:"counts"`
	// CurvesSVG is the live training-curve plot (escaped SVG markup).
	CurvesSVG string `json:"curves_svg"`
}

func opt(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// loadRuns reads the runs under the directory through the os.Root, so
// no read leaves it. A run that cannot be read (removed while we looked,
// or a damaged file) is listed with the error as its status.
func (s *Server) loadRuns() ([]*rundir.Run, map[string]error, error) {
	fsys := s.root.FS()
	ids, err := rundir.FindRunsFS(fsys)
	if err != nil {
		return nil, nil, err
	}
	var runs []*rundir.Run
	bad := map[string]error{}
	for _, id := range ids {
		sub, err := rundir.SubFS(fsys, id)
		if err == nil {
			var r *rundir.Run
			if r, err = rundir.ReadRunFS(sub, id); err == nil {
				runs = append(runs, r)
				continue
			}
		}
		bad[id] = err
	}
	return runs, bad, nil
}

func (s *Server) runsJSON(runs []*rundir.Run, bad map[string]error) RunsJSON {
	now := s.o.Now()
	out := RunsJSON{Counts: map[string]int{}, Runs: []RunRow{}}
	var series []report.Series
	for _, r := range runs {
		row := RunRow{ID: r.ID, Status: r.Status(now, s.o.Fresh), EvalLoss: opt(rundir.LastEvalLoss(r.Metrics))}
		if r.Config != nil && r.Config.Params > 0 {
			row.Params = opt(float64(r.Config.Params))
		}
		if r.Sweep != nil {
			row.Error = r.Sweep.Error
		}
		if last, ok := r.Last(); ok {
			row.Step, row.Loss, row.Tokens = last.Step, opt(last.Loss), last.Tokens
		}
		out.Counts[row.Status]++
		out.Runs = append(out.Runs, row)
		sr := report.Series{Label: r.ID, Style: report.Line}
		has := false
		for _, m := range r.Metrics {
			sr.X = append(sr.X, float64(m.Step))
			sr.Y = append(sr.Y, m.Loss)
			has = has || (m.Step > 0 && m.Loss > 0)
		}
		if has { // runs that log no training loss (probe-only studies) would only fill the legend
			series = append(series, sr)
		}
	}
	for _, id := range sortedKeys(bad) {
		out.Counts[unreadable]++
		out.Runs = append(out.Runs, RunRow{ID: id, Status: unreadable, Error: bad[id].Error()})
	}
	pl := &report.Plot{Title: "Training loss", XLabel: "step (log scale)", YLabel: "training loss (nats/token, log scale)", XLog: true, YLog: true,
		Series: series, Width: 640, Height: 340}
	out.CurvesSVG = pl.SVG()
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

func (s *Server) apiRuns(w http.ResponseWriter, r *http.Request) {
	runs, bad, err := s.loadRuns()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, s.runsJSON(runs, bad))
}

// unreadable is the status of a run whose files could not be read.
const unreadable = "unreadable"

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// MetricsJSON is /api/metrics: one run's logged steps.
type MetricsJSON struct {
	ID    string     `json:"id"`
	Steps []int      `json:"step"`
	Loss  []*float64 `json:"loss"`
	Eval  []*float64 `json:"eval_loss"`
}

func (s *Server) apiMetrics(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("run")
	runs, _, err := s.loadRuns()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// The id is looked up among the runs found, never used as a path.
	for _, ru := range runs {
		if ru.ID != id {
			continue
		}
		out := MetricsJSON{ID: id, Steps: []int{}, Loss: []*float64{}, Eval: []*float64{}}
		for _, m := range ru.Metrics {
			out.Steps = append(out.Steps, m.Step)
			out.Loss = append(out.Loss, opt(m.Loss))
			out.Eval = append(out.Eval, opt(m.EvalLoss))
		}
		writeJSON(w, out)
		return
	}
	http.Error(w, "no such run", http.StatusNotFound)
}

// findReports lists the HTML files under the root (not following links).
func (s *Server) findReports() []string {
	var out []string
	fs.WalkDir(s.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if p != "." && (strings.Count(p, "/")+1 > rundir.MaxDepth+1 || strings.HasPrefix(d.Name(), ".") || d.Name() == rundir.CheckpointsDir) {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && strings.HasSuffix(p, ".html") {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

type pageView struct {
	Dir       string
	Runs      RunsJSON
	Curves    template.HTML
	Abilities []abilityView
	Reports   []string
	Note      string
	Poll      int
}

type abilityView struct {
	Task    string
	SVG     template.HTML
	Verdict string
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	runs, bad, err := s.loadRuns()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	v := pageView{Dir: s.dir, Runs: s.runsJSON(runs, bad), Reports: s.findReports(), Poll: s.o.PollMillis}
	// The SVG writers escape all text they place.
	v.Curves = template.HTML(v.Runs.CurvesSVG)
	ladder, group := assemble.ChooseLadder(runs)
	var abilities []report.Ability
	if f, _, err := s.openRegular(assemble.AnalysisFile); err == nil {
		lines, err := assemble.ParseAnalysis(f)
		f.Close()
		if err == nil {
			abilities = assemble.Abilities(lines, ladder)
			v.Note = "Fits and verdicts from " + assemble.AnalysisFile + "."
		} else {
			v.Note = assemble.AnalysisFile + " is unreadable (" + err.Error() + "); showing observed values only."
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		v.Note = assemble.AnalysisFile + " is unreadable (" + err.Error() + "); showing observed values only."
	}
	if abilities == nil {
		abilities = assemble.Observed(ladder)
		if v.Note == "" && len(abilities) > 0 {
			v.Note = fmt.Sprintf("Observed final-step scores of the ladder %q; run emlab report for fits and verdicts.", group)
		}
	}
	for _, a := range abilities {
		if a.Sharp == nil {
			continue
		}
		pl := report.PanelPlot(a.Task, a.Sharp)
		pl.Width, pl.Height = 420, 260
		if len(a.Sharp.Fitted.X) == 0 && len(pl.Series) > 0 {
			// Without a fit, a line through the observed levels shows the trend.
			pl.Series[0].Style = report.LinePoints
		}
		v.Abilities = append(v.Abilities, abilityView{Task: a.Task, SVG: template.HTML(pl.SVG()), Verdict: a.Sharp.Verdict})
	}
	writePage(w, pageTmpl, v)
}

// writePage renders a page in full before sending it, so that a template
// error is a 500 rather than half a page, under the pages' CSP.
func writePage(w http.ResponseWriter, tmpl *template.Template, v any) {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-store")
	io.Copy(w, &buf)
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"num": func(p *float64) string {
		if p == nil {
			return "—"
		}
		return report.Num(*p)
	},
	"numf": report.Num,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>emlab dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:1em 2em;color:#222}
table{border-collapse:collapse;font-size:.9em}th,td{border:1px solid #ddd;padding:2px 8px;text-align:left}th{background:#f3f3f3}
.st-done{color:#009E73}.st-running{color:#0072B2;font-weight:bold}.st-failed,.st-unreadable{color:#D55E00;font-weight:bold}.st-pending,.st-interrupted{color:#777}
.plots{display:flex;flex-wrap:wrap;gap:10px}.plots svg{max-width:100%;height:auto}
.muted{color:#666;font-size:.9em}
</style></head>
<body data-poll="{{.Poll}}">
<h1>emlab dashboard</h1>
<p class="muted">Serving <code>{{.Dir}}</code> read-only.</p>
<h2>Runs <span class="muted" id="counts">{{range $k, $v := .Runs.Counts}}{{$k}}: {{$v}} {{end}}</span></h2>
<table id="runs"><thead><tr><th>run</th><th>status</th><th>params</th><th>step</th><th>loss</th><th>eval loss</th><th>tokens</th></tr></thead>
<tbody>{{range .Runs.Runs}}<tr data-run="{{.ID}}"><td><a href="/run?id={{.ID}}">{{.ID}}</a></td><td class="st-{{.Status}}">{{.Status}}{{if .Error}} ({{.Error}}){{end}}</td><td>{{num .Params}}</td><td>{{.Step}}</td><td>{{num .Loss}}</td><td>{{num .EvalLoss}}</td><td>{{numf .Tokens}}</td></tr>{{else}}<tr><td colspan="7">No runs under this directory yet.</td></tr>{{end}}</tbody></table>
<h2>Training curves <span class="muted" id="live-status">(live: refreshed every {{.Poll}} ms while this page is open)</span></h2>
<div id="live" class="plots">{{.Curves}}</div>
<h2>Abilities</h2>
{{if .Note}}<p class="muted">{{.Note}}</p>{{end}}
<div class="plots" id="abilities">{{range .Abilities}}<figure><figcaption>{{.Task}}: {{.Verdict}}</figcaption>{{.SVG}}</figure>{{else}}<p>No evaluations yet.</p>{{end}}</div>
<h2>Reports</h2>
<ul id="reports">{{range .Reports}}<li><a href="/files/{{.}}">{{.}}</a></li>{{else}}<li>No report yet (emlab report --dir DIR writes one).</li>{{end}}</ul>
<script src="/app.js"></script>
</body></html>
`))
