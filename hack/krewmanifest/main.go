// Command krewmanifest renders .krew.yaml the way the release bot does on a
// tag, for the archives in dist/: the same URLs, the sha256 of each local
// archive. CI then validates the result and installs it offline with krew.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/template"
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: krewmanifest <template> <tag> <dist dir> <out>")
		os.Exit(2)
	}
	if err := render(os.Args[1], os.Args[2], os.Args[3], os.Args[4]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func render(tmplPath, tag, dist, out string) error {
	text, err := os.ReadFile(tmplPath)
	if err != nil {
		return err
	}
	funcs := template.FuncMap{"addURIAndSha": func(url, tag string) (string, error) {
		url = strings.ReplaceAll(url, "{{ .TagName }}", tag)
		sum, err := fileSHA256(filepath.Join(dist, path.Base(url)))
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("uri: %s\n    sha256: %s", url, sum), nil
	}}
	t, err := template.New(filepath.Base(tmplPath)).Funcs(funcs).Parse(string(text))
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	return t.Execute(f, struct{ TagName string }{tag})
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
