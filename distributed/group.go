package distributed

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sugarme/gotch/ts"

	"github.com/smoothl1/smoothl1/torchthread"
)

// Group is this process's membership of a group of ranks: its connections to the others and
// the collectives over them. Every rank calls the same collectives in the same order with
// tensors of the same shapes and dtypes.
//
// The methods may be called from any goroutine; the calls of one Group are serialised.
// AllReduceMean and Broadcast run on the torch thread (torchthread.Do, which runs them directly
// when the caller is already there), as every gotch call of this module does.
//
// A collective that fails leaves the group failed: the later ones return the same error. A
// group of one rank (WorldSize 1) opens no connection and its collectives change nothing, so
// that callers need no case for it.
type Group struct {
	cfg  Config
	host string // Master's host and port
	port int

	mu     sync.Mutex // serialises the collectives and Close
	failed error      // the first failure, returned by every later collective
	closed bool

	st    *store // the store of the rendezvous and of Gloo's own rendezvous
	hb    *store // this rank's second connection: heartbeats and diagnosis
	hbMu  sync.Mutex
	pg    *pgroup
	peers []string     // "pid P on H" of each rank, from the rendezvous
	gone  map[int]bool // the ranks a diagnosis found gone

	seq     atomic.Int64  // the number of collectives this rank has entered
	op      atomic.Value  // the name of the last one (string)
	stop    chan struct{} // closed to end the heartbeat
	stopped chan struct{} // closed when the heartbeat has ended
}

// The heartbeat: each rank writes its key every heartbeatInterval; a rank whose key does not
// change over staleAfter is gone. A failure is reported staleAfter after Gloo's error, the time
// it takes to tell a dead peer from a live one.
var (
	heartbeatInterval = 100 * time.Millisecond
	staleAfter        = time.Second
)

// The keys of the store, beside Gloo's (under glooPrefix).
const (
	keyPrefix  = "smoothl1/"
	glooPrefix = "gloo"
)

func arrivedKey(r int) string { return keyPrefix + "arrived/" + strconv.Itoa(r) }
func seenKey(r int) string    { return keyPrefix + "seen/" + strconv.Itoa(r) }
func beatKey(r int) string    { return keyPrefix + "beat/" + strconv.Itoa(r) }
func failedKey(r int) string  { return keyPrefix + "failed/" + strconv.Itoa(r) }
func closedKey(r int) string  { return keyPrefix + "closed/" + strconv.Itoa(r) }

// New joins the group cfg describes and returns when every rank has: rank 0 hosts the store at
// cfg.Master, every rank connects to it, and the ranks connect to each other through Gloo.
// A rank that has not arrived within cfg.Timeout is named in the error, a *RankError (rank 0
// when its store cannot be reached). An invalid cfg is an error wrapping ErrConfig that names
// the field.
//
// Gloo binds each rank to the address through which it reaches Master's host (on rank 0's
// machine, the address at which ranks on other machines reached it), or to the network
// interface named by the environment variable GLOO_SOCKET_IFNAME, as in PyTorch.
func New(cfg Config) (*Group, error) {
	cfg, host, port, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Group{cfg: cfg, host: host, port: port, gone: map[int]bool{}}
	g.op.Store("")
	if cfg.WorldSize == 1 {
		return g, nil
	}
	if err := g.rendezvous(); err != nil {
		g.leave(err)
		return nil, err
	}
	return g, nil
}

// Rank returns this process's rank.
func (g *Group) Rank() int { return g.cfg.Rank }

// WorldSize returns the number of ranks.
func (g *Group) WorldSize() int { return g.cfg.WorldSize }

func (g *Group) master() string { return net.JoinHostPort(g.host, strconv.Itoa(g.port)) }

