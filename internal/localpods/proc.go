package localpods

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Restart backoff of a child that exits: it doubles from minBackoff up to maxBackoff, and starts again from
// minBackoff once a child has run for backoffReset.
const (
	minBackoff   = 100 * time.Millisecond
	maxBackoff   = 10 * time.Second
	backoffReset = 10 * time.Second
)

// proc is the stand-in for one pod's container: a listener owned by localpods and a supervised child process
// that serves on it. The listener outlives child restarts, so the port stays the same and connections that
// arrive while a child (re)starts wait in the accept queue instead of being refused.
type proc struct {
	namespace, name string
	uid             types.UID
	image, version  string
	program         string
	env             []string

	ln   *net.TCPListener
	file *os.File // dup of ln's socket, handed to every child as fd 3
	port int

	grace  time.Duration
	out    io.Writer
	log    *slog.Logger
	notify func()

	cancel context.CancelFunc
	done   chan struct{} // closed when the supervisor returned and the child is gone

	mu       sync.Mutex
	pid      int // 0 while no child runs
	restarts int
}

// startProc opens the pod's listener and starts supervising its child.
func startProc(p *proc) error {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return fmt.Errorf("listen for pod %s/%s: %w", p.namespace, p.name, err)
	}
	f, err := ln.File()
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("listener fd for pod %s/%s: %w", p.namespace, p.name, err)
	}
	p.ln, p.file = ln, f
	p.port = ln.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.done = make(chan struct{})
	go p.supervise(ctx)
	return nil
}

// stop asks the child to terminate (SIGTERM, SIGKILL after the grace period) and returns at once; wait on
// p.done for it to be gone.
func (p *proc) stop() { p.cancel() }

// running reports the child's PID, or 0 if no child runs right now (it exited and waits for its restart).
func (p *proc) running() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pid
}

func (p *proc) restartCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.restarts
}

func (p *proc) setPID(pid int) {
	p.mu.Lock()
	p.pid = pid
	p.mu.Unlock()
	p.notify()
}

func (p *proc) supervise(ctx context.Context) {
	defer close(p.done)
	defer func() { _ = p.ln.Close(); _ = p.file.Close() }()
	backoff := minBackoff
	for {
		started := time.Now()
		cmd := exec.Command(p.program)
		cmd.Env = p.env
		cmd.ExtraFiles = []*os.File{p.file}
		cmd.Stdout, cmd.Stderr = p.out, p.out
		cmd.SysProcAttr = sysProcAttr()
		cmd.WaitDelay = time.Second // a grandchild holding the output pipe must not block Wait
		if err := cmd.Start(); err != nil {
			p.log.Error("starting child failed", "program", p.program, "err", err)
		} else {
			p.setPID(cmd.Process.Pid)
			p.log.Info("child started", "pid", cmd.Process.Pid, "program", p.program, "port", p.port)
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				p.setPID(0)
				p.log.Warn("child exited; restarting after backoff", "err", exitDescription(err), "ran", time.Since(started).Round(time.Millisecond), "backoff", backoff)
			case <-ctx.Done():
				terminate(cmd, exited, p.grace)
				p.setPID(0)
				p.log.Info("child stopped", "pid", cmd.Process.Pid)
				return
			}
		}
		if time.Since(started) >= backoffReset {
			backoff = minBackoff
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
		p.mu.Lock()
		p.restarts++
		p.mu.Unlock()
	}
}

// terminate sends SIGTERM to the child (and its process group where there is one), SIGKILL once grace has
// passed, and returns when it has been reaped.
func terminate(cmd *exec.Cmd, exited <-chan error, grace time.Duration) {
	signalTerm(cmd)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-exited:
		return
	case <-t.C:
	}
	signalKill(cmd)
	<-exited
}

func exitDescription(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// lineLogger turns a child's output into one log record per line, tagged with the pod.
type lineLogger struct {
	log *slog.Logger
	mu  sync.Mutex
	buf []byte
}

func (l *lineLogger) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.log.Info(string(bytes.TrimRight(l.buf[:i], "\r")))
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 64<<10 { // a very long line without a newline: log what there is
		l.log.Info(string(l.buf))
		l.buf = l.buf[:0]
	}
	return len(b), nil
}
