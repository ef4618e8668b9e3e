package static

import (
	"errors"
	"fmt"
)

// Panic messages of caller bugs (gonum's convention: msgX constants prefixed "static: ").
const (
	msgLengthMismatch = "static: length mismatch"
	msgNotMultiple    = "static: length not a multiple of D"
	msgNoColumns      = "static: no columns (len(beta) == 0)"
)

// Errors for bad parameter values. Constructors and evaluators wrap them in a *ParamError
// that names the loss and the parameter; test with errors.Is.
var (
	// ErrNegativeBeta reports a Smooth L1 β < 0.
	ErrNegativeBeta = errors.New("static: negative beta")
	// ErrNonPositiveDelta reports a Huber δ ≤ 0.
	ErrNonPositiveDelta = errors.New("static: non-positive delta")
	// ErrNonPositiveParam reports a Balanced L1 α, γ or β ≤ 0.
	ErrNonPositiveParam = errors.New("static: non-positive parameter")
	// ErrNotFinite reports a NaN or infinite parameter.
	ErrNotFinite = errors.New("static: parameter is NaN or Inf")
	// ErrUnknownReduction reports a Reduction other than None, Mean and Sum, or a
	// string that names none of them.
	ErrUnknownReduction = errors.New("static: unknown reduction")
)

// ParamError is the error returned for a bad parameter value. Err is one of the Err*
// values above; Param names the parameter ("beta", "delta", "beta[2]" for a column).
type ParamError struct {
	Loss  string  // the loss's Name, e.g. "smoothl1"
	Param string  // the parameter, e.g. "beta"
	Value float64 // the rejected value
	Err   error   // the reason, for errors.Is
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("%v: %s %s = %v", e.Err, e.Loss, e.Param, e.Value)
}

func (e *ParamError) Unwrap() error { return e.Err }

func paramError(loss, param string, v float64, err error) error {
	return &ParamError{Loss: loss, Param: param, Value: v, Err: err}
}

// checkFinite returns a *ParamError wrapping ErrNotFinite when v is NaN or ±Inf.
func checkFinite(loss, param string, v float64) error {
	if v-v != 0 { // NaN or ±Inf
		return paramError(loss, param, v, ErrNotFinite)
	}
	return nil
}
