package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"emlab/internal/serve"
)

func init() {
	register("serve", "the dashboard: runs, live training curves, ability plots and reports, read-only over HTTP", runServeCmd)
}

// serveOptions configures emlab serve.
type serveOptions struct {
	dir   string
	addr  string
	hosts []string // extra names the Host header may carry
	// ready, when set, receives the listening address (tests use it).
	ready func(addr string)
}

func runServeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	o := serveOptions{}
	fs.StringVar(&o.dir, "dir", "", "directory holding the run directories (required)")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address; the default is loopback only — another host exposes every file under DIR to the network")
	var hosts multiFlag
	fs.Var(&hosts, "allow-host", "a host name the dashboard answers to besides localhost, IP addresses and this machine's name (repeatable; requests naming other hosts are refused against DNS rebinding)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q", pos)
	}
	o.hosts = hosts
	return runServe(ctx, o, stdout, stderr)
}

// runServe serves until ctx is cancelled (Ctrl-C), then shuts down.
func runServe(ctx context.Context, o serveOptions, stdout, stderr io.Writer) error {
	if o.dir == "" {
		return errors.New("--dir is required")
	}
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", o.addr, err)
	}
	// The name the server was told to listen on is one it answers to.
	s, err := serve.New(o.dir, serve.Options{Hosts: append(o.hosts, host)})
	if err != nil {
		return err
	}
	defer s.Close()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		fmt.Fprintf(stderr, "warning: listening on %s, not loopback: anyone who can reach it can read every file under %s\n", o.addr, s.Dir())
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Timeouts bound what one slow or stalled client can hold: a request
	// must arrive within 30 s and its answer leave within 5 minutes (a
	// large checkpoint over a slow link), and idle connections close.
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(stdout, "serving %s at http://%s/ (read-only; Ctrl-C stops)\n", s.Dir(), ln.Addr())
	if o.ready != nil {
		o.ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}
