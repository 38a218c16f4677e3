//go:build linux

package cmd

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/tracebloc/kubectl-tracebloc/internal/outputschema"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/ingest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
)

// executeJSON runs the whole command line the way main does and checks
// that stdout is exactly one object of command's schema, echoing the exit
// code.
func executeJSON(t *testing.T, command string, args ...string) (map[string]any, int) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	p := output.New(out, errOut, false)
	code := Execute(context.Background(), NewRootCmd(streams, Hooks{Printer: p}), p, args)
	obj, err := outputschema.Check(command, out.Bytes())
	if err != nil {
		t.Fatalf("%s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	if got := fmt.Sprint(obj["exit_code"]); got != strconv.Itoa(code) {
		t.Errorf("%s: exit_code %s in the object, exit %d", strings.Join(args, " "), got, code)
	}
	return obj, code
}

// TestJSONOnEveryFailureBeforeTheCommandRuns: a flag cobra cannot parse,
// a bad argument or a bad value still prints the command's one object,
// with the exit code, when -o json was asked for (wherever it stands).
func TestJSONOnEveryFailureBeforeTheCommandRuns(t *testing.T) {
	tests := []struct {
		command string
		args    []string
		code    int
	}{
		{"push", []string{"push", "x", "--table", "t", "-o", "json", "--bogus"}, exitcode.BadFlags},
		{"push", []string{"push", "--bogus", "x", "-o", "json"}, exitcode.BadFlags},
		{"push", []string{"push", "-o", "json"}, exitcode.BadFlags},
		{"push", []string{"push", "x", "--table", "t", "-ojson", "--retries", "-1"}, exitcode.BadFlags},
		{"status", []string{"status", "--bogus", "-o", "json"}, exitcode.BadFlags},
		{"status", []string{"status", "extra", "--output=json"}, exitcode.BadFlags},
		{"cleanup", []string{"cleanup", "-o", "json", "--pod-running-timeout", "soon"}, exitcode.BadFlags},
		{"cleanup", []string{"cleanup", "-o", "json", "--pod-running-timeout", "0s"}, exitcode.BadFlags},
		{"status", []string{"status", "-o", "json", "--pod-running-timeout", "-1m"}, exitcode.BadFlags},
		{"verify", []string{"verify", "./x", "--table", "t", "-o", "json", "--pod-running-timeout", "0s"}, exitcode.BadFlags},
		{"runs", []string{"runs", "-o", "json", "x"}, exitcode.BadFlags},
		{"logs", []string{"logs", "-o", "json"}, exitcode.BadFlags},
		{"logs", []string{"logs", "job", "-f", "--no-follow", "-o", "json"}, exitcode.BadFlags},
		{"verify", []string{"verify", "./x", "-o", "json"}, exitcode.BadFlags},
		{"verify", []string{"verify", "./x", "--table", "t", "-o", "json", "--deep=maybe"}, exitcode.BadFlags},
		{"version", []string{"version", "-o", "json", "--bogus"}, exitcode.BadFlags},
		{"error", []string{"bogus", "-o", "json"}, exitcode.Unexpected},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			obj, code := executeJSON(t, tt.command, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if s, _ := obj["error"].(string); s == "" {
				t.Errorf("the object names no error: %v", obj)
			}
		})
	}
}

// TestTextFailuresPrintNoJSON: without -o json, stdout stays empty on a
// failure (the error goes to stderr once).
func TestTextFailuresPrintNoJSON(t *testing.T) {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	p := output.New(out, errOut, false)
	code := Execute(context.Background(), NewRootCmd(streams, Hooks{Printer: p}), p, []string{"status", "--bogus"})
	if code != exitcode.BadFlags || out.Len() != 0 || strings.Count(errOut.String(), "error:") != 1 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestJSONOfEachCommandOnSuccess: the objects commands print when they
// succeed validate against their schemas too.
func TestJSONOfEachCommandOnSuccess(t *testing.T) {
	if obj, code := executeJSON(t, "version", "version", "-o", "json"); code != 0 || obj["version"] != Version {
		t.Errorf("version: exit %d, %v", code, obj)
	}
	w := newWorld(t, record("cats", "image_classification"), &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "tb", Name: "ingest-job-1",
		Labels: map[string]string{ingest.RunLabel: "key-1"}, CreationTimestamp: metav1.NewTime(stagedAt)}})
	w.folder(t, "cats", 3)
	ctx := context.Background()
	check := func(command string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", command, err)
		}
		if _, err := outputschema.Check(command, w.out.Bytes()); err != nil {
			t.Error(err)
		}
		w.out.Reset()
	}
	s := w.status("json")
	must(t, s.Complete())
	check("status", s.Run(ctx))
	c := w.cleanup("json", true)
	must(t, c.Complete())
	check("cleanup", c.Run(ctx))
	r := &RunsOptions{Clients: Clients{Client: w.client, Namespace: "tb"}, Streams: w.io, Output: output.JSON, Now: time.Now}
	must(t, r.Complete())
	check("runs", r.Run(ctx))
}
