package plots

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Bar is one bar of a Bars chart: a value and the interval drawn as its whisker (NaN bounds:
// no whisker).
type Bar struct {
	Label            string
	Value, Low, High float64
}

// Bars returns a horizontal bar chart, one labelled bar per entry from the top down, with
// whiskers from Low to High. The value axis starts at zero unless a value is negative, and
// spans every whisker.
func Bars(title, valueLabel string, bars []Bar) (*plot.Plot, error) {
	if len(bars) == 0 {
		return nil, fmt.Errorf("plots: no bars for %q", title)
	}
	n := len(bars)
	values := make(plotter.Values, n)
	labels := make([]string, n)
	var errs barErrors
	lo, hi := 0.0, 0.0
	for i, b := range bars {
		// NominalY puts the first name at the bottom: reverse, so the first bar is on top.
		k := n - 1 - i
		if math.IsNaN(b.Value) || math.IsInf(b.Value, 0) {
			return nil, fmt.Errorf("plots: bar %q has value %v", b.Label, b.Value)
		}
		values[k], labels[k] = b.Value, b.Label
		lo, hi = math.Min(lo, b.Value), math.Max(hi, b.Value)
		if !math.IsNaN(b.Low) && !math.IsNaN(b.High) {
			errs = append(errs, barError{x: b.Value, y: float64(k), low: b.Value - b.Low, high: b.High - b.Value})
			lo, hi = math.Min(lo, b.Low), math.Max(hi, b.High)
		}
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = valueLabel
	p.Add(plotter.NewGrid())
	chart, err := plotter.NewBarChart(values, vg.Points(12))
	if err != nil {
		return nil, fmt.Errorf("plots: %w", err)
	}
	chart.Horizontal = true
	chart.Color = plotutil.Color(0)
	chart.LineStyle.Width = 0
	p.Add(chart)
	if len(errs) > 0 {
		eb, err := plotter.NewXErrorBars(errs)
		if err != nil {
			return nil, fmt.Errorf("plots: %w", err)
		}
		eb.LineStyle.Width = vg.Points(1.2)
		eb.CapWidth = vg.Points(8)
		p.Add(eb)
	}
	p.NominalY(labels...)
	pad := 0.05 * (hi - lo)
	if pad == 0 {
		pad = 1
	}
	p.X.Min, p.X.Max = lo, hi+pad
	if lo < 0 {
		p.X.Min = lo - pad
	}
	return p, nil
}

type barError struct{ x, y, low, high float64 }

type barErrors []barError

func (e barErrors) Len() int                        { return len(e) }
func (e barErrors) XY(i int) (float64, float64)     { return e[i].x, e[i].y }
func (e barErrors) XError(i int) (float64, float64) { return e[i].low, e[i].high }
