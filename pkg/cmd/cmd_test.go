package cmd

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

func execute(args ...string) (string, string, error) {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	root := NewRootCmd(streams, Hooks{})
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func TestFlagErrorsExit2(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "unknown flag", args: []string{"push", "x", "--tabel", "y"}, wantErr: "unknown flag: --tabel"},
		{name: "no path", args: []string{"push", "--table", "y"}, wantErr: "push needs the dataset folder to push: kubectl tracebloc push <local-path> --table <name>"},
		{name: "two paths", args: []string{"push", "a", "b", "--table", "y"}, wantErr: `push takes one argument, the dataset folder to push, and got 2 ("a", "b"): quote a path that holds spaces`},
		{name: "a flag without its dashes", args: []string{"verify", "./data", "table", "y"}, wantErr: `got 3 ("./data", "table", "y")`},
		{name: "logs with nothing to show", args: []string{"logs"}, wantErr: "logs needs a run or a table (kubectl tracebloc runs lists them)"},
		{name: "bad output", args: []string{"push", "x", "--table", "y", "-o", "yaml"}, wantErr: `--output "yaml" is not supported`},
		{name: "negative retries", args: []string{"push", "x", "--table", "y", "--retries", "-1"}, wantErr: "--retries must be 0 or more"},
		{name: "cleanup bad output", args: []string{"cleanup", "-o", "yaml"}, wantErr: `--output "yaml" is not supported`},
		{name: "status bad output", args: []string{"status", "-o", "wide"}, wantErr: `--output "wide" is not supported`},
		{name: "cleanup takes no args", args: []string{"cleanup", "x"}, wantErr: `cleanup takes no arguments, and got 1 ("x"): give what it needs as flags`},
		{name: "bad target size", args: []string{"push", "x", "--table", "y", "--target-size", "224"}, wantErr: `--target-size "224" is not WxH`},
		{name: "zero min size", args: []string{"push", "x", "--table", "y", "--min-size", "0x32"}, wantErr: `--min-size "0x32" is not WxH`},
		{name: "zero keypoints", args: []string{"push", "x", "--table", "y", "--task", "keypoint_detection", "--target-size", "64x64", "--number-of-keypoints", "0"}, wantErr: "--number-of-keypoints must be 1 or more"},
		{name: "target size with no height", args: []string{"push", "x", "--table", "y", "--target-size", "224x"}, wantErr: `--target-size "224x" is not WxH`},
		{name: "target size 0x0", args: []string{"push", "x", "--table", "y", "--target-size", "0x0"}, wantErr: `--target-size "0x0" is not WxH`},
		{name: "negative target size", args: []string{"push", "x", "--table", "y", "--target-size", "-224x224"}, wantErr: `--target-size "-224x224" is not WxH`},
		{name: "target size in exponent form", args: []string{"push", "x", "--table", "y", "--target-size", "1e9x1e9"}, wantErr: `--target-size "1e9x1e9" is not WxH`},
		{name: "target size with three parts", args: []string{"push", "x", "--table", "y", "--target-size", "224x224x3"}, wantErr: `--target-size "224x224x3" is not WxH`},
		{name: "negative keypoints", args: []string{"push", "x", "--table", "y", "--task", "keypoint_detection", "--number-of-keypoints", "-2"}, wantErr: "--number-of-keypoints must be 1 or more"},
		{name: "image flag on a text task", args: []string{"push", "x", "--table", "y", "--task", "text_classification", "--min-size", "8x8"},
			wantErr: "--min-size does not apply to text_classification: it applies to image_classification, object_detection, keypoint_detection, semantic_segmentation"},
		{name: "keypoint flag on object detection", args: []string{"push", "x", "--table", "y", "--category", "object_detection", "--number-of-keypoints", "3"},
			wantErr: "--number-of-keypoints does not apply to object_detection: it applies to keypoint_detection"},
		{name: "label column on a self-supervised task", args: []string{"push", "x", "--table", "y", "--task", "embeddings", "--label-column", "l"},
			wantErr: "--label-column does not apply to embeddings"},
		{name: "label column on object detection", args: []string{"push", "x", "--table", "y", "--task", "object_detection", "--label-column", "label"},
			wantErr: "--label-column does not apply to object_detection: its labels are the <object><name> of each annotation file, there is no labels.csv"},
		{name: "keypoints need a size", args: []string{"push", "x", "--table", "y", "--task", "keypoint_detection", "--number-of-keypoints", "3"},
			wantErr: "keypoint_detection requires --target-size (e.g. --target-size 256x256)"},
		{name: "keypoints need a count", args: []string{"push", "x", "--table", "y", "--task", "keypoint_detection", "--target-size", "64x64"},
			wantErr: "keypoint_detection requires --number-of-keypoints"},
		{name: "key too long for a label", args: []string{"push", "x", "--table", "y", "--idempotency-key", strings.Repeat("k", 64)},
			wantErr: "must be a Kubernetes label value: 1 to 63 letters"},
		{name: "key ending in a dot", args: []string{"push", "x", "--table", "y", "--idempotency-key=run."},
			wantErr: `--idempotency-key "run." is not allowed`},
		{name: "key starting with a dash", args: []string{"push", "x", "--table", "y", "--idempotency-key=-run"},
			wantErr: "beginning and ending with a letter or digit"},
		{name: "unknown task lists the tasks", args: []string{"push", "/nonexistent", "--table", "y", "--task", "audio"},
			wantErr: "category: category must be one of the following"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := execute(tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if code := exitcode.Of(err); code != exitcode.BadFlags {
				t.Errorf("exit code = %d, want %d", code, exitcode.BadFlags)
			}
		})
	}
}

