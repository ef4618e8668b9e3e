package distributed

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sugarme/gotch/ts"

	tt "github.com/smoothl1/smoothl1/torchthread"
)

// Every bad Config is an ErrConfig naming its field, found before any connection.
func TestNewConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no world", Config{}, "WorldSize 0: want at least 1"},
		{"negative rank", Config{Rank: -1, WorldSize: 2, Master: "h:1"}, "Rank -1: want 0 to 1 (WorldSize 2)"},
		{"rank past the world", Config{Rank: 2, WorldSize: 2, Master: "h:1"}, "Rank 2: want 0 to 1 (WorldSize 2)"},
		{"negative timeout", Config{WorldSize: 1, Timeout: -time.Second}, "Timeout -1s: want a positive duration"},
		{"timeout below 1ms", Config{WorldSize: 1, Timeout: time.Microsecond}, "Timeout 1µs: want at least 1ms"},
		{"negative bucket", Config{WorldSize: 1, BucketBytes: -1}, "BucketBytes -1: want a positive size"},
		{"no master", Config{WorldSize: 2}, `Master "": want host:port`},
		{"master without port", Config{WorldSize: 2, Master: "node1"}, `Master "node1": want host:port`},
		{"master without host", Config{WorldSize: 2, Master: ":29500"}, `Master ":29500": no host`},
		{"master port 0", Config{WorldSize: 2, Master: "node1:0"}, `Master "node1:0": port "0": want 1 to 65535`},
		{"master port too big", Config{WorldSize: 2, Master: "node1:70000"}, `Master "node1:70000": port "70000"`},
		{"master port a name", Config{WorldSize: 2, Master: "node1:http"}, `Master "node1:http": port "http"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := New(c.cfg)
			if g != nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New(%+v): got %v, want ErrConfig with %q", c.cfg, err, c.want)
			}
		})
	}
}

// Rank 0 cannot host the store on a port in use: an error that says so, at once.
func TestNewPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	start := time.Now()
	_, err = New(Config{WorldSize: 2, Master: "127.0.0.1:" + strconv.Itoa(port), Timeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "distributed: rank 0 cannot host the store at 127.0.0.1:"+strconv.Itoa(port)) {
		t.Errorf("got %v, want rank 0 unable to host the store", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("took %v", d)
	}
}

// A world of one rank: no Master, no connection, collectives that change nothing but check
// their arguments as a real group does.
func TestWorldOfOne(t *testing.T) {
	g, err := New(Config{WorldSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if g.Rank() != 0 || g.WorldSize() != 1 {
		t.Errorf("rank %d of %d", g.Rank(), g.WorldSize())
	}
	err = tt.Do(func() error {
		var tmp tt.Scratch
		defer tmp.Drop()
		x := tmp.Add(tt.Must(tt.FromSlice([]float32{1, 2, 3}, 3)))
		tt.Check(g.AllReduceMean([]*ts.Tensor{x}))
		tt.Check(g.Broadcast([]*ts.Tensor{x}, 0))
		got := make([]float32, 3)
		tt.Check(tt.CopyTo(got, x))
		if !slices.Equal(got, []float32{1, 2, 3}) {
			t.Errorf("after the collectives: %v", got)
		}
		n := tmp.Add(tt.Must(tt.FromSlice([]int64{1}, 1)))
		if err := g.AllReduceMean([]*ts.Tensor{n}); err == nil || !strings.Contains(err.Error(), "tensor 0 has dtype Long") {
			t.Errorf("AllReduceMean of an int64 tensor: %v", err)
		}
		if err := g.Broadcast([]*ts.Tensor{x}, 1); err == nil || !strings.Contains(err.Error(), "root 1: want 0 to 0") {
			t.Errorf("Broadcast from rank 1: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	buf := []byte("summary")
	got, err := g.AllGather(buf)
	if err != nil || len(got) != 1 || string(got[0]) != "summary" {
		t.Errorf("AllGather: %q, %v", got, err)
	}
	buf[0] = 'S'
	if string(got[0]) != "summary" {
		t.Errorf("AllGather returned the caller's buffer, not a copy")
	}
	if got, err := g.AllGather(nil); err != nil || len(got) != 1 || got[0] == nil || len(got[0]) != 0 {
		t.Errorf("AllGather(nil): %q, %v", got, err)
	}
	if err := g.Barrier(); err != nil {
		t.Errorf("Barrier: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := g.Barrier(); !errors.Is(err, ErrClosed) {
		t.Errorf("Barrier after Close: %v, want ErrClosed", err)
	}
}

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestFromSlurm(t *testing.T) {
	step := map[string]string{
		"SLURM_STEP_ID": "0", "SLURM_PROCID": "3", "SLURM_STEP_NUM_TASKS": "8", "SLURM_NTASKS": "16",
		"SLURM_JOB_ID": "1234567", "SLURM_STEP_NODELIST": "gpu[07-08],cpu1", "SLURM_JOB_NODELIST": "gpu[01-08],cpu1",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range step {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	cases := []struct {
		name string
		env  map[string]string
		ok   bool
		want Config
	}{
		// Port: 20000 + 1234567 mod 10000 = 24567.
		{"a task of an srun step", step, true, Config{Rank: 3, WorldSize: 8, Master: "gpu07:24567"}},
		{"the job's node list without the step's", with("SLURM_STEP_NODELIST", ""), true, Config{Rank: 3, WorldSize: 8, Master: "gpu01:24567"}},
		{"SLURM_NTASKS without the step's count", with("SLURM_STEP_NUM_TASKS", ""), true, Config{Rank: 3, WorldSize: 16, Master: "gpu07:24567"}},
		{"the overrides", with(MasterAddrEnv, "10.0.0.5", MasterPortEnv, "29500", "SLURM_JOB_ID", ""), true, Config{Rank: 3, WorldSize: 8, Master: "10.0.0.5:29500"}},
		{"an IPv6 override", with(MasterAddrEnv, "fd00::5"), true, Config{Rank: 3, WorldSize: 8, Master: "[fd00::5]:24567"}},
		{"not under Slurm", map[string]string{}, false, Config{}},
		{"a batch script (no step)", with("SLURM_STEP_ID", ""), false, Config{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, ok, err := fromSlurm(env(c.env))
			if err != nil || ok != c.ok || cfg != c.want {
				t.Errorf("got %+v, %v, %v; want %+v, %v", cfg, ok, err, c.want, c.ok)
			}
		})
	}
	errCases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"a rank that is not a number", with("SLURM_PROCID", "x"), `SLURM_PROCID="x": want a number`},
		{"no task count", with("SLURM_STEP_NUM_TASKS", "", "SLURM_NTASKS", ""), "SLURM_STEP_NUM_TASKS is not set"},
		{"no node list", with("SLURM_STEP_NODELIST", "", "SLURM_JOB_NODELIST", ""), `SLURM_JOB_NODELIST="": empty node list`},
		{"a bad node list", with("SLURM_STEP_NODELIST", "gpu[3-1]"), `SLURM_STEP_NODELIST="gpu[3-1]": "3-1" in "gpu[3-1]"`},
		{"a bad port", with(MasterPortEnv, "99999"), MasterPortEnv + `="99999": want a port`},
		{"no job id", with("SLURM_JOB_ID", ""), "SLURM_JOB_ID is not set"},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			_, ok, err := fromSlurm(env(c.env))
			if !ok || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got ok %v, %v; want ErrConfig with %q", ok, err, c.want)
			}
		})
	}
}

// The node lists and their hosts as `scontrol show hostnames` of Slurm 22.05 prints them; the
// bad lists are those it rejects.
func TestExpandNodelist(t *testing.T) {
	cases := []struct {
		list string
		want []string
	}{
		{"vm", []string{"vm"}},
		{"node[01-03]", []string{"node01", "node02", "node03"}},
		{"node[01-03,07],gpu5", []string{"node01", "node02", "node03", "node07", "gpu5"}},
		{"n[8-10]", []string{"n8", "n9", "n10"}},
		{"n[08-10]", []string{"n08", "n09", "n10"}},
		{"a[1,3],b,c[2-3]", []string{"a1", "a3", "b", "c2", "c3"}},
		{"r[1-2]n[1-2]", []string{"r1n1", "r1n2", "r2n1", "r2n2"}},
		{"a,,b", []string{"a", "b"}},
		{"node-1.cluster.org", []string{"node-1.cluster.org"}},
	}
	for _, c := range cases {
		got, err := expandNodelist(c.list)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("expandNodelist(%q) = %q, %v; want %q", c.list, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "node[1-2", "node1-2]", "node[[1]]", "node[]", "node[a-b]", "node[2-1]", ",", "node[-3]"} {
		if got, err := expandNodelist(bad); err == nil {
			t.Errorf("expandNodelist(%q) = %q, want an error", bad, got)
		}
	}
}

func TestGlooAddress(t *testing.T) {
	cases := []struct {
		name  string
		local string
		seen  []string
		want  string
	}{
		{"a rank on another machine than rank 0", "10.0.0.7", []string{"10.0.0.5", "10.0.0.5"}, "10.0.0.7"},
		{"rank 0's machine, the others elsewhere", "127.0.1.1", []string{"127.0.1.1", "10.0.0.5"}, "10.0.0.5"},
		{"every rank on one machine", "127.0.0.1", []string{"127.0.0.1", "127.0.0.1"}, "127.0.0.1"},
		{"no route", "", []string{"", "10.0.0.5"}, ""},
		{"IPv6", "::1", []string{"::1", "fd00::5"}, "fd00::5"},
	}
	for _, c := range cases {
		if got := glooAddress(c.local, c.seen); got != c.want {
			t.Errorf("%s: glooAddress(%q, %q) = %q, want %q", c.name, c.local, c.seen, got, c.want)
		}
	}
}

// TestFromEnv: the torchrun-like variables, and every bad one named.
func TestFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	good := []struct {
		name string
		env  func(string) string
		want Config
	}{
		{"two ranks", env(WorldSizeEnv, "2", RankEnv, "1", MasterAddrEnv, "node1", MasterPortEnv, "29500"),
			Config{Rank: 1, WorldSize: 2, Master: "node1:29500"}},
		{"IPv6 master and a timeout", env(WorldSizeEnv, "4", RankEnv, "0", MasterAddrEnv, "fd00::1", MasterPortEnv, "29500", TimeoutEnv, "10m"),
			Config{WorldSize: 4, Master: "[fd00::1]:29500", Timeout: 10 * time.Minute}},
		{"one process needs no master", env(WorldSizeEnv, "1"), Config{WorldSize: 1}},
	}
	for _, c := range good {
		cfg, ok, err := fromEnv(c.env)
		if err != nil || !ok || cfg != c.want {
			t.Errorf("%s: %+v %v %v, want %+v", c.name, cfg, ok, err, c.want)
		}
	}
	if cfg, ok, err := fromEnv(env(RankEnv, "1")); ok || err != nil || cfg != (Config{}) {
		t.Errorf("no world size: %+v %v %v, want not ok", cfg, ok, err)
	}
	bad := []struct {
		env  func(string) string
		want string
	}{
		{env(WorldSizeEnv, "two"), `SMOOTHL1_WORLD_SIZE="two": want a number`},
		{env(WorldSizeEnv, "0"), `SMOOTHL1_WORLD_SIZE="0": want at least 1`},
		{env(WorldSizeEnv, "2", MasterAddrEnv, "h", MasterPortEnv, "1"), "SMOOTHL1_WORLD_SIZE is set (2) but SMOOTHL1_RANK is not"},
		{env(WorldSizeEnv, "2", RankEnv, "2", MasterAddrEnv, "h", MasterPortEnv, "1"), "SMOOTHL1_RANK=2: want 0 to 1"},
		{env(WorldSizeEnv, "2", RankEnv, "-1"), `SMOOTHL1_RANK="-1": want a number`},
		{env(WorldSizeEnv, "2", RankEnv, "0", MasterPortEnv, "1"), "needs SMOOTHL1_MASTER_ADDR and SMOOTHL1_MASTER_PORT"},
		{env(WorldSizeEnv, "2", RankEnv, "0", MasterAddrEnv, "h", MasterPortEnv, "0"), `SMOOTHL1_MASTER_PORT="0": want a port`},
		{env(WorldSizeEnv, "2", RankEnv, "0", TimeoutEnv, "soon"), `SMOOTHL1_TIMEOUT="soon": want a positive duration`},
	}
	for _, c := range bad {
		if _, ok, err := fromEnv(c.env); !ok || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v (ok %v), want ErrConfig with %q", err, ok, c.want)
		}
	}
}
