package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/smoothl1/smoothl1/recipe"
	"github.com/smoothl1/smoothl1/trainer"
)

// Folders of a sweep folder.
const (
	RunsDir    = "runs"       // one folder per run
	DataDir    = "data"       // the default synthetic detection dataset
	PlotsDir   = "plots"      // the report's figures
	ConfigFile = "sweep.json" // the config the sweep ran
)

// DefaultCheckpointEvery is the checkpoint interval of sweep runs whose task sets none.
const DefaultCheckpointEvery = 100

// RunDir is the folder of run id in the sweep folder out.
func RunDir(out, id string) string { return filepath.Join(out, RunsDir, id) }

// Spec returns the training spec of run r and its options in the sweep folder out (the
// folder runs/<ID>, the default dataset in data/).
func (r Run) Spec(out string) (recipe.Spec, recipe.Options) {
	s := recipe.Spec{Task: r.Task.Task, Loss: r.Variant, Seed: r.Seed, Settings: r.Task.Settings}
	if s.CheckpointEvery == 0 {
		s.CheckpointEvery = DefaultCheckpointEvery
	}
	return s, recipe.Options{Dir: RunDir(out, r.ID), DataDir: filepath.Join(out, DataDir)}
}

// Outcome says how Execute got a run's record.
type Outcome int

const (
	Trained  Outcome = iota // trained from step 0
	Resumed                 // continued from a checkpoint of an interrupted attempt
	Recorded                // training had finished (final.json) but the record was missing
	Kept                    // the record was there: nothing ran
)

func (o Outcome) String() string {
	return [...]string{"trained", "resumed", "recorded", "kept"}[o]
}

// Execute makes sure run r of the sweep folder out is finished and returns its record:
//
//   - a run.json of this run is kept as it is (one of another configuration is an ErrConflict);
//   - a final.json without run.json (a stop between the two) is turned into the record;
//   - a checkpoint resumes the run exactly (recipe.Options.Resume); one that cannot be resumed (another
//     configuration, corrupted) is discarded with the folder and the run starts over;
//   - anything else starts the run from scratch in an emptied folder.
//
// A divergence is recorded as StatusDiverged. The detection dataset must exist (see
// EnsureData). logger receives the trainer's warnings; nil discards them.
func Execute(ctx context.Context, out string, r Run, logger *slog.Logger) (Record, Outcome, error) {
	dir := RunDir(out, r.ID)
	if rec, err := ReadRecord(dir); err == nil {
		if !rec.sameRun(r) {
			return rec, Kept, fmt.Errorf("%w: %s holds a run of another configuration (use another --out)", ErrConflict, filepath.Join(dir, RecordFile))
		}
		return rec, Kept, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return rec, Kept, err
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	spec, opt := r.Spec(out)
	opt.Logger, opt.Progress, opt.Status = logger, io.Discard, nil
	outcome := Trained
	start := time.Now()
	final, err := readFinal(dir)
	switch {
	case err == nil:
		outcome = Recorded
	case !errors.Is(err, os.ErrNotExist):
		return Record{}, outcome, err
	default:
		final, outcome, err = train(ctx, dir, spec, opt)
	}
	wall := time.Since(start).Seconds()
	var rec Record
	switch {
	case errors.Is(err, trainer.ErrDiverged):
		rec = Record{ID: r.ID, Task: r.Task, Variant: r.Variant, Seed: r.Seed, Status: StatusDiverged,
			Error: err.Error(), Versions: CurrentVersions()}
		if rerr := rec.readMetrics(filepath.Join(dir, trainer.MetricsFile)); rerr != nil {
			return rec, outcome, errors.Join(err, rerr)
		}
		rec.Timings.WallSeconds = wall
	case err != nil:
		return Record{}, outcome, fmt.Errorf("run %s: %w", r.ID, err)
	default:
		if rec, err = buildRecord(dir, r, final, wall); err != nil {
			return rec, outcome, fmt.Errorf("run %s: %w", r.ID, err)
		}
	}
	if err := WriteRecord(dir, rec); err != nil {
		return rec, outcome, err
	}
	// The last checkpoint stays (smoothl1 eval reads it); the one before it is not needed.
	os.Remove(filepath.Join(dir, trainer.PrevCheckpoint))
	return rec, outcome, nil
}

// train resumes the run in dir when it has a checkpoint, else starts it afresh.
func train(ctx context.Context, dir string, spec recipe.Spec, opt recipe.Options) (recipe.Final, Outcome, error) {
	if hasCheckpoint(dir) {
		opt.Resume = true
		final, err := recipe.Run(ctx, spec, opt)
		if !errors.Is(err, trainer.ErrIdentity) && !errors.Is(err, trainer.ErrCheckpoint) {
			return final, Resumed, err
		}
		opt.Logger.Warn("discarding a run that cannot be resumed", "dir", dir, "err", err)
		opt.Resume = false
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, Trained, err
	}
	final, err := recipe.Run(ctx, spec, opt)
	return final, Trained, err
}

func hasCheckpoint(dir string) bool {
	for _, f := range []string{trainer.CheckpointFile, trainer.PrevCheckpoint} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

func readFinal(dir string) (recipe.Final, error) {
	b, err := os.ReadFile(filepath.Join(dir, recipe.FinalFile))
	if err != nil {
		return nil, err
	}
	var f recipe.Final
	if err := json.Unmarshal(b, &f); err != nil {
		// A final.json is written atomically, so this is damage: train again.
		return nil, os.ErrNotExist
	}
	return f, nil
}

// EnsureData prepares the default dataset into out/data when a task of runs reads one and
// names none (Kind.Prepare), once for all the runs that share it.
func EnsureData(out string, runs []Run, status io.Writer) error {
	done := map[string]bool{}
	for _, r := range runs {
		k, err := recipe.Lookup(r.Task.Task)
		if err != nil {
			return err
		}
		if k.Reads.Data && r.Task.Data == "" && !done[k.Name] {
			done[k.Name] = true
			if err := k.Prepare(filepath.Join(out, DataDir), status); err != nil {
				return err
			}
		}
	}
	return nil
}

func mkdir(dir string) error { return os.MkdirAll(dir, 0o755) }
