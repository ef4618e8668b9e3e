package static_test

import (
	"errors"
	"fmt"

	"github.com/smoothl1/smoothl1/static"
)

func ExampleEval() {
	l, err := static.NewSmoothL1(1)
	if err != nil {
		panic(err)
	}
	pred := []float32{0.5, 3, -1}
	target := []float32{0, 0, 0}
	grad := make([]float32, len(pred))
	loss, err := static.Eval(l, static.Mean, grad, nil, pred, target, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%v = %.4f, grad %.4f\n", l, loss, grad)
	// Output: smoothl1:beta=1 = 1.0417, grad [0.1667 0.3333 -0.3333]
}

func ExampleEval_none() {
	pred := []float64{2, -0.5, 0}
	target := []float64{0, 0, 0}
	weights := []float64{1, 2, 1}
	values, grad := make([]float64, 3), make([]float64, 3)
	sum, _ := static.Eval(static.L1{}, static.None, grad, values, pred, target, weights)
	fmt.Println(values, grad, sum)
	// Output: [2 1 0] [1 -2 0] 3
}

func ExampleSmoothL1Columns() {
	// Two boxes, four coordinates; one β per coordinate, the first exact L1.
	beta := []float64{0, 0.11, 0.5, 1}
	pred := []float32{
		0.1, 0.1, 0.1, 0.1,
		-1, 0.05, 0.5, 2,
	}
	target := make([]float32, 8)
	grad := make([]float32, 8)
	loss, err := static.SmoothL1Columns(beta, static.Sum, grad, nil, pred, target, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.4f\n%.4f\n", loss, grad)
	// Output:
	// 2.9218
	// [1.0000 0.9091 0.2000 0.1000 -1.0000 0.4545 1.0000 1.0000]
}

func ExampleNewSmoothL1() {
	for _, beta := range []float64{0, 1e-6, 1} {
		l, _ := static.NewSmoothL1(beta)
		fmt.Println(l, l.Value(0.5), l.Deriv(0.5), l.Deriv(0))
	}
	_, err := static.NewSmoothL1(-1)
	fmt.Println(errors.Is(err, static.ErrNegativeBeta), err)
	// Output:
	// smoothl1:beta=0 0.5 1 0
	// smoothl1:beta=1e-06 0.4999995 1 0
	// smoothl1:beta=1 0.125 0.5 0
	// true static: negative beta: smoothl1 beta = -1
}

func ExampleNewHuber() {
	h, _ := static.NewHuber(2)
	s, _ := static.NewSmoothL1(2)
	fmt.Println(h.Value(3), 2*s.Value(3), h.Deriv(3))
	_, err := static.NewHuber(0)
	fmt.Println(err)
	// Output:
	// 4 4 2
	// static: non-positive delta: huber delta = 0
}

func ExampleNewBalancedL1() {
	l, _ := static.NewBalancedL1(0.5, 1.5, 1) // mmdetection's defaults
	fmt.Printf("%v %.4f %.4f %.4f\n", l, l.Value(0.5), l.Deriv(0.5), l.Deriv(2))
	// Output: balancedl1:alpha=0.5,gamma=1.5,beta=1 0.4006 1.1777 1.5000
}

func ExampleParseReduction() {
	r, err := static.ParseReduction("sum")
	fmt.Println(r, err)
	_, err = static.ParseReduction("avg")
	fmt.Println(errors.Is(err, static.ErrUnknownReduction), err)
	// Output:
	// sum <nil>
	// true static: unknown reduction: "avg" (want mean, sum or none)
}

// A Loss is all a command needs to print, plot or evaluate a loss.
func ExampleLoss() {
	sl1, _ := static.NewSmoothL1(0.11)
	hub, _ := static.NewHuber(1)
	for _, l := range []static.Loss{static.L1{}, static.L2{}, sl1, hub} {
		fmt.Printf("%-20s %-8s %.4f %.4f\n", l, l.Name(), l.Value(-0.1), l.Deriv(-0.1))
	}
	// Output:
	// l1                   l1       0.1000 -1.0000
	// l2                   l2       0.0050 -0.1000
	// smoothl1:beta=0.11   smoothl1 0.0455 -0.9091
	// huber:delta=1        huber    0.0050 -0.1000
}
