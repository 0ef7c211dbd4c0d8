package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"emlab/internal/stats"
)

func init() {
	register("scaling", "scaling-law fits: 'scaling fit' fits L(N, D) = E + A/N^α + B/D^β (Chinchilla approach 3)", runScalingCmd)
}

// scalingOptions configures emlab scaling fit.
type scalingOptions struct {
	csv  string
	cols stats.ScalingColumns
	// tokensSet / flopsSet record whether the user named the column, so a
	// missing default "tokens" column can fall back to "flops" and then to
	// a single-axis fit instead of failing.
	tokensSet, flopsSet bool
	// xCol forces a single-axis fit of the loss against this column
	// (Kaplan's L(N) with a parameter column, L(D) with a tokens column).
	xCol  string
	json  bool
	stats stats.ScalingOptions
}

var scalingSubcommands = []string{"fit"}

func runScalingCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("scaling", stderr)
	o := scalingOptions{cols: stats.DefaultScalingColumns(), stats: stats.DefaultScalingOptions()}
	fs.StringVar(&o.csv, "csv", "", "CSV with one row per trained model")
	fs.StringVar(&o.cols.Params, "params-col", o.cols.Params, "column holding the parameter count N")
	tokens := fs.String("tokens-col", "", "column holding training tokens D (default: tokens, if present)")
	flops := fs.String("flops-col", "", "column holding training FLOPs C; tokens are derived as C/(6N)")
	fs.StringVar(&o.cols.Loss, "loss-col", o.cols.Loss, "column holding the final loss")
	fs.StringVar(&o.xCol, "x-col", "", "fit only the single-axis laws of the loss against this column (e.g. tokens for Kaplan's L(D))")
	fs.BoolVar(&o.json, "json", false, "write one JSON object")
	fs.IntVar(&o.stats.Boot, "boot", o.stats.Boot, "bootstrap replicates (0: no intervals)")
	fs.Uint64Var(&o.stats.Seed, "seed", o.stats.Seed, "bootstrap seed")
	fs.IntVar(&o.stats.Workers, "workers", 0, "bootstrap workers (default: all CPUs; results do not depend on it)")
	fs.Float64Var(&o.stats.Delta, "huber-delta", o.stats.Delta, "Huber loss threshold on log loss")
	fs.Float64Var(&o.stats.Compute, "compute", 0, "FLOP budget for the compute-optimal N*, D* (default: the largest 6ND in the data)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := atLeast(fs, map[string]int64{"boot": 0, "workers": 0}); err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("missing subcommand: emlab scaling fit --csv FILE [--json]")
	}
	if pos[0] != "fit" {
		return fmt.Errorf("unknown subcommand %q%s (have: fit)", pos[0], didYouMean(pos[0], scalingSubcommands))
	}
	if len(pos) > 1 {
		return fmt.Errorf("unexpected arguments %q", pos[1:])
	}
	if *tokens != "" && *flops != "" {
		return errors.New("give --tokens-col or --flops-col, not both")
	}
	if o.xCol != "" && (*tokens != "" || *flops != "") {
		return errors.New("--x-col fits a single axis; it does not combine with --tokens-col or --flops-col")
	}
	o.tokensSet, o.flopsSet = *tokens != "", *flops != ""
	o.cols.Tokens, o.cols.FLOPs = *tokens, *flops
	return runScalingFit(ctx, o, stdout)
}

