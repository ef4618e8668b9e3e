package distributed

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	tt "github.com/smoothl1/smoothl1/torchthread"
)

// idleEnv lists the ranks of roleHang that never enter the collective.
const idleEnv = roleEnv + "_IDLE"

func fail(err error, log []string) result {
	res := result{Err: err.Error(), Log: log}
	var re *RankError
	if errors.As(err, &re) {
		res.Ranks = re.Ranks
	}
	return res
}

// values returns tensor i of rank r of the collectives' checks: n numbers in [-1, 1).
func values(r, i, n int) []float64 {
	rng := rand.New(rand.NewPCG(uint64(r), uint64(i)))
	v := make([]float64, n)
	for j := range v {
		v[j] = rng.Float64()*2 - 1
	}
	return v
}

// The shapes of the all-reduce check: several ranks of tensor, an empty one, both float
// dtypes, and (with a 64-byte bucket) tensors that fill, straddle and exceed a bucket.
var reduceShapes = []struct {
	shape  []int64
	double bool
}{
	{[]int64{3, 4}, false}, {[]int64{1}, false}, {[]int64{0, 3}, false}, {[]int64{5, 7, 2}, false},
	{[]int64{6}, true}, {[]int64{2, 2}, true}, {[]int64{257}, false}, {[]int64{16}, false}, {[]int64{3}, false},
	{[]int64{0}, true}, // alone in a bucket: nothing to send
}

func numel(shape []int64) int {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	return n
}

// meanOf returns the elementwise mean of the ranks' tensor i as the collective computes it in
// the tensor's dtype: with two ranks (a+b)/2, one rounding in the sum and an exact halving, so
// the all-reduce must match it bit for bit.
func meanOf(world, i int, shape []int64, double bool) []float64 {
	n := numel(shape)
	out := make([]float64, n)
	for j := range n {
		if double {
			var s float64
			for r := range world {
				s += values(r, i, n)[j]
			}
			out[j] = s / float64(world)
		} else {
			var s float32
			for r := range world {
				s += float32(values(r, i, n)[j])
			}
			out[j] = float64(s / float32(world))
		}
	}
	return out
}

func tensorOf(v []float64, shape []int64, double bool) (*ts.Tensor, error) {
	if double {
		return tt.FromSlice(v, shape...)
	}
	f := make([]float32, len(v))
	for j, x := range v {
		f[j] = float32(x)
	}
	return tt.FromSlice(f, shape...)
}

func readBack(t *ts.Tensor, double bool) ([]float64, error) {
	n := int(t.Numel())
	if double {
		out := make([]float64, n)
		return out, tt.CopyTo(out, t)
	}
	f := make([]float32, n)
	if err := tt.CopyTo(f, t); err != nil {
		return nil, err
	}
	out := make([]float64, n)
	for j, x := range f {
		out[j] = float64(x)
	}
	return out, nil
}

