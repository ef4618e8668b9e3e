package boxes

import (
	"errors"
	"fmt"
)

// Panic messages for caller bugs; constants so that callers and tests can match them.
const (
	errLength        = "boxes: length mismatch"
	errNegativeCount = "boxes: negative count"
	errConfig        = "boxes: invalid configuration (see Validate)"
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
