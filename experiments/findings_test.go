package experiments

import (
	"bytes"
	"strings"
	"testing"

	"github.com/smoothl1/smoothl1/recipe"
)

// TestFindings: the mechanisms the report names, on records made by hand: two variants with
// the same metric in every seed (Smooth L1 with a large β and L2), a SASL β at its lower clip
// for 80 % of the trace, a DSL β that never moved, and a variant that differs in one seed only
// (not a coincidence).
func TestFindings(t *testing.T) {
	task := TaskConfig{Name: "r", Task: recipe.Regress, Settings: recipe.Settings{Noise: "heavy"}}
	seeds := []uint64{1, 2, 3}
	row := func(v string, vals ...float64) VariantResult {
		return VariantResult{Variant: v, Seeds: seeds, Values: map[string][]float64{"test_l1": vals}}
	}
	sasl := row("sasl:betamax=0.11", 0.5, 0.6, 0.7)
	sasl.Beta = map[uint64][]BetaColumn{1: {{Changes: 9}}, 2: {{Changes: 9}}, 3: {{Changes: 9}}}
	dsl := row("dsl", 0.4, 0.41, 0.42)
	dsl.Beta = map[uint64][]BetaColumn{1: {{Changes: 0}}, 2: {{Changes: 0}}, 3: {{Changes: 0}}}
	settled := row("dsl:interval=50", 0.41, 0.42, 0.43) // β 1 → 0.0992 at the first window, then still
	col := BetaColumn{First: 1, Last: 0.0993, Min: 0.0992, Max: 1, Changes: 7}
	settled.Beta = map[uint64][]BetaColumn{1: {col, col, col, col}}
	tr := TaskResult{Task: task, Metrics: TableMetrics(recipe.Regress), Baseline: "smoothl1:beta=0.11",
		Rows: []VariantResult{row("smoothl1:beta=0.11", 0.3, 0.31, 0.32), row("smoothl1:beta=5", 0.9, 0.8, 0.7),
			row("l2", 0.9, 0.8, 0.7), row("huber:delta=1", 0.9, 0.8, 0.71), sasl, dsl, settled}}
	byID := map[string]Record{}
	for _, s := range seeds {
		var trace [][]float64
		for i := range 10 {
			b := 0.001 // the lower clip for 8 of 10 points
			if i < 2 {
				b = 0.05
			}
			trace = append(trace, []float64{b, b, b, b})
		}
		byID[runID(task, "sasl:betamax=0.11", s)] = Record{Beta: sasl.Beta[s], Curve: Curve{Beta: trace}}
		byID[runID(task, "dsl", s)] = Record{Beta: dsl.Beta[s], Curve: Curve{Beta: [][]float64{{1, 1, 1, 1}}}}
	}
	got := strings.Join(findings(tr, byID, 3), "\n")
	for _, want := range []string{
		"`smoothl1:beta=5` and `l2` coincide", "L2 scaled by 1/β",
		"`sasl:betamax=0.11`'s β sat at its lower clip 0.001 for 80% of training",
		"`dsl`'s β never moved from its initial 1",
		"No variant differs significantly",
		"`dsl:interval=50`'s β (seed 1) went from 1 to 0.0993, 0.0993, 0.0993, 0.0993 (x, y, w, h), changing at 7 steps. Its statistic is of the regression targets",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("findings lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "`huber:delta=1` coincide") || strings.Contains(got, "and `huber:delta=1`") {
		t.Errorf("huber differs in seed 3 but is called a coincidence:\n%s", got)
	}
	var b bytes.Buffer
	writeVariantNames(&b, Config{Variants: []string{"dsl", "smoothl1:beta=0.11"}, Tasks: []TaskConfig{task}})
	if !strings.Contains(b.String(), "`dsl` is `dsl:k=10,interval=100,beta0=1,source=target`") || strings.Contains(b.String(), "`smoothl1:beta=0.11` is") {
		t.Errorf("variant names:\n%s", b.String())
	}
}

// TestFindingsReasons: Huber(δ = 1) and Smooth L1(β = 1) coincide by the identity Huber_δ =
// δ·SmoothL1_δ (not by both being L2); a Dynamic SmoothL1 whose only window ends late in a
// short schedule is said to be too short, not "above its bound".
func TestFindingsReasons(t *testing.T) {
	task := TaskConfig{Name: "r", Task: recipe.Regress, Settings: recipe.Settings{Noise: "heavy", Steps: 120}}
	seeds := []uint64{1, 2, 3}
	row := func(v string, vals ...float64) VariantResult {
		return VariantResult{Variant: v, Seeds: seeds, Values: map[string][]float64{"test_l1": vals}}
	}
	dsl := row("dsl", 0.4, 0.41, 0.42)
	dsl.Beta = map[uint64][]BetaColumn{1: {{Changes: 1}}, 2: {{Changes: 1}}, 3: {{Changes: 1}}}
	tr := TaskResult{Task: task, Metrics: TableMetrics(recipe.Regress), Baseline: "smoothl1:beta=0.11",
		Rows: []VariantResult{row("smoothl1:beta=0.11", 0.3, 0.31, 0.32), row("smoothl1:beta=1", 0.5, 0.6, 0.7),
			row("huber:delta=1", 0.5, 0.6, 0.7), dsl}}
	byID := map[string]Record{}
	for _, s := range seeds {
		var trace [][]float64
		for i := range 12 { // 10 of 12 points at β₀ = 1: the window ends at step 100 of 120
			b := 1.0
			if i >= 10 {
				b = 0.3
			}
			trace = append(trace, []float64{b, b, b, b})
		}
		byID[runID(task, "dsl", s)] = Record{Beta: dsl.Beta[s], Curve: Curve{Beta: trace}}
	}
	got := strings.Join(findings(tr, byID, 3), "\n")
	for _, want := range []string{"Huber(δ) = δ·SmoothL1(β = δ)", "updated once every 100 steps", "too short to show the rule"} {
		if !strings.Contains(got, want) {
			t.Errorf("findings lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "L2 scaled by 1/β") || strings.Contains(got, "the statistic stayed above it") {
		t.Errorf("a wrong mechanism is named:\n%s", got)
	}
}
