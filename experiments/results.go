package experiments

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/smoothl1/smoothl1/recipe"
	"github.com/smoothl1/smoothl1/spec"
)

// Metric is a number the tables report.
type Metric = recipe.Metric

// TableMetrics are the metrics of a task kind's table (recipe.Kind.Metrics with Table set);
// the first is the main one, the one the baseline is chosen on and the paired tests compare.
func TableMetrics(task string) []Metric {
	k, err := recipe.Lookup(task)
	if err != nil {
		return nil
	}
	var out []Metric
	for _, m := range k.Metrics {
		if m.Table {
			out = append(out, m)
		}
	}
	return out
}

// TaskResult is the analysis of one task of a sweep.
type TaskResult struct {
	Task    TaskConfig
	Metrics []Metric
	// Baseline is the fixed-β variant the others are compared with ("" when none has a
	// finished run); BaselineRule says how it was chosen.
	Baseline, BaselineRule string
	Rows                   []VariantResult // in config order
	Planned, Finished      int             // runs
	Missing                []string        // IDs of planned runs without a record
}

// VariantResult is one variant of a task over its seeds.
type VariantResult struct {
	Variant  string
	Seeds    []uint64             // seeds with a finished, non-diverged run, ascending
	Values   map[string][]float64 // per metric key, parallel to Seeds
	Diverged []uint64
	Summary  map[string]Summary
	// Cmp compares the main metric with the baseline's, seed by seed; nil for the baseline
	// itself and when there is no baseline.
	Cmp     *Comparison
	Verdict string
	// Scheduled variants (sasl, dsl, fixed): the β of each record, by seed.
	Beta map[uint64][]BetaColumn
}

// Analyze matches the records to the config's plan and computes every task's table: the
// summaries, the baseline, the paired comparisons with Holm's adjustment and the verdicts.
// Records of runs the config does not plan are ignored.
func Analyze(cfg Config, recs []Record) ([]TaskResult, error) {
	plan, err := cfg.Plan()
	if err != nil {
		return nil, err
	}
	byID := map[string]Record{}
	for _, r := range recs {
		byID[r.ID] = r
	}
	var out []TaskResult
	for _, t := range cfg.Tasks {
		tr := TaskResult{Task: t, Metrics: TableMetrics(t.Task)}
		rows := map[string]*VariantResult{}
		for _, v := range cfg.VariantsOf(t) {
			s, _ := spec.Parse(v)
			tr.Rows = append(tr.Rows, VariantResult{Variant: s.Text, Values: map[string][]float64{},
				Summary: map[string]Summary{}, Beta: map[uint64][]BetaColumn{}})
		}
		for i := range tr.Rows {
			rows[tr.Rows[i].Variant] = &tr.Rows[i]
		}
		for _, r := range plan {
			if r.Task.Name != t.Name {
				continue
			}
			tr.Planned++
			rec, ok := byID[r.ID]
			if !ok || !rec.sameRun(r) {
				tr.Missing = append(tr.Missing, r.ID)
				continue
			}
			tr.Finished++
			row := rows[r.Variant]
			if rec.Status != StatusOK {
				row.Diverged = append(row.Diverged, r.Seed)
				continue
			}
			row.Seeds = append(row.Seeds, r.Seed)
			for _, m := range tr.Metrics {
				v, ok := rec.Metrics[m.Key]
				if !ok {
					v = math.NaN()
				}
				row.Values[m.Key] = append(row.Values[m.Key], v)
			}
			if s, _ := spec.Parse(r.Variant); s.Scheduled() && rec.Beta != nil {
				row.Beta[r.Seed] = rec.Beta
			}
		}
		main := tr.Metrics[0]
		for i := range tr.Rows {
			for _, m := range tr.Metrics {
				tr.Rows[i].Summary[m.Key] = Summarize(tr.Rows[i].Values[m.Key])
			}
		}
		tr.pickBaseline(main)
		tr.compare(main)
		out = append(out, tr)
	}
	return out, nil
}

