package store

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"emlab/internal/rundir"
)

// Axes are the x axes of the tidy export (rundir.Axes), with the meaning
// `emlab analyze --runs` gives them: on params and non_embedding_params
// each run contributes its final evaluated step; on step, tokens, flops
// and eval_loss every evaluated step contributes, joined to metrics.jsonl
// by step.
var Axes = rundir.Axes

// ExportColumns is the tidy CSV header. The first columns are what `emlab
// analyze --csv` reads (task, metric, x, value; seed, n, chance, low, high,
// group); the rest name the run and every candidate axis, so pandas or R
// users can pick another x without exporting again, and the position or
// subtask of a breakdown line (empty on a task's aggregate line).
var ExportColumns = []string{"task", "metric", "x", "value", "seed", "n", "chance", "low", "high", "group",
	"x_axis", "run", "experiment", "axes", "step", "params", "non_embedding_params", "tokens", "flops", "eval_loss", "stderr",
	"position", "subtask"}

// ExportOptions select what Export writes.
type ExportOptions struct {
	X string // one of Axes; default params
	// Loss adds the language-model loss as task "lm", metric "eval_loss"
	// at every step that measured it (a smooth metric beside the battery's;
	// lower is better, unlike most abilities).
	Loss bool
	// Experiment keeps only runs of this sweep experiment ("" all).
	Experiment string
	// Breakdown adds the per-position and per-subtask lines, which are
	// not curves of their own (analyze --runs leaves them out; a CSV with
	// them is for other tools).
	Breakdown bool
}

// ExportStats says what Export wrote and left out.
type ExportStats struct {
	Rows int
	// DroppedNonPositive counts rows at x ≤ 0 (the step-0 evaluation on the
	// step, tokens and FLOPs axes), which a log axis cannot hold; analyze
	// drops them the same way.
	DroppedNonPositive int
	DroppedNoMetrics   int // eval_loss axis: no metrics line with eval_loss at that step
}

// z95 is the two-sided 95% normal quantile: low/high = value ∓ z95·stderr,
// which analyze turns back into stderr = (high − low)/(2·z95).
const z95 = 1.959964

type exportRow struct {
	run, experiment, axes   string
	seed                    int64
	params, nonEmb          int64
	tokensPerStep           int64
	flopsPerToken           float64
	step                    int64
	task, metric            string
	position, subtask       int64
	value                   float64
	stderr, chance, n       sql.NullFloat64
	tokens, flops, evalLoss sql.NullFloat64
}

