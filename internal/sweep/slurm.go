package sweep

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"emlab/internal/atomicfile"
)

// The Slurm executor writes one sbatch array script per submission (one
// array task per pack of runs), submits it, and reads job states from
// `squeue --json` (falling back to `scontrol show job`), so it needs no
// accounting database (sacct). Each array task runs `emlab sweep worker`,
// which executes its runs with ExecRun exactly as the local pool does:
// results land in the shared run directories. Submissions are recorded in
// OUT/.slurm/submissions.jsonl so that status and --retry know which array
// task ran which run.

// SlurmDir is the executor's directory inside a sweep's output directory.
const SlurmDir = ".slurm"

// Manifest is what an array task needs: its runs and how to execute them.
// It is written before submission; the worker never reads the experiment
// file, which may have changed since.
type Manifest struct {
	Experiment string      `json:"experiment"`
	Exec       ExecOptions `json:"exec"`
	Packs      [][]Run     `json:"packs"` // array task i runs Packs[i] in order
}

// submission is one line of submissions.jsonl.
type submission struct {
	JobID    string     `json:"job_id"`
	Script   string     `json:"script"`
	Manifest string     `json:"manifest"`
	Packs    [][]string `json:"packs"` // run ids per array task
	Time     time.Time  `json:"time"`
}

// SlurmOptions configure RunSlurm.
type SlurmOptions struct {
	ExecOptions
	Retry bool // resubmit failed and lost runs
	Wait  bool // watch the jobs until they finish
	// WorkerArgs are extra flags for `emlab sweep worker` (e.g. --no-index).
	WorkerArgs []string
	Progress   func(Progress)
	Every      time.Duration // poll interval while waiting (default 2 s)
	Log        io.Writer     // sbatch's messages; nil discards
}

// SlurmSummary is what RunSlurm did.
type SlurmSummary struct {
	JobID, Script string
	Submitted     int
	Done, Failed  int
	Failures      []string
	Waited        bool
}

// Err lists failed runs, or nil.
func (s SlurmSummary) Err() error {
	return Summary{Failed: s.Failed, Failures: s.Failures}.Err()
}

// ReadManifest reads a submission manifest.
func ReadManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	return &m, nil
}

