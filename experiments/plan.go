package experiments

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/smoothl1/smoothl1/spec"
)

// Run is one training run of a sweep: a task, a loss variant and a seed.
type Run struct {
	// ID names the run's folder (runs/<ID>): task name, variant, seed and steps, so that a
	// rerun of the same sweep finds it.
	ID      string     `json:"id"`
	Task    TaskConfig `json:"task"`
	Variant string     `json:"variant"`
	Seed    uint64     `json:"seed"`
}

// Plan returns the sweep's runs in their fixed order: tasks in config order, then variants,
// then seeds. Sharding and the report rely on that order.
func (c Config) Plan() ([]Run, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var runs []Run
	ids := map[string]bool{}
	for _, t := range c.Tasks {
		for _, v := range c.VariantsOf(t) {
			s, err := spec.Parse(v)
			if err != nil {
				return nil, err
			}
			for seed := 1; seed <= c.Seeds; seed++ {
				r := Run{Task: t, Variant: s.Text, Seed: uint64(seed)}
				r.ID = runID(t, s.Text, r.Seed)
				if ids[r.ID] {
					return nil, fmt.Errorf("%w: two runs would share the folder %s", ErrConfig, r.ID)
				}
				ids[r.ID] = true
				runs = append(runs, r)
			}
		}
	}
	return runs, nil
}

// runID is <task>_<variant slug>_s<seed>_n<steps>, steps 0 meaning the task's default.
func runID(t TaskConfig, variant string, seed uint64) string {
	steps := "default"
	if t.Steps > 0 {
		steps = strconv.FormatInt(t.Steps, 10)
	}
	return fmt.Sprintf("%s_%s_s%d_n%s", t.Name, slug(variant), seed, steps)
}

// slug turns a loss spec into a file-name part: "sasl:betamax=1,std" → "sasl-betamax1-std".
func slug(spec string) string {
	r := strings.NewReplacer(":", "-", ",", "-", "=", "", " ", "")
	return r.Replace(strings.TrimSpace(spec))
}

// Shard is the part i of n of a sweep: the runs whose index in the plan is i mod n.
type Shard struct{ Index, Count int }

// All is the whole sweep.
var All = Shard{0, 1}

// ParseShard parses "i/n" with 0 ≤ i < n.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("%w: --shard %q: want i/n with 0 ≤ i < n", ErrConfig, s)
	}
	return Shard{i, n}, nil
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Whole reports whether the shard is the whole sweep.
func (s Shard) Whole() bool { return s.Count <= 1 }

// Select returns the runs of the shard, in plan order.
func (s Shard) Select(runs []Run) []Run {
	if s.Whole() {
		return runs
	}
	var out []Run
	for k, r := range runs {
		if k%s.Count == s.Index {
			out = append(out, r)
		}
	}
	return out
}
