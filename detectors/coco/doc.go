// Package coco reads COCO-format box annotations, writes a deterministic synthetic detection
// dataset in that format, and serves letterboxed, normalised batches for training and
// evaluation. It is pure Go (no cgo, no gotch) and uses only the standard library's image
// decoders (PNG and JPEG).
//
// The three entry points:
//
//	Generate(dir, GenerateOptions{Images: 1000, Seed: 1})          // dir/images/*.png, train.json, val.json
//	ds, err := Load(dir+"/train.json", dir+"/images", LoadOptions{})
//	l, err := NewLoader(ds, LoaderOptions{BatchSize: 16, Flip: true, Seed: 1})
//	b := l.Batch(step)                                             // or l.EvalBatches(32)
//
// # Coordinates
//
// Coordinates are continuous pixel coordinates: pixel (i, j) covers [i, i+1) × [j, j+1), so
// a W×H image spans [0, W] × [0, H] and a box around pixels x0 … x1 runs from x0 to x1 + 1.
// Inside this package a box is [4]float64 x1, y1, x2, y2 (corners, x1 ≤ x2, y1 ≤ y2), in
// pixels of the original image (Dataset) or of the S×S letterboxed frame (Batch). COCO files
// hold [x, y, w, h]; the conversions are
//
//	XYWHToXYXY:  x1 = x,  y1 = y,  x2 = x + w,  y2 = y + h
//	XYXYToXYWH:  x = x1,  y = y1,  w = x2 − x1,  h = y2 − y1
//
// The loader letterboxes: a W×H image is scaled by s = min(S/W, S/H), placed at the top-left
// of an S×S canvas and padded bottom and right, so a point maps as (x, y) ↦ (s·x, s·y). A
// flipped sample mirrors the whole canvas, x ↦ S − x, so a box becomes
// (S − x2, y1, S − x1, y2). Batch.ToOriginal undoes both.
//
// # Labels
//
// Categories get contiguous labels 0 … C−1 in ascending category id, whatever the ids are
// (COCO's 80 categories have ids 1 … 90 with gaps). Dataset.Label maps a category id to its
// label, Dataset.CategoryID maps back; Dataset.Categories[label] is the category.
//
// # Bad boxes
//
// Load applies one policy to every annotation, crowd or not, in this order:
//
//  1. a coordinate NaN or ±Inf (Python writes NaN and Infinity; a number that overflows
//     float64 counts as infinite): skipped, counted in Skipped.NonFinite;
//  2. w ≤ 0 or h ≤ 0 as written: skipped, Skipped.Degenerate;
//  3. clipped to [0, W] × [0, H]; if nothing is left, the box was entirely outside: skipped,
//     Skipped.Outside; otherwise it is kept clipped, and counted in Dataset.Clipped.
//
// With LoadOptions.Strict the skips become ErrBadBox errors naming the annotation id; boxes
// partly outside are still clipped (exports often overrun the border by rounding). A box's
// Area is the file's value, or the clipped box's w·h when the file has none or a negative or
// non-finite one. Crowd annotations (iscrowd = 1) are kept with Object.Crowd set: training
// and evaluation ignore them, as COCO does, but the matcher needs them to ignore the
// detections they cover.
//
// # Images
//
// Load checks every image file's header (existence, PNG or JPEG, the JSON's width and height)
// but decodes no pixels; NewLoader decodes each image once, letterboxes it to S×S and keeps
// it as bytes (3·S² per image), and reports a file whose body does not decode.
//
// A file_name is relative to the image folder and may hold sub-folders (slash-separated, as
// COCO exports write them); one that leaves the folder (../x.png, an absolute path) is an
// ErrField error. Grayscale, paletted, RGB and RGBA PNGs and JPEGs decode to RGB; an image
// with transparency keeps its colours and loses its alpha, as PIL's convert("RGB") does
// (torchvision's loader uses it), instead of being composited over a background.
// LoadOptions.NoImageFiles skips the files altogether, for scoring against annotations alone.
//
// # Results files
//
// ReadResults and WriteResults read and write COCO results files (a JSON array of
// image_id, category_id, bbox [x, y, w, h], score: what pycocotools' loadRes reads), checking
// every entry and naming the first bad one; Dataset.CheckResults checks the ids against a
// dataset. FromImages makes a Dataset of bare image files for running a detector on them.
//
// # Errors
//
// Everything read from outside returns an error that wraps one of the exported Err values, so
// callers can test it with errors.Is, and whose text starts with that value's text ("coco:
// malformed JSON", "coco: duplicate id", ...) followed by the file (with line:column for
// malformed JSON), the image or annotation id and the details. Caller bugs (a negative
// step, a sample index out of range, a batch size < 1 given to EvalBatches) panic with a
// constant message prefixed by "coco: ".
//
// # Determinism
//
// Generate's output is a function of its options (byte-identical files for a given Go
// release), and Loader.Batch(step) is a function of the dataset, the options and step alone,
// so a resumed run sees the batches of an uninterrupted one. Random numbers come from
// math/rand/v2's PCG source through this package's own helpers.
package coco
