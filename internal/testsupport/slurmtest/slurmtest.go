// Package slurmtest starts a private single-node Slurm cluster for tests: munged, slurmctld and
// slurmd run as children of the test with their configuration, keys, sockets, state and logs
// in a temporary folder, on free ports. Nothing system-wide is read or changed (no /etc/slurm,
// no /etc/munge, no systemd); the commands reach this cluster through SLURM_CONF (Cluster.Env).
//
// It needs root (slurmd runs jobs as their submitter and must be able to) and Debian's
// slurmctld, slurmd, slurm-client and munge packages, which Start installs with apt-get when
// they are missing. On a machine where that cannot work Start fails the test with the reason:
// a test that needs a real Slurm must not pass by skipping.
package slurmtest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The Debian packages and the programs of theirs that the cluster runs.
var (
	Packages = []string{"slurmctld", "slurmd", "slurm-client", "munge"}
	programs = []string{"munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo"}
)

// Cluster is a running single-node cluster.
type Cluster struct {
	Dir  string // the private folder: slurm.conf, munge key and socket, state, spool, logs
	Conf string // Dir/slurm.conf
	Node string // the node's name (this host's short name)
	CPUs int    // the node's CPUs
	// Partition is the only partition, the default.
	Partition string

	t     testing.TB
	procs []*exec.Cmd
}

// Start installs what is missing, starts munged, slurmctld and slurmd, waits until the node is
// idle, and registers a cleanup that cancels every job and stops the three daemons by their
// PIDs (and checks that no process of the cluster is left, zombies included).
func Start(t testing.TB) *Cluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("slurmtest: this test runs a real Slurm (slurmd and munged) and must run as root, "+
			"as `make test` does in CI; it runs as uid %d", os.Geteuid())
	}
	if err := install(); err != nil {
		t.Fatalf("slurmtest: %v", err)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatalf("slurmtest: hostname: %v", err)
	}
	host, _, _ = strings.Cut(host, ".")
	dir, err := os.MkdirTemp("", "slurmtest-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Dir: dir, Conf: filepath.Join(dir, "slurm.conf"), Node: host, CPUs: runtime.NumCPU(), Partition: "test", t: t}
	t.Cleanup(c.stop)
	if err := c.start(); err != nil {
		t.Fatalf("slurmtest: %v\n%s", err, c.Logs())
	}
	return c
}

