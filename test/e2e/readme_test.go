//go:build e2e

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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
	if len(cmds) < 4 {
		t.Fatalf("the Quickstart has %d commands, want a dry run and a push of each family: %q", len(cmds), cmds)
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
	// Each push gets a dataset of its task's family at the path it names.
	var tables []string
	for _, c := range cmds {
		f := strings.Fields(c)
		if len(f) < 3 || f[0] != "kubectl" || f[1] != "tracebloc" {
			t.Fatalf("Quickstart line %q is not a kubectl tracebloc command", c)
		}
		if f[2] != "push" || len(f) < 4 {
			continue
		}
		task, label, table := "image_classification", "", ""
		for i := 4; i+1 < len(f); i++ {
			switch f[i] {
			case "--task":
				task = f[i+1]
			case "--label-column":
				label = f[i+1]
			case "--table":
				table = f[i+1]
			}
		}
		if table == "" {
			t.Fatalf("Quickstart line %q names no --table", c)
		}
		if !slices.Contains(tables, table) {
			tables = append(tables, table)
			forgetTable(t, table)
		}
		writeQuickstartDataset(t, filepath.Join(work, f[3]), task, label)
	}
	families := map[string]bool{}
	for _, c := range cmds {
		if strings.Contains(c, " push ") {
			families[familyOf(c)] = true
		}
	}
	if len(families) != 3 {
		t.Errorf("the Quickstart pushes %v, want one image, one text and one tabular dataset", families)
	}
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
	for _, table := range tables {
		m := regexp.MustCompile(`ingested (\d+) of (\d+) records into ` + table + `\b`).FindStringSubmatch(all)
		if m == nil || m[1] != m[2] || m[1] == "0" {
			t.Errorf("the Quickstart's output does not show %s ingested in full:\n%s", table, all)
		}
		if last := outs[len(outs)-1]; !strings.Contains(last, table) {
			t.Errorf("the Quickstart's last command does not list the run of %s:\n%s", table, last)
		}
	}
	if !strings.Contains(all, "staged 21 files") || !strings.Contains(all, "verified 21 files (SHA-256)") {
		t.Errorf("the image push does not stage and verify its 21 files:\n%s", all)
	}
	if files := ingestedSums(t, tables[0]); len(files) != 21 {
		t.Errorf("ingested copy of %s: %v", tables[0], files)
	}
	assertNoStagePods(t, ns)
}

// familyOf is the task family a Quickstart push line stages.
func familyOf(line string) string {
	switch {
	case strings.Contains(line, "--task tabular_"), strings.Contains(line, "--task time_"):
		return "tabular"
	case strings.Contains(line, "--task text_"), strings.Contains(line, "--task token_"):
		return "text"
	}
	return "image"
}

// writeQuickstartDataset writes, once, a dataset of task at path: what a
// reader of the README would have there. A tabular CSV's label column
// takes the name the line gives.
func writeQuickstartDataset(t *testing.T, path, task, label string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return
	}
	switch familyOf("--task " + task) {
	case "tabular":
		_, err := fixture.WriteTabular(path, fixture.TabularOptions{Task: task, Rows: 100})
		must(t, err)
		if label != "" {
			b := mustRead(t, path)
			header, rest, _ := strings.Cut(string(b), "\n")
			must(t, os.WriteFile(path, []byte(strings.TrimSuffix(header, ",label")+","+label+"\n"+rest), 0o644))
		}
	case "text":
		must(t, fixture.WriteText(path, fixture.TextOptions{Task: task, Files: 12}))
	default:
		must(t, fixture.Write(path, fixture.Options{Images: 20, Width: 32, Height: 32}))
	}
}
