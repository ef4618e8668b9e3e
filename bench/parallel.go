package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/smoothl1/smoothl1/detectors/coco"
)

// Row 8's setting: the detector trained by `smoothl1 train --task detect` with the box loss
// sasl (so that every collective of a data-parallel step runs: the loss's summaries, the
// positives, the step report, the gradients), a global batch of parallelBatch images of a
// parallelImages-image synthetic set, one libtorch thread per process, in runs of
// parallelSteps steps of which the first parallelWarmup are not counted.
const (
	parallelBatch  = 16
	parallelImages = 16
	parallelSteps  = 6
	parallelWarmup = 2
)

// Row 8's cases.
const (
	caseOneRank  = "1 rank"
	caseTwoRanks = "2 ranks"
	caseComm     = "collectives, rank 0"
)

// errNoExecutable is row 8's status without Options.Executable.
var errNoExecutable = errors.New("skipped: no smoothl1 executable to run (Options.Executable)")

// trainRun runs `exe train` of row 8's setting into out as nproc ranks (one process for 1)
// and returns, for each counted step, its wall time (between two lines of rank 0's
// metrics.jsonl) and the time rank 0 spent in collectives (comm_seconds; none for 1).
func trainRun(ctx context.Context, exe, data, out string, nproc int) (step, comm []float64, err error) {
	args := []string{"train", "--task", "detect", "--data", data, "--loss", specSASL, "--steps", strconv.Itoa(parallelSteps),
		"--batch", strconv.Itoa(parallelBatch), "--seed", "1", "--threads", "1", "--checkpoint-every", "1000", "--out", out}
	if nproc > 1 {
		args = append(args, "--nproc", strconv.Itoa(nproc))
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, fmt.Errorf("%s %s: %w; its stderr: %s", exe, strings.Join(args, " "), err, lastLines(stderr.String(), 5))
	}
	f, err := os.Open(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var prev float64
	sc := bufio.NewScanner(f)
	for i := 0; sc.Scan(); i++ {
		var m struct {
			Seconds     float64  `json:"seconds"`
			CommSeconds *float64 `json:"comm_seconds"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, nil, fmt.Errorf("%s: line %d: %w", f.Name(), i+1, err)
		}
		if i >= parallelWarmup {
			step = append(step, m.Seconds-prev)
			if m.CommSeconds != nil {
				comm = append(comm, *m.CommSeconds)
			}
		}
		prev = m.Seconds
	}
	if want := parallelSteps - parallelWarmup; len(step) != want || nproc > 1 && len(comm) != want {
		return nil, nil, fmt.Errorf("%s: %d steps and %d comm_seconds counted, want %d", f.Name(), len(step), len(comm), want)
	}
	return step, comm, sc.Err()
}

// row8 measures the detector step's scaling from 1 to 2 ranks on this machine (see the
// package documentation): one run of each per repetition, in alternating order, a
// repetition's time of a case being the median of its run's counted steps.
func (r *runner) row8() ([]Result, error) {
	const name = "detector step, global batch 16: 1 rank / 2 ranks (wall time) = speed-up"
	const commName = "detector step, 2 ranks: collectives / step (wall time)"
	if r.o.Executable == "" {
		var out []Result
		for _, n := range []string{name, commName} {
			res := newResult(8, n, parallelBatch, "images", nil, Side{Case: caseOneRank}, Side{Case: caseTwoRanks}, nil)
			res.Status = errNoExecutable.Error()
			fmt.Fprintf(r.o.Progress, "bench: row 8 %s: %s\n", n, res.Status)
			out = append(out, res)
		}
		return out, nil
	}
	reps := min(r.o.Reps, 5)
	if r.o.Quick {
		reps = min(r.o.Reps, 3)
	}
	dir, err := os.MkdirTemp("", "smoothl1-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	data := filepath.Join(dir, "data")
	if err := coco.Generate(data, coco.GenerateOptions{Images: parallelImages, Seed: 1}); err != nil {
		return nil, err
	}
	load := loadAverage()
	fmt.Fprintf(r.o.Progress, "bench: row 8 (detector step, 1 and 2 ranks; %d repetitions) ...\n", reps)
	var one, two, comm []float64
	for rep := range reps {
		order := []int{1, 2}
		if rep%2 == 1 {
			order = []int{2, 1}
		}
		for _, n := range order {
			step, c, err := trainRun(r.ctx, r.o.Executable, data, filepath.Join(dir, fmt.Sprintf("run-%d-%d", rep, n)), n)
			if err != nil {
				return nil, err
			}
			if n == 1 {
				one = append(one, spread(step).Median)
				continue
			}
			two = append(two, spread(step).Median)
			comm = append(comm, spread(c).Median)
		}
	}
	speed := newResult(8, name, parallelBatch, "images", ratios(one, two),
		side(caseOneRank, one, parallelBatch), side(caseTwoRanks, two, parallelBatch), nil)
	speed.Note = fmt.Sprintf("`smoothl1 train --task detect --loss %s --batch %d` (%d-image synthetic set) in one process and with --nproc 2, "+
		"one libtorch thread per process, on this %d-CPU machine (1-minute load average %s before the row, other processes included); "+
		"a step is the wall time between two lines of rank 0's metrics.jsonl, the median of %d steps after %d of warm-up, one run of each per repetition in alternating order; "+
		"median step: 1 rank %.1f ms, 2 ranks %.1f ms, of which %.1f ms in collectives; no target",
		specSASL, parallelBatch, parallelImages, runtime.NumCPU(), load, parallelSteps-parallelWarmup, parallelWarmup,
		1e3*spread(one).Median, 1e3*spread(two).Median, 1e3*spread(comm).Median)
	r.report(speed)
	res := newResult(8, commName, parallelBatch, "images", ratios(comm, two),
		side(caseComm, comm, parallelBatch), side(caseTwoRanks, two, parallelBatch), nil)
	res.Note = "rank 0's comm_seconds: the all-gathers of the box loss's summary, of the batch's positive anchors and of the step report, " +
		"and the all-reduce of the gradients (one flat buffer of the detector's parameters), the wait for the other rank included; " +
		"its per-second column is the rate at which the collectives alone would pass batches"
	r.report(res)
	return []Result{speed, res}, nil
}

// loadAverage returns the 1-minute load average of /proc/loadavg, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}
