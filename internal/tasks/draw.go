package tasks

import (
	"context"
	"fmt"
)

// Draw runs an item generator (a task's Eval or TrainItems) and returns
// ctx's error as soon as ctx is done. The generators take no context and
// may run for minutes (drawing stops only after 50 tries per missing item,
// and most held-out sets are far smaller than a large n), so one still
// drawing is abandoned to finish in the background; it touches nothing
// but the items it makes. A command that is about to exit loses nothing.
func Draw(ctx context.Context, gen func() []Item) ([]Item, error) {
	if ctx == nil {
		return gen(), nil
	}
	got := make(chan []Item, 1)
	go func() { got <- gen() }()
	select {
	case items := <-got:
		return items, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("drawing task items: %w", ctx.Err())
	}
}
