package boxes

import (
	"errors"
	"fmt"
)

// Panic messages of caller bugs (gonum's convention: msgX constants prefixed "boxes: ").
const (
	msgLengthMismatch = "boxes: length mismatch"
	msgNegativeCount  = "boxes: negative count"
	msgBadConfig      = "boxes: invalid configuration (see Validate)"
)

// ErrInvalidConfig is wrapped by every *ConfigError; test with errors.Is.
var ErrInvalidConfig = errors.New("boxes: invalid configuration")

// ConfigError reports an invalid field of a configuration struct.
type ConfigError struct {
	Type   string // "Matcher", "Coder", "AnchorGenerator"
	Field  string // e.g. "NegativeIoU", "Weights[2]", "Strides[1]"
	Value  any    // the rejected value
	Reason string // what was expected, e.g. "must be in [0, 1]"
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("boxes: invalid %s: %s = %v %s", e.Type, e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }
