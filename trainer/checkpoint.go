package trainer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/internal/atomicfile"
	tt "github.com/smoothl1/smoothl1/torchthread"
)

// A checkpoint file is
//
//	magic "SL1CKPT\n" | version uint32 LE | header length uint64 LE | header (JSON) |
//	tensor data (little-endian, row-major, at the offsets the header gives) | SHA-256 of all before
//
// The header holds the step, the run's configuration, the scheduler's own versioned state,
// the optimizer's step count and the metrics file's length at that step; the data holds every
// model variable and optimizer buffer bit for bit.
const (
	ckptMagic   = "SL1CKPT\n"
	ckptVersion = 1
)

// ErrCheckpoint is wrapped by every error about a checkpoint file's content.
var ErrCheckpoint = errors.New("trainer: bad checkpoint")

type tensorEntry struct {
	Name   string  `json:"name"`
	DType  string  `json:"dtype"` // "float32" or "float64"
	Shape  []int64 `json:"shape"`
	Offset int64   `json:"offset"`
	Bytes  int64   `json:"bytes"`
}

// checkpointHeader is the JSON header of a checkpoint.
type checkpointHeader struct {
	Step           int64           `json:"step"` // steps completed
	Config         json.RawMessage `json:"config"`
	Scheduler      json.RawMessage `json:"scheduler,omitempty"`
	OptimizerSteps int64           `json:"optimizer_steps"`
	MetricsBytes   int64           `json:"metrics_bytes"`
	NonFiniteRun   int             `json:"nonfinite_run"`
	// WorldSize is the number of ranks of a data-parallel run that wrote it; absent (0) for
	// one process, so that the checkpoints of one process keep their bytes.
	WorldSize int           `json:"world_size,omitempty"`
	Tensors   []tensorEntry `json:"tensors"`
}

// hostTensor is a tensor's content copied to the host.
type hostTensor struct {
	name  string
	shape []int64
	f32   []float32
	f64   []float64
}

// toHost copies a float tensor's values to the host exactly.
func toHost(name string, x *ts.Tensor) (hostTensor, error) {
	h := hostTensor{name: name, shape: tt.Must(x.Size())}
	n := x.Numel()
	switch x.DType() {
	case gotch.Float:
		h.f32 = make([]float32, n)
		if err := tt.CopyTo(h.f32, x); err != nil {
			return h, err
		}
	case gotch.Double:
		h.f64 = make([]float64, n)
		if err := tt.CopyTo(h.f64, x); err != nil {
			return h, err
		}
	default:
		return h, fmt.Errorf("trainer: checkpoint: tensor %s has dtype %v; only float32 and float64 are saved", name, x.DType())
	}
	return h, nil
}

