//go:build linux

// Package agenttest runs the stage agent in-process against a folder that
// stands in for the shared volume, behind the same Runner interface as
// pods/exec, so that unit tests of the plugin drive the real agent.
package agenttest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	utilexec "k8s.io/client-go/util/exec"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent"
)

// Runner runs the bootstrap and the agent in-process.
type Runner struct {
	// Volume stands in for /data/shared.
	Volume string
	// Machine is what the bootstrap's uname -m prints; empty means x86_64.
	Machine string
	// CorruptEntry names a tar entry whose data is damaged on the way, in
	// the first Corrupt stage runs.
	CorruptEntry string
	Corrupt      int

	mu    sync.Mutex
	runs  int
	Calls [][]string
}

// Run implements podexec.Runner.
func (r *Runner) Run(ctx context.Context, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	r.mu.Lock()
	r.Calls = append(r.Calls, command)
	r.mu.Unlock()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	if command[0] == "sh" {
		return r.bootstrap(stdin, stdout, stderr)
	}
	args := append([]string{command[1], "--root", r.Volume, "--lock", filepath.Join(r.Volume, "..", "agent.lock")}, command[2:]...)
	if command[1] == "stage" {
		r.mu.Lock()
		if r.runs < r.Corrupt {
			stdin = corrupt(stdin, r.CorruptEntry)
		}
		r.runs++
		r.mu.Unlock()
	}
	// Like an exec stream, the run ends with the process, not with stdin,
	// and a cancelled context cuts the input.
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, stdin)
		pw.CloseWithError(err)
	}()
	stop := context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
	defer stop()
	code := agent.Main(args, pr, stdout, stderr)
	pr.CloseWithError(errors.New("the agent ended"))
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
	}
	return nil
}

// bootstrap answers as the shell bootstrap would, then runs the probe.
func (r *Runner) bootstrap(stdin io.Reader, stdout, stderr io.Writer) error {
	machine := r.Machine
	if machine == "" {
		machine = "x86_64"
	}
	fmt.Fprintf(stdout, "%s\ngzip\n", machine)
	br := bufio.NewReader(stdin)
	line, err := br.ReadString('\n')
	if err != nil || strings.HasPrefix(line, "skip") {
		return nil
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return err
	}
	if code := agent.Main([]string{"probe"}, strings.NewReader(""), stdout, stderr); code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("exit %d", code), Code: code}
	}
	return nil
}

// corrupt flips one byte in the data of the named tar entry, as a faulty
// link or disk would, block by block as the stream passes.
func corrupt(r io.Reader, name string) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		block := make([]byte, 512)
		flipNext := false
		for {
			n, err := io.ReadFull(r, block)
			if n > 0 {
				if flipNext {
					block[50] ^= 0xff
				}
				flipNext = n == 512 && bytes.HasPrefix(block, []byte(name+"\x00"))
				if _, werr := pw.Write(block[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				if errors.Is(err, io.ErrUnexpectedEOF) {
					err = nil
				}
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr
}
