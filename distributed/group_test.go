package distributed

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCollectivesTwoRanks(t *testing.T) {
	for _, bucket := range []string{"0", "64"} {
		t.Run("bucket="+bucket, func(t *testing.T) {
			procs := spawn(t, "collectives", 2, []int{0, 1}, 20*time.Second, bucketEnv+"="+bucket)
			for _, p := range procs {
				res := p.result(t, 60*time.Second)
				if res.Err != "" {
					t.Errorf("rank %d: %s\n%s", p.rank, res.Err, strings.Join(res.Log, "\n"))
				}
				t.Logf("rank %d: %s", p.rank, strings.Join(res.Log, "; "))
			}
		})
	}
}

// hangRun starts role hang: the ranks of idle meet the others and then never enter op. It
// returns the processes once every rank is ready, that is, once the working ranks are about to
// enter op.
func hangRun(t *testing.T, world int, idle string, op string, timeout time.Duration) []*rankProc {
	t.Helper()
	ranks := make([]int, world)
	for r := range ranks {
		ranks[r] = r
	}
	procs := spawn(t, "hang", world, ranks, timeout, idleEnv+"="+idle, opEnv+"="+op)
	for _, p := range procs {
		p.await(t, readyLine, 60*time.Second)
	}
	return procs
}

// A rank killed while the others are in a collective: they fail within the timeout (at once,
// plus the staleAfter it takes to see that its heartbeat stopped) with an error naming it.
func TestKilledRank(t *testing.T) {
	t.Parallel()
	const timeout = 10 * time.Second
	for _, op := range []string{"allreduce", "barrier"} {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			procs := hangRun(t, 2, "1", op, timeout)
			time.Sleep(200 * time.Millisecond) // rank 0 is in the collective
			procs[1].kill(t)
			res := procs[0].result(t, 2*timeout)
			t.Logf("rank 0 after %v: %s", res.Elapsed, res.Err)
			if !strings.Contains(res.Err, "distributed: "+op+": rank 1 (pid ") || !strings.Contains(res.Err, "is gone") ||
				!slices.Equal(res.Ranks, []int{1}) {
				t.Errorf("rank 0: got %q (ranks %v), want rank 1 named as gone", res.Err, res.Ranks)
			}
			if res.Elapsed >= timeout {
				t.Errorf("rank 0 failed after %v, want less than the timeout %v", res.Elapsed, timeout)
			}
			if len(res.Log) > 0 {
				t.Errorf("rank 0: %v", res.Log)
			}
		})
	}
}

// Rank 0 killed: it hosted the store, which goes with it; the others name it.
func TestKilledStoreHost(t *testing.T) {
	t.Parallel()
	const timeout = 10 * time.Second
	procs := hangRun(t, 2, "0", "allreduce", timeout)
	time.Sleep(200 * time.Millisecond)
	procs[0].kill(t)
	res := procs[1].result(t, 2*timeout)
	t.Logf("rank 1 after %v: %s", res.Elapsed, res.Err)
	if !strings.Contains(res.Err, "distributed: allreduce: rank 0 (pid ") || !strings.Contains(res.Err, "is gone: its store at 127.0.0.1:") ||
		!slices.Equal(res.Ranks, []int{0}) {
		t.Errorf("rank 1: got %q (ranks %v), want rank 0 named as gone", res.Err, res.Ranks)
	}
	if res.Elapsed >= timeout {
		t.Errorf("rank 1 failed after %v, want less than the timeout %v", res.Elapsed, timeout)
	}
}

// With three ranks, both survivors name the killed one.
func TestKilledRankOfThree(t *testing.T) {
	t.Parallel()
	const timeout = 10 * time.Second
	procs := hangRun(t, 3, "1", "allreduce", timeout)
	time.Sleep(200 * time.Millisecond)
	procs[1].kill(t)
	for _, p := range []*rankProc{procs[0], procs[2]} {
		res := p.result(t, 2*timeout)
		t.Logf("rank %d after %v: %s", p.rank, res.Elapsed, res.Err)
		if !strings.Contains(res.Err, "rank 1 (pid ") || !strings.Contains(res.Err, "is gone") || !slices.Equal(res.Ranks, []int{1}) {
			t.Errorf("rank %d: got %q (ranks %v), want rank 1 named as gone", p.rank, res.Err, res.Ranks)
		}
		if res.Elapsed >= timeout {
			t.Errorf("rank %d failed after %v, want less than the timeout %v", p.rank, res.Elapsed, timeout)
		}
	}
}

