//go:build e2e

package harness

import (
	"bufio"
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
)

var percentRE = regexp.MustCompile(`: +(\d+)% `)

// CutPush runs the push cmd (its progress on stderr, printed often: set
// TRACEBLOC_PROGRESS_INTERVAL) and, once the progress passes percent,
// deletes the stage Pod of table at once: the agent dies mid-file and the
// stream breaks. It returns the push's stdout, stderr and exit code.
func CutPush(tb testing.TB, client kubernetes.Interface, cmd *exec.Cmd, table string, percent int) (stdout, stderr string, code int) {
	tb.Helper()
	pipe, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	var errOut strings.Builder
	cut := false
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		line := sc.Text()
		errOut.WriteString(line + "\n")
		m := percentRE.FindStringSubmatch(line)
		if cut || m == nil || !strings.HasPrefix(line, "sending") {
			continue
		}
		if p, _ := strconv.Atoi(m[1]); p < percent {
			continue
		}
		pods, err := client.CoreV1().Pods(Namespace).List(context.Background(), metav1.ListOptions{LabelSelector: stagepod.Selector + "," + stagepod.LabelTable + "=" + stagepod.TableLabel(table)})
		if err != nil {
			tb.Fatal(err)
		}
		for _, pod := range pods.Items {
			if err := client.CoreV1().Pods(Namespace).Delete(context.Background(), pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}); err != nil {
				tb.Fatalf("deleting the stage pod %s: %v", pod.Name, err)
			}
		}
		cut = true
	}
	err = cmd.Wait()
	if err != nil {
		code = cmd.ProcessState.ExitCode()
	}
	if !cut {
		tb.Fatalf("the push never reached %d%%:\nstdout:\n%s\nstderr:\n%s", percent, out.String(), errOut.String())
	}
	return out.String(), errOut.String(), code
}
