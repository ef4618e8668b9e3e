package experiments

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/smoothl1/smoothl1/torchthread"
)

// The worker protocol: JSON lines. The parent sends a workerHello on the worker's standard
// input, then one workerRequest per run; the worker answers each with a workerReply on file
// descriptor 3 (WorkerReplyFD; not standard output, where a library might print), and exits at
// the end of its input. Its standard output and error are relayed to the sweep's log. All gotch calls of a process run on its one torch thread, so
// runs train side by side only in separate processes.
type (
	workerHello struct {
		Out     string `json:"out"`
		Threads int    `json:"threads"`
	}
	workerRequest struct {
		Run Run `json:"run"`
	}
	workerReply struct {
		ID      string  `json:"id"`
		Outcome Outcome `json:"outcome"`
		Record  *Record `json:"record,omitempty"`
		Error   string  `json:"error,omitempty"`
	}
)

// ServeWorker is the worker side of a sweep with Options.Jobs > 1: it reads runs from in,
// executes each (Execute) and answers on out, until in ends. Cancelling ctx stops the run in
// flight after a checkpoint. logger receives the trainer's warnings.
func ServeWorker(ctx context.Context, in io.Reader, out io.Writer, logger *slog.Logger) error {
	dec := json.NewDecoder(in)
	enc := json.NewEncoder(out)
	var hello workerHello
	if err := dec.Decode(&hello); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("experiments: worker: %w", err)
	}
	if err := torchthread.SetNumThreads(max(hello.Threads, 1)); err != nil {
		return err
	}
	for {
		var req workerRequest
		if err := dec.Decode(&req); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("experiments: worker: %w", err)
		}
		rec, o, err := Execute(ctx, hello.Out, req.Run, logger)
		reply := workerReply{ID: req.Run.ID, Outcome: o}
		if err != nil {
			reply.Error = err.Error()
		} else {
			reply.Record = &rec
		}
		if err := enc.Encode(reply); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// WorkerReplyFD is the file descriptor on which a worker process writes its replies.
const WorkerReplyFD = 3

var errWorkerDied = errors.New("worker process ended")

// worker is a running worker process.
type worker struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	replies *os.File
	enc     *json.Encoder
	dec     *json.Decoder
	relay   sync.WaitGroup
	stopCh  chan struct{}
}

func startWorker(ctx context.Context, out string, opt Options, prog *progress) (*worker, error) {
	cmd := opt.WorkerCommand()
	setDeathSignal(cmd) // a killed sweep takes its workers along (Linux)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	replies, replyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{replyW} // fd 3 in the worker
	err = cmd.Start()
	replyW.Close()
	if err != nil {
		replies.Close()
		return nil, fmt.Errorf("experiments: starting a worker: %w", err)
	}
	w := &worker{cmd: cmd, stdin: stdin, replies: replies, enc: json.NewEncoder(stdin), dec: json.NewDecoder(replies), stopCh: make(chan struct{})}
	for _, r := range []io.Reader{stdout, stderr} {
		w.relay.Add(1)
		go func() {
			defer w.relay.Done()
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				prog.relay(fmt.Sprintf("worker %d: %s", cmd.Process.Pid, sc.Text()))
			}
		}()
	}
	go func() {
		select {
		case <-ctx.Done():
			cmd.Process.Signal(os.Interrupt) // the worker checkpoints its run and answers
		case <-w.stopCh:
		}
	}()
	if err := w.enc.Encode(workerHello{Out: out, Threads: opt.Config.Threads}); err != nil {
		w.close()
		return nil, fmt.Errorf("experiments: worker: %w", err)
	}
	return w, nil
}

func (w *worker) run(r Run) (Record, Outcome, error) {
	if err := w.enc.Encode(workerRequest{Run: r}); err != nil {
		return Record{}, Trained, fmt.Errorf("%w: %v", errWorkerDied, err)
	}
	var rep workerReply
	if err := w.dec.Decode(&rep); err != nil {
		return Record{}, Trained, fmt.Errorf("%w during run %s: %v", errWorkerDied, r.ID, err)
	}
	if rep.Error != "" {
		return Record{}, rep.Outcome, errors.New(rep.Error)
	}
	if rep.ID != r.ID || rep.Record == nil {
		return Record{}, rep.Outcome, fmt.Errorf("%w: answered %q for run %s", errWorkerDied, rep.ID, r.ID)
	}
	return *rep.Record, rep.Outcome, nil
}

// close ends the worker: end of input, then a kill if it has not exited within a minute.
func (w *worker) close() {
	close(w.stopCh)
	w.stdin.Close()
	done := make(chan struct{})
	go func() {
		w.relay.Wait()
		w.cmd.Wait()
		w.replies.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		w.cmd.Process.Kill()
		<-done
	}
}

// runPool trains the runs in opt.Jobs worker processes, each taking the next run when it is
// free. A worker that dies fails its run and is replaced for the next one.
func runPool(ctx context.Context, out string, opt Options, runs []Run, prog *progress, report func(Run, Record, Outcome, error)) error {
	queue := make(chan Run, len(runs))
	for _, r := range runs {
		queue <- r
	}
	close(queue)
	var mu sync.Mutex
	rep := func(r Run, rec Record, o Outcome, err error) {
		mu.Lock()
		defer mu.Unlock()
		report(r, rec, o, err)
	}
	var wg sync.WaitGroup
	for i := 0; i < min(opt.Jobs, len(runs)); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var w *worker
			defer func() {
				if w != nil {
					w.close()
				}
			}()
			for r := range queue {
				if ctx.Err() != nil {
					return
				}
				if w == nil {
					var err error
					if w, err = startWorker(ctx, out, opt, prog); err != nil {
						rep(r, Record{}, Trained, err)
						return
					}
				}
				prog.started(r)
				rec, o, err := w.run(r)
				if ctx.Err() != nil {
					return
				}
				if errors.Is(err, errWorkerDied) {
					w.close()
					w = nil
				}
				rep(r, rec, o, err)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for r := range queue {
		rep(r, Record{}, Trained, errors.New("not run: no worker process could be started"))
	}
	return nil
}
