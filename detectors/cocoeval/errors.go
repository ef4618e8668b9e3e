package cocoeval

import "errors"

// Errors returned by Evaluate, wrapped with the offending entry; test with errors.Is.
var (
	// ErrUnknownImage reports a detection or ground truth on an image that is not in
	// imageIDs (or, with nil imageIDs, a detection on an image without ground truth).
	ErrUnknownImage = errors.New("cocoeval: unknown image id")
	// ErrNotFinite reports a NaN or infinite box coordinate, area or score.
	ErrNotFinite = errors.New("cocoeval: NaN or infinite value")
	// ErrNegativeSize reports a box with negative width or height, or a negative GT.Area.
	ErrNegativeSize = errors.New("cocoeval: negative box size or area")
	// ErrBoxArea reports a finite box whose area w·h is not representable: w, h > 0 with
	// w·h underflowing to 0 ([0, 0, 1e-170, 1e-170]), or w·h or a corner x + w, y + h
	// overflowing to +Inf ([0, 0, 1e200, 1e200]). pycocotools' IoU of such a box is NaN (0/0
	// or Inf/Inf), which passes every threshold test, so it matches anything; refusing it
	// is the only answer that is not silently wrong.
	ErrBoxArea = errors.New("cocoeval: box area underflows or overflows")
	// ErrDuplicateID reports two ground truths with the same ID.
	ErrDuplicateID = errors.New("cocoeval: duplicate ground-truth id")
	// ErrParams reports an invalid Params field.
	ErrParams = errors.New("cocoeval: invalid params")
)
