// Command agents builds the stage agent for every node architecture into
// pkg/agentbin/bin, gzip-compressed, the same bytes on any machine with the
// same Go toolchain, and writes the stamp that says which source they come
// from. With -if-stale it builds only when the stamp's source differs from
// the source now (what `make build` runs, so that a toolchain other than the
// committed one leaves the files alone). With -check it builds into a
// temporary folder and fails when the result differs from what is committed.
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/tracebloc/kubectl-tracebloc/internal/agentsrc"
)

const binDir = "pkg/agentbin/bin"

func main() {
	check := flag.Bool("check", false, "rebuild into a temporary folder and compare with "+binDir)
	ifStale := flag.Bool("if-stale", false, "build only when the agent's source changed since "+binDir+" was built")
	flag.Parse()
	if *ifStale {
		fresh, err := upToDate()
		if err != nil {
			fmt.Fprintln(os.Stderr, "agents:", err)
			os.Exit(1)
		}
		if fresh {
			return
		}
	}
	if err := run(*check); err != nil {
		fmt.Fprintln(os.Stderr, "agents:", err)
		os.Exit(1)
	}
}

func run(check bool) error {
	out := binDir
	if check {
		tmp, err := os.MkdirTemp("", "agents-check-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		out = tmp
	}
	source, err := agentsrc.Compute(".")
	if err != nil {
		return err
	}
	stamp := agentsrc.Stamp{Go: runtime.Version(), Source: source, Files: map[string]string{}}
	for _, arch := range agentsrc.Archs {
		gz, err := build(arch)
		if err != nil {
			return err
		}
		name := agentsrc.FileName(arch)
		sum := sha256.Sum256(gz)
		stamp.Files[name] = hex.EncodeToString(sum[:])
		if err := os.WriteFile(filepath.Join(out, name), gz, 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: %d bytes\n", name, len(gz))
	}
	if err := os.WriteFile(filepath.Join(out, agentsrc.StampFile), stamp.Format(), 0o644); err != nil {
		return err
	}
	if !check {
		return nil
	}
	for _, name := range append([]string{agentsrc.StampFile}, agentsrc.FileName("amd64"), agentsrc.FileName("arm64")) {
		want, err := os.ReadFile(filepath.Join(binDir, name))
		if err != nil {
			return fmt.Errorf("%w: run make agents and commit %s", err, binDir)
		}
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			return err
		}
		if !bytes.Equal(want, got) {
			committed, _ := agentsrc.Parse(want)
			return fmt.Errorf("%s/%s differs from a fresh build with %s (committed with %s): run make agents with that toolchain and commit %s", binDir, name, runtime.Version(), committed.Go, binDir)
		}
	}
	fmt.Println("agents: the committed binaries match a fresh build")
	return nil
}

// upToDate tells whether the committed stamp names the source as it is now.
func upToDate() (bool, error) {
	raw, err := os.ReadFile(filepath.Join(binDir, agentsrc.StampFile))
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	stamp, err := agentsrc.Parse(raw)
	if err != nil {
		return false, nil
	}
	source, err := agentsrc.Compute(".")
	if err != nil {
		return false, err
	}
	return source == stamp.Source, nil
}

// build compiles the agent for linux/arch and gzips it without a name or a
// time in the header, so that the bytes depend only on the source and the
// toolchain.
func build(arch string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "agent-build-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	exe := filepath.Join(tmp, "agent")
	args := append([]string{"build"}, agentsrc.BuildFlags...)
	args = append(args, "-o", exe, agentsrc.Package)
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0", "GOFLAGS=")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("building the agent for %s: %w", arch, err)
	}
	prog, err := os.ReadFile(exe)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(prog); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