// Export writes the tidy CSV (ExportColumns) of the indexed evaluations,
// one row per (run, step, task, metric) on the chosen axis, sorted by
// task, metric, run and step.
func (d *DB) Export(ctx context.Context, w io.Writer, o ExportOptions) (ExportStats, error) {
	var st ExportStats
	if o.X == "" {
		o.X = rundir.AxisParams
	}
	ok := false
	for _, a := range Axes {
		ok = ok || a == o.X
	}
	if !ok {
		return st, fmt.Errorf("export: unknown x axis %q (want one of %s)", o.X, strings.Join(Axes, ", "))
	}
	where := ""
	args := []any{}
	if o.Experiment != "" {
		where = " AND r.experiment = ?"
		args = append(args, o.Experiment)
	}
	evalsWhere := where
	if !o.Breakdown {
		evalsWhere += " AND e.position < 0 AND e.subtask < 0"
	}
	q := `SELECT r.run_id, COALESCE(r.experiment,''), COALESCE(r.axes,''), r.seed, r.params, r.non_embedding_params,
			r.tokens_per_step, r.flops_per_token, e.step, e.task, e.metric, e.position, e.subtask, e.value, e.stderr, e.chance, e.n,
			m.tokens, m.flops, m.eval_loss
		FROM evals e JOIN runs r ON r.run_id = e.run_id
		LEFT JOIN metrics m ON m.run_id = e.run_id AND m.step = e.step
		WHERE e.value IS NOT NULL` + evalsWhere
	if o.Loss {
		q += ` UNION ALL
		SELECT r.run_id, COALESCE(r.experiment,''), COALESCE(r.axes,''), r.seed, r.params, r.non_embedding_params,
			r.tokens_per_step, r.flops_per_token, m.step, 'lm', '` + rundir.AxisEvalLoss + `', -1, -1, m.eval_loss, NULL, NULL, NULL,
			m.tokens, m.flops, m.eval_loss
		FROM metrics m JOIN runs r ON r.run_id = m.run_id
		WHERE m.eval_loss IS NOT NULL` + where
		args = append(args, args...)
	}
	q = `SELECT * FROM (` + q + `) ORDER BY 10, 11, 1, 9, 13, 12`
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return st, fmt.Errorf("export: %w", err)
	}
	defer rows.Close()
	var all []exportRow
	final := map[string]int64{} // (run, task, metric) → last evaluated step
	for rows.Next() {
		var r exportRow
		if err := rows.Scan(&r.run, &r.experiment, &r.axes, &r.seed, &r.params, &r.nonEmb, &r.tokensPerStep,
			&r.flopsPerToken, &r.step, &r.task, &r.metric, &r.position, &r.subtask, &r.value, &r.stderr, &r.chance, &r.n,
			&r.tokens, &r.flops, &r.evalLoss); err != nil {
			return st, fmt.Errorf("export: %w", err)
		}
		// Without a metrics line at this step, tokens and FLOPs follow from
		// the run's constants exactly as emlab train computes them.
		if !r.tokens.Valid {
			r.tokens = sql.NullFloat64{Float64: float64(r.step * r.tokensPerStep), Valid: true}
		}
		if !r.flops.Valid {
			r.flops = sql.NullFloat64{Float64: r.tokens.Float64 * r.flopsPerToken, Valid: true}
		}
		// The chance rate only where it applies (rundir.Eval.ChanceOf):
		// analyze --csv then sees the curves analyze --runs sees.
		if k, ok := rundir.KindOf(r.metric); !ok || !k.Chance {
			r.chance = sql.NullFloat64{}
		}
		k := r.run + "\x00" + r.task + "\x00" + r.metric
		if s, seen := final[k]; !seen || r.step > s {
			final[k] = r.step
		}
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("export: %w", err)
	}

	cw := csv.NewWriter(w)
	if err := cw.Write(ExportColumns); err != nil {
		return st, err
	}
	perStep := rundir.PerStepAxis(o.X)
	for _, r := range all {
		if !perStep && r.step != final[r.run+"\x00"+r.task+"\x00"+r.metric] {
			continue
		}
		var x float64
		switch o.X {
		case rundir.AxisParams:
			x = float64(r.params)
		case rundir.AxisNonEmbedding:
			x = float64(r.nonEmb)
		case rundir.AxisStep:
			x = float64(r.step)
		case rundir.AxisTokens:
			x = r.tokens.Float64
		case rundir.AxisFLOPs:
			x = r.flops.Float64
		case rundir.AxisEvalLoss:
			if !r.evalLoss.Valid {
				st.DroppedNoMetrics++
				continue
			}
			x = r.evalLoss.Float64
		}
		if !(x > 0) {
			st.DroppedNonPositive++
			continue
		}
		rec := []string{r.task, r.metric, num(x), num(r.value), strconv.FormatInt(r.seed, 10), nullNum(r.n), nullNum(r.chance),
			"", "", strconv.FormatInt(r.params, 10), o.X, r.run, r.experiment, r.axes, strconv.FormatInt(r.step, 10),
			strconv.FormatInt(r.params, 10), strconv.FormatInt(r.nonEmb, 10), num(r.tokens.Float64), num(r.flops.Float64),
			nullNum(r.evalLoss), nullNum(r.stderr), orEmpty(r.position), orEmpty(r.subtask)}
		if r.stderr.Valid && r.stderr.Float64 >= 0 {
			rec[7], rec[8] = num(r.value-z95*r.stderr.Float64), num(r.value+z95*r.stderr.Float64)
		}
		if err := cw.Write(rec); err != nil {
			return st, err
		}
		st.Rows++
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return st, fmt.Errorf("export: %w", err)
	}
	return st, nil
}

// ExportScaling writes params,tokens,loss (one row per finished run: its
// parameter count, training tokens and final eval loss), the input of
// `emlab scaling fit --csv`.
func (d *DB) ExportScaling(ctx context.Context, w io.Writer, experiment string) (int, error) {
	q := `SELECT r.run_id, r.params, m.tokens, m.eval_loss, r.seed FROM runs r
		JOIN metrics m ON m.run_id = r.run_id
		WHERE r.done = 1 AND m.eval_loss IS NOT NULL
		AND m.step = (SELECT MAX(step) FROM metrics WHERE run_id = r.run_id AND eval_loss IS NOT NULL)`
	args := []any{}
	if experiment != "" {
		q += ` AND r.experiment = ?`
		args = append(args, experiment)
	}
	rows, err := d.db.QueryContext(ctx, q+` ORDER BY r.params, m.tokens, r.run_id`, args...)
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	defer rows.Close()
	cw := csv.NewWriter(w)
	cw.Write([]string{"params", "tokens", "loss", "seed", "run"})
	n := 0
	for rows.Next() {
		var run string
		var params, tokens, seed int64
		var loss float64
		if err := rows.Scan(&run, &params, &tokens, &loss, &seed); err != nil {
			return n, fmt.Errorf("export: %w", err)
		}
		cw.Write([]string{strconv.FormatInt(params, 10), strconv.FormatInt(tokens, 10), num(loss), strconv.FormatInt(seed, 10), run})
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	cw.Flush()
	return n, cw.Error()
}

// orEmpty writes a position or subtask, "" for −1 (none).
func orEmpty(v int64) string {
	if v < 0 {
		return ""
	}
	return strconv.FormatInt(v, 10)
}

func num(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return ""
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

func nullNum(v sql.NullFloat64) string {
	if !v.Valid {
		return ""
	}
	return num(v.Float64)
}
