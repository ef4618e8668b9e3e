package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smoothl1/smoothl1/distributed"
)

// distFlags are `smoothl1 train`'s flags for a data-parallel run.
type distFlags struct {
	nproc, worldSize, rank int
	master                 string
	timeout                time.Duration
}

func (d *distFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&d.nproc, "nproc", 0, "start `N` ranks of a data-parallel run on this machine, as torchrun does (one libtorch thread each unless --threads is given)")
	fs.IntVar(&d.worldSize, "world-size", 0, "run one rank of a data-parallel run of `N` ranks, with --rank and --master (default: from SMOOTHL1_WORLD_SIZE or srun's variables)")
	fs.IntVar(&d.rank, "rank", -1, "with --world-size: this process's rank, 0 to N-1")
	fs.StringVar(&d.master, "master", "", "with --world-size: `HOST:PORT` where rank 0 hosts the ranks' rendezvous")
	fs.DurationVar(&d.timeout, "dist-timeout", 0, "bound on the rendezvous and each collective; above rank 0's longest evaluation or checkpoint (0: 60s)")
}

// config returns the group this process is a rank of: from --world-size, --rank and --master,
// else from the SMOOTHL1_* variables (distributed.FromEnv), else from srun's
// (distributed.FromSlurm); ok is false for a run of one process.
func (d distFlags) config() (cfg distributed.Config, ok bool, err error) {
	if d.worldSize != 0 || d.rank != -1 || d.master != "" {
		switch {
		case d.worldSize < 1:
			return cfg, true, usagef("--rank and --master go with --world-size N (N ≥ 1)")
		case d.worldSize > 1 && (d.rank < 0 || d.rank >= d.worldSize || d.master == ""):
			return cfg, true, usagef("--world-size %d needs --rank (0 to %d) and --master HOST:PORT", d.worldSize, d.worldSize-1)
		}
		cfg, ok = distributed.Config{Rank: max(d.rank, 0), WorldSize: d.worldSize, Master: d.master}, true
	} else if cfg, ok, err = distributed.FromEnv(); err != nil {
		return cfg, true, usageError{err}
	} else if !ok {
		if cfg, ok, err = distributed.FromSlurm(); err != nil {
			return cfg, true, usageError{err}
		}
	}
	if d.timeout < 0 {
		return cfg, ok, usagef("--dist-timeout %v: want a positive duration (0: %v)", d.timeout, distributed.DefaultTimeout)
	}
	if d.timeout > 0 {
		cfg.Timeout = d.timeout
	}
	return cfg, ok, nil
}

// Grace periods of the launcher once a rank has failed: the others fail on their own about a
// second after a rank dies (their next collective names it); those still running after
// failGrace get SIGTERM (they write a checkpoint and stop), and SIGKILL after killGrace more.
var (
	failGrace = 5 * time.Second
	killGrace = 30 * time.Second
)

