package experiments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/smoothl1/smoothl1/internal/atomicfile"
	"github.com/smoothl1/smoothl1/torchthread"
)

// Options configure a Sweep.
type Options struct {
	Config Config
	Out    string // the sweep folder; created if missing
	Shard  Shard  // zero value: the whole sweep
	// Jobs is the number of worker processes that train runs side by side; 0 or 1 trains in
	// this process. Each worker runs Config.Threads libtorch threads, so Jobs × Threads should
	// not exceed the cores.
	Jobs int
	// WorkerCommand returns a command that starts a worker process, one that calls
	// ServeWorker on its standard input and output (`smoothl1 ablate worker`). Needed when
	// Jobs > 1.
	WorkerCommand func() *exec.Cmd
	// Progress receives the progress bar when it is a terminal; Logger receives log lines
	// (a line per finished run when Progress is not a terminal). nil: os.Stderr and
	// slog.Default().
	Progress io.Writer
	Logger   *slog.Logger
}

// Result summarises a Sweep.
type Result struct {
	Runs    int            // runs of the shard
	Counts  map[string]int // by Outcome name; "failed" for failures
	Elapsed time.Duration
	Report  string // report.md's path, "" for a shard or a sweep with failed runs
}

// Sweep runs the config's runs of the shard into opt.Out and, for a whole sweep, writes the
// report. It is resumable: run folders are named by Run.ID, a finished run (its run.json) is
// kept, an interrupted one resumes from its checkpoint (see Execute), so rerunning the same
// command after a crash or a kill loses nothing that had finished. A run that fails does not
// stop the others; the sweep then returns an error wrapping ErrRunsFailed. A cancelled ctx stops
// the runs in flight after a checkpoint and returns ctx's error.
func Sweep(ctx context.Context, opt Options) (Result, error) {
	res := Result{Counts: map[string]int{}}
	start := time.Now()
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Progress == nil {
		opt.Progress = os.Stderr
	}
	if opt.Shard.Count == 0 {
		opt.Shard = All
	}
	if opt.Jobs > 1 && opt.WorkerCommand == nil {
		return res, fmt.Errorf("experiments: Options.Jobs = %d needs a WorkerCommand", opt.Jobs)
	}
	all, err := opt.Config.Plan()
	if err != nil {
		return res, err
	}
	out, err := filepath.Abs(opt.Out)
	if err != nil {
		return res, err
	}
	if err := os.MkdirAll(filepath.Join(out, RunsDir), 0o755); err != nil {
		return res, err
	}
	unlock, err := lockFolder(out)
	if err != nil {
		return res, err
	}
	defer unlock()
	// Temporary files of report writes a killed sweep left (run folders are cleaned by their
	// resume); the lock keeps every other writer out.
	for _, d := range []string{out, filepath.Join(out, PlotsDir)} {
		if _, err := os.Stat(d); err == nil {
			if _, err := atomicfile.RemoveTemps(d); err != nil {
				return res, err
			}
		}
	}
	if err := writeConfig(out, opt.Config); err != nil {
		return res, err
	}
	runs := opt.Shard.Select(all)
	res.Runs = len(runs)
	var pending []Run
	for _, r := range runs {
		rec, err := ReadRecord(RunDir(out, r.ID))
		switch {
		case err == nil && rec.sameRun(r):
			res.Counts[Kept.String()]++
		case err == nil:
			return res, fmt.Errorf("%w: %s holds a run of another configuration (use another --out)", ErrConflict, RunDir(out, r.ID))
		case errors.Is(err, os.ErrNotExist):
			pending = append(pending, r)
		default:
			return res, err
		}
	}
	if len(pending) > 0 {
		opt.Logger.Info("sweep", "out", out, "shard", opt.Shard.String(), "runs", len(runs),
			"finished", len(runs)-len(pending), "to run", len(pending), "workers", max(opt.Jobs, 1))
		if err := EnsureData(out, pending, progressStatus{opt.Logger}); err != nil {
			return res, err
		}
	}
	prog := newProgress(opt.Progress, opt.Logger, opt.Jobs, len(runs), pending)
	var failures []string
	report := func(r Run, rec Record, o Outcome, err error) {
		prog.finished(r, rec, o, err)
		if err != nil {
			res.Counts["failed"]++
			failures = append(failures, fmt.Sprintf("%s: %v", r.ID, err))
			return
		}
		res.Counts[o.String()]++
	}
	if opt.Jobs > 1 {
		err = runPool(ctx, out, opt, sortByCost(pending, prog), prog, report)
	} else {
		err = runLocal(ctx, out, opt, pending, prog, report)
	}
	prog.end()
	res.Elapsed = time.Since(start)
	if err != nil {
		return res, err
	}
	if len(failures) > 0 {
		return res, fmt.Errorf("%w: %d of %d:\n  %s", ErrRunsFailed, len(failures), len(runs), strings.Join(failures, "\n  "))
	}
	if !opt.Shard.Whole() {
		return res, nil
	}
	recs, err := readRecords(out, all)
	if err != nil {
		return res, err
	}
	if err := WriteReport(out, opt.Config, recs); err != nil {
		return res, err
	}
	res.Report = filepath.Join(out, ReportFile)
	return res, nil
}

type progressStatus struct{ log *slog.Logger }

func (s progressStatus) Write(b []byte) (int, error) {
	s.log.Info(strings.TrimSpace(string(b)))
	return len(b), nil
}

// runLocal trains the runs one after the other in this process.
func runLocal(ctx context.Context, out string, opt Options, runs []Run, prog *progress, report func(Run, Record, Outcome, error)) error {
	if len(runs) == 0 {
		return nil
	}
	if err := torchthread.SetNumThreads(max(opt.Config.Threads, 1)); err != nil {
		return err
	}
	logger := slog.New(&relayHandler{prog: prog, level: slog.LevelWarn})
	for _, r := range runs {
		if err := ctx.Err(); err != nil {
			return err
		}
		prog.started(r)
		rec, o, err := Execute(ctx, out, r, logger)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		report(r, rec, o, err)
	}
	return nil
}

// sortByCost orders runs by decreasing estimated cost (stable), so that workers finish close
// together.
func sortByCost(runs []Run, prog *progress) []Run {
	out := append([]Run(nil), runs...)
	sort.SliceStable(out, func(i, j int) bool { return prog.estimate(out[i]) > prog.estimate(out[j]) })
	return out
}

// readRecords reads the records of runs that exist in out, in plan order.
func readRecords(out string, runs []Run) ([]Record, error) {
	var recs []Record
	for _, r := range runs {
		rec, err := ReadRecord(RunDir(out, r.ID))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// relayHandler is a minimal slog handler that prints records through the progress display.
type relayHandler struct {
	prog  *progress
	level slog.Level
	attrs []slog.Attr
}

func (h *relayHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *relayHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.prog.relay(b.String())
	return nil
}

func (h *relayHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *relayHandler) WithGroup(string) slog.Handler { return h }

// writeConfig writes the sweep's config into out/sweep.json.
func writeConfig(out string, cfg Config) error {
	return atomicfile.WriteFile(filepath.Join(out, ConfigFile), cfg.JSON(), 0o644)
}
