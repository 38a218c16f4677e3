package dataset

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// readBufs holds the buffers annotation files are read into, one per worker
// at a time, so a dataset of many small files does not allocate one each.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// parseXML reads an annotation file into a tree: one open and a bounded
// read, then the plain reader of scanVOC, and encoding/xml (decodeXML) for
// whatever scanVOC declines. Both give the same tree for the files scanVOC
// takes; every error comes from decodeXML.
func parseXML(path string) (*xnode, error) {
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	data, err := readBounded(path, bp)
	if err != nil {
		return nil, err
	}
	if len(data) > maxAnnotationBytes {
		return nil, &xmlError{line: 1, msg: fmt.Sprintf("the file is over the %s an annotation may hold", HumanBytes(maxAnnotationBytes))}
	}
	if root, ok := scanVOC(string(data)); ok {
		return root, nil
	}
	return decodeXML(data)
}

// readBounded reads the file at path into *bp, growing it as needed, and
// stops after maxAnnotationBytes+1 bytes: a longer file is refused unread.
func readBounded(path string, bp *[]byte) ([]byte, error) {
	f, err := openRead(path)
	if err != nil {
		return nil, err
	}
	defer f.close()
	buf, n := *bp, 0
	for {
		if n == len(buf) {
			if n > maxAnnotationBytes {
				break
			}
			grown := make([]byte, min(2*len(buf), maxAnnotationBytes+1))
			copy(grown, buf)
			buf, *bp = grown, grown
		}
		m, err := f.read(buf[n:])
		n += m
		if err == io.EOF || m == 0 && err == nil {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return buf[:n], nil
}

// scanVOC reads the plain XML that annotation tools write: elements with
// ASCII names and quoted attributes, text without references, comments, and
// an XML declaration of version 1.0 in UTF-8. It declines (ok false) at
// anything else: a reference (&amp;), CDATA, a DOCTYPE, a non-ASCII or
// prefixed name, and every error. It accepts only what encoding/xml accepts
// and builds the tree decodeXML would (names, start lines, text before the
// first child with \r\n read as \n), with the same depth bound. Names and
// texts share s.
func scanVOC(s string) (*xnode, bool) {
	type link struct{ parent, kids int }
	// A Pascal VOC file has about one element per two '<'.
	nodes := make([]xnode, 0, strings.Count(s, "<")/2+1)
	links := make([]link, 0, cap(nodes))
	var stack [maxXMLDepth]int
	depth, line, i := 0, 1, 0
	for i < len(s) {
		if s[i] != '<' {
			j := strings.IndexByte(s[i:], '<')
			if j < 0 {
				j = len(s)
			} else {
				j += i
			}
			text := s[i:j]
			if !plainText(text) {
				return nil, false
			}
			if depth > 0 {
				if top := stack[depth-1]; links[top].kids == 0 {
					if strings.IndexByte(text, '\r') >= 0 {
						text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
					}
					nodes[top].text += text
				}
			}
			line += strings.Count(s[i:j], "\n")
			i = j
			continue
		}
		start := i
		switch {
		case strings.HasPrefix(s[i:], "</"):
			name, j, ok := xmlName(s, i+2)
			if !ok {
				return nil, false
			}
			j = skipSpace(s, j)
			if j >= len(s) || s[j] != '>' || depth == 0 || nodes[stack[depth-1]].name != name {
				return nil, false
			}
			depth--
			i = j + 1
		case strings.HasPrefix(s[i:], "<?"):
			end := strings.Index(s[i+2:], "?>")
			if end < 0 {
				return nil, false
			}
			body := s[i+2 : i+2+end]
			target, j, ok := xmlName(body, 0)
			if !ok || target == "xml" && !plainDeclaration(body[j:]) {
				return nil, false
			}
			i += 2 + end + 2
		case strings.HasPrefix(s[i:], "<!--"):
			end := strings.Index(s[i+4:], "--")
			if end < 0 || i+4+end+2 >= len(s) || s[i+4+end+2] != '>' {
				return nil, false // encoding/xml refuses "--" inside a comment
			}
			i += 4 + end + 3
		case strings.HasPrefix(s[i:], "<!"):
			return nil, false // a DOCTYPE or CDATA: encoding/xml decides
		default:
			name, j, ok := xmlName(s, i+1)
			if !ok {
				return nil, false
			}
			empty := false
			for {
				j = skipSpace(s, j)
				if j >= len(s) {
					return nil, false
				}
				if s[j] == '>' {
					j++
					break
				}
				if s[j] == '/' {
					if j+1 >= len(s) || s[j+1] != '>' {
						return nil, false
					}
					empty = true
					j += 2
					break
				}
				if j, ok = plainAttribute(s, j); !ok {
					return nil, false
				}
			}
			if depth == maxXMLDepth || depth == 0 && len(nodes) > 0 {
				return nil, false // too deep, or a second root
			}
			parent := -1
			if depth > 0 {
				parent = stack[depth-1]
				links[parent].kids++
			}
			nodes = append(nodes, xnode{name: name, line: line})
			links = append(links, link{parent: parent})
			if !empty {
				stack[depth] = len(nodes) - 1
				depth++
			}
			i = j
		}
		line += strings.Count(s[start:i], "\n")
	}
	if len(nodes) == 0 || depth > 0 {
		return nil, false
	}
	// Every element but the root is some element's child: one backing
	// array holds all the child lists, each cut to its final length.
	kids := make([]*xnode, len(nodes)-1)
	off := 0
	for n, l := range links {
		if l.kids > 0 {
			nodes[n].kids = kids[off : off : off+l.kids]
			off += l.kids
		}
	}
	for n := 1; n < len(nodes); n++ {
		p := links[n].parent
		nodes[p].kids = append(nodes[p].kids, &nodes[n])
	}
	return &nodes[0], true
}

// xmlName reads an ASCII name without a prefix at s[i:], and declines a
// name that goes on with a colon or a non-ASCII byte.
func xmlName(s string, i int) (name string, end int, ok bool) {
	j := i
	for j < len(s) {
		c := s[j]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' ||
			j > i && ('0' <= c && c <= '9' || c == '.' || c == '-') {
			j++
			continue
		}
		break
	}
	if j == i || j < len(s) && (s[j] == ':' || s[j] >= utf8.RuneSelf || '0' <= s[j] && s[j] <= '9' || s[j] == '.' || s[j] == '-') {
		return "", i, false
	}
	return s[i:j], j, true
}

// plainAttribute reads name="value" (or 'value') at s[i:], without
// references or '<' in the value.
func plainAttribute(s string, i int) (int, bool) {
	_, j, ok := xmlName(s, i)
	if !ok {
		return i, false
	}
	j = skipSpace(s, j)
	if j >= len(s) || s[j] != '=' {
		return i, false
	}
	j = skipSpace(s, j+1)
	if j >= len(s) || s[j] != '"' && s[j] != '\'' {
		return i, false
	}
	end := strings.IndexByte(s[j+1:], s[j])
	if end < 0 {
		return i, false
	}
	value := s[j+1 : j+1+end]
	if strings.ContainsAny(value, "<&") || !xmlChars(value) {
		return i, false
	}
	return j + 1 + end + 1, true
}

// plainDeclaration tells whether the rest of an XML declaration names
// only version 1.0, UTF-8 and standalone, each value quoted.
func plainDeclaration(rest string) bool {
	for _, f := range strings.Fields(rest) {
		name, value, ok := strings.Cut(f, "=")
		if !ok || len(value) < 2 || value[0] != value[len(value)-1] || value[0] != '"' && value[0] != '\'' {
			return false
		}
		v := value[1 : len(value)-1]
		switch {
		case name == "version" && v == "1.0",
			name == "encoding" && strings.EqualFold(v, "utf-8"),
			name == "standalone" && (v == "yes" || v == "no"):
		default:
			return false
		}
	}
	return true
}

// plainText tells whether character data holds no reference, no "]]>" and
// only characters XML allows.
func plainText(s string) bool {
	return strings.IndexByte(s, '&') < 0 && !strings.Contains(s, "]]>") && xmlChars(s)
}

// xmlChars tells whether s is UTF-8 of characters XML 1.0 allows.
func xmlChars(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r > 0xD7FF && r < 0xE000 || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += n
	}
	return true
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}
