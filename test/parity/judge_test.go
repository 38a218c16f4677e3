package parity

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
	"github.com/tracebloc/kubectl-tracebloc/pkg/push"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// errLocalChecksPassed stops a dry run where it would open the kubeconfig:
// every local check is behind it.
var errLocalChecksPassed = errors.New("local checks passed")

// verdict is one judge's word on a dataset.
type verdict struct {
	accepted bool
	reason   string
	// spec is what the plugin would submit, when it accepts.
	spec *spec.Spec
}

// preflight judges the dataset at dir as `push --dry-run` does, in process:
// push.Run up to the connection, which is where the local checks end.
func preflight(s *sample, dir string) verdict {
	path := dir
	if family(s.task) == "tabular" {
		path = filepath.Join(dir, s.csvName)
	}
	f := spec.Flags{Table: "parity_t", Category: s.task, Intent: "train", LabelColumn: s.labelColumn,
		TargetSize: s.targetSize, NumberOfKeypoints: s.keypoints, Schema: s.schema, LabelPolicy: s.policy, TimeColumn: s.timeColumn}
	if s.labelColumn == "label" && !s.labelSet && !supervised(s.task) {
		f.LabelColumn = spec.DefaultLabel
	}
	// The flags are read as the command reads them, then the local checks run.
	parsed, err := spec.ParseFlags(f)
	if err != nil {
		return verdict{reason: err.Error()}
	}
	o := push.Options{Local: push.FromFlags(path, parsed, dataset.DefaultLimits, nil), DryRun: true,
		Printer: output.New(io.Discard, io.Discard, true),
		Connect: func() (*push.Connection, error) { return nil, errLocalChecksPassed }}
	r, err := push.Run(context.Background(), o)
	if errors.Is(err, errLocalChecksPassed) {
		return verdict{accepted: true, spec: r.Spec}
	}
	if err == nil {
		return verdict{reason: "push.Run returned no error before connecting"}
	}
	return verdict{reason: err.Error()}
}

func supervised(task string) bool {
	switch task {
	case "masked_language_modeling", "causal_language_modeling", "seq2seq", "embeddings":
		return false
	}
	return true
}

// oracleDir is the ingestor oracle, outside the repository.
func oracleDir() string {
	if d := os.Getenv("TRACEBLOC_ORACLE"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	for _, d := range []string{filepath.Join(root, "..", "shared", "oracle"), "/work/shared/oracle"} {
		if _, err := os.Stat(filepath.Join(d, "oracle.py")); err == nil {
			return d
		}
	}
	return ""
}

// oracleProblem says why the oracle cannot run here, "" when it can: the
// test fails on it under CI=true and skips otherwise.
func oracleProblem(dir string) string {
	if dir == "" {
		return "the ingestor oracle (../shared/oracle/oracle.py, or $TRACEBLOC_ORACLE) is not there"
	}
	py := python()
	if _, err := exec.LookPath(py); err != nil {
		return fmt.Sprintf("%s is missing: apt-get install python3 and the oracle's packages (see test/parity/README.md)", py)
	}
	cmd := exec.Command(py, "-c", "import PIL, pandas, yaml, jsonschema, sqlalchemy, requests, tenacity, ijson, pythonjsonlogger, tqdm")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Sprintf("the oracle's Python packages are missing (%v: %s): apt-get install python3-pil python3-pandas python3-yaml "+
			"python3-jsonschema python3-sqlalchemy python3-requests python3-tenacity python3-ijson python3-pythonjsonlogger python3-tqdm",
			err, strings.TrimSpace(string(out)))
	}
	return ""
}

func python() string {
	if p := os.Getenv("TRACEBLOC_ORACLE_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

// requireOracle returns the oracle's folder, or ends the test: a failure
// under CI=true, a skip elsewhere.
func requireOracle(t *testing.T) string {
	t.Helper()
	dir := oracleDir()
	if p := oracleProblem(dir); p != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the differential test needs the ingestor oracle under CI: %s", p)
		}
		t.Skipf("skipping the comparison with the ingestor: %s", p)
	}
	return dir
}

