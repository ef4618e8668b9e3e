package distributed

// The cgo side: thin wrappers over the C interface of csrc/c10d_api.h. The C++ layer is compiled
// by scripts/c10d.sh (run by `make setup`) into an archive that the generated, git-ignored
// c10d_archive.go links.

// #cgo CFLAGS: -I${SRCDIR}/csrc
// #include <stdlib.h>
// #include "c10d_api.h"
import "C"

import (
	"errors"
	"runtime"
	"slices"
	"time"
	"unsafe"

	"github.com/sugarme/gotch/ts"
)

// Without c10d_archive.go, which `make setup` writes, the package stops here.
const _ = c10dArchiveBuiltByMakeSetup

// cerr turns a C error message into a Go error and frees it.
func cerr(p *C.char) error {
	if p == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(p))
	return errors.New(C.GoString(p))
}

func millis(d time.Duration) C.int64_t { return C.int64_t(d.Milliseconds()) }

type store struct{ p *C.c10d_store }

// openStore connects to the TCPStore at host:port, hosting it first when server is set.
func openStore(host string, port int, server bool, timeout time.Duration) (*store, error) {
	ch := C.CString(host)
	defer C.free(unsafe.Pointer(ch))
	srv := C.int(0)
	if server {
		srv = 1
	}
	var p *C.c10d_store
	if err := cerr(C.c10d_store_open(ch, C.int(port), srv, millis(timeout), &p)); err != nil {
		return nil, err
	}
	return &store{p}, nil
}

func (s *store) close() {
	if s != nil && s.p != nil {
		C.c10d_store_close(s.p)
		s.p = nil
	}
}

func (s *store) set(key string, val []byte) error {
	ck := C.CString(key)
	defer C.free(unsafe.Pointer(ck))
	var p unsafe.Pointer
	if len(val) > 0 {
		p = unsafe.Pointer(&val[0])
	}
	return cerr(C.c10d_store_set(s.p, ck, p, C.size_t(len(val))))
}

// get returns the value of key, which must exist (a missing key waits for the store's timeout).
func (s *store) get(key string) ([]byte, error) {
	ck := C.CString(key)
	defer C.free(unsafe.Pointer(ck))
	var p unsafe.Pointer
	var n C.size_t
	if err := cerr(C.c10d_store_get(s.p, ck, &p, &n)); err != nil {
		return nil, err
	}
	defer C.free(p)
	return C.GoBytes(p, C.int(n)), nil
}

func (s *store) check(key string) (bool, error) {
	ck := C.CString(key)
	defer C.free(unsafe.Pointer(ck))
	var found C.int
	err := cerr(C.c10d_store_check(s.p, ck, &found))
	return found != 0, err
}

// lookup returns the value of key and whether it exists.
func (s *store) lookup(key string) ([]byte, bool, error) {
	ok, err := s.check(key)
	if err != nil || !ok {
		return nil, false, err
	}
	v, err := s.get(key)
	return v, err == nil, err
}

func (s *store) wait(keys []string, timeout time.Duration) error {
	cs := make([]*C.char, len(keys))
	for i, k := range keys {
		cs[i] = C.CString(k)
		defer C.free(unsafe.Pointer(cs[i]))
	}
	// cs is Go memory holding C pointers only, which cgo allows to pass.
	return cerr(C.c10d_store_wait(s.p, &cs[0], C.int(len(keys)), millis(timeout)))
}

type pgroup struct{ p *C.c10d_group }

func newPGroup(s *store, prefix string, rank, size int, hostname, iface string, timeout time.Duration) (*pgroup, error) {
	cp, ch, ci := C.CString(prefix), C.CString(hostname), C.CString(iface)
	defer C.free(unsafe.Pointer(cp))
	defer C.free(unsafe.Pointer(ch))
	defer C.free(unsafe.Pointer(ci))
	var p *C.c10d_group
	if err := cerr(C.c10d_group_new(s.p, cp, C.int(rank), C.int(size), ch, ci, millis(timeout), &p)); err != nil {
		return nil, err
	}
	return &pgroup{p}, nil
}

// free destroys the process group (or abandons it, see c10d_group_free).
func (g *pgroup) free() {
	if g != nil && g.p != nil {
		C.c10d_group_free(g.p)
		g.p = nil
	}
}

// ctensors returns the C pointers of the tensors (at::Tensor*), nil when there are none; a nil
// tensor is a caller's bug.
func ctensors(tensors []*ts.Tensor) []unsafe.Pointer {
	ps := make([]unsafe.Pointer, len(tensors))
	for i, t := range tensors {
		if t == nil {
			panic("distributed: nil tensor")
		}
		ps[i] = t.Ctensor()
	}
	return ps
}

func first(ps []unsafe.Pointer) *unsafe.Pointer {
	if len(ps) == 0 {
		return nil
	}
	return &ps[0]
}

func (g *pgroup) allReduceMean(tensors []*ts.Tensor, bucketBytes int64) error {
	ps := ctensors(tensors)
	err := cerr(C.c10d_allreduce_mean(g.p, first(ps), C.int(len(ps)), C.int64_t(bucketBytes)))
	runtime.KeepAlive(tensors)
	return err
}

func (g *pgroup) broadcast(tensors []*ts.Tensor, root int, bucketBytes int64) error {
	ps := ctensors(tensors)
	err := cerr(C.c10d_broadcast(g.p, first(ps), C.int(len(ps)), C.int(root), C.int64_t(bucketBytes)))
	runtime.KeepAlive(tensors)
	return err
}

// exchange gathers every rank's numbers (as many on each): all[r] are rank r's.
func (g *pgroup) exchange(mine []int64, size int) ([][]int64, error) {
	flat := make([]int64, size*len(mine))
	err := cerr(C.c10d_exchange(g.p, (*C.int64_t)(unsafe.Pointer(&mine[0])), C.int(len(mine)),
		(*C.int64_t)(unsafe.Pointer(&flat[0]))))
	if err != nil {
		return nil, err
	}
	all := make([][]int64, size)
	for r := range all {
		all[r] = flat[r*len(mine) : (r+1)*len(mine) : (r+1)*len(mine)]
	}
	return all, nil
}

// allGather gathers every rank's buf, whose lengths are lens (as the exchange told them).
func (g *pgroup) allGather(buf []byte, lens []int) ([][]byte, error) {
	longest := slices.Max(lens)
	out := make([][]byte, len(lens))
	if longest == 0 {
		for r := range out {
			out[r] = []byte{}
		}
		return out, nil
	}
	flat := make([]byte, len(lens)*longest)
	var in unsafe.Pointer
	if len(buf) > 0 {
		in = unsafe.Pointer(&buf[0])
	}
	if err := cerr(C.c10d_allgather(g.p, in, C.int64_t(len(buf)), C.int64_t(longest), unsafe.Pointer(&flat[0]))); err != nil {
		return nil, err
	}
	for r, n := range lens {
		out[r] = flat[r*longest : r*longest+n : r*longest+n]
	}
	return out, nil
}

// layout checks the tensors as the collectives do (see c10d_layout) and returns a hash of
// their dtypes and shapes.
func layout(tensors []*ts.Tensor, floatingOnly bool) (int64, error) {
	ps := ctensors(tensors)
	f := C.int(0)
	if floatingOnly {
		f = 1
	}
	var h C.int64_t
	err := cerr(C.c10d_layout(first(ps), C.int(len(ps)), f, &h))
	runtime.KeepAlive(tensors)
	return int64(h), err
}
