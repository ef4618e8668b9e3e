package torchthread_test

import (
	"fmt"
	"log"

	tt "github.com/smoothl1/smoothl1/torchthread"
)

// Your own gotch code runs inside Do, on the one OS thread where the toolkit's losses and
// training loop run (libtorch's grad mode is per thread). Must and Check turn gotch's errors
// into Do's error; a Scratch frees the step's tensors.
func ExampleDo() {
	err := tt.Do(func() error {
		var tmp tt.Scratch
		defer tmp.Drop()
		x := tmp.Add(tt.Must(tt.FromSlice([]float64{1, 2, 3, 4}, 2, 2)))
		y := tmp.Add(tt.Must(x.Matmul(x, false)))
		out := make([]float64, 4)
		tt.Check(tt.CopyTo(out, y))
		fmt.Println(out)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	err = tt.Do(func() error {
		x := tt.Must(tt.FromSlice([]float64{1, 2, 3}, 3))
		defer x.MustDrop()
		_ = tt.Must(x.Matmul(x, false)) // fine: a dot product
		_ = tt.Must(x.Reshape([]int64{2, 2}, false))
		return nil
	})
	fmt.Println(err != nil)
	// Output:
	// [7 10 15 22]
	// true
}

// Empty makes a tensor and hands back its memory as a slice: host data computed into the slice
// is in the tensor without a copy (here a ramp; in package detectors, a batch of images the
// loader decodes into it). The slice is valid until the tensor is dropped.
func ExampleEmpty() {
	err := tt.Do(func() error {
		var tmp tt.Scratch
		defer tmp.Drop()
		x, data := tt.Must2(tt.Empty[float32](2, 3))
		tmp.Add(x)
		for i := range data {
			data[i] = float32(i) / 2
		}
		sum := tmp.Add(tt.Must(x.Sum(x.DType(), false)))
		fmt.Println(tt.Must(tt.Item(sum)))
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// 7.5
}