// roleCollectives checks every collective against what it must compute.
func roleCollectives(cfg Config) result {
	g, err := New(cfg)
	if err != nil {
		return fail(err, nil)
	}
	defer g.Close()
	var log []string
	r, world := g.Rank(), g.WorldSize()

	// All-reduce.
	err = tt.Do(func() error {
		var tmp tt.Scratch
		defer tmp.Drop()
		var tensors []*ts.Tensor
		for i, s := range reduceShapes {
			tensors = append(tensors, tmp.Add(tt.Must(tensorOf(values(r, i, numel(s.shape)), s.shape, s.double))))
		}
		tt.Check(g.AllReduceMean(tensors))
		for i, s := range reduceShapes {
			got := tt.Must(readBack(tensors[i], s.double))
			if want := meanOf(world, i, s.shape, s.double); !slices.Equal(got, want) {
				return fmt.Errorf("allreduce: tensor %d %v: got %v, want %v", i, s.shape, got, want)
			}
		}
		log = append(log, fmt.Sprintf("allreduce of %d tensors: exact", len(tensors)))
		// Half: each rank's numbers are rounded to half, summed, rounded again and halved, so the
		// mean is within a half's rounding (2⁻¹¹ relative, under 1e-3 in [-1, 1]) of float32's.
		f := tmp.Add(tt.Must(tensorOf(values(r, 99, 7), []int64{7}, false)))
		h := tmp.Add(tt.Must(f.Totype(gotch.Half, false)))
		tt.Check(g.AllReduceMean([]*ts.Tensor{h}))
		back := tmp.Add(tt.Must(h.Totype(gotch.Float, false)))
		got := tt.Must(readBack(back, false))
		for j, want := range meanOf(world, 99, []int64{7}, false) {
			if math.Abs(got[j]-want) > 1e-3 {
				return fmt.Errorf("allreduce of a Half tensor: element %d is %v, want %v within 1e-3", j, got[j], want)
			}
		}
		log = append(log, "allreduce of a Half tensor: within 1e-3")
		// A mistake of the caller's is reported, and does not fail the group.
		n := tmp.Add(tt.Must(tt.FromSlice([]int64{1, 2}, 2)))
		err := g.AllReduceMean([]*ts.Tensor{tensors[0], n})
		if err == nil || !strings.Contains(err.Error(), "tensor 1 has dtype Long") {
			return fmt.Errorf("allreduce of an int64 tensor: got %v, want an error naming tensor 1's dtype", err)
		}
		log = append(log, "allreduce of an int64 tensor: "+err.Error())
		tt.Check(g.AllReduceMean(nil))
		return nil
	})
	if err != nil {
		return fail(err, log)
	}

	// Broadcast from every root, of a parameter that requires grad and an int64 tensor.
	for root := range world {
		err = tt.Do(func() error {
			var tmp tt.Scratch
			defer tmp.Drop()
			w := tmp.Add(tt.Must(tt.FromSlice([]float32{float32(r), float32(10 * r), 0.5}, 3)))
			w = tmp.Add(tt.Must(w.SetRequiresGrad(true, false)))
			k := tmp.Add(tt.Must(tt.FromSlice([]int64{int64(r), -int64(r), 7, 8}, 2, 2)))
			tt.Check(g.Broadcast([]*ts.Tensor{w, k}, root))
			gw := make([]float32, 3)
			gk := make([]int64, 4)
			tt.Check(tt.CopyTo(gw, w))
			tt.Check(tt.CopyTo(gk, k))
			if !slices.Equal(gw, []float32{float32(root), float32(10 * root), 0.5}) ||
				!slices.Equal(gk, []int64{int64(root), -int64(root), 7, 8}) {
				return fmt.Errorf("broadcast from %d: got %v and %v", root, gw, gk)
			}
			return nil
		})
		if err != nil {
			return fail(err, log)
		}
		log = append(log, fmt.Sprintf("broadcast from rank %d: equal", root))
	}
	if err := g.Broadcast(nil, world); err == nil {
		return fail(fmt.Errorf("broadcast from rank %d of %d: no error", world, world), log)
	}

	// All-gather of buffers of different lengths (rank 0's empty), then of empty ones only.
	mine := []byte(strings.Repeat(string(rune('a'+r)), 3*r))
	got, err := g.AllGather(mine)
	if err != nil {
		return fail(err, log)
	}
	for q := range world {
		if want := strings.Repeat(string(rune('a'+q)), 3*q); string(got[q]) != want {
			return fail(fmt.Errorf("allgather: rank %d's buffer is %q, want %q", q, got[q], want), log)
		}
	}
	log = append(log, fmt.Sprintf("allgather: %q", got))
	if got, err = g.AllGather(nil); err != nil || len(got) != world || len(got[world-1]) != 0 {
		return fail(fmt.Errorf("allgather of empty buffers: %q, %v", got, err), log)
	}

	if err := g.Barrier(); err != nil {
		return fail(err, log)
	}
	log = append(log, "barrier")
	return result{Log: log}
}

// roleHang meets the others, then enters the collective of opEnv (allreduce or barrier),
// except the ranks of idleEnv, which sleep until they are killed.
func roleHang(cfg Config) result {
	g, err := New(cfg)
	if err != nil {
		return fail(err, nil)
	}
	defer g.Close()
	if err := g.Barrier(); err != nil {
		return fail(err, nil)
	}
	idle := slices.Contains(strings.Split(os.Getenv(idleEnv), ","), strconv.Itoa(g.Rank()))
	fmt.Println(readyLine)
	if idle {
		time.Sleep(time.Hour)
	}
	start := time.Now()
	switch op := os.Getenv(opEnv); op {
	case "barrier":
		err = g.Barrier()
	case "allreduce":
		err = tt.Do(func() error {
			x := tt.Must(tt.FromSlice(make([]float32, 1000), 1000))
			defer x.MustDrop()
			return g.AllReduceMean([]*ts.Tensor{x})
		})
	default:
		err = fmt.Errorf("unknown op %q", op)
	}
	elapsed := time.Since(start)
	if err == nil {
		return result{Elapsed: elapsed}
	}
	res := fail(err, nil)
	res.Elapsed = elapsed
	// The group stays failed.
	if err2 := g.Barrier(); err2 == nil || err2.Error() != err.Error() {
		res.Log = append(res.Log, fmt.Sprintf("a barrier after the failure: %v", err2))
	}
	return res
}

