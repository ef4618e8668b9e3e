package dynamic

import (
	"errors"

	"github.com/smoothl1/smoothl1/stats"
)

// Errors returned by this package, wrapped with the field at fault.
var (
	// ErrBadMomentum: a momentum outside (0, 1] or not finite. It is
	// stats.ErrBadMomentum (the running moments check the same rule), so
	// errors.Is matches either name.
	ErrBadMomentum = stats.ErrBadMomentum
	// ErrBadBeta: a β bound, initial β or fixed β out of its range or not finite.
	ErrBadBeta = errors.New("dynamic: bad β")
	// ErrBadInit: an initial running mean that is not finite, or an initial
	// running variance that is negative or not finite.
	ErrBadInit = errors.New("dynamic: bad initial statistic")
	// ErrBadK: a number of smallest values K < 1.
	ErrBadK = errors.New("dynamic: K must be at least 1")
	// ErrBadInterval: an update interval C < 1.
	ErrBadInterval = errors.New("dynamic: interval must be at least 1")
	// ErrBadOption: an enum option out of range.
	ErrBadOption = errors.New("dynamic: bad option")
	// ErrBadDim: a dimension a scheduler cannot work with (DynamicRCNN
	// needs D ≥ 2).
	ErrBadDim = errors.New("dynamic: unsupported dimension")
	// ErrDimMismatch: a summary or state of another dimension D.
	ErrDimMismatch = errors.New("dynamic: dimension mismatch")
	// ErrBadSummary: a summary with inconsistent or non-finite fields, or
	// without the smallest values a scheduler needs.
	ErrBadSummary = errors.New("dynamic: bad summary")
	// ErrCorruptState: a state blob that is truncated, fails its checksum or
	// holds values no scheduler can be in.
	ErrCorruptState = errors.New("dynamic: corrupt state")
	// ErrWrongKind: a state blob written by another kind of scheduler.
	ErrWrongKind = errors.New("dynamic: state of another scheduler kind")
	// ErrVersion: a state blob of an unsupported format version.
	ErrVersion = errors.New("dynamic: unsupported state version")
	// ErrConfigMismatch: a state blob written under another configuration.
	ErrConfigMismatch = errors.New("dynamic: state has another configuration")
)

// Panic messages of caller bugs (gonum's convention: msgX constants prefixed "dynamic: ").
const (
	msgLengthMismatch = "dynamic: length mismatch"
	msgBadDim         = "dynamic: dimension must be positive"
	msgNotMultiple    = "dynamic: length not a multiple of the dimension"
	msgBadRequirement = "dynamic: requirement K needs K ≥ 0 and D ≥ 2"
	msgSourceMismatch = "dynamic: Union of requirements of different sources"
)
