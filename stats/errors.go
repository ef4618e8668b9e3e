package stats

import "errors"

// Errors returned by this package, wrapped with the offending field or value.
var (
	// ErrBadMomentum: a momentum outside (0, 1] or not finite.
	ErrBadMomentum = errors.New("stats: momentum not in (0, 1]")
	// ErrBadInit: an initial running mean or variance that is not finite,
	// or a negative initial variance.
	ErrBadInit = errors.New("stats: bad initial running moment")
	// ErrTooFewRows: a batch with fewer than two finite rows, whose unbiased
	// variance is undefined.
	ErrTooFewRows = errors.New("stats: fewer than two finite rows")
	// ErrNonFinite: a batch statistic that is NaN or ±Inf (possible only
	// when a Moments was filled from outside, or on float64 overflow).
	ErrNonFinite = errors.New("stats: non-finite statistic")
)

// Panic messages of caller bugs (gonum's convention: msgX constants prefixed "stats: ").
const (
	msgLengthMismatch = "stats: length mismatch"
	msgBadDim         = "stats: dimension must be positive"
	msgNotMultiple    = "stats: length not a multiple of the dimension"
	msgDimMismatch    = "stats: dimension mismatch"
	msgKOutOfRange    = "stats: k out of range"
	msgEmpty          = "stats: empty input"
	msgBadK           = "stats: k must be positive"
	msgKMismatch      = "stats: k mismatch"
	msgNegativeCount  = "stats: negative count"
)
