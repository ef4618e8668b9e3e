package distributed

import (
	"errors"
	"strconv"
	"strings"
)

var (
	// ErrConfig is wrapped by every error about a Config, or about the Slurm environment
	// FromSlurm reads; the message names the field or variable.
	ErrConfig = errors.New("distributed: invalid configuration")
	// ErrClosed is returned by a collective of a Group after Close.
	ErrClosed = errors.New("distributed: the group is closed")
)

// RankError is the error of a rendezvous or a collective that failed because of other ranks:
// ranks that are gone, never arrived, did not reach the collective within the timeout, or
// called another collective or passed other tensors than rank 0 (out of step). Its message
// names them; Ranks lists them.
type RankError struct {
	Op    string // "rendezvous", "allreduce", "broadcast", "allgather" or "barrier"
	Ranks []int  // the ranks named as the cause, ascending; empty when none could be named
	msg   string
	Err   error // what Gloo or the store reported, when they did
}

func (e *RankError) Error() string { return e.msg }
func (e *RankError) Unwrap() error { return e.Err }

// rankList formats ranks as "rank 1", "ranks 1 and 3" or "ranks 1, 2 and 5", each rank
// followed by what note says of it, when it says something.
func rankList(ranks []int, note func(r int) string) string {
	s := make([]string, len(ranks))
	for i, r := range ranks {
		s[i] = strconv.Itoa(r)
		if n := note(r); n != "" {
			s[i] += " (" + n + ")"
		}
	}
	if len(s) == 1 {
		return "rank " + s[0]
	}
	return "ranks " + strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
