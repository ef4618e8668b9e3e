package distributed

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// beat is a rank's heartbeat as written to the store: a counter that grows every
// heartbeatInterval, and the number and name of the last collective the rank entered.
type beat struct {
	n   int64 // -1: no heartbeat in the store
	seq int64
	op  string
}

func parseBeat(v []byte) beat {
	f := strings.Fields(string(v))
	b := beat{n: -1}
	if len(f) >= 2 {
		b.n, _ = strconv.ParseInt(f[0], 10, 64)
		b.seq, _ = strconv.ParseInt(f[1], 10, 64)
	}
	if len(f) >= 3 {
		b.op = f[2]
	}
	return b
}

// beats reads the other ranks' heartbeats.
func (g *Group) beats() ([]beat, error) {
	g.hbMu.Lock()
	defer g.hbMu.Unlock()
	out := make([]beat, g.cfg.WorldSize)
	for r := range out {
		out[r] = beat{n: -1}
		if r == g.cfg.Rank {
			continue
		}
		v, ok, err := g.hb.lookup(beatKey(r))
		if err != nil {
			return nil, err
		}
		if ok {
			out[r] = parseBeat(v)
		}
	}
	return out, nil
}

// diagnose returns the error of op, this rank's collective number seq (0 for the rendezvous),
// which failed with cause: it names the ranks that are gone (their heartbeat stopped), closed
// the group, or are alive but did not reach the collective. It takes staleAfter, to see which
// heartbeats still move.
func (g *Group) diagnose(op string, seq int64, cause error) error {
	before, err := g.beats()
	if err != nil {
		return g.storeGone(op, err, cause)
	}
	time.Sleep(staleAfter)
	after, err := g.beats()
	if err != nil {
		return g.storeGone(op, err, cause)
	}
	var gone, closed, late, failed []int
	reports := map[int]string{}
	g.hbMu.Lock()
	for r := range after {
		if r == g.cfg.Rank {
			continue
		}
		isClosed, _ := g.hb.check(closedKey(r))
		report, hasReport, _ := g.hb.lookup(failedKey(r))
		stale := after[r].n == before[r].n
		switch {
		case hasReport:
			// It failed as well and said why (and may have closed or ended since): not the cause.
			failed = append(failed, r)
			reports[r] = string(report)
		case isClosed:
			closed = append(closed, r)
		case stale:
			gone = append(gone, r)
			g.gone[r] = true
		case seq > 0 && after[r].seq < seq:
			late = append(late, r)
		}
	}
	g.hbMu.Unlock()

	var parts []string
	named := slices.Concat(gone, closed, late)
	if len(gone) > 0 {
		parts = append(parts, fmt.Sprintf("%s %s (no heartbeat for %v)", g.who(gone), plural(gone, "is gone", "are gone"), staleAfter))
	}
	if len(closed) > 0 {
		parts = append(parts, fmt.Sprintf("%s closed the group", g.who(closed)))
	}
	for _, r := range late {
		b := after[r]
		at := "no collective yet"
		if b.seq > 0 {
			at = fmt.Sprintf("its last was collective %d, %s", b.seq, b.op)
		}
		parts = append(parts, fmt.Sprintf("%s is alive but did not reach this %s (collective %d) within %v; %s",
			g.who([]int{r}), op, seq, g.cfg.Timeout, at))
	}
	if len(named) == 0 && len(failed) > 0 {
		// Only ranks that failed too: the first report says more than this rank knows.
		named = failed
		parts = append(parts, fmt.Sprintf("%s failed: %s", g.who(failed[:1]), reports[failed[0]]))
	}
	if len(parts) == 0 {
		parts = append(parts, "no rank can be named: every other rank is alive and reached it")
	}
	slices.Sort(named)
	msg := fmt.Sprintf("distributed: %s: %s", op, strings.Join(parts, "; "))
	if cause != nil {
		msg += ": " + cause.Error()
	}
	return &RankError{Op: op, Ranks: named, Err: cause, msg: msg}
}

// storeGone returns the error of op when the store does not answer (err) after cause: for the
// ranks other than 0, rank 0, which hosts it, is gone.
func (g *Group) storeGone(op string, err, cause error) error {
	msg := fmt.Sprintf("distributed: %s: %s is gone: its store at %s does not answer (%v)", op, g.who([]int{0}), g.master(), err)
	if g.cfg.Rank == 0 {
		msg = fmt.Sprintf("distributed: %s: this rank's own store at %s does not answer (%v)", op, g.master(), err)
	}
	if cause != nil {
		msg += ": " + cause.Error()
	}
	re := &RankError{Op: op, Err: cause, msg: msg}
	if g.cfg.Rank != 0 {
		re.Ranks = []int{0}
	}
	if re.Err == nil {
		re.Err = err
	}
	return re
}

// who names ranks with their process, when the rendezvous has told it: "rank 1 (pid 42 on
// node2)", "ranks 1 (pid 42 on node2) and 3 (pid 7 on node4)".
func (g *Group) who(ranks []int) string {
	return rankList(ranks, func(r int) string {
		if r < len(g.peers) {
			return g.peers[r]
		}
		return ""
	})
}

func plural(ranks []int, one, many string) string {
	if len(ranks) == 1 {
		return one
	}
	return many
}
