package torchthread

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// Element is a Go type with a libtorch dtype, for FromSlice and CopyTo.
type Element interface {
	float32 | float64 | int64
}

func dtypeOf[T Element]() gotch.DType {
	var z T
	switch any(z).(type) {
	case float32:
		return gotch.Float
	case float64:
		return gotch.Double
	default:
		return gotch.Int64
	}
}

// FromSlice returns a new contiguous CPU tensor of the given shape holding a copy of data
// (float32 → Float, float64 → Double, int64 → Int64); shape has at least one dimension. It copies straight into the tensor's
// memory: gotch's NewTensorFromData and OfSlice inspect every element through reflection, a
// third of a detector step for a batch of images. Call it on the torch thread; the caller
// drops the result.
func FromSlice[T Element](data []T, shape ...int64) (*ts.Tensor, error) {
	n, err := numel("FromSlice", shape)
	if err != nil {
		return nil, err
	}
	if n != int64(len(data)) {
		return nil, fmt.Errorf("torchthread: %d values for shape %v (%d elements)", len(data), shape, n)
	}
	t, view, err := Empty[T](shape...)
	if err != nil {
		return nil, err
	}
	copy(view, data)
	return t, nil
}

// Empty returns a new contiguous CPU tensor of the given shape and T's dtype, its values
// uninitialised, and a slice over its memory (nil for no elements): data the caller writes
// into the slice is in the tensor, with no copy. Use it to build a tensor from host data that
// is computed rather than already at hand, such as a batch the loader fills. The slice is
// valid until the tensor is dropped and must not be used after. Call it on the torch thread;
// the caller drops the tensor.
func Empty[T Element](shape ...int64) (*ts.Tensor, []T, error) {
	n, err := numel("Empty", shape)
	if err != nil {
		return nil, nil, err
	}
	t, err := ts.Empty(shape, dtypeOf[T](), gotch.CPU)
	if err != nil {
		return nil, nil, err
	}
	if n == 0 {
		return t, nil, nil
	}
	p, err := t.DataPtr()
	if err != nil {
		t.MustDrop()
		return nil, nil, err
	}
	return t, unsafe.Slice((*T)(p), n), nil
}

// numel returns the number of elements of shape, or an error naming fn for a shape that
// gotch cannot make (no dimension: it passes &shape[0] to C) or that is not a shape.
func numel(fn string, shape []int64) (int64, error) {
	if len(shape) == 0 {
		return 0, fmt.Errorf("torchthread: %s needs at least one dimension (use shape [1] for a single value)", fn)
	}
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("torchthread: negative dimension in shape %v", shape)
		}
		if d > 0 && n > math.MaxInt64/d {
			return 0, fmt.Errorf("torchthread: shape %v has more elements than an int64 counts", shape)
		}
		n *= d
	}
	return n, nil
}

// CopyTo copies every element of the CPU tensor t into dst, which must have t's number of
// elements and its dtype. A non-contiguous t is copied through a contiguous temporary. Call it
// on the torch thread. (gotch's CopyData inspects dst element by element through reflection.)
func CopyTo[T Element](dst []T, t *ts.Tensor) error {
	if want := dtypeOf[T](); t.DType() != want {
		return fmt.Errorf("torchthread: copying a %v tensor into a %v slice", t.DType(), want)
	}
	size, err := t.Size()
	if err != nil {
		return err
	}
	n := int64(1)
	for _, d := range size {
		n *= d
	}
	if n != int64(len(dst)) {
		return fmt.Errorf("torchthread: copying a tensor of shape %v (%d elements) into %d values", size, n, len(dst))
	}
	if dev, err := t.Device(); err != nil {
		return err
	} else if dev.Name != gotch.CPU.Name {
		return fmt.Errorf("torchthread: CopyTo needs a CPU tensor, got one on %v", dev)
	}
	if n == 0 {
		return nil
	}
	src := t
	if ok, err := t.IsContiguous(); err != nil {
		return err
	} else if !ok {
		if src, err = t.Contiguous(false); err != nil {
			return err
		}
		defer src.MustDrop()
	}
	p, err := src.DataPtr()
	if err != nil {
		return err
	}
	copy(dst, unsafe.Slice((*T)(p), n))
	return nil
}

// LiveTensors returns the number of gotch tensors created and not yet freed, in the whole
// process (the patched gotch copy counts them under its own lock; see
// scripts/gotch/patch_leaks.sh). A training step that drops its temporaries leaves it as it
// found it.
func LiveTensors() int { return ts.LiveTensors() }

// Item returns the value of a one-element float tensor (float32 or float64; other dtypes go
// through a float64 copy that is dropped here). gotch's Float64Values leaves that copy to a
// finalizer: a tensor per call that only the garbage collector frees.
func Item(t *ts.Tensor) (float64, error) {
	switch t.DType() {
	case gotch.Float:
		var v [1]float32
		err := CopyTo(v[:], t)
		return float64(v[0]), err
	case gotch.Double:
		var v [1]float64
		err := CopyTo(v[:], t)
		return v[0], err
	}
	d, err := t.Totype(gotch.Double, false)
	if err != nil {
		return 0, err
	}
	defer d.MustDrop()
	var v [1]float64
	err = CopyTo(v[:], d)
	return v[0], err
}
