package podexec

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// sumsLine is an inventory line of n staged files and one partial file.
func sumsLine(n int) string {
	var b strings.Builder
	b.WriteString(`{"t":"inventory","seal":"s1","ingested":true,"space":{"free_bytes":7,"free_inodes":3,"block_size":4096},"staged":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"texts/\u00e9%06d.txt":"%064x"`, i, i)
	}
	b.WriteString(`},"partial":{"a b.txt":"` + strings.Repeat("0", 64) + `"},"cut":{"rel":"x","offset":5,"sum":"00"}}`)
	return b.String()
}

// TestStreamedMessageIsTheWholeMessage: a long line decoded as it arrives
// gives the same message and entries as the line decoded whole, whatever
// the pieces it comes in; a short line hands its entries over the same
// way; a malformed long line is dropped and the next line still read.
func TestStreamedMessageIsTheWholeMessage(t *testing.T) {
	for _, n := range []int{3, 5000} {
		for _, piece := range []int{1 << 20, 1000, 7} {
			line := sumsLine(n)
			var want proto.Message
			if err := json.Unmarshal([]byte(line), &want); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			got := map[string]map[string]string{}
			var msgs []proto.Message
			w := newMessageWriter()
			w.onSums = func(field, rel, sum string) {
				mu.Lock()
				defer mu.Unlock()
				if got[field] == nil {
					got[field] = map[string]string{}
				}
				got[field][rel] = sum
			}
			w.onMsg = func(m proto.Message) { msgs = append(msgs, m) }
			input := "{" + strings.Repeat(`"x":1,`, streamAfter/4) + "\n" + line + "\n" + `{"t":"verified","files":2}` + "\n"
			for b := []byte(input); len(b) > 0; {
				k := min(piece, len(b))
				if _, err := w.Write(b[:k]); err != nil {
					t.Fatal(err)
				}
				b = b[k:]
			}
			if len(msgs) != 2 || msgs[1].T != proto.MsgVerified {
				t.Fatalf("%d files in pieces of %d: messages %+v", n, piece, msgs)
			}
			if diff := cmp.Diff(map[string]map[string]string{"staged": want.Staged, "partial": want.Partial}, got); diff != "" {
				t.Errorf("%d files in pieces of %d: entries differ (-whole +streamed):\n%s", n, piece, diff)
			}
			want.Staged, want.Partial = nil, nil
			if diff := cmp.Diff(want, msgs[0]); diff != "" {
				t.Errorf("%d files in pieces of %d: message differs (-whole +streamed):\n%s", n, piece, diff)
			}
		}
	}
}

// TestStreamedMessageTooLong: a long line past MaxMessage fails the agent
// as a whole line would, and the decoder is stopped.
func TestStreamedMessageTooLong(t *testing.T) {
	w := newMessageWriter()
	w.max = 1 << 20
	w.onSums = func(string, string, string) {}
	failed := false
	w.onFail = func() { failed = true }
	line := sumsLine(20000)
	if len(line) <= w.max {
		t.Fatalf("the line is only %d bytes", len(line))
	}
	for b := []byte(line + "\n"); len(b) > 0; b = b[min(4096, len(b)):] {
		_, _ = w.Write(b[:min(4096, len(b))])
	}
	if m, ok := w.failure(); !ok || !failed || !strings.Contains(m.Msg, "longer than") {
		t.Errorf("failure %+v %v, onFail %v", m, ok, failed)
	}
	if w.stream != nil {
		t.Errorf("the decoder of the long line is still running")
	}
}
