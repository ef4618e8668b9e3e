package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tt "github.com/smoothl1/smoothl1/torchthread"
)

func TestArraysRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.twin")
	in := []Array{
		{Name: "w", Shape: []int64{2, 3}, Data: []float32{1, -2, 3.5, float32(math.Inf(1)), 0, -0.125}},
		{Name: "scalar", Shape: []int64{}, Data: []float32{42}},
		{Name: "empty", Shape: []int64{0, 4}, Data: nil},
		{Name: "b", Shape: []int64{2}, Data: []float32{math.SmallestNonzeroFloat32, math.MaxFloat32}},
	}
	if err := WriteArrays(path, map[string]any{"lr": 2e-3, "threads": 1}, in); err != nil {
		t.Fatal(err)
	}
	meta, out, err := ReadArrays(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]float64
	if err := json.Unmarshal(meta, &m); err != nil || m["lr"] != 2e-3 || m["threads"] != 1 {
		t.Errorf("meta %s: %v", meta, err)
	}
	if len(out) != len(in) {
		t.Fatalf("%d arrays back, want %d", len(out), len(in))
	}
	for i := range in {
		if out[i].Name != in[i].Name || !slices.Equal(out[i].Shape, in[i].Shape) || len(out[i].Data) != len(in[i].Data) {
			t.Errorf("array %d: %+v, want %+v", i, out[i], in[i])
			continue
		}
		for j := range in[i].Data {
			if math.Float32bits(out[i].Data[j]) != math.Float32bits(in[i].Data[j]) {
				t.Errorf("%s[%d] = %v, want %v bit for bit", in[i].Name, j, out[i].Data[j], in[i].Data[j])
			}
		}
	}
	// No temporary file is left beside it.
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("%d entries in the folder, want the file alone", len(ents))
	}
}

func TestWriteArraysRefuses(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name   string
		arrays []Array
	}{
		{"short data", []Array{{Name: "a", Shape: []int64{2, 2}, Data: []float32{1, 2, 3}}}},
		{"negative dimension", []Array{{Name: "a", Shape: []int64{-1}, Data: nil}}},
		{"duplicate name", []Array{{Name: "a", Shape: []int64{1}, Data: []float32{1}}, {Name: "a", Shape: []int64{1}, Data: []float32{2}}}},
		{"empty name", []Array{{Shape: []int64{1}, Data: []float32{1}}}},
	}
	for _, c := range cases {
		path := filepath.Join(dir, "bad.twin")
		if err := WriteArrays(path, nil, c.arrays); err == nil {
			t.Errorf("%s: no error", c.name)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s: a file was written", c.name)
		}
	}
}

func TestReadArraysRefuses(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.twin")
	if err := WriteArrays(good, nil, []Array{{Name: "a", Shape: []int64{3}, Data: []float32{1, 2, 3}}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	hl := binary.LittleEndian.Uint32(b[8:12])
	header := func(h string) []byte {
		out := append([]byte(twinMagic), 0, 0, 0, 0)
		binary.LittleEndian.PutUint32(out[8:], uint32(len(h)))
		return append(append(out, h...), make([]byte, 12)...)
	}
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"empty", "not a twin exchange file", nil},
		{"other magic", "not a twin exchange file", append([]byte("NOTATWIN"), b[8:]...)},
		{"truncated data", "truncated", b[:len(b)-1]},
		{"trailing bytes", "bytes after the last array", append(slices.Clone(b), 0, 0, 0, 0)},
		{"header past the end", "truncated or corrupt", b[:12+hl-1]},
		{"bad JSON", "header", header(`{"meta": {}, "arrays": [`)},
		{"unknown field", "header", header(`{"meta": {}, "arrays": [], "extra": 1}`)},
		{"meta not an object", "meta", header(`{"meta": 3, "arrays": [{"name": "a", "shape": [3], "offset": 0}]}`)},
		{"gap", "offset", header(`{"meta": {}, "arrays": [{"name": "a", "shape": [1], "offset": 4}]}`)},
		{"negative shape", "shape", header(`{"meta": {}, "arrays": [{"name": "a", "shape": [-3], "offset": 0}]}`)},
	}
	for _, c := range cases {
		path := filepath.Join(dir, "bad.twin")
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ReadArrays(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one saying %q", c.name, err, c.want)
		}
	}
	if _, _, err := ReadArrays(filepath.Join(dir, "absent.twin")); err == nil {
		t.Error("absent file: no error")
	}
}

