package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"emlab/internal/report/reporttest"
)

// TestServeCommand starts emlab serve on a free loopback port, fetches the
// page and stops it through the context.
func TestServeCommand(t *testing.T) {
	dir := t.TempDir()
	reporttest.Tree(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	var out, errw bytes.Buffer
	go func() {
		done <- runServe(ctx, serveOptions{dir: dir, addr: "127.0.0.1:0", ready: func(a string) { addrc <- a }}, &out, &errw)
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("serve ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `data-run="ladder/r0"`) {
		t.Errorf("GET / = %d, page without the runs table", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	if errw.Len() != 0 {
		t.Errorf("loopback serve warned: %s", errw.String())
	}
}

func TestServeErrors(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		o    serveOptions
		want string
	}{
		{serveOptions{}, "--dir is required"},
		{serveOptions{dir: "/nonexistent-emlab-dir", addr: "127.0.0.1:0"}, "no such file"},
		{serveOptions{dir: t.TempDir(), addr: "nonsense"}, "--addr"},
	} {
		err := runServe(ctx, c.o, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
}
