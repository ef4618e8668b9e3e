// Package distributed runs collectives between the processes of one data-parallel training
// run (ranks, on one machine or many) on libtorch's own distributed engine: c10d's TCPStore for
// the rendezvous and its Gloo process group for the collectives, reached through a small C++
// layer of this project (csrc/), since gotch does not wrap c10d.
//
//	cfg, ok, err := distributed.FromSlurm() // or a Config of your own: Rank, WorldSize, Master
//	g, err := distributed.New(cfg)          // every rank meets the others
//	defer g.Close()
//	err = g.Broadcast(params, 0)            // initial weights from rank 0
//	err = g.AllReduceMean(grads)            // each step: the mean gradient, in place
//	all, err := g.AllGather(summary)        // small buffers, in rank order
//
// # Rendezvous
//
// Rank 0 hosts a TCPStore at Config.Master (host:port); every rank connects to it, says it has
// arrived, and waits for the others; then the ranks connect to each other through Gloo. Under
// Slurm, FromSlurm reads the rank, the world size and the first node of the step from srun's
// environment and derives the port from the job id. Elsewhere FromEnv reads SMOOTHL1_RANK,
// SMOOTHL1_WORLD_SIZE, SMOOTHL1_MASTER_ADDR and SMOOTHL1_MASTER_PORT, torchrun's variables
// under this project's prefix (`smoothl1 train --nproc N` sets them for the ranks it starts).
//
// # The torch thread
//
// AllReduceMean and Broadcast read and write gotch tensors: they run on the torch thread
// (package torchthread), inside the caller's torchthread.Do or in one of their own. The other
// methods may run anywhere. A Group's calls are serialised; every rank must make the same
// calls in the same order, with tensors of the same shapes and dtypes (Gloo pairs them by
// order, as PyTorch's DistributedDataParallel does).
//
// # Failures
//
// Nothing waits forever. Config.Timeout (DefaultTimeout when zero) bounds the rendezvous and
// every send and receive of a collective. Each rank writes a heartbeat to the store every
// 100 ms; when a collective fails, the rank reads the heartbeats for a second and returns a
// *RankError naming the ranks at fault:
//
//	distributed: rendezvous: rank 1 did not arrive within 30s (world size 2, store node1:24567)
//	distributed: allreduce: rank 1 (pid 4242 on node2) is gone (no heartbeat for 1s): …Connection closed by peer…
//	distributed: barrier: rank 1 (pid 4242 on node2) is alive but did not reach this barrier (collective 7) within 30s; …
//	distributed: allreduce: rank 0 (pid 17 on node1) is gone: its store at node1:24567 does not answer (…)
//	distributed: allreduce: the ranks are out of step: rank 1 is in barrier (collective 7) where rank 0 is in allreduce (collective 7)
//
// A dead peer is seen at once (its connections close), so the error comes about a second
// later; a live peer that does not come is named after Timeout. Ranks out of step are found
// by the exchange of fixed-size headers each collective begins with (the collective, its
// number, a hash of the tensors' dtypes and shapes), before any transfer whose sizes would
// differ, which Gloo answers by ending the process.
//
// After a failure the group stays failed and every later collective returns the same error:
// the run ends (a trainer restarts from its checkpoint with a new group). A mistake found on
// this rank alone before any exchange (an integer tensor to average, a root out of range) is an
// ordinary error and does not fail the group.
//
// # Building
//
// `make setup` compiles csrc/c10d_api.cpp against the libtorch it finds (scripts/c10d.sh,
// which also installs Debian's libgloo-dev when Gloo's headers are missing) into
// .deps/c10d/libsmoothl1_c10d-HASH.a and writes the git-ignored c10d_archive.go that links it;
// without them the package does not compile ("undefined: c10dArchiveBuiltByMakeSetup").
// docs/distributed.md has more.
package distributed
