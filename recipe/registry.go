package recipe

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/smoothl1/smoothl1/static"
	"github.com/smoothl1/smoothl1/trainer"
)

// Kind is a kind of task that a Spec can name: how to build it and what it reports.
type Kind struct {
	// Name is what Spec.Task says: letters, digits, '-' and '_'.
	Name string
	// Summary is one line for help texts.
	Summary string
	// Defaults are the task's schedule (Steps, Batch and LR must be > 0) and default noise.
	Defaults Defaults
	// Reads says which of Settings' task fields the task reads; setting another is an error.
	Reads struct{ Noise, Data bool }
	// Reduction reduces the box loss (the detector sums over positive anchors and divides by
	// their number itself: static.Sum; the regression task takes the Mean).
	Reduction static.Reduction
	// Metrics are the keys of the task's Evaluate that records keep (with their init_ forms
	// when EvalInitial); the first is the main one (the ablation's baseline and paired tests
	// use it), those with Table set are the report's columns. At least one.
	Metrics []Metric
	// EvalInitial also evaluates the model before training (final.json's init_* keys).
	EvalInitial bool
	// Validate checks the task's own fields (Noise, Data); nil accepts what Reads allows. An
	// error that is a *FieldError names its field.
	Validate func(Settings) error
	// Prepare makes the default dataset in dir, when the task reads one and Data is ""
	// (a sweep prepares it once for all its runs); nil when the task has none.
	Prepare func(dir string, status io.Writer) error
	// New builds the task of a resolved spec. dataDir is Data, or the prepared default.
	New func(r Resolved, dataDir string) (trainer.Task, error)
	// Identity returns the task's parameters as they enter the run's identity (what a resume
	// must share), or nil.
	Identity func(r Resolved) any
	// Final adds the task's own keys to final.json (e.g. images per second); may be nil.
	Final func(task trainer.Task, r Resolved, res trainer.Result, final Final)
	// Setting describes a task's data in a report ("heavy noise"); nil: Data or "default".
	Setting func(Settings) string
	// Estimate guesses a run's seconds (set-up and evaluation included) for progress
	// estimates before one is measured; nil: 10 ms a step.
	Estimate func(steps int64, batch int) float64
}

// Defaults are a task's schedule.
type Defaults struct {
	Steps, Warmup int64
	Batch         int
	LR            float64
	Noise         string // when the task reads Noise
}

// Metric is a number a task's evaluation reports.
type Metric struct {
	Key   string // key in final.json
	Label string // column heading
	Lower bool   // lower is better
	Table bool   // a column of the report's tables
}

// ErrUnknownTask is wrapped by the errors of Lookup.
var ErrUnknownTask = errors.New("recipe: unknown task")

var (
	mu    sync.RWMutex
	kinds = map[string]*Kind{}
)

// Register adds a task kind. It is an error to register a name twice, a name with other
// characters than letters, digits, '-' and '_', or a kind without New, Metrics or positive
// default Steps, Batch and LR.
func Register(k Kind) error {
	switch {
	case !ValidName(k.Name):
		return fmt.Errorf("recipe: Register: task name %q: use letters, digits, '-' and '_'", k.Name)
	case k.New == nil:
		return fmt.Errorf("recipe: Register %s: Kind.New is nil", k.Name)
	case len(k.Metrics) == 0:
		return fmt.Errorf("recipe: Register %s: Kind.Metrics is empty", k.Name)
	case k.Defaults.Steps <= 0 || k.Defaults.Batch <= 0 || !(k.Defaults.LR > 0) || k.Defaults.Warmup < 0:
		return fmt.Errorf("recipe: Register %s: Kind.Defaults %+v: want Steps, Batch, LR > 0 and Warmup ≥ 0", k.Name, k.Defaults)
	case k.Reads.Data && k.Prepare == nil:
		return fmt.Errorf("recipe: Register %s: a task that reads a dataset needs Kind.Prepare for the default one", k.Name)
	}
	mu.Lock()
	defer mu.Unlock()
	if _, ok := kinds[k.Name]; ok {
		return fmt.Errorf("recipe: Register: task %q is registered already", k.Name)
	}
	kinds[k.Name] = &k
	return nil
}

// Lookup returns the kind registered as name; the error wraps ErrSpec and ErrUnknownTask and
// lists the registered names.
func Lookup(name string) (*Kind, error) {
	mu.RLock()
	k, ok := kinds[name]
	mu.RUnlock()
	if !ok {
		return nil, &FieldError{"task", fmt.Errorf("%w %q (registered: %s)", ErrUnknownTask, name, strings.Join(Kinds(), ", "))}
	}
	return k, nil
}

// Kinds lists the registered task names, sorted.
func Kinds() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ValidName reports whether s can name a task kind or a sweep's task: letters, digits, '-'
// and '_', at least one.
func ValidName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return s != ""
}
