package plots

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/plot/vg"
)

type square struct{}

func (square) Value(d float64) float64 { return d * d / 2 }
func (square) Deriv(d float64) float64 { return d }

func TestSampleCurveGrid(t *testing.T) {
	c := SampleCurve("l2", square{}, -1, 2, 4)
	want := []float64{-1, 0, 1, 2}
	for i, x := range want {
		if c.X[i] != x || c.Value[i] != x*x/2 || c.Gradient[i] != x {
			t.Fatalf("point %d: (%v, %v, %v), want (%v, %v, %v) (closed form)", i, c.X[i], c.Value[i], c.Gradient[i], x, x*x/2, x)
		}
	}
}

func isPNG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("%s is not a PNG", path)
	}
}

func TestFiguresWritePNGs(t *testing.T) {
	dir := t.TempDir()
	if err := LossCurves(filepath.Join(dir, "curves.png"), []Curve{SampleCurve("l2", square{}, -3, 3, 61)}); err != nil {
		t.Fatal(err)
	}
	isPNG(t, filepath.Join(dir, "curves.png"))
	p, err := Bars("AP", "AP", []Bar{{"a", 0.3, 0.2, 0.4}, {"b", 0.1, math.NaN(), math.NaN()}, {"c", -0.05, -0.1, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if err := Save(filepath.Join(dir, "bars.png"), 12*vg.Centimeter, 6*vg.Centimeter, p); err != nil {
		t.Fatal(err)
	}
	isPNG(t, filepath.Join(dir, "bars.png"))
	l, err := Lines("loss", "step", "loss", []Series{{Name: "a", X: []float64{1, 2}, Y: []float64{1, 0.5}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveLegendRight(filepath.Join(dir, "legend.png"), 20*vg.Centimeter, 10*vg.Centimeter, 5*vg.Centimeter, l); err != nil {
		t.Fatal(err)
	}
	isPNG(t, filepath.Join(dir, "legend.png"))
	if l.Legend.Top != true || l.Legend.Left != true {
		t.Error("SaveLegendRight changed the plot's legend placement")
	}
}

func TestFigureErrors(t *testing.T) {
	if _, err := Bars("x", "x", nil); err == nil {
		t.Error("Bars accepted no bars")
	}
	if _, err := Bars("x", "x", []Bar{{"nan", math.NaN(), 0, 1}}); err == nil {
		t.Error("Bars accepted a NaN value")
	}
	l, _ := Lines("x", "x", "y", nil)
	if err := SaveLegendRight(filepath.Join(t.TempDir(), "x.png"), 10*vg.Centimeter, 5*vg.Centimeter, 12*vg.Centimeter, l); err == nil {
		t.Error("SaveLegendRight accepted a legend wider than the figure")
	}
}
