package stats

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MissingColumnError says a required CSV column is absent; Have lists the
// header so the caller can suggest the intended name.
type MissingColumnError struct {
	Column string
	Have   []string
}

func (e *MissingColumnError) Error() string {
	return fmt.Sprintf("missing column %q (header has: %s)", e.Column, strings.Join(e.Have, ", "))
}

// table is a CSV file with a header row; column names are matched
// case-insensitively after trimming spaces.
type table struct {
	header []string
	idx    map[string]int
	rows   [][]string
	lines  []int // 1-based line of each row
}

func readTable(r io.Reader) (*table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("empty CSV: need a header row")
	}
	if err != nil {
		return nil, fmt.Errorf("read CSV header: %w", err)
	}
	tb := &table{idx: map[string]int{}}
	for i, h := range head {
		if !utf8.ValidString(h) {
			return nil, fmt.Errorf("CSV header: column %d name %q is not valid UTF-8 (is the file in another encoding?)", i+1, h)
		}
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if h == "" {
			return nil, fmt.Errorf("CSV header: column %d has no name", i+1)
		}
		if _, dup := tb.idx[h]; dup {
			return nil, fmt.Errorf("CSV header: column %q appears twice", h)
		}
		tb.idx[h] = i
		tb.header = append(tb.header, h)
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		for i, f := range rec {
			if !utf8.ValidString(f) {
				col := fmt.Sprintf("column %d", i+1)
				if i < len(tb.header) {
					col = "column " + tb.header[i]
				}
				return nil, fmt.Errorf("line %d: %s: %q is not valid UTF-8 (is the file in another encoding?)", line, col, f)
			}
		}
		if len(rec) != len(tb.header) {
			return nil, fmt.Errorf("line %d: %d fields, header has %d", line, len(rec), len(tb.header))
		}
		tb.rows = append(tb.rows, rec)
		tb.lines = append(tb.lines, line)
	}
	return tb, nil
}

// col returns the index of a column, or a MissingColumnError if required.
func (tb *table) col(name string, required bool) (int, error) {
	i, ok := tb.idx[strings.ToLower(name)]
	if !ok {
		if required {
			return -1, &MissingColumnError{Column: name, Have: tb.header}
		}
		return -1, nil
	}
	return i, nil
}

// float parses row r's column c; ok is false for an empty cell.
func (tb *table) float(r, c int) (v float64, ok bool, err error) {
	s := strings.TrimSpace(tb.rows[r][c])
	if s == "" {
		return 0, false, nil
	}
	v, err = strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false, fmt.Errorf("line %d: column %s: %q is not a number", tb.lines[r], tb.header[c], s)
	}
	return v, true, nil
}

// ReadCurvesCSV reads curves from CSV with columns task, metric, x, value
// and optional seed, n (items), chance, low and high (a 95 % interval on
// value, converted to a standard error (high − low)/(2·1.96)) and group (the
// model a point comes from, for the loss view). Curves are returned in order
// of first appearance; each is validated (see Curve.Validate), so NaN values,
// non-positive or duplicate x and conflicting chance rates are errors that
// name the line. axis is recorded on every curve ("" for x as given).
func ReadCurvesCSV(r io.Reader, axis string) ([]*Curve, error) {
	tb, err := readTable(r)
	if err != nil {
		return nil, err
	}
	req := map[string]int{}
	for _, name := range []string{"task", "metric", "x", "value"} {
		if req[name], err = tb.col(name, true); err != nil {
			return nil, err
		}
	}
	opt := map[string]int{}
	for _, name := range []string{"seed", "n", "chance", "low", "high", "group"} {
		opt[name], _ = tb.col(name, false)
	}
	if (opt["low"] < 0) != (opt["high"] < 0) {
		return nil, fmt.Errorf("columns low and high come together: found only one of them")
	}
	byKey := map[[2]string]*Curve{}
	var curves []*Curve
	for r := range tb.rows {
		row := tb.rows[r]
		task, metric := strings.TrimSpace(row[req["task"]]), strings.TrimSpace(row[req["metric"]])
		if task == "" || metric == "" {
			return nil, fmt.Errorf("line %d: empty task or metric", tb.lines[r])
		}
		p := Point{Line: fmt.Sprintf("line %d", tb.lines[r])}
		var ok bool
		if p.X, ok, err = tb.float(r, req["x"]); err != nil {
			return nil, err
		} else if !ok {
			return nil, fmt.Errorf("line %d: column x is empty", tb.lines[r])
		}
		if p.Value, ok, err = tb.float(r, req["value"]); err != nil {
			return nil, err
		} else if !ok {
			return nil, fmt.Errorf("line %d: column value is empty", tb.lines[r])
		}
		if c := opt["seed"]; c >= 0 {
			p.Seed = strings.TrimSpace(row[c])
		}
		if c := opt["group"]; c >= 0 {
			p.Group = strings.TrimSpace(row[c])
		}
		if c := opt["n"]; c >= 0 {
			v, ok, err := tb.float(r, c)
			if err != nil {
				return nil, err
			}
			if ok {
				if v < 0 || v != math.Trunc(v) || v > 1e12 {
					return nil, fmt.Errorf("line %d: column n: %v is not a non-negative whole number of items", tb.lines[r], v)
				}
				p.N = int(v)
			}
		}
		if opt["low"] >= 0 {
			lo, okLo, err := tb.float(r, opt["low"])
			if err != nil {
				return nil, err
			}
			hi, okHi, err := tb.float(r, opt["high"])
			if err != nil {
				return nil, err
			}
			if okLo != okHi {
				return nil, fmt.Errorf("line %d: low and high must both be given or both empty", tb.lines[r])
			}
			if okLo {
				if !(hi >= lo) {
					return nil, fmt.Errorf("line %d: high %v is below low %v", tb.lines[r], hi, lo)
				}
				p.Stderr = (hi - lo) / (2 * 1.959964)
			}
		}
		key := [2]string{task, metric}
		c := byKey[key]
		if c == nil {
			c = &Curve{Task: task, Metric: metric, Axis: axis}
			byKey[key] = c
			curves = append(curves, c)
		}
		if col := opt["chance"]; col >= 0 {
			v, ok, err := tb.float(r, col)
			if err != nil {
				return nil, err
			}
			if ok {
				// NaN fails here too (else NaN ≠ NaN read "chance NaN
				// differs from NaN" on the second row).
				if !(v >= 0 && v <= 1) {
					return nil, fmt.Errorf("line %d: column chance: %v is not a probability in [0, 1] (the score of guessing, as a fraction)", tb.lines[r], v)
				}
				if c.HasChance && c.Chance != v {
					return nil, fmt.Errorf("line %d: curve %s: chance %v differs from %v given earlier", tb.lines[r], c.Key(), v, c.Chance)
				}
				c.Chance, c.HasChance = v, true
			}
		}
		c.Points = append(c.Points, p)
	}
	if len(curves) == 0 {
		return nil, fmt.Errorf("CSV has a header but no rows")
	}
	for _, c := range curves {
		if err := c.Validate(); err != nil {
			return nil, err
		}
	}
	return curves, nil
}
