package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/smoothl1/smoothl1/internal/plots"
	"github.com/smoothl1/smoothl1/spec"
)

// computeCurves evaluates each spec at points residuals evenly spaced over [from, to]. A
// scheduled spec (sasl, dsl, fixed) is drawn as Smooth L1 at its initial β.
func computeCurves(specs []string, from, to float64, points int) ([]plots.Curve, error) {
	if len(specs) == 0 {
		return nil, usagef("--loss is required (repeat it for several losses; see `smoothl1 help specs`)")
	}
	if math.IsNaN(from) || math.IsInf(from, 0) || math.IsNaN(to) || math.IsInf(to, 0) || !(from < to) {
		return nil, usagef("--from %v --to %v: need finite values with from < to", from, to)
	}
	if points < 2 {
		return nil, usagef("--points %d: need at least 2", points)
	}
	var out []plots.Curve
	for _, text := range specs {
		s, err := spec.Parse(text)
		if err != nil {
			return nil, usageError{err}
		}
		l, err := s.InitialLoss()
		if err != nil {
			return nil, err
		}
		out = append(out, plots.SampleCurve(text, l, from, to, points))
	}
	return out, nil
}

func writeCurvesCSV(w io.Writer, curves []plots.Curve) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"loss", "x", "value", "grad"})
	for _, c := range curves {
		for i := range c.X {
			cw.Write([]string{c.Name, ff(c.X[i]), ff(c.Value[i]), ff(c.Gradient[i])})
		}
	}
	cw.Flush()
	return cw.Error()
}

// ff formats a float so that it parses back to the same value.
func ff(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func runCurves(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("curves", stderr)
	var specs stringList
	fs.Var(&specs, "loss", "loss `SPEC` (repeatable)")
	from := fs.Float64("from", -3, "first residual")
	to := fs.Float64("to", 3, "last residual")
	points := fs.Int("points", 601, "number of residuals, evenly spaced")
	csvPath := fs.String("csv", "", "write the CSV (loss,x,value,grad) to `FILE` instead of stdout")
	pngPath := fs.String("png", "", "also draw values and derivatives side by side into `FILE`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	curves, err := computeCurves(specs, *from, *to, *points)
	if err != nil {
		return err
	}
	if err := writeOutput(*csvPath, stdout, func(w io.Writer) error { return writeCurvesCSV(w, curves) }); err != nil {
		return err
	}
	if *pngPath != "" {
		if err := plots.LossCurves(*pngPath, curves); err != nil {
			return fmt.Errorf("--png: %w", err)
		}
	}
	return nil
}
