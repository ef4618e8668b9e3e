package experiments

import "errors"

var (
	// ErrConfig is wrapped by every error about a sweep config or its overrides.
	ErrConfig = errors.New("experiments: sweep config")
	// ErrConflict is returned when a sweep folder holds a run that does not match the config
	// asking for it, or when merged folders hold different results for one run.
	ErrConflict = errors.New("experiments: conflicting run")
	// ErrRunsFailed is returned by a sweep some of whose runs failed; the others are kept.
	ErrRunsFailed = errors.New("experiments: runs failed")
	// ErrBusy is returned when another sweep is running in the same folder.
	ErrBusy = errors.New("experiments: sweep folder in use")
)

// Panic messages of caller bugs (gonum's convention: msgX constants prefixed "experiments: ").
const (
	msgCompareLengths = "experiments: Compare: x and base differ in length"
)
