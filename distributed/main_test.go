package distributed

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the ranks of the multi-process tests: with roleEnv set, TestMain
// runs that role as one rank instead of the tests.
const roleEnv = "SMOOTHL1_DISTRIBUTED_TEST_ROLE"

// The roles: each joins the group its environment describes (rankEnv and the others), runs,
// and prints progress lines and one resultPrefix line of JSON before exiting.
var roles = map[string]func(cfg Config) result{
	"collectives": roleCollectives,
	"hang":        roleHang,
	"outofstep":   roleOutOfStep,
	"slurm":       roleSlurm,
	"bench":       roleBench,
}

const (
	rankEnv      = roleEnv + "_RANK"
	worldEnv     = roleEnv + "_WORLD"
	masterEnv    = roleEnv + "_MASTER"
	timeoutEnv   = roleEnv + "_TIMEOUT"
	bucketEnv    = roleEnv + "_BUCKET"
	opEnv        = roleEnv + "_OP"
	resultPrefix = "RESULT "
	readyLine    = "READY"
)

// result is what a rank reports.
type result struct {
	Err     string        // the error that ended it, "" for none
	Ranks   []int         // the RankError's ranks
	Elapsed time.Duration // the time the failing call took
	Log     []string      // what it checked
	Millis  float64       // bench: the time of an all-reduce
	// BarrierMillis is bench's time of a barrier.
	BarrierMillis float64
}

func TestMain(m *testing.M) {
	role := os.Getenv(roleEnv)
	if role == "" {
		os.Exit(m.Run())
	}
	fn, ok := roles[role]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown role %q\n", role)
		os.Exit(2)
	}
	var cfg Config
	if role != "slurm" {
		cfg.Rank, _ = strconv.Atoi(os.Getenv(rankEnv))
		cfg.WorldSize, _ = strconv.Atoi(os.Getenv(worldEnv))
		cfg.Master = os.Getenv(masterEnv)
		cfg.Timeout, _ = time.ParseDuration(os.Getenv(timeoutEnv))
		cfg.BucketBytes, _ = strconv.ParseInt(os.Getenv(bucketEnv), 10, 64)
	}
	res := fn(cfg)
	b, _ := json.Marshal(res)
	fmt.Printf("%s%s\n", resultPrefix, b)
	os.Exit(0)
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// rankProc is a rank running as a child process.
type rankProc struct {
	rank  int
	cmd   *exec.Cmd
	lines chan string // its stdout, line by line; closed at its end
	err   strings.Builder
}

// spawn starts the given ranks of a group of world ranks, each running role, with extra
// environment; the ranks not listed never arrive. The processes are killed when the test ends.
func spawn(t testing.TB, role string, world int, ranks []int, timeout time.Duration, env ...string) []*rankProc {
	t.Helper()
	master := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	var procs []*rankProc
	for _, r := range ranks {
		p := &rankProc{rank: r, lines: make(chan string, 100)}
		p.cmd = exec.Command(os.Args[0], "-test.run=^$")
		p.cmd.Env = append(os.Environ(), roleEnv+"="+role, rankEnv+"="+strconv.Itoa(r),
			worldEnv+"="+strconv.Itoa(world), masterEnv+"="+master, timeoutEnv+"="+timeout.String())
		p.cmd.Env = append(p.cmd.Env, env...)
		p.cmd.Stderr = &p.err
		out, err := p.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			defer close(p.lines)
			sc := bufio.NewScanner(out)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				p.lines <- sc.Text()
			}
		}()
		t.Cleanup(func() {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		})
		procs = append(procs, p)
	}
	return procs
}

// await returns the rank's next line that starts with prefix, failing the test after limit.
func (p *rankProc) await(t testing.TB, prefix string, limit time.Duration) string {
	t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("rank %d ended before printing %q: %v\nstderr:\n%s", p.rank, prefix, p.cmd.Wait(), p.err.String())
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-deadline:
			t.Fatalf("rank %d printed no %q within %v\nstderr:\n%s", p.rank, prefix, limit, p.err.String())
		}
	}
}

// result waits for the rank's result.
func (p *rankProc) result(t testing.TB, limit time.Duration) result {
	t.Helper()
	line := p.await(t, resultPrefix, limit)
	var res result
	if err := json.Unmarshal([]byte(strings.TrimPrefix(line, resultPrefix)), &res); err != nil {
		t.Fatalf("rank %d: %v in %q", p.rank, err, line)
	}
	return res
}

func (p *rankProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill rank %d: %v", p.rank, err)
	}
}
