//go:build e2e

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// quickstartCommands returns the shell lines of the README's Quickstart, in
// order, as a newcomer would copy them.
func quickstartCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Quickstart\n")
	if !ok {
		t.Fatal("README.md has no Quickstart section")
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var cmds []string
	inBlock := false
	for _, line := range strings.Split(section, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "```"):
			inBlock = !inBlock
		case inBlock && line != "":
			cmds = append(cmds, line)
		}
	}
	return cmds
}

// TestReadmeQuickstartWordForWord runs the Quickstart's commands exactly as
// written, through kubectl's plugin mechanism, in a folder holding the
// dataset they name.
func TestReadmeQuickstartWordForWord(t *testing.T) {
	cmds := quickstartCommands(t)
	if len(cmds) < 2 {
		t.Fatalf("the Quickstart has %d commands, want the dry run and the push: %q", len(cmds), cmds)
	}
	work := t.TempDir()
	// The plugin is found on PATH under its krew name, as after an install.
	binDir := filepath.Join(work, "bin")
	must(t, os.MkdirAll(binDir, 0o755))
	must(t, os.Symlink(plugin, filepath.Join(binDir, "kubectl-tracebloc")))
	kubectlDir := filepath.Dir(kubectlBin)
	if !filepath.IsAbs(kubectlBin) {
		p, err := exec.LookPath(kubectlBin)
		must(t, err)
		kubectlDir = filepath.Dir(p)
	}
	var table string
	for _, c := range cmds {
		f := strings.Fields(c)
		if len(f) < 3 || f[0] != "kubectl" || f[1] != "tracebloc" {
			t.Fatalf("Quickstart line %q is not a kubectl tracebloc command", c)
		}
		for i, a := range f {
			if a == "--table" && i+1 < len(f) {
				table = f[i+1]
			}
			if i == 3 && strings.HasPrefix(a, "./") {
				if _, err := os.Stat(filepath.Join(work, a)); os.IsNotExist(err) {
					must(t, fixture.Write(filepath.Join(work, a), fixture.Options{Images: 20, Width: 32, Height: 32}))
				}
			}
		}
	}
	if table == "" {
		t.Fatalf("the Quickstart names no --table: %q", cmds)
	}
	forgetTable(t, table)
	var outs []string
	for _, c := range cmds {
		cmd := exec.Command("sh", "-c", c)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+kubectlDir+string(os.PathListSeparator)+os.Getenv("PATH"))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", c, err, out.String())
		}
		outs = append(outs, out.String())
	}
	all := strings.Join(outs, "\n")
	for _, want := range []string{"staged 21 files", "verified 21 files (SHA-256)", "ingested 20 of 20 records into " + table} {
		if !strings.Contains(all, want) {
			t.Errorf("the Quickstart's output lacks %q:\n%s", want, all)
		}
	}
	if last := outs[len(outs)-1]; !strings.Contains(last, table) || !strings.Contains(last, "succeeded") {
		t.Errorf("the Quickstart's last command does not list the run:\n%s", last)
	}
	if files := ingestedSums(t, table); len(files) != 21 {
		t.Errorf("ingested copy of %s: %v", table, files)
	}
	assertNoStagePods(t, ns)
}
