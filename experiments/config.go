package experiments

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/smoothl1/smoothl1/internal/strictjson"
	"github.com/smoothl1/smoothl1/recipe"
	"github.com/smoothl1/smoothl1/spec"
)

// Config is a sweep: the tasks, the loss variants, the seeds. It is read from JSON (see
// LoadConfig and docs/ablate.md for the schema) or taken from a preset (Preset), and every sweep
// folder keeps the one it ran as sweep.json.
type Config struct {
	// Name labels the sweep in the report: "quick", "full", or a name of your own.
	Name string `json:"name"`
	// Seeds: every (task, variant) cell runs seeds 1 … Seeds.
	Seeds int `json:"seeds"`
	// Threads is libtorch's intra-op thread count in each process that trains (0 means 1). It
	// is part of the result: float reductions may differ between thread counts.
	Threads int `json:"threads,omitempty"`
	// Variants are the loss specs of every task that has no list of its own.
	Variants []string `json:"variants,omitempty"`
	// Tasks are the benchmarks, each a table in the report.
	Tasks []TaskConfig `json:"tasks"`
}

// TaskConfig is one benchmark: a task kind of package recipe (built-in or registered) with its
// settings, which follow recipe's rule (zero or absent: the task's default; a negative
// warmup, weight_decay or clip: none). CheckpointEvery 0 means DefaultCheckpointEvery here.
type TaskConfig struct {
	Name string `json:"name"` // unique in the sweep; a table and a run-ID prefix
	Task string `json:"task"` // a registered task kind: "regress", "detect", or one of yours
	// Variants are loss specs; empty: the sweep's list.
	Variants []string `json:"variants,omitempty"`
	// Baseline is the fixed-β reference the other variants are tested against. "" picks the
	// smoothl1 variant with the best mean main metric.
	Baseline string `json:"baseline,omitempty"`
	// Settings: Data "" means the task's default dataset, prepared once into the sweep
	// folder's data/.
	recipe.Settings
}

// The variants of the grid: L1, L2, Smooth L1 at five fixed β (1/9 written as 0.11, as
// in Detectron's RetinaNet), Huber, Balanced L1, the Self-Adjusting Smooth L1 with β̂ = 0.11 and
// 1.0 in the published μ − σ² form and the σ form, and Dynamic SmoothL1.
var GridVariants = []string{
	"l1", "l2",
	"smoothl1:beta=0.11", "smoothl1:beta=0.5", "smoothl1:beta=1", "smoothl1:beta=2", "smoothl1:beta=5",
	"huber:delta=1", "balancedl1",
	"sasl:betamax=0.11", "sasl:betamax=0.11,std", "sasl:betamax=1", "sasl:betamax=1,std",
	"dsl",
}

// QuickDetectVariants is the detector's cut in the quick preset: RetinaNet's fixed β (the
// baseline), PyTorch's default β = 1, the Self-Adjusting Smooth L1 and Dynamic SmoothL1 as
// published.
var QuickDetectVariants = []string{"smoothl1:beta=0.11", "smoothl1:beta=1", "sasl:betamax=0.11", "dsl"}

// Preset returns the "quick" or "full" sweep.
//
// quick: the regression task under light and heavy noise with every variant, 120 steps of
// batch 128 (warm-up 12), and the detector with QuickDetectVariants on its default schedule,
// all with 3 seeds: the project's main job.
// full: the same tasks with every variant on the tasks' default schedules, 5 seeds.
func Preset(name string) (Config, error) {
	switch name {
	case "quick":
		return Config{
			Name: "quick", Seeds: 3, Threads: 1, Variants: GridVariants,
			Tasks: []TaskConfig{
				{Name: "regress-light", Task: recipe.Regress, Settings: recipe.Settings{Noise: "light", Steps: 120, Batch: 128, Warmup: 12}},
				{Name: "regress-heavy", Task: recipe.Regress, Settings: recipe.Settings{Noise: "heavy", Steps: 120, Batch: 128, Warmup: 12}},
				// The detector's default schedule (800 steps of 16 images): the shortest that took
				// RetinaNet's fixed β past AP50 0.5 with room (650 steps gave 0.50, 800 0.66 with
				// seed 1; docs/detector.md).
				{Name: "detect", Task: recipe.Detect,
					Variants: QuickDetectVariants, Baseline: "smoothl1:beta=0.11"},
			},
		}, nil
	case "full":
		return Config{
			Name: "full", Seeds: 5, Threads: 1, Variants: GridVariants,
			Tasks: []TaskConfig{
				{Name: "regress-light", Task: recipe.Regress, Settings: recipe.Settings{Noise: "light"}},
				{Name: "regress-heavy", Task: recipe.Regress, Settings: recipe.Settings{Noise: "heavy"}},
				{Name: "detect", Task: recipe.Detect},
			},
		}, nil
	}
	return Config{}, fmt.Errorf("%w: no preset %q (accepted: quick, full)", ErrConfig, name)
}

