package torchthread

import (
	"runtime"

	"github.com/sugarme/gotch/ts"
)

// Scratch collects the temporaries of one computation, the package's rule 2 in one place:
// Drop frees every tensor added (a second drop of the same tensor is harmless: gotch ignores
// it) and keeps the scalars alive until then, since gotch frees a scalar from a finalizer and
// would not keep it alive across a C call. The zero value is ready; it is reusable after Drop.
type Scratch struct {
	tensors []*ts.Tensor
	scalars []*ts.Scalar
}

// Add records x for Drop and returns it.
func (s *Scratch) Add(x *ts.Tensor) *ts.Tensor {
	s.tensors = append(s.tensors, x)
	return x
}

// Scalar returns a float scalar that stays alive until Drop.
func (s *Scratch) Scalar(v float64) *ts.Scalar {
	x := ts.FloatScalar(v)
	s.scalars = append(s.scalars, x)
	return x
}

// Drop frees the tensors added since the last Drop.
func (s *Scratch) Drop() {
	for _, x := range s.tensors {
		x.MustDrop()
	}
	s.tensors = s.tensors[:0]
	runtime.KeepAlive(s.scalars)
	s.scalars = s.scalars[:0]
}