// pickBaseline sets the baseline: the config's, else the smoothl1 variant with the best mean
// main metric (the first in config order on a tie).
func (tr *TaskResult) pickBaseline(main Metric) {
	if tr.Task.Baseline != "" {
		s, _ := spec.Parse(tr.Task.Baseline)
		tr.Baseline = s.Text
		tr.BaselineRule = "named in the sweep config"
		return
	}
	best := math.NaN()
	for _, r := range tr.Rows {
		s, _ := spec.Parse(r.Variant)
		m := r.Summary[main.Key].Mean
		if s.Name != "smoothl1" || math.IsNaN(m) {
			continue
		}
		if math.IsNaN(best) || (main.Lower && m < best) || (!main.Lower && m > best) {
			best, tr.Baseline = m, r.Variant
		}
	}
	dir := "highest"
	if main.Lower {
		dir = "lowest"
	}
	tr.BaselineRule = fmt.Sprintf("best fixed β: the smoothl1 variant with the %s mean %s", dir, main.Label)
}

// compare runs the paired comparisons with the baseline on the main metric and sets verdicts.
func (tr *TaskResult) compare(main Metric) {
	base := tr.row(tr.Baseline)
	var family []*Comparison
	for i := range tr.Rows {
		r := &tr.Rows[i]
		switch {
		case base == nil:
			r.Verdict = "no baseline to compare with"
			continue
		case r == base:
			r.Verdict = "baseline"
			continue
		}
		var x, b []float64
		for k, s := range r.Seeds {
			if j := indexOf(base.Seeds, s); j >= 0 {
				x = append(x, r.Values[main.Key][k])
				b = append(b, base.Values[main.Key][j])
			}
		}
		c := Compare(x, b)
		r.Cmp = &c
		family = append(family, r.Cmp)
	}
	AdjustHolm(family)
	for i := range tr.Rows {
		r := &tr.Rows[i]
		if r.Cmp == nil {
			continue
		}
		r.Verdict = verdict(*r.Cmp, main)
	}
}

func verdict(c Comparison, main Metric) string {
	switch {
	case c.Test == NoTest && c.P == 1:
		return "no significant difference (identical results)"
	case c.Test == NoTest:
		return "not tested: " + c.Note
	case c.Significant():
		v := "worse than the baseline"
		if (c.MeanDiff < 0) == main.Lower {
			v = "better than the baseline"
		}
		if c.Note != "" {
			v += " (" + c.Note + ")"
		}
		return v
	case c.Note != "":
		return "no significant difference (" + c.Note + ")"
	}
	return "no significant difference"
}

func (tr *TaskResult) row(variant string) *VariantResult {
	for i := range tr.Rows {
		if tr.Rows[i].Variant == variant {
			return &tr.Rows[i]
		}
	}
	return nil
}

func indexOf(xs []uint64, x uint64) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// ResultsCSV is results.csv: one row per task, variant and table metric, with the paired
// comparison on the main metric's rows. Numbers are written so that they parse back exactly.
func ResultsCSV(results []TaskResult) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"task", "kind", "setting", "metric", "better", "variant", "n", "mean", "sd", "ci95_low", "ci95_high",
		"baseline", "n_pairs", "mean_diff", "test", "statistic", "normality_p", "p", "p_holm", "verdict", "per_seed", "diverged_seeds"})
	for _, tr := range results {
		for _, r := range tr.Rows {
			for mi, m := range tr.Metrics {
				s := r.Summary[m.Key]
				better := "higher"
				if m.Lower {
					better = "lower"
				}
				rec := []string{tr.Task.Name, tr.Task.Task, setting(tr.Task), m.Key, better, r.Variant, strconv.Itoa(s.N),
					num(s.Mean), num(s.SD), num(s.Low), num(s.High), tr.Baseline}
				if mi == 0 && r.Cmp != nil {
					c := r.Cmp
					rec = append(rec, strconv.Itoa(c.N), num(c.MeanDiff), c.Test.String(), num(c.Statistic), num(c.NormalityP),
						num(c.P), num(c.PHolm), r.Verdict)
				} else if mi == 0 {
					rec = append(rec, "", "", "", "", "", "", "", r.Verdict)
				} else {
					rec = append(rec, "", "", "", "", "", "", "", "")
				}
				rec = append(rec, perSeed(r, m.Key, func(v float64) string { return num(v) }), seedList(r.Diverged))
				w.Write(rec)
			}
		}
	}
	w.Flush()
	return buf.Bytes()
}

