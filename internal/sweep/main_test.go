package sweep_test

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"emlab/internal/cli"
)

// The test binary doubles as the emlab binary: the sweep runs every step
// as a process (`emlab train ...`), so tests point ExecOptions.Bin at
// os.Args[0] with EMLAB_SWEEP_TEST_MAIN=1 in the environment, which every
// child (and every Slurm job, which inherits the submitter's environment)
// sees. This tests the real subcommands, not a stand-in.
const mainEnv = "EMLAB_SWEEP_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Setenv(mainEnv, "1")
	os.Exit(m.Run())
}
