// Package agentbin holds the stage agent binaries the plugin embeds, one per
// node architecture, gzip-compressed. They are committed, so that `go build`
// and `go install` of the plugin give one that stages; `make agents` rebuilds
// them (the same bytes for the same source and toolchain) and the package's
// test fails when they are stale.
package agentbin

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"sync"
)

//go:embed bin
var files embed.FS

// Binary is the stage agent's program for one architecture (not the
// running agent: that is podexec's).
type Binary struct {
	Arch string
	// Gzip is the compressed program, as embedded.
	Gzip []byte
	// Sum is the SHA-256 (hex) of the uncompressed program.
	Sum string
	// Size is the uncompressed size.
	Size int64
}

var (
	loadOnce sync.Once
	agents   map[string]*Binary
	loadErr  error
)

func load() {
	agents = map[string]*Binary{}
	entries, err := fs.ReadDir(files, "bin")
	if err != nil {
		loadErr = err
		return
	}
	for _, e := range entries {
		arch, ok := strings.CutPrefix(strings.TrimSuffix(e.Name(), ".gz"), "agent-linux-")
		if !ok || !strings.HasSuffix(e.Name(), ".gz") {
			continue
		}
		b, err := files.ReadFile("bin/" + e.Name())
		if err != nil {
			loadErr = err
			return
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			loadErr = fmt.Errorf("embedded agent %s: %w", e.Name(), err)
			return
		}
		h := sha256.New()
		n, err := io.Copy(h, zr)
		if err != nil {
			loadErr = fmt.Errorf("embedded agent %s: %w", e.Name(), err)
			return
		}
		agents[arch] = &Binary{Arch: arch, Gzip: b, Sum: hex.EncodeToString(h.Sum(nil)), Size: n}
	}
}

// For returns the agent for a Go architecture name (amd64, arm64).
func For(arch string) (*Binary, error) {
	loadOnce.Do(load)
	if loadErr != nil {
		return nil, loadErr
	}
	if a, ok := agents[arch]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("no stage agent for %s", arch)
}

// Archs lists the architectures embedded in this build.
func Archs() []string {
	loadOnce.Do(load)
	out := make([]string, 0, len(agents))
	for a := range agents {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Program returns the uncompressed agent.
func (a *Binary) Program() ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(a.Gzip))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
