// Command emlab is the laboratory's single binary. It only dispatches:
// every subcommand lives in internal/cli so it can be tested without a process.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"emlab/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