func (h hostTensor) finite() bool {
	for _, v := range h.f32 {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	for _, v := range h.f64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// toTensor makes a new tensor holding h's values.
func (h hostTensor) toTensor() (*ts.Tensor, error) {
	if h.f32 != nil {
		return tt.FromSlice(h.f32, h.shape...)
	}
	return tt.FromSlice(h.f64, h.shape...)
}

// writeCheckpoint writes hdr and tensors to path atomically.
func writeCheckpoint(path string, hdr checkpointHeader, tensors []hostTensor) error {
	hdr.Tensors = hdr.Tensors[:0]
	var offset int64
	for _, h := range tensors {
		e := tensorEntry{Name: h.name, Shape: h.shape, Offset: offset, DType: "float32", Bytes: 4 * int64(len(h.f32))}
		if h.f32 == nil {
			e.DType, e.Bytes = "float64", 8*int64(len(h.f64))
		}
		offset += e.Bytes
		hdr.Tensors = append(hdr.Tensors, e)
	}
	hj, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	// The data is streamed through a small buffer: a checkpoint costs no more memory than the
	// host copies of the tensors.
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		sum := sha256.New()
		bw := bufio.NewWriterSize(io.MultiWriter(w, sum), 1<<16)
		var pre [20]byte
		copy(pre[:], ckptMagic)
		binary.LittleEndian.PutUint32(pre[8:], ckptVersion)
		binary.LittleEndian.PutUint64(pre[12:], uint64(len(hj)))
		bw.Write(pre[:])
		bw.Write(hj)
		var b [8]byte
		for _, h := range tensors {
			for _, v := range h.f32 {
				binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
				bw.Write(b[:4])
			}
			for _, v := range h.f64 {
				binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
				bw.Write(b[:])
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		_, err := w.Write(sum.Sum(nil))
		return err
	})
}

// VerifyCheckpoint reads the checkpoint file at path and checks its format and checksum. The
// error names the file and the problem, wrapping ErrCheckpoint (or the I/O error).
func VerifyCheckpoint(path string) error {
	_, _, err := readCheckpoint(path)
	return err
}

// readCheckpoint reads and verifies a checkpoint file. Every failure names the file and the
// problem, wrapping ErrCheckpoint (or the I/O error).
func readCheckpoint(path string) (checkpointHeader, map[string]hostTensor, error) {
	var hdr checkpointHeader
	raw, err := os.ReadFile(path)
	if err != nil {
		return hdr, nil, err
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w %s: %s", ErrCheckpoint, path, fmt.Sprintf(format, a...))
	}
	if len(raw) < 20+sha256.Size {
		return hdr, nil, bad("truncated (%d bytes)", len(raw))
	}
	if string(raw[:8]) != ckptMagic {
		return hdr, nil, bad("not a smoothl1 checkpoint (bad magic)")
	}
	body, sum := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if v := binary.LittleEndian.Uint32(raw[8:]); v != ckptVersion {
		return hdr, nil, bad("format version %d; this build reads version %d", v, ckptVersion)
	}
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return hdr, nil, bad("checksum mismatch: the file is truncated or corrupted")
	}
	hlen := binary.LittleEndian.Uint64(raw[12:])
	if hlen > uint64(len(body)-20) {
		return hdr, nil, bad("header length %d exceeds the file", hlen)
	}
	dec := json.NewDecoder(bytes.NewReader(body[20 : 20+hlen]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&hdr); err != nil {
		return hdr, nil, bad("header: %v", err)
	}
	if hdr.Config, err = canonicalJSON(hdr.Config); err != nil {
		return hdr, nil, bad("header: config: %v", err)
	}
	// The scheduler's state is read in the form writeCheckpoint writes it (json.Marshal
	// HTML-escapes raw JSON), so that a checkpoint read and written again keeps its header.
	if len(hdr.Scheduler) > 0 {
		if hdr.Scheduler, err = canonicalJSON(hdr.Scheduler); err != nil {
			return hdr, nil, bad("header: scheduler: %v", err)
		}
	}
	if hdr.WorldSize < 0 || hdr.WorldSize == 1 {
		return hdr, nil, bad("header: world size %d (absent for one process, else at least 2)", hdr.WorldSize)
	}
	data := body[20+hlen:]
	out := make(map[string]hostTensor, len(hdr.Tensors))
	for _, e := range hdr.Tensors {
		size := map[string]int64{"float32": 4, "float64": 8}[e.DType]
		if size == 0 {
			return hdr, nil, bad("tensor %s has dtype %q", e.Name, e.DType)
		}
		// The element count, bounded by the data before anything trusts it: a lying shape must
		// neither overflow n nor allocate more than the file holds.
		n := int64(1)
		if slices.Contains(e.Shape, 0) {
			n = 0
		}
		for _, d := range e.Shape {
			if d < 0 || n > 0 && n > int64(len(data))/size/d {
				return hdr, nil, bad("tensor %s has shape %v (%d data bytes)", e.Name, e.Shape, len(data))
			}
			n *= d
		}
		// n·size ≤ len(data), so e.Bytes is bounded once it equals it and nothing overflows.
		if e.Bytes != n*size || e.Offset < 0 || e.Offset > int64(len(data))-e.Bytes {
			return hdr, nil, bad("tensor %s: %d bytes at %d do not fit shape %v of %s in %d data bytes", e.Name, e.Bytes, e.Offset, e.Shape, e.DType, len(data))
		}
		if _, dup := out[e.Name]; dup {
			return hdr, nil, bad("tensor %s appears twice", e.Name)
		}
		h := hostTensor{name: e.Name, shape: e.Shape}
		r := bytes.NewReader(data[e.Offset : e.Offset+e.Bytes])
		if e.DType == "float32" {
			h.f32 = make([]float32, n)
			binary.Read(r, binary.LittleEndian, h.f32)
		} else {
			h.f64 = make([]float64, n)
			binary.Read(r, binary.LittleEndian, h.f64)
		}
		out[e.Name] = h
	}
	return hdr, out, nil
}

// sortedNames returns the keys of m in order.
func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
