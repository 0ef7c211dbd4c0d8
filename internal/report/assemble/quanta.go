package assemble

// quanta.go: the quanta section: for a task made of subtasks (multitask
// sparse parity), each subtask's loss at each model size, and the order
// in which the subtasks are solved as size grows (Michaud et al. 2023).

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"emlab/internal/report"
	"emlab/internal/rundir"
)

// family is a task name without its variant ("parity/t=03" → "parity"):
// per-subtask lines of one task may be spread over its variants.
func family(task string) string {
	if i := strings.IndexByte(task, '/'); i >= 0 {
		return task[:i]
	}
	return task
}

// QuantaTask is the task family of the first per-subtask evaluation line
// among runs, "" when there is none.
func QuantaTask(runs []*rundir.Run) string {
	for _, ru := range runs {
		for _, e := range ru.Evals {
			if e.Subtask != nil {
				return family(e.Task)
			}
		}
	}
	return ""
}

// subtaskLines returns the run's per-subtask lines of the task family at
// the last step that has any (none: step −1).
func subtaskLines(r *rundir.Run, task string) (lines []rundir.Eval, step int) {
	step = -1
	for _, e := range r.Evals {
		if e.Subtask != nil && family(e.Task) == task {
			step = max(step, e.Step)
		}
	}
	for _, e := range r.Evals {
		if e.Subtask != nil && family(e.Task) == task && e.Step == step {
			lines = append(lines, e)
		}
	}
	return lines, step
}

// SolvedSubtasks lists, ascending, the subtasks of the task family that
// the run solves at its last step with per-subtask lines: those whose
// sharp metric (the first of rundir.SharpMetrics the lines have) reaches
// rundir.SubtaskSolved. step is that step (−1 when the run has none).
func SolvedSubtasks(r *rundir.Run, task string) (solved []int, step int) {
	lines, step := subtaskLines(r, task)
	metric := ""
	for _, m := range rundir.SharpMetrics() {
		if slices.ContainsFunc(lines, func(e rundir.Eval) bool { return e.Metric == m }) {
			metric = m
			break
		}
	}
	for _, e := range lines {
		if e.Metric == metric && e.Value >= rundir.SubtaskSolved && !slices.Contains(solved, *e.Subtask) {
			solved = append(solved, *e.Subtask)
		}
	}
	sort.Ints(solved)
	return solved, step
}

// quanta builds the per-subtask heat map: rows are subtasks, columns the
// runs by size, cells the final step's loss (−logprob, nats per answer
// token) or, without log-probabilities, the error rate 1 − exact match.
func quanta(r *report.Report, runs []*rundir.Run) {
	task := QuantaTask(runs)
	if task == "" {
		return
	}
	var with []*rundir.Run
	for _, ru := range sortBySize(runs) {
		if _, step := subtaskLines(ru, task); step >= 0 {
			with = append(with, ru)
		}
	}
	metric, label, sign, offset := rundir.LogProb, "loss (−log p, nats/token)", -1.0, 0.0
	first, _ := subtaskLines(with[0], task)
	if !slices.ContainsFunc(first, func(e rundir.Eval) bool { return e.Metric == rundir.LogProb }) {
		metric, label, sign, offset = rundir.ExactMatch, "error rate (1 − exact match)", -1, 1
	}
	subs := map[int]bool{}
	vals := map[[2]int]float64{} // (subtask, column) → value
	solved := map[[2]int]bool{}
	for c, ru := range with {
		lines, _ := subtaskLines(ru, task)
		for _, e := range lines {
			if e.Metric == metric {
				subs[*e.Subtask] = true
				vals[[2]int{*e.Subtask, c}] = offset + sign*e.Value
			}
		}
		ss, _ := SolvedSubtasks(ru, task)
		for _, s := range ss {
			solved[[2]int{s, c}] = true
		}
	}
	var ids []int
	for s := range subs {
		ids = append(ids, s)
	}
	sort.Ints(ids)
	q := &report.Quanta{Map: report.Heatmap{Title: "Per-subtask " + strings.SplitN(label, " (", 2)[0] + " by model size — " + task,
		XLabel: "model size (parameters)", YLabel: "subtask (0 = most frequent)", ValueLabel: label + "; lower is better", LowIsGood: true}}
	for _, ru := range with {
		q.Map.Cols = append(q.Map.Cols, report.Num(params(ru)))
	}
	for _, s := range ids {
		q.Map.Rows = append(q.Map.Rows, strconv.Itoa(s))
		row := make([]float64, len(with))
		for c := range with {
			v, ok := vals[[2]int{s, c}]
			if !ok {
				v = math.NaN()
			}
			row[c] = v
		}
		q.Map.Values = append(q.Map.Values, row)
	}
	var order []string
	for c, ru := range with {
		var now []string
		for _, s := range ids {
			if solved[[2]int{s, c}] && (c == 0 || !solved[[2]int{s, c - 1}]) {
				now = append(now, strconv.Itoa(s))
			}
		}
		if len(now) > 0 {
			order = append(order, fmt.Sprintf("solved (sharp metric ≥ %s) from %s params: subtasks %s",
				report.Num(rundir.SubtaskSolved), report.Num(params(ru)), strings.Join(now, ", ")))
		}
	}
	if len(order) > 0 {
		q.Order = append([]string{"Order in which subtasks are solved as size grows:"}, order...)
	}
	r.Quanta = q
}