// A rank that is alive but never enters the collective: the others fail after the timeout
// (plus staleAfter), naming it as alive but late.
func TestLateRank(t *testing.T) {
	t.Parallel()
	const timeout = 2 * time.Second
	procs := hangRun(t, 2, "1", "barrier", timeout)
	res := procs[0].result(t, 10*timeout)
	t.Logf("rank 0 after %v: %s", res.Elapsed, res.Err)
	if !strings.Contains(res.Err, "rank 1 (pid ") || !strings.Contains(res.Err, "is alive but did not reach this barrier (collective 2) within 2s") ||
		!slices.Equal(res.Ranks, []int{1}) {
		t.Errorf("rank 0: got %q (ranks %v), want rank 1 named as late", res.Err, res.Ranks)
	}
	if res.Elapsed < timeout || res.Elapsed > timeout+staleAfter+2*time.Second {
		t.Errorf("rank 0 failed after %v, want the timeout %v plus staleAfter %v, give or take", res.Elapsed, timeout, staleAfter)
	}
}

// The ranks that never arrive are named by every rank that did, after the timeout.
func TestNeverArrives(t *testing.T) {
	t.Parallel()
	const timeout = 2 * time.Second
	cases := []struct {
		name    string
		world   int
		present []int
		want    string
		ranks   []int
	}{
		{"rank 1 of 2", 2, []int{0}, "distributed: rendezvous: rank 1 did not arrive within 2s", []int{1}},
		{"rank 0 of 2", 2, []int{1}, "distributed: rendezvous: rank 0 did not arrive within 2s: no store at 127.0.0.1:", []int{0}},
		{"ranks 1 and 3 of 4", 4, []int{0, 2}, "distributed: rendezvous: ranks 1 and 3 did not arrive within 2s", []int{1, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			procs := spawn(t, "collectives", c.world, c.present, timeout)
			for _, p := range procs {
				res := p.result(t, 10*timeout)
				t.Logf("rank %d: %s", p.rank, res.Err)
				if !strings.HasPrefix(res.Err, c.want) || !slices.Equal(res.Ranks, c.ranks) {
					t.Errorf("rank %d: got %q (ranks %v), want %q… (ranks %v)", p.rank, res.Err, res.Ranks, c.want, c.ranks)
				}
			}
		})
	}
}

// Ranks that disagree on a collective (a caller's bug) fail it with an error naming the ranks
// that differ from rank 0, instead of a transfer of mismatched sizes, which Gloo answers by
// ending the process.
func TestOutOfStep(t *testing.T) {
	t.Parallel()
	cases := []struct{ op, want0, want1 string }{
		{"shapes", "distributed: allreduce: the ranks are out of step: rank 1 passed other tensors than rank 0", ""},
		{"ops", "distributed: allreduce: the ranks are out of step: rank 1 is in barrier (collective 1) where rank 0 is in allreduce (collective 1)",
			"distributed: barrier: the ranks are out of step: rank 1 is in barrier (collective 1) where rank 0 is in allreduce (collective 1)"},
		{"root", "distributed: broadcast: the ranks are out of step: rank 1 broadcasts from rank 1 where rank 0 does from rank 0", ""},
	}
	for _, c := range cases {
		t.Run(c.op, func(t *testing.T) {
			t.Parallel()
			procs := spawn(t, "outofstep", 2, []int{0, 1}, 10*time.Second, opEnv+"="+c.op)
			for _, p := range procs {
				want := c.want0
				if p.rank == 1 && c.want1 != "" {
					want = c.want1
				}
				res := p.result(t, 60*time.Second)
				if !strings.HasPrefix(res.Err, want) || !slices.Equal(res.Ranks, []int{1}) {
					t.Errorf("rank %d: got %q (ranks %v), want %q (ranks [1])", p.rank, res.Err, res.Ranks, want)
				}
			}
		})
	}
}

// BenchmarkAllReduceMean times AllReduceMean of about 650k float32 numbers in 40 tensors (the
// detector's parameter count) between two ranks on this machine, as rank 0 measures it; the
// default 25 MiB bucket holds them all; and Barrier, the exchange of headers every collective
// begins with.
func BenchmarkAllReduceMean(b *testing.B) {
	procs := spawn(b, "bench", 2, []int{0, 1}, 60*time.Second, itersEnv+"="+strconv.Itoa(b.N))
	res := procs[0].result(b, 10*time.Minute)
	if res.Err != "" {
		b.Fatal(res.Err)
	}
	b.ReportMetric(0, "ns/op") // the parent's time is the processes' start-up
	b.ReportMetric(res.Millis, "ms/allreduce")
	b.ReportMetric(res.BarrierMillis, "ms/barrier")
}