// roleOutOfStep makes the ranks disagree on their first collective, as opEnv says: "shapes"
// (tensors of 10 and 12 numbers), "ops" (an all-reduce and a barrier), "root" (each rank
// broadcasts from itself).
func roleOutOfStep(cfg Config) result {
	g, err := New(cfg)
	if err != nil {
		return fail(err, nil)
	}
	defer g.Close()
	r := g.Rank()
	err = tt.Do(func() error {
		x := tt.Must(tt.FromSlice(make([]float32, 10+2*r), int64(10+2*r)))
		defer x.MustDrop()
		switch op := os.Getenv(opEnv); {
		case op == "shapes":
			return g.AllReduceMean([]*ts.Tensor{x})
		case op == "ops" && r == 0:
			return g.AllReduceMean([]*ts.Tensor{x})
		case op == "ops":
			return g.Barrier()
		case op == "root":
			return g.Broadcast(nil, r)
		default:
			return fmt.Errorf("unknown op %q", op)
		}
	})
	if err == nil {
		return result{}
	}
	return fail(err, nil)
}

// roleSlurm is a task of an srun step: its configuration comes from Slurm's environment.
func roleSlurm(Config) result {
	cfg, ok, err := FromSlurm()
	if err != nil || !ok {
		return fail(fmt.Errorf("FromSlurm: ok %v, %v", ok, err), nil)
	}
	cfg.Timeout = 20 * time.Second
	g, err := New(cfg)
	if err != nil {
		return fail(err, nil)
	}
	defer g.Close()
	got, err := g.AllGather([]byte(strconv.Itoa(cfg.Rank)))
	if err != nil {
		return fail(err, nil)
	}
	return result{Log: []string{fmt.Sprintf("rank %d of %d, master %s, gathered %q", cfg.Rank, cfg.WorldSize, cfg.Master, got)}}
}

// benchShapes are tensors of about 650k float32 numbers, the detector's parameter count, in
// 40 tensors of different sizes.
func benchShapes() [][]int64 {
	var shapes [][]int64
	for i := range 40 {
		shapes = append(shapes, []int64{int64(1000 + 800*i)})
	}
	return shapes
}

// itersEnv is the number of calls roleBench times.
const itersEnv = roleEnv + "_ITERS"

// roleBench times AllReduceMean of benchShapes, then Barrier: the mean time of itersEnv calls
// of each, after 3 all-reduces.
func roleBench(cfg Config) result {
	g, err := New(cfg)
	if err != nil {
		return fail(err, nil)
	}
	defer g.Close()
	iters, _ := strconv.Atoi(os.Getenv(itersEnv))
	iters = max(iters, 1)
	var ms, barrier float64
	total := 0
	err = tt.Do(func() error {
		var tmp tt.Scratch
		defer tmp.Drop()
		var tensors []*ts.Tensor
		for _, s := range benchShapes() {
			total += numel(s)
			tensors = append(tensors, tmp.Add(tt.Must(tt.FromSlice(make([]float32, numel(s)), s...))))
		}
		for range 3 {
			tt.Check(g.AllReduceMean(tensors))
		}
		start := time.Now()
		for range iters {
			tt.Check(g.AllReduceMean(tensors))
		}
		ms = float64(time.Since(start).Microseconds()) / 1000 / float64(iters)
		// A barrier is the header exchange alone, which every collective begins with.
		start = time.Now()
		for range iters {
			tt.Check(g.Barrier())
		}
		barrier = float64(time.Since(start).Microseconds()) / 1000 / float64(iters)
		return nil
	})
	if err != nil {
		return fail(err, nil)
	}
	return result{Millis: ms, BarrierMillis: barrier, Log: []string{fmt.Sprintf("%d float32 in %d tensors", total, len(benchShapes()))}}
}