// launch runs `smoothl1 train` as n local ranks: this program again, n times, with args (the
// command's flags but --nproc) and the rank's SMOOTHL1_RANK, SMOOTHL1_WORLD_SIZE,
// SMOOTHL1_MASTER_ADDR and SMOOTHL1_MASTER_PORT (a free loopback port). Each rank's stderr
// comes out with "[rank r] " before every line; rank 0's stdout (the run's final JSON) as it
// is. SIGINT and SIGTERM are passed on to every rank. When a rank fails, the others are
// stopped (they also stop on their own, with exit code exitOtherRank), and the error names the
// rank that failed (the first that did not stop because of another) and why.
func launch(n int, args []string, stdout, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return fmt.Errorf("--nproc: no free port for the ranks' rendezvous: %w", err)
	}
	// A rank is sent SIGTERM if the thread that started it ends (Pdeathsig): this one, kept
	// for the launcher until the ranks are gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	var mu sync.Mutex // one line at a time on stderr
	ranks := make([]*rankProc, n)
	for r := range ranks {
		p := &rankProc{rank: r}
		p.cmd = exec.Command(exe, append([]string{"train"}, args...)...)
		p.cmd.Env = append(os.Environ(),
			distributed.RankEnv+"="+strconv.Itoa(r), distributed.WorldSizeEnv+"="+strconv.Itoa(n),
			distributed.MasterAddrEnv+"=127.0.0.1", distributed.MasterPortEnv+"="+strconv.Itoa(port))
		// Its own process group: a terminal's Ctrl-C reaches the launcher, which passes it on once.
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
		p.stderr = &linePrefixer{w: stderr, mu: &mu, prefix: fmt.Sprintf("[rank %d] ", r)}
		p.cmd.Stderr = p.stderr
		p.cmd.Stdout = stdout
		if r > 0 {
			p.cmd.Stdout = p.stderr // only rank 0 prints the result
		}
		if err := p.cmd.Start(); err != nil {
			for _, q := range ranks[:r] {
				q.cmd.Process.Kill()
				q.cmd.Wait()
			}
			return fmt.Errorf("--nproc: starting rank %d: %w", r, err)
		}
		ranks[r] = p
	}
	pids := make([]string, n)
	for r, p := range ranks {
		pids[r] = fmt.Sprintf("rank %d pid %d", r, p.cmd.Process.Pid)
	}
	mu.Lock()
	fmt.Fprintf(stderr, "smoothl1 train: %d ranks on this machine (%s), rendezvous at 127.0.0.1:%d\n", n, strings.Join(pids, ", "), port)
	mu.Unlock()

	type exit struct {
		rank int
		err  error
	}
	exits := make(chan exit, n)
	for _, p := range ranks {
		go func() { exits <- exit{p.rank, p.cmd.Wait()} }()
	}
	var first *rankProc // the first rank that failed
	var stopping bool   // a signal was passed on
	var term, kill <-chan time.Time
	signalAll := func(sig os.Signal) {
		for _, p := range ranks {
			if !p.done {
				p.cmd.Process.Signal(sig)
			}
		}
	}
	for left := n; left > 0; {
		select {
		case e := <-exits:
			left--
			p := ranks[e.rank]
			p.done, p.err = true, e.err
			p.stderr.flush()
			if e.err == nil || stopping {
				break
			}
			if term == nil {
				term = time.After(failGrace)
			}
			// The cause, not a rank that stopped because of it, unless none is known.
			if first == nil || first.secondary() && !p.secondary() {
				first = p
			}
		case sig := <-sigs:
			stopping = true
			signalAll(sig)
		case <-term:
			signalAll(syscall.SIGTERM)
			kill = time.After(killGrace)
		case <-kill:
			signalAll(syscall.SIGKILL)
		}
	}
	if first != nil {
		msg := fmt.Sprintf("rank %d of %d failed: %s", first.rank, n, first.reason())
		for _, p := range ranks {
			switch {
			case p == first || p.err == nil:
			case p.secondary() && strings.Contains(p.reason(), first.reason()):
				msg += fmt.Sprintf("; rank %d stopped because of it", p.rank)
			case p.secondary():
				msg += fmt.Sprintf("; rank %d stopped because of it: %s", p.rank, p.reason())
			default:
				msg += fmt.Sprintf("; rank %d also failed: %s", p.rank, p.reason())
			}
		}
		return errors.New(msg)
	}
	if stopping {
		return interrupted{errors.New("interrupted; rank 0's checkpoint resumes the run (--resume, with the same --nproc)")}
	}
	return nil
}

// rankProc is a rank started by launch.
type rankProc struct {
	rank   int
	cmd    *exec.Cmd
	stderr *linePrefixer
	done   bool
	err    error // its Wait's
}

// secondary reports whether the rank stopped because another failed (exitOtherRank).
func (p *rankProc) secondary() bool {
	var ee *exec.ExitError
	return errors.As(p.err, &ee) && ee.ExitCode() == exitOtherRank
}

// reason says why the rank ended: its last error line (`smoothl1 train: ...`), else how it
// exited (signal: killed).
func (p *rankProc) reason() string {
	if p.stderr.lastErr != "" {
		return p.stderr.lastErr
	}
	return p.err.Error()
}

// linePrefixer writes what a rank writes, line by line, with a prefix, and remembers the last
// line that is the command's error.
type linePrefixer struct {
	w       io.Writer
	mu      *sync.Mutex
	prefix  string
	partial []byte
	lastErr string
}

func (l *linePrefixer) Write(b []byte) (int, error) {
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		l.line(l.partial[:i])
		l.partial = l.partial[i+1:]
	}
}

func (l *linePrefixer) line(b []byte) {
	if s, ok := strings.CutPrefix(string(b), "smoothl1 train: "); ok {
		l.lastErr = s
	}
	l.mu.Lock()
	fmt.Fprintf(l.w, "%s%s\n", l.prefix, b)
	l.mu.Unlock()
}

// flush writes a last line without its newline.
func (l *linePrefixer) flush() {
	if len(l.partial) > 0 {
		l.line(l.partial)
		l.partial = nil
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// childArgs returns the flags set on fs, but --nproc, as arguments for a rank, with
// --threads=1 unless --threads was given.
func childArgs(fs *flag.FlagSet) []string {
	var args []string
	threads := false
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "nproc":
			return
		case "threads":
			threads = true
		}
		args = append(args, "-"+f.Name+"="+f.Value.String())
	})
	if !threads {
		args = append(args, "-threads=1")
	}
	return args
}