func TestTwinCheck(t *testing.T) {
	ours := twinHello{Params: 5508, Loss0: 0.680414855, Loss1: 0.666717052}
	if desc, err := twinCheck(ours, ours); err != nil || !strings.Contains(desc, "5508") {
		t.Errorf("equal: %q, %v", desc, err)
	}
	near := twinHello{Params: 5508, Loss0: ours.Loss0 * (1 + 2e-6), Loss1: ours.Loss1 * (1 - 5e-5)}
	if _, err := twinCheck(ours, near); err != nil {
		t.Errorf("within tolerance: %v", err)
	}
	for name, c := range map[string]struct {
		twin twinHello
		want string
	}{
		"params":  {twinHello{Params: 5509, Loss0: ours.Loss0, Loss1: ours.Loss1}, "parameter counts differ"},
		"loss0":   {twinHello{Params: 5508, Loss0: ours.Loss0 * (1 + 1e-4), Loss1: ours.Loss1}, "step-0 losses differ"},
		"loss1":   {twinHello{Params: 5508, Loss0: ours.Loss0, Loss1: ours.Loss1 * 1.01}, "after one step differ"},
		"NaN":     {twinHello{Params: 5508, Loss0: math.NaN(), Loss1: ours.Loss1}, "step-0 losses differ"},
		"missing": {twinHello{}, "parameter counts differ"},
	} {
		if _, err := twinCheck(ours, c.twin); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}

	// Row 7: the twin's own targets against ours.
	ours.Targets = &twinTargets{Anchors: 48384, Positives: 255}
	same := ours
	same.Targets = &twinTargets{Anchors: 48384, Positives: 255, MaxDeltaDiff: 6e-8}
	if desc, err := twinCheck(ours, same); err != nil || !strings.Contains(desc, "255 / 255 positives, 0 mismatched") {
		t.Errorf("equal targets: %q, %v", desc, err)
	}
	for name, c := range map[string]struct {
		targets *twinTargets
		want    string
	}{
		"none":      {nil, "no check of its own targets"},
		"positives": {&twinTargets{Anchors: 48384, Positives: 254, MaxDeltaDiff: -1}, "254 positives"},
		"anchors":   {&twinTargets{Anchors: 48383, Positives: 255}, "48383 anchors"},
		"labels":    {&twinTargets{Anchors: 48384, Positives: 255, LabelMismatches: 1}, "labels 1 anchors otherwise"},
		"deltas":    {&twinTargets{Anchors: 48384, Positives: 255, MaxDeltaDiff: 1e-4}, "differ from ours by up to 0.0001"},
		"NaN delta": {&twinTargets{Anchors: 48384, Positives: 255, MaxDeltaDiff: math.NaN()}, "differ from ours by up to NaN"},
	} {
		tw := ours
		tw.Targets = c.targets
		if _, err := twinCheck(ours, tw); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("targets %s: err = %v, want %q", name, err, c.want)
		}
	}
}

// TestMeasureSample checks that a Case with Sample is timed by it (with the iterations asked)
// and that its errors name the case.
func TestMeasureSample(t *testing.T) {
	var asked []int
	c := Case{Name: "remote", Sample: func(iters int) (float64, error) {
		asked = append(asked, iters)
		return 0.5 * float64(iters), nil
	}}
	secs, err := measure(context.Background(), sampling{reps: 2, rounds: 2, warmup: 1, minSample: time.Second, clock: WallClock}, []Case{c})
	if err != nil {
		t.Fatal(err)
	}
	// Warm-up of one op at 0.5 s: two ops make a sample of 1 s.
	if want := []int{1, 2, 2, 2, 2}; !slices.Equal(asked, want) {
		t.Errorf("iterations asked %v, want %v", asked, want)
	}
	if !slices.Equal(secs[0], []float64{0.5, 0.5}) {
		t.Errorf("secs %v, want 0.5 per op", secs[0])
	}
}