func (g *Group) rendezvous() error {
	start := time.Now()
	rank, size, timeout := g.cfg.Rank, g.cfg.WorldSize, g.cfg.Timeout
	var err error
	g.st, err = openStore(g.host, g.port, rank == 0, timeout)
	if err != nil {
		if rank == 0 {
			return fmt.Errorf("distributed: rank 0 cannot host the store at %s: %v", g.master(), err)
		}
		return &RankError{Op: "rendezvous", Ranks: []int{0}, Err: err,
			msg: fmt.Sprintf("distributed: rendezvous: rank 0 did not arrive within %v: no store at %s, which rank 0 hosts: %v", timeout, g.master(), err)}
	}
	// The second connection is opened by rank 0 too (its store serves it like any other), so
	// that heartbeats never queue behind a long wait on the first.
	g.hb, err = openStore(g.host, g.port, false, min(timeout, 10*time.Second))
	if err != nil {
		return g.storeGone("rendezvous", err, nil)
	}
	if err := g.hb.set(beatKey(rank), g.beatValue(0)); err != nil {
		return g.storeGone("rendezvous", err, nil)
	}
	g.stop, g.stopped = make(chan struct{}), make(chan struct{})
	go g.heartbeat()
	local, remote := route(g.master())
	if err := g.st.set(seenKey(rank), []byte(remote)); err != nil {
		return g.storeGone("rendezvous", err, nil)
	}
	host, _ := os.Hostname()
	if err := g.st.set(arrivedKey(rank), fmt.Appendf(nil, "pid %d on %s", os.Getpid(), host)); err != nil {
		return g.storeGone("rendezvous", err, nil)
	}
	keys := make([]string, size)
	for r := range keys {
		keys[r] = arrivedKey(r)
	}
	if err := g.st.wait(keys, max(timeout-time.Since(start), time.Millisecond)); err != nil {
		var missing []int
		for r := range size {
			ok, cerr := g.st.check(arrivedKey(r))
			if cerr != nil {
				return g.storeGone("rendezvous", cerr, err)
			}
			if !ok {
				missing = append(missing, r)
			}
		}
		if len(missing) == 0 {
			return fmt.Errorf("distributed: rendezvous: waiting for the other ranks: %v", err)
		}
		return &RankError{Op: "rendezvous", Ranks: missing, Err: err,
			msg: fmt.Sprintf("distributed: rendezvous: %s did not arrive within %v (world size %d, store %s)", g.who(missing), timeout, size, g.master())}
	}
	g.peers = make([]string, size)
	seen := make([]string, size)
	for r := range size {
		v, err := g.st.get(arrivedKey(r))
		if err != nil {
			return g.storeGone("rendezvous", err, nil)
		}
		g.peers[r] = string(v)
		if v, err = g.st.get(seenKey(r)); err != nil {
			return g.storeGone("rendezvous", err, nil)
		}
		seen[r] = string(v)
	}
	addr, iface := glooAddress(local, seen), os.Getenv("GLOO_SOCKET_IFNAME")
	g.pg, err = newPGroup(g.st, glooPrefix, rank, size, addr, iface, timeout)
	if err != nil {
		return g.diagnose("rendezvous", 0, err)
	}
	return nil
}

// route returns the local and the remote address of the route to addr, "" when there is none.
func route(addr string) (local, remote string) {
	c, err := net.Dial("udp", addr) // no packet is sent
	if err != nil {
		return "", ""
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String(), c.RemoteAddr().(*net.UDPAddr).IP.String()
}

// glooAddress returns the address this rank's Gloo device binds to, given the local end of its
// route to the store and the store's address as every rank resolved it (seen). That is the
// local end, unless it is a loopback address, which Master's host name resolves to on its own
// machine when /etc/hosts maps the name to 127.0.1.1, as Debian's does: then this rank is on
// rank 0's machine, and when a rank elsewhere reached the store at another address, that
// address is this machine's too, and the one the ranks elsewhere can connect to. "" lets Gloo
// choose (this machine's host name, else loopback).
func glooAddress(local string, seen []string) string {
	if ip := net.ParseIP(local); ip == nil || !ip.IsLoopback() {
		return local
	}
	for _, s := range seen {
		if ip := net.ParseIP(s); ip != nil && !ip.IsLoopback() && !ip.IsUnspecified() {
			return s
		}
	}
	return local
}

func (g *Group) beatValue(n int64) []byte {
	return fmt.Appendf(nil, "%d %d %s", n, g.seq.Load(), g.op.Load().(string))
}

func (g *Group) heartbeat() {
	defer close(g.stopped)
	t := time.NewTicker(heartbeatInterval)
	defer t.Stop()
	for n := int64(1); ; n++ {
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
		g.hbMu.Lock()
		// An error here (a store that is gone) is found and reported by the collective it fails.
		g.hb.set(beatKey(g.cfg.Rank), g.beatValue(n))
		g.hbMu.Unlock()
	}
}

// opKind names a collective in the header the ranks exchange.
type opKind int64

const (
	opAllReduce opKind = iota + 1
	opBroadcast
	opAllGather
	opBarrier
)

func (k opKind) String() string {
	switch k {
	case opAllReduce:
		return "allreduce"
	case opBroadcast:
		return "broadcast"
	case opAllGather:
		return "allgather"
	case opBarrier:
		return "barrier"
	}
	return "collective kind " + strconv.FormatInt(int64(k), 10)
}

// The header every rank sends before a collective's data: the collective, its number, a hash of
// the tensors' layout (dtypes, shapes, BucketBytes; 0 without tensors), and a number of its
// own (Broadcast's root, AllGather's length).
const (
	hOp = iota
	hSeq
	hLayout
	hArg
	headerLen
)

// collective runs op, whose layout and argument go into its header: it numbers it, exchanges
// the headers (a fixed-size all-gather, so that ranks out of step are found before a data
// transfer of mismatched sizes, which Gloo answers by ending the process), then runs run with
// every rank's header (nil with one rank). A failure fails the group, with the ranks at fault
// named.
func (g *Group) collective(op opKind, layout, arg int64, run func(headers [][]int64) error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return fmt.Errorf("%w (%s)", ErrClosed, op)
	}
	if g.failed != nil {
		return g.failed
	}
	seq := g.seq.Add(1)
	g.op.Store(op.String())
	if g.cfg.WorldSize == 1 {
		return run(nil)
	}
	mine := make([]int64, headerLen)
	mine[hOp], mine[hSeq], mine[hLayout], mine[hArg] = int64(op), seq, layout, arg
	headers, err := g.pg.exchange(mine, g.cfg.WorldSize)
	if err == nil {
		if g.failed = outOfStep(op, headers); g.failed == nil {
			err = run(headers)
		}
	}
	if err != nil {
		g.failed = g.diagnose(op.String(), seq, err)
	}
	if g.failed != nil {
		g.hbMu.Lock()
		g.hb.set(failedKey(g.cfg.Rank), []byte(g.failed.Error()))
		g.hbMu.Unlock()
	}
	return g.failed
}

