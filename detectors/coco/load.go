package coco

import (
	"cmp"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registers the JPEG decoder
	_ "image/png"  // registers the PNG decoder
	"math"
	"os"
	"path/filepath"
	"slices"
)

// LoadOptions configures Load. The zero value is the lenient policy.
type LoadOptions struct {
	// Strict turns every box the lenient policy would skip (non-finite, zero or negative
	// area, entirely outside the image) into an ErrBadBox error naming the annotation.
	// Boxes partly outside the image are clipped in both modes.
	Strict bool
	// NoImageFiles skips the image files: Load then checks the JSON alone (file names must
	// still stay inside the image folder), as pycocotools does when it scores a results
	// file. A Dataset loaded so cannot feed a Loader unless the files are there.
	NoImageFiles bool
}

// Dataset is a loaded COCO instances file. Images are in ascending image id, each image's
// Objects in ascending annotation id; Categories are in ascending category id, and a
// category's index there is its label.
type Dataset struct {
	AnnotationPath string // the JSON file, as given to Load
	ImageDir       string // the folder the file names are relative to

	Images     []ImageRecord
	Categories []Category

	// Skipped counts the annotations the lenient policy dropped, per reason.
	Skipped Skipped
	// Clipped counts the kept boxes that were clipped to their image.
	Clipped int

	labels map[int64]int // category id → label
}

// ImageRecord is one image with its kept objects.
type ImageRecord struct {
	ID            int64
	FileName      string // as in the JSON
	Path          string // filepath.Join(ImageDir, FileName)
	Width, Height int    // pixels, checked against the file's header
	Objects       []Object
}

// Object is one kept annotation.
type Object struct {
	AnnotationID int64
	CategoryID   int64
	Label        int        // contiguous, 0 ≤ Label < NumClasses
	Box          [4]float64 // x1, y1, x2, y2 in pixels, clipped to [0, Width] × [0, Height]
	Area         float64    // the file's area, or the clipped box's w·h when absent or invalid
	Crowd        bool       // iscrowd = 1: ignored in training and in evaluation
	// FileBox is the bbox as the file holds it, COCO's [x, y, w, h] before clipping: what
	// pycocotools evaluates against (evaluation uses it, training uses Box).
	FileBox [4]float64
}

// Skipped counts dropped annotations per reason; a box is counted under the first reason
// that applies, in field order.
type Skipped struct {
	NonFinite  int // a coordinate is NaN or ±Inf
	Degenerate int // w ≤ 0 or h ≤ 0 as written
	Outside    int // no overlap with the image (clipping leaves zero area)
}

// Total is the number of skipped annotations.
func (s Skipped) Total() int { return s.NonFinite + s.Degenerate + s.Outside }

// NumClasses is the number of categories, C; labels are 0 … C−1.
func (d *Dataset) NumClasses() int { return len(d.Categories) }

// Label returns the contiguous label of a category id, and false if the id is unknown.
func (d *Dataset) Label(categoryID int64) (int, bool) {
	l, ok := d.labels[categoryID]
	return l, ok
}

// CategoryID returns the category id of a label. It panics if label is not in [0, C).
func (d *Dataset) CategoryID(label int) int64 {
	if label < 0 || label >= len(d.Categories) {
		panic(msgLabelOutOfRange)
	}
	return d.Categories[label].ID
}

// Instances returns the dataset as a COCO instances file: the kept objects with their
// (clipped) boxes converted back to [x, y, w, h]. Skipped annotations are not in it.
func (d *Dataset) Instances() *Instances {
	inst := &Instances{Categories: slices.Clone(d.Categories)}
	for _, im := range d.Images {
		inst.Images = append(inst.Images, Image{ID: im.ID, FileName: im.FileName, Width: im.Width, Height: im.Height})
		for _, o := range im.Objects {
			crowd := 0
			if o.Crowd {
				crowd = 1
			}
			inst.Annotations = append(inst.Annotations, Annotation{
				ID: o.AnnotationID, ImageID: im.ID, CategoryID: o.CategoryID,
				BBox: XYXYToXYWH(o.Box), Area: o.Area, IsCrowd: crowd,
			})
		}
	}
	return inst
}

