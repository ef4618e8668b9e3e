package bench

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/smoothl1/smoothl1/internal/atomicfile"
)

// The twin exchange file (rows 6 and 7) carries the Go side's initial weights and one batch to
// a PyTorch twin. Layout, little-endian:
//
//	8 bytes   magic "SL1TWIN1"
//	4 bytes   uint32 length H of the header
//	H bytes   JSON header: {"meta": {...}, "arrays": [{"name", "shape", "offset"}, ...]}
//	...       the arrays' float32 values, row-major, each at its offset from the data's start
//
// bench/twins/twinfile.py reads it.
const twinMagic = "SL1TWIN1"

// maxTwinHeader bounds the header a reader accepts.
const maxTwinHeader = 1 << 24

// Array is one named float32 array of a twin exchange file.
type Array struct {
	Name  string
	Shape []int64
	Data  []float32 // row-major; len(Data) is the product of Shape
}

type twinArrayHeader struct {
	Name   string  `json:"name"`
	Shape  []int64 `json:"shape"`
	Offset int64   `json:"offset"` // bytes from the start of the data
}

type twinHeader struct {
	Meta   json.RawMessage   `json:"meta"`
	Arrays []twinArrayHeader `json:"arrays"`
}

// elements returns the product of shape, or an error for a negative or overflowing dimension.
func elements(shape []int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return 0, fmt.Errorf("shape %v: want dimensions ≥ 0 and fewer than 2³¹ elements", shape)
		}
		n *= d
	}
	return n, nil
}

// WriteArrays writes meta (marshalled to a JSON object) and arrays to path as a twin exchange
// file, atomically. Names must be unique and non-empty, and every Data as long as its Shape
// says.
func WriteArrays(path string, meta any, arrays []Array) error {
	m, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("bench: twin file %s: meta: %w", path, err)
	}
	if meta == nil {
		m = []byte("{}")
	}
	h := twinHeader{Meta: m}
	seen := map[string]bool{}
	var off int64
	for _, a := range arrays {
		n, err := elements(a.Shape)
		switch {
		case err != nil:
			return fmt.Errorf("bench: twin file %s: array %q: %w", path, a.Name, err)
		case a.Name == "" || seen[a.Name]:
			return fmt.Errorf("bench: twin file %s: array name %q: want unique, non-empty names", path, a.Name)
		case int64(len(a.Data)) != n:
			return fmt.Errorf("bench: twin file %s: array %q: %d values for shape %v (%d)", path, a.Name, len(a.Data), a.Shape, n)
		}
		seen[a.Name] = true
		h.Arrays = append(h.Arrays, twinArrayHeader{Name: a.Name, Shape: a.Shape, Offset: off})
		off += 4 * n
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("bench: twin file %s: %w", path, err)
	}
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		var pre [12]byte
		copy(pre[:], twinMagic)
		binary.LittleEndian.PutUint32(pre[8:], uint32(len(hb)))
		if _, err := w.Write(pre[:]); err != nil {
			return err
		}
		if _, err := w.Write(hb); err != nil {
			return err
		}
		for _, a := range arrays {
			buf := make([]byte, 4*len(a.Data))
			for i, v := range a.Data {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReadArrays reads a twin exchange file written by WriteArrays: its meta object (raw JSON) and
// its arrays in the written order. A file that is not one, is truncated, or has trailing
// bytes, overlapping or out-of-range arrays, gives an error naming the problem.
func ReadArrays(path string) (meta json.RawMessage, arrays []Array, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("bench: twin file: %w", err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("bench: twin file %s: %s", path, fmt.Sprintf(format, args...))
	}
	if len(b) < 12 || string(b[:8]) != twinMagic {
		return nil, nil, bad("not a twin exchange file (no %q magic)", twinMagic)
	}
	hl := int64(binary.LittleEndian.Uint32(b[8:12]))
	if hl > maxTwinHeader || 12+hl > int64(len(b)) {
		return nil, nil, bad("header of %d bytes in a file of %d: truncated or corrupt", hl, len(b))
	}
	var h twinHeader
	dec := json.NewDecoder(bytes.NewReader(b[12 : 12+hl]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, nil, bad("header: %v", err)
	}
	if len(h.Meta) == 0 || h.Meta[0] != '{' {
		return nil, nil, bad("header: meta is not a JSON object")
	}
	data := b[12+hl:]
	var next int64
	for _, ah := range h.Arrays {
		n, err := elements(ah.Shape)
		if err != nil {
			return nil, nil, bad("array %q: %v", ah.Name, err)
		}
		if ah.Offset != next {
			return nil, nil, bad("array %q at offset %d: want %d (arrays are packed in order)", ah.Name, ah.Offset, next)
		}
		end := ah.Offset + 4*n
		if end > int64(len(data)) {
			return nil, nil, bad("array %q ends at byte %d of %d data bytes: truncated", ah.Name, end, len(data))
		}
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[ah.Offset+4*int64(i):]))
		}
		arrays = append(arrays, Array{Name: ah.Name, Shape: ah.Shape, Data: vals})
		next = end
	}
	if next != int64(len(data)) {
		return nil, nil, bad("%d bytes after the last array", int64(len(data))-next)
	}
	return h.Meta, arrays, nil
}

var (
	errNoTorch       = errors.New("skipped: python3-torch not installed")
	errNoTorchvision = errors.New("skipped: python3-torchvision not installed")
)
