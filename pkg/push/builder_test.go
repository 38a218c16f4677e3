package push

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// testPush is a push as the command makes it: the spec's flags as written,
// parsed when it runs, and the typed Options around them. Tests change a
// flag or an option and run it.
type testPush struct {
	Flags spec.Flags
	Options
}

// run parses the flags as the command's Validate does (a refused flag is
// the push's error, with the report the command prints), then runs the push.
func (p *testPush) run(ctx context.Context) (*Report, error) {
	parsed, err := spec.ParseFlags(p.Flags)
	for _, w := range parsed.Warnings {
		p.Printer.Warnf("%s", w)
	}
	for _, n := range parsed.Notes {
		p.Printer.Notef("%s", n)
	}
	o := p.Options
	o.Local = FromFlags(p.Local.Path, parsed, p.Local.Limits, p.Local.Exclude)
	if err != nil {
		o.Local.Inputs = spec.Inputs{Table: p.Flags.Table, Category: p.Flags.Category, Intent: p.Flags.Intent}
		return Refused(o, err), err
	}
	return Run(ctx, o)
}

// options is a dry run of a small image dataset in namespace tb, whose
// connection gives client (or fails with connectErr).
func options(t *testing.T, client *fake.Clientset, connectErr error) (*testPush, *bytes.Buffer) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ds")
	if err := fixture.Write(dir, fixture.Options{Images: 6, Width: 16, Height: 8}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	return &testPush{
		Flags: spec.Flags{Table: "cats", Category: "image_classification", Intent: "train", LabelColumn: "label"},
		Options: Options{
			Local:   LocalOptions{Path: dir, Limits: dataset.DefaultLimits},
			DryRun:  true,
			Printer: output.New(&out, &out, false),
			Connect: func() (*Connection, error) {
				if connectErr != nil {
					return nil, exitcode.Errorf(exitcode.Local, "%v", connectErr)
				}
				return &Connection{Client: client, Namespace: "tb", Context: "dev"}, nil
			},
		},
	}, &out
}
