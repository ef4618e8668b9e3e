package experiments

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"github.com/smoothl1/smoothl1/internal/atomicfile"
	"github.com/smoothl1/smoothl1/recipe"
	"github.com/smoothl1/smoothl1/torchthread"
	"github.com/smoothl1/smoothl1/trainer"
)

// RecordFile is the per-run JSON in a run folder; a run is finished when it exists.
const RecordFile = "run.json"

// Run outcomes.
const (
	StatusOK       = "ok"
	StatusDiverged = "diverged" // the loss was not finite for too many steps: a result, not a crash
)

// Record is the per-run JSON: what ran, what it measured, how β moved, how long it took.
type Record struct {
	ID      string     `json:"id"`
	Task    TaskConfig `json:"task"`
	Variant string     `json:"variant"`
	Seed    uint64     `json:"seed"`
	Status  string     `json:"status"`
	Error   string     `json:"error,omitempty"` // why a run diverged
	// Metrics are the task's evaluation numbers (regress: test_l1, test_l2 and their values
	// before training; detect: ap, ap50, ap75, ap_small, ap_medium, ap_large, ar100).
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Final is final.json as recipe.Run wrote it, timings included.
	Final recipe.Final `json:"final,omitempty"`
	// Beta summarises the β trace of a scheduled variant per box coordinate; nil otherwise.
	Beta  []BetaColumn `json:"beta,omitempty"`
	Curve Curve        `json:"curve"`
	// Timings and Versions vary between machines and reruns; results and reports never read
	// them, so a merged report equals an unsharded one.
	Timings  Timings  `json:"timings"`
	Versions Versions `json:"versions"`
}

// BetaColumn summarises the β of one coordinate over a run.
type BetaColumn struct {
	First   float64 `json:"first"`
	Last    float64 `json:"last"`
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	Changes int     `json:"changes"` // steps whose β differs from the previous step's
}

// CurvePoints is the most points a Curve keeps.
const CurvePoints = 200

// Curve is a run's training trace reduced to at most CurvePoints points: each point is a
// block of consecutive steps, Step its last step, Loss the mean of its finite losses (NaN
// written as null when it has none), Beta the β of its last step (empty for static losses).
type Curve struct {
	Step []int64     `json:"step"`
	Loss []*float64  `json:"loss"`
	Beta [][]float64 `json:"beta,omitempty"`
}

// Timings of a run.
type Timings struct {
	// TrainSeconds is the training time over all sessions of the run (a resumed run has more
	// than one), from metrics.jsonl.
	TrainSeconds   float64 `json:"train_seconds"`
	StepsPerSecond float64 `json:"steps_per_second"`
	EvalSeconds    float64 `json:"eval_seconds,omitempty"`
	// WallSeconds is the last session's time in recipe.Run, setup and evaluation included.
	WallSeconds float64 `json:"wall_seconds"`
	Sessions    int     `json:"sessions"`
	ResumedFrom int64   `json:"resumed_from,omitempty"`
}

// Versions of what produced a run.
type Versions struct {
	Go       string `json:"go"`
	Module   string `json:"module,omitempty"`   // the main module's version or VCS revision
	Gotch    string `json:"gotch,omitempty"`    // gotch's module version
	Libtorch string `json:"libtorch,omitempty"` // major.minor
	BLAS     string `json:"blas,omitempty"`     // the BLAS libtorch's matmuls ran on (torchthread.BLAS)
}

// CurrentVersions describes this binary.
func CurrentVersions() Versions {
	v := Versions{Go: runtime.Version(), Libtorch: torchthread.LibtorchVersion(), BLAS: torchthread.BLAS()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v.Module = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && (v.Module == "" || v.Module == "(devel)") {
				v.Module = s.Value
			}
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/sugarme/gotch" {
				v.Gotch = d.Version
			}
		}
	}
	return v
}

// buildRecord reads a finished run folder (final.json and metrics.jsonl).
func buildRecord(dir string, r Run, final recipe.Final, wall float64) (Record, error) {
	rec := Record{ID: r.ID, Task: r.Task, Variant: r.Variant, Seed: r.Seed, Status: StatusOK,
		Final: final, Versions: CurrentVersions()}
	rec.Metrics = map[string]float64{}
	// The evaluation keys a record keeps from final.json: the kind's metrics and, when it
	// evaluates before training, their init_ forms.
	k, err := recipe.Lookup(r.Task.Task)
	if err != nil {
		return rec, err
	}
	for _, m := range k.Metrics {
		for _, key := range []string{m.Key, "init_" + m.Key} {
			if v, ok := number(final[key]); ok {
				rec.Metrics[key] = v
			}
		}
	}
	if err := rec.readMetrics(filepath.Join(dir, trainer.MetricsFile)); err != nil {
		return rec, err
	}
	rec.Timings.WallSeconds = wall
	if v, ok := number(final["eval_seconds"]); ok {
		rec.Timings.EvalSeconds = v
	}
	if v, ok := number(final["resumed_from"]); ok {
		rec.Timings.ResumedFrom = int64(v)
	}
	return rec, nil
}

