package trainer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/regress"
	"github.com/smoothl1/smoothl1/static"
	"github.com/smoothl1/smoothl1/tensorloss"
)

// FuzzReadCheckpoint writes arbitrary bytes to a file and reads it as a checkpoint. The fuzzed
// bytes are the file without its trailing SHA-256; with sealed the right hash is appended, so
// that mutations reach the header and tensor checks instead of stopping at the checksum, and
// without it the bytes are the whole file.
//
// Invariants: no panic, and no allocation beyond what the file holds (a lying shape, offset or
// length must fail, not allocate); an error wraps ErrCheckpoint and names the file; a
// checkpoint that reads has one tensor per header entry, each with as many values as its
// shape, of its dtype, and encoding to exactly its bytes of the file; written again by
// writeCheckpoint it reads back to the same header and tensors, bit for bit.
func FuzzReadCheckpoint(f *testing.F) {
	dir := fuzzDir(f)
	for _, file := range checkpointSeeds(f, dir) {
		body := file[:len(file)-sha256.Size]
		f.Add(body, true)
		f.Add(file, false)
		f.Add(body[:len(body)/2], true)
		f.Add(body[:len(body)-3], true)
		flipped := bytes.Clone(body)
		flipped[len(flipped)*2/3] ^= 0x10
		f.Add(flipped, true)
	}
	// Hand-made headers with lying shapes, offsets and lengths.
	for _, h := range []string{
		`{"step":1,"config":{},"tensors":[{"name":"a","dtype":"float32","shape":[4294967296,4294967296],"offset":0,"bytes":0}]}`,
		`{"step":1,"config":{},"tensors":[{"name":"a","dtype":"float32","shape":[4611686018427387904,2],"offset":0,"bytes":0}]}`,
		`{"step":1,"config":{},"tensors":[{"name":"a","dtype":"float32","shape":[1],"offset":9223372036854775807,"bytes":4}]}`,
		`{"step":1,"config":{},"tensors":[{"name":"a","dtype":"float64","shape":[1],"offset":-8,"bytes":8}]}`,
		`{"step":1,"config":{},"tensors":[{"name":"a","dtype":"float64","shape":[0,9223372036854775807],"offset":0,"bytes":0}]}`,
		`{"step":1,"config":{},"tensors":[{"name":"a","dtype":"float64","shape":[],"offset":0,"bytes":8},{"name":"a","dtype":"float32","shape":[2],"offset":0,"bytes":8}]}`,
		`{"step":1,"config":{},"tensors":[{"name":"a","dtype":"int8","shape":[8],"offset":0,"bytes":8}]}`,
		`{"step":1,"tensors":[],"extra":1}`,
		// Raw JSON that json.Marshal would rewrite (HTML escaping, U+2028) must keep its bytes.
		"{\"step\":1,\"config\":{\"a\":\"<&>\u2028\"},\"scheduler\":{\"init>beta\":1},\"tensors\":[{\"name\":\"a\",\"dtype\":\"float64\",\"shape\":[2],\"offset\":0,\"bytes\":16}]}",
	} {
		f.Add(rawCheckpoint(uint64(len(h)), []byte(h), make([]byte, 16)), true)
	}
	f.Add(rawCheckpoint(1<<62, []byte(`{}`), nil), true) // a header length beyond the file
	f.Add([]byte(nil), false)

	path := filepath.Join(dir, "fuzz.ckpt")
	again := filepath.Join(dir, "again.ckpt")
	f.Fuzz(func(t *testing.T, body []byte, sealed bool) {
		file := body
		if sealed {
			sum := sha256.Sum256(body)
			file = append(bytes.Clone(body), sum[:]...)
		}
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		hdr, tensors, err := readCheckpoint(path)
		runtime.ReadMemStats(&after)
		// The file read, the values and binary.Read's buffer: a few times the file, never more.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 16*uint64(len(file))+1<<20 {
			t.Fatalf("reading a %d-byte file allocated %d bytes", len(file), grew)
		}
		if err != nil {
			if !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not wrap ErrCheckpoint or does not name the file", err)
			}
			return
		}
		hlen := binary.LittleEndian.Uint64(file[12:])
		data := file[20+hlen : len(file)-sha256.Size]
		if len(tensors) != len(hdr.Tensors) {
			t.Fatalf("%d tensors for %d header entries", len(tensors), len(hdr.Tensors))
		}
		var list []hostTensor
		for _, e := range hdr.Tensors {
			h, ok := tensors[e.Name]
			if !ok {
				t.Fatalf("tensor %s of the header was not read", e.Name)
			}
			n := int64(1) // the element count, which must not overflow
			for _, d := range e.Shape {
				hi, lo := bits.Mul64(uint64(n), uint64(d))
				if hi != 0 || lo > math.MaxInt64 {
					n = -1
					break
				}
				n = int64(lo)
			}
			if slices.Contains(e.Shape, 0) {
				n = 0
			}
			if n < 0 {
				t.Fatalf("tensor %s: shape %v accepted, its element count overflows", e.Name, e.Shape)
			}
			var enc bytes.Buffer
			switch {
			case e.DType == "float32" && h.f64 == nil && int64(len(h.f32)) == n:
				binary.Write(&enc, binary.LittleEndian, h.f32)
			case e.DType == "float64" && h.f32 == nil && int64(len(h.f64)) == n:
				binary.Write(&enc, binary.LittleEndian, h.f64)
			default:
				t.Fatalf("tensor %s (%s %v): %d float32 and %d float64 values", e.Name, e.DType, e.Shape, len(h.f32), len(h.f64))
			}
			if !bytes.Equal(enc.Bytes(), data[e.Offset:e.Offset+e.Bytes]) {
				t.Fatalf("tensor %s: values do not encode to its bytes", e.Name)
			}
			list = append(list, h)
		}
		if err := writeCheckpoint(again, hdr, list); err != nil {
			t.Fatalf("writing a checkpoint that read: %v", err)
		}
		hdr2, tensors2, err := readCheckpoint(again)
		if err != nil {
			t.Fatalf("a checkpoint written from one that read does not read: %v", err)
		}
		if !sameHeader(hdr, hdr2) {
			t.Fatalf("header changed through write and read:\n%+v\n%+v", hdr, hdr2)
		}
		if !reflect.DeepEqual(bitsOf(tensors), bitsOf(tensors2)) {
			t.Fatal("tensors changed through write and read")
		}
	})
}

