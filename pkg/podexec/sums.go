package podexec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// SumsFunc receives the entries of a message's path-to-hash fields
// ("staged", "partial", "actual") one at a time, before the message itself
// reaches onMsg (with those fields left empty). An inventory of a million
// files is 90 MB of JSON on one line: read this way it is never held as one
// line, nor as maps of strings.
type SumsFunc func(field, rel, sum string)

// streamAfter is the length from which a line is decoded as it arrives
// instead of once it is whole.
const streamAfter = 64 << 10

// sumFields are the fields handed to a SumsFunc.
var sumFields = map[string]bool{"staged": true, "partial": true, "actual": true}

// streamedLine is a long line being decoded as it arrives.
type streamedLine struct {
	pw   *io.PipeWriter
	done chan streamedMessage
}

type streamedMessage struct {
	m   proto.Message
	err error
}

// startStream decodes a line from its first bytes on, in a goroutine that
// hands the sum fields' entries to onSums.
func startStream(onSums SumsFunc) *streamedLine {
	pr, pw := io.Pipe()
	s := &streamedLine{pw: pw, done: make(chan streamedMessage, 1)}
	go func() {
		m, err := decodeStreamed(pr, onSums)
		// A decoder that gave up reads no more: the writer learns at once.
		pr.CloseWithError(errors.Join(err, errors.New("the message was read")))
		s.done <- streamedMessage{m, err}
	}()
	return s
}

// write passes a piece of the line on; once the decoder has given up, the
// piece is dropped (the pipe is closed: nothing blocks).
func (s *streamedLine) write(p []byte) {
	_, _ = s.pw.Write(p)
}

// end closes the line and returns its message.
func (s *streamedLine) end() (proto.Message, error) {
	_ = s.pw.Close()
	r := <-s.done
	return r.m, r.err
}

// decodeStreamed reads one JSON message: the sum fields entry by entry into
// onSums, the others as they are.
func decodeStreamed(r io.Reader, onSums SumsFunc) (proto.Message, error) {
	var m proto.Message
	dec := json.NewDecoder(r)
	if err := proto.ExpectDelim(dec, '{'); err != nil {
		return m, err
	}
	rest := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return m, err
		}
		key, _ := tok.(string)
		if !sumFields[key] {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return m, err
			}
			rest[key] = raw
			continue
		}
		if err := decodeSumObject(dec, func(rel, sum string) { onSums(key, rel, sum) }); err != nil {
			return m, err
		}
	}
	if err := proto.ExpectDelim(dec, '}'); err != nil {
		return m, err
	}
	// Whatever follows on the line must be blank.
	if tail, _ := io.ReadAll(io.MultiReader(dec.Buffered(), r)); len(bytes.TrimSpace(tail)) > 0 {
		return m, errors.New("more than one JSON value on the line")
	}
	head, err := json.Marshal(rest)
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(head, &m)
}

// decodeSumObject reads an object of path to hash (or null) one entry at
// a time.
func decodeSumObject(dec *json.Decoder, put func(rel, sum string)) error {
	tok, err := dec.Token()
	if err != nil || tok == nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("malformed JSON: %v where an object belongs", tok)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		rel, _ := tok.(string)
		tok, err = dec.Token()
		if err != nil {
			return err
		}
		sum, ok := tok.(string)
		if !ok {
			return fmt.Errorf("malformed JSON: %v where a hash belongs", tok)
		}
		put(rel, sum)
	}
	return proto.ExpectDelim(dec, '}')
}

// handOver passes the sum fields of a message decoded whole to onSums and
// empties them, so that a message reaches onMsg the same way whatever its
// length.
func handOver(m *proto.Message, onSums SumsFunc) {
	for _, f := range []struct {
		name string
		sums *map[string]string
	}{{"staged", &m.Staged}, {"partial", &m.Partial}, {"actual", &m.Actual}} {
		for rel, sum := range *f.sums {
			onSums(f.name, rel, sum)
		}
		*f.sums = nil
	}
}
