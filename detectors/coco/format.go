package coco

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/smoothl1/smoothl1/internal/atomicfile"
)

// Instances is a COCO "instances" annotation file reduced to the fields a box detector uses.
// Other fields of the file (info, licenses, segmentation, …) are ignored when reading and not
// written.
type Instances struct {
	Images      []Image      `json:"images"`
	Annotations []Annotation `json:"annotations"`
	Categories  []Category   `json:"categories"`
}

// Image is one entry of a COCO file's "images": the file name is relative to the image
// folder given to Load; Width and Height are in pixels.
type Image struct {
	ID       int64  `json:"id"`
	FileName string `json:"file_name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

// Annotation is one entry of a COCO file's "annotations". BBox is COCO's [x, y, w, h] in
// pixels, (x, y) the top-left corner; Area is the object's area in pixels² (COCO: the
// segmentation's area); IsCrowd is 0 or 1.
type Annotation struct {
	ID         int64      `json:"id"`
	ImageID    int64      `json:"image_id"`
	CategoryID int64      `json:"category_id"`
	BBox       [4]float64 `json:"bbox"`
	Area       float64    `json:"area"`
	IsCrowd    int        `json:"iscrowd"`
}

// Category is one entry of a COCO file's "categories".
type Category struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// XYWHToXYXY converts COCO's [x, y, w, h] to [x1, y1, x2, y2]:
//
//	x1 = x,  y1 = y,  x2 = x + w,  y2 = y + h
func XYWHToXYXY(b [4]float64) [4]float64 {
	return [4]float64{b[0], b[1], b[0] + b[2], b[1] + b[3]}
}

// XYXYToXYWH converts [x1, y1, x2, y2] to COCO's [x, y, w, h], the inverse of XYWHToXYXY:
//
//	x = x1,  y = y1,  w = x2 − x1,  h = y2 − y1
func XYXYToXYWH(b [4]float64) [4]float64 {
	return [4]float64{b[0], b[1], b[2] - b[0], b[3] - b[1]}
}

// WriteInstances writes inst to path atomically (temporary file, fsync, rename) as JSON with
// one image, annotation or category per line, so that files diff well and the line numbers in
// Load's errors point at one record. The output is a function of inst alone. Non-finite
// numbers cannot be written and return an error.
func WriteInstances(path string, inst *Instances) error {
	err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		bw.WriteString("{\n")
		if err := writeArray(bw, "images", inst.Images, ",\n"); err != nil {
			return err
		}
		if err := writeArray(bw, "annotations", inst.Annotations, ",\n"); err != nil {
			return err
		}
		if err := writeArray(bw, "categories", inst.Categories, "\n"); err != nil {
			return err
		}
		bw.WriteString("}\n")
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("coco: %w", err)
	}
	return nil
}

func writeArray[T any](w *bufio.Writer, name string, items []T, end string) error {
	fmt.Fprintf(w, "%q: [", name)
	for i := range items {
		b, err := json.Marshal(&items[i])
		if err != nil {
			return fmt.Errorf("%s[%d]: %w", name, i, err)
		}
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString("\n  ")
		w.Write(b)
	}
	if len(items) > 0 {
		w.WriteString("\n")
	}
	w.WriteString("]" + end)
	return nil
}

// The reading side. Pointers tell a missing field from a zero one.

type rawFile struct {
	Images      []rawImage      `json:"images"`
	Annotations []rawAnnotation `json:"annotations"`
	Categories  []rawCategory   `json:"categories"`
}

type rawImage struct {
	ID       *int64  `json:"id"`
	FileName *string `json:"file_name"`
	Width    *int    `json:"width"`
	Height   *int    `json:"height"`
}

type rawAnnotation struct {
	ID         *int64         `json:"id"`
	ImageID    *int64         `json:"image_id"`
	CategoryID *int64         `json:"category_id"`
	BBox       []lenientFloat `json:"bbox"`
	Area       *lenientFloat  `json:"area"`
	IsCrowd    *int           `json:"iscrowd"`
}

type rawCategory struct {
	ID   *int64 `json:"id"`
	Name string `json:"name"`
}

// lenientFloat decodes any JSON value without failing: a number (an overflowing one such as
// 1e999 becomes ±Inf, as Python reads it), one of the placeholders nonFiniteTokens writes
// for Python's NaN, Infinity and -Infinity, or anything else, which is recorded in bad so
// that validation can name the annotation.
type lenientFloat struct {
	v   float64
	bad string
}

func (f *lenientFloat) UnmarshalJSON(b []byte) error {
	switch s := string(b); s {
	case nanPlaceholder:
		f.v = math.NaN()
	case infPlaceholder:
		f.v = math.Inf(1)
	case negInfPlaceholder:
		f.v = math.Inf(-1)
	default:
		if s == "" || s[0] != '-' && (s[0] < '0' || s[0] > '9') {
			// A string, object, array, bool or null: not a number.
			f.bad = s
			if len(f.bad) > 20 {
				f.bad = f.bad[:20] + "…"
			}
			return nil
		}
		// The decoder has checked the JSON number grammar, so the only possible error is
		// ErrRange, with v = ±Inf for an overflow and ±0 for an underflow.
		f.v, _ = strconv.ParseFloat(s, 64)
	}
	return nil
}

// Same-length stand-ins for the bare tokens NaN, Infinity and -Infinity, which Python's json
// module writes by default and Go's encoding/json rejects. Keeping the length keeps every
// byte offset, so syntax errors still point at the right line and column.
const (
	nanPlaceholder    = `"N"`       // NaN
	infPlaceholder    = `"Infini"`  // Infinity
	negInfPlaceholder = `"-Infini"` // -Infinity
)

// nonFiniteTokens replaces, outside strings, the bare tokens NaN, Infinity and -Infinity by
// same-length JSON strings that lenientFloat understands. Valid JSON holds no such token, so
// valid input is returned unchanged (and not copied).
func nonFiniteTokens(data []byte) []byte {
	if !bytes.Contains(data, []byte("NaN")) && !bytes.Contains(data, []byte("Infinity")) {
		return data
	}
	out := bytes.Clone(data)
	inString := false
	for i := 0; i < len(out); i++ {
		c := out[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch {
		case c == '"':
			inString = true
		case bytes.HasPrefix(out[i:], []byte("NaN")):
			copy(out[i:], nanPlaceholder)
			i += len(nanPlaceholder) - 1
		case bytes.HasPrefix(out[i:], []byte("-Infinity")):
			copy(out[i:], negInfPlaceholder)
			i += len(negInfPlaceholder) - 1
		case bytes.HasPrefix(out[i:], []byte("Infinity")):
			copy(out[i:], infPlaceholder)
			i += len(infPlaceholder) - 1
		}
	}
	return out
}

// decodeJSON unmarshals data into v; a syntax or type error becomes an ErrSyntax error
// naming path and the 1-based line:column (in bytes) of the byte where the decoder stopped.
func decodeJSON(path string, data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := lineCol(data, se.Offset)
		return fmt.Errorf("%w: %s:%d:%d: %v", ErrSyntax, path, line, col, se)
	case errors.As(err, &te):
		line, col := lineCol(data, te.Offset)
		return fmt.Errorf("%w: %s:%d:%d: %s holds a JSON %s, want %s",
			ErrSyntax, path, line, col, te.Field, te.Value, te.Type)
	}
	return fmt.Errorf("%w: %s: %v", ErrSyntax, path, err)
}

// lineCol turns the decoder's offset ("error after reading offset bytes") into the 1-based
// line and byte column of the last byte read.
func lineCol(data []byte, offset int64) (line, col int) {
	pos := int(min(max(offset-1, 0), int64(len(data))))
	before := data[:pos]
	line = 1 + bytes.Count(before, []byte{'\n'})
	col = pos - bytes.LastIndexByte(before, '\n')
	return line, col
}

// readFile is os.ReadFile with the package's error prefix.
func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("coco: %w", err)
	}
	return data, nil
}