// fakeTwin writes a shell script that speaks the twin protocol with the given hello, and makes
// it the twin interpreter for the test.
func fakeTwin(t *testing.T, hello string) {
	t.Helper()
	script := filepath.Join(t.TempDir(), "python3")
	body := "#!/bin/sh\necho '" + hello + "'\nwhile read cmd k; do\n  [ \"$cmd\" = quit ] && exit 0\n  echo '{\"seconds\": 0.001}'\ndone\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	prev := TwinPython
	TwinPython = script
	t.Cleanup(func() { TwinPython = prev })
}

// TestRegressGoSide checks row 6's Go half without Python: the exchange file holds the
// MLP's weights and the batch, the parameter count is the MLP's, the losses are finite and
// the step lowers the loss on its batch; a twin that answers with other values fails the
// check, one that agrees gives the two cases.
func TestRegressGoSide(t *testing.T) {
	dir := t.TempDir()
	var g *goSide
	err := tt.Do(func() error {
		var err error
		g, err = regressSide(dir)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tt.Do(func() error { g.free(); return nil })
	const params = 16*64 + 64 + 64*64 + 64 + 64*4 + 4
	if g.hello.Params != params {
		t.Errorf("params %d, want %d", g.hello.Params, params)
	}
	if !(g.hello.Loss0 > 0) || !(g.hello.Loss1 > 0) || !(g.hello.Loss1 < g.hello.Loss0) || math.IsInf(g.hello.Loss0, 0) {
		t.Errorf("losses %v then %v: want finite, positive, lower after the step", g.hello.Loss0, g.hello.Loss1)
	}
	meta, arrays, err := ReadArrays(g.file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]float64
	if err := json.Unmarshal(meta, &m); err != nil || m["beta"] != regressBeta || m["clip"] != regressClip || m["lr"] != regressLR || m["threads"] != 1 {
		t.Errorf("meta %s (%v)", meta, err)
	}
	shapes := map[string][]int64{}
	var n int64
	for _, a := range arrays {
		shapes[a.Name] = a.Shape
		if a.Name != "x" && a.Name != "y" {
			n += int64(len(a.Data))
		}
	}
	want := map[string][]int64{"fc1.weight": {64, 16}, "fc1.bias": {64}, "fc2.weight": {64, 64}, "fc2.bias": {64},
		"out.weight": {4, 64}, "out.bias": {4}, "x": {regressBatch, 16}, "y": {regressBatch, 4}}
	for k, s := range want {
		if !slices.Equal(shapes[k], s) {
			t.Errorf("%s: shape %v, want %v", k, shapes[k], s)
		}
	}
	if len(shapes) != len(want) || n != params {
		t.Errorf("arrays %v holding %d parameters", shapes, n)
	}

	hello := func(h twinHello) string { b, _ := json.Marshal(h); return string(b) }
	bad := g.hello
	bad.Loss0 *= 1.001
	fakeTwin(t, hello(bad))
	err = tt.Do(func() error {
		_, check, _, err := twinCases(t.TempDir(), "regress.py", WallClock, regressSide)
		if err == nil || !strings.Contains(err.Error(), "step-0 losses differ") || check == "" {
			t.Errorf("mismatching twin: err = %v, check %q", err, check)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Through the table: a failed line with the check in its note, and Report.Failed names it.
	fakeTwin(t, hello(bad))
	var progress bytes.Buffer
	r := runner{ctx: context.Background(), o: Options{Progress: &progress}, sp: sampling{reps: 1, rounds: 1, clock: WallClock}}
	torchOnce, torchOK = sync.Once{}, false // the fake imports "torch"
	t.Cleanup(func() { torchOnce, torchOK = sync.Once{}, false })
	lines, err := r.twinRow(6, "x", regressBatch, 1, false, nil, nil, func(dir string) ([]Case, string, func(), error) {
		return twinCases(dir, "regress.py", WallClock, regressSide)
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := Report{Results: lines}
	if len(lines) != 1 || !strings.HasPrefix(lines[0].Status, "FAILED: twin mismatch") || *lines[0].Met ||
		!strings.Contains(lines[0].Note, "twin check") || len(rep.Failed()) != 1 || !strings.Contains(progress.String(), "FAILED") {
		t.Errorf("mismatch through the table: %+v; progress %q", lines, progress.String())
	}
	fakeTwin(t, hello(g.hello))
	err = tt.Do(func() error {
		cases, check, free, err := twinCases(t.TempDir(), "regress.py", WallClock, regressSide)
		if err != nil {
			return err
		}
		defer free()
		if len(cases) != 2 || cases[0].Sample == nil || cases[1].Op == nil || !strings.Contains(check, "params") {
			t.Errorf("cases %+v, check %q", cases, check)
		}
		secs, err := cases[0].Sample(3)
		if err != nil || secs != 0.001 {
			t.Errorf("twin sample: %v, %v", secs, err)
		}
		return cases[1].Op()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDetectorGoSide checks row 7's Go half without Python: the exchange file holds every
// parameter of the network and step 0's images and targets, consistent with each other.
func TestDetectorGoSide(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a dataset and runs detector steps")
	}
	var g *goSide
	err := tt.Do(func() error {
		var err error
		g, err = detectorSide(t.TempDir())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tt.Do(func() error { g.free(); return nil })
	if !(g.hello.Loss0 > 0) || !(g.hello.Loss1 > 0) || math.IsInf(g.hello.Loss0+g.hello.Loss1, 0) || g.hello.Params < 100000 {
		t.Errorf("hello %+v", g.hello)
	}
	_, arrays, err := ReadArrays(g.file)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Array{}
	var n int64
	for _, a := range arrays {
		by[a.Name] = a
		switch a.Name {
		case "images", "cls", "valid", "pos", "deltas", "pixels", "lut":
		default:
			n += int64(len(a.Data))
		}
	}
	if n != g.hello.Params {
		t.Errorf("the file holds %d parameters, the hello says %d", n, g.hello.Params)
	}
	for _, name := range []string{"backbone.s0.down.weight", "backbone.s0.down.gn_weight", "fpn.lateral0.weight", "head.cls0.weight", "head.cls_logits.bias", "head.box_deltas.weight"} {
		if _, ok := by[name]; !ok {
			t.Errorf("no %s in the file", name)
		}
	}
	img, cls, valid, pos, deltas := by["images"], by["cls"], by["valid"], by["pos"], by["deltas"]
	if !slices.Equal(img.Shape, []int64{twinDetectorBatch, 3, 128, 128}) || len(cls.Shape) != 2 || cls.Shape[0] != valid.Shape[0] ||
		len(pos.Data) == 0 || !slices.Equal(deltas.Shape, []int64{int64(len(pos.Data)), 4}) {
		t.Fatalf("shapes: images %v cls %v valid %v pos %v deltas %v", img.Shape, cls.Shape, valid.Shape, pos.Shape, deltas.Shape)
	}
	for _, p := range pos.Data {
		k := int64(p)
		if float32(k) != p || k < 0 || k >= cls.Shape[0] || valid.Data[k] != 1 {
			t.Fatalf("positive anchor %v: not a valid index of %d anchors", p, cls.Shape[0])
		}
	}
}

// TestDetectorTwinTargets checks row 7's twin against the Go side on a batch with crowd
// regions (every third training annotation made a crowd; the generated data has none): the
// twin's own data path and torchvision matching give our targets exactly, crowd-ignored
// anchors included.
func TestDetectorTwinTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a dataset and runs detector steps")
	}
	if !HaveTorch() || !HaveTorchvision() {
		t.Skip("python3-torch or python3-torchvision not installed: the twin cannot run")
	}
	crowds := 0
	crowd := func(data string) error {
		path := filepath.Join(data, "train.json")
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			return err
		}
		for i, a := range doc["annotations"].([]any) {
			if i%3 == 0 {
				a.(map[string]any)["iscrowd"] = 1
				crowds++
			}
		}
		if b, err = json.Marshal(doc); err != nil {
			return err
		}
		return os.WriteFile(path, b, 0o644)
	}
	dir := t.TempDir()
	err := tt.Do(func() error {
		g, err := detectorSideOn(dir, crowd)
		if err != nil {
			return err
		}
		defer g.free()
		_, arrays, err := ReadArrays(g.file)
		if err != nil {
			return err
		}
		var ignored int
		for _, a := range arrays {
			if a.Name == "valid" {
				for _, v := range a.Data {
					if v == 0 {
						ignored++
					}
				}
			}
		}
		twin, err := startTwin(dir, "detector.py", g.file, CPUClock)
		if err != nil {
			return err
		}
		defer twin.close()
		desc, err := twinCheck(g.hello, twin.hello)
		t.Logf("%d crowd annotations, %d ignored anchors; %s", crowds, ignored, desc)
		if err != nil {
			return err
		}
		if crowds == 0 || twin.hello.Targets == nil || twin.hello.Targets.LabelMismatches != 0 || twin.hello.Targets.Positives == 0 {
			return fmt.Errorf("targets %+v after %d crowd annotations", twin.hello.Targets, crowds)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTwinRows runs rows 6 and 7 through Run: measured against the real twins when
// python3-torch is installed (their checks passed: the notes have them), else skipped lines
// that are not met.
func TestTwinRows(t *testing.T) {
	if testing.Short() {
		t.Skip("runs libtorch")
	}
	var progress bytes.Buffer
	opts := Options{Rows: []int{6, 7}, Reps: 2, Rounds: 1, MinSample: time.Millisecond, Progress: &progress}
	if HaveTorch() {
		// The peak-RSS runs need the smoothl1 binary (the detector's cut to 2 steps here).
		exe := filepath.Join(t.TempDir(), "smoothl1")
		if out, err := exec.Command("go", "build", "-o", exe, "../cmd/smoothl1").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		opts.Executable = exe
		prev := trainArgsDetector
		trainArgsDetector = []string{"--task", "detect", "--loss", specSmoothL1, "--steps", "2", "--threads", "1"}
		prevSteps := detectorTrainSteps
		detectorTrainSteps = 2
		defer func() { trainArgsDetector, detectorTrainSteps = prev, prevSteps }()
	}
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	// Rows 6 and 7: the step and, with the twin, the end-to-end line; row 7 also the twin
	// on the targets given.
	want := map[bool]int{true: 5, false: 2}[HaveTorch()]
	if HaveTorch() && !HaveTorchvision() {
		// Row 6 measured (step, end to end), row 7 skipped.
		if len(rep.Results) != 3 || rep.Results[2].Status != errNoTorchvision.Error() || *rep.Results[2].Met {
			t.Fatalf("torch without torchvision: %+v", rep.Results)
		}
		t.Skip("python3-torchvision not installed: row 6 was measured, row 7's twin not run")
	}
	if len(rep.Results) != want {
		t.Fatalf("%d lines, want %d", len(rep.Results), want)
	}
	if HaveTorch() {
		given := rep.Results[3]
		if given.Row != 7 || given.Target != nil || given.Num.Case != caseTorchGiven || given.Den.Case != caseOursStep || !(given.RatioMedian > 0) {
			t.Errorf("targets-given line %+v", given)
		}
		rep.Results = slices.Delete(rep.Results, 3, 4)
		for i, row := range []int{6, 7} {
			e2e := rep.Results[1+i]
			if e2e.Row != row || e2e.Target != nil || e2e.Num.Case != caseTrainTorch || e2e.Den.Case != caseTrainOurs || !(e2e.Den.PerSecond > 0) {
				t.Errorf("end-to-end line %+v", e2e)
			}
			rep.Results = slices.Delete(rep.Results, 1+i, 2+i)
		}
	}
	for i, r := range rep.Results {
		if r.Row != 6+i || r.Met == nil || r.Target == nil || r.N != []int{regressBatch, twinDetectorBatch}[i] {
			t.Fatalf("line %+v", r)
		}
		if !HaveTorch() {
			if r.Status != errNoTorch.Error() || *r.Met {
				t.Errorf("row %d without python3-torch: status %q, met %v", r.Row, r.Status, *r.Met)
			}
			continue
		}
		if r.Status != "" || !(r.RatioMedian > 0) || !strings.Contains(r.Note, "twin check: params") {
			t.Errorf("line %+v", r)
		}
	}
	if !HaveTorch() {
		t.Skip("python3-torch not installed: the skipped lines were checked, not the twins")
	}
	if !strings.Contains(rep.Results[0].Note, "params 5508 / 5508") {
		t.Errorf("row 6 note %q", rep.Results[0].Note)
	}
	if !strings.Contains(rep.Results[1].Note, " 0 mismatched, largest box-delta difference") {
		t.Errorf("row 7 note %q: no check of the twin's targets", rep.Results[1].Note)
	}
	// Peak RSS: both processes hold libtorch (well over 50 MiB), ours ran the row's task.
	for i, task := range []string{"--task regress", "--task detect"} {
		p := rep.Results[i].PeakRSS
		if p == nil || p.OursBytes < 50<<20 || p.PyTorchBytes < 50<<20 || !strings.Contains(p.OursRun, task) {
			t.Errorf("row %d peak RSS %+v", rep.Results[i].Row, p)
		}
	}
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "peak RSS: `smoothl1 train --task detect") {
		t.Errorf("Markdown without row 7's peak RSS:\n%s", md.String())
	}
}

// TestTwinRowsSkipped checks the lines of rows 6 and 7 when the interpreter cannot import
// torch: skipped, no ratio, not met, and marked so in the Markdown.
func TestTwinRowsSkipped(t *testing.T) {
	prev := TwinPython
	TwinPython = filepath.Join(t.TempDir(), "no-python3")
	torchOnce, torchOK = sync.Once{}, false
	t.Cleanup(func() { TwinPython = prev; torchOnce, torchOK = sync.Once{}, false })
	rep, err := Run(context.Background(), Options{Rows: []int{6, 7}, Reps: 1, Rounds: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Status != "skipped: python3-torch not installed" || r.Met == nil || *r.Met || !math.IsNaN(float64(r.RatioMedian)) {
			t.Errorf("row %d: %+v", r.Row, r)
		}
	}
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(md.String(), "**skipped: python3-torch not installed**"); got != 2 {
		t.Errorf("Markdown marks %d lines skipped, want 2:\n%s", got, md.String())
	}

	// An interpreter that imports torch but not torchvision: row 7 is skipped for it.
	fake := filepath.Join(t.TempDir(), "python3")
	script := "#!/bin/sh\ncase \"$*\" in *torchvision*) exit 1;; esac\nexit 0\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	TwinPython = fake
	torchOnce, torchOK, visionOnce, visionOK = sync.Once{}, false, sync.Once{}, false
	t.Cleanup(func() { visionOnce, visionOK = sync.Once{}, false })
	if !HaveTorch() || HaveTorchvision() {
		t.Fatalf("fake interpreter: torch %v, torchvision %v", HaveTorch(), HaveTorchvision())
	}
	rep, err = Run(context.Background(), Options{Rows: []int{7}, Reps: 1, Rounds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 || rep.Results[0].Status != "skipped: python3-torchvision not installed" || *rep.Results[0].Met {
		t.Errorf("row 7 without torchvision: %+v", rep.Results)
	}
}