func TestHelpSaysKubectlTracebloc(t *testing.T) {
	out, _, err := execute("push", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kubectl tracebloc push <local-path> --table <name>", "Exit codes:", "130  interrupted",
		"--stage-image", "--retries", "--kubeconfig", "--context", "-n, --namespace"} {
		if !strings.Contains(out, want) {
			t.Errorf("push --help lacks %q", want)
		}
	}
}

func TestNameAndTaskAliases(t *testing.T) {
	// --name and --category reach the same values as --table and --task:
	// an unsafe --name is refused by the table rule.
	_, _, err := execute("push", "/nonexistent", "--name", "../x")
	if err == nil || !strings.Contains(err.Error(), `table "../x" is not allowed`) {
		t.Fatalf("--name is not an alias of --table: %v", err)
	}
	_, _, err = execute("push", "/nonexistent", "--table", "x", "--category", "audio")
	if err == nil || !strings.Contains(err.Error(), `--task "audio" is not a task`) {
		t.Fatalf("--category is not an alias of --task: %v", err)
	}
}

func TestCompletionCompletesFlags(t *testing.T) {
	out, _, err := execute("__complete", "push", "x", "--ta")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "--table") {
		t.Errorf("completion of --ta offers:\n%s", out)
	}
	script, _, err := execute("completion", "bash")
	if err != nil || !strings.Contains(script, "__start_kubectl-tracebloc") {
		t.Errorf("bash completion script missing: %v", err)
	}
}

func TestCompletionOffersTasks(t *testing.T) {
	for _, flag := range []string{"--category", "--task"} {
		out, _, err := execute("__complete", "push", "x", flag, "")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, line := range strings.Split(out, "\n") {
			if name, desc, ok := strings.Cut(line, "\t"); ok && desc != "" {
				got = append(got, name)
			}
		}
		if diff := cmp.Diff(category.Names(), got); diff != "" {
			t.Errorf("%s completion (-want +got):\n%s\n%s", flag, diff, out)
		}
	}
	out, _, err := execute("__complete", "push", "x", "--task", "sem")
	if err != nil || !strings.Contains(out, "semantic_segmentation\t") || strings.Contains(out, "seq2seq") {
		t.Errorf("completion of sem offers:\n%s", out)
	}
}

func TestUnknownTaskNamesEveryTask(t *testing.T) {
	_, _, err := execute("push", "/nonexistent", "--table", "y", "--task", "audio")
	if err == nil {
		t.Fatal("an unknown task passed")
	}
	for _, name := range category.Names() {
		if !strings.Contains(err.Error(), "  "+name+" ") {
			t.Errorf("the error does not list %s:\n%v", name, err)
		}
	}
}

func TestVersion(t *testing.T) {
	out, _, err := execute("version")
	if err != nil || out != "kubectl-tracebloc dev\n" {
		t.Errorf("version = %q, %v", out, err)
	}
}
