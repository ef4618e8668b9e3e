package torchthread

import "github.com/sugarme/gotch/ts"

// noGradDepth counts nested NoGrad calls; only the torch thread touches it.
var noGradDepth int

// NoGrad runs fn with libtorch's grad mode off, on the torch thread, and turns it back on when
// the outermost NoGrad returns. Nested calls are fine.
//
// It does not use the previous state that gotch's GradSetEnabled returns: gotch v0.9.1 reads
// the C int it gets back as a Go int (8 bytes from a 4-byte value), so that state is garbage
// (it reports "disabled" when grad mode was on). The torch thread's grad mode is on outside
// NoGrad, always.
func NoGrad(fn func() error) error {
	return Do(func() error {
		if noGradDepth == 0 {
			if _, err := ts.GradSetEnabled(false); err != nil {
				return err
			}
		}
		noGradDepth++
		defer func() {
			noGradDepth--
			if noGradDepth == 0 {
				ts.GradSetEnabled(true)
			}
		}()
		return fn()
	})
}
