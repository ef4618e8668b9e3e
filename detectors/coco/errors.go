package coco

import "errors"

// Errors returned by this package, wrapped with the file, the image or annotation id and the
// details, so callers can test them with errors.Is. Every returned error's text begins with
// "coco: ".
var (
	// ErrSyntax: the annotation file is not valid JSON, or a value has the wrong JSON type
	// (a string where an id belongs). The message gives line:column.
	ErrSyntax = errors.New("malformed JSON")
	// ErrField: a required field is missing, or a field holds a value outside its domain
	// (a bbox without 4 numbers, iscrowd other than 0 or 1, a width ≤ 0, an empty file_name).
	ErrField = errors.New("bad field")
	// ErrDuplicateID: two images, two annotations or two categories share an id.
	ErrDuplicateID = errors.New("duplicate id")
	// ErrUnknownImage: an annotation's image_id is not among the images.
	ErrUnknownImage = errors.New("unknown image id")
	// ErrUnknownCategory: an annotation's category_id is not among the categories.
	ErrUnknownCategory = errors.New("unknown category id")
	// ErrBadBox: with LoadOptions.Strict, a box that the lenient policy would skip.
	ErrBadBox = errors.New("bad box")
	// ErrMissingImage: an image file cannot be opened (it also wraps the os error, so
	// errors.Is(err, fs.ErrNotExist) holds for a missing file).
	ErrMissingImage = errors.New("missing image file")
	// ErrImageFormat: an image file that neither image/png nor image/jpeg decodes.
	ErrImageFormat = errors.New("not a PNG or JPEG image")
	// ErrImageSize: an image whose decoded size differs from the width and height in the JSON.
	ErrImageSize = errors.New("image size differs from the JSON")
	// ErrOption: a GenerateOptions or LoaderOptions value out of its range.
	ErrOption = errors.New("bad option")
	// ErrEmpty: a loader over a dataset with no images.
	ErrEmpty = errors.New("dataset has no images")
)

// Panic messages for caller bugs.
const (
	panicNegativeStep = "coco: negative step"
	panicStepOverflow = "coco: step·batch size overflows int64"
	panicBatchSize    = "coco: batch size < 1"
	panicSampleIndex  = "coco: sample index out of range"
	panicLabel        = "coco: label out of range"
)
