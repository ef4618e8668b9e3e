package experiments

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/smoothl1/smoothl1/dynamic"
	"github.com/smoothl1/smoothl1/recipe"
	"github.com/smoothl1/smoothl1/spec"
	"github.com/smoothl1/smoothl1/static"
)

// pinnedShare is the share of a run's β trace at a clip from which the report says β sat
// there "for most of training".
const pinnedShare = 0.5

// coincideTol is the relative difference of the main metric under which two variants are said
// to coincide in a seed (float sums in another order differ by far less; different losses by
// far more).
const coincideTol = 1e-9

// writeVariantNames lists the variants whose spec, as written, leaves parameters to their
// defaults, with every parameter written out (spec.Spec.Canonical): the report then says,
// e.g., which source Dynamic SmoothL1's statistic was taken of.
func writeVariantNames(b *bytes.Buffer, cfg Config) {
	seen := map[string]bool{}
	var lines []string
	for _, t := range cfg.Tasks {
		for _, v := range cfg.VariantsOf(t) {
			s, err := spec.Parse(v)
			if err != nil || seen[s.Text] {
				continue
			}
			seen[s.Text] = true
			if c := s.Canonical(); c != s.Text {
				lines = append(lines, fmt.Sprintf("- `%s` is `%s`", s.Text, c))
			}
		}
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("\nVariants in full (every parameter written out):\n\n")
	b.WriteString(strings.Join(lines, "\n") + "\n")
	b.WriteString("\n`dsl`'s `source=target` is Dynamic R-CNN's published statistic, e of the regression targets of the " +
		"positive samples (on the detector: the encoded deltas of the positive anchors to their ground truth; on the " +
		"regression task: the noisy labels), with k counted per image (k × images in the batch; the regression task's " +
		"batch is one image); `source=residual` takes e of pred − target instead.\n")
}

// findings are plain sentences on what a task's numbers show, what they do not, and the
// mechanisms behind them: β pinned at a clip, variants that coincide exactly, β that never
// moved.
func findings(tr TaskResult, byID map[string]Record, seeds int) []string {
	var out []string
	main := tr.Metrics[0]
	base := tr.row(tr.Baseline)
	var better, worse []string
	for _, r := range tr.Rows {
		if r.Cmp != nil && r.Cmp.Significant() {
			if strings.HasPrefix(r.Verdict, "better") {
				better = append(better, "`"+r.Variant+"`")
			} else {
				worse = append(worse, "`"+r.Variant+"`")
			}
		}
	}
	switch {
	case base == nil:
		out = append(out, "No baseline finished: nothing was compared.")
	case len(better) == 0 && len(worse) == 0:
		out = append(out, fmt.Sprintf("No variant differs significantly from `%s` in %s over %d seeds. That is not evidence "+
			"that they are equal: with %d seeds only large or very consistent differences can show.", tr.Baseline, main.Label, seeds, seeds))
	default:
		s := fmt.Sprintf("Against `%s` in %s:", tr.Baseline, main.Label)
		if len(better) > 0 {
			s += " better " + strings.Join(better, ", ") + "."
		}
		if len(worse) > 0 {
			s += " worse " + strings.Join(worse, ", ") + "."
		}
		out = append(out, s+" Each holds over the seeds run, after Holm's adjustment; the size of Δ is in the table.")
	}
	out = append(out, coincidences(tr, main.Key)...)
	out = append(out, pinned(tr, byID)...)
	out = append(out, traces(tr)...)
	return out
}

// traces describe how each scheduled variant's β moved (lowest seed, per coordinate), and name
// the mechanism of a Dynamic SmoothL1 of the targets whose β settles after its first update.
func traces(tr TaskResult) []string {
	var out []string
	for _, r := range tr.Rows {
		if len(r.Beta) == 0 {
			continue
		}
		seeds := sortedKeys(r.Beta)
		cols := r.Beta[seeds[0]]
		if len(cols) == 0 || allStill(cols) {
			continue
		}
		var last []string
		changes := 0
		for _, c := range cols {
			last = append(last, short(c.Last))
			changes = max(changes, c.Changes)
		}
		s := fmt.Sprintf("`%s`'s β (seed %d) went from %s to %s (x, y, w, h), changing at %d steps.",
			r.Variant, seeds[0], short(cols[0].First), strings.Join(last, ", "), changes)
		if sp, err := spec.Parse(r.Variant); err == nil && strings.Contains(sp.Canonical(), "source=target") {
			c := cols[0]
			if c.Max == c.First && c.Min > 0 && c.Last > 0 && (c.Last-c.Min)/c.Min < 0.05 {
				s += " Its statistic is of the regression targets, which do not shrink as the model learns " +
					"(this task's targets are fixed: anchors do not move, labels do not change), so after the first " +
					"window β stays near the median of the k-th smallest target e — unlike Dynamic R-CNN's proposals, " +
					"whose targets improve as the RPN trains."
			}
		}
		out = append(out, s)
	}
	return out
}

func allStill(cols []BetaColumn) bool {
	for _, c := range cols {
		if c.Changes > 0 {
			return false
		}
	}
	return true
}

// coincidences finds variants whose main metric is the same in every common seed, and says
// why when the reason is known.
func coincidences(tr TaskResult, key string) []string {
	var out []string
	used := map[int]bool{}
	for i := range tr.Rows {
		if used[i] || len(tr.Rows[i].Seeds) < 2 {
			continue
		}
		group := []string{"`" + tr.Rows[i].Variant + "`"}
		names := []string{tr.Rows[i].Variant}
		for j := i + 1; j < len(tr.Rows); j++ {
			if !used[j] && sameValues(tr.Rows[i], tr.Rows[j], key) {
				used[j] = true
				group = append(group, "`"+tr.Rows[j].Variant+"`")
				names = append(names, tr.Rows[j].Variant)
			}
		}
		if len(group) < 2 {
			continue
		}
		s := fmt.Sprintf("%s coincide: the same %s in every seed, so they trained the same model.", strings.Join(group, " and "), key)
		if why := coincideReason(names); why != "" {
			s += " " + why
		}
		out = append(out, s)
	}
	return out
}

// sameValues reports whether a and b have the same metric in every seed (at least two in
// common).
func sameValues(a, b VariantResult, key string) bool {
	av, bv := map[uint64]float64{}, map[uint64]float64{}
	for i, s := range a.Seeds {
		av[s] = a.Values[key][i]
	}
	for i, s := range b.Seeds {
		bv[s] = b.Values[key][i]
	}
	common := 0
	for s, x := range av {
		y, ok := bv[s]
		if !ok {
			continue
		}
		common++
		if math.Abs(x-y) > coincideTol*math.Max(math.Abs(x), math.Abs(y)) {
			return false
		}
	}
	return common >= 2
}

// coincideReason explains the coincidences whose mechanism is known.
func coincideReason(names []string) string {
	var quad, pinnedL1 bool
	betas, deltas := map[float64]bool{}, map[float64]bool{}
	for _, n := range names {
		s, err := spec.Parse(n)
		if err != nil {
			return ""
		}
		switch s.Name {
		case "l2", "huber", "smoothl1":
			quad = true
		case "sasl", "l1":
			pinnedL1 = true
		}
		switch l := s.Static.(type) {
		case static.SmoothL1:
			betas[l.Beta()] = true
		case static.Huber:
			deltas[l.Delta()] = true
		}
	}
	for d := range deltas {
		if betas[d] {
			return "Huber(δ) = δ·SmoothL1(β = δ): with δ = β the two losses differ only by the factor δ " +
				"(none at δ = 1), and AdamW's update does not depend on the scale of the gradient (up to its ε)."
		}
	}
	switch {
	case quad && !pinnedL1:
		return "Smooth L1 with β above every |d| is ½d²/β, L2 scaled by 1/β (Huber with δ above every |d| is L2 itself), " +
			"and AdamW's update does not depend on the scale of the gradient (up to its ε): the weights follow the same trajectory."
	case pinnedL1:
		return "A self-adjusting β pinned at its lower clip makes Smooth L1 nearly L1 (see below)."
	}
	return ""
}

// pinned says which scheduled variants' β sat at a clip for most of training, and which never
// moved, from the runs' β curves.
func pinned(tr TaskResult, byID map[string]Record) []string {
	var out []string
	steps := tr.Task.Steps
	if steps == 0 {
		steps, _ = jobDefaults(tr.Task.Task)
	}
	for _, r := range tr.Rows {
		if len(r.Beta) == 0 {
			continue
		}
		lo, hi, ok := clips(r.Variant)
		if !ok {
			continue
		}
		var atLo, atHi, points int
		var moved bool
		for _, id := range runIDs(tr, r) {
			rec, ok := byID[id]
			if !ok {
				continue
			}
			for _, col := range rec.Beta {
				moved = moved || col.Changes > 0
			}
			for _, bs := range rec.Curve.Beta {
				for _, v := range bs {
					points++
					if lo > 0 && v <= lo*(1+1e-12) {
						atLo++
					}
					if v >= hi*(1-1e-12) {
						atHi++
					}
				}
			}
		}
		if points == 0 {
			continue
		}
		name := "`" + r.Variant + "`"
		switch {
		case !moved:
			out = append(out, fmt.Sprintf("%s's β never moved from its initial %s in any run: on this schedule it is Smooth L1 at a fixed β.", name, short(hi)))
		case float64(atLo) >= pinnedShare*float64(points):
			out = append(out, fmt.Sprintf("%s's β sat at its lower clip %s for %.0f%% of training (all coordinates and seeds): "+
				"μ − σ² (or μ − σ) of |d| went below it, so the loss was L1 in effect for most of the run.", name, short(lo), 100*float64(atLo)/float64(points)))
		case float64(atHi) >= pinnedShare*float64(points):
			if iv := interval(r.Variant); iv > 0 && steps > 0 && steps < 2*int64(iv) {
				out = append(out, fmt.Sprintf("%s's β stayed at its initial %s for %.0f%% of training: it is updated once every "+
					"%d steps, and this schedule of %d steps completes one window, so most of the run is Smooth L1 at a "+
					"fixed β; the schedule is too short to show the rule.", name, short(hi), 100*float64(atHi)/float64(points), iv, steps))
				continue
			}
			out = append(out, fmt.Sprintf("%s's β sat at its upper bound %s for %.0f%% of training: the statistic stayed above it, "+
				"so the loss was Smooth L1 at that fixed β for most of the run.", name, short(hi), 100*float64(atHi)/float64(points)))
		}
	}
	return out
}

// clips returns the bounds a scheduled variant's β moves between: SASL's [betamin, betamax],
// Dynamic SmoothL1's (0, beta0]. ok is false for static losses and fixed β.
func clips(variant string) (lo, hi float64, ok bool) {
	switch v := scheduler(variant).(type) {
	case *dynamic.SelfAdjusting:
		c := v.Config()
		return c.BetaMin, c.BetaMax, true
	case *dynamic.DynamicRCNN:
		return 0, v.Config().InitBeta, true
	}
	return 0, 0, false
}

// interval is Dynamic SmoothL1's update interval, 0 for other variants.
func interval(variant string) int {
	if v, ok := scheduler(variant).(*dynamic.DynamicRCNN); ok {
		return v.Config().Interval
	}
	return 0
}

// scheduler is a fresh scheduler of a variant's spec, nil for a static loss.
func scheduler(variant string) dynamic.Scheduler {
	s, err := spec.Parse(variant)
	if err != nil || !s.Scheduled() {
		return nil
	}
	sch, err := s.NewScheduler(4)
	if err != nil {
		return nil
	}
	return sch
}

// runIDs are the IDs of a variant's finished runs, by seed.
func runIDs(tr TaskResult, r VariantResult) []string {
	ids := make([]string, 0, len(r.Seeds))
	for _, s := range r.Seeds {
		ids = append(ids, runID(tr.Task, r.Variant, s))
	}
	sort.Strings(ids)
	return ids
}

// caveats say what a built-in task's numbers cannot show.
func caveats(t TaskConfig) []string {
	switch t.Task {
	case recipe.Regress:
		return []string{"The regression task is a controlled model of box regression (a known function, label noise of a " +
			"chosen kind); its held-out L1 is measured against the clean function. It shows how the losses handle that " +
			"noise, not how they rank on a detector."}
	case recipe.Detect:
		return []string{"The detector trains on a small synthetic COCO-format dataset and is scored by COCO AP on its " +
			"validation split; differences here are about this detector and data, and the AP levels are far from COCO's."}
	}
	return nil
}
