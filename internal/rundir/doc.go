// Package rundir owns the run directory, the contract between the packages
// that write results (train, eval, probe, sweep) and those that read them
// (stats, report, store, serve, demo): its file names, the type of every
// line, the one rule for damaged files, how runs are found, and the
// vocabulary the readers share (metric kinds, axes, probe names and the
// thresholds of the judgements made on them). It is a leaf: it imports
// nothing model-side, so the statistics can read runs through it.
//
// # Layout
//
//	<run>/
//	  config.json        the resolved configuration plus Info (parameter counts, seed, code version)
//	  tokenizer.json     the tokenizer of a task-mixture or text run
//	  metrics.jsonl      Metrics: per logged step, loss, eval loss, tokens, FLOPs
//	  evals.jsonl        Eval: per (step, task, metric[, position | subtask]) value, stderr, n, chance
//	  probes.jsonl       Probe: per (step, probe, layer, head[, index, task, var]) value
//	  samples.jsonl      Sample: per (step, task, item) prompt, target, generated answer, scores
//	  checkpoints/step-<n>.safetensors
//	  DONE               written last by training
//	  .merge.lock, .train.lock   the locks of merge-writes and of the trainer
//	  sweep.json, status.json, .lock, train-config.json   when a sweep made the run
//
// # Damage
//
// The .jsonl files are appended to (metrics.jsonl) or rewritten atomically
// (the others) while a run may be killed at any moment. A crash mid-append
// can leave a last line without its newline that is not valid JSON: that
// line is a partial write and readers skip it (Run.Skipped lists it). So
// is a line longer than MaxLine, which no emlab writer produces. Any other
// line that does not decode, or lacks a required field, is damage and an
// error naming the file and line (".../evals.jsonl:7: ..."). A missing
// .jsonl file holds no lines. A merge-write rewrites only the lines it read:
// skipped lines do not survive it.
//
// # Writing
//
// config.json, tokenizer.json and DONE are written atomically (temporary
// file, fsync, rename). metrics.jsonl is appended one fsynced line at a
// time. evals.jsonl, probes.jsonl and samples.jsonl are merge-written
// (MergeEvals, MergeProbes, MergeSamples): read, replace the lines of the
// (step, task) or (step, probe) being written, rewrite atomically, so
// re-evaluating a step never duplicates lines. Every such read-modify-write
// goes through one function (Update), which holds the run's merge lock
// (MergeLockFile) throughout, so that two processes merging into one run
// take turns and neither loses the other's lines.
//
// # Locks
//
// Advisory flock(2) locks, dropped by the kernel when their holder dies:
// MergeLockFile, held by each merge-write (waited for, up to two minutes,
// then an error naming the holder's PID), and TrainLockFile, held by the
// trainer for as long as it writes (LockTrain; a second trainer is refused
// at once, naming the first's PID). Neither is the sweep's SweepLockFile,
// which the sweep holds while the commands it starts write the run.
package rundir