// runScalingFit reads the CSV and fits L(N, D) when a data axis is present,
// else the single-axis laws L = E + A·N^(−α) and Kaplan's L = (N_c/N)^α.
func runScalingFit(ctx context.Context, o scalingOptions, w io.Writer) error {
	if o.csv == "" {
		return errors.New("missing --csv FILE")
	}
	if o.stats.Boot < 0 || !(o.stats.Delta > 0) {
		return fmt.Errorf("--boot must be ≥ 0 and --huber-delta > 0")
	}
	data, err := os.ReadFile(o.csv)
	if err != nil {
		return fmt.Errorf("read scaling data: %w", err)
	}
	read := func(cols stats.ScalingColumns) ([]stats.ScalingPoint, bool, error) {
		return stats.ReadScalingCSV(bytes.NewReader(data), cols)
	}
	var pts []stats.ScalingPoint
	var hasD bool
	switch {
	case o.xCol != "":
		pts, hasD, err = read(stats.ScalingColumns{Params: o.xCol, Loss: o.cols.Loss})
	case o.tokensSet || o.flopsSet:
		pts, hasD, err = read(o.cols)
	default:
		// Defaults: tokens, else flops, else no data axis.
		var mc *stats.MissingColumnError
		for _, c := range []stats.ScalingColumns{
			{Params: o.cols.Params, Loss: o.cols.Loss, Tokens: "tokens"},
			{Params: o.cols.Params, Loss: o.cols.Loss, FLOPs: "flops"},
			{Params: o.cols.Params, Loss: o.cols.Loss},
		} {
			pts, hasD, err = read(c)
			if !(errors.As(err, &mc) && (mc.Column == "tokens" || mc.Column == "flops")) {
				break
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", o.csv, withColumnHint(err))
	}
	var fit any
	if hasD {
		f, err := stats.FitChinchilla(ctx, pts, o.stats)
		if err != nil {
			return fmt.Errorf("%s: %w", o.csv, err)
		}
		fit = f
	} else {
		x, L := make([]float64, len(pts)), make([]float64, len(pts))
		for i, p := range pts {
			x[i], L[i] = p.N, p.L
		}
		var f stats.SingleAxisFit
		if f.Power, err = stats.FitPowerLaw(ctx, x, L, o.stats); err != nil {
			return fmt.Errorf("%s: %w", o.csv, err)
		}
		if f.Kaplan, err = stats.FitKaplan(ctx, x, L, o.stats); err != nil {
			return fmt.Errorf("%s: %w", o.csv, err)
		}
		fit = &f
	}
	if o.json {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(fit); err != nil {
			return fmt.Errorf("write fit: %w", err)
		}
		return nil
	}
	return writeScalingText(w, fit)
}

func writeScalingText(w io.Writer, fit any) error {
	iv := func(name string, v stats.Interval) {
		fmt.Fprintf(w, "  %-6s %-10s [%s, %s]\n", name, fnum(v.Value), fnum(v.Lo), fnum(v.Hi))
	}
	switch f := fit.(type) {
	case *stats.ChinchillaFit:
		fmt.Fprintf(w, "L(N, D) = E + A/N^alpha + B/D^beta (Chinchilla approach 3, %d points, converged: %v)\n", f.Points, f.Converged)
		iv("E", f.E)
		iv("A", f.A)
		iv("B", f.B)
		iv("alpha", f.Alpha)
		iv("beta", f.Beta)
		fmt.Fprintf(w, "compute-optimal at C = %s FLOPs: N* = %s [%s, %s], D* = %s [%s, %s], %s tokens/param [%s, %s]\n",
			fnum(f.Compute), fnum(f.NOpt.Value), fnum(f.NOpt.Lo), fnum(f.NOpt.Hi), fnum(f.DOpt.Value), fnum(f.DOpt.Lo), fnum(f.DOpt.Hi),
			fnum(f.TokensPerParam.Value), fnum(f.TokensPerParam.Lo), fnum(f.TokensPerParam.Hi))
		fmt.Fprintf(w, "N* ∝ C^%s, D* ∝ C^%s\n", fnum(f.ExponentN.Value), fnum(f.ExponentD.Value))
		fmt.Fprintf(w, "profile in E (95%% likelihood-ratio range): E in [%s, %s], D*/N* over it [%s, %s], E identified: %v\n",
			fnum(f.EProfile.Lo), fnum(f.EProfile.Hi), fnum(f.TokensPerParamProfile.Lo), fnum(f.TokensPerParamProfile.Hi), f.EIdentified)
		if note := f.BoundNote(); note != "" {
			fmt.Fprintf(w, "note: %s\n", note)
		}
	case *stats.SingleAxisFit:
		fmt.Fprintf(w, "L(N) = E + A/N^alpha (no tokens or FLOPs column; %d points)\n", f.Power.Points)
		iv("E", f.Power.E)
		iv("A", f.Power.A)
		iv("alpha", f.Power.Alpha)
		fmt.Fprintf(w, "Kaplan L = (N_c/N)^alpha_N: N_c = %s [%s, %s], alpha_N = %s [%s, %s]\n",
			fnum(f.Kaplan.Xc.Value), fnum(f.Kaplan.Xc.Lo), fnum(f.Kaplan.Xc.Hi), fnum(f.Kaplan.Alpha.Value), fnum(f.Kaplan.Alpha.Lo), fnum(f.Kaplan.Alpha.Hi))
		fmt.Fprintf(w, "profile in E (95%% likelihood-ratio range): E in [%s, %s], E identified: %v\n",
			fnum(f.Power.EProfile.Lo), fnum(f.Power.EProfile.Hi), f.Power.EIdentified)
		if note := f.Power.BoundNote(); note != "" {
			fmt.Fprintf(w, "note: %s\n", note)
		}
	}
	return nil
}