// RunWorker executes array task `task` of manifest m: its runs in order,
// with bin as the emlab binary. It returns an error naming the runs that
// failed (so Slurm marks the task FAILED).
func RunWorker(ctx context.Context, m *Manifest, task int, bin string, after func(Run, Outcome) error, log io.Writer) error {
	if task < 0 || task >= len(m.Packs) {
		return fmt.Errorf("sweep worker: array task %d is not in the manifest (%d tasks)", task, len(m.Packs))
	}
	o := m.Exec
	o.Bin = bin
	if j := os.Getenv("SLURM_ARRAY_JOB_ID"); j != "" {
		o.Slurm = j + "_" + os.Getenv("SLURM_ARRAY_TASK_ID")
	}
	var failed []string
	for _, r := range m.Packs[task] {
		if ctx.Err() != nil {
			return fmt.Errorf("sweep worker: %w", ctx.Err())
		}
		out, err := ExecRun(ctx, r, o)
		if err != nil {
			return err
		}
		if after != nil {
			if err := after(r, out); err != nil && log != nil {
				fmt.Fprintf(log, "sweep worker: index %s: %v\n", r.ID, err)
			}
		}
		if log != nil {
			fmt.Fprintf(log, "sweep worker: %s %s %s\n", r.ID, out.State, out.Error)
		}
		switch out.State {
		case StateFailed:
			failed = append(failed, r.ID+": "+out.Error)
		case StateInterrupted:
			return fmt.Errorf("sweep worker: %s interrupted", r.ID)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("sweep worker: %d run(s) failed:\n  %s", len(failed), strings.Join(failed, "\n  "))
	}
	return nil
}

func readSubmissions(out string) ([]submission, error) {
	f, err := os.Open(filepath.Join(out, SlurmDir, "submissions.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var subs []submission
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var s submission
		if json.Unmarshal(sc.Bytes(), &s) == nil && s.JobID != "" {
			subs = append(subs, s)
		}
	}
	return subs, sc.Err()
}

// taskKey is an array job id and task index.
type taskKey struct {
	job  string
	task int
}

// slurmStates returns the state of every array task Slurm still knows,
// from `squeue --json` (in Slurm 22.05 it ignores job filters and lists
// every job, including finished ones kept by MinJobAge) or, failing that,
// `scontrol show job --oneliner`.
func slurmStates(ctx context.Context) (map[taskKey]string, error) {
	out, err := exec.CommandContext(ctx, "squeue", "--json").Output()
	if err == nil {
		if st, perr := parseSqueueJSON(out); perr == nil {
			return st, nil
		}
	}
	out, err2 := exec.CommandContext(ctx, "scontrol", "show", "job", "--oneliner").Output()
	if err2 != nil {
		return nil, fmt.Errorf("read Slurm job states: squeue: %v; scontrol: %v", err, err2)
	}
	return parseScontrol(out), nil
}

func parseSqueueJSON(b []byte) (map[taskKey]string, error) {
	var doc struct {
		Jobs []struct {
			JobID       json.RawMessage `json:"job_id"`
			ArrayJobID  json.RawMessage `json:"array_job_id"`
			ArrayTaskID json.RawMessage `json:"array_task_id"`
			ArrayTasks  string          `json:"array_task_string"`
			JobState    json.RawMessage `json:"job_state"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	st := map[taskKey]string{}
	for _, j := range doc.Jobs {
		job, ok := slurmNumber(j.ArrayJobID)
		if !ok || job == 0 {
			continue // not an array job
		}
		state := slurmState(j.JobState)
		if t, ok := slurmNumber(j.ArrayTaskID); ok {
			st[taskKey{strconv.FormatInt(job, 10), int(t)}] = state
			continue
		}
		for _, t := range expandRange(j.ArrayTasks) {
			st[taskKey{strconv.FormatInt(job, 10), t}] = state
		}
	}
	return st, nil
}

// slurmNumber reads a number that newer Slurm versions wrap as
// {"set": true, "number": N}.
func slurmNumber(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false // json.Unmarshal would leave 0 and report no error
	}
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		return n, true
	}
	var w struct {
		Set    bool  `json:"set"`
		Number int64 `json:"number"`
	}
	if json.Unmarshal(raw, &w) == nil && w.Set {
		return w.Number, true
	}
	return 0, false
}

// slurmState reads job_state, a string in 22.05 and a list in later versions.
func slurmState(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var l []string
	if json.Unmarshal(raw, &l) == nil && len(l) > 0 {
		return l[0]
	}
	return "UNKNOWN"
}

// expandRange expands an array task string such as "0-3", "1,4-6" or
// "0-9%2" (the throttle suffix is ignored).
func expandRange(s string) []int {
	s, _, _ = strings.Cut(s, "%")
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for t := a; t <= b; t++ {
			out = append(out, t)
		}
	}
	return out
}

func parseScontrol(b []byte) map[taskKey]string {
	st := map[taskKey]string{}
	for _, line := range strings.Split(string(b), "\n") {
		f := map[string]string{}
		for _, kv := range strings.Fields(line) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				f[k] = v
			}
		}
		job, tasks, state := f["ArrayJobId"], f["ArrayTaskId"], f["JobState"]
		if job == "" || tasks == "" || state == "" {
			continue
		}
		for _, t := range expandRange(tasks) {
			st[taskKey{job, t}] = state
		}
	}
	return st
}

// States reads every run's state, refined by Slurm's view of the runs that
// were submitted: queued while their array task waits, failed when the
// task ended (cancelled, timed out, node failure) without finishing the
// run, and failed as lost when Slurm no longer knows a task whose run did
// not finish. Without submissions it is ReadStates.
func States(ctx context.Context, out string, p *Plan) ([]View, error) {
	views := ReadStates(out, p)
	subs, err := readSubmissions(out)
	if err != nil {
		return nil, fmt.Errorf("slurm submissions: %w", err)
	}
	if len(subs) == 0 {
		return views, nil
	}
	latest := map[string]taskKey{}
	for _, s := range subs {
		for t, ids := range s.Packs {
			for _, id := range ids {
				latest[id] = taskKey{s.JobID, t}
			}
		}
	}
	states, err := slurmStates(ctx)
	if err != nil {
		// The run directories still say what they know (a login node
		// without Slurm, a stopped controller): return them with the error.
		return views, err
	}
	for i, v := range views {
		k, ok := latest[v.Run.ID]
		if !ok {
			continue
		}
		state, known := states[k]
		v.Slurm = fmt.Sprintf("%s_%d", k.job, k.task)
		if known {
			v.Slurm += " " + state
		}
		switch {
		case v.State == StateDone || v.State == StateRunning:
		case !known:
			if v.State != StateFailed {
				v.State, v.Error = StateFailed, fmt.Sprintf("lost: Slurm no longer knows task %s_%d and the run did not finish", k.job, k.task)
			}
		case state == "PENDING" || state == "CONFIGURING" || state == "REQUEUED" || state == "RESIZING" ||
			state == "RUNNING" || state == "COMPLETING" || state == "SUSPENDED":
			// Running tasks work through their pack in order: a run not
			// yet locked waits its turn.
			v.State = StateQueued
		case v.State == StateFailed:
			v.Error = strings.TrimSpace(v.Error + " (slurm: " + state + ")")
		default:
			v.State, v.Error = StateFailed, "slurm task "+v.Slurm
		}
		views[i] = v
	}
	return views, nil
}

// RunSlurm submits the runs that need work as one sbatch array and, with
// Wait, watches them to the end. Runs queued or running under an earlier
// submission are left alone; failed and lost runs are resubmitted only
// with Retry.
func RunSlurm(ctx context.Context, p *Plan, o SlurmOptions) (SlurmSummary, error) {
	var sum SlurmSummary
	if o.Log == nil {
		o.Log = io.Discard
	}
	views, err := States(ctx, o.Out, p)
	if err != nil {
		return sum, err
	}
	var todo []Run
	for _, i := range Select(views, o.Retry) {
		todo = append(todo, views[i].Run)
	}
	if len(todo) > 0 {
		if err := submit(ctx, p, todo, o, &sum); err != nil {
			return sum, err
		}
	}
	if !o.Wait {
		return sum, nil
	}
	sum.Waited = true
	every := o.Every
	if every <= 0 {
		every = 2 * time.Second
	}
	began := time.Now()
	var flops0 float64
	for first := true; ; first = false {
		views, err := States(ctx, o.Out, p)
		if err != nil {
			return sum, err
		}
		pr := Summarize(views, flops0, time.Since(began))
		if first {
			flops0 = pr.FLOPsDone
		}
		if o.Progress != nil {
			o.Progress(pr)
		}
		if pr.Running == 0 && pr.Queued == 0 {
			for _, v := range views {
				switch v.State {
				case StateDone:
					sum.Done++
				case StateFailed:
					sum.Failed++
					sum.Failures = append(sum.Failures, v.Run.ID+": "+v.Error)
				}
			}
			return sum, nil
		}
		select {
		case <-ctx.Done():
			return sum, fmt.Errorf("stopped watching (the jobs keep running; `emlab sweep status` shows them): %w", ctx.Err())
		case <-time.After(every):
		}
	}
}

// submit writes the manifest and the sbatch script for todo and submits it.
func submit(ctx context.Context, p *Plan, todo []Run, o SlurmOptions, sum *SlurmSummary) error {
	e := p.Experiment
	dir := filepath.Join(o.Out, SlurmDir)
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return fmt.Errorf("slurm: %w", err)
	}
	pack := max(e.Slurm.Pack, 1)
	m := Manifest{Experiment: p.Name, Exec: o.ExecOptions}
	var packIDs [][]string
	for i := 0; i < len(todo); i += pack {
		j := min(i+pack, len(todo))
		m.Packs = append(m.Packs, todo[i:j])
		var ids []string
		for _, r := range todo[i:j] {
			ids = append(ids, r.ID)
		}
		packIDs = append(packIDs, ids)
	}
	stamp := time.Now().UTC().Format("20060102T150405.000000000")
	manifest := filepath.Join(dir, "submit-"+stamp+".json")
	script := filepath.Join(dir, "submit-"+stamp+".sbatch")
	mb, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(manifest, mb); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(script, []byte(sbatchScript(p, len(m.Packs), o, manifest))); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "sbatch", "--parsable", script)
	var stderr bytes.Buffer
	cmd.Stderr = io.MultiWriter(&stderr, o.Log)
	outb, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("sbatch %s: %v: %s", script, err, strings.TrimSpace(stderr.String()))
	}
	job, _, _ := strings.Cut(strings.TrimSpace(string(outb)), ";")
	if _, err := strconv.Atoi(job); err != nil {
		return fmt.Errorf("sbatch %s: unexpected output %q", script, outb)
	}
	line, _ := json.Marshal(submission{JobID: job, Script: script, Manifest: manifest, Packs: packIDs, Time: time.Now().UTC()})
	if err := atomicfile.AppendLine(filepath.Join(dir, "submissions.jsonl"), line); err != nil {
		return fmt.Errorf("slurm: job %s submitted but not recorded: %w", job, err)
	}
	sum.JobID, sum.Script, sum.Submitted = job, script, len(todo)
	return nil
}

// sbatchScript is the array job: resources from the experiment's [slurm]
// and [resources] sections, logs appended per task.
func sbatchScript(p *Plan, tasks int, o SlurmOptions, manifest string) string {
	e := p.Experiment
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	fmt.Fprintf(&b, "# emlab sweep %s: %d array tasks; written by emlab, submitted with sbatch.\n", p.Name, tasks)
	fmt.Fprintf(&b, "#SBATCH --job-name=emlab-%s\n", p.Name)
	arr := fmt.Sprintf("0-%d", tasks-1)
	if e.Slurm.MaxParallel > 0 {
		arr += fmt.Sprintf("%%%d", e.Slurm.MaxParallel)
	}
	fmt.Fprintf(&b, "#SBATCH --array=%s\n", arr)
	fmt.Fprintf(&b, "#SBATCH --output=%s\n", filepath.Join(o.Out, SlurmDir, "logs", "%A_%a.out"))
	b.WriteString("#SBATCH --open-mode=append\n")
	fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", max(e.Resources.Threads, 1))
	b.WriteString("#SBATCH --ntasks=1\n")
	if e.Slurm.Time != "" {
		fmt.Fprintf(&b, "#SBATCH --time=%s\n", e.Slurm.Time)
	}
	if e.Slurm.Mem != "" {
		fmt.Fprintf(&b, "#SBATCH --mem=%s\n", e.Slurm.Mem)
	}
	if e.Slurm.Partition != "" {
		fmt.Fprintf(&b, "#SBATCH --partition=%s\n", e.Slurm.Partition)
	}
	if e.Slurm.Account != "" {
		fmt.Fprintf(&b, "#SBATCH --account=%s\n", e.Slurm.Account)
	}
	for _, x := range e.Slurm.Extra {
		fmt.Fprintf(&b, "#SBATCH %s\n", x)
	}
	args := append([]string{shellQuote(o.Bin), "sweep", "worker", "--manifest", shellQuote(manifest)}, o.WorkerArgs...)
	fmt.Fprintf(&b, "exec %s\n", strings.Join(args, " "))
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
