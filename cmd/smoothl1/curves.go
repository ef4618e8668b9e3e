package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/smoothl1/smoothl1/internal/plots"
	"github.com/smoothl1/smoothl1/internal/spec"
)

// curve is one loss evaluated on a grid of residuals.
type curve struct {
	spec               string
	x, value, gradient []float64
}

// computeCurves evaluates each spec at points residuals evenly spaced over [from, to]. A
// scheduled spec (sasl, dsl, fixed) is drawn as Smooth L1 at its initial β.
func computeCurves(specs []string, from, to float64, points int) ([]curve, error) {
	if len(specs) == 0 {
		return nil, usagef("--loss is required (repeat it for several losses; see `smoothl1 help specs`)")
	}
	if math.IsNaN(from) || math.IsInf(from, 0) || math.IsNaN(to) || math.IsInf(to, 0) || !(from < to) {
		return nil, usagef("--from %v --to %v: need finite values with from < to", from, to)
	}
	if points < 2 {
		return nil, usagef("--points %d: need at least 2", points)
	}
	var out []curve
	for _, text := range specs {
		s, err := spec.Parse(text)
		if err != nil {
			return nil, usageError{err}
		}
		l, err := s.InitialLoss()
		if err != nil {
			return nil, err
		}
		c := curve{spec: text, x: make([]float64, points), value: make([]float64, points), gradient: make([]float64, points)}
		step := (to - from) / float64(points-1)
		for i := range c.x {
			x := from + float64(i)*step
			if i == points-1 {
				x = to
			}
			c.x[i], c.value[i], c.gradient[i] = x, l.Value(x), l.Deriv(x)
		}
		out = append(out, c)
	}
	return out, nil
}

func writeCurvesCSV(w io.Writer, curves []curve) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"loss", "x", "value", "grad"})
	for _, c := range curves {
		for i := range c.x {
			cw.Write([]string{c.spec, ff(c.x[i]), ff(c.value[i]), ff(c.gradient[i])})
		}
	}
	cw.Flush()
	return cw.Error()
}

// ff formats a float so that it parses back to the same value.
func ff(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// plotCurves draws the values and the derivatives side by side, as in the seed deck's figure.
func plotCurves(path string, curves []curve) error {
	var vals, grads []plots.Series
	for _, c := range curves {
		vals = append(vals, plots.Series{Name: c.spec, X: c.x, Y: c.value})
		grads = append(grads, plots.Series{Name: c.spec, X: c.x, Y: c.gradient})
	}
	pv, err := plots.Lines("Loss", "residual d", "loss(d)", vals)
	if err != nil {
		return err
	}
	pg, err := plots.Lines("Derivative", "residual d", "d loss / d d", grads)
	if err != nil {
		return err
	}
	return plots.Grid(path, 26*vg.Centimeter, 11*vg.Centimeter, [][]*plot.Plot{{pv, pg}})
}

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
		if err := plotCurves(*pngPath, curves); err != nil {
			return fmt.Errorf("--png: %w", err)
		}
	}
	return nil
}