// number reads a value of recipe.Final: a Go number as recipe.Run returns it, or a float64 as JSON
// decodes it.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

// readMetrics fills Beta, Curve and the training timings from metrics.jsonl.
func (rec *Record) readMetrics(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var rows []trainer.StepMetrics
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for line := 1; sc.Scan(); line++ {
		var m trainer.StepMetrics
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
		rows = append(rows, m)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	rec.Beta = summarizeBeta(rows)
	rec.Curve = reduceCurve(rows, CurvePoints)
	// A session's clock restarts at a resume: add the last time of each session.
	var total, last float64
	sessions := 0
	for i, m := range rows {
		if i == 0 || m.Seconds < last {
			if i > 0 {
				total += last
			}
			sessions++
		}
		last = m.Seconds
	}
	total += last
	rec.Timings.TrainSeconds, rec.Timings.Sessions = total, sessions
	if total > 0 {
		rec.Timings.StepsPerSecond = float64(len(rows)) / total
	}
	return nil
}

func summarizeBeta(rows []trainer.StepMetrics) []BetaColumn {
	if len(rows) == 0 || len(rows[0].Beta) == 0 {
		return nil
	}
	d := len(rows[0].Beta)
	cols := make([]BetaColumn, d)
	for j := range cols {
		b := rows[0].Beta[j]
		cols[j] = BetaColumn{First: b, Last: b, Min: b, Max: b}
	}
	for i, m := range rows {
		if len(m.Beta) != d {
			continue
		}
		for j, b := range m.Beta {
			c := &cols[j]
			c.Last, c.Min, c.Max = b, math.Min(c.Min, b), math.Max(c.Max, b)
			if i > 0 && len(rows[i-1].Beta) == d && rows[i-1].Beta[j] != b {
				c.Changes++
			}
		}
	}
	return cols
}

func reduceCurve(rows []trainer.StepMetrics, points int) Curve {
	var c Curve
	n := len(rows)
	if n == 0 {
		return c
	}
	blocks := min(points, n)
	for b := 0; b < blocks; b++ {
		lo, hi := b*n/blocks, (b+1)*n/blocks
		var sum float64
		k := 0
		for _, m := range rows[lo:hi] {
			if m.Loss != nil {
				sum += *m.Loss
				k++
			}
		}
		last := rows[hi-1]
		c.Step = append(c.Step, last.Step)
		if k > 0 {
			v := sum / float64(k)
			c.Loss = append(c.Loss, &v)
		} else {
			c.Loss = append(c.Loss, nil)
		}
		if len(last.Beta) > 0 {
			c.Beta = append(c.Beta, append([]float64(nil), last.Beta...))
		}
	}
	return c
}

// WriteRecord writes rec into dir/run.json atomically.
func WriteRecord(dir string, rec Record) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("experiments: record %s: %w", rec.ID, err)
	}
	return atomicfile.WriteFile(filepath.Join(dir, RecordFile), append(b, '\n'), 0o644)
}

// ReadRecord reads dir/run.json.
func ReadRecord(dir string) (Record, error) {
	var rec Record
	b, err := os.ReadFile(filepath.Join(dir, RecordFile))
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("%s: %w", filepath.Join(dir, RecordFile), err)
	}
	return rec, nil
}

// result is the part of a record that a rerun must reproduce: what ran and what it measured.
func (rec Record) result() []byte {
	b, _ := json.Marshal(struct {
		ID      string
		Task    TaskConfig
		Variant string
		Seed    uint64
		Status  string
		Metrics map[string]float64
		Beta    []BetaColumn
		Curve   Curve
	}{rec.ID, rec.Task, rec.Variant, rec.Seed, rec.Status, rec.Metrics, rec.Beta, rec.Curve})
	return b
}

// sameRun reports whether rec is a record of r (same task config, variant and seed).
func (rec Record) sameRun(r Run) bool {
	a, _ := json.Marshal(rec.Task)
	b, _ := json.Marshal(r.Task)
	return rec.ID == r.ID && rec.Variant == r.Variant && rec.Seed == r.Seed && bytes.Equal(a, b)
}