type oracleJob struct {
	ID       string         `json:"id"`
	Category string         `json:"category"`
	Dir      string         `json:"dir"`
	Options  map[string]any `json:"options"`
}

type oracleVerdict struct {
	ID     string   `json:"id"`
	Valid  *bool    `json:"valid"`
	Errors []string `json:"errors"`
	Stage  string   `json:"stage"`
}

// askOracle runs every job through the oracle in one Python process.
func askOracle(t *testing.T, dir string, jobs []oracleJob) map[string]verdict {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	driver := filepath.Join(filepath.Dir(file), "testdata", "oracle_batch.py")
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, j := range jobs {
		if err := enc.Encode(j); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(python(), driver, filepath.Join(dir, "oracle.py"))
	cmd.Env = append(os.Environ(), "PYTHONPATH="+dir, "PYTHONDONTWRITEBYTECODE=1")
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the oracle failed: %v\n%s", err, tail(stderr.String(), 2000))
	}
	got := map[string]verdict{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var v oracleVerdict
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("the oracle printed %q: %v", sc.Text(), err)
		}
		if v.Valid == nil {
			t.Fatalf("the oracle gave no verdict on %s: %v", v.ID, v.Errors)
		}
		got[v.ID] = verdict{accepted: *v.Valid, reason: strings.Join(v.Errors, "; ")}
	}
	if len(got) != len(jobs) {
		t.Fatalf("the oracle judged %d of %d datasets\n%s", len(got), len(jobs), tail(stderr.String(), 2000))
	}
	return got
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// oracleOptions tell the oracle what the plugin would submit: its spec when
// it accepts the dataset; else the flags, so that the ingestor infers what
// the plugin would have.
func oracleOptions(s *sample, dir string, pre verdict) map[string]any {
	o := map[string]any{}
	for k, v := range s.oracleOpts {
		o[k] = v
	}
	if family(s.task) == "image" {
		if pre.spec != nil && pre.spec.TargetSize != nil {
			o["target_size"] = pre.spec.TargetSize
		}
		return o
	}
	if family(s.task) == "tabular" {
		o["csv"] = s.csvName
	}
	if pre.spec != nil {
		raw, _ := json.Marshal(pre.spec)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		o["spec"] = m
		return o
	}
	if s.labelColumn != "" {
		o["label_column"] = s.labelColumn
	}
	if s.policy != "" {
		o["label_policy"] = s.policy
	}
	if s.timeColumn != "" {
		o["time_column"] = s.timeColumn
	}
	switch {
	case s.schema != "":
		if sc, err := spec.ParseSchema(s.schema); err == nil {
			o["schema"] = sc.Map()
		} else {
			// A schema push refuses (a reserved name, say) still goes to
			// the ingestor as the user wrote it: its verdict is on that.
			o["schema"] = rawSchema(s.schema)
		}
	case family(s.task) == "tabular":
		// What push would infer, read the same way, though the rest of
		// the pre-flight refused the file; a file it cannot infer from
		// gets the types a user would declare.
		if sc, err := dataset.InferSchema(filepath.Join(dir, s.csvName)); err == nil && len(sc) > 0 {
			o["schema"] = sc.Map()
		} else if sc, err := spec.ParseSchema(declaredSchema(s, nil)); err == nil {
			o["schema"] = sc.Map()
		}
	}
	return o
}

// rawSchema splits a --schema argument into name → type without checking
// either (the generator writes no type with a comma in it).
func rawSchema(arg string) map[string]string {
	m := map[string]string{}
	for _, part := range strings.Split(arg, ",") {
		if i := strings.LastIndex(part, ":"); i > 0 {
			m[strings.TrimSpace(part[:i])] = strings.TrimSpace(part[i+1:])
		}
	}
	return m
}