// LoadConfig reads a sweep config from a JSON file. Unknown keys, trailing data and invalid
// values are errors that name them.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	c, err := ParseConfig(data)
	if err != nil {
		// ParseConfig's errors wrap ErrConfig alone and begin with its text: name the file
		// after it, so that the package prefix comes first, once.
		detail := strings.TrimPrefix(err.Error(), ErrConfig.Error()+": ")
		return Config{}, fmt.Errorf("%w: %s: %s", ErrConfig, path, detail)
	}
	return c, nil
}

// ParseConfig parses and validates a JSON sweep config.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	if err := strictjson.Unmarshal(data, &c); errors.Is(err, strictjson.ErrTrailing) {
		return Config{}, fmt.Errorf("%w: data after the config object", ErrConfig)
	} else if err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// JSON returns the config as indented JSON, as sweep.json holds it.
func (c Config) JSON() []byte {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		panic("experiments: config does not marshal: " + err.Error())
	}
	return append(b, '\n')
}

// Equal reports whether two configs describe the same sweep.
func (c Config) Equal(o Config) bool { return bytes.Equal(c.JSON(), o.JSON()) }

// VariantsOf returns the task's variants: its own list, else the sweep's.
func (c Config) VariantsOf(t TaskConfig) []string {
	if len(t.Variants) > 0 {
		return t.Variants
	}
	return c.Variants
}

// MaxSeeds bounds Config.Seeds: a typo such as 1e9 must be an error, not a plan of a billion
// runs.
const MaxSeeds = 10000

// Validate checks the config and names the first bad field.
func (c Config) Validate() error {
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrConfig, field, fmt.Sprintf(format, a...))
	}
	if c.Seeds < 1 || c.Seeds > MaxSeeds {
		return bad("seeds", "%d: want 1 to %d", c.Seeds, MaxSeeds)
	}
	if c.Threads < 0 {
		return bad("threads", "%d: want at least 1 (0 means 1)", c.Threads)
	}
	if len(c.Tasks) == 0 {
		return bad("tasks", "empty: want at least one task")
	}
	for i, v := range c.Variants {
		if _, err := spec.Parse(v); err != nil {
			return bad(fmt.Sprintf("variants[%d]", i), "%v", err)
		}
	}
	names := map[string]bool{}
	for i, t := range c.Tasks {
		field := fmt.Sprintf("tasks[%d]", i)
		if t.Name != "" {
			field += " (" + t.Name + ")"
		}
		switch {
		case t.Name == "":
			return bad(field+".name", "missing")
		case !recipe.ValidName(t.Name):
			return bad(field+".name", "%q: use letters, digits, '-' and '_'", t.Name)
		case names[t.Name]:
			return bad(field+".name", "%q is used twice", t.Name)
		}
		names[t.Name] = true
		k, err := recipe.Lookup(t.Task)
		if err != nil {
			return bad(field+".task", "%q: registered: %s", t.Task, strings.Join(recipe.Kinds(), ", "))
		}
		if err := t.Settings.Check(t.Task); err != nil {
			var fe *recipe.FieldError
			if errors.As(err, &fe) {
				return bad(field+"."+fe.Field, "%v", fe.Err)
			}
			return bad(field, "%v", err)
		}
		if k.Reads.Noise && t.Noise == "" {
			// A table of a noisy task says which noise: the sweep must not lean on a default.
			return bad(field+".noise", "missing")
		}
		vs := c.VariantsOf(t)
		if len(vs) == 0 {
			return bad(field+".variants", "empty, and the sweep has no variants list")
		}
		seen := map[string]bool{}
		hasFixed := false
		for j, v := range t.Variants {
			if _, err := spec.Parse(v); err != nil {
				return bad(fmt.Sprintf("%s.variants[%d]", field, j), "%v", err)
			}
		}
		for _, v := range vs {
			s, _ := spec.Parse(v)
			if seen[slug(s.Text)] {
				return bad(field+".variants", "%q appears twice", v)
			}
			seen[slug(s.Text)] = true
			hasFixed = hasFixed || s.Name == "smoothl1"
		}
		if t.Baseline != "" {
			if !contains(vs, t.Baseline) {
				return bad(field+".baseline", "%q is not one of the task's variants", t.Baseline)
			}
		} else if !hasFixed {
			return bad(field+".baseline", "no smoothl1 variant to pick the best fixed β from: add one or name a baseline")
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == strings.TrimSpace(s) {
			return true
		}
	}
	return false
}

