package push

import (
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/transfer"
)

func TestOnTheWireNamesTheCodecs(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    transfer.Result
		want string
	}{
		{"plain tar", transfer.Result{SentBytes: 100, WireBytes: 110}, ""},
		// Small files: the tar headers are most of the stream.
		{"headers", transfer.Result{Compressed: true, SentBytes: 100, WireBytes: 50, Codecs: map[string]int64{"zstd": 2048}}, ", 50 B on the wire: zstd 100 %"},
		{"compressed", transfer.Result{Compressed: true, SentBytes: 1000 << 20, WireBytes: 400 << 20,
			Codecs: map[string]int64{"s2": 30 << 20, "zstd": 960 << 20, "none": 10 << 20, "zstd-better": 1 << 10}},
			", 400.0 MiB on the wire: zstd 96 %, s2 3 %, none 1 %"},
		// Many small files: the tar headers and padding the codecs carried
		// outweigh the files' data; the shares still add up to 100 %.
		{"headers outweigh the data", transfer.Result{Compressed: true, SentBytes: 1 << 20, WireBytes: 2 << 20,
			Codecs: map[string]int64{"zstd": 9 << 20, "s2": 1 << 20}},
			", 2.0 MiB on the wire: zstd 90 %, s2 10 %"},
		{"equal shares name the codecs in a fixed order", transfer.Result{Compressed: true, SentBytes: 4 << 20, WireBytes: 1 << 20,
			Codecs: map[string]int64{"zstd": 2 << 20, "s2": 2 << 20, "zstd-better": 2 << 20, "none": 2 << 20}},
			", 1.0 MiB on the wire: none 25 %, s2 25 %, zstd 25 %, zstd-better 25 %"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := onTheWire(&tt.r); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
