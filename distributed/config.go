package distributed

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

const (
	// DefaultTimeout bounds the rendezvous and every collective when Config.Timeout is zero.
	DefaultTimeout = 60 * time.Second
	// DefaultBucketBytes is the largest all-reduce and broadcast buffer when Config.BucketBytes
	// is zero: 25 MiB, PyTorch DDP's bucket_cap_mb.
	DefaultBucketBytes = 25 << 20
)

// Config describes one rank of a group.
type Config struct {
	// Rank is this process's rank, in [0, WorldSize).
	Rank int
	// WorldSize is the number of ranks, at least 1. With 1 nothing is networked: New needs no
	// Master and every collective is a local no-op (see Group).
	WorldSize int
	// Master is host:port of the TCPStore through which the ranks meet. Rank 0 hosts it (it
	// listens on port on every interface) and the others connect to host. Unused when WorldSize
	// is 1.
	Master string
	// Timeout bounds the rendezvous in New and every collective: a rank that is not there by
	// then is named in the error. Zero means DefaultTimeout. Set it above the longest work any
	// rank does alone between two collectives (an evaluation, a checkpoint write on rank 0):
	// the others wait that long in the next collective.
	Timeout time.Duration
	// BucketBytes is the largest buffer AllReduceMean and Broadcast pack tensors into (a larger
	// tensor travels alone). Zero means DefaultBucketBytes.
	BucketBytes int64
}

// withDefaults returns cfg checked, with its zero values replaced by the defaults, and Master's
// host and port.
func (cfg Config) withDefaults() (Config, string, int, error) {
	if cfg.WorldSize < 1 {
		return cfg, "", 0, fmt.Errorf("%w: WorldSize %d: want at least 1", ErrConfig, cfg.WorldSize)
	}
	if cfg.Rank < 0 || cfg.Rank >= cfg.WorldSize {
		return cfg, "", 0, fmt.Errorf("%w: Rank %d: want 0 to %d (WorldSize %d)", ErrConfig, cfg.Rank, cfg.WorldSize-1, cfg.WorldSize)
	}
	if cfg.Timeout < 0 {
		return cfg, "", 0, fmt.Errorf("%w: Timeout %v: want a positive duration, or 0 for %v", ErrConfig, cfg.Timeout, DefaultTimeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Timeout < time.Millisecond {
		return cfg, "", 0, fmt.Errorf("%w: Timeout %v: want at least 1ms", ErrConfig, cfg.Timeout)
	}
	if cfg.BucketBytes < 0 {
		return cfg, "", 0, fmt.Errorf("%w: BucketBytes %d: want a positive size, or 0 for %d", ErrConfig, cfg.BucketBytes, DefaultBucketBytes)
	}
	if cfg.BucketBytes == 0 {
		cfg.BucketBytes = DefaultBucketBytes
	}
	if cfg.WorldSize == 1 {
		return cfg, "", 0, nil
	}
	host, port, err := splitMaster(cfg.Master)
	if err != nil {
		return cfg, "", 0, fmt.Errorf("%w: Master %q: %v", ErrConfig, cfg.Master, err)
	}
	return cfg, host, port, nil
}

func splitMaster(master string) (string, int, error) {
	if master == "" {
		return "", 0, fmt.Errorf("want host:port (rank 0's address and a free port)")
	}
	host, p, err := net.SplitHostPort(master)
	if err != nil {
		return "", 0, fmt.Errorf("want host:port: %v", err)
	}
	if host == "" {
		return "", 0, fmt.Errorf("no host")
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("port %q: want 1 to 65535", p)
	}
	return host, port, nil
}
