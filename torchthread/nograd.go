package torchthread

import "github.com/sugarme/gotch/ts"

// noGradDepth counts nested NoGrad calls; only the torch thread touches it.
var noGradDepth int

// NoGrad runs fn with libtorch's grad mode off, on the torch thread, and turns it back on when
// the outermost NoGrad returns. Nested calls are fine, and each one turns grad mode off again,
// on entry and when it returns inside an outer NoGrad: gotch's own ts.NoGrad, which its
// VarStore uses to create and load variables, switches grad mode on unconditionally when it
// ends, so a VarStore call inside NoGrad would otherwise leave the rest of fn with grad mode on
// (an in-place copy into a variable then fails: "a leaf Variable that requires grad is being
// used in an in-place operation"). Code that calls into the VarStore and then needs grad mode
// off wraps the second part in its own NoGrad.
//
// It does not use the previous state that gotch's GradSetEnabled returns: gotch v0.9.1 reads
// the C int it gets back as a Go int (8 bytes from a 4-byte value), so that state is garbage
// (it reports "disabled" when grad mode was on). The torch thread's grad mode is on outside
// NoGrad, always.
func NoGrad(fn func() error) error {
	return Do(func() error {
		if _, err := ts.GradSetEnabled(false); err != nil {
			return err
		}
		noGradDepth++
		defer func() {
			noGradDepth--
			ts.GradSetEnabled(noGradDepth == 0)
		}()
		return fn()
	})
}