// checkpointSeeds returns real checkpoint files: the last checkpoint of a short training run
// with a β scheduler (libtorch, once per fuzzing process) written again without its weight
// matrices (68 kB of floats make every execution and minimization slow; its header, biases and
// their AdamW buffers are kept), and files of writeCheckpoint with host tensors of both
// dtypes, a scalar and an empty shape.
func checkpointSeeds(f *testing.F, dir string) [][]byte {
	var files [][]byte
	task, err := regress.New(3, regress.NoiseHeavy, 16)
	if err != nil {
		f.Fatal(err)
	}
	task.TestSize = 32
	sch, err := dynamic.NewDynamicRCNN(dynamic.DynamicRCNNConfig{K: 4, Interval: 3}, 4)
	if err != nil {
		f.Fatal(err)
	}
	loss, err := tensorloss.NewDynamicLoss(sch, static.Mean)
	if err != nil {
		f.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	cfg := Config{Dir: run, Steps: 4, Seed: 7, CheckpointEvery: 4,
		Optimizer: OptimizerConfig{Kind: AdamW, WeightDecay: 1e-4},
		Schedule:  Schedule{Base: 3e-3, Warmup: 1, Decay: Cosine}, ClipNorm: 5,
		Identity: json.RawMessage(`{"fuzz":1}`), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Progress: io.Discard}
	if _, err := Run(context.Background(), cfg, task, loss); err != nil {
		f.Fatal(err)
	}
	runHdr, runTensors, err := readCheckpoint(filepath.Join(run, CheckpointFile))
	if err != nil {
		f.Fatal(err)
	}
	var small []hostTensor
	for _, name := range sortedNames(runTensors) {
		if h := runTensors[name]; len(h.f32)+len(h.f64) <= 64 {
			small = append(small, h)
		}
	}
	if len(small) == 0 {
		f.Fatal("the run's checkpoint has no tensor of at most 64 values")
	}

	state, _ := sch.State()
	for i, c := range []struct {
		hdr     checkpointHeader
		tensors []hostTensor
	}{
		{runHdr, small},
		{checkpointHeader{Step: 0, Config: json.RawMessage(`{}`)}, nil},
		{checkpointHeader{Step: 12, Config: json.RawMessage(`{"task":"regress","seed":1}`), Scheduler: state,
			OptimizerSteps: 12, MetricsBytes: 4096, NonFiniteRun: 1}, []hostTensor{
			{name: "model.w", shape: []int64{2, 3}, f32: []float32{1, -2, 3.5, 0, float32(math.SmallestNonzeroFloat32), -0}},
			{name: "model.b", shape: []int64{}, f64: []float64{math.Pi}},
			{name: "adamw.m.w", shape: []int64{0, 3}, f32: []float32{}},
		}},
	} {
		p := filepath.Join(dir, "seed.ckpt")
		if err := writeCheckpoint(p, c.hdr, c.tensors); err != nil {
			f.Fatalf("seed %d: %v", i, err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		files = append(files, b)
	}
	return files
}

// fuzzDir returns a folder for the fuzzed files: in /dev/shm when it exists, so that the fsync
// of every checkpoint written back costs no disk write, else in the test's temporary folder.
func fuzzDir(f *testing.F) string {
	dir, err := os.MkdirTemp("/dev/shm", "smoothl1-fuzz-")
	if err != nil {
		return f.TempDir()
	}
	f.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// rawCheckpoint assembles a checkpoint body (no hash) with a header length that may lie.
func rawCheckpoint(hlen uint64, header, data []byte) []byte {
	var pre [20]byte
	copy(pre[:], ckptMagic)
	binary.LittleEndian.PutUint32(pre[8:], ckptVersion)
	binary.LittleEndian.PutUint64(pre[12:], hlen)
	return append(append(pre[:], header...), data...)
}

// sameHeader compares two headers but the tensor entries (whose offsets writeCheckpoint
// chooses), their raw JSON compacted and a missing value taken as null.
func sameHeader(a, b checkpointHeader) bool {
	raw := func(m json.RawMessage) string {
		if len(m) == 0 {
			return "null"
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, m); err != nil {
			return "invalid: " + string(m)
		}
		return buf.String()
	}
	return a.Step == b.Step && a.OptimizerSteps == b.OptimizerSteps && a.MetricsBytes == b.MetricsBytes &&
		a.NonFiniteRun == b.NonFiniteRun && a.WorldSize == b.WorldSize && raw(a.Config) == raw(b.Config) && raw(a.Scheduler) == raw(b.Scheduler)
}

// bitsOf maps tensors to their shapes and the bits of their values, so that NaNs compare.
func bitsOf(m map[string]hostTensor) map[string]any {
	out := map[string]any{}
	for n, h := range m {
		bits := []uint64{}
		for _, v := range h.f32 {
			bits = append(bits, uint64(math.Float32bits(v)))
		}
		for _, v := range h.f64 {
			bits = append(bits, math.Float64bits(v))
		}
		out[n] = []any{append([]int64{}, h.shape...), h.f32 != nil, bits}
	}
	return out
}
