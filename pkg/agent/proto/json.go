package proto

import (
	"encoding/json"
	"fmt"
)

// AppendJSONString appends s as a JSON string, as encoding/json writes it:
// plain names as they are, anything else through encoding/json. The plugin
// and the agent write messages of a million paths with it, a path at a
// time.
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// ExpectDelim reads the next token of dec, which must be want: the plugin
// and the agent read their long messages a token at a time with it.
func ExpectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("malformed JSON: %v where %q belongs", tok, want)
	}
	return nil
}
