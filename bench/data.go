package bench

import (
	"unsafe"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/internal/benchdata"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// D is the number of columns of the benchmark data (box deltas dx, dy, dw, dh).
const D = 4

// boxData returns pred and target, float32 [rows, D] row-major: benchdata.Boxes, the data
// of every speed measurement of the project.
func boxData(rows int) (pred, target []float32) { return benchdata.Boxes(rows) }

// boxTensors returns tensors holding copies of p and y as [len/D, D]; pred requires grad. Call
// it inside torchthread.Do; the caller drops both.
func boxTensors(p, y []float32) (pred, target *ts.Tensor) {
	p0 := floatTensor(p)
	defer p0.MustDrop()
	return tt.Must(p0.SetRequiresGrad(true, false)), floatTensor(y)
}

// floatTensor returns a [len/D, D] float32 CPU tensor holding a copy of x. It copies into
// the tensor's memory directly: gotch's NewTensorFromData checks every element through
// reflection, seconds for 10⁷ rows.
func floatTensor(x []float32) *ts.Tensor {
	t := tt.Must(ts.Empty([]int64{int64(len(x) / D), D}, gotch.Float, gotch.CPU))
	if len(x) > 0 {
		copy(unsafe.Slice((*float32)(tt.Must(t.DataPtr())), len(x)), x)
	}
	return t
}

// forwardBackward runs forward and the gradient of its scalar result with respect to pred
// (autograd.grad: nothing accumulates in pred's .grad between calls), and drops both.
func forwardBackward(pred *ts.Tensor, forward func() (*ts.Tensor, error)) error {
	loss, err := forward()
	if err != nil {
		return err
	}
	g, err := ts.RunBackward([]*ts.Tensor{loss}, []*ts.Tensor{pred}, false, false)
	loss.MustDrop()
	if err != nil {
		return err
	}
	for _, x := range g {
		x.MustDrop()
	}
	return nil
}
