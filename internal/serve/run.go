package serve

import (
	"fmt"
	"html/template"
	"net/http"
	"sort"

	"emlab/internal/report"
	"emlab/internal/rundir"
)

// runView is the page of one run: its training curves, its evaluations at
// the last evaluated step (with the exact-match curves over steps) and its
// probes at the last probed step.
type runView struct {
	ID, Status     string
	Params         *float64
	Step           int
	Tokens         float64
	Metrics        template.HTML
	Abilities      template.HTML
	EvalStep       int
	Evals          []rundir.Eval
	ProbeStep      int
	Probes         []probeRow
	ProbeNA        bool
	Skipped        []string
	HasEvals, Done bool
}

// probeRow is a probe's headline at one step: the row with the most of
// what it detects (rundir.ProbeSense), or a descriptive measure's range.
type probeRow struct {
	Probe, Shown, Value, Layer, Head string
	Rows                             int
}

// runPage serves /run?id=ID. The id is looked up among the runs found
// under the root, never used as a path.
func (s *Server) runPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	runs, _, err := s.loadRuns()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var run *rundir.Run
	for _, ru := range runs {
		if ru.ID == id {
			run = ru
		}
	}
	if run == nil {
		http.Error(w, "no such run", http.StatusNotFound)
		return
	}
	v := runView{ID: run.ID, Status: run.Status(s.o.Now(), s.o.Fresh), Skipped: run.Skipped, Done: run.Done}
	if run.Config != nil && run.Config.Params > 0 {
		v.Params = opt(float64(run.Config.Params))
	}
	if last, ok := run.Last(); ok {
		v.Step, v.Tokens = last.Step, last.Tokens
	}
	// The SVG writers escape all text they place.
	v.Metrics = template.HTML(metricsPlot(run).SVG())
	v.EvalStep, v.Evals = lastEvals(run.Evals)
	v.HasEvals = len(v.Evals) > 0
	if pl := abilityPlot(run.Evals); pl != nil {
		v.Abilities = template.HTML(pl.SVG())
	}
	v.ProbeStep, v.Probes, v.ProbeNA = probeHeadlines(run.Probes)
	writePage(w, runTmpl, v)
}

// metricsPlot is the run's training and held-out loss against step.
func metricsPlot(run *rundir.Run) *report.Plot {
	train := report.Series{Label: "training loss", Style: report.Line}
	held := report.Series{Label: "eval loss", Style: report.LinePoints}
	for _, m := range run.Metrics {
		train.X, train.Y = append(train.X, float64(m.Step)), append(train.Y, m.Loss)
		held.X, held.Y = append(held.X, float64(m.Step)), append(held.Y, m.EvalLoss)
	}
	return &report.Plot{Title: "Loss", XLabel: "step (log scale)", YLabel: "loss (nats/token, log scale; lower is better)",
		XLog: true, YLog: true, Series: []report.Series{train, held}, Width: 560, Height: 320}
}

// lastEvals returns the last evaluated step and its results, sorted by
// task and metric.
func lastEvals(evals []rundir.Eval) (int, []rundir.Eval) {
	step := -1
	for _, e := range evals {
		step = max(step, e.Step)
	}
	var out []rundir.Eval
	for _, e := range evals {
		if e.Step == step && e.Position == nil && e.Subtask == nil {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Task != out[j].Task {
			return out[i].Task < out[j].Task
		}
		return out[i].Metric < out[j].Metric
	})
	return step, out
}

// abilityPlot is each task's exact match against step with its standard
// error, or nil when fewer than two steps were evaluated.
func abilityPlot(evals []rundir.Eval) *report.Plot {
	by := map[string]*report.Series{}
	var tasks []string
	for _, e := range evals {
		if e.Metric != rundir.ExactMatch || e.Position != nil || e.Subtask != nil {
			continue
		}
		s, ok := by[e.Task]
		if !ok {
			s = &report.Series{Label: e.Task, Style: report.LinePoints}
			by[e.Task] = s
			tasks = append(tasks, e.Task)
		}
		s.X, s.Y = append(s.X, float64(e.Step)), append(s.Y, e.Value)
		s.Lo, s.Hi = append(s.Lo, e.Value-e.Stderr), append(s.Hi, e.Value+e.Stderr)
	}
	sort.Strings(tasks)
	pl := &report.Plot{Title: "Exact match (± 1 standard error)", XLabel: "step (log scale)", YLabel: "exact match (higher is better)",
		XLog: true, YFixed: true, YMin: 0, YMax: 1, Width: 560, Height: 320}
	steps := 0
	for _, t := range tasks {
		s := by[t]
		sort.Sort(byX{s})
		steps = max(steps, len(s.X))
		pl.Series = append(pl.Series, *s)
	}
	if steps < 2 {
		return nil
	}
	return pl
}

// byX sorts a series' points by x, keeping the error bars with them.
type byX struct{ s *report.Series }

func (b byX) Len() int           { return len(b.s.X) }
func (b byX) Less(i, j int) bool { return b.s.X[i] < b.s.X[j] }
func (b byX) Swap(i, j int) {
	s := b.s
	s.X[i], s.X[j] = s.X[j], s.X[i]
	s.Y[i], s.Y[j] = s.Y[j], s.Y[i]
	s.Lo[i], s.Lo[j] = s.Lo[j], s.Lo[i]
	s.Hi[i], s.Hi[j] = s.Hi[j], s.Hi[i]
}

