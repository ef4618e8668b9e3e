package dynamic

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzRestore restores arbitrary bytes into every kind of scheduler (schedulerCases: per-column
// and shared SelfAdjusting, DynamicRCNN, Fixed), picked by which. The CRC-32 stops almost every
// mutation at the envelope, so with reseal the blob is first given a correct checksum (its
// envelope decoded loosely and encoded again), which lets mutations of the config and state
// reach the value checks.
//
// Invariants: no panic; a failed Restore leaves State() and Beta() as they were; after a
// successful one, State() restores into a fresh scheduler of the same configuration to the
// identical bytes, every β is finite and > 0, and the scheduler observes a valid summary with
// no error, its β still finite and > 0 and its state still encodable.
func FuzzRestore(f *testing.F) {
	cases := schedulerCases()
	rng := rand.New(rand.NewPCG(71, 72))
	stream := randomStream(rng, 30, 4, []int{0, 1, 3, 50}, 0.1)
	for i, tc := range cases {
		s := tc.make()
		blob, _ := s.State()
		f.Add(blob, uint8(i), false) // fresh
		for k, b := range stream {
			if _, err := Step(s, b.pred, b.target, 4, nil, nil); err != nil {
				f.Fatal(err)
			}
			if k == 5 || k == len(stream)-1 {
				blob, _ = s.State()
				f.Add(blob, uint8(i), false)
				f.Add(blob, uint8(i), true)
				var pretty bytes.Buffer
				json.Indent(&pretty, blob, "", "  ")
				f.Add(pretty.Bytes(), uint8(i), false)
				f.Add(blob[:len(blob)/2], uint8(i), false)
				f.Add(blob[:len(blob)-1], uint8(i), true)
				flipped := bytes.Clone(blob)
				flipped[len(flipped)/3] ^= 4
				f.Add(flipped, uint8(i), false)
				f.Add(flipped, uint8(i), true)
				f.Add(blob, uint8(i+1), false) // another kind's state
			}
		}
	}
	f.Add([]byte(nil), uint8(0), false)
	f.Add([]byte("{}"), uint8(0), true)
	f.Add([]byte(`{"format":"smoothl1.dynamic.state","kind":"dynrcnn","version":1,"dim":4,"config":{"k":4,"interval":7,"init_beta":1},"state":{"beta":1e-300,"next":-1,"has_next":false,"window":[0,1e308,5e-324],"counts":{"batches":9223372036854775807,"empty":0,"skipped_rows":0}},"crc32":0}`), uint8(2), true)
	f.Add([]byte(`{"format":"smoothl1.dynamic.state","kind":"sasl","version":1,"dim":4,"config":{"momentum":0.1,"beta_max":0.11,"beta_min":0.001,"init_mean":0.11,"init_var":0,"shared":false,"spread":"var"},"state":{"mean":[1.7976931348623157e308,-1.7976931348623157e308,0,0],"var":[1.7976931348623157e308,0,0,5e-324],"counts":{"batches":1,"empty":1,"skipped_rows":3}},"crc32":0}`), uint8(0), true)

	pred := []float32{0.1, -0.2, 0.3, 0.05, 1, 2, -3, 0.5, 0.01, 0.02, 0.03, 0.04}
	target := make([]float32, len(pred))
	f.Fuzz(func(t *testing.T, blob []byte, which uint8, reseal bool) {
		tc := cases[int(which)%len(cases)]
		if reseal {
			blob = resealState(blob)
		}
		s := tc.make()
		for _, b := range stream[:3] { // a state that is not the fresh one
			if _, err := Step(s, b.pred, b.target, 4, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		before, _ := s.State()
		betaBefore := s.Beta(nil)
		if err := s.Restore(blob); err != nil {
			after, _ := s.State()
			if !bytes.Equal(before, after) || !sameFloats(betaBefore, s.Beta(nil)) {
				t.Fatalf("%s: Restore failed (%v) but changed the scheduler:\n%s\n%s", tc.name, err, before, after)
			}
			return
		}
		state, err := s.State()
		if err != nil {
			t.Fatalf("%s: State after Restore: %v", tc.name, err)
		}
		fresh := tc.make()
		if err := fresh.Restore(state); err != nil {
			t.Fatalf("%s: the state of a restored scheduler does not restore: %v\n%s", tc.name, err, state)
		}
		if again, _ := fresh.State(); !bytes.Equal(again, state) {
			t.Fatalf("%s: state changed through Restore:\n%s\n%s", tc.name, state, again)
		}
		checkBeta(t, tc.name+" restored", s.Beta(nil))
		var sum Summary
		Summarize(pred, target, 4, s.Requirement(), &sum)
		if err := s.Observe(&sum); err != nil {
			t.Fatalf("%s: Observe after Restore: %v\n%s", tc.name, err, state)
		}
		checkBeta(t, tc.name+" after Observe", s.Beta(nil))
		if _, err := s.State(); err != nil {
			t.Fatalf("%s: State after Observe: %v", tc.name, err)
		}
	})
}

// resealState returns blob with its envelope's checksum made right, or blob itself if the
// envelope does not decode.
func resealState(blob []byte) []byte {
	var env envelope
	if json.Unmarshal(blob, &env) != nil || !json.Valid(env.Config) || !json.Valid(env.State) {
		return blob
	}
	sum, err := checksum(env.Kind, env.Version, env.Dim, env.Config, env.State)
	if err != nil {
		return blob
	}
	env.CRC32 = sum
	out, err := json.Marshal(env)
	if err != nil {
		return blob
	}
	return out
}

func checkBeta(t *testing.T, what string, beta []float64) {
	t.Helper()
	for j, b := range beta {
		if !(b > 0) || math.IsInf(b, 0) {
			t.Fatalf("%s: β%d = %v, want finite and > 0", what, j, b)
		}
	}
}

func sameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}