// install runs apt-get install for the packages when a program of theirs is missing, and
// apt-get update first when the install fails for lack of package lists.
func install() error {
	missing := false
	for _, p := range programs {
		if _, err := lookPath(p); err != nil {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	apt, err := exec.LookPath("apt-get")
	if err != nil {
		return fmt.Errorf("the Slurm programs are missing and there is no apt-get to install %s", strings.Join(Packages, " "))
	}
	// Tests of several packages may install at once: wait for dpkg's lock instead of failing.
	args := append([]string{"-o", "DPkg::Lock::Timeout=300", "install", "-y", "--no-install-recommends"}, Packages...)
	run := func(args ...string) ([]byte, error) {
		cmd := exec.Command(apt, args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	if out, err := run(args...); err != nil {
		if uout, uerr := run("-o", "DPkg::Lock::Timeout=300", "update"); uerr != nil {
			return fmt.Errorf("apt-get install %s: %v\n%s\napt-get update: %v\n%s", strings.Join(Packages, " "), err, tail(out), uerr, tail(uout))
		}
		if out, err := run(args...); err != nil {
			return fmt.Errorf("apt-get install %s (after apt-get update): %v\n%s", strings.Join(Packages, " "), err, tail(out))
		}
	}
	for _, p := range programs {
		if _, err := lookPath(p); err != nil {
			return fmt.Errorf("%s is still missing after installing %s", p, strings.Join(Packages, " "))
		}
	}
	return nil
}

// lookPath finds a program on PATH or in the sbin folders, which a test's PATH may lack.
func lookPath(p string) (string, error) {
	if path, err := exec.LookPath(p); err == nil {
		return path, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if st, err := os.Stat(filepath.Join(d, p)); err == nil && st.Mode()&0o111 != 0 {
			return filepath.Join(d, p), nil
		}
	}
	return "", fmt.Errorf("%s not found", p)
}

func (c *Cluster) path(parts ...string) string {
	return filepath.Join(append([]string{c.Dir}, parts...)...)
}

func (c *Cluster) start() error {
	// munged: every folder on the socket's path world-executable and the socket's own folder
	// 0755 (mktemp's folders are 0700); the key in a folder of its own, 0700.
	for _, d := range []struct {
		name string
		mode os.FileMode
	}{{"", 0o755}, {"munge", 0o755}, {"munge-key", 0o700}, {"state", 0o755}, {"spool", 0o755}, {"log", 0o755}} {
		if err := os.MkdirAll(c.path(d.name), d.mode); err != nil {
			return err
		}
		if err := os.Chmod(c.path(d.name), d.mode); err != nil {
			return err
		}
	}
	key := make([]byte, 1024)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	if err := os.WriteFile(c.path("munge-key", "munge.key"), key, 0o400); err != nil {
		return err
	}
	socket := c.path("munge", "munge.socket")
	if err := c.daemon("munged", "--foreground", "--force", "--socket="+socket,
		"--key-file="+c.path("munge-key", "munge.key"), "--pid-file="+c.path("munge", "munged.pid"),
		"--log-file="+c.path("log", "munged.log"), "--seed-file="+c.path("munge-key", "munged.seed")); err != nil {
		return err
	}
	if err := waitFor(10*time.Second, func() bool { _, err := os.Stat(socket); return err == nil }); err != nil {
		return fmt.Errorf("munged did not create its socket: %w", err)
	}
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	conf := fmt.Sprintf(`# A private single-node cluster of package slurmtest.
ClusterName=slurmtest
SlurmctldHost=%[1]s(127.0.0.1)
SlurmctldPort=%[2]d
SlurmdPort=%[3]d
AuthType=auth/munge
AuthInfo=socket=%[4]s
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=%[5]s/state
SlurmdSpoolDir=%[5]s/spool
SlurmctldPidFile=%[5]s/slurmctld.pid
SlurmdPidFile=%[5]s/slurmd.pid
SlurmctldLogFile=%[5]s/log/slurmctld.log
SlurmdLogFile=%[5]s/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# Finished jobs stay visible to squeue and scontrol this long (there is no slurmdbd, no sacct).
MinJobAge=600
# Seconds between SIGTERM and SIGKILL when a job is cancelled or requeued.
KillWait=15
NodeName=%[1]s NodeAddr=127.0.0.1 CPUs=%[6]d State=UNKNOWN
PartitionName=%[7]s Nodes=%[1]s Default=YES MaxTime=INFINITE State=UP
`, c.Node, ports[0], ports[1], socket, c.Dir, c.CPUs, c.Partition)
	if err := os.WriteFile(c.Conf, []byte(conf), 0o644); err != nil {
		return err
	}
	if err := c.daemon("slurmctld", "-D", "-i", "-f", c.Conf); err != nil {
		return err
	}
	if err := c.daemon("slurmd", "-D", "-f", c.Conf, "-N", c.Node); err != nil {
		return err
	}
	// The node reports idle once slurmd has registered.
	var last string
	err = waitFor(30*time.Second, func() bool {
		out, _ := c.Command("sinfo", "--noheader", "--nodes="+c.Node, "--format=%T").CombinedOutput()
		last = strings.TrimSpace(string(out))
		return last == "idle"
	})
	if err != nil {
		return fmt.Errorf("the node did not become idle (sinfo says %q): %w", last, err)
	}
	return nil
}

// daemon starts a program of the cluster in the foreground, as a child of the test.
func (c *Cluster) daemon(name string, args ...string) error {
	path, err := lookPath(name)
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = c.Env()
	log, err := os.Create(c.path("log", name+".out"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = log, log
	// A group of its own: a Ctrl-C of `go test` must not reach the daemons before the cleanup.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	log.Close()
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	c.procs = append(c.procs, cmd)
	// An early exit is a configuration error: say so now rather than time out later.
	time.Sleep(50 * time.Millisecond)
	if alive(cmd.Process.Pid) {
		return nil
	}
	cmd.Wait()
	return fmt.Errorf("%s exited at once: %s", name, tail(readFile(c.path("log", name+".out"))))
}

// Env is the environment in which the Slurm commands talk to this cluster.
func (c *Cluster) Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLURM_") {
			env = append(env, kv)
		}
	}
	env = append(env, "SLURM_CONF="+c.Conf)
	if !strings.Contains(os.Getenv("PATH"), "sbin") {
		for i, kv := range env {
			if strings.HasPrefix(kv, "PATH=") {
				env[i] = kv + ":/usr/sbin:/sbin"
			}
		}
	}
	return env
}

// Command returns a Slurm command (sbatch, squeue, scontrol, ...) bound to this cluster.
func (c *Cluster) Command(name string, args ...string) *exec.Cmd {
	path, err := lookPath(name)
	if err != nil {
		path = name
	}
	cmd := exec.Command(path, args...)
	cmd.Env = c.Env()
	return cmd
}

// Logs returns the tails of the daemons' logs, for a failure message.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, f := range []string{"munged.log", "munged.out", "slurmctld.log", "slurmctld.out", "slurmd.log", "slurmd.out"} {
		if data := readFile(c.path("log", f)); len(data) > 0 {
			fmt.Fprintf(&b, "--- %s\n%s\n", f, tail(data))
		}
	}
	return b.String()
}

// stop cancels the jobs, stops the daemons (SIGTERM, then SIGKILL after 10 s) in reverse
// order of start and waits for each, kills any process still running with this cluster's
// SLURM_CONF in its environment (job steps, jobs' programs), and removes Dir unless the test
// failed.
func (c *Cluster) stop() {
	if len(c.procs) == 3 {
		c.Command("scancel", "--full", "--user=root").Run()
		waitFor(20*time.Second, func() bool {
			out, err := c.Command("squeue", "--noheader", "--format=%i").Output()
			return err == nil && len(bytes.TrimSpace(out)) == 0
		})
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		cmd := c.procs[i]
		pid := cmd.Process.Pid
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			c.t.Errorf("slurmtest: %s (pid %d) ignored SIGTERM for 10 s; killing it", filepath.Base(cmd.Path), pid)
			cmd.Process.Kill()
			<-done
		}
		if alive(pid) {
			c.t.Errorf("slurmtest: %s (pid %d) is still there after it was reaped", filepath.Base(cmd.Path), pid)
		}
	}
	for _, pid := range c.leftovers() {
		c.t.Errorf("slurmtest: process %d (%s) of the cluster outlived its daemons; killing it", pid, comm(pid))
		syscall.Kill(pid, syscall.SIGKILL)
	}
	waitFor(5*time.Second, func() bool { return len(c.leftovers()) == 0 })
	if c.t.Failed() {
		c.t.Logf("slurmtest: cluster folder kept for inspection: %s", c.Dir)
		return
	}
	os.RemoveAll(c.Dir)
}

// leftovers are the live processes whose environment holds this cluster's SLURM_CONF.
func (c *Cluster) leftovers() []int {
	want := []byte("SLURM_CONF=" + c.Conf + "\x00")
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && bytes.Contains(env, want) && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive reports whether pid is a process that has not exited: /proc/<pid>/stat exists and its
// state is not Z (a zombie) or X (dead). kill -0 succeeds on zombies.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return false
	}
	s := data[i+2]
	return s != 'Z' && s != 'X'
}

func comm(pid int) string {
	return strings.TrimSpace(string(readFile(fmt.Sprintf("/proc/%d/comm", pid))))
}

// freePorts returns n TCP ports that were free a moment ago (the kernel's choice of port 0).
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func waitFor(d time.Duration, ok func() bool) error {
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			return errors.New("timed out after " + d.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

func readFile(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

// tail is the last 30 lines of b.
func tail(b []byte) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}
