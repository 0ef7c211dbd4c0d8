package sweep_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"emlab/internal/sweep"
)

// needSlurm skips unless a Slurm is reachable: these tests submit real
// jobs (scripts/slurm-local.sh brings up a single-node one; .ci/run does).
func needSlurm(t *testing.T) {
	t.Helper()
	if os.Getenv("SLURM_CONF") == "" {
		t.Skip(`SLURM_CONF is not set: no Slurm to submit to (run eval "$(scripts/slurm-local.sh up)" first; .ci/run does)`)
	}
	if out, err := exec.Command("scontrol", "ping").CombinedOutput(); err != nil {
		t.Fatalf("SLURM_CONF is set but scontrol ping fails: %v: %s", err, out)
	}
}

func TestSlurmTinySweep(t *testing.T) {
	needSlurm(t)
	e, err := sweep.Load("../../examples/sweeps/tiny.toml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := sweep.NewPlan(e)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var log bytes.Buffer
	sum, err := sweep.RunSlurm(ctx, p, sweep.SlurmOptions{ExecOptions: execOptions(t, p, out), Wait: true,
		Every: 300 * time.Millisecond, Log: &log})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if sum.Submitted != len(p.Runs) || sum.Done != len(p.Runs) || sum.Failed != 0 {
		t.Fatalf("summary %+v", sum)
	}
	script, _ := os.ReadFile(sum.Script)
	for _, want := range []string{"#SBATCH --array=0-3", "#SBATCH --open-mode=append", "#SBATCH --cpus-per-task=1", "#SBATCH --time=00:10:00", "sweep worker --manifest"} {
		if !bytes.Contains(script, []byte(want)) {
			t.Errorf("sbatch script lacks %q:\n%s", want, script)
		}
	}
	for _, r := range p.Runs {
		st := readStatus(t, sweep.RunDir(out, r.ID))
		if st.State != sweep.StateDone || !strings.HasPrefix(st.Slurm, sum.JobID+"_") {
			t.Errorf("%s: %+v", r.ID, st)
		}
	}
	// Nothing left to submit.
	again, err := sweep.RunSlurm(ctx, p, sweep.SlurmOptions{ExecOptions: execOptions(t, p, out)})
	if err != nil || again.Submitted != 0 {
		t.Errorf("second submission: %+v %v", again, err)
	}
	logs, _ := filepath.Glob(filepath.Join(out, sweep.SlurmDir, "logs", "*.out"))
	if len(logs) != len(p.Runs) {
		t.Errorf("%d task logs, want %d", len(logs), len(p.Runs))
	}
}

// The Slurm reliability check: a task cancelled with scancel is
// reported failed, and --retry resubmits only it.
func TestSlurmCancelAndRetry(t *testing.T) {
	needSlurm(t)
	src := strings.Replace(tinyExp, "values = [1, 2, 3]", "values = [1]", 1)
	src = strings.Replace(src, `"train.steps" = 20`, `"train.log_every" = 10`, 1) + `
[[axis]]
name = "len"
key = "steps"
values = [20, 20000]
labels = ["short", "long"]
`
	p := mustPlan(t, src) // d16 short, d16 long, d32 short, d32 long
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sum, err := sweep.RunSlurm(ctx, p, sweep.SlurmOptions{ExecOptions: execOptions(t, p, out)})
	if err != nil || sum.Submitted != 4 {
		t.Fatalf("%+v %v", sum, err)
	}
	// Cancel the long d16 run once it is training.
	victim := p.Runs[1]
	if victim.Axes["len"] != "long" {
		t.Fatalf("unexpected plan order: %s", victim.ID)
	}
	var task string
	for {
		views, err := sweep.States(ctx, out, p)
		if err != nil {
			t.Fatal(err)
		}
		v := views[1]
		if v.State == sweep.StateRunning && v.Step >= 10 {
			task, _, _ = strings.Cut(v.Slurm, " ")
			break
		}
		if ctx.Err() != nil || v.State == sweep.StateDone || v.State == sweep.StateFailed {
			t.Fatalf("the long run never ran long enough to cancel: %+v", v)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if b, err := exec.Command("scancel", task).CombinedOutput(); err != nil {
		t.Fatalf("scancel %s: %v %s", task, err, b)
	}
	t.Logf("cancelled %s (%s)", task, victim.ID)
	// Cancel the other long run too, but this one only to make the test
	// finish: it is expected to be failed as well and retried.
	var views []sweep.View
	for {
		views, err = sweep.States(ctx, out, p)
		if err != nil {
			t.Fatal(err)
		}
		if views[1].State == sweep.StateFailed && (views[3].State == sweep.StateRunning || views[3].State == sweep.StateQueued) {
			other, _, _ := strings.Cut(views[3].Slurm, " ")
			exec.Command("scancel", other).Run()
		}
		busy := false
		for _, v := range views {
			busy = busy || v.State == sweep.StateRunning || v.State == sweep.StateQueued
		}
		if !busy {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("jobs did not finish: %+v", views)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i, v := range views {
		t.Logf("%s: %s %s [%s]", v.Run.ID, v.State, v.Error, v.Slurm)
		want := sweep.StateDone
		if i%2 == 1 {
			want = sweep.StateFailed
		}
		if v.State != want {
			t.Errorf("%s: %s, want %s", v.Run.ID, v.State, want)
		}
	}
	if !strings.Contains(views[1].Slurm, "CANCELLED") {
		t.Errorf("cancelled run's Slurm state %q", views[1].Slurm)
	}
	// Without --retry nothing is resubmitted; with it only the two
	// cancelled runs, which are then shortened so the test ends: a retry
	// resumes from the checkpoint, so to finish fast we cancel again and
	// check only what was submitted.
	none, err := sweep.RunSlurm(ctx, p, sweep.SlurmOptions{ExecOptions: execOptions(t, p, out)})
	if err != nil || none.Submitted != 0 {
		t.Errorf("rerun without --retry submitted %d (%v)", none.Submitted, err)
	}
	retry, err := sweep.RunSlurm(ctx, p, sweep.SlurmOptions{ExecOptions: execOptions(t, p, out), Retry: true})
	if err != nil || retry.Submitted != 2 {
		t.Fatalf("--retry submitted %d runs (%v), want the 2 cancelled ones", retry.Submitted, err)
	}
	manifest, err := sweep.ReadManifest(strings.TrimSuffix(retry.Script, ".sbatch") + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, pack := range manifest.Packs {
		for _, r := range pack {
			ids = append(ids, r.ID)
		}
	}
	if fmt.Sprint(ids) != fmt.Sprint([]string{p.Runs[1].ID, p.Runs[3].ID}) {
		t.Errorf("--retry resubmitted %v, want only the cancelled runs", ids)
	}
	// The resubmitted runs resume and are running or queued, not failed.
	views, err = sweep.States(ctx, out, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{1, 3} {
		if s := views[i].State; s != sweep.StateQueued && s != sweep.StateRunning {
			t.Errorf("%s after --retry: %s", views[i].Run.ID, s)
		}
	}
	// Stop the retried runs and wait until no worker writes into the
	// temporary directory any more (its removal would fail otherwise).
	exec.Command("scancel", retry.JobID).Run()
	for {
		views, err = sweep.States(ctx, out, p)
		if err != nil {
			t.Fatal(err)
		}
		if views[1].State != sweep.StateRunning && views[1].State != sweep.StateQueued &&
			views[3].State != sweep.StateRunning && views[3].State != sweep.StateQueued {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the retried runs did not stop after scancel")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
