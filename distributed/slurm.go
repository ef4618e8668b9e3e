package distributed

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// The environment FromSlurm reads besides Slurm's own.
const (
	// MasterAddrEnv overrides the host of Config.Master (the first node of the step).
	MasterAddrEnv = "SMOOTHL1_MASTER_ADDR"
	// MasterPortEnv overrides the port of Config.Master (SlurmPortBase + SLURM_JOB_ID mod
	// SlurmPortRange). Set it when two steps of one job run at the same time.
	MasterPortEnv = "SMOOTHL1_MASTER_PORT"
)

// The port FromSlurm derives from the job id: below Linux's ephemeral ports (32768 and up), so
// that no outgoing connection holds it, and the same on every task of the job.
const (
	SlurmPortBase  = 20000
	SlurmPortRange = 10000
)

// FromSlurm returns the Config of this task of a Slurm job step started by srun (one task per
// rank), and ok=false, with no error, when the process is not such a task: outside Slurm, and
// in a batch script itself, where Slurm also sets SLURM_PROCID=0 and SLURM_NTASKS but no other
// task runs.
//
//	Rank       SLURM_PROCID
//	WorldSize  SLURM_STEP_NUM_TASKS (else SLURM_NTASKS)
//	Master     host:port: the first node of SLURM_STEP_NODELIST (else SLURM_JOB_NODELIST), where
//	           srun starts task 0 (block and cyclic distributions), and the port
//	           SlurmPortBase + SLURM_JOB_ID mod SlurmPortRange
//
// MasterAddrEnv and MasterPortEnv override the host and the port (with an arbitrary
// distribution, set the host of task 0). Timeout and BucketBytes are left zero (the defaults).
// A malformed variable is an error wrapping ErrConfig that names it.
func FromSlurm() (Config, bool, error) { return fromSlurm(os.Getenv) }

func fromSlurm(getenv func(string) string) (Config, bool, error) {
	if getenv("SLURM_STEP_ID") == "" || getenv("SLURM_PROCID") == "" {
		return Config{}, false, nil
	}
	num := func(names ...string) (int, error) {
		for _, name := range names {
			v := getenv(name)
			if v == "" {
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("%w: %s=%q: want a number", ErrConfig, name, v)
			}
			return n, nil
		}
		return 0, fmt.Errorf("%w: %s is not set", ErrConfig, names[0])
	}
	var cfg Config
	var err error
	if cfg.Rank, err = num("SLURM_PROCID"); err != nil {
		return Config{}, true, err
	}
	if cfg.WorldSize, err = num("SLURM_STEP_NUM_TASKS", "SLURM_NTASKS"); err != nil {
		return Config{}, true, err
	}
	host := getenv(MasterAddrEnv)
	if host == "" {
		name := "SLURM_STEP_NODELIST"
		list := getenv(name)
		if list == "" {
			name = "SLURM_JOB_NODELIST"
			list = getenv(name)
		}
		hosts, err := expandNodelist(list)
		if err != nil {
			return Config{}, true, fmt.Errorf("%w: %s=%q: %v", ErrConfig, name, list, err)
		}
		host = hosts[0]
	}
	var port int
	if v := getenv(MasterPortEnv); v != "" {
		port, err = strconv.Atoi(v)
		if err != nil || port < 1 || port > 65535 {
			return Config{}, true, fmt.Errorf("%w: %s=%q: want a port, 1 to 65535", ErrConfig, MasterPortEnv, v)
		}
	} else {
		job, err := num("SLURM_JOB_ID")
		if err != nil {
			return Config{}, true, err
		}
		port = SlurmPortBase + job%SlurmPortRange
	}
	cfg.Master = net.JoinHostPort(host, strconv.Itoa(port))
	return cfg, true, nil
}

// expandNodelist returns the host names of a Slurm node list such as "node[01-03,07],gpu1" in
// order: node01 node02 node03 node07 gpu1. A bracket holds numbers and ranges, whose width
// is kept ("[08-10]" is 08 09 10); a name may hold several brackets ("r[1-2]n[1-2]" is r1n1
// r1n2 r2n1 r2n2, as Slurm's hostlist orders them). It is what `scontrol show hostnames` prints,
// without needing scontrol.
func expandNodelist(list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return nil, fmt.Errorf("empty node list")
	}
	var hosts []string
	depth, start := 0, 0
	for i := 0; i <= len(list); i++ {
		if i < len(list) {
			switch list[i] {
			case '[':
				depth++
				if depth > 1 {
					return nil, fmt.Errorf("nested '[' at offset %d", i)
				}
				continue
			case ']':
				depth--
				if depth < 0 {
					return nil, fmt.Errorf("']' without '[' at offset %d", i)
				}
				continue
			case ',':
				if depth > 0 {
					continue
				}
			default:
				continue
			}
		}
		if depth > 0 {
			return nil, fmt.Errorf("'[' without ']'")
		}
		name := strings.TrimSpace(list[start:i])
		start = i + 1
		if name == "" {
			continue // as Slurm reads "a,,b"
		}
		hs, err := expandName(name)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, hs...)
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("no host in the node list")
	}
	return hosts, nil
}

// expandName expands the brackets of one name, the first bracket varying slowest.
func expandName(name string) ([]string, error) {
	open := strings.IndexByte(name, '[')
	if open < 0 {
		return []string{name}, nil
	}
	end := strings.IndexByte(name[open:], ']') + open
	prefix, body, rest := name[:open], name[open+1:end], name[end+1:]
	var values []string
	for _, part := range strings.Split(body, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if lo == "" || hi == "" || err1 != nil || err2 != nil || a < 0 || b < a {
			return nil, fmt.Errorf("%q in %q: want a number or a range lo-hi with lo <= hi", part, name)
		}
		for n := a; n <= b; n++ {
			values = append(values, fmt.Sprintf("%0*d", len(lo), n))
		}
	}
	tails, err := expandName(rest)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, v := range values {
		for _, t := range tails {
			out = append(out, prefix+v+t)
		}
	}
	return out, nil
}
