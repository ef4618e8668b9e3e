package coco

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/smoothl1/smoothl1/internal/atomicfile"
)

// Result is one detection of a COCO results file, the format pycocotools' COCO.loadRes reads
// and every COCO-trained detector writes:
//
//	[{"image_id": 42, "category_id": 18, "bbox": [x, y, w, h], "score": 0.93}, …]
//
// BBox is [x, y, w, h] in pixels of the original image; CategoryID is the dataset's own
// category id (not a contiguous label).
type Result struct {
	ImageID    int64      `json:"image_id"`
	CategoryID int64      `json:"category_id"`
	BBox       [4]float64 `json:"bbox"`
	Score      float64    `json:"score"`
}

type rawResult struct {
	ImageID    *int64         `json:"image_id"`
	CategoryID *int64         `json:"category_id"`
	BBox       []lenientFloat `json:"bbox"`
	Score      *lenientFloat  `json:"score"`
}

// ReadResults reads a COCO results file: a JSON array of objects with image_id, category_id,
// bbox [x, y, w, h] and score (other fields, such as segmentation, are ignored). Every entry is
// checked, and the first bad one is returned as an error naming the file and the entry's
// 0-based index:
//
//	ErrSyntax     not JSON, not an array, an id that is not an integer (with line:column)
//	ErrField      image_id, category_id, bbox or score missing; bbox without 4 numbers;
//	              a score that is NaN or ±Inf
//	ErrBadBox     a bbox coordinate NaN or ±Inf (Python writes NaN and Infinity), a negative
//	              width or height, or w, h > 0 whose product w·h underflows to 0 or overflows
//	              to +Inf (pycocotools' IoU of such a box is NaN, which matches everything)
//
// pycocotools asserts on some of these and silently mis-scores others. An empty array is
// valid. Whether the image and category ids exist is checked by Dataset.CheckResults.
func ReadResults(path string) ([]Result, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	data = nonFiniteTokens(data)
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '[' {
		return nil, fmt.Errorf("%w: %s: a results file is a JSON array of detections", ErrSyntax, path)
	}
	var raw []rawResult
	if err := decodeJSON(path, data, &raw); err != nil {
		return nil, err
	}
	out := make([]Result, len(raw))
	for i, r := range raw {
		fail := func(sentinel error, format string, args ...any) error {
			return fmt.Errorf("%w: %s: entry %d: %s", sentinel, path, i, fmt.Sprintf(format, args...))
		}
		switch {
		case r.ImageID == nil:
			return nil, fail(ErrField, `missing "image_id"`)
		case r.CategoryID == nil:
			return nil, fail(ErrField, `missing "category_id"`)
		case r.BBox == nil:
			return nil, fail(ErrField, `missing "bbox"`)
		case r.Score == nil:
			return nil, fail(ErrField, `missing "score"`)
		case len(r.BBox) != 4:
			return nil, fail(ErrField, "bbox has %d numbers, want 4", len(r.BBox))
		}
		if r.Score.bad != "" {
			return nil, fail(ErrField, "score = %s is not a number", r.Score.bad)
		}
		if math.IsNaN(r.Score.v) || math.IsInf(r.Score.v, 0) {
			return nil, fail(ErrField, "score = %v is not finite", r.Score.v)
		}
		res := Result{ImageID: *r.ImageID, CategoryID: *r.CategoryID, Score: r.Score.v}
		for k, f := range r.BBox {
			if f.bad != "" {
				return nil, fail(ErrField, "bbox[%d] = %s is not a number", k, f.bad)
			}
			res.BBox[k] = f.v
		}
		if err := CheckResultBox(res.BBox); err != nil {
			return nil, fail(ErrBadBox, "bbox %v: %v", res.BBox, err)
		}
		out[i] = res
	}
	return out, nil
}

// CheckResultBox returns a description of what is wrong with a detection box [x, y, w, h],
// or nil: a coordinate NaN or ±Inf, a negative width or height, an area w·h that is not
// finite, or w, h > 0 with w·h = 0 (an underflow). A zero width or height is allowed (an
// empty box, which matches nothing). The error does not wrap a sentinel; ReadResults wraps
// it in ErrBadBox.
func CheckResultBox(b [4]float64) error {
	for k, c := range b {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return fmt.Errorf("coordinate %d is %v", k, c)
		}
	}
	w, h := b[2], b[3]
	switch a := w * h; {
	case w < 0 || h < 0:
		return fmt.Errorf("negative width or height")
	case math.IsInf(a, 0):
		return fmt.Errorf("area w·h overflows to +Inf")
	case a == 0 && w > 0 && h > 0:
		return fmt.Errorf("area w·h underflows to 0")
	case math.IsInf(b[0]+w, 0) || math.IsInf(b[1]+h, 0):
		return fmt.Errorf("x + w or y + h overflows")
	}
	return nil
}

// CheckResults checks that every result refers to an image and a category of d, and returns
// an ErrUnknownImage or ErrUnknownCategory error naming the first entry (0-based) that does
// not. pycocotools asserts on unknown images and silently drops unknown categories.
func (d *Dataset) CheckResults(rs []Result) error {
	images := make(map[int64]bool, len(d.Images))
	for _, im := range d.Images {
		images[im.ID] = true
	}
	for i, r := range rs {
		if !images[r.ImageID] {
			return fmt.Errorf("%w: entry %d: image_id %d is not in %s", ErrUnknownImage, i, r.ImageID, d.AnnotationPath)
		}
		if _, ok := d.labels[r.CategoryID]; !ok {
			return fmt.Errorf("%w: entry %d: category_id %d is not in %s", ErrUnknownCategory, i, r.CategoryID, d.AnnotationPath)
		}
	}
	return nil
}

// WriteResults writes rs to path atomically as a COCO results file, one detection per line.
// Numbers are written in the shortest form that reads back to the same float64, so
// ReadResults returns rs exactly. A box CheckResultBox refuses, or a non-finite score, is an
// error naming the entry; nothing is written then.
func WriteResults(path string, rs []Result) error {
	for i, r := range rs {
		if err := CheckResultBox(r.BBox); err != nil {
			return fmt.Errorf("%w: %s: entry %d: bbox %v: %v", ErrBadBox, path, i, r.BBox, err)
		}
		if math.IsNaN(r.Score) || math.IsInf(r.Score, 0) {
			return fmt.Errorf("%w: %s: entry %d: score = %v is not finite", ErrField, path, i, r.Score)
		}
	}
	err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		bw.WriteString("[")
		for i := range rs {
			b, err := json.Marshal(&rs[i])
			if err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString("\n  ")
			bw.Write(b)
		}
		if len(rs) > 0 {
			bw.WriteString("\n")
		}
		bw.WriteString("]\n")
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("coco: %w", err)
	}
	return nil
}
