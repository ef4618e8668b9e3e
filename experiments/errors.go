package experiments

import "errors"

var (
	// ErrConfig is wrapped by every error about a sweep config or its overrides.
	ErrConfig = errors.New("sweep config")
	// ErrConflict is returned when a sweep folder holds a run that does not match the config
	// asking for it, or when merged folders hold different results for one run.
	ErrConflict = errors.New("conflicting run")
	// ErrRunsFailed is returned by a sweep some of whose runs failed; the others are kept.
	ErrRunsFailed = errors.New("runs failed")
	// ErrBusy is returned when another sweep is running in the same folder.
	ErrBusy = errors.New("sweep folder in use")
)
