package static

import "fmt"

// Reduction says how the per-element losses are combined into the returned scalar,
// as PyTorch's reduction argument does. The zero value is Mean, PyTorch's default.
type Reduction int

const (
	// Mean returns the sum of the (weighted) element losses divided by the number of
	// elements; weights do not change the divisor.
	Mean Reduction = iota
	// Sum returns the sum of the (weighted) element losses.
	Sum
	// None keeps the element losses: they are written to the values slice and the
	// gradient is each element's own derivative.
	None
)

var reductionNames = [...]string{Mean: "mean", Sum: "sum", None: "none"}

// String returns "mean", "sum" or "none", and "Reduction(k)" for an unknown value.
func (r Reduction) String() string {
	if r.valid() {
		return reductionNames[r]
	}
	return fmt.Sprintf("Reduction(%d)", int(r))
}

func (r Reduction) valid() bool { return r >= 0 && int(r) < len(reductionNames) }

func (r Reduction) check() error {
	if !r.valid() {
		return fmt.Errorf("%w: %v", ErrUnknownReduction, r)
	}
	return nil
}

// ParseReduction parses "mean", "sum" or "none" (PyTorch's spellings). Any other string,
// including "", returns an error wrapping ErrUnknownReduction.
func ParseReduction(s string) (Reduction, error) {
	for r, name := range reductionNames {
		if s == name {
			return Reduction(r), nil
		}
	}
	return 0, fmt.Errorf("%w: %q (want mean, sum or none)", ErrUnknownReduction, s)
}

// MarshalText implements encoding.TextMarshaler; it fails for an unknown value.
func (r Reduction) MarshalText() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	return []byte(r.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseReduction, so a Reduction
// works with flag.TextVar and encoding/json.
func (r *Reduction) UnmarshalText(text []byte) error {
	v, err := ParseReduction(string(text))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
