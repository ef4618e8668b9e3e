package plots

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// Curve is a loss and its derivative sampled on a grid of residuals.
type Curve struct {
	Name               string
	X, Value, Gradient []float64
}

// Differentiable is a loss of one residual with its derivative (static.Loss satisfies it).
type Differentiable interface {
	Value(d float64) float64
	Deriv(d float64) float64
}

// SampleCurve evaluates l at points residuals evenly spaced over [from, to], the last one
// exactly to. It panics unless points ≥ 2.
func SampleCurve(name string, l Differentiable, from, to float64, points int) Curve {
	if points < 2 {
		panic(fmt.Sprintf("plots: SampleCurve with %d points", points))
	}
	c := Curve{Name: name, X: make([]float64, points), Value: make([]float64, points), Gradient: make([]float64, points)}
	step := (to - from) / float64(points-1)
	for i := range c.X {
		x := from + float64(i)*step
		if i == points-1 {
			x = to
		}
		c.X[i], c.Value[i], c.Gradient[i] = x, l.Value(x), l.Deriv(x)
	}
	return c
}

// LossCurves draws the values and the derivatives of the curves side by side, as in the seed
// deck's figure, into a PNG at path.
func LossCurves(path string, curves []Curve) error {
	var vals, grads []Series
	for _, c := range curves {
		vals = append(vals, Series{Name: c.Name, X: c.X, Y: c.Value})
		grads = append(grads, Series{Name: c.Name, X: c.X, Y: c.Gradient})
	}
	pv, err := Lines("Loss", "residual d", "loss(d)", vals)
	if err != nil {
		return err
	}
	pg, err := Lines("Derivative", "residual d", "d loss / d d", grads)
	if err != nil {
		return err
	}
	return Grid(path, 26*vg.Centimeter, 11*vg.Centimeter, [][]*plot.Plot{{pv, pg}})
}