// Overrides are the command line's changes to a config.
type Overrides struct {
	Seeds int // > 0: replaces Seeds
	// Steps replaces the steps of tasks: the key "" applies to every task, other keys to the
	// tasks with that name or of that kind (regress, detect).
	Steps map[string]int64
	// Tasks keeps only the tasks with these names or of these kinds.
	Tasks []string
	// Variants replaces every task's variant list (and drops baselines that are not in it).
	Variants []string
}

// Apply applies o to c and validates the result. Names in o that match no task are errors.
func (c Config) Apply(o Overrides) (Config, error) {
	c = c.clone()
	if o.Seeds < 0 {
		return c, fmt.Errorf("%w: --seeds %d: want at least 1", ErrConfig, o.Seeds)
	}
	if o.Seeds > 0 {
		c.Seeds = o.Seeds
	}
	if len(o.Tasks) > 0 {
		var kept []TaskConfig
		for _, want := range o.Tasks {
			found := false
			for _, t := range c.Tasks {
				if t.Name == want || t.Task == want {
					found = true
					if !hasTask(kept, t.Name) {
						kept = append(kept, t)
					}
				}
			}
			if !found {
				return c, fmt.Errorf("%w: --tasks %s: no such task (have: %s)", ErrConfig, want, taskNames(c.Tasks))
			}
		}
		// Keep the config's order.
		var ordered []TaskConfig
		for _, t := range c.Tasks {
			if hasTask(kept, t.Name) {
				ordered = append(ordered, t)
			}
		}
		c.Tasks = ordered
	}
	for key, steps := range o.Steps {
		if steps <= 0 {
			return c, fmt.Errorf("%w: --steps %d: want at least 1", ErrConfig, steps)
		}
		found := false
		for i, t := range c.Tasks {
			if key == "" || t.Name == key || t.Task == key {
				c.Tasks[i].Steps = steps
				found = true
			}
		}
		if !found {
			return c, fmt.Errorf("%w: --steps %s=%d: no such task (have: %s)", ErrConfig, key, steps, taskNames(c.Tasks))
		}
	}
	if len(o.Variants) > 0 {
		c.Variants = append([]string(nil), o.Variants...)
		for i := range c.Tasks {
			c.Tasks[i].Variants = nil
			if !contains(o.Variants, c.Tasks[i].Baseline) {
				c.Tasks[i].Baseline = ""
			}
		}
	}
	return c, c.Validate()
}

func (c Config) clone() Config {
	var out Config
	if err := json.Unmarshal(c.JSON(), &out); err != nil {
		panic("experiments: config does not round-trip: " + err.Error())
	}
	return out
}

func hasTask(ts []TaskConfig, name string) bool {
	for _, t := range ts {
		if t.Name == name {
			return true
		}
	}
	return false
}

func taskNames(ts []TaskConfig) string {
	var n []string
	for _, t := range ts {
		n = append(n, t.Name)
	}
	return strings.Join(n, ", ")
}

// ParseSteps parses --steps: "N" for every task, or "name=N,kind=N,...".
func ParseSteps(s string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, item := range strings.Split(s, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			key, val = "", key
		}
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%w: --steps %q: want N or task=N,... with N ≥ 1", ErrConfig, s)
		}
		out[strings.TrimSpace(key)] = n
	}
	return out, nil
}