// num formats v exactly; NaN is empty.
func num(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func perSeed(r VariantResult, key string, f func(float64) string) string {
	parts := make([]string, len(r.Seeds))
	for i, s := range r.Seeds {
		parts[i] = fmt.Sprintf("s%d=%s", s, f(r.Values[key][i]))
	}
	return strings.Join(parts, " ")
}

func seedList(seeds []uint64) string {
	parts := make([]string, len(seeds))
	for i, s := range seeds {
		parts[i] = "s" + strconv.FormatUint(s, 10)
	}
	return strings.Join(parts, " ")
}

// setting describes a task's data: the noise of the regression task, the detector's dataset.
func setting(t TaskConfig) string {
	if k, err := recipe.Lookup(t.Task); err == nil && k.Setting != nil {
		return k.Setting(t.Settings)
	}
	if t.Data != "" {
		return "dataset " + t.Data
	}
	return "default data"
}

// ResultsMarkdown is results.md: a table per task.
func ResultsMarkdown(results []TaskResult) []byte {
	var b bytes.Buffer
	b.WriteString("# Results\n\n")
	b.WriteString(statsLegend)
	for _, tr := range results {
		fmt.Fprintf(&b, "\n## %s\n\n", tr.Task.Name)
		writeTaskTable(&b, tr)
	}
	return b.Bytes()
}

const statsLegend = "Mean ± half-width of the 95% confidence interval (Student's t) over seeds; " +
	"Δ is the mean paired difference from the baseline (same seeds); p is the two-sided p-value of the " +
	"paired test on the main metric and p (Holm) its Holm-adjusted value over the task's variants. " +
	"A difference counts only when p (Holm) < 0.05.\n"

func writeTaskTable(b *bytes.Buffer, tr TaskResult) {
	main := tr.Metrics[0]
	fmt.Fprintf(b, "%s, %s; baseline **%s** (%s); %d of %d runs finished.\n\n",
		tr.Task.Task, setting(tr.Task), orNone(tr.Baseline), tr.BaselineRule, tr.Finished, tr.Planned)
	b.WriteString("| variant |")
	for _, m := range tr.Metrics {
		fmt.Fprintf(b, " %s |", m.Label)
	}
	fmt.Fprintf(b, " %s per seed | Δ %s | test | p | p (Holm) | verdict |\n", main.Label, main.Label)
	b.WriteString("|---|" + strings.Repeat("---:|", len(tr.Metrics)) + "---|---:|---|---:|---:|---|\n")
	for _, r := range tr.Rows {
		name := "`" + r.Variant + "`"
		if r.Variant == tr.Baseline {
			name = "**" + name + "**"
		}
		fmt.Fprintf(b, "| %s |", name)
		for _, m := range tr.Metrics {
			fmt.Fprintf(b, " %s |", meanCI(r.Summary[m.Key]))
		}
		seeds := perSeed(r, main.Key, short)
		if len(r.Diverged) > 0 {
			seeds = strings.TrimSpace(seeds + " " + seedList(r.Diverged) + " diverged")
		}
		fmt.Fprintf(b, " %s |", orDash(seeds))
		if c := r.Cmp; c != nil {
			fmt.Fprintf(b, " %s | %s | %s | %s |", signed(c.MeanDiff), c.Test, pval(c.P), pval(c.PHolm))
		} else {
			b.WriteString(" | | | |")
		}
		fmt.Fprintf(b, " %s |\n", r.Verdict)
	}
	if len(tr.Missing) > 0 {
		fmt.Fprintf(b, "\nMissing runs (%d): %s\n", len(tr.Missing), strings.Join(tr.Missing, ", "))
	}
}

// short formats a metric with 4 significant digits.
func short(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func meanCI(s Summary) string {
	switch {
	case s.N == 0:
		return "n/a"
	case s.N == 1:
		return short(s.Mean) + " (1 seed)"
	}
	return short(s.Mean) + " ± " + strconv.FormatFloat(s.HalfWidth(), 'g', 2, 64)
}

func signed(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	s := strconv.FormatFloat(v, 'g', 3, 64)
	if v >= 0 {
		s = "+" + s
	}
	return s
}

func pval(p float64) string {
	if math.IsNaN(p) {
		return ""
	}
	if p < 1e-4 {
		return "<0.0001"
	}
	return strconv.FormatFloat(p, 'g', 2, 64)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[uint64]V) []uint64 {
	var ks []uint64
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}
