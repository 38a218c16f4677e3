// Package agentsrc says which source the committed stage agent binaries
// (pkg/agentbin/bin) were built from, so that a test can tell when they are
// stale. `make agents` (hack/agents) builds them and writes the stamp; the
// test in pkg/agentbin compares the stamp with the source as it is now.
package agentsrc

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// Package is the command the binaries are built from.
const Package = "./cmd/tracebloc-stage-agent"

// Archs are the node architectures the plugin carries an agent for.
var Archs = []string{"amd64", "arm64"}

// BuildFlags are the `go build` flags that make the binaries the same on any
// machine with the same Go toolchain: no paths, no VCS stamp, no symbols.
var BuildFlags = []string{"-trimpath", "-buildvcs=false", "-ldflags=-s -w"}

// StampFile is the stamp's name in pkg/agentbin/bin.
const StampFile = "SOURCE"

// Stamp is what the stamp file records.
type Stamp struct {
	// Go is the toolchain that built the binaries (informative: the source
	// hash does not depend on it, the byte-for-byte rebuild check does).
	Go string
	// Source is the SHA-256 of every Go file of this module the agent is
	// built from, for every architecture, and of the versions of the
	// modules it imports.
	Source string
	// Files maps each committed binary (agent-linux-<arch>.gz) to its SHA-256.
	Files map[string]string
}

// Compute hashes the agent's source in the module rooted at root, using
// `go list` with the same build settings as the binaries.
func Compute(root string) (string, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, arch := range Archs {
		cmd := exec.Command(goTool(), "list", "-deps", "-f",
			"{{if not .Standard}}{{.ImportPath}}\t{{if .Module}}{{.Module.Path}}\t{{.Module.Version}}\t{{.Module.Main}}{{end}}\t{{.Dir}}\t{{join .GoFiles \",\"}}\t{{join .EmbedFiles \",\"}}{{end}}",
			Package)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0", "GOFLAGS=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("go list %s for %s: %w: %s", Package, arch, err, stderr.String())
		}
		fmt.Fprintf(h, "arch %s\n", arch)
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			f := strings.Split(sc.Text(), "\t")
			if len(f) != 7 {
				continue
			}
			path, mod, version, main, dir := f[0], f[1], f[2], f[3], f[4]
			if main != "true" {
				// Another module's code is fixed by its version (go.sum
				// holds its hash).
				fmt.Fprintf(h, "dep %s %s@%s\n", path, mod, version)
				continue
			}
			var names []string
			for _, list := range f[5:] {
				if list != "" {
					names = append(names, strings.Split(list, ",")...)
				}
			}
			sort.Strings(names)
			rel, err := filepath.Rel(root, dir)
			if err != nil {
				return "", err
			}
			for _, n := range names {
				b, err := os.ReadFile(filepath.Join(dir, n))
				if err != nil {
					return "", err
				}
				sum := sha256.Sum256(b)
				fmt.Fprintf(h, "file %s %s\n", filepath.ToSlash(filepath.Join(rel, n)), hex.EncodeToString(sum[:]))
			}
		}
	}
	fmt.Fprintf(h, "flags %s\n", strings.Join(BuildFlags, " "))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// goTool is the go command of the toolchain running this code.
func goTool() string {
	//nolint:staticcheck // the toolchain that runs this code is the one whose build the stamp describes
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Format writes the stamp as its file holds it.
func (s Stamp) Format() []byte {
	var b bytes.Buffer
	b.WriteString("# Written by `make agents` (hack/agents). pkg/agentbin's tests compare it with\n")
	b.WriteString("# the agent's source: when they differ, run `make agents` and commit bin/.\n")
	fmt.Fprintf(&b, "go %s\nsource %s\n", s.Go, s.Source)
	names := make([]string, 0, len(s.Files))
	for n := range s.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "file %s %s\n", n, s.Files[n])
	}
	return b.Bytes()
}

// Parse reads a stamp file.
func Parse(b []byte) (Stamp, error) {
	s := Stamp{Files: map[string]string{}}
	for i, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "go":
			s.Go = f[1]
		case len(f) == 2 && f[0] == "source":
			s.Source = f[1]
		case len(f) == 3 && f[0] == "file":
			s.Files[f[1]] = f[2]
		default:
			return Stamp{}, fmt.Errorf("%s line %d: %q is not a stamp line (go, source or file): run make agents", StampFile, i+1, line)
		}
	}
	if s.Source == "" {
		return Stamp{}, fmt.Errorf("%s has no source line: run make agents", StampFile)
	}
	return s, nil
}

// FileName is the committed binary's name for an architecture.
func FileName(arch string) string { return "agent-linux-" + arch + ".gz" }
