//go:build linux

package agent

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// TestIngestLockRead: the agent reports the ingestor's lock as it finds it,
// opening only a regular file, reading a bounded amount, changing nothing.
func TestIngestLockRead(t *testing.T) {
	const table = "cats"
	name := proto.IngestLockName(table)
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte(`{"ingestor_id":"not-a-lock"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	content := `{"ingestor_id": "ing-1", "table_name": "cats", "pid": 7, "hostname": "node-a", "started_at": "2026-12-06T10:00:00.123456Z"}`
	tests := []struct {
		name  string
		plant func(t *testing.T, p string)
		want  proto.IngestLock
	}{
		{name: "absent", plant: func(*testing.T, string) {}, want: proto.IngestLock{}},
		{name: "a lock", plant: func(t *testing.T, p string) { write(t, p, content) },
			want: proto.IngestLock{Present: true, Content: content}},
		{name: "a link to a file elsewhere", plant: func(t *testing.T, p string) { must(t, os.Symlink(outside, p)) },
			want: proto.IngestLock{Present: true, NotFile: "a symbolic link"}},
		{name: "a FIFO", plant: func(t *testing.T, p string) { must(t, syscall.Mkfifo(p, 0o644)) },
			want: proto.IngestLock{Present: true, NotFile: "a FIFO, not a regular file"}},
		{name: "a socket", plant: func(t *testing.T, p string) {
			l, err := net.Listen("unix", p)
			must(t, err)
			t.Cleanup(func() { _ = l.Close() })
		}, want: proto.IngestLock{Present: true, NotFile: "a socket, not a regular file"}},
		{name: "a folder", plant: func(t *testing.T, p string) { must(t, os.Mkdir(p, 0o755)) },
			want: proto.IngestLock{Present: true, NotFile: "a folder, not a regular file"}},
		{name: "too large", plant: func(t *testing.T, p string) { write(t, p, strings.Repeat("x", proto.MaxIngestLock+10)) },
			want: proto.IngestLock{Present: true, Content: strings.Repeat("x", proto.MaxIngestLock), TooLarge: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vol := t.TempDir()
			p := filepath.Join(vol, name)
			tt.plant(t, p)
			before := time.Now().Unix()
			done := make(chan struct{})
			var msgs []proto.Message
			var code int
			go func() {
				defer close(done)
				msgs, code = runAgent(t, vol, nil, proto.CmdIngestLock, "--table", table)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the agent hangs on the lock path")
			}
			if code != 0 || len(msgs) != 1 || msgs[0].T != proto.MsgIngestLock || msgs[0].IngestLock == nil {
				t.Fatalf("exit %d, messages %+v", code, msgs)
			}
			got := *msgs[0].IngestLock
			if got.Now < before || got.Now > time.Now().Unix() {
				t.Errorf("now %d is not the agent's clock", got.Now)
			}
			if tt.want.Content != "" && got.Mtime < before-5 {
				t.Errorf("mtime %d of a file written just now", got.Mtime)
			}
			got.Now, got.Mtime = 0, 0
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", shorten(got), shorten(tt.want))
			}
			if _, err := os.Lstat(p); tt.name != "absent" && err != nil {
				t.Errorf("the agent changed the lock path: %v", err)
			}
		})
	}
	if msgs, code := runAgent(t, t.TempDir(), nil, proto.CmdIngestLock, "--table", "../x"); code != proto.KindUsage.Code() {
		t.Errorf("an unsafe table: exit %d, %+v", code, msgs)
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	must(t, os.WriteFile(p, []byte(s), 0o644))
}

func shorten(l proto.IngestLock) proto.IngestLock {
	if len(l.Content) > 80 {
		l.Content = l.Content[:80] + "…"
	}
	return l
}