// outOfStep returns the error of op when the ranks' headers differ from rank 0's, nil when they
// agree.
func outOfStep(op opKind, headers [][]int64) error {
	step := func(h []int64) string { return fmt.Sprintf("%s (collective %d)", opKind(h[hOp]), h[hSeq]) }
	ref := headers[0]
	var ranks []int
	var parts []string
	for r, h := range headers[1:] {
		r++
		var why string
		switch {
		case h[hOp] != ref[hOp] || h[hSeq] != ref[hSeq]:
			why = fmt.Sprintf("rank %d is in %s where rank 0 is in %s", r, step(h), step(ref))
		case h[hLayout] != ref[hLayout]:
			why = fmt.Sprintf("rank %d passed other tensors than rank 0 (their number, dtypes or shapes, or BucketBytes differ)", r)
		case op == opBroadcast && h[hArg] != ref[hArg]:
			why = fmt.Sprintf("rank %d broadcasts from rank %d where rank 0 does from rank %d", r, h[hArg], ref[hArg])
		default:
			continue
		}
		ranks = append(ranks, r)
		parts = append(parts, why)
	}
	if len(ranks) == 0 {
		return nil
	}
	return &RankError{Op: op.String(), Ranks: ranks,
		msg: fmt.Sprintf("distributed: %s: the ranks are out of step: %s", op, strings.Join(parts, "; "))}
}

// withBucket mixes BucketBytes into a layout hash: the buckets, and so the transfers, depend on it.
func (g *Group) withBucket(layout int64) int64 {
	return layout ^ int64(uint64(g.cfg.BucketBytes)*0x9e3779b97f4a7c15)
}

// AllReduceMean replaces every tensor by its mean over the ranks, elementwise:
//
//	t ← (t₀ + t₁ + … + t₍ₙ₋₁₎) / n
//
// Consecutive tensors of one dtype are copied into flat buffers of at most Config.BucketBytes
// (a larger tensor travels alone), one all-reduce (a sum) per buffer, all in flight together,
// then divided by n and copied back. The tensors are CPU tensors of dtype Float, Double or Half,
// in the same order with the same shapes on every rank (gradients, typically); they are written
// in place, without autograd. With one rank they are left as they are.
func (g *Group) AllReduceMean(tensors []*ts.Tensor) error {
	// The torch thread first, then the group: the one order in which both are taken.
	return torchthread.Do(func() error {
		layout, err := layout(tensors, true)
		if err != nil {
			return fmt.Errorf("distributed: allreduce: %v", err)
		}
		return g.collective(opAllReduce, g.withBucket(layout), 0, func([][]int64) error {
			if g.cfg.WorldSize == 1 {
				return nil
			}
			return g.pg.allReduceMean(tensors, g.cfg.BucketBytes)
		})
	})
}

