package torchthread

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// roundTrip checks FromSlice and CopyTo against gotch's own (reflection-based) conversions on
// random data: same dtype, shape and values both ways.
func roundTrip[T Element](t *testing.T, data []T, shape ...int64) {
	t.Helper()
	err := Do(func() error {
		x := Must(FromSlice(data, shape...))
		defer x.MustDrop()
		ref := Must(ts.NewTensorFromData(data, shape))
		defer ref.MustDrop()
		if x.DType() != ref.DType() || !slices.Equal(Must(x.Size()), Must(ref.Size())) {
			t.Fatalf("FromSlice gave %v %v, NewTensorFromData %v %v", x.DType(), Must(x.Size()), ref.DType(), Must(ref.Size()))
		}
		eq := Must(x.Equal(ref, false))
		if !eq {
			t.Fatal("FromSlice and NewTensorFromData hold different values")
		}
		got := make([]T, len(data))
		Check(CopyTo(got, ref))
		if !slices.Equal(got, data) {
			t.Fatal("CopyTo returned different values")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestHostCopies(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	f32 := make([]float32, 3*5*7)
	f64 := make([]float64, 3*5*7)
	i64 := make([]int64, 3*5*7)
	for i := range f32 {
		f32[i], f64[i], i64[i] = float32(r.NormFloat64()), r.NormFloat64(), r.Int64()-r.Int64()
	}
	roundTrip(t, f32, 3, 5, 7)
	roundTrip(t, f64, 105)
	roundTrip(t, i64, 7, 15)
	roundTrip(t, []float32{2.5}, 1)

	err := Do(func() error {
		x := Must(FromSlice(f32, 15, 7))
		defer x.MustDrop()
		// A transposed view is not contiguous: CopyTo must give row-major order of the view.
		tr := Must(x.Transpose(0, 1, false))
		defer tr.MustDrop()
		got := make([]float32, len(f32))
		Check(CopyTo(got, tr))
		for i := 0; i < 7; i++ {
			for j := 0; j < 15; j++ {
				if got[i*15+j] != f32[j*7+i] {
					t.Fatalf("transposed [%d,%d] = %v, want %v", i, j, got[i*15+j], f32[j*7+i])
				}
			}
		}
		if err := CopyTo(make([]float64, len(f32)), x); err == nil {
			t.Error("CopyTo into a slice of another dtype did not fail")
		}
		if err := CopyTo(make([]float32, 3), x); err == nil {
			t.Error("CopyTo into a short slice did not fail")
		}
		if _, err := FromSlice(f32, 4, 4); err == nil {
			t.Error("FromSlice with a shape of another size did not fail")
		}
		if _, err := FromSlice([]float32{}, 1<<32, 1<<32); err == nil {
			t.Error("FromSlice with an overflowing shape did not fail")
		}
		if _, err := FromSlice([]float32{1}); err == nil {
			t.Error("FromSlice without a shape did not fail")
		}
		if _, err := FromSlice([]float32{}, -1); err == nil {
			t.Error("FromSlice with a negative dimension did not fail")
		}
		e := Must(FromSlice([]int64{}, 0, 4))
		defer e.MustDrop()
		Check(CopyTo([]int64{}, e))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEmpty: the slice Empty returns is the tensor's memory (what is written there is what
// the tensor holds, of its shape and dtype), and bad shapes are errors.
func TestEmpty(t *testing.T) {
	err := Do(func() error {
		x, view := Must2(Empty[float64](2, 3))
		defer x.MustDrop()
		if len(view) != 6 || x.DType() != gotch.Double || !slices.Equal(Must(x.Size()), []int64{2, 3}) {
			t.Fatalf("Empty(2, 3) gave %d values, %v %v", len(view), x.DType(), Must(x.Size()))
		}
		for i := range view {
			view[i] = float64(i) / 4
		}
		ref := Must(ts.NewTensorFromData([]float64{0, 0.25, 0.5, 0.75, 1, 1.25}, []int64{2, 3}))
		defer ref.MustDrop()
		if !Must(x.Equal(ref, false)) {
			t.Error("the tensor does not hold what was written to its slice")
		}
		e, ev := Must2(Empty[int64](0, 5))
		defer e.MustDrop()
		if ev != nil {
			t.Errorf("Empty(0, 5) gave a slice of %d values, want nil", len(ev))
		}
		for _, shape := range [][]int64{{}, {-1, 2}, {1 << 32, 1 << 32}} {
			if _, _, err := Empty[float32](shape...); err == nil {
				t.Errorf("Empty%v did not fail", shape)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
