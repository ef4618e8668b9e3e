package trainer

import (
	"math"
	"strings"
	"testing"
)

// TestTotals: the ranks' step reports reduce to the mean loss and parts (a part missing or not
// finite on one rank is left out), the first interrupted rank, and an error naming the rank
// whose β differs from rank 0's in any bit.
func TestTotals(t *testing.T) {
	beta := []float64{0.11, 0.11, 0.2, 0.2}
	reports := []stepReport{
		{Loss: 1, Parts: map[string]float64{"cls": 0.5, "box": 0.25, "only0": 1}, Beta: beta},
		{Loss: 2, Parts: map[string]float64{"cls": 1.5, "box": math.Inf(1)}, Beta: beta, Interrupted: true},
		{Loss: 4, Parts: map[string]float64{"cls": 1, "box": 0}, Beta: beta, Interrupted: true},
	}
	var stop int
	tot, err := totals(reports, &stop)
	if err != nil {
		t.Fatal(err)
	}
	if tot.loss != 7.0/3 || len(tot.parts) != 1 || tot.parts["cls"] != 1 || stop != 2 {
		t.Errorf("totals %+v, stop %d; want loss 7/3, parts {cls: 1}, stop 2 (rank 1)", tot, stop)
	}
	nan := []stepReport{{Loss: 1, Beta: beta}, {Loss: math.NaN(), Beta: beta}}
	if tot, err := totals(nan, &stop); err != nil || !math.IsNaN(tot.loss) {
		t.Errorf("a NaN loss on one rank: %v, %v; want a NaN total (every rank skips the update)", tot.loss, err)
	}
	other := append([]float64{}, beta...)
	other[2] = math.Nextafter(0.2, 1)
	reports[2].Beta = other
	if _, err := totals(reports, &stop); err == nil || !strings.Contains(err.Error(), "rank 2's [0.11 0.11 0.20000000000000004 0.2]") {
		t.Errorf("β one ulp apart on rank 2: error %v, want one naming rank 2 and its β", err)
	}
}
