package cli

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"sort"
	"strings"

	"emlab/internal/sysmem"
	"emlab/internal/train"
)

// checkFiniteFlags refuses NaN and ±Inf for every float flag given (the
// flag package parses "NaN" and "Inf" as numbers).
func checkFiniteFlags(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		g, ok := f.Value.(flag.Getter)
		if !ok || err != nil {
			return
		}
		if x, ok := g.Get().(float64); ok && (math.IsNaN(x) || math.IsInf(x, 0)) {
			err = fmt.Errorf("--%s: must be a finite number, got %v", f.Name, x)
		}
	})
	return err
}

// atLeast refuses every given integer flag whose value is below its
// minimum in mins (flag name → minimum). Flags not given keep their
// defaults, which may lie outside the range on purpose (-1: "newest").
func atLeast(fs *flag.FlagSet, mins map[string]int64) error {
	var errs []string
	fs.Visit(func(f *flag.Flag) {
		lo, ok := mins[f.Name]
		if !ok {
			return
		}
		var v int64
		switch x := f.Value.(flag.Getter).Get().(type) {
		case int:
			v = int64(x)
		case int64:
			v = x
		default:
			return
		}
		if v < lo {
			what := "positive"
			if lo == 0 {
				what = "≥ 0"
			} else if lo != 1 {
				what = fmt.Sprintf("≥ %d", lo)
			}
			errs = append(errs, fmt.Sprintf("--%s: must be %s, got %d", f.Name, what, v))
		}
	})
	if len(errs) == 0 {
		return nil
	}
	sort.Strings(errs)
	return errors.New(strings.Join(errs, "\n"))
}

// checkMemory refuses an estimate that exceeds what this machine allows
// (see sysmem), unless skip (--no-memory-check) is set or the limit is
// unknown.
func checkMemory(m train.Memory, skip bool) error {
	if skip {
		return nil
	}
	limit, ok := sysmem.Get()
	if !ok {
		return nil
	}
	return m.Fits(limit)
}

// memoryLimit is the limit train.Run checks against: nil with skip or when
// unknown.
func memoryLimit(skip bool) *sysmem.Limit {
	if skip {
		return nil
	}
	if l, ok := sysmem.Get(); ok {
		return &l
	}
	return nil
}