// Load reads a COCO instances file and checks it against the images in imageDir.
//
// Load checks the whole file before it returns: the JSON syntax (errors give line:column),
// required fields, unique image, annotation and category ids, that every annotation refers
// to a known image and category, the boxes (see the package documentation for the policy),
// and, for every image, that its file exists and that its header is a PNG or JPEG of the
// width and height the JSON gives. Pixels are decoded later, once, by NewLoader, which
// reports a file whose body is corrupt. The first problem found is returned; its message
// names the file and the image or annotation id.
func Load(annotationPath, imageDir string, opts LoadOptions) (*Dataset, error) {
	data, err := readFile(annotationPath)
	if err != nil {
		return nil, err
	}
	var raw rawFile
	if err := decodeJSON(annotationPath, nonFiniteTokens(data), &raw); err != nil {
		return nil, err
	}
	d := &Dataset{AnnotationPath: annotationPath, ImageDir: imageDir, labels: make(map[int64]int)}
	p := annotationPath

	// Categories.
	for i, rc := range raw.Categories {
		if rc.ID == nil {
			return nil, fmt.Errorf(`%w: %s: categories[%d]: missing "id"`, ErrField, p, i)
		}
		if _, dup := d.labels[*rc.ID]; dup {
			return nil, fmt.Errorf("%w: %s: category id %d", ErrDuplicateID, p, *rc.ID)
		}
		d.labels[*rc.ID] = -1
		d.Categories = append(d.Categories, Category{ID: *rc.ID, Name: rc.Name})
	}
	slices.SortFunc(d.Categories, func(a, b Category) int { return cmp.Compare(a.ID, b.ID) })
	for l, c := range d.Categories {
		d.labels[c.ID] = l
	}

	// Images.
	index := make(map[int64]int, len(raw.Images)) // image id → position in raw.Images
	for i, ri := range raw.Images {
		if ri.ID == nil {
			return nil, fmt.Errorf(`%w: %s: images[%d]: missing "id"`, ErrField, p, i)
		}
		id := *ri.ID
		if _, dup := index[id]; dup {
			return nil, fmt.Errorf("%w: %s: image id %d", ErrDuplicateID, p, id)
		}
		index[id] = i
		switch {
		case ri.FileName == nil || *ri.FileName == "":
			return nil, fmt.Errorf(`%w: %s: image id %d: missing or empty "file_name"`, ErrField, p, id)
		case ri.Width == nil || ri.Height == nil:
			return nil, fmt.Errorf(`%w: %s: image id %d: missing "width" or "height"`, ErrField, p, id)
		case *ri.Width <= 0 || *ri.Height <= 0:
			return nil, fmt.Errorf("%w: %s: image id %d: size %d×%d is not positive", ErrField, p, id, *ri.Width, *ri.Height)
		case !filepath.IsLocal(filepath.FromSlash(*ri.FileName)):
			// An absolute name or one that climbs out with ../ would read any file.
			return nil, fmt.Errorf(`%w: %s: image id %d: "file_name" %q leaves the image folder`, ErrField, p, id, *ri.FileName)
		}
		d.Images = append(d.Images, ImageRecord{
			ID: id, FileName: *ri.FileName, Path: filepath.Join(imageDir, filepath.FromSlash(*ri.FileName)),
			Width: *ri.Width, Height: *ri.Height,
		})
	}

	// Annotations.
	seen := make(map[int64]bool, len(raw.Annotations))
	for i := range raw.Annotations {
		ra := &raw.Annotations[i]
		if ra.ID == nil {
			return nil, fmt.Errorf(`%w: %s: annotations[%d]: missing "id"`, ErrField, p, i)
		}
		id := *ra.ID
		fail := func(sentinel error, format string, args ...any) error {
			return fmt.Errorf("%w: %s: annotation id %d: %s", sentinel, p, id, fmt.Sprintf(format, args...))
		}
		if seen[id] {
			return nil, fmt.Errorf("%w: %s: annotation id %d", ErrDuplicateID, p, id)
		}
		seen[id] = true
		if ra.ImageID == nil || ra.CategoryID == nil {
			return nil, fail(ErrField, `missing "image_id" or "category_id"`)
		}
		at, ok := index[*ra.ImageID]
		if !ok {
			return nil, fail(ErrUnknownImage, "image_id %d", *ra.ImageID)
		}
		label, ok := d.labels[*ra.CategoryID]
		if !ok {
			return nil, fail(ErrUnknownCategory, "category_id %d", *ra.CategoryID)
		}
		if len(ra.BBox) != 4 {
			return nil, fail(ErrField, "bbox has %d numbers, want 4", len(ra.BBox))
		}
		var xywh [4]float64
		for k, f := range ra.BBox {
			if f.bad != "" {
				return nil, fail(ErrField, "bbox[%d] = %s is not a number", k, f.bad)
			}
			xywh[k] = f.v
		}
		crowd := false
		if ra.IsCrowd != nil {
			switch *ra.IsCrowd {
			case 0:
			case 1:
				crowd = true
			default:
				return nil, fail(ErrField, "iscrowd = %d, want 0 or 1", *ra.IsCrowd)
			}
		}
		if ra.Area != nil && ra.Area.bad != "" {
			return nil, fail(ErrField, "area = %s is not a number", ra.Area.bad)
		}

		im := &d.Images[at]
		box, verdict, clipped := clipBox(xywh, im.Width, im.Height)
		if verdict != boxKept {
			if opts.Strict {
				return nil, fail(ErrBadBox, "bbox %v in a %d×%d image: %s", xywh, im.Width, im.Height, verdict)
			}
			switch verdict {
			case boxNonFinite:
				d.Skipped.NonFinite++
			case boxDegenerate:
				d.Skipped.Degenerate++
			case boxOutside:
				d.Skipped.Outside++
			}
			continue
		}
		if clipped {
			d.Clipped++
		}
		area := (box[2] - box[0]) * (box[3] - box[1])
		if ra.Area != nil && ra.Area.v >= 0 && !math.IsInf(ra.Area.v, 1) {
			area = ra.Area.v // NaN fails v >= 0
		}
		im.Objects = append(im.Objects, Object{
			AnnotationID: id, CategoryID: *ra.CategoryID, Label: label,
			Box: box, Area: area, Crowd: crowd, FileBox: xywh,
		})
	}

	slices.SortFunc(d.Images, func(a, b ImageRecord) int { return cmp.Compare(a.ID, b.ID) })
	for i := range d.Images {
		im := &d.Images[i]
		slices.SortFunc(im.Objects, func(a, b Object) int { return cmp.Compare(a.AnnotationID, b.AnnotationID) })
		if opts.NoImageFiles {
			continue
		}
		if err := checkImageFile(p, im); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// checkImageFile checks that im's file exists and that its header is a PNG or a JPEG of the
// JSON's size, reading the header only.
func checkImageFile(annotationPath string, im *ImageRecord) error {
	w, h, err := imageSize(im.Path, im.ID)
	switch {
	case errors.Is(err, ErrMissingImage):
		return fmt.Errorf("%w: %s: image id %d: %w", ErrMissingImage, annotationPath, im.ID, errors.Unwrap(err))
	case err != nil:
		return err
	case w != im.Width || h != im.Height:
		return fmt.Errorf("%w: %s (image id %d): file is %d×%d, JSON says %d×%d",
			ErrImageSize, im.Path, im.ID, w, h, im.Width, im.Height)
	}
	return nil
}

// imageSize reads the header of a PNG or JPEG file and returns its size; the error wraps
// ErrMissingImage and the os error for a file that cannot be opened, ErrImageFormat for
// anything else.
func imageSize(path string, id int64) (w, h int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, missingImage{err}
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %s (image id %d): %v", ErrImageFormat, path, id, err)
	}
	if format != "png" && format != "jpeg" {
		return 0, 0, fmt.Errorf("%w: %s (image id %d): it is %s", ErrImageFormat, path, id, format)
	}
	return cfg.Width, cfg.Height, nil
}

// missingImage is ErrMissingImage around an os error; Unwrap gives the os error back.
type missingImage struct{ err error }

func (m missingImage) Error() string        { return ErrMissingImage.Error() + ": " + m.err.Error() }
func (m missingImage) Is(target error) bool { return target == ErrMissingImage }
func (m missingImage) Unwrap() error        { return m.err }

// boxVerdict is the outcome of the bad-box policy for one annotation.
type boxVerdict int

const (
	boxKept boxVerdict = iota
	boxNonFinite
	boxDegenerate
	boxOutside
)

func (v boxVerdict) String() string {
	switch v {
	case boxKept:
		return "kept"
	case boxNonFinite:
		return "a coordinate is not finite"
	case boxDegenerate:
		return "zero or negative width or height"
	case boxOutside:
		return "entirely outside the image"
	}
	return fmt.Sprintf("boxVerdict(%d)", int(v))
}

// clipBox applies the bad-box policy to a COCO [x, y, w, h] box in a width×height image and
// returns it as x1, y1, x2, y2 clipped to [0, width] × [0, height], with whether clipping
// changed it. Only a kept box is meaningful.
func clipBox(xywh [4]float64, width, height int) (box [4]float64, v boxVerdict, clipped bool) {
	for _, c := range xywh {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return box, boxNonFinite, false
		}
	}
	if !(xywh[2] > 0 && xywh[3] > 0) {
		return box, boxDegenerate, false
	}
	raw := XYWHToXYXY(xywh)
	if math.IsInf(raw[2], 0) || math.IsInf(raw[3], 0) { // x + w overflowed
		return box, boxNonFinite, false
	}
	w, h := float64(width), float64(height)
	box = [4]float64{
		min(max(raw[0], 0), w), min(max(raw[1], 0), h),
		min(max(raw[2], 0), w), min(max(raw[3], 0), h),
	}
	if !(box[2] > box[0] && box[3] > box[1]) {
		return box, boxOutside, false
	}
	return box, boxKept, box != raw
}