// Broadcast copies rank root's tensors into every other rank's, in place (initial weights,
// typically), packed into buffers as AllReduceMean's are; CPU tensors of any dtype, with the
// same shapes and dtypes on every rank. A root outside [0, WorldSize) is an error.
func (g *Group) Broadcast(tensors []*ts.Tensor, root int) error {
	return torchthread.Do(func() error {
		if root < 0 || root >= g.cfg.WorldSize {
			return fmt.Errorf("distributed: broadcast: root %d: want 0 to %d", root, g.cfg.WorldSize-1)
		}
		layout, err := layout(tensors, false)
		if err != nil {
			return fmt.Errorf("distributed: broadcast: %v", err)
		}
		return g.collective(opBroadcast, g.withBucket(layout), int64(root), func([][]int64) error {
			if g.cfg.WorldSize == 1 {
				return nil
			}
			return g.pg.broadcast(tensors, root, g.cfg.BucketBytes)
		})
	})
}

// AllGather returns every rank's buf, in rank order (this rank's own as a copy). The buffers
// may differ in length, zero included. It is meant for small buffers (the scheduler's batch
// summaries): each travels padded to the longest.
func (g *Group) AllGather(buf []byte) ([][]byte, error) {
	var out [][]byte
	err := g.collective(opAllGather, 0, int64(len(buf)), func(headers [][]int64) error {
		if headers == nil {
			out = [][]byte{append([]byte{}, buf...)}
			return nil
		}
		lens := make([]int, len(headers))
		for r, h := range headers {
			lens[r] = int(h[hArg])
		}
		var err error
		out, err = g.pg.allGather(buf, lens)
		return err
	})
	return out, err
}

// Barrier returns when every rank has called it. (The exchange of headers that begins every
// collective is the barrier.)
func (g *Group) Barrier() error {
	return g.collective(opBarrier, 0, 0, func([][]int64) error { return nil })
}

// Close leaves the group and frees its connections; later calls return nil. Rank 0, which
// hosts the store, first waits (at most Config.Timeout) until every other rank has closed,
// failed or gone, so that no rank loses the store while it still needs it. Close waits for a
// collective in progress on another goroutine to end.
func (g *Group) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	if g.cfg.WorldSize == 1 {
		return nil
	}
	g.hbMu.Lock()
	g.hb.set(closedKey(g.cfg.Rank), nil)
	g.hbMu.Unlock()
	if g.cfg.Rank == 0 {
		g.awaitOthersClosed()
	}
	g.release()
	return nil
}

// leave ends a rendezvous that failed with err: it tells the others, and rank 0 keeps its store
// until they have had their look at it, as in Close.
func (g *Group) leave(err error) {
	if g.hb != nil {
		g.hbMu.Lock()
		g.hb.set(failedKey(g.cfg.Rank), []byte(err.Error()))
		g.hbMu.Unlock()
		if g.cfg.Rank == 0 {
			g.awaitOthersClosed()
		}
	}
	g.release()
}

// awaitOthersClosed returns when every other rank has closed, failed (and said so), is gone or
// never arrived, or after the timeout.
func (g *Group) awaitOthersClosed() {
	deadline := time.Now().Add(g.cfg.Timeout)
	last := make([]string, g.cfg.WorldSize)
	changed := make([]time.Time, g.cfg.WorldSize)
	for r := range changed {
		changed[r] = time.Now()
	}
	for time.Now().Before(deadline) {
		pending := false
		g.hbMu.Lock()
		for r := 1; r < g.cfg.WorldSize; r++ {
			if g.gone[r] {
				continue
			}
			if done, err := g.anyKey(closedKey(r), failedKey(r)); err != nil || done {
				continue
			}
			if arrived, err := g.st.check(arrivedKey(r)); err != nil || !arrived {
				continue
			}
			v, _, err := g.hb.lookup(beatKey(r))
			if err != nil {
				continue
			}
			if string(v) != last[r] {
				last[r], changed[r] = string(v), time.Now()
			}
			if time.Since(changed[r]) < staleAfter {
				pending = true
			}
		}
		g.hbMu.Unlock()
		if !pending {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// anyKey reports whether one of the keys exists; the caller holds hbMu.
func (g *Group) anyKey(keys ...string) (bool, error) {
	for _, k := range keys {
		if ok, err := g.hb.check(k); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// release stops the heartbeat and frees the process group and the stores.
func (g *Group) release() {
	if g.stop != nil {
		close(g.stop)
		<-g.stopped
		g.stop = nil
	}
	g.pg.free()
	g.pg = nil
	g.hb.close()
	g.hb = nil
	g.st.close()
	g.st = nil
}
