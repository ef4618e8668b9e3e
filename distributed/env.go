package distributed

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// The environment FromEnv reads, as torchrun's RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT
// (MasterAddrEnv and MasterPortEnv, which also override FromSlurm's, complete them). `smoothl1
// train --nproc N` sets them for the ranks it starts; set them yourself where a scheduler
// other than Slurm starts one process per rank (a Kubernetes Indexed Job: the rank is the
// completion index).
const (
	RankEnv      = "SMOOTHL1_RANK"
	WorldSizeEnv = "SMOOTHL1_WORLD_SIZE"
	// TimeoutEnv, optional, is Config.Timeout as a Go duration ("90s", "10m").
	TimeoutEnv = "SMOOTHL1_TIMEOUT"
)

// FromEnv returns the Config the environment describes, and ok=false, with no error, when
// WorldSizeEnv is not set:
//
//	Rank       SMOOTHL1_RANK (0 when unset and the world size is 1)
//	WorldSize  SMOOTHL1_WORLD_SIZE
//	Master     SMOOTHL1_MASTER_ADDR:SMOOTHL1_MASTER_PORT (both required when WorldSize > 1)
//	Timeout    SMOOTHL1_TIMEOUT, optional
//
// A malformed or missing variable is an error wrapping ErrConfig that names it.
func FromEnv() (Config, bool, error) { return fromEnv(os.Getenv) }

func fromEnv(getenv func(string) string) (Config, bool, error) {
	world := getenv(WorldSizeEnv)
	if world == "" {
		return Config{}, false, nil
	}
	num := func(name, v string) (int, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%w: %s=%q: want a number", ErrConfig, name, v)
		}
		return n, nil
	}
	var cfg Config
	var err error
	if cfg.WorldSize, err = num(WorldSizeEnv, world); err != nil {
		return Config{}, true, err
	}
	if cfg.WorldSize < 1 {
		return Config{}, true, fmt.Errorf("%w: %s=%q: want at least 1", ErrConfig, WorldSizeEnv, world)
	}
	if v := getenv(RankEnv); v != "" || cfg.WorldSize > 1 {
		if v == "" {
			return Config{}, true, fmt.Errorf("%w: %s is set (%s) but %s is not", ErrConfig, WorldSizeEnv, world, RankEnv)
		}
		if cfg.Rank, err = num(RankEnv, v); err != nil {
			return Config{}, true, err
		}
		if cfg.Rank >= cfg.WorldSize {
			return Config{}, true, fmt.Errorf("%w: %s=%s: want 0 to %d (%s=%s)", ErrConfig, RankEnv, v, cfg.WorldSize-1, WorldSizeEnv, world)
		}
	}
	if v := getenv(TimeoutEnv); v != "" {
		if cfg.Timeout, err = time.ParseDuration(v); err != nil || cfg.Timeout <= 0 {
			return Config{}, true, fmt.Errorf("%w: %s=%q: want a positive duration such as 90s", ErrConfig, TimeoutEnv, v)
		}
	}
	if cfg.WorldSize == 1 {
		return cfg, true, nil
	}
	host, port := getenv(MasterAddrEnv), getenv(MasterPortEnv)
	if host == "" || port == "" {
		return Config{}, true, fmt.Errorf("%w: %s=%s needs %s and %s (rank 0's host and a free port)", ErrConfig, WorldSizeEnv, world, MasterAddrEnv, MasterPortEnv)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return Config{}, true, fmt.Errorf("%w: %s=%q: want a port, 1 to 65535", ErrConfig, MasterPortEnv, port)
	}
	cfg.Master = net.JoinHostPort(host, port)
	return cfg, true, nil
}
