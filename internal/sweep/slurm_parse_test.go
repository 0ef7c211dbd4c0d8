package sweep

import (
	"fmt"
	"strings"
	"testing"
)

func TestExpandRange(t *testing.T) {
	cases := []struct {
		in   string
		want []int
	}{
		{"0-3", []int{0, 1, 2, 3}},
		{"1,4-6", []int{1, 4, 5, 6}},
		{"0-9%2", []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"7", []int{7}},
		{"", nil},
	}
	for _, c := range cases {
		if got := expandRange(c.in); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("expandRange(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// squeue --json as Slurm 22.05 writes it (plain numbers, a string state,
// null task id on the pending remainder of an array) and as 23.02+ does
// (wrapped numbers, a list of states). Trimmed to the fields read.
func TestParseSqueueJSON(t *testing.T) {
	v22 := `{"jobs":[
	  {"job_id":10,"array_job_id":9,"array_task_id":0,"array_task_string":"","job_state":"RUNNING"},
	  {"job_id":11,"array_job_id":9,"array_task_id":1,"array_task_string":"","job_state":"CANCELLED"},
	  {"job_id":9,"array_job_id":9,"array_task_id":null,"array_task_string":"2-5","job_state":"PENDING"},
	  {"job_id":3,"array_job_id":0,"array_task_id":null,"array_task_string":"","job_state":"RUNNING"}]}`
	st, err := parseSqueueJSON([]byte(v22))
	if err != nil {
		t.Fatal(err)
	}
	want := map[taskKey]string{{"9", 0}: "RUNNING", {"9", 1}: "CANCELLED", {"9", 2}: "PENDING", {"9", 3}: "PENDING",
		{"9", 4}: "PENDING", {"9", 5}: "PENDING"}
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Errorf("22.05: %v\nwant %v", st, want)
	}
	v23 := `{"jobs":[
	  {"job_id":21,"array_job_id":{"set":true,"number":20},"array_task_id":{"set":true,"number":3},"job_state":["COMPLETED"]},
	  {"job_id":20,"array_job_id":{"set":true,"number":20},"array_task_id":{"set":false,"number":0},"array_task_string":"4,6","job_state":["PENDING"]}]}`
	st, err = parseSqueueJSON([]byte(v23))
	if err != nil {
		t.Fatal(err)
	}
	want = map[taskKey]string{{"20", 3}: "COMPLETED", {"20", 4}: "PENDING", {"20", 6}: "PENDING"}
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Errorf("23.02: %v\nwant %v", st, want)
	}
}

func TestParseScontrol(t *testing.T) {
	out := `JobId=10 ArrayJobId=9 ArrayTaskId=0 JobName=emlab-tiny UserId=root(0) JobState=COMPLETED Reason=None
JobId=9 ArrayJobId=9 ArrayTaskId=2-3 JobName=emlab-tiny JobState=PENDING Reason=Resources
JobId=5 JobName=plain JobState=RUNNING
`
	st := parseScontrol([]byte(out))
	want := map[taskKey]string{{"9", 0}: "COMPLETED", {"9", 2}: "PENDING", {"9", 3}: "PENDING"}
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Errorf("%v\nwant %v", st, want)
	}
}

func TestSbatchScript(t *testing.T) {
	e := &Experiment{Name: "x", Resources: Resources{Threads: 2},
		Slurm: Slurm{Partition: "cpu", Time: "00:30:00", Mem: "3G", Pack: 2, MaxParallel: 4, Account: "lab", Extra: []string{"--qos=short"}}}
	p := &Plan{Experiment: e, Name: "x"}
	s := sbatchScript(p, 5, SlurmOptions{ExecOptions: ExecOptions{Bin: "/opt/em lab/emlab", Out: "/runs/x"},
		WorkerArgs: []string{"--no-index"}}, "/runs/x/.slurm/m.json")
	for _, want := range []string{"#SBATCH --array=0-4%4", "#SBATCH --cpus-per-task=2", "#SBATCH --partition=cpu",
		"#SBATCH --time=00:30:00", "#SBATCH --mem=3G", "#SBATCH --account=lab", "#SBATCH --qos=short",
		"#SBATCH --open-mode=append", "#SBATCH --output=/runs/x/.slurm/logs/%A_%a.out",
		"exec '/opt/em lab/emlab' sweep worker --manifest '/runs/x/.slurm/m.json' --no-index"} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
}
