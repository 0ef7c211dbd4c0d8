package rundir

import "path/filepath"

// File names inside a run directory.
const (
	ConfigFile     = "config.json"
	TokenizerFile  = "tokenizer.json"
	MetricsFile    = "metrics.jsonl"
	EvalsFile      = "evals.jsonl"
	ProbesFile     = "probes.jsonl"
	SamplesFile    = "samples.jsonl"
	CheckpointsDir = "checkpoints"
	DoneFile       = "DONE"
	// ExternalFile stands for config.json in a run emlab did not train
	// (external.go).
	ExternalFile = "emlab-run.json"

	// Lock files (see lock.go), flock-ed while a process writes the run.
	MergeLockFile = ".merge.lock" // by a merge-write of evals, probes or samples, for its read-merge-rewrite
	TrainLockFile = ".train.lock" // by the trainer, for as long as it writes

	// Written by a sweep beside what the commands write.
	SweepSpecFile   = "sweep.json"        // the run as the plan asked for it
	SweepStatusFile = "status.json"       // SweepStatus, rewritten atomically at each change
	SweepLockFile   = ".lock"             // flock-ed while a sweep process works on the run
	TrainConfigFile = "train-config.json" // the resolved config the sweep passes to emlab train --config
)

// Path is the path of a file (one of the names above) in run directory dir.
func Path(dir, name string) string { return filepath.Join(dir, name) }
