package tasks

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestDrawStopsOnCancel: Draw returns the context's error at once while
// the generator is still running, and the items when it finishes first.
func TestDrawStopsOnCancel(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	began := time.Now()
	_, err := Draw(ctx, func() []Item { <-release; return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(began); d > 5*time.Second { // the cancel comes after 10 ms
		t.Errorf("Draw returned %v after the cancel", d)
	}
	items, err := Draw(context.Background(), func() []Item { return []Item{{Key: "x"}} })
	if err != nil || len(items) != 1 {
		t.Errorf("Draw = %v, %v", items, err)
	}
}
