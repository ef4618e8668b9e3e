package coco

import "errors"

// Errors returned by this package, so callers can test them with errors.Is. Each comes first
// in the returned error's text, followed by the file, the image or annotation id and the
// details ("coco: duplicate id: instances.json: image id 2"), so the text begins with "coco: ".
var (
	// ErrSyntax: the annotation file is not valid JSON, or a value has the wrong JSON type
	// (a string where an id belongs). The message gives line:column.
	ErrSyntax = errors.New("coco: malformed JSON")
	// ErrField: a required field is missing, or a field holds a value outside its domain
	// (a bbox without 4 numbers, iscrowd other than 0 or 1, a width ≤ 0, an empty file_name).
	ErrField = errors.New("coco: bad field")
	// ErrDuplicateID: two images, two annotations or two categories share an id.
	ErrDuplicateID = errors.New("coco: duplicate id")
	// ErrUnknownImage: an annotation's image_id is not among the images.
	ErrUnknownImage = errors.New("coco: unknown image id")
	// ErrUnknownCategory: an annotation's category_id is not among the categories.
	ErrUnknownCategory = errors.New("coco: unknown category id")
	// ErrBadBox: with LoadOptions.Strict, a box that the lenient policy would skip.
	ErrBadBox = errors.New("coco: bad box")
	// ErrMissingImage: an image file cannot be opened (it also wraps the os error, so
	// errors.Is(err, fs.ErrNotExist) holds for a missing file).
	ErrMissingImage = errors.New("coco: missing image file")
	// ErrImageFormat: an image file that neither image/png nor image/jpeg decodes.
	ErrImageFormat = errors.New("coco: not a PNG or JPEG image")
	// ErrImageSize: an image whose decoded size differs from the width and height in the JSON.
	ErrImageSize = errors.New("coco: image size differs from the JSON")
	// ErrOption: a GenerateOptions or LoaderOptions value out of its range.
	ErrOption = errors.New("coco: bad option")
	// ErrEmpty: a loader over a dataset with no images.
	ErrEmpty = errors.New("coco: dataset has no images")
)

// Panic messages of caller bugs (gonum's convention: msgX constants, "coco: " prefix).
const (
	msgNegativeStep          = "coco: negative step"
	msgStepOverflow          = "coco: step·batch size overflows int64"
	msgBadBatchSize          = "coco: batch size < 1"
	msgRangeOutOfBatch       = "coco: sample range out of the batch"
	msgSampleIndexOutOfRange = "coco: sample index out of range"
	msgLabelOutOfRange       = "coco: label out of range"
	msgUnknownShapeClass     = "coco: unknown shape class"
	msgIntnNonPositive       = "coco: intn of non-positive n"
)