// probeHeadlines summarises the last probed step, one row per probe, and
// reports whether some layer or head does not apply.
func probeHeadlines(probes []rundir.Probe) (int, []probeRow, bool) {
	step := -1
	for _, p := range probes {
		step = max(step, p.Step)
	}
	type agg struct {
		lo, hi rundir.Probe
		n      int
	}
	by := map[string]*agg{}
	var order []string
	for _, p := range probes {
		if p.Step != step {
			continue
		}
		a, ok := by[p.Probe]
		if !ok {
			a = &agg{lo: p, hi: p}
			by[p.Probe] = a
			order = append(order, p.Probe)
		}
		a.n++
		if p.Value < a.lo.Value {
			a.lo = p
		}
		if p.Value > a.hi.Value {
			a.hi = p
		}
	}
	coord := func(i int) string {
		if i < 0 {
			return "n/a"
		}
		return fmt.Sprint(i)
	}
	var rows []probeRow
	na := false
	for _, name := range order {
		a := by[name]
		row := probeRow{Probe: name, Rows: a.n}
		p := a.hi
		switch sense := rundir.ProbeSense(name); {
		case sense > 0:
			row.Shown = "max"
		case sense < 0:
			row.Shown, p = "min", a.lo
		case a.n == 1:
			row.Shown = "value"
		default:
			row.Shown, row.Value = "range", report.Num(a.lo.Value)+" – "+report.Num(a.hi.Value)
		}
		if row.Shown != "range" {
			row.Value, row.Layer, row.Head = report.Num(p.Value), coord(p.Layer), coord(p.Head)
			na = na || p.Layer < 0 || p.Head < 0
		}
		rows = append(rows, row)
	}
	return step, rows, na
}

var runTmpl = template.Must(template.New("run").Funcs(template.FuncMap{
	"num": func(p *float64) string {
		if p == nil {
			return "—"
		}
		return report.Num(*p)
	},
	"numf": report.Num,
	// file names a run directory's file by its constant in package rundir.
	"file": func(name string) string {
		return map[string]string{"ConfigFile": rundir.ConfigFile, "MetricsFile": rundir.MetricsFile,
			"EvalsFile": rundir.EvalsFile, "ProbesFile": rundir.ProbesFile}[name]
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.ID}} · emlab dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:1em 2em;color:#222}
table{border-collapse:collapse;font-size:.9em}th,td{border:1px solid #ddd;padding:2px 8px;text-align:left}th{background:#f3f3f3}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.plots{display:flex;flex-wrap:wrap;gap:10px}.plots svg{max-width:100%;height:auto}
.muted{color:#666;font-size:.9em}
</style></head>
<body>
<p><a href="/">← all runs</a></p>
<h1>Run <code>{{.ID}}</code></h1>
<p>status <b>{{.Status}}</b> · {{num .Params}} parameters · step {{.Step}} · {{numf .Tokens}} tokens{{if .Done}} · finished{{end}}
· files: <a href="/files/{{.ID}}/{{file "ConfigFile"}}">{{file "ConfigFile"}}</a>, <a href="/files/{{.ID}}/{{file "MetricsFile"}}">{{file "MetricsFile"}}</a></p>
{{if .Skipped}}<p class="muted">Left out (partial last lines): {{range .Skipped}}{{.}} {{end}}</p>{{end}}
<h2>Training</h2>
<div class="plots" id="metrics">{{.Metrics}}</div>
<h2>Evaluations</h2>
{{if .HasEvals}}<div class="plots" id="ability-curves">{{.Abilities}}</div>
<p class="muted">At step {{.EvalStep}}, the last evaluated (<a href="/files/{{.ID}}/{{file "EvalsFile"}}">{{file "EvalsFile"}}</a>):</p>
<table id="evals"><thead><tr><th>task</th><th>metric</th><th>value</th><th>± stderr</th><th>items</th></tr></thead><tbody>
{{range .Evals}}<tr><td>{{.Task}}</td><td>{{.Metric}}</td><td class="n">{{numf .Value}}</td><td class="n">{{numf .Stderr}}</td><td class="n">{{.N}}</td></tr>
{{end}}</tbody></table>
{{else}}<p id="evals">Not evaluated yet (emlab eval --run DIR --all).</p>{{end}}
<h2>Probes</h2>
{{if .Probes}}<p class="muted">At step {{.ProbeStep}}, the last probed (<a href="/files/{{.ID}}/{{file "ProbesFile"}}">{{file "ProbesFile"}}</a>). max/min: the row with the most of what the probe detects (min for losses); range: a descriptive measure's smallest and largest row.</p>
<table id="probes"><thead><tr><th>probe</th><th>shown</th><th>value</th><th>layer</th><th>head</th><th>rows</th></tr></thead><tbody>
{{range .Probes}}<tr><td>{{.Probe}}</td><td>{{.Shown}}</td><td class="n">{{.Value}}</td><td class="n">{{.Layer}}</td><td class="n">{{.Head}}</td><td class="n">{{.Rows}}</td></tr>
{{end}}</tbody></table>
{{if .ProbeNA}}<p class="muted">n/a: the row measures the whole model (layer) or a whole layer (head), not one layer or head.</p>{{end}}
{{else}}<p id="probes">Not probed yet (emlab probe --run DIR --all).</p>{{end}}
</body></html>
`))
