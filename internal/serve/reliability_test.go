package serve

import (
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestReliabilityHostHeader: requests naming another host (a DNS
// rebinding page: evil.example resolving to 127.0.0.1) are refused; the
// names a user reaches the dashboard by are served.
func TestReliabilityHostHeader(t *testing.T) {
	dir, now := fixture(t)
	s, err := New(dir, Options{Now: func() time.Time { return now }, Hosts: []string{"lab.example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cases := []struct {
		host string
		want int
	}{
		{"evil.example", 421}, {"evil.example:8080", 421}, {"localhost.evil.example", 421}, {"127.0.0.1.nip.io:8080", 421}, {"", 421},
		{"localhost:8080", 200}, {"LOCALHOST", 200}, {"127.0.0.1:8080", 200}, {"[::1]:8080", 200}, {"192.168.1.20:80", 200},
		{"lab.example.org:8080", 200}, {"lab.example.org.", 200},
	}
	for _, path := range []string{"/", "/api/runs", "/files/report.html"} {
		for _, c := range cases {
			t.Run(path+" "+c.host, func(t *testing.T) {
				req := httptest.NewRequest("GET", path, nil)
				req.Host = c.host
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != c.want {
					t.Errorf("GET %s with Host %q: %d, want %d", path, c.host, rec.Code, c.want)
				}
			})
		}
	}
}

// TestReliabilityFIFO: a FIFO under the directory (no writer) answers
// 404 at once instead of holding the request open forever.
func TestReliabilityFIFO(t *testing.T) {
	s, dir := newServer(t)
	must(t, syscall.Mkfifo(filepath.Join(dir, "pipe.txt"), 0o644))
	done := make(chan int, 1)
	go func() { done <- get(t, s, "GET", "/files/pipe.txt").Code }()
	select {
	case code := <-done:
		if code != 404 {
			t.Errorf("GET a FIFO: %d, want 404", code)
		}
	case <-time.After(10 * time.Second): // the refusal takes microseconds; the old open blocked forever
		t.Fatal("GET a FIFO still waiting after 10 s")
	}
}
