package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestTraceHugeFiniteResiduals is the outside check's case: `smoothl1 trace` over a stream
// with a finite residual above 1.3e154 used to abort with "bad summary: Moments.M2[0] = NaN"
// (sasl) and must now run to the end, giving the β of the same stream with that row as NaN
// (oracle: a row excluded either way).
func TestTraceHugeFiniteResiduals(t *testing.T) {
	var huge, nan strings.Builder
	huge.WriteString("step,d0,d1,d2,d3\n")
	nan.WriteString("step,d0,d1,d2,d3\n")
	for step := range 40 {
		for i := range 6 {
			v := 0.02 * float64(1+(step*6+i)%23)
			big, nb := fmt.Sprint(v), fmt.Sprint(v)
			if (step+i)%4 == 0 {
				big, nb = "1.3e154", "NaN"
			}
			fmt.Fprintf(&huge, "%d,%s,%v,%v,%v\n", step, big, 2*v, v/2, 3*v)
			fmt.Fprintf(&nan, "%d,%s,%v,%v,%v\n", step, nb, 2*v, v/2, 3*v)
		}
	}
	for _, spec := range []string{"sasl", "sasl:shared", "dsl:k=3,interval=5"} {
		got, want := runTraceOn(t, spec, huge.String()), runTraceOn(t, spec, nan.String())
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: β with 1.3e154 rows differs from β with NaN rows", spec)
		}
	}
}
